"""Sittings in the admin: read-only for the course's staff, reopened only by its instructors
(with a reason, audited), invisible to everyone else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from accounts.models import Course, User
from exams.models import (
    Answer,
    AnswerRevision,
    Exam,
    HonorCodeSignature,
    ProctorEvent,
    ProctorEventKind,
    Question,
    Sitting,
    SittingStatus,
)
from exams.sittings import SaveItem, answers_save, sitting_claim, sitting_start, sitting_submit
from tests.factories import ExamFactory, SectionFactory, add_question

T0 = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)
DEVICE = uuid.UUID("00000000-0000-4000-8000-0000000000c1")


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(
        course=course,
        title="Midterm Exam",
        published=True,
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + timedelta(hours=3),
    )
    section = SectionFactory.create(exam=exam, number=1)
    add_question(section, kind="true_false", key={"value": True}, prompt="The sky is blue.")
    return exam


@pytest.fixture
def sitting(exam: Exam, student: User) -> Sitting:
    """Alice's sitting: started at T0, one answer saved twice at T0 + 5 min, submitted at T0 + 10 min."""
    sitting = sitting_start(
        exam=exam, student=student, typed_name="Alice Nguyen", ip="10.0.0.7", user_agent="UA", now=T0
    )
    sitting = sitting_claim(sitting=sitting, device=DEVICE, ip="10.0.0.7", now=T0)
    question = Question.objects.get(exam=exam)
    for seq, value in ((1, False), (2, True)):
        answers_save(
            sitting_id=sitting.pk,
            student=student,
            device=DEVICE,
            items=[SaveItem(question.pk, value, False, seq)],
            ip="10.0.0.7",
            now=T0 + timedelta(minutes=5),
        )
    return sitting_submit(sitting=sitting, student=student, now=T0 + timedelta(minutes=10))


def change_url(sitting: Sitting) -> str:
    return reverse("admin:exams_sitting_change", args=[sitting.pk])


def reopen_url(sitting: Sitting) -> str:
    return reverse("admin:exams_sitting_reopen", args=[sitting.pk])


@pytest.mark.parametrize("role", ["instructor", "ta"])
def test_course_staff_read_a_sitting_with_its_record(
    client: Client, frozen: None, sitting: Sitting, role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))

    listing = client.get(reverse("admin:exams_sitting_changelist"))
    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    page = client.get(change_url(sitting))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Alice Nguyen" in html and "10.0.0.7" in html  # the signature
    assert "Answer revisions (every accepted save)" in html
    assert sitting.receipt_code in html
    # Read-only: no save button, no delete link, no add row.
    assert 'name="_save"' not in html and "deletelink" not in html and "add-row" not in html
    # Only instructors see the way to reopen it.
    assert (reopen_url(sitting) in html) is (role == "instructor")


def test_the_changelist_filters_by_exam_status_and_closing(
    client: Client, sitting: Sitting, instructor: User, other_student: User
) -> None:
    quiz = ExamFactory.create(course=sitting.exam.course, title="Quiz 1", published=True)
    sitting_start(exam=quiz, student=other_student, typed_name="Bob Okafor", ip=None, user_agent="", now=T0)
    client.force_login(instructor)

    html = client.get(reverse("admin:exams_sitting_changelist")).content.decode()

    assert "By exam" in html and "By status" in html and "By closed by" in html
    filtered = client.get(reverse("admin:exams_sitting_changelist"), {"status__exact": "submitted"})
    assert "1 sitting" in filtered.content.decode() and "alice" in filtered.content.decode()
    assert "bob" not in filtered.content.decode()


def test_nothing_in_a_sitting_can_be_changed_or_deleted(client: Client, sitting: Sitting, instructor: User) -> None:
    client.force_login(instructor)

    assert client.post(change_url(sitting), {"status": "in_progress"}).status_code == 403
    assert client.post(reverse("admin:exams_sitting_delete", args=[sitting.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:exams_sitting_add")).status_code == 403
    assert client.post(
        reverse("admin:exams_sitting_changelist"), {"action": "delete_selected", "_selected_action": [sitting.pk]}
    ).status_code in (200, 302)
    sitting.refresh_from_db()
    assert sitting.status == SittingStatus.SUBMITTED
    assert Sitting.objects.count() == 1 and Answer.objects.count() == 1 and AnswerRevision.objects.count() == 2


def test_other_courses_staff_and_students_see_no_sitting(
    client: Client, sitting: Sitting, other_instructor: User, student: User
) -> None:
    client.force_login(other_instructor)
    assert "alice" not in client.get(reverse("admin:exams_sitting_changelist")).content.decode()
    assert client.get(change_url(sitting)).status_code == 404
    assert client.get(reverse_reopen := reopen_url(sitting)).status_code == 404
    assert client.post(reverse_reopen, {"minutes": 10, "reason": "x"}).status_code == 404

    client.force_login(student)
    assert client.get(change_url(sitting)).status_code in (302, 403)
    assert client.post(reopen_url(sitting), {"minutes": 10, "reason": "x"}).status_code in (302, 403)
    sitting.refresh_from_db()
    assert sitting.status == SittingStatus.SUBMITTED


def test_an_instructor_reopens_a_closed_sitting_with_a_reason(
    client: Client, frozen: time_machine.Traveller, sitting: Sitting, instructor: User
) -> None:
    client.force_login(instructor)
    frozen.shift(timedelta(minutes=30))
    assert "Reopen the sitting of" in client.get(reopen_url(sitting)).content.decode()

    response = client.post(reopen_url(sitting), {"minutes": 15, "reason": "  The laptop crashed  "})

    assert response.status_code == 302 and response["Location"] == change_url(sitting)
    sitting.refresh_from_db()
    assert sitting.status == SittingStatus.IN_PROGRESS
    assert sitting.deadline == T0 + timedelta(minutes=45)
    assert (sitting.submitted_at, sitting.closed_by) == (None, "")
    event = ProctorEvent.objects.get(sitting=sitting, kind=ProctorEventKind.REOPENED)
    assert (event.actor, event.at, event.detail["reason"], event.detail["minutes"]) == (
        instructor,
        T0 + timedelta(minutes=30),
        "The laptop crashed",
        15,
    )
    assert event.detail["before"]["status"] == "submitted"
    entry = LogEntry.objects.get(object_id=str(sitting.pk))
    assert entry.user == instructor and "Reopened for 15 minutes: The laptop crashed" in entry.get_change_message()
    # The student's answers and signature are untouched.
    assert Answer.objects.get(sitting=sitting).value is True
    assert HonorCodeSignature.objects.get(sitting=sitting).typed_name == "Alice Nguyen"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"minutes": 15, "reason": "   "}, "This field is required."),
        ({"minutes": 0, "reason": "crash"}, "greater than or equal to 1"),
        ({"reason": "crash"}, "This field is required."),
    ],
)
def test_reopening_needs_minutes_and_a_reason(
    client: Client, sitting: Sitting, instructor: User, data: dict[str, object], error: str
) -> None:
    client.force_login(instructor)

    response = client.post(reopen_url(sitting), data)

    assert response.status_code == 200 and error in response.content.decode()
    sitting.refresh_from_db()
    assert sitting.status == SittingStatus.SUBMITTED
    assert not ProctorEvent.objects.filter(kind=ProctorEventKind.REOPENED).exists()


def test_a_ta_may_not_reopen(client: Client, sitting: Sitting, ta: User) -> None:
    client.force_login(ta)

    assert client.get(reopen_url(sitting)).status_code == 403
    assert client.post(reopen_url(sitting), {"minutes": 10, "reason": "asked nicely"}).status_code == 403
    sitting.refresh_from_db()
    assert sitting.status == SittingStatus.SUBMITTED


def test_a_sitting_in_progress_is_not_reopened(
    client: Client, frozen: None, exam: Exam, other_student: User, instructor: User
) -> None:
    """Reopening sets a new deadline from now; on a running sitting that could cut its time."""
    running = sitting_start(exam=exam, student=other_student, typed_name="Bob Okafor", ip=None, user_agent="", now=T0)
    client.force_login(instructor)

    assert reopen_url(running) not in client.get(change_url(running)).content.decode()
    response = client.post(reopen_url(running), {"minutes": 1, "reason": "oops"}, follow=True)

    assert "still in progress" in response.content.decode()
    running.refresh_from_db()
    assert running.deadline == T0 + timedelta(minutes=80)
    assert not ProctorEvent.objects.filter(kind=ProctorEventKind.REOPENED).exists()
