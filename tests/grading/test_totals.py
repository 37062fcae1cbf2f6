"""Section and exam totals: floors at zero, and extra credit that adds to the total only."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from grading.scoring import Score, SectionScores, exam_total, section_total


def score(points: str, max_points: str = "2", *, extra: bool = False, manual: bool = False) -> Score:
    return Score(Decimal(points), Decimal(max_points), "test", needs_manual=manual, extra_credit=extra)


def test_a_negative_section_is_floored_only_when_it_says_so() -> None:
    scores = [score("-1"), score("-1"), score("2")]
    assert section_total(scores, floor_at_zero=False).points == 0
    scores.append(score("-1"))
    unfloored = section_total(scores, floor_at_zero=False)
    floored = section_total(scores, floor_at_zero=True)
    assert (unfloored.points, unfloored.explanation) == (Decimal(-1), "")
    assert (floored.points, floored.explanation) == (Decimal(0), "Section total −1 floored at 0")
    assert floored.max_points == 8


def test_extra_credit_adds_to_the_total_but_not_to_the_maximum() -> None:
    total = section_total([score("2"), score("3", "3", extra=True), score("1.5", "3", extra=True)], floor_at_zero=False)
    assert (total.points, total.max_points, total.extra_points) == (Decimal("6.5"), Decimal(2), Decimal(6))


def test_a_floor_does_not_swallow_extra_credit() -> None:
    total = section_total([score("-1"), score("-1"), score("3", "3", extra=True)], floor_at_zero=True)
    assert total.points == 3
    assert total.explanation == "Section total −2 floored at 0, then extra credit +3 added"


def test_manual_scores_are_counted_as_pending() -> None:
    total = section_total([score("0", "4", manual=True), score("2"), score("0", "6", manual=True)], floor_at_zero=False)
    assert total.pending_manual == 2


def test_exam_total_floors_each_section_on_its_own() -> None:
    true_false = SectionScores([score("-1")] * 4 + [score("2")], floor_at_zero=True)  # −2 → 0
    unfloored = SectionScores([score("-1")] * 3, floor_at_zero=False)  # −3 stays
    short_answers = SectionScores([score("3", "4"), score("2.33", "3", extra=True), score("0", "4", manual=True)])
    total = exam_total([true_false, unfloored, short_answers])
    assert [s.points for s in total.sections] == [Decimal(0), Decimal(-3), Decimal("5.33")]
    assert total.points == Decimal("2.33")
    assert total.max_points == 10 + 6 + 8
    assert total.extra_points == 3
    assert total.pending_manual == 1


points = st.decimals(Decimal(-3), Decimal(4), places=2)


@given(
    regular=st.lists(points, max_size=8),
    extra=st.lists(st.decimals(Decimal(0), Decimal(6), places=2), max_size=3),
    floor=st.booleans(),
)
def test_totals_add_up(regular: list[Decimal], extra: list[Decimal], floor: bool) -> None:
    scores = [Score(p, Decimal(4), "") for p in regular] + [Score(p, Decimal(6), "", extra_credit=True) for p in extra]
    total = section_total(scores, floor_at_zero=floor)
    assert total.max_points == 4 * len(regular)
    assert total.extra_points == 6 * len(extra)
    if floor:
        assert total.points == max(Decimal(0), sum(regular, Decimal(0))) + sum(extra, Decimal(0))
        assert total.points >= 0
    else:
        assert total.points == sum(regular, Decimal(0)) + sum(extra, Decimal(0))
