"""Concurrent starts on the real PostgreSQL: one sitting per student per exam, whatever happens.

Twenty requests from the same student (double clicks, several tabs, a retrying browser)
hit the lobby at once, each through its own client and database connection.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Exam, HonorCodeSignature, Sitting
from tests.factories import ExamFactory, SectionFactory, add_question

STARTS = 20


@pytest.fixture
def exam(transactional_db: None, course: Course) -> Exam:
    now = timezone.now()
    exam = ExamFactory.create(
        course=course, published=True, opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=2)
    )
    add_question(SectionFactory.create(exam=exam, number=1), kind="true_false", key={"value": True})
    return exam


@pytest.mark.parametrize("all_race", [False, True], ids=["as_they_come", "all_past_the_check"])
def test_twenty_concurrent_starts_create_one_sitting(
    transactional_db: None, exam: Exam, student: User, all_race: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``all_race``, every request misses the "already started?" lookup, as if all had
    read it at the same instant: only the database constraint stands between them."""
    if all_race:
        monkeypatch.setattr("exams.sittings.sitting_for", lambda exam, student: None)
    assert connection.vendor == "postgresql", "this test is about PostgreSQL's behaviour under concurrency"
    clients = []
    for _ in range(STARTS):
        client = Client()
        client.force_login(student)  # each its own session, as from separate tabs and devices
        clients.append(client)
    barrier = threading.Barrier(STARTS)
    url = reverse("exams:lobby", args=[exam.pk])

    def start(client: Client) -> tuple[int, str]:
        try:
            barrier.wait(timeout=30)
            response = client.post(url, {"signature": "Alice Nguyen"}, HTTP_USER_AGENT="Tab")
            return response.status_code, response.get("Location", "")
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=STARTS) as pool:
        outcomes = list(pool.map(start, clients))

    sitting = Sitting.objects.get(exam=exam, student=student)
    assert outcomes == [(302, reverse("exams:sit", args=[sitting.pk]))] * STARTS
    assert Sitting.objects.count() == 1
    assert HonorCodeSignature.objects.filter(sitting__exam=exam).count() == 1
