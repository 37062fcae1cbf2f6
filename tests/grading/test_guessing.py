"""The random-guess score: exact values worked out by hand, and agreement with the policies."""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grading.scoring import QuestionSpec, guess_score, score_answer
from tests.grading import seed_specs


def test_true_false_plus_two_minus_one_is_one_half() -> None:
    # True or False with equal chance: (+2 − 1) / 2.
    assert guess_score(seed_specs.true_false("1.1")) == Fraction(1, 2)


def test_true_false_all_or_nothing_is_half_the_points() -> None:
    spec = QuestionSpec.build(kind="true_false", points=2, policy="all_or_nothing", key={"value": True})
    assert guess_score(spec) == 1


def test_single_choice() -> None:
    # 3.5.1.1: one of Zom, Flom, Nom, all or nothing for 3 points: 3/3 = 1.
    assert guess_score(seed_specs.running_prediction("3.5.1.1")) == 1
    # Negative marking, 5 options, +4 / −1: (4 + 4·(−1)) / 5 = 0.
    spec = QuestionSpec.build(
        kind="single_choice",
        points=4,
        policy="negative_marking",
        policy_params={"wrong": -1},
        choices=seed_specs.options("ABCDE", "B"),
    )
    assert guess_score(spec) == 0


def test_multiple_select_five_options_two_correct_deduction_two() -> None:
    # 2.1: options A–E, key {A, D}, 4 points, 2 off per wrong or missing selection.
    # A guesser picks one of the 2⁵ − 1 = 31 non-empty selections (empty is a blank).
    # Count them by c correct and w wrong options chosen, C(2, c)·C(3, w) of each;
    # errors = (2 − c) + w and the score is max(0, 4 − 2·errors):
    #   0 errors: c = 2, w = 0 → 1 selection at 4            → 4
    #   1 error:  c = 1, w = 0 → 2 selections; c = 2, w = 1 → 3 selections: 5 at 2 → 10
    #   2 or more errors: 0 (4 − 4 = 0, and never below 0)
    # Expected: (4 + 10) / 31 = 14/31 ≈ 0.45.
    assert guess_score(seed_specs.multiple_select("2.1")) == Fraction(14, 31)


def test_multiple_select_one_correct_option_is_all_or_nothing() -> None:
    # 2.9: key {D} of A–D, so only the one right selection of 15 scores: 4/15.
    assert guess_score(seed_specs.multiple_select("2.9")) == Fraction(4, 15)


def test_multiple_select_all_or_nothing() -> None:
    spec = QuestionSpec.build(
        kind="multiple_select", points=4, policy="all_or_nothing", choices=seed_specs.options("ABCDE", "AD")
    )
    assert guess_score(spec) == Fraction(4, 31)


def test_grid_three_by_three_three_symbols_per_cell_at_three_points_is_one() -> None:
    # Each of the 9 cells is right with chance 1/3 and worth 3/9: 9 · 1/3 · 3/9 = 1.
    assert guess_score(seed_specs.gradient_signs("3.5.3.1")) == 1


def test_grid_all_cells() -> None:
    spec = QuestionSpec.build(
        kind="grid",
        points=3,
        policy="all_cells",
        config={"rows": 3, "cols": 3, "symbols": seed_specs.SIGNS},
        key={"cells": seed_specs.SVM_GRADIENT_SIGNS},
    )
    assert guess_score(spec) == Fraction(3, 3**9)


@pytest.mark.parametrize(
    "spec",
    [
        seed_specs.euclidean_distance(),
        QuestionSpec.build(kind="numeric", points=2, key={"value": 1514.0}),
        QuestionSpec.build(kind="short_answer", points=4),
        QuestionSpec.build(kind="sketch", points=3),
    ],
)
def test_answers_that_cannot_be_enumerated_or_are_graded_by_hand_are_not_guessable(spec: QuestionSpec) -> None:
    assert guess_score(spec) == 0


def every_guess(spec: QuestionSpec) -> list[Any]:
    """All non-blank answers a blind guesser could give, for brute force."""
    if spec.kind == "true_false":
        return [True, False]
    if spec.kind == "single_choice":
        return list(spec.choice_labels)
    if spec.kind == "multiple_select":
        labels = spec.choice_labels
        return [list(c) for size in range(1, len(labels) + 1) for c in itertools.combinations(labels, size)]
    rows, cols, symbols = spec.config["rows"], spec.config["cols"], spec.config["symbols"]
    return [
        [list(cells[r * cols : (r + 1) * cols]) for r in range(rows)]
        for cells in itertools.product(symbols, repeat=rows * cols)
    ]


@st.composite
def guessable_specs(draw: st.DrawFn) -> QuestionSpec:
    kind = draw(st.sampled_from(["true_false", "single_choice", "multiple_select", "grid"]))
    points = draw(st.integers(1, 8))  # whole points, so no score is rounded to hundredths
    if kind == "true_false":
        policy = draw(st.sampled_from(["negative_marking", "all_or_nothing"]))
        params = {"wrong": draw(st.integers(-3, 0)), "blank": 0} if policy == "negative_marking" else {}
        return QuestionSpec.build(
            kind=kind, points=points, policy=policy, policy_params=params, key={"value": draw(st.booleans())}
        )
    labels = "ABCDEFG"[: draw(st.integers(2, 7))]
    if kind == "single_choice":
        policy = draw(st.sampled_from(["negative_marking", "all_or_nothing"]))
        params = {"wrong": draw(st.integers(-3, 0))} if policy == "negative_marking" else {}
        correct = draw(st.sampled_from(labels))
        return QuestionSpec.build(
            kind=kind, points=points, policy=policy, policy_params=params, choices=seed_specs.options(labels, correct)
        )
    if kind == "multiple_select":
        policy = draw(st.sampled_from(["per_error_deduction", "all_or_nothing"]))
        params = {"deduction": draw(st.integers(0, 4))} if policy == "per_error_deduction" else {}
        correct = "".join(draw(st.sets(st.sampled_from(labels), min_size=1)))
        return QuestionSpec.build(
            kind=kind, points=points, policy=policy, policy_params=params, choices=seed_specs.options(labels, correct)
        )
    rows, cols = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    symbols = ["+", "-", "0"][: draw(st.integers(2, 3))]
    cell = st.sampled_from(symbols)
    return QuestionSpec.build(
        kind="grid",
        points=rows * cols * points,  # a whole number of points per cell
        policy=draw(st.sampled_from(["per_cell", "all_cells"])),
        config={"rows": rows, "cols": cols, "symbols": symbols},
        key={"cells": draw(st.lists(st.lists(cell, min_size=cols, max_size=cols), min_size=rows, max_size=rows))},
    )


@given(guessable_specs())
def test_the_guess_is_the_mean_score_over_every_non_blank_answer(spec: QuestionSpec) -> None:
    answers = every_guess(spec)
    mean = sum((Fraction(score_answer(spec, answer).points) for answer in answers), Fraction(0)) / len(answers)
    assert guess_score(spec) == mean


def test_the_seed_multiple_select_section() -> None:
    # Under 4 points and 2 per error, with n options of which K ≥ 2 are correct, only the
    # key (4 points) and the n selections one error away (2 points each) score:
    # (4 + 2n) / (2ⁿ − 1). With one correct option only the key scores: 4 / (2ⁿ − 1).
    expected = {
        "2.1": Fraction(14, 31),
        "2.2": Fraction(14, 31),
        "2.3": Fraction(14, 31),
        "2.4": Fraction(16, 63),
        "2.5": Fraction(16, 63),
        "2.6": Fraction(12, 15),
        "2.7": Fraction(12, 15),
        "2.8": Fraction(4, 15),
        "2.9": Fraction(4, 15),
        "2.10": Fraction(4, 15),
    }
    assert {number: guess_score(seed_specs.multiple_select(number)) for number in expected} == expected
    assert sum(expected.values()) == Fraction(41626, 9765)  # ≈ 4.26 of 40
