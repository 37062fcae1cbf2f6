"""Concurrency on the real PostgreSQL: one sitting per student per exam, whatever happens,
and saves that keep the newest answer and never slip past a submit.

Twenty requests from the same student (double clicks, several tabs, a retrying browser)
hit the lobby at once, each through its own client and database connection; sixteen saves
of one answer do the same.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from exams import sittings
from exams.models import Answer, AnswerRevision, Exam, HonorCodeSignature, Question, Sitting
from exams.sittings import SaveItem, SittingRefused, answers_save, sitting_claim, sitting_start, sitting_submit
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


# --- concurrent saves ---------------------------------------------------------------------------

SAVES = 16
DEVICE = uuid.UUID("00000000-0000-4000-8000-00000000000b")


@pytest.fixture
def sitting(exam: Exam, student: User) -> Sitting:
    now = timezone.now()
    sitting = sitting_start(exam=exam, student=student, typed_name="Alice Nguyen", ip=None, user_agent="", now=now)
    return sitting_claim(sitting=sitting, device=DEVICE, ip=None, now=now)


@pytest.mark.parametrize("writer", ["postgresql", "orm"])
def test_concurrent_saves_of_one_answer_keep_the_newest(
    transactional_db: None, sitting: Sitting, student: User, writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen saves of the same question, seqs 1…16, reach the database at once, each on its
    own connection, in no particular order: whatever interleaving happens, an older save
    never overwrites a newer one, every save reported saved is in the history, and the
    history of the answer only ever goes up."""
    if writer == "orm":
        monkeypatch.setattr(sittings, "_answers_write_postgresql", sittings._answers_write_orm)
    question = Question.objects.get(exam=sitting.exam_id, kind="true_false")
    barrier = threading.Barrier(SAVES)

    def save(seq: int) -> str:
        try:
            barrier.wait(timeout=30)
            item = SaveItem(question.pk, seq % 2 == 0, False, seq)
            result = answers_save(
                sitting_id=sitting.pk, student=student, device=DEVICE, items=[item], ip=None, now=timezone.now()
            )
            return result.outcomes[0].status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=SAVES) as pool:
        statuses = dict(zip(range(1, SAVES + 1), pool.map(save, range(1, SAVES + 1)), strict=True))

    answer = Answer.objects.get(sitting=sitting, question=question)
    assert (answer.seq, answer.value) == (SAVES, True) and statuses[SAVES] == "saved"
    history = list(AnswerRevision.objects.filter(sitting=sitting).order_by("pk").values_list("seq", flat=True))
    assert history == sorted(history) and len(set(history)) == len(history)
    assert set(history) == {seq for seq, status in statuses.items() if status == "saved"}
    assert set(statuses.values()) <= {"saved", "stale"}
    sitting.refresh_from_db()
    assert sitting.last_seq == SAVES


def test_a_save_waits_for_a_submit_in_progress_and_is_refused(
    transactional_db: None, sitting: Sitting, student: User
) -> None:
    """The save locks the sitting's row, as submitting does: a save that arrives while the
    sitting is being closed waits for it, then finds it closed, so the answers hashed into
    the receipt are the final ones."""
    question = Question.objects.get(exam=sitting.exam_id, kind="true_false")
    locked, release = threading.Event(), threading.Event()

    def submit() -> None:
        try:
            with transaction.atomic():
                Sitting.objects.select_for_update().get(pk=sitting.pk)
                locked.set()
                release.wait(timeout=30)
                sitting_submit(sitting=sitting, student=student, now=timezone.now())
        finally:
            connection.close()

    def save() -> str:
        try:
            item = SaveItem(question.pk, True, False, 1)
            answers_save(
                sitting_id=sitting.pk, student=student, device=DEVICE, items=[item], ip=None, now=timezone.now()
            )
            return "saved"
        except SittingRefused as refusal:
            return refusal.code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        submitted = pool.submit(submit)
        assert locked.wait(timeout=30)
        saved = pool.submit(save)
        time.sleep(0.3)  # the save is in flight, blocked on the row: it must not be done yet
        assert not saved.done()
        release.set()
        submitted.result(timeout=30)
        assert saved.result(timeout=30) == "closed"
    assert not Answer.objects.filter(sitting=sitting).exists()
