"""Bulk scoring jobs, run in this process (the real worker is in tests/workers): scores,
totals, idempotence, grader-set points kept, key changes with a dry run, statistics."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Course, User
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.models import Exam, Question, Sitting, SittingStatus
from grading.jobs import chunk_run, exams_due_for_scoring, job_plan, job_request, job_run_inline
from grading.keys import KeyProposal, key_change_apply, key_change_preview, key_current
from grading.models import AnswerScore, GradingChunk, GradingJob, KeyChange, ScoreSource, SittingResult
from tests.grading.sat_exam import q, sit

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed(course: Course) -> Exam:
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    exam.published = True
    exam.save()
    return exam


def score_of(sitting: Sitting, exam: Exam, number: str) -> AnswerScore:
    return AnswerScore.objects.get(sitting=sitting, question=q(exam, number))


def run(exam: Exam) -> GradingJob:
    job, created = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
    assert created
    return job_run_inline(job.pk, now=timezone.now())


def test_a_job_scores_every_question_of_every_closed_sitting(seed: Exam) -> None:
    good = sit(seed, "good", {"1.1": False, "1.4": True, "2.1": ["A", "D"], "2.2": ["C"], "3.3": "Scale $x$"})
    bad = sit(seed, "bad", {"1.1": True, "1.2": True, "1.3": True, "2.1": ["B"]}, status=SittingStatus.EXPIRED)
    running = sit(seed, "running", {"1.1": False}, status=SittingStatus.IN_PROGRESS)
    seed.sections.filter(number=1).update(floor_at_zero=True)  # the paper says nothing; an instructor may
    job = run(seed)

    answerable = Question.objects.filter(exam=seed).exclude(kind="group").count()
    assert job.status == "succeeded" and job.sittings_done == 2 and job.answers_scored == 2 * answerable
    assert AnswerScore.objects.filter(sitting=good).count() == answerable
    assert not AnswerScore.objects.filter(sitting=running).exists()
    assert score_of(good, seed, "1.1").points == 2 and score_of(good, seed, "1.4").points == 2
    assert score_of(good, seed, "2.1").points == 4
    # 2.2's key is CDE: choosing only C misses two, −2 each of 4 points.
    assert score_of(good, seed, "2.2").points == 0 and "2 missing" in score_of(good, seed, "2.2").explanation
    assert score_of(bad, seed, "1.1").points == -1 and score_of(bad, seed, "1.5").blank
    assert score_of(bad, seed, "1.1").response_summary == "T" and score_of(good, seed, "2.1").response_summary == "AD"
    # Section 1 floors at 0: three wrong answers are −3, floored.
    result = SittingResult.objects.get(sitting=bad)
    assert result.sections[0]["points"] == "0.00" and "floored" in result.sections[0]["explanation"]
    assert SittingResult.objects.get(sitting=good).points == 8
    assert result.max_points == 100 and result.extra_points == 12
    assert SittingResult.objects.get(sitting=good).pending_manual == 1 and result.pending_manual == 0
    assert score_of(good, seed, "3.3").needs_manual and not score_of(good, seed, "3.4").needs_manual


def test_running_a_job_again_writes_the_same_rows(seed: Exam) -> None:
    sit(seed, "one", {"1.1": False, "2.1": ["A"]})
    sit(seed, "two", {"1.1": True, "2.3": ["B", "C", "E"]})
    run(seed)
    first = list(AnswerScore.objects.order_by("pk").values_list("pk", "sitting_id", "question_id", "points"))
    run(seed)
    assert list(AnswerScore.objects.order_by("pk").values_list("pk", "sitting_id", "question_id", "points")) == first
    assert SittingResult.objects.count() == 2


def test_a_chunk_run_twice_counts_once(seed: Exam, settings: Any) -> None:
    settings.EXAMHALL_SCORING_CHUNK = 1
    for index in range(3):
        sit(seed, f"s{index}", {"1.1": bool(index % 2)})
    job, _ = job_request(exam=seed, trigger=GradingJob.Trigger.BUTTON)
    chunks = job_plan(job.pk, now=timezone.now())
    assert len(chunks) == 3 and job_plan(job.pk, now=timezone.now()) == chunks  # planned once
    assert chunk_run(chunks[0], now=timezone.now()) is False
    chunk_run(chunks[0], now=timezone.now())  # a redelivered task
    job.refresh_from_db()
    assert job.chunks_done == 1 and job.sittings_done == 1
    assert chunk_run(chunks[1], now=timezone.now()) is False
    assert chunk_run(chunks[2], now=timezone.now()) is True
    assert GradingChunk.objects.filter(job=job, done_at__isnull=False).count() == 3


def test_a_second_request_while_one_runs_returns_it(seed: Exam) -> None:
    first, created = job_request(exam=seed, trigger=GradingJob.Trigger.BUTTON)
    again, created_again = job_request(exam=seed, trigger=GradingJob.Trigger.COMMAND)
    assert created and not created_again and again.pk == first.pk


def test_points_set_by_a_grader_survive_a_rescore(seed: Exam) -> None:
    sitting = sit(seed, "graded", {"1.1": True})
    run(seed)
    row = score_of(sitting, seed, "1.1")
    AnswerScore.objects.filter(pk=row.pk).update(points=Decimal(2), source=ScoreSource.OVERRIDE, explanation="TA")
    run(seed)
    row.refresh_from_db()
    assert row.points == 2 and row.auto_points == -1 and row.explanation == "TA"
    assert SittingResult.objects.get(sitting=sitting).sections[0]["points"] == "2.00"


def test_statistics_are_kept_with_the_job(seed: Exam) -> None:
    for index in range(6):
        sit(
            seed,
            f"st{index}",
            {f"1.{n}": (n + index) % 2 == 0 for n in range(1, 11)} | {"2.1": ["A", "D"][: index % 3]},
        )
    job = run(seed)
    stats = job.statistics
    assert stats is not None and stats["exam"]["n"] == 6
    by_number = {entry["number"]: entry for entry in stats["questions"]}
    assert by_number["1.1"]["facility"] is not None and by_number["1.1"]["random_guess_score"] == 0.5
    assert by_number["2.1"]["distractors"]["correct"] == ["A", "D"]
    assert by_number["3.5.3.1"]["grid"] is not None


def test_key_change_dry_run_then_rescore_of_that_question_only(seed: Exam, instructor: User) -> None:
    said_true = sit(seed, "t", {"1.1": True, "1.2": True})
    said_false = sit(seed, "f", {"1.1": False, "1.2": True})
    run(seed)
    question = q(seed, "1.1")
    before_12 = score_of(said_true, seed, "1.2").scored_at
    proposal = KeyProposal(policy=question.policy, policy_params=question.policy_params, key={"value": True})
    dry = key_change_preview(question, proposal)
    changes = {row.net_id: (row.old_points, row.new_points) for row in dry.changed}
    assert changes == {"t": (Decimal(-1), Decimal(2)), "f": (Decimal(2), Decimal(-1))}
    assert score_of(said_true, seed, "1.1").points == -1  # the dry run wrote nothing

    change, job = key_change_apply(question, proposal, by=instructor, reason="1.1 is true", now=timezone.now())
    assert job.kind == "rescore" and job.question_id == question.pk
    job_run_inline(job.pk, now=timezone.now())
    assert score_of(said_true, seed, "1.1").points == 2 and score_of(said_false, seed, "1.1").points == -1
    assert score_of(said_true, seed, "1.2").scored_at == before_12  # other questions untouched
    assert KeyChange.objects.get().old["key"] == {"value": False} and change.new["key"] == {"value": True}
    assert change.affected == 2 and change.changed_by == instructor
    assert key_current(q(seed, "1.1")).key == {"value": True}
    result = SittingResult.objects.get(sitting=said_true)
    assert Decimal(result.sections[0]["points"]) == 2 + -1


def test_a_bad_key_is_refused_with_its_reason(seed: Exam, instructor: User) -> None:
    question = q(seed, "2.1")
    with pytest.raises(ValidationError):
        key_change_preview(question, KeyProposal("per_error_deduction", {}, {}, ("Z",)))
    with pytest.raises(ValidationError):
        key_change_apply(question, key_current(question), by=instructor, reason=" ", now=timezone.now())
    assert not KeyChange.objects.exists()


def test_the_beat_finds_exams_whose_window_closed(seed: Exam) -> None:
    now = timezone.now()
    seed.opens_at, seed.closes_at = now - timedelta(hours=3), now - timedelta(hours=1)
    seed.save()
    assert exams_due_for_scoring(now=now) == []  # nobody sat it
    sitting = sit(seed, "late", {}, status=SittingStatus.IN_PROGRESS)
    assert exams_due_for_scoring(now=now) == []  # someone is still writing
    Sitting.objects.filter(pk=sitting.pk).update(status=SittingStatus.EXPIRED)
    assert exams_due_for_scoring(now=now) == [seed]
    run(seed)
    assert exams_due_for_scoring(now=now) == []


def test_scores_protect_their_sitting_and_question(seed: Exam) -> None:
    sitting = sit(seed, "kept", {"1.1": True})
    run(seed)
    with pytest.raises(ProtectedError):
        sitting.delete()
    with pytest.raises(ProtectedError):
        q(seed, "1.5").delete()  # blank for this sitting, but scored
