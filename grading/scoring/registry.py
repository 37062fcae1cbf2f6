"""Which function scores which (kind, policy), and the one entry point ``score_answer``."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from exams.kinds import get_kind
from grading.scoring.choice import all_or_nothing, negative_marking, per_error_deduction
from grading.scoring.core import QuestionSpec, Score, UnreadableAnswer
from grading.scoring.grid import all_cells, per_cell
from grading.scoring.manual import manual
from grading.scoring.numeric import numeric_tolerance
from grading.scoring.symbolic import symbolic_equivalence

Scorer = Callable[[QuestionSpec, Any], Score]

SCORERS: dict[tuple[str, str], Scorer] = {
    ("true_false", "negative_marking"): negative_marking,
    ("true_false", "all_or_nothing"): all_or_nothing,
    ("single_choice", "all_or_nothing"): all_or_nothing,
    ("single_choice", "negative_marking"): negative_marking,
    ("multiple_select", "per_error_deduction"): per_error_deduction,
    ("multiple_select", "all_or_nothing"): all_or_nothing,
    ("numeric", "numeric_tolerance"): numeric_tolerance,
    ("expression", "symbolic_equivalence"): symbolic_equivalence,
    ("grid", "per_cell"): per_cell,
    ("grid", "all_cells"): all_cells,
    ("short_answer", "manual"): manual,
    ("sketch", "manual"): manual,
}


def scorer_for(spec: QuestionSpec) -> Scorer:
    """The scoring function of the spec's kind and policy; ValueError if there is none."""
    try:
        return SCORERS[(spec.kind, spec.policy)]
    except KeyError:
        raise ValueError(f"No scoring policy {spec.policy!r} for a {spec.kind} question.") from None


def score_answer(spec: QuestionSpec, answer: Any) -> Score:
    """Score one stored answer (``None`` is blank) under the question's own policy.

    Never raises because of the answer: data the question cannot read scores 0 with the
    reason. Raises ValueError for a spec the kinds would have refused (no such policy for
    the kind, a key that cannot be read), which is the author's to fix.
    """
    scorer = scorer_for(spec)
    try:
        return scorer(spec, answer)
    except UnreadableAnswer as error:
        return spec.not_an_answer(str(error))


def score_bounds(spec: QuestionSpec) -> tuple[Decimal, Decimal]:
    """The lowest and highest points an answer can earn (the range the facility index uses)."""
    if spec.policy == "negative_marking":
        outcomes = (spec.points, spec.param("wrong"), spec.param("blank"))
        return min(outcomes), max(outcomes)
    return Decimal(0), spec.points


def key_answer(spec: QuestionSpec) -> Any:
    """The answer the key describes, as a student's answer is stored; it earns full points.

    Manual kinds have no answer right by construction (their key is a model answer for
    graders), so theirs is ``None``.
    """
    if not get_kind(spec.kind).auto_scored:
        return None
    if spec.kind == "single_choice":
        return next(label for label in spec.choice_labels if label in spec.correct_labels)
    if spec.kind == "multiple_select":
        return [label for label in spec.choice_labels if label in spec.correct_labels]
    if spec.kind == "true_false":
        return spec.key["value"]
    if spec.kind == "numeric":
        return spec.key["value"]
    if spec.kind == "expression":
        return spec.key["expression"]
    if spec.kind == "grid":
        return [list(row) for row in spec.key["cells"]]
    raise ValueError(f"No key answer for a {spec.kind} question.")
