"""Policies for the choice kinds: true_false, single_choice and multiple_select.

Answers are what the kinds' ``clean_answer`` stores: ``True``/``False`` for true_false, a
choice label for single_choice, a list of labels for multiple_select, and ``None`` for a
blank answer in every kind (an empty selection is blank too).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grading.scoring.core import QuestionSpec, Score, UnreadableAnswer, format_points, plural


def selection(spec: QuestionSpec, answer: Any) -> frozenset[str]:
    """The labels a multiple_select answer selects (empty for a blank answer)."""
    if answer is None:
        return frozenset()
    if not isinstance(answer, list | tuple) or not all(isinstance(label, str) for label in answer):
        raise UnreadableAnswer("a selection is a list of option letters")
    unknown = [label for label in answer if label not in spec.choice_labels]
    if unknown:
        raise UnreadableAnswer(f"there is no option {', '.join(unknown)}")
    return frozenset(answer)


def is_correct(spec: QuestionSpec, answer: Any) -> bool | None:
    """Whether a choice answer matches the key exactly; ``None`` when it is blank."""
    if spec.kind == "true_false":
        if answer is None:
            return None
        if not isinstance(answer, bool):
            raise UnreadableAnswer("the answer is True, False or blank")
        return answer == spec.key.get("value")
    if spec.kind == "single_choice":
        if answer is None:
            return None
        if not isinstance(answer, str) or answer not in spec.choice_labels:
            raise UnreadableAnswer(f"there is no option {answer!r}")
        return answer in spec.correct_labels
    if spec.kind == "multiple_select":
        chosen = selection(spec, answer)
        return chosen == spec.correct_labels if chosen else None
    raise ValueError(f"A {spec.kind} question is not scored by choices.")


def selection_errors(spec: QuestionSpec, chosen: frozenset[str]) -> tuple[int, int]:
    """(wrong selections, missing selections) of a multiple_select answer."""
    return len(chosen - spec.correct_labels), len(spec.correct_labels - chosen)


def describe_errors(wrong: int, missing: int) -> str:
    parts = []
    if wrong:
        parts.append(plural(wrong, "wrong selection"))
    if missing:
        parts.append(plural(missing, "missing selection"))
    return " and ".join(parts)


def per_error_points(*, points: Fraction, deduction: Fraction, key_size: int, errors: int) -> Fraction:
    """The seed's rule for "choose all that apply", exactly.

    No error earns ``points``. Where the key has several correct options, each wrong or
    missing selection costs ``deduction``, never below 0. Where it has one, any error
    scores 0 (all or nothing). Shared with the random-guess score so both agree.
    """
    if errors == 0:
        return points
    if key_size <= 1:
        return Fraction(0)
    return max(Fraction(0), points - deduction * errors)


def negative_marking(spec: QuestionSpec, answer: Any) -> Score:
    """true_false and single_choice: correct = +points, wrong = ``wrong`` (−1), blank = ``blank`` (0)."""
    correct = is_correct(spec, answer)
    if correct is None:
        return spec.blank(spec.param("blank"))
    if correct:
        return spec.score(spec.points, f"Correct: {format_points(spec.points, signed=True)}")
    wrong = spec.param("wrong")
    return spec.score(wrong, f"Wrong: {format_points(wrong, signed=True)}")


def all_or_nothing(spec: QuestionSpec, answer: Any) -> Score:
    """Full points for exactly the key, else 0; blank is 0. For true_false, single_choice and multiple_select."""
    correct = is_correct(spec, answer)
    if correct is None:
        return spec.blank()
    if correct:
        return spec.score(spec.points, f"Correct: {format_points(spec.points, signed=True)}")
    if spec.kind == "multiple_select":
        errors = describe_errors(*selection_errors(spec, selection(spec, answer)))
        return spec.score(0, f"{errors}; all or nothing: 0")
    return spec.score(0, "Wrong: 0")


def per_error_deduction(spec: QuestionSpec, answer: Any) -> Score:
    """multiple_select as the seed states it (see ``per_error_points``); a blank answer is 0.

    Blank is 0 whatever the deduction. Under the seed's 4 points and 2 per error that is
    also what "every option missing" gives; with a deduction so small that a lone wrong
    selection stays above 0, blank is still 0, as the rule states it.
    """
    chosen = selection(spec, answer)
    if not chosen:
        return spec.blank()
    wrong, missing = selection_errors(spec, chosen)
    errors = wrong + missing
    points = per_error_points(
        points=Fraction(spec.points),
        deduction=Fraction(spec.param("deduction")),
        key_size=len(spec.correct_labels),
        errors=errors,
    )
    if errors == 0:
        return spec.score(points, f"All the correct options and nothing else: {format_points(points, signed=True)}")
    described = describe_errors(wrong, missing)
    if len(spec.correct_labels) == 1:
        return spec.score(points, f"{described}; only one option is correct, so all or nothing: 0")
    cost = Fraction(spec.param("deduction")) * errors
    floor = ", never below 0" if cost > Fraction(spec.points) else ""
    return spec.score(points, f"{described}: {format_points(-cost, signed=True)}{floor}")
