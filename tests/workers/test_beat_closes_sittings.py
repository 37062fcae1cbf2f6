"""A real Celery worker with beat, on Redis and PostgreSQL, closes a vanished student's sitting.

Not eager mode: the worker and beat run as a separate process, reading the test database
through DATABASE_URL, exactly as in production.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Answer, Sitting
from exams.sittings import SaveItem, answers_save, sitting_claim, sitting_start
from tests.factories import ExamFactory, SectionFactory, add_question
from tests.workers.worker import celery_worker


@pytest.mark.django_db(transaction=True)
def test_beat_closes_an_expired_sitting_within_its_interval(course: Course, student: User) -> None:
    now = timezone.now()
    exam = ExamFactory.create(course=course, published=True, duration_minutes=1)
    question = add_question(SectionFactory.create(exam=exam, number=1), kind="true_false", key={"value": True})
    sitting = sitting_start(
        exam=exam, student=student, typed_name=student.full_name, ip=None, user_agent="", now=now - timedelta(minutes=5)
    )
    device = uuid.uuid4()
    sitting_claim(sitting=sitting, device=device, ip=None, now=now)
    answers_save(
        sitting_id=sitting.pk,
        student=student,
        device=device,
        items=[SaveItem(question.pk, True, False, 1)],
        ip=None,
        now=sitting.deadline,
    )
    assert Sitting.objects.get(pk=sitting.pk).status == "in_progress"

    with celery_worker(beat=True, env={"EXAMHALL_CLOSE_EXPIRED_EVERY": "1"}) as worker:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.process.poll() is None:
            if Sitting.objects.get(pk=sitting.pk).status != "in_progress":
                break
            time.sleep(0.5)
    output = worker.log()
    closed = Sitting.objects.get(pk=sitting.pk)
    assert closed.status == "expired", f"the worker did not close the sitting; its log:\n{output[-3000:]}"
    assert closed.closed_by == "beat" and closed.submitted_at == closed.deadline
    assert Answer.objects.get(sitting=closed).value is True
    assert "exams.tasks.close_expired_sittings" in output
