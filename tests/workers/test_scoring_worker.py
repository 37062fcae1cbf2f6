"""Bulk scoring through a real Celery worker on Redis and PostgreSQL: the job, a worker
process killed with SIGKILL mid-job (its task redelivered), a re-run, and a rescore after a
key change. The expected points are recomputed here with the pure scoring functions."""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Course, Role, User
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.models import Answer, Exam, Question, Sitting, SittingStatus
from grading.jobs import job_request
from grading.keys import KeyProposal, key_change_apply
from grading.models import AnswerScore, GradingJob
from grading.scoring import score_answer
from grading.scoring.specs import exam_specs
from grading.tasks import run_job
from tests.factories import member
from tests.workers.worker import CeleryWorker, celery_worker

pytestmark = pytest.mark.django_db(transaction=True)


def make_sittings(exam: Exam, count: int, *, seed: int = 7) -> list[Sitting]:
    """``count`` submitted sittings with random answers to the true/false and multiple-select questions."""
    rng = random.Random(seed)
    now = timezone.now()
    started = now - timedelta(hours=1)
    students = User.objects.bulk_create(
        [User(net_id=f"w{exam.pk}x{index}", full_name=f"Worker Student {index}") for index in range(count)]
    )
    for student in students:
        member(student, exam.course, Role.STUDENT)
    sittings = Sitting.objects.bulk_create(
        [
            Sitting(exam=exam, student=s, status=SittingStatus.SUBMITTED, started_at=started, deadline=now)
            for s in students
        ]
    )
    answers = []
    for question in Question.objects.filter(exam=exam, kind__in=("true_false", "multiple_select")):
        labels = list(question.choices.values_list("label", flat=True))
        for sitting in sittings:
            roll = rng.random()
            if roll < 0.1:
                continue  # blank
            value: Any = rng.random() < 0.5 if question.kind == "true_false" else rng.sample(labels, rng.randint(1, 3))
            answers.append(Answer(sitting=sitting, question=question, value=value, seq=1, saved_at=now))
    Answer.objects.bulk_create(answers)
    return sittings


def expected_points(exam: Exam) -> dict[tuple[int, int], Decimal]:
    specs = [spec for section in exam_specs(exam.pk) for spec in section.questions]
    stored = {(a.sitting_id, a.question_id): a.value for a in Answer.objects.filter(sitting__exam=exam)}
    return {
        (sitting_id, spec.question_id): score_answer(spec, stored.get((sitting_id, spec.question_id))).points
        for sitting_id in Sitting.objects.filter(exam=exam).values_list("pk", flat=True)
        for spec in specs
        if spec.question_id is not None
    }


def stored_points(exam: Exam) -> dict[tuple[int, int], Decimal]:
    return {
        (sitting_id, question_id): points
        for sitting_id, question_id, points in AnswerScore.objects.filter(sitting__exam=exam).values_list(
            "sitting_id", "question_id", "points"
        )
    }


def wait_for(job: GradingJob, worker: CeleryWorker, *, seconds: float = 120) -> GradingJob:
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        job.refresh_from_db()
        if not job.active:
            return job
        time.sleep(0.2)
    pytest.fail(
        f"job {job.pk} still {job.status} ({job.chunks_done}/{job.chunks_total}); worker log:\n{worker.log()[-4000:]}"
    )


@pytest.fixture
def seed(course: Course) -> Exam:
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    Exam.objects.filter(pk=exam.pk).update(published=True)
    return exam


def test_the_worker_scores_every_sitting_and_then_a_key_change(seed: Exam, instructor: User) -> None:
    make_sittings(seed, 60)
    with celery_worker(concurrency=2, env={"EXAMHALL_SCORING_CHUNK": "7"}) as worker:
        job, _ = job_request(exam=seed, trigger=GradingJob.Trigger.COMMAND)
        run_job.delay(job.pk)
        job = wait_for(job, worker)
        assert job.status == "succeeded", worker.log()[-4000:]
        assert job.chunks_total == 9 and job.chunks_done == 9 and job.sittings_done == 60
        assert stored_points(seed) == expected_points(seed)
        assert job.statistics is not None and job.statistics["exam"]["n"] == 60

        question = Question.objects.get(exam=seed, number="1.1")
        before = stored_points(seed)
        flipped = KeyProposal(question.policy, question.policy_params, {"value": not question.key["value"]})
        _, rescore = key_change_apply(question, flipped, by=instructor, reason="flip", now=timezone.now())
        rescore = wait_for(rescore, worker)
    assert rescore.status == "succeeded" and rescore.answers_scored == 60
    after = stored_points(seed)
    assert after == expected_points(seed)
    changed = {key for key in after if after[key] != before[key]}
    assert changed and {question_id for _, question_id in changed} == {question.pk}
    assert "grading.tasks.score_chunk" in worker.log()


def kill_a_running_chunk(job: GradingJob, worker: CeleryWorker) -> None:
    """SIGKILL the pool process while it scores a chunk. A kill that lands in the short gap
    between two tasks loses no task, so kill again until the worker reports a lost one."""
    for round_ in range(1, 8):
        give_up = time.monotonic() + 30
        while GradingJob.objects.get(pk=job.pk).chunks_done < 3 * round_ and time.monotonic() < give_up:
            time.sleep(0.02)
        children = worker.pool_children()
        assert children, worker.log()[-3000:]
        for pid in children:
            os.kill(pid, signal.SIGKILL)  # the pool process running a chunk, not the worker
        time.sleep(0.5)
        if "WorkerLostError" in worker.log():
            return
    pytest.fail(f"no kill landed on a running chunk; worker log:\n{worker.log()[-3000:]}")


def test_a_worker_killed_mid_job_loses_nothing_and_counts_nothing_twice(seed: Exam) -> None:
    make_sittings(seed, 400)
    answerable = Question.objects.filter(exam=seed).exclude(kind="group").count()
    with celery_worker(concurrency=1, env={"EXAMHALL_SCORING_CHUNK": "4"}) as worker:
        job, _ = job_request(exam=seed, trigger=GradingJob.Trigger.COMMAND)
        run_job.delay(job.pk)
        kill_a_running_chunk(job, worker)
        job = wait_for(job, worker)
        assert job.status == "succeeded", worker.log()[-4000:]
        log = worker.log()
        assert "signal 9" in log and "WorkerLostError" in log, log[-4000:]
        assert job.chunks_done == job.chunks_total == 100 and job.sittings_done == 400
        assert job.answers_scored == 400 * answerable
        assert AnswerScore.objects.filter(sitting__exam=seed).count() == 400 * answerable
        assert stored_points(seed) == expected_points(seed)

        first = list(AnswerScore.objects.order_by("pk").values_list("pk", "points", "explanation"))
        again, created = job_request(exam=seed, trigger=GradingJob.Trigger.COMMAND)
        assert created
        run_job.delay(again.pk)
        again = wait_for(again, worker)
    assert again.status == "succeeded"
    assert list(AnswerScore.objects.order_by("pk").values_list("pk", "points", "explanation")) == first


def test_beat_scores_an_exam_once_its_window_has_closed(seed: Exam) -> None:
    make_sittings(seed, 12)
    now = timezone.now()
    Exam.objects.filter(pk=seed.pk).update(opens_at=now - timedelta(hours=3), closes_at=now - timedelta(hours=1))
    with celery_worker(beat=True, env={"EXAMHALL_SCORE_CLOSED_EVERY": "1"}) as worker:
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            job = GradingJob.objects.filter(exam=seed).first()
            if job is not None and not job.active:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"beat did not score the exam; worker log:\n{worker.log()[-4000:]}")
        time.sleep(3)  # three more beats: none may start a second job
    assert job.trigger == "window_closed" and job.status == "succeeded" and job.sittings_done == 12
    assert GradingJob.objects.filter(exam=seed).count() == 1  # scored once, not every second
    assert stored_points(seed) == expected_points(seed)
