"""Rubric arithmetic, pure: the points a grader's choices give an answer, with the reason.

``deduct`` starts from the question's maximum and ``add`` from zero; each applied item adds
its (signed) points, then the free adjustment. The total is floored at 0 and capped at the
maximum unless the rubric says otherwise. An override of an automatic score starts from the
policy's points instead (``base``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from grading.scoring.core import format_points, to_points


@dataclass(frozen=True, slots=True)
class AppliedItem:
    points: Decimal
    description: str


@dataclass(frozen=True, slots=True)
class RubricRules:
    mode: str  # "deduct" or "add"
    floor_at_zero: bool = True
    cap_at_max: bool = True


@dataclass(frozen=True, slots=True)
class RubricOutcome:
    points: Decimal
    explanation: str


def rubric_points(
    *,
    rules: RubricRules,
    max_points: Decimal,
    items: Sequence[AppliedItem],
    adjustment: Decimal = Decimal(0),
    comment: str = "",
    base: Decimal | None = None,
) -> RubricOutcome:
    """The points and a student-readable explanation ("4 − 1 Missing units = 3")."""
    if base is None:
        base = max_points if rules.mode == "deduct" else Decimal(0)
    total = base + sum((item.points for item in items), Decimal(0)) + adjustment
    parts = [format_points(base)]
    parts += [f"{format_points(item.points, signed=True)} {item.description}" for item in items]
    if adjustment:
        parts.append(f"{format_points(adjustment, signed=True)} adjustment" + (f" ({comment})" if comment else ""))
    limited = total
    if rules.floor_at_zero and limited < 0:
        limited = Decimal(0)
    if rules.cap_at_max and limited > max_points:
        limited = max_points
    explanation = " ".join(parts) + f" = {format_points(total)}"
    if limited != total:
        explanation += f", {'floored' if limited > total else 'capped'} at {format_points(limited)}"
    return RubricOutcome(to_points(limited), explanation)
