"""The home page: each person's courses and the exams their role lets them see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Course, Membership, User
from accounts.selectors import home_courses
from exams.models import Exam
from exams.sittings import window_status
from tests.factories import ExamFactory, UserFactory

SEATTLE = ZoneInfo("America/Los_Angeles")
NOW = datetime(2023, 5, 4, 10, 0, tzinfo=SEATTLE)


@dataclass
class Exams:
    open: Exam
    upcoming: Exam
    closed: Exam
    unscheduled: Exam
    draft: Exam
    archived: Exam
    elsewhere: Exam


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def exams(course: Course, other_course: Course) -> Exams:
    def exam(title: str, *, course: Course = course, published: bool = True, **fields: object) -> Exam:
        return ExamFactory.create(course=course, title=title, published=published, **fields)

    hour = timedelta(hours=1)
    return Exams(
        open=exam("Midterm Exam", opens_at=NOW - hour, closes_at=NOW + hour, exam_date=NOW.date()),
        upcoming=exam("Final Exam", opens_at=NOW + 30 * 24 * hour, closes_at=NOW + 31 * 24 * hour),
        closed=exam("Quiz 1", opens_at=NOW - 48 * hour, closes_at=NOW - 47 * hour),
        unscheduled=exam("Quiz 2"),
        draft=exam("Draft Quiz", published=False, opens_at=NOW - hour, closes_at=NOW + hour),
        archived=exam("Old Midterm", archived=True, opens_at=NOW - hour, closes_at=NOW + hour),
        elsewhere=exam("ML Midterm", course=other_course, opens_at=NOW - hour, closes_at=NOW + hour),
    )


def test_visitors_are_sent_to_sign_in(client: Client, db: None) -> None:
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next=/"


def test_a_student_sees_the_published_exams_of_their_courses_with_their_status(
    frozen: None, student: User, exams: Exams, course: Course
) -> None:
    (entry,) = home_courses(user=student, now=NOW)

    assert entry.course == course
    assert not entry.is_staff
    assert [(e.exam.title, e.status) for e in entry.exams] == [
        ("Quiz 1", "closed"),
        ("Midterm Exam", "open"),
        ("Final Exam", "upcoming"),
        ("Quiz 2", "open"),  # no window set: open, as exams.sittings.sitting_start treats it
    ]


def test_the_students_page_shows_nothing_of_other_courses_or_unpublished_exams(
    client: Client, frozen: None, student: User, exams: Exams, other_course: Course
) -> None:
    client.force_login(student)

    page = client.get(reverse("home")).content.decode()

    for title in ("Midterm Exam", "Final Exam", "Quiz 1", "Quiz 2"):
        assert title in page
    for hidden in ("Draft Quiz", "Old Midterm", "ML Midterm", other_course.title, "Preview as student"):
        assert hidden not in page
    assert '<tr class="home-exam" data-status="open">' in page
    assert "May 4, 9:00 AM" in page  # the window, in Seattle time
    assert "no set time" in page


@pytest.mark.parametrize("role", ["instructor", "ta"])
def test_staff_see_every_exam_of_their_courses_marked_with_links(
    client: Client, frozen: None, exams: Exams, role: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(role))

    page = client.get(reverse("home")).content.decode()

    for exam in (exams.open, exams.upcoming, exams.closed, exams.unscheduled, exams.draft, exams.archived):
        assert exam.title in page
        assert reverse("exams:preview", args=[exam.pk]) in page
        assert reverse("admin:exams_exam_change", args=[exam.pk]) in page
    assert "unpublished" in page
    assert "archived" in page
    assert exams.elsewhere.title not in page


def test_only_instructors_get_the_roster_link(client: Client, frozen: None, instructor: User, ta: User) -> None:
    roster_url = reverse("admin:accounts_course_import_roster", args=[Membership.objects.get(user=ta).course_id])

    client.force_login(instructor)
    assert roster_url in client.get(reverse("home")).content.decode()
    client.force_login(ta)
    assert roster_url not in client.get(reverse("home")).content.decode()


def test_a_dropped_student_no_longer_sees_the_course(
    client: Client, frozen: None, student: User, exams: Exams, course: Course
) -> None:
    Membership.objects.filter(user=student, course=course).update(active=False)
    client.force_login(student)

    page = client.get(reverse("home")).content.decode()

    assert course.title not in page
    assert "not on the roster of any course" in page


def test_a_superuser_oversees_every_course(frozen: None, exams: Exams, course: Course, other_course: Course) -> None:
    root = UserFactory.create(net_id="root", is_superuser=True)

    entries = home_courses(user=root, now=NOW)

    assert [(e.course, e.is_staff, e.can_manage) for e in entries] == [(other_course, True, True), (course, True, True)]
    assert len(entries[1].exams) == 6


def test_the_home_page_uses_the_window_rule_of_the_sittings(course: Course, student: User) -> None:
    """One rule decides whether an exam is open, for the home page and for starting it."""
    exam = ExamFactory.create(course=course, published=True, opens_at=NOW, closes_at=NOW + timedelta(minutes=80))

    for now, status in [
        (NOW - timedelta(seconds=1), "upcoming"),
        (NOW, "open"),
        (NOW + timedelta(minutes=80), "closed"),
    ]:
        (entry,) = home_courses(user=student, now=now)
        assert [(e.exam, e.status) for e in entry.exams] == [(exam, window_status(exam, now))]
        assert window_status(exam, now) == status
