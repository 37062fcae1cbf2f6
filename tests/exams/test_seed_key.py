"""The seed's answer key, recomputed from the data the seed itself states.

3.5's keys follow from the matrices printed in its prompt (and drawn in its figure); 2.1's
and 2.4's follow from the coordinates the figures were drawn from. If someone edits a
matrix, a point or a key, these tests say which no longer agree.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from pytest_django.fixtures import Settings

from accounts.models import Course
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.models import Exam, Figure, Question

CLASSES = ["Zom", "Flom", "Nom"]
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "draw_seed_figures.py"


@pytest.fixture
def seed(course: Course, settings: Settings, tmp_path: Path) -> Exam:
    settings.MEDIA_ROOT = tmp_path / "media"
    return exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)


@pytest.fixture(scope="module")
def drawing() -> ModuleType:
    spec = importlib.util.spec_from_file_location("draw_seed_figures", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def question(exam: Exam, number: str) -> Question:
    return Question.objects.get(exam=exam, number=number)


def latex_matrix(text: str, name: str) -> np.ndarray:
    match = re.search(rf"{re.escape(name)} = \\begin\{{bmatrix\}}(.*?)\\end\{{bmatrix\}}", text)
    assert match, f"{name} is not written out in the prompt"
    return np.array([[float(cell) for cell in row.split("&")] for row in match.group(1).split(r"\\")])


def features(text: str) -> np.ndarray:
    match = re.search(r"Bip = (-?\d+), Bop = (-?\d+) and Beep = (-?\d+)", text)
    assert match, "the prompt does not give Bip, Bop and Beep"
    return np.array([float(v) for v in match.groups()])


def network(exam: Exam) -> tuple[np.ndarray, np.ndarray]:
    prompt = question(exam, "3.5").prompt
    assert "no activation function" in prompt and "order Zom, Flom, Nom" in prompt
    return latex_matrix(prompt, "W_1"), latex_matrix(prompt, "W_2")


def test_the_network_is_the_same_in_prompt_figure_and_grids(seed: Exam, drawing: ModuleType) -> None:
    w1, w2 = network(seed)
    assert w1.tolist() == [[0, -1, -1], [1, 1, -1], [-1, -1, 1]], "W1 is given on the paper"
    assert w1.tolist() == drawing.W1 and w2.tolist() == drawing.W2
    for number in ("3.5.3.1", "3.5.3.2"):
        assert question(seed, number).config["beside"] == w1.tolist()
    alt = Figure.objects.get(question=question(seed, "3.5")).alt_text
    for name, row in zip(["h1", "h2", "h3", "Zom", "Flom", "Nom"], [*drawing.W1, *drawing.W2], strict=True):
        assert f"{name} ({', '.join(str(v) for v in row)})" in alt


@pytest.mark.parametrize("number", ["3.5.1.1", "3.5.1.2"])
def test_running_prediction_keys(seed: Exam, number: str) -> None:
    w1, w2 = network(seed)
    item = question(seed, number)
    scores = w2 @ (w1 @ features(item.prompt))  # linear layers, no bias, no activation
    assert np.sum(scores == scores.max()) == 1, "the classification must not be a tie"
    predicted = CLASSES[int(np.argmax(scores))]

    correct = [c.text for c in item.choices.all() if c.is_correct]
    assert correct == [predicted]
    assert f"s = W_2 h = [{', '.join(f'{v:g}' for v in scores)}]^T" in item.solution


@pytest.mark.parametrize(("number", "feature"), [("3.5.2.1.1", 0), ("3.5.2.1.2", 1), ("3.5.2.1.3", 2)])
def test_zom_score_sketch_keys(seed: Exam, number: str, feature: int) -> None:
    w1, w2 = network(seed)
    slope = (w2 @ w1)[CLASSES.index("Zom"), feature]
    assert f"slope {slope:g}" in question(seed, number).key["description"]


def gradient_signs(loss: str, w1: np.ndarray, w2: np.ndarray, x: np.ndarray, label: int) -> list[list[str]]:
    scores = w2 @ (w1 @ x)
    if loss == "svm":
        margins = scores - scores[label] + 1
        margins[label] = -np.inf
        assert not np.any(margins == 0), "a margin exactly at the hinge has no gradient"
        d_scores = (margins > 0).astype(float)
        d_scores[label] = -d_scores.sum()
    else:
        p = np.exp(scores - scores.max())
        p /= p.sum()
        d_scores = p - np.eye(len(scores))[label]
    d_w1 = np.outer(w2.T @ d_scores, x)
    return [["+" if v > 1e-12 else "-" if v < -1e-12 else "0" for v in row] for row in d_w1]


@pytest.mark.parametrize(("number", "loss"), [("3.5.3.1", "svm"), ("3.5.3.2", "cross_entropy")])
def test_gradient_sign_keys(seed: Exam, number: str, loss: str) -> None:
    w1, w2 = network(seed)
    group = question(seed, "3.5.3")
    label = re.search(r"ground truth label of '(\w+)'", group.prompt)
    assert label and group.extra_credit
    signs = gradient_signs(loss, w1, w2, features(group.prompt), CLASSES.index(label.group(1)))
    assert question(seed, number).key == {"cells": signs}


def test_the_two_losses_disagree_only_on_h3() -> None:
    """Keeps the question interesting: the SVM gradient of h3 cancels, cross-entropy's does not."""
    w1 = np.array([[0, -1, -1], [1, 1, -1], [-1, -1, 1]], float)
    w2 = np.array([[1, 2, 1], [1, -1, 0], [-1, 0, -1]], float)
    x = np.array([-1.0, 1.0, 0.0])
    svm, ce = gradient_signs("svm", w1, w2, x, 1), gradient_signs("cross_entropy", w1, w2, x, 1)
    assert svm[:2] == ce[:2] and svm[2] == ["0", "0", "0"] and ce[2] == ["+", "-", "0"]


def knn_votes(points: list[tuple[int, int]], labels: list[str], query: tuple[int, int], k: int) -> set[str]:
    """The label KNN gives under every way of breaking distance ties (one label when unambiguous)."""
    distances = np.round(np.hypot(*(np.array(points) - np.array(query)).T), 9)
    sure: list[str] = []
    outcomes: set[str] = set()
    for distance in sorted(set(distances)):
        ring = [labels[i] for i in range(len(points)) if distances[i] == distance]
        if len(sure) + len(ring) <= k:
            sure += ring
            if len(sure) == k:
                break
            continue
        for pick in itertools.combinations(ring, k - len(sure)):
            votes = sure + list(pick)
            outcomes.add(max(set(votes), key=votes.count) if votes.count("c") != votes.count("s") else "tie")
        return outcomes
    return {max(set(sure), key=sure.count) if sure.count("c") != sure.count("s") else "tie"}


def test_dataset_key(seed: Exam, drawing: ModuleType) -> None:
    train = drawing.TRAIN_CIRCLES + drawing.TRAIN_SQUARES
    train_labels = ["c"] * len(drawing.TRAIN_CIRCLES) + ["s"] * len(drawing.TRAIN_SQUARES)
    test = drawing.TEST_CIRCLES + drawing.TEST_SQUARES
    test_labels = ["c"] * len(drawing.TEST_CIRCLES) + ["s"] * len(drawing.TEST_SQUARES)

    def accuracy(points: list[tuple[int, int]], labels: list[str], k: int) -> float:
        predictions = [knn_votes(train, train_labels, p, k) for p in points]
        assert all(len(p) == 1 and "tie" not in p for p in predictions), "every vote must be unambiguous"
        return float(np.mean([p == {label} for p, label in zip(predictions, labels, strict=True)]))

    # A: the line 2x + y = 10.5 separates the train set.
    side = [2 * x + y < 10.5 for x, y in train]
    train_separable = side == [label == "c" for label in train_labels]
    # B: a test circle halfway between two test squares: no line can separate them.
    test_inseparable = any(
        ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) in drawing.TEST_CIRCLES
        for a, b in itertools.combinations(drawing.TEST_SQUARES, 2)
    )
    truth = {
        "A": train_separable,
        "B": not test_inseparable,
        "C": accuracy(test, test_labels, 1) > accuracy(test, test_labels, 4),
        "D": accuracy(train, train_labels, 1) > accuracy(train, train_labels, 4),
    }
    truth["E"] = not any(truth.values())
    item = question(seed, "2.1")
    assert {c.label: c.is_correct for c in item.choices.all()} == truth

    alt = Figure.objects.get(question=item).alt_text
    for x, y in train + test:
        assert f"({x},{y})" in alt


def test_tensor_key(seed: Exam, drawing: ModuleType) -> None:
    size = dict(drawing.TENSORS)
    stride1 = (size["input"] - 3) // (size["x0"] - 1)  # 3 × 3, no padding
    stride2 = (size["x0"] - 2) // (size["output"] - 1)  # 2 × 2, no padding
    assert (size["x0"] - 1) * stride1 + 3 == size["input"] and (size["output"] - 1) * stride2 + 2 == size["x0"]

    def field_in_input(number: int) -> tuple[range, range]:
        tensor, row, col = drawing.CELLS[number]
        if tensor in ("x0", "x1"):  # x1 = ReLU(x0): same field
            return range(stride1 * row, stride1 * row + 3), range(stride1 * col, stride1 * col + 3)
        assert tensor == "output"  # output = conv2(x0)
        rows = range(stride1 * row * stride2, stride1 * (row * stride2 + 1) + 3)
        cols = range(stride1 * col * stride2, stride1 * (col * stride2 + 1) + 3)
        return rows, cols

    def inside(cell: int, of: int) -> bool:
        _, row, col = drawing.CELLS[cell]
        rows, cols = field_in_input(of)
        return row in rows and col in cols

    truth = {
        "A": size["x1"] == size["x0"],
        "B": stride1 == 1,
        "C": stride2 == 1,
        "D": inside(1, 4),
        "E": inside(1, 5),
        "F": inside(2, 5),
    }
    item = question(seed, "2.4")
    assert {c.label: c.is_correct for c in item.choices.all()} == truth
    alt = Figure.objects.get(question=item).alt_text
    for number, (tensor, row, col) in drawing.CELLS.items():
        article = "the " if tensor in ("input", "output") else ""
        assert f"cell {number} in {article}{tensor} at row {row + 1}, column {col + 1}" in alt
