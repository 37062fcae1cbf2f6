"""The numeric policy: the answer is right within an absolute or relative tolerance of the key."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from grading.scoring.core import QuestionSpec, Score, UnreadableAnswer, format_points


def _decimal(value: Any, what: str) -> Decimal:
    """A JSON number as the decimal a person typed: 0.1 is 0.1, not 0.1000000000000000055."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UnreadableAnswer(f"{what} is not a finite number")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _tolerance_text(tolerance: Decimal, mode: str) -> str:
    if tolerance == 0:
        return "equal to the key"
    if mode == "relative":
        return f"within {format_points(tolerance * 100)}% of the key"
    return f"within ±{tolerance.normalize():f} of the key"


def numeric_tolerance(spec: QuestionSpec, answer: Any) -> Score:
    """Full points when |answer − value| ≤ tolerance (absolute) or ≤ tolerance·|value| (relative).

    A relative tolerance around a key of 0 therefore accepts only 0. The comparison is made
    on decimals, so a boundary answer such as 0.4 against 0.3 ± 0.1 is inside. Blank is 0.
    """
    if answer is None:
        return spec.blank()
    given = _decimal(answer, "the answer")
    try:
        value = _decimal(spec.key.get("value"), "the key")
        tolerance = _decimal(spec.key.get("tolerance", 0), "the tolerance")
    except UnreadableAnswer as error:
        # A key the kind validated cannot get here; an unreadable one is the author's to fix.
        raise ValueError(f"Question {spec.number or '?'} has an unreadable numeric key: {error}") from None
    mode = spec.key.get("mode", "absolute")
    allowed = tolerance * abs(value) if mode == "relative" else tolerance
    described = _tolerance_text(tolerance, mode)
    if abs(given - value) <= allowed:
        return spec.score(spec.points, f"{described.capitalize()}: {format_points(spec.points, signed=True)}")
    return spec.score(0, f"Not {described}: 0")
