"""Grading by hand: the queue and its claims, saving with a version, audit, rubric edits
re-applied, deleting a used item, overrides of automatic scores."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Course, Role, User
from exams.models import Exam, Sitting
from grading.models import AnswerScore, Evaluation, GradeEvent, RubricItem, ScoreSource, SittingResult
from grading.review import (
    NeedsConfirmation,
    StaleEvaluation,
    evaluation_for,
    evaluation_next,
    evaluation_save,
    queue_build,
    rubric_for,
    rubric_item_delete,
    rubric_item_update,
)
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_question, member
from tests.grading.sat_exam import q, score, sit

pytestmark = pytest.mark.django_db


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, published=True)
    section = SectionFactory.create(exam=exam, number=1, title="Short answers")
    add_question(section, kind="short_answer", points=4, key={"model_answer": "Normalise the batch."})
    add_question(section, kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def sittings(exam: Exam) -> list[Sitting]:
    made = [sit(exam, f"s{index}", {"1.1": f"Answer {index}", "1.2": index % 2 == 0}) for index in range(6)]
    made.append(sit(exam, "blank", {"1.2": True}))  # nothing to grade by hand
    score(exam)
    return made


def items(exam: Exam, *specs: tuple[str, str]) -> list[RubricItem]:
    rubric = rubric_for(q(exam, "1.1"))
    return [
        RubricItem.objects.create(rubric=rubric, position=index, points=Decimal(points), description=text)
        for index, (points, text) in enumerate(specs, start=1)
    ]


def test_the_queue_holds_the_answers_that_wait_for_a_grader(exam: Exam, sittings: list[Sitting]) -> None:
    assert queue_build(q(exam, "1.1").pk) == 6
    assert queue_build(q(exam, "1.1").pk) == 0
    orders = list(Evaluation.objects.order_by("queue_order").values_list("sitting_id", flat=True))
    assert sorted(orders) == sorted(s.pk for s in sittings[:6]) and orders != sorted(orders)  # shuffled, stably


def test_next_claims_an_answer_and_a_second_grader_gets_another(
    exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    now = timezone.now()
    question = q(exam, "1.1").pk
    first = evaluation_next(question_id=question, grader=ta, now=now)
    second = evaluation_next(question_id=question, grader=instructor, now=now)
    assert first is not None and second is not None and first.pk != second.pk
    assert evaluation_next(question_id=question, grader=ta, now=now) == first  # their own claim first
    later = now + timedelta(minutes=11)  # the claim lapsed
    assert evaluation_next(question_id=question, grader=instructor, now=later) in (first, second)


def test_saving_applies_the_rubric_and_audits(exam: Exam, sittings: list[Sitting], ta: User) -> None:
    units, sign = items(exam, ("-1", "Missing units"), ("-0.5", "Sign error"))
    evaluation = evaluation_next(question_id=q(exam, "1.1").pk, grader=ta, now=timezone.now())
    assert evaluation is not None
    saved = evaluation_save(
        evaluation_id=evaluation.pk,
        grader=ta,
        item_ids=[units.pk, sign.pk],
        adjustment=Decimal("0.25"),
        comment="clear otherwise",
        version=0,
        now=timezone.now(),
    )
    assert saved.points == Decimal("2.75") and saved.version == 1 and saved.claimed_by is None
    row = AnswerScore.objects.get(pk=evaluation.score_id)
    assert (row.points, row.source, row.needs_manual) == (Decimal("2.75"), ScoreSource.MANUAL, False)
    assert row.explanation == "4 −1 Missing units −0.5 Sign error +0.25 adjustment (clear otherwise) = 2.75"
    event = GradeEvent.objects.get()
    assert (event.old_points, event.new_points, event.actor, event.source) == (None, Decimal("2.75"), ta, "manual")
    result = SittingResult.objects.get(sitting_id=evaluation.sitting_id)
    assert result.pending_manual == 0
    true_false = AnswerScore.objects.get(sitting_id=evaluation.sitting_id, question=q(exam, "1.2")).points
    assert result.points == Decimal("2.75") + true_false


def test_a_save_from_a_stale_page_is_refused(exam: Exam, sittings: list[Sitting], ta: User, instructor: User) -> None:
    evaluation = evaluation_next(question_id=q(exam, "1.1").pk, grader=ta, now=timezone.now())
    assert evaluation is not None
    evaluation_save(
        evaluation_id=evaluation.pk,
        grader=ta,
        item_ids=[],
        adjustment=Decimal(0),
        comment="",
        version=0,
        now=timezone.now(),
    )
    with pytest.raises(StaleEvaluation):
        evaluation_save(
            evaluation_id=evaluation.pk,
            grader=instructor,
            item_ids=[],
            adjustment=Decimal(-4),
            comment="",
            version=0,
            now=timezone.now(),
        )
    assert AnswerScore.objects.get(pk=evaluation.score_id).points == 4
    assert GradeEvent.objects.count() == 1


def grade_all(exam: Exam, grader: User, chosen: list[RubricItem]) -> list[Evaluation]:
    graded = []
    while (evaluation := evaluation_next(question_id=q(exam, "1.1").pk, grader=grader, now=timezone.now())) is not None:
        graded.append(
            evaluation_save(
                evaluation_id=evaluation.pk,
                grader=grader,
                item_ids=[item.pk for item in chosen],
                adjustment=Decimal(0),
                comment="",
                version=evaluation.version,
                now=timezone.now(),
            )
        )
    return graded


def test_editing_an_items_points_reapplies_it_everywhere(exam: Exam, sittings: list[Sitting], ta: User) -> None:
    (units,) = items(exam, ("-1", "Missing units"))
    graded = grade_all(exam, ta, [units])
    assert len(graded) == 6 and set(
        AnswerScore.objects.filter(question=q(exam, "1.1"), blank=False).values_list("points", flat=True)
    ) == {3}

    changed = rubric_item_update(item=units, actor=ta, now=timezone.now(), points=Decimal("-2"))
    assert changed == 6
    assert set(Evaluation.objects.values_list("points", "version")) == {(Decimal(2), 2)}
    rows = AnswerScore.objects.filter(question=q(exam, "1.1"), blank=False)
    assert {(r.points, r.explanation) for r in rows} == {(Decimal(2), "4 −2 Missing units = 2")}
    edits = GradeEvent.objects.filter(source="rubric_edit")
    assert edits.count() == 6 and {(e.old_points, e.new_points) for e in edits} == {(Decimal(3), Decimal(2))}
    assert edits[0].reason == "Rubric item “Missing units” changed from −1 to −2"
    for sitting in sittings[:6]:
        result = SittingResult.objects.get(sitting=sitting)
        assert result.points == 2 + AnswerScore.objects.get(sitting=sitting, question=q(exam, "1.2")).points


def test_rewording_an_item_rewrites_the_explanations_it_appears_in(
    exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    (units,) = items(exam, ("-1", "Missing units"))
    grade_all(exam, ta, [units])
    events = GradeEvent.objects.count()
    assert rubric_item_update(item=units, actor=ta, now=timezone.now(), description="No units given") == 0
    rows = AnswerScore.objects.filter(question=q(exam, "1.1"), blank=False)
    assert {(r.points, r.explanation) for r in rows} == {(Decimal(3), "4 −1 No units given = 3")}
    assert GradeEvent.objects.count() == events  # no grade changed


def test_a_used_item_is_deleted_only_when_confirmed(exam: Exam, sittings: list[Sitting], ta: User) -> None:
    units, spare = items(exam, ("-1", "Missing units"), ("-3", "Unused"))
    grade_all(exam, ta, [units])
    assert rubric_item_delete(item=spare, actor=ta, now=timezone.now(), confirmed=False) == 0
    with pytest.raises(NeedsConfirmation) as refused:
        rubric_item_delete(item=units, actor=ta, now=timezone.now(), confirmed=False)
    assert refused.value.used_by == 6 and RubricItem.objects.get(pk=units.pk).active
    assert rubric_item_delete(item=units, actor=ta, now=timezone.now(), confirmed=True) == 6
    assert not RubricItem.objects.get(pk=units.pk).active  # kept on record
    assert set(Evaluation.objects.values_list("points", flat=True)) == {Decimal(4)}


def test_an_override_of_an_automatic_score_survives_rescoring(exam: Exam, sittings: list[Sitting], ta: User) -> None:
    row = AnswerScore.objects.get(sitting=sittings[1], question=q(exam, "1.2"))  # answered False: −1
    evaluation = evaluation_for(row)
    evaluation_save(
        evaluation_id=evaluation.pk,
        grader=ta,
        item_ids=[],
        adjustment=Decimal(1),
        comment="ambiguous wording",
        version=0,
        now=timezone.now(),
        reason="The statement was ambiguous",
    )
    row.refresh_from_db()
    assert (row.points, row.source) == (Decimal(0), ScoreSource.OVERRIDE)
    assert GradeEvent.objects.get().source == "override"
    score(exam)
    row.refresh_from_db()
    assert row.points == 0 and row.auto_points == -1


@pytest.mark.django_db(transaction=True)
def test_graders_asking_at_the_same_moment_never_get_the_same_answer(course: Course) -> None:
    assert connection.vendor == "postgresql", "the claim race needs PostgreSQL's row locks"
    exam = ExamFactory.create(course=course, published=True)
    add_question(SectionFactory.create(exam=exam, number=1), kind="short_answer", points=4)
    for index in range(8):
        sit(exam, f"r{index}", {"1.1": f"text {index}"})
    score(exam)
    question = q(exam, "1.1").pk
    queue_build(question)
    graders = [UserFactory.create(net_id=f"grader{index}") for index in range(8)]
    for grader in graders:
        member(grader, course, Role.TA)
    barrier = threading.Barrier(len(graders))
    now = timezone.now()

    def ask(grader: User) -> int | None:
        try:
            barrier.wait()
            evaluation = evaluation_next(question_id=question, grader=grader, now=now)
            return None if evaluation is None else evaluation.pk
        finally:
            connection.close()

    with ThreadPoolExecutor(len(graders)) as pool:
        claimed = list(pool.map(ask, graders))
    assert None not in claimed and len(set(claimed)) == len(graders)


def test_an_override_may_keep_a_negative_score(exam: Exam, sittings: list[Sitting], ta: User) -> None:
    row = AnswerScore.objects.get(sitting=sittings[1], question=q(exam, "1.2"))  # −1 under negative marking
    evaluation_save(
        evaluation_id=evaluation_for(row).pk,
        grader=ta,
        item_ids=[],
        adjustment=Decimal(0),
        comment="checked",
        version=0,
        now=timezone.now(),
        reason="Looked at it again: the answer stands",
    )
    row.refresh_from_db()
    assert row.points == -1 and row.source == ScoreSource.OVERRIDE
