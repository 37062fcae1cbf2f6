"""The seed midterm's auto-scored questions as plain specs, copied from exams/seed/cse493g1-sp23-midterm.md.

The policy tests use these without a database; tests/grading/test_specs.py checks that
the specs built from the imported seed agree with them, so a drift shows.
"""

from __future__ import annotations

from exams.kinds import ChoiceData
from grading.scoring import QuestionSpec

SIGNS = ["+", "-", "0"]
W1 = [[0, -1, -1], [1, 1, -1], [-1, -1, 1]]
SVM_GRADIENT_SIGNS = [["+", "-", "0"], ["-", "+", "0"], ["0", "0", "0"]]  # 3.5.3.1
CROSS_ENTROPY_GRADIENT_SIGNS = [["+", "-", "0"], ["-", "+", "0"], ["+", "-", "0"]]  # 3.5.3.2

# 2.x: the options and the key of each multiple-select question.
MULTIPLE_SELECT_KEYS: dict[str, tuple[str, str]] = {
    "2.1": ("ABCDE", "AD"),
    "2.2": ("ABCDE", "CDE"),
    "2.3": ("ABCDE", "BCE"),
    "2.4": ("ABCDEF", "ACDF"),
    "2.5": ("ABCDEF", "CD"),
    "2.6": ("ABCD", "AC"),
    "2.7": ("ABCD", "BD"),
    "2.8": ("ABCD", "C"),
    "2.9": ("ABCD", "D"),
    "2.10": ("ABCD", "C"),
}
TRUE_FALSE_KEYS = {f"1.{i}": i in (4, 7, 9, 10) for i in range(1, 11)}


def options(labels: str, correct: str) -> list[ChoiceData]:
    return [ChoiceData(label=label, text=f"option {label}", is_correct=label in correct) for label in labels]


def true_false(number: str = "1.1") -> QuestionSpec:
    return QuestionSpec.build(
        kind="true_false",
        points=2,
        policy="negative_marking",
        policy_params={"wrong": -1, "blank": 0},
        key={"value": TRUE_FALSE_KEYS[number]},
        number=number,
    )


def multiple_select(number: str) -> QuestionSpec:
    labels, correct = MULTIPLE_SELECT_KEYS[number]
    return QuestionSpec.build(
        kind="multiple_select",
        points=4,
        policy="per_error_deduction",
        policy_params={"deduction": 2},
        choices=options(labels, correct),
        number=number,
    )


def running_prediction(number: str) -> QuestionSpec:
    """3.5.1.1 (key C: Nom) and 3.5.1.2 (key B: Flom), 3 points, all or nothing."""
    return QuestionSpec.build(
        kind="single_choice",
        points=3,
        policy="all_or_nothing",
        choices=options("ABC", {"3.5.1.1": "C", "3.5.1.2": "B"}[number]),
        number=number,
    )


def euclidean_distance() -> QuestionSpec:
    """3.2: the Euclidean distance of two unit vectors in terms of their cosine similarity."""
    return QuestionSpec.build(
        kind="expression",
        points=3,
        policy="symbolic_equivalence",
        config={"variables": ["D_C"]},
        key={"expression": "sqrt(2 - 2*D_C)"},
        number="3.2",
    )


def gradient_signs(number: str) -> QuestionSpec:
    """3.5.3.1 (SVM loss) and 3.5.3.2 (cross-entropy): signs of dL/dW1, extra credit."""
    cells = SVM_GRADIENT_SIGNS if number == "3.5.3.1" else CROSS_ENTROPY_GRADIENT_SIGNS
    return QuestionSpec.build(
        kind="grid",
        points=3,
        policy="per_cell",
        config={"rows": 3, "cols": 3, "symbols": SIGNS},
        key={"cells": cells},
        extra_credit=True,
        number=number,
    )
