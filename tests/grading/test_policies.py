"""Every scoring policy: its properties over generated cases, and the seed midterm's own cases."""

from __future__ import annotations

import ast
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from exams.expressions import ExpressionError, parse_expression
from exams.kinds import KINDS, POLICY_PARAMS
from grading.scoring import (
    SCORERS,
    QuestionSpec,
    Score,
    score_answer,
    score_bounds,
    symbolic,
    to_points,
)
from tests.grading import seed_specs

LABELS = "ABCDEFGH"
slow = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decimals(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(Decimal(low), Decimal(high), places=2)


# -- the registry ---------------------------------------------------------------------


def test_every_policy_a_kind_accepts_has_a_scorer_and_no_other() -> None:
    accepted = {(kind.name, policy) for kind in KINDS.values() for policy in kind.policies}
    assert set(SCORERS) == accepted
    assert {policy for _, policy in SCORERS} == set(POLICY_PARAMS)


def test_a_policy_the_kind_does_not_accept_is_refused() -> None:
    with pytest.raises(ValueError, match="per_error_deduction"):
        QuestionSpec.build(kind="true_false", points=2, policy="per_error_deduction", key={"value": True})
    spec = QuestionSpec(kind="true_false", points=Decimal(2), policy="per_cell")
    with pytest.raises(ValueError, match="No scoring policy 'per_cell' for a true_false question"):
        score_answer(spec, True)


def test_unknown_policy_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="penalty"):
        QuestionSpec.build(kind="true_false", points=2, policy_params={"penalty": -1}, key={"value": True})


def test_defaults_come_from_the_kind_and_policy_params() -> None:
    spec = QuestionSpec.build(kind="true_false", points=2, key={"value": True})
    assert spec.policy == "negative_marking"
    assert spec.param("wrong") == Decimal(-1) and spec.param("blank") == Decimal(0)
    assert QuestionSpec.build(kind="multiple_select", points=4, choices=seed_specs.options("AB", "A")).param(
        "deduction"
    ) == Decimal(2)


def test_the_policies_never_import_the_orm() -> None:
    """Only specs.py may read models; everything else in grading.scoring is pure."""
    package = Path(symbolic.__file__).parent
    for module in sorted(package.glob("*.py")):
        if module.name == "specs.py":
            continue
        imported = set()
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        orm = {name for name in imported if name.startswith("django.db") or name.endswith((".models", "specs"))}
        assert not orm, f"{module.name} imports {orm}"


# -- negative_marking -----------------------------------------------------------------


@given(
    points=decimals("0.5", "10"),
    wrong=decimals("-5", "0"),
    blank=decimals("-1", "1"),
    key=st.booleans(),
)
def test_negative_marking_true_false_has_exactly_three_outcomes(
    points: Decimal, wrong: Decimal, blank: Decimal, key: bool
) -> None:
    spec = QuestionSpec.build(
        kind="true_false", points=points, policy_params={"wrong": wrong, "blank": blank}, key={"value": key}
    )
    right, other = score_answer(spec, key), score_answer(spec, not key)
    empty = score_answer(spec, None)
    assert (right.points, other.points, empty.points) == (points, wrong, blank)
    assert {s.points for s in (right, other, empty)} <= {points, wrong, blank}
    assert score_bounds(spec) == (min(points, wrong, blank), max(points, wrong, blank))


@given(
    points=decimals("0.5", "10"),
    wrong=decimals("-5", "0"),
    n=st.integers(2, 8),
    data=st.data(),
)
def test_negative_marking_single_choice(points: Decimal, wrong: Decimal, n: int, data: st.DataObject) -> None:
    labels = LABELS[:n]
    key = data.draw(st.sampled_from(labels))
    spec = QuestionSpec.build(
        kind="single_choice",
        points=points,
        policy="negative_marking",
        policy_params={"wrong": wrong},
        choices=seed_specs.options(labels, key),
    )
    answer = data.draw(st.none() | st.sampled_from(labels))
    expected = Decimal(0) if answer is None else points if answer == key else wrong
    assert score_answer(spec, answer).points == expected


# -- all_or_nothing -------------------------------------------------------------------


@given(points=decimals("0.5", "10"), n=st.integers(2, 8), data=st.data())
def test_all_or_nothing_is_full_only_for_exactly_the_key(points: Decimal, n: int, data: st.DataObject) -> None:
    labels = LABELS[:n]
    correct = data.draw(st.sets(st.sampled_from(labels), min_size=1))
    kinds = ["single_choice", "multiple_select"] if len(correct) == 1 else ["multiple_select"]
    kind = data.draw(st.sampled_from(kinds))
    spec = QuestionSpec.build(
        kind=kind, points=points, policy="all_or_nothing", choices=seed_specs.options(labels, "".join(correct))
    )
    if kind == "single_choice":
        answer: Any = data.draw(st.none() | st.sampled_from(labels))
        right = answer is not None and answer in correct
    else:
        chosen = data.draw(st.sets(st.sampled_from(labels)))
        answer = sorted(chosen) or None
        right = chosen == correct
    score = score_answer(spec, answer)
    assert score.points == (points if right else 0)
    if right:
        assert score.explanation == f"Correct: +{points.normalize():f}"
    elif answer is None:
        assert score.explanation == "Blank: 0"
    else:
        assert score.explanation == "Wrong: 0" or score.explanation.endswith("; all or nothing: 0")


def test_all_or_nothing_true_false() -> None:
    spec = QuestionSpec.build(kind="true_false", points=2, policy="all_or_nothing", key={"value": True})
    assert [(s.points, s.explanation) for s in map(lambda a: score_answer(spec, a), [True, False, None])] == [
        (Decimal(2), "Correct: +2"),
        (Decimal(0), "Wrong: 0"),
        (Decimal(0), "Blank: 0"),
    ]


# -- per_error_deduction --------------------------------------------------------------


@st.composite
def multiple_select_cases(draw: st.DrawFn) -> tuple[QuestionSpec, frozenset[str]]:
    labels = LABELS[: draw(st.integers(2, 8))]
    correct = draw(st.sets(st.sampled_from(labels), min_size=1))
    spec = QuestionSpec.build(
        kind="multiple_select",
        points=draw(decimals("0.5", "10")),
        policy="per_error_deduction",
        policy_params={"deduction": draw(decimals("0", "5"))},
        choices=seed_specs.options(labels, "".join(correct)),
    )
    return spec, frozenset(draw(st.sets(st.sampled_from(labels))))


def points_for(spec: QuestionSpec, chosen: frozenset[str] | set[str]) -> Decimal:
    return score_answer(spec, sorted(chosen)).points


@given(multiple_select_cases())
def test_per_error_deduction_stays_between_zero_and_full(case: tuple[QuestionSpec, frozenset[str]]) -> None:
    spec, chosen = case
    assert 0 <= points_for(spec, chosen) <= spec.points


@given(multiple_select_cases())
def test_per_error_deduction_is_full_iff_the_selection_is_the_key(case: tuple[QuestionSpec, frozenset[str]]) -> None:
    spec, chosen = case
    score = points_for(spec, chosen)
    if chosen == spec.correct_labels:
        assert score == spec.points
    else:
        # Full only if a deduction of 0 forgives everything, and never for a single-option key.
        assert score < spec.points or (spec.param("deduction") == 0 and len(spec.correct_labels) > 1 and chosen)


@given(multiple_select_cases())
def test_per_error_deduction_is_monotone(case: tuple[QuestionSpec, frozenset[str]]) -> None:
    spec, chosen = case
    score = points_for(spec, chosen)
    for label in chosen - spec.correct_labels:
        # Removing a wrong selection never lowers the score, unless it leaves a blank, which
        # is 0 by the rule even where a small deduction leaves a lone wrong selection above 0.
        if chosen - {label}:
            assert points_for(spec, chosen - {label}) >= score
    for label in spec.correct_labels - chosen:
        # ... and neither does adding a missing correct option.
        assert points_for(spec, chosen | {label}) >= score


@given(multiple_select_cases())
def test_per_error_deduction_costs_the_deduction_per_error(case: tuple[QuestionSpec, frozenset[str]]) -> None:
    spec, chosen = case
    assume(chosen and len(spec.correct_labels) > 1)
    errors = len(chosen ^ spec.correct_labels)
    assert points_for(spec, chosen) == max(Decimal(0), spec.points - spec.param("deduction") * errors)


@given(multiple_select_cases())
def test_a_single_correct_option_is_all_or_nothing(case: tuple[QuestionSpec, frozenset[str]]) -> None:
    spec, chosen = case
    assume(len(spec.correct_labels) == 1)
    assert points_for(spec, chosen) == (spec.points if chosen == spec.correct_labels else 0)


# -- numeric_tolerance ----------------------------------------------------------------


@given(
    value=decimals("-1000", "1000"),
    tolerance=decimals("0", "5"),
    fraction=st.integers(-100, 100),
    mode=st.sampled_from(["absolute", "relative"]),
)
def test_numeric_inside_the_tolerance_is_full(value: Decimal, tolerance: Decimal, fraction: int, mode: str) -> None:
    if mode == "relative":
        tolerance = tolerance / 10  # 0 to 50%
    spec = QuestionSpec.build(
        kind="numeric", points=2, key={"value": float(value), "tolerance": float(tolerance), "mode": mode}
    )
    allowed = tolerance * abs(value) if mode == "relative" else tolerance
    inside = value + allowed * fraction / 100  # at most the tolerance away, boundary included
    assert score_answer(spec, float(inside)).points == 2
    outside = value + (allowed + Decimal("0.01")) * (1 if fraction >= 0 else -1)
    assert score_answer(spec, float(outside)).points == 0


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numeric_relative_tolerance_around_zero_means_exact(answer: float) -> None:
    spec = QuestionSpec.build(kind="numeric", points=2, key={"value": 0.0, "tolerance": 0.5, "mode": "relative"})
    assert score_answer(spec, answer).points == (2 if answer == 0 else 0)


@pytest.mark.parametrize(
    ("key", "answer", "points", "explanation"),
    [
        ({"value": 0.3, "tolerance": 0.1, "mode": "absolute"}, 0.4, 2, "Within ±0.1 of the key: +2"),
        ({"value": 0.3, "tolerance": 0.1, "mode": "absolute"}, 0.41, 0, "Not within ±0.1 of the key: 0"),
        ({"value": 200.0, "tolerance": 0.05, "mode": "relative"}, 210, 2, "Within 5% of the key: +2"),
        ({"value": 200.0, "tolerance": 0.05, "mode": "relative"}, 189.9, 0, "Not within 5% of the key: 0"),
        ({"value": 1514.0, "tolerance": 0.0, "mode": "absolute"}, 1514.0, 2, "Equal to the key: +2"),
        ({"value": 1514.0, "tolerance": 0.0, "mode": "absolute"}, None, 0, "Blank: 0"),
        ({"value": 1514.0, "tolerance": 0.0, "mode": "absolute"}, "1514", 0, "Not an answer to this question"),
    ],
)
def test_numeric_table(key: dict[str, Any], answer: Any, points: int, explanation: str) -> None:
    score = score_answer(QuestionSpec.build(kind="numeric", points=2, key=key), answer)
    assert score.points == points
    assert score.explanation.startswith(explanation)


# -- grids ----------------------------------------------------------------------------


@st.composite
def grid_cases(draw: st.DrawFn) -> tuple[QuestionSpec, list[list[str | None]]]:
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    symbols = draw(st.lists(st.sampled_from(["+", "-", "0", "x", "o"]), min_size=2, max_size=5, unique=True))
    cell = st.sampled_from(symbols)
    key = draw(st.lists(st.lists(cell, min_size=cols, max_size=cols), min_size=rows, max_size=rows))
    answer = draw(st.lists(st.lists(st.none() | cell, min_size=cols, max_size=cols), min_size=rows, max_size=rows))
    spec = QuestionSpec.build(
        kind="grid",
        points=draw(decimals("0.5", "10")),
        policy=draw(st.sampled_from(["per_cell", "all_cells"])),
        config={"rows": rows, "cols": cols, "symbols": symbols},
        key={"cells": key},
    )
    return spec, answer


@given(grid_cases())
def test_grid_scores_the_share_of_right_cells(case: tuple[QuestionSpec, list[list[str | None]]]) -> None:
    spec, answer = case
    key = spec.key["cells"]
    cells = len(key) * len(key[0])
    right = sum(a == k for a_row, k_row in zip(answer, key, strict=True) for a, k in zip(a_row, k_row, strict=True))
    score = score_answer(spec, answer)
    if all(a is None for row in answer for a in row):
        assert (score.points, score.explanation) == (0, "Blank: 0")
    elif spec.policy == "per_cell":
        assert score.points == to_points(Fraction(spec.points) * right / cells)
        assert score.explanation.startswith(f"{right} of {cells} cells right")
    else:
        assert score.points == (spec.points if right == cells else 0)


@pytest.mark.parametrize(
    ("answer", "points", "explanation"),
    [
        (seed_specs.SVM_GRADIENT_SIGNS, Decimal("3.00"), "9 of 9 cells right: +3"),
        # The cross-entropy signs differ from the SVM's in h3's Bip and Bop cells.
        (seed_specs.CROSS_ENTROPY_GRADIENT_SIGNS, Decimal("2.33"), "7 of 9 cells right: +2.33"),
        ([["0"] * 3] * 3, Decimal("1.67"), "5 of 9 cells right: +1.67"),
        ([["+", "-", None], [None] * 3, [None] * 3], Decimal("0.67"), "2 of 9 cells right: +0.67"),
        ([[None] * 3] * 3, Decimal(0), "Blank: 0"),
        (None, Decimal(0), "Blank: 0"),
        ([["+", "-"], ["-", "+"]], Decimal(0), "Not an answer to this question (the grid has 3 rows of 3 cells): 0"),
        ([["+", "-", "?"], ["0"] * 3, ["0"] * 3], Decimal(0), "Not an answer to this question"),
    ],
)
def test_seed_3_5_3_1_svm_gradient_signs_per_cell(answer: Any, points: Decimal, explanation: str) -> None:
    score = score_answer(seed_specs.gradient_signs("3.5.3.1"), answer)
    assert score.points == points
    assert score.explanation.startswith(explanation)
    assert score.extra_credit and score.max_points == 3


def test_seed_3_5_3_2_cross_entropy_gradient_signs_per_cell() -> None:
    spec = seed_specs.gradient_signs("3.5.3.2")
    assert score_answer(spec, seed_specs.CROSS_ENTROPY_GRADIENT_SIGNS).points == 3
    assert score_answer(spec, seed_specs.SVM_GRADIENT_SIGNS).explanation == "7 of 9 cells right: +2.33"


def test_all_cells_needs_every_cell() -> None:
    spec = QuestionSpec.build(
        kind="grid",
        points=3,
        policy="all_cells",
        config={"rows": 3, "cols": 3, "symbols": seed_specs.SIGNS},
        key={"cells": seed_specs.SVM_GRADIENT_SIGNS},
    )
    assert score_answer(spec, seed_specs.SVM_GRADIENT_SIGNS).explanation == "All 9 cells right: +3"
    wrong = score_answer(spec, seed_specs.CROSS_ENTROPY_GRADIENT_SIGNS)
    assert (wrong.points, wrong.explanation) == (0, "7 of 9 cells right; every cell must be right: 0")


# -- manual ---------------------------------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@given(kind=st.sampled_from(["short_answer", "sketch"]), answer=json_values)
def test_manual_needs_a_grader_unless_blank(kind: str, answer: Any) -> None:
    score = score_answer(QuestionSpec.build(kind=kind, points=4), answer)
    assert score.points == 0
    if answer is None:
        assert (score.needs_manual, score.explanation) == (False, "Blank: 0")
    else:
        assert (score.needs_manual, score.explanation) == (True, "Needs grading by hand")


# -- any answer, any kind -------------------------------------------------------------


def every_kind_spec(kind: str, policy: str) -> QuestionSpec:
    by_kind: dict[str, dict[str, Any]] = {
        "true_false": {"key": {"value": False}},
        "single_choice": {"choices": seed_specs.options("ABC", "C")},
        "multiple_select": {"choices": seed_specs.options("ABCDE", "AD")},
        "numeric": {"key": {"value": 1514.0, "tolerance": 0.5, "mode": "absolute"}},
        "expression": {"config": {"variables": ["D_C"]}, "key": {"expression": "sqrt(2 - 2*D_C)"}},
        "grid": {
            "config": {"rows": 3, "cols": 3, "symbols": seed_specs.SIGNS},
            "key": {"cells": seed_specs.SVM_GRADIENT_SIGNS},
        },
        "short_answer": {},
        "sketch": {},
    }
    return QuestionSpec.build(kind=kind, points=4, policy=policy, **by_kind[kind])


@settings(max_examples=300, deadline=None)
@given(pair=st.sampled_from(sorted(SCORERS)), answer=json_values)
def test_no_stored_value_crashes_a_scorer_or_leaves_the_bounds(pair: tuple[str, str], answer: Any) -> None:
    spec = every_kind_spec(*pair)
    score = score_answer(spec, answer)
    low, high = score_bounds(spec)
    assert isinstance(score, Score)
    assert low <= score.points <= high
    assert score.max_points == spec.points
    assert score.explanation


# -- the seed's own cases -------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "points", "explanation"),
    [(False, 2, "Correct: +2"), (True, -1, "Wrong: −1"), (None, 0, "Blank: 0")],
)
def test_seed_true_false_plus_two_minus_one_zero(answer: bool | None, points: int, explanation: str) -> None:
    score = score_answer(seed_specs.true_false("1.1"), answer)  # 1.1's key is False
    assert (score.points, score.explanation) == (points, explanation)


@pytest.mark.parametrize(
    ("answer", "points", "explanation"),
    [
        (["A", "D"], 4, "All the correct options and nothing else: +4"),
        (["D", "A"], 4, "All the correct options and nothing else: +4"),
        (["A"], 2, "1 missing selection: −2"),
        (["A", "C", "D"], 2, "1 wrong selection: −2"),
        (["A", "B"], 0, "1 wrong selection and 1 missing selection: −4"),
        (["B", "C"], 0, "2 wrong selections and 2 missing selections: −8, never below 0"),
        (["C"], 0, "1 wrong selection and 2 missing selections: −6, never below 0"),  # 0, not −2
        (["A", "B", "C", "D", "E"], 0, "3 wrong selections: −6, never below 0"),
        ([], 0, "Blank: 0"),
        (None, 0, "Blank: 0"),
    ],
)
def test_seed_2_1_several_correct_options_deduct_two_per_error(
    answer: list[str] | None, points: int, explanation: str
) -> None:
    score = score_answer(seed_specs.multiple_select("2.1"), answer)  # key A, D of A–E
    assert (score.points, score.explanation) == (points, explanation)


@pytest.mark.parametrize(
    ("answer", "points"),
    [(["D"], 4), (["C", "D"], 0), (["A", "B", "C", "D"], 0), (["A"], 0), (None, 0)],
)
def test_seed_2_9_one_correct_option_is_all_or_nothing(answer: list[str] | None, points: int) -> None:
    score = score_answer(seed_specs.multiple_select("2.9"), answer)  # key D of A–D
    assert score.points == points
    if answer and answer != ["D"]:
        assert score.explanation.endswith("only one option is correct, so all or nothing: 0")


@pytest.mark.parametrize("number", sorted(seed_specs.MULTIPLE_SELECT_KEYS))
def test_seed_multiple_select_keys_earn_four(number: str) -> None:
    _, correct = seed_specs.MULTIPLE_SELECT_KEYS[number]
    assert score_answer(seed_specs.multiple_select(number), list(correct)).points == 4


@pytest.mark.parametrize(("number", "key"), [("3.5.1.1", "C"), ("3.5.1.2", "B")])
def test_seed_running_prediction_is_all_or_nothing(number: str, key: str) -> None:
    spec = seed_specs.running_prediction(number)
    assert {label: score_answer(spec, label).points for label in "ABC"} == {
        label: Decimal(3 if label == key else 0) for label in "ABC"
    }
    assert score_answer(spec, None).explanation == "Blank: 0"


# -- symbolic_equivalence -------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "sqrt(2 - 2*D_C)",
        "sqrt(2-2*D_C)",
        "sqrt(2*(1 - D_C))",
        "(2-2*D_C)^(1/2)",
        "(2 - 2*D_C)**0.5",
        "sqrt(2)*sqrt(1-D_C)",
        "2^(1/2) * (1 - D_C)^(1/2)",
        "sqrt(4 - 4*D_C)/2 * sqrt(2)",
        "sqrt(1 - D_C + 1 - D_C)",
        "abs(sqrt(2 - 2*D_C))",
        "sqrt(2 - 2*D_C) + sin(D_C)^2 + cos(D_C)^2 - 1",
    ],
)
def test_seed_3_2_equivalent_forms_earn_three(answer: str) -> None:
    score = score_answer(seed_specs.euclidean_distance(), answer)
    assert (score.points, score.needs_manual) == (3, False), score.explanation
    assert score.explanation == "Equivalent to the key: +3"


@pytest.mark.parametrize(
    "answer",
    ["sqrt(2 + 2*D_C)", "2 - 2*D_C", "sqrt(2*D_C - 2)", "sqrt(2 - D_C)", "sqrt(D_C)", "2 - 2*D_C^2", "D_C"],
)
def test_seed_3_2_wrong_formulas_earn_nothing(answer: str) -> None:
    score = score_answer(seed_specs.euclidean_distance(), answer)
    assert (score.points, score.needs_manual) == (0, False)
    assert score.explanation.startswith("Not equivalent to the key")


def test_seed_3_2_a_counterexample_is_named() -> None:
    score = score_answer(seed_specs.euclidean_distance(), "sqrt(2 + 2*D_C)")
    assert score.explanation.startswith("Not equivalent to the key (they differ at D_C = ")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("2 D_C", "does not parse"),
        ("sqrt(2 - 2*x)", "Unknown name 'x'"),
        ("__import__('os').system('true')", "something other than"),
        ("sqrt(2 - 2*D_C", "does not parse"),
    ],
)
def test_seed_3_2_unreadable_formulas_earn_nothing_with_the_reason(answer: str, reason: str) -> None:
    score = score_answer(seed_specs.euclidean_distance(), answer)
    assert score.points == 0
    assert score.explanation.startswith("Not a formula we can read: ")
    assert reason in score.explanation


@pytest.mark.parametrize("answer", ["1/0", "log(0)", "sqrt(2 - 2*D_C) + 0/0", "(1/(1 - 1))*D_C"])
def test_undefined_formulas_earn_nothing(answer: str) -> None:
    # 1/0 parses to complex infinity, and zoo + anything is zoo: never compare such things.
    score = score_answer(seed_specs.euclidean_distance(), answer)
    assert score.points == 0
    assert score.explanation == "Not a formula we can read: part of it is undefined (a division by zero or log(0))"


def test_an_undefined_key_is_the_authors_to_fix() -> None:
    with pytest.raises(ValueError, match="undefined"):
        score_answer(spec_for("1/(D_C - D_C)"), "1")


def test_seed_3_2_blank_and_non_text() -> None:
    spec = seed_specs.euclidean_distance()
    assert score_answer(spec, None).explanation == "Blank: 0"
    assert score_answer(spec, "   ").explanation == "Blank: 0"
    assert score_answer(spec, 3).explanation == "Not an answer to this question (a formula is text): 0"


def test_an_undecidable_formula_goes_to_a_grader(monkeypatch: pytest.MonkeyPatch) -> None:
    """When neither step finishes in time, a human decides, and the verdict is not cached."""

    def out_of_time(function: Any, *, seconds: float) -> Any:
        raise symbolic.TimeLimitExceeded("test")

    symbolic.clear_cache()
    monkeypatch.setattr(symbolic, "call_with_time_limit", out_of_time)
    score = score_answer(seed_specs.euclidean_distance(), "sqrt(2)*sqrt(1 - D_C)")
    assert (score.points, score.needs_manual) == (0, True)
    assert score.explanation == "Could not be checked automatically; needs grading by hand"
    monkeypatch.undo()
    assert score_answer(seed_specs.euclidean_distance(), "sqrt(2)*sqrt(1 - D_C)").points == 3


def test_a_real_time_limit_stops_the_check_and_leaves_it_to_a_grader() -> None:
    symbolic.clear_cache()
    spec = seed_specs.euclidean_distance()
    rushed = symbolic.symbolic_equivalence(spec, "sqrt(2)*sqrt(1 - D_C)", time_limit=1e-6)
    assert (rushed.points, rushed.needs_manual) == (0, True)
    assert symbolic.symbolic_equivalence(spec, "sqrt(2)*sqrt(1 - D_C)").points == 3


def test_sampling_refutes_before_sympy_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_simplify(expression: Any) -> Any:
        raise AssertionError("simplify should not run once a point refutes the answer")

    symbolic.clear_cache()
    monkeypatch.setattr(sympy, "simplify", no_simplify)
    assert score_answer(seed_specs.euclidean_distance(), "sqrt(3 - 2*D_C)").points == 0


VARIABLES = ["D_C"]
atoms = st.sampled_from(["D_C", "1", "2", "3", "0.5", "pi"])
formulas = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(st.sampled_from(["sqrt", "exp", "log", "sin", "cos", "abs"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, st.integers(1, 3)).map(lambda t: f"({t[0]})^{t[1]}"),
    ),
    max_leaves=6,
)
REWRITES = [
    "{e}",
    "({e}) + 0",
    "1*({e})",
    "({e}) + sin(D_C)^2 + cos(D_C)^2 - 1",
    "({e}) + (D_C + 1)^2 - D_C^2 - 2*D_C - 1",
]


def defined_key(formula: str) -> bool:
    return not symbolic.is_undefined(parse_expression(formula, VARIABLES))


def spec_for(formula: str) -> QuestionSpec:
    return QuestionSpec.build(kind="expression", points=3, config={"variables": VARIABLES}, key={"expression": formula})


@slow
@given(formula=formulas, rewrite=st.sampled_from(REWRITES))
def test_a_formula_is_equivalent_to_itself_and_its_rewrites(formula: str, rewrite: str) -> None:
    assume(defined_key(formula))
    score = score_answer(spec_for(formula), rewrite.format(e=formula))
    assert score.points == 3 or score.needs_manual, f"{formula} / {rewrite}: {score.explanation}"


@slow
@given(formula=formulas)
def test_a_formula_plus_one_is_never_equivalent(formula: str) -> None:
    assume(defined_key(formula))
    score = score_answer(spec_for(formula), f"({formula}) + 1")
    assert score.points == 0, score.explanation


def real_value(expression: sympy.Expr, d_c: float) -> float | None:
    value = complex(expression.evalf(30, subs={sympy.Symbol("D_C", real=True): sympy.Float(d_c, 30)}))
    if not (math.isfinite(value.real) and math.isfinite(value.imag)) or abs(value.imag) > 1e-12:
        return None
    return value.real


garbage = st.text(max_size=40) | st.lists(
    st.sampled_from(["D_C", "2", "-", "+", "*", "/", "^", "(", ")", "sqrt(", "1", " ", "x", ".", "e", "**"]),
    max_size=14,
).map("".join)


@slow
@given(garbage)
def test_garbage_never_crashes_and_scores_only_when_it_is_the_key(text: str) -> None:
    score = score_answer(seed_specs.euclidean_distance(), text)
    assert score.points in (0, 3)
    if score.points == 3:
        parsed = parse_expression(text, VARIABLES)  # it must parse...
        for d_c in (-0.95, -0.3, 0.0, 0.45, 0.99):  # ... and equal the key where D_C lives
            value = real_value(parsed, d_c)
            assert value is not None and math.isclose(value, math.sqrt(2 - 2 * d_c), rel_tol=1e-9, abs_tol=1e-12)
    else:
        try:
            parse_expression(text, VARIABLES)
        except ExpressionError:
            assert score.explanation.startswith(("Not a formula we can read", "Blank"))


def test_the_same_formula_is_decided_once(monkeypatch: pytest.MonkeyPatch) -> None:
    symbolic.clear_cache()
    calls: list[str] = []
    decide = symbolic.decide_equivalence

    def counting(*args: Any, **kwargs: Any) -> symbolic.Equivalence:
        calls.append("decide")
        return decide(*args, **kwargs)

    monkeypatch.setattr(symbolic, "decide_equivalence", counting)
    spec = seed_specs.euclidean_distance()
    for text in ("sqrt(2)*sqrt(1-D_C)", "sqrt(2) * sqrt(1 - D_C)", "sqrt(2)*sqrt(1-D_C)"):
        assert score_answer(spec, text).points == 3
    assert calls == ["decide"]


def test_sample_points_are_fixed_and_cover_the_cosine_range() -> None:
    points = symbolic.sample_points(["D_C"])
    assert points == symbolic.sample_points(["D_C"])
    inside = [p["D_C"] for p in points if -1 <= p["D_C"] <= 1]
    assert len(inside) >= symbolic.MIN_AGREEING
    assert min(inside) < -0.5 and max(inside) > 0.5
