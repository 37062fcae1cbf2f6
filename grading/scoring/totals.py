"""Totals of a section and of an exam, from the scores of their questions.

Extra credit adds to the points earned but not to the maximum. A section that floors at
zero never totals below 0: its regular points are floored first and its extra credit is
then added, so a negative section cannot swallow extra credit a student earned (and the
result is floored again, in case an extra-credit question itself marks negatively).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from grading.scoring.core import Score, format_points

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Total:
    """Points earned (extra credit included, floors applied), the maximum (extra credit
    excluded), the extra credit on offer, and how many scores still wait for a grader.
    ``explanation`` says when a floor applied ("−3 floored at 0"), else is empty."""

    points: Decimal
    max_points: Decimal
    extra_points: Decimal
    pending_manual: int
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class SectionScores:
    scores: Sequence[Score]
    floor_at_zero: bool = False


@dataclass(frozen=True, slots=True)
class ExamTotal:
    points: Decimal
    max_points: Decimal
    extra_points: Decimal
    pending_manual: int
    sections: tuple[Total, ...]


def section_total(scores: Iterable[Score], *, floor_at_zero: bool) -> Total:
    """The total of one section's scores; see the module doc for the floor and extra credit."""
    regular = earned_extra = max_points = extra_points = ZERO
    pending = 0
    for score in scores:
        pending += score.needs_manual
        if score.extra_credit:
            earned_extra += score.points
            extra_points += score.max_points
        else:
            regular += score.points
            max_points += score.max_points
    points = regular + earned_extra
    explanation = ""
    if floor_at_zero:
        points = max(ZERO, max(ZERO, regular) + earned_extra)
        if regular < 0:
            explanation = f"Section total {format_points(regular)} floored at 0"
            if earned_extra > 0:
                explanation += f", then extra credit {format_points(earned_extra, signed=True)} added"
        elif points != regular + earned_extra:
            explanation = f"Section total {format_points(regular + earned_extra)} floored at 0"
    return Total(points, max_points, extra_points, pending, explanation)


def exam_total(sections: Iterable[SectionScores]) -> ExamTotal:
    """The exam's total: the sum of its sections' totals, each floored if its section says so."""
    totals = tuple(section_total(s.scores, floor_at_zero=s.floor_at_zero) for s in sections)
    return ExamTotal(
        points=sum((t.points for t in totals), ZERO),
        max_points=sum((t.max_points for t in totals), ZERO),
        extra_points=sum((t.extra_points for t in totals), ZERO),
        pending_manual=sum(t.pending_manual for t in totals),
        sections=totals,
    )
