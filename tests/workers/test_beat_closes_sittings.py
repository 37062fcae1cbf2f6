"""A real Celery worker with beat, on Redis and PostgreSQL, closes a vanished student's sitting.

Not eager mode: the worker and beat run as a separate process, reading the test database
through DATABASE_URL, exactly as in production.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Answer, Sitting
from exams.sittings import SaveItem, answers_save, sitting_claim, sitting_start
from tests.factories import ExamFactory, SectionFactory, add_question

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("The worker test runs on PostgreSQL: set DATABASE_URL (make test does).")
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_beat_closes_an_expired_sitting_within_its_interval(course: Course, student: User, tmp_path: Path) -> None:
    if not settings.REDIS_URL:
        pytest.fail("The worker test needs Redis as the broker: set REDIS_URL (make test does).")
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

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EXAMHALL_VAR_DIR": str(tmp_path),
        "EXAMHALL_CLOSE_EXPIRED_EVERY": "1",
        "DJANGO_DEBUG": "1",
    }
    worker = subprocess.Popen(  # noqa: S603 — our own worker, fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--beat",
            "--concurrency=1",
            "--loglevel=INFO",
            f"--schedule={tmp_path / 'beat-schedule'}",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and worker.poll() is None:
            if Sitting.objects.get(pk=sitting.pk).status != "in_progress":
                break
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            output, _ = worker.communicate()
    closed = Sitting.objects.get(pk=sitting.pk)
    assert closed.status == "expired", f"the worker did not close the sitting; its log:\n{output[-3000:]}"
    assert closed.closed_by == "beat" and closed.submitted_at == closed.deadline
    assert Answer.objects.get(sitting=closed).value is True
    assert "exams.tasks.close_expired_sittings" in output
