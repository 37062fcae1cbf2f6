"""The proctor page, its rows as JSON, and the exam-day actions, through HTTP: who may reach
what (instructors everything, TAs the reads and extensions, nobody else anything), CSRF on
every write, the forms' refusals, and the links that lead there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.access import access_exam_for_proctor, may_proctor, proctor_actions_allowed
from accounts.models import Course, Role, User
from exams.models import (
    Accommodation,
    Exam,
    Extension,
    ProctorAction,
    ProctorActionKind,
    Sitting,
    SittingStatus,
)
from exams.sittings import sitting_start, sitting_submit
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_question, member

T0 = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)  # 10:00 in Seattle
NOW = T0 + timedelta(minutes=30)


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(
        course=course,
        title="Midterm Exam",
        published=True,
        duration_minutes=80,
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + timedelta(hours=3),
        access_code="OWL",
    )
    section = SectionFactory.create(exam=exam, number=1)
    add_question(section, kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def running(exam: Exam, student: User) -> Sitting:
    """Alice's sitting, started at T0 from 10.0.0.7: in progress."""
    return sitting_start(
        exam=exam,
        student=student,
        typed_name=student.full_name,
        access_code="OWL",
        ip="10.0.0.7",
        user_agent="",
        now=T0,
    )


@pytest.fixture
def submitted(exam: Exam, other_student: User) -> Sitting:
    """Bob's sitting, submitted at T0 + 20 min."""
    sitting = sitting_start(
        exam=exam,
        student=other_student,
        typed_name=other_student.full_name,
        access_code="OWL",
        ip="10.0.0.8",
        user_agent="",
        now=T0,
    )
    return sitting_submit(sitting=sitting, student=other_student, now=T0 + timedelta(minutes=20))


@pytest.fixture
def other_ta(other_course: Course) -> User:
    user = UserFactory.create(net_id="dtran", full_name="Dana Tran")
    member(user, other_course, Role.TA)
    return user


@pytest.fixture
def board(frozen: time_machine.Traveller, running: Sitting, submitted: Sitting) -> None:
    """Alice running, Bob submitted, the clock at T0 + 30 min."""


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- the permission matrix ------------------------------------------------------------------------

READS = ["page", "rows", "student"]
TA_ACTIONS = ["extend"]
INSTRUCTOR_ACTIONS = ["accommodation", "void", "reopen", "window_extend", "window_close", "access_code"]


def url(name: str, exam: Exam, student: User, submitted_student: User) -> str:
    if name in ("page", "rows"):
        return reverse("exams:proctor" if name == "page" else "exams:proctor_rows", args=[exam.pk])
    if name in ("window_extend", "window_close", "access_code"):
        return reverse(f"exams:proctor_{name}", args=[exam.pk])
    # Reopen acts on Bob's submitted sitting; the others on Alice.
    target = submitted_student if name == "reopen" else student
    return reverse("exams:proctor_student" if name == "student" else f"exams:proctor_{name}", args=[exam.pk, target.pk])


def valid_post(name: str) -> dict[str, str]:
    local = timezone.localtime(NOW + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    return {
        "extend": {"extend-minutes": "10", "extend-reason": "fire alarm"},
        "accommodation": {
            "accommodation-time_multiplier": "1.5",
            "accommodation-reason": "DRS letter",
        },
        "void": {"void-reason": "phone out", "void-confirm": "on"},
        "reopen": {"reopen-minutes": "15", "reopen-reason": "crash"},
        "window_extend": {"window_extend-closes_at": local, "window_extend-reason": "snow"},
        "window_close": {"window_close-reason": "evacuation", "window_close-confirm": "on"},
        "access_code": {"access_code-code": "HAWK", "access_code-reason": "leaked"},
    }[name]


@pytest.mark.parametrize("name", READS)
@pytest.mark.parametrize(
    ("who", "status"),
    [("instructor", 200), ("ta", 200), ("student", 404), ("other_ta", 404), ("other_instructor", 404)],
)
def test_who_may_read(
    request: pytest.FixtureRequest,
    board: None,
    exam: Exam,
    student: User,
    other_student: User,
    name: str,
    who: str,
    status: int,
) -> None:
    user: User = request.getfixturevalue(who)

    response = client_for(user).get(url(name, exam, student, other_student))

    assert response.status_code == status


@pytest.mark.parametrize("name", READS + TA_ACTIONS + INSTRUCTOR_ACTIONS)
def test_anonymous_is_sent_to_sign_in(board: None, exam: Exam, student: User, other_student: User, name: str) -> None:
    client = Client()
    target = url(name, exam, student, other_student)

    response = client.get(target) if name in READS else client.post(target, valid_post(name))

    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert not ProctorAction.objects.exists()


@pytest.mark.parametrize("name", TA_ACTIONS + INSTRUCTOR_ACTIONS)
@pytest.mark.parametrize(
    ("who", "allowed"),
    [("instructor", "all"), ("ta", "ta"), ("student", "none"), ("other_ta", "none"), ("other_instructor", "none")],
)
def test_who_may_act(
    request: pytest.FixtureRequest,
    board: None,
    exam: Exam,
    student: User,
    other_student: User,
    name: str,
    who: str,
    allowed: str,
) -> None:
    user: User = request.getfixturevalue(who)

    response = client_for(user).post(url(name, exam, student, other_student), valid_post(name))

    if allowed == "all" or (allowed == "ta" and name in TA_ACTIONS):
        assert response.status_code == 302, response.content.decode()[:2000]
        action = ProctorAction.objects.get()
        assert (action.kind, action.actor) == (name, user)
    else:
        assert response.status_code == (403 if allowed == "ta" else 404)
        assert not ProctorAction.objects.exists()


@pytest.mark.parametrize("name", TA_ACTIONS + INSTRUCTOR_ACTIONS)
def test_actions_are_posts_only(
    board: None, exam: Exam, student: User, other_student: User, instructor: User, name: str
) -> None:
    assert client_for(instructor).get(url(name, exam, student, other_student)).status_code == 405


def test_a_student_of_another_course_is_not_on_the_board(
    board: None, exam: Exam, instructor: User, other_course: Course
) -> None:
    outsider = UserFactory.create(net_id="zed", full_name="Zed Outsider")
    member(outsider, other_course, Role.STUDENT)
    client = client_for(instructor)

    assert client.get(reverse("exams:proctor_student", args=[exam.pk, outsider.pk])).status_code == 404
    response = client.post(reverse("exams:proctor_extend", args=[exam.pk, outsider.pk]), valid_post("extend"))
    assert response.status_code == 404 and not Extension.objects.exists()
    assert client.get(reverse("exams:proctor_student", args=[exam.pk, instructor.pk])).status_code == 404


def test_the_policy_in_access(exam: Exam, instructor: User, ta: User, student: User, other_ta: User) -> None:
    assert proctor_actions_allowed(instructor, exam.course_id) >= {"extend", "void", "window_close", "access_code"}
    assert proctor_actions_allowed(ta, exam.course_id) == {"extend", "clarification"}
    assert proctor_actions_allowed(student, exam.course_id) == frozenset()
    assert may_proctor(ta, exam.course_id, ProctorActionKind.EXTEND)
    assert not may_proctor(ta, exam.course_id, ProctorActionKind.VOID)
    assert not may_proctor(other_ta, exam.course_id, ProctorActionKind.EXTEND)
    assert access_exam_for_proctor(ta, exam.pk) == exam


# --- CSRF --------------------------------------------------------------------------------------------


def test_every_write_needs_the_csrf_token(board: None, exam: Exam, student: User, instructor: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)
    target = reverse("exams:proctor_extend", args=[exam.pk, student.pk])

    assert client.post(target, valid_post("extend")).status_code == 403
    assert not Extension.objects.exists()

    page = client.get(reverse("exams:proctor_student", args=[exam.pk, student.pk]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert token is not None
    response = client.post(target, {**valid_post("extend"), "csrfmiddlewaretoken": token.group(1)})
    assert response.status_code == 302
    assert Extension.objects.get().minutes == 10


# --- the page and its rows --------------------------------------------------------------------------


def test_the_page_shows_counts_rows_and_recent_actions(
    board: None, exam: Exam, instructor: User, running: Sitting, course: Course
) -> None:
    carol = UserFactory.create(net_id="carol", full_name="Carol Diaz")
    member(carol, course, Role.STUDENT, quiz_section="AA")
    client = client_for(instructor)
    client.post(reverse("exams:proctor_extend", args=[exam.pk, running.student_id]), valid_post("extend"))

    html = client.get(reverse("exams:proctor", args=[exam.pk])).content.decode()

    assert re.search(r'data-count="not_started">1<', html)
    assert re.search(r'data-count="in_progress">1<', html)
    assert re.search(r'data-count="submitted">1<', html)
    assert re.search(r'data-count="expired">0<', html)
    assert "Alice Nguyen" in html and "Bob Okafor" in html and "Carol Diaz" in html
    assert "10.0.0.7" in html
    assert "1:00:00" in html  # Alice: 80 + 10 minutes from T0, at T0 + 30
    assert "fire alarm" in html and "Extended a student&#x27;s time" in html and "+10 min" in html
    assert reverse("exams:proctor_student", args=[exam.pk, running.student_id]) in html
    assert "OWL" in html  # the access code, for the room
    # The instructor sees the forms for everyone; the strict CSP holds.
    assert 'id="window-close"' in html and 'id="access-code-change"' in html
    assert "style=" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert all("src=" in tag or 'type="application/json"' in tag for tag in scripts)
    assert 'id="proctor-config"' in html and "exams/proctor_page.js" in html


def test_a_ta_sees_no_instructors_forms(board: None, exam: Exam, ta: User, student: User) -> None:
    client = client_for(ta)
    html = client.get(reverse("exams:proctor", args=[exam.pk])).content.decode()
    assert 'id="window-close"' not in html and 'id="instructors-only"' in html

    student_html = client.get(reverse("exams:proctor_student", args=[exam.pk, student.pk])).content.decode()
    assert 'id="extend"' in student_html
    assert 'id="void"' not in student_html and 'id="accommodation"' not in student_html


def test_the_rows_endpoint_follows_search_and_section(board: None, exam: Exam, ta: User, course: Course) -> None:
    carol = UserFactory.create(net_id="carol", full_name="Carol Diaz")
    member(carol, course, Role.STUDENT, quiz_section="AA")
    client = client_for(ta)
    rows_url = reverse("exams:proctor_rows", args=[exam.pk])

    data = client.get(rows_url).json()

    assert data["now"] == NOW.isoformat()
    assert data["counts"] == {
        "not_started": 1,
        "in_progress": 1,
        "submitted": 1,
        "expired": 0,
        "voided": 0,
        "total": 3,
    }
    alice = data["rows"][0]
    assert (alice["net_id"], alice["state"], alice["seconds_left"], alice["time_left"]) == (
        "alice",
        "in_progress",
        50 * 60,
        "50:00",
    )
    assert alice["ips"] == ["10.0.0.7"] and alice["answered"] == 0
    assert alice["url"] == reverse("exams:proctor_student", args=[exam.pk, alice["student"]])
    assert [r["net_id"] for r in client.get(rows_url, {"section": "AA"}).json()["rows"]] == ["alice", "carol"]
    assert [r["net_id"] for r in client.get(rows_url, {"q": "okaf"}).json()["rows"]] == ["bob"]
    response = client.get(rows_url)
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_the_page_filters_without_script(board: None, exam: Exam, instructor: User) -> None:
    html = client_for(instructor).get(reverse("exams:proctor", args=[exam.pk]), {"section": "AB"}).content.decode()
    assert "Bob Okafor" in html and "Alice Nguyen" not in html
    assert '<option value="AB" selected>' in html


# --- the actions through HTTP ------------------------------------------------------------------------


def test_an_extension_reaches_the_sitting_and_says_so(
    board: None, exam: Exam, ta: User, student: User, running: Sitting
) -> None:
    client = client_for(ta)
    target = reverse("exams:proctor_extend", args=[exam.pk, student.pk])

    response = client.post(target, valid_post("extend"), follow=True)

    running.refresh_from_db()
    assert running.deadline == T0 + timedelta(minutes=90)
    assert response.redirect_chain[-1][0] == reverse("exams:proctor_student", args=[exam.pk, student.pk])
    html = response.content.decode()
    assert "deadline moved" in html and "within 30 seconds" in html
    assert "fire alarm" in html  # in the student's history and extensions


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"extend-minutes": "10", "extend-reason": "  "}, "Give a reason"),
        ({"extend-minutes": "0", "extend-reason": "x"}, "greater than or equal to 1"),
        ({"extend-reason": "x"}, "This field is required"),
    ],
)
def test_an_extension_needs_minutes_and_a_reason(
    board: None, exam: Exam, instructor: User, student: User, running: Sitting, data: dict[str, str], error: str
) -> None:
    response = client_for(instructor).post(reverse("exams:proctor_extend", args=[exam.pk, student.pk]), data)

    assert response.status_code == 400 and error in response.content.decode()
    running.refresh_from_db()
    assert running.deadline == T0 + timedelta(minutes=80)
    assert not ProctorAction.objects.exists()


def test_a_refusal_shows_beside_the_form(board: None, exam: Exam, instructor: User, other_student: User) -> None:
    """Bob submitted: an extension would change nothing, and the page says what to do instead."""
    response = client_for(instructor).post(
        reverse("exams:proctor_extend", args=[exam.pk, other_student.pk]), valid_post("extend")
    )
    assert response.status_code == 400 and "Reopen the sitting to give more time" in response.content.decode()
    assert not Extension.objects.exists()


def test_an_accommodation_through_the_page(
    board: None, exam: Exam, instructor: User, student: User, running: Sitting
) -> None:
    data = {**valid_post("accommodation"), "accommodation-may_exceed_window": "on"}
    response = client_for(instructor).post(
        reverse("exams:proctor_accommodation", args=[exam.pk, student.pk]), data, follow=True
    )
    accommodation = Accommodation.objects.get(student=student)
    assert (accommodation.time_multiplier, accommodation.may_exceed_window) == (Decimal("1.50"), True)
    running.refresh_from_db()
    assert running.deadline == T0 + timedelta(minutes=120)
    assert "×1.5" in response.content.decode()


def test_void_needs_confirmation_then_voids(
    board: None, exam: Exam, instructor: User, student: User, running: Sitting
) -> None:
    client = client_for(instructor)
    target = reverse("exams:proctor_void", args=[exam.pk, student.pk])

    refused = client.post(target, {"void-reason": "phone"})
    assert refused.status_code == 400 and "Tick the box" in refused.content.decode()
    assert Sitting.objects.get(pk=running.pk).status == SittingStatus.IN_PROGRESS

    assert client.post(target, valid_post("void")).status_code == 302
    assert Sitting.objects.get(pk=running.pk).status == SittingStatus.VOIDED


def test_void_without_a_sitting_is_refused(board: None, exam: Exam, instructor: User, course: Course) -> None:
    carol = UserFactory.create(net_id="carol", full_name="Carol Diaz")
    member(carol, course, Role.STUDENT)
    response = client_for(instructor).post(reverse("exams:proctor_void", args=[exam.pk, carol.pk]), valid_post("void"))
    assert response.status_code == 400 and "has not started" in response.content.decode()


def test_closing_the_window_through_the_page(board: None, exam: Exam, instructor: User, running: Sitting) -> None:
    response = client_for(instructor).post(
        reverse("exams:proctor_window_close", args=[exam.pk]), valid_post("window_close"), follow=True
    )
    assert Exam.objects.get(pk=exam.pk).closes_at == NOW
    running.refresh_from_db()
    assert running.deadline == NOW
    assert "running sitting ends now" in response.content.decode()


def test_extending_the_window_through_the_page(board: None, exam: Exam, instructor: User) -> None:
    response = client_for(instructor).post(
        reverse("exams:proctor_window_extend", args=[exam.pk]), valid_post("window_extend")
    )
    assert response.status_code == 302
    assert Exam.objects.get(pk=exam.pk).closes_at == NOW + timedelta(hours=4)
    earlier = client_for(instructor).post(
        reverse("exams:proctor_window_extend", args=[exam.pk]),
        {"window_extend-closes_at": "2023-05-04T10:00", "window_extend-reason": "oops"},
    )
    assert earlier.status_code == 400 and "must be later" in earlier.content.decode()


def test_changing_the_access_code_through_the_page(board: None, exam: Exam, instructor: User) -> None:
    response = client_for(instructor).post(
        reverse("exams:proctor_access_code", args=[exam.pk]), valid_post("access_code"), follow=True
    )
    assert Exam.objects.get(pk=exam.pk).access_code == "HAWK"
    assert "HAWK" in response.content.decode()


def test_reopening_in_the_admin_is_audited_too(board: None, instructor: User, submitted: Sitting) -> None:
    response = client_for(instructor).post(
        reverse("admin:exams_sitting_reopen", args=[submitted.pk]), {"minutes": 10, "reason": "crash"}
    )
    assert response.status_code == 302
    action = ProctorAction.objects.get()
    assert (action.kind, action.sitting, action.actor, action.reason) == (
        ProctorActionKind.REOPEN,
        submitted,
        instructor,
        "crash",
    )


# --- the links that lead there ----------------------------------------------------------------------


def test_staff_find_the_proctor_page_from_home_and_the_admin(
    exam: Exam, ta: User, instructor: User, student: User
) -> None:
    target = reverse("exams:proctor", args=[exam.pk])
    assert target in client_for(ta).get(reverse("home")).content.decode()
    assert target not in client_for(student).get(reverse("home")).content.decode()
    admin_page = client_for(instructor).get(reverse("admin:exams_exam_change", args=[exam.pk]))
    assert admin_page.status_code == 200 and target in admin_page.content.decode()
