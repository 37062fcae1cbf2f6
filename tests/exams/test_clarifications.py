"""Clarifications: publishing (who may, what is refused, the audit), what the open exam page
reads (the pulse: status, deadline, clarifications after ``since``), recording that a page showed
them, the staff page, and who reaches each of these."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from time import monotonic
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Course, Role, User
from exams.clarifications import (
    MAX_MESSAGE_LENGTH,
    MEMO_SECONDS,
    clarification_publish,
    clarifications_for,
    clarifications_forget,
    clarifications_seen,
)
from exams.models import (
    Clarification,
    ClarificationSeen,
    Exam,
    Extension,
    ProctorAction,
    Question,
    Sitting,
    SittingStatus,
)
from exams.sittings import sitting_recompute_deadline, sitting_start, sitting_submit
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_question, member

T0 = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)  # 10:00 in Seattle


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    clarifications_forget()
    yield
    clarifications_forget()


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def exam(course: Course) -> Exam:
    """A published exam with 2.4 among its questions (and 2.10, to check the paper order)."""
    exam = ExamFactory.create(
        course=course,
        title="Midterm Exam",
        published=True,
        duration_minutes=80,
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + timedelta(hours=3),
    )
    SectionFactory.create(exam=exam, number=1, title="True / False")
    second = SectionFactory.create(exam=exam, number=2, title="Short Answers")
    for position in range(1, 11):
        add_question(second, kind="short_answer", points=2, prompt=f"Question {position}.")
    return exam


@pytest.fixture
def other_exam(other_course: Course) -> Exam:
    exam = ExamFactory.create(course=other_course, title="Final", published=True)
    add_question(SectionFactory.create(exam=exam, number=2), kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def other_ta(other_course: Course) -> User:
    user = UserFactory.create(net_id="dlee", full_name="Dana Lee")
    member(user, other_course, Role.TA)
    return user


def numbered(exam: Exam, number: str) -> Question:
    return Question.objects.get(exam=exam, number=number)


def start(exam: Exam, student: User, now: datetime = T0) -> Sitting:
    return sitting_start(exam=exam, student=student, typed_name=student.full_name, ip=None, user_agent="", now=now)


def publish(exam: Exam, by: User, message: str = "2.4: output = $\\mathrm{conv}_2(x_1)$", **kw: Any) -> Clarification:
    return clarification_publish(exam=exam, message=message, question=kw.get("question"), by=by, now=kw.get("now", T0))


def logged_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def pulse(client: Client, sitting: Sitting, since: Any = None) -> Any:
    query = {} if since is None else {"since": since}
    return client.get(reverse("sitting-pulse", args=[sitting.pk]), query)


def seen(client: Client, sitting: Sitting, ids: Any, token: str = "") -> Any:
    return client.post(
        reverse("sitting-clarifications-seen", args=[sitting.pk]),
        json.dumps({"ids": ids}),
        content_type="application/json",
        headers={"X-CSRFToken": token} if token else None,
    )


def staff_page(exam: Exam) -> str:
    return reverse("exams:clarifications", args=[exam.pk])


# --- publishing ---------------------------------------------------------------------------------


def test_an_instructor_publishes_about_a_question_and_it_is_audited(exam: Exam, instructor: User) -> None:
    question = numbered(exam, "2.4")

    clarification = publish(exam, instructor, question=question)

    assert (clarification.exam, clarification.question, clarification.published_by) == (exam, question, instructor)
    assert clarification.message == "2.4: output = $\\mathrm{conv}_2(x_1)$"
    assert clarification.published_at == T0
    action = ProctorAction.objects.get()
    assert (action.kind, action.course_id, action.exam, action.actor, action.at) == (
        "clarification",
        exam.course_id,
        exam,
        instructor,
        T0,
    )
    assert action.reason == clarification.message
    assert action.detail == {
        "clarification": clarification.pk,
        "question": question.pk,
        "number": "2.4",
        "message": clarification.message,
    }


def test_a_ta_of_the_course_may_publish_on_exam_day(exam: Exam, ta: User) -> None:
    clarification = publish(exam, ta, message="Calculators are allowed.")
    assert clarification.question is None and clarification.published_by == ta
    assert ProctorAction.objects.get().actor == ta


@pytest.mark.parametrize("who", ["student", "other_instructor", "other_ta"])
def test_no_one_else_may_publish(exam: Exam, who: str, request: pytest.FixtureRequest) -> None:
    with pytest.raises(PermissionDenied):
        publish(exam, request.getfixturevalue(who))
    assert not Clarification.objects.exists() and not ProctorAction.objects.exists()


def test_an_empty_or_overlong_message_is_refused(exam: Exam, instructor: User) -> None:
    with pytest.raises(ValidationError, match="Write the clarification"):
        publish(exam, instructor, message="   \n ")
    with pytest.raises(ValidationError, match="under"):
        publish(exam, instructor, message="x" * (MAX_MESSAGE_LENGTH + 1))
    assert publish(exam, instructor, message="  Trimmed.  ").message == "Trimmed."


def test_a_question_of_another_exam_is_refused(exam: Exam, other_exam: Exam, instructor: User) -> None:
    with pytest.raises(ValidationError, match="not on this exam"):
        publish(exam, instructor, question=Question.objects.get(exam=other_exam))
    assert not Clarification.objects.exists() and not ProctorAction.objects.exists()


# --- what the pages read ---------------------------------------------------------------------------


def test_clarifications_come_rendered_oldest_first_after_since(exam: Exam, instructor: User) -> None:
    first = publish(exam, instructor, question=numbered(exam, "2.4"))
    second = publish(exam, instructor, message="<script>alert(1)</script> **Bold** claim.")

    items = clarifications_for(exam.pk)

    assert [item.id for item in items] == [first.pk, second.pk]
    assert (items[0].question, items[0].number) == (numbered(exam, "2.4").pk, "2.4")
    assert '<span class="math" data-math="inline">\\mathrm{conv}_2(x_1)</span>' in items[0].html
    assert (items[1].question, items[1].number) == (None, "")
    assert "<strong>Bold</strong>" in items[1].html and "<script>" not in items[1].html
    assert [item.id for item in clarifications_for(exam.pk, first.pk)] == [second.pk]
    assert clarifications_for(exam.pk, second.pk) == []
    assert items[0].as_json() == {
        "id": first.pk,
        "question": numbered(exam, "2.4").pk,
        "number": "2.4",
        "html": items[0].html,
        "published_at": T0.isoformat(),
    }


def test_clarifications_are_kept_per_process_for_a_moment(
    exam: Exam, instructor: User, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with django_assert_num_queries(1):
        assert clarifications_for(exam.pk) == []
    with django_assert_num_queries(0):
        assert clarifications_for(exam.pk) == []
    # A publication in this process is read at once; other processes within MEMO_SECONDS.
    clarification = publish(exam, instructor)
    assert [item.id for item in clarifications_for(exam.pk)] == [clarification.pk]
    Clarification.objects.create(
        exam=exam, message="Not through the service.", published_by=instructor, published_at=T0
    )
    assert len(clarifications_for(exam.pk)) == 1  # still the memo
    later = monotonic() + MEMO_SECONDS
    monkeypatch.setattr("exams.clarifications.monotonic", lambda: later)
    assert len(clarifications_for(exam.pk)) == 2


def test_seen_is_recorded_once_in_bulk_and_only_for_the_exams_own(
    exam: Exam, other_exam: Exam, instructor: User, other_instructor: User, student: User
) -> None:
    sitting = start(exam, student)
    first, second = publish(exam, instructor), publish(exam, instructor, message="Another.")
    elsewhere = publish(other_exam, other_instructor)

    assert clarifications_seen(sitting=sitting, ids=[first.pk, elsewhere.pk, 999_999], now=T0) == 1
    assert clarifications_seen(sitting=sitting, ids=[first.pk, second.pk], now=T0 + timedelta(minutes=5)) == 2
    assert clarifications_seen(sitting=sitting, ids=[], now=T0) == 0

    rows = dict(ClarificationSeen.objects.filter(sitting=sitting).values_list("clarification_id", "seen_at"))
    assert rows == {first.pk: T0, second.pk: T0 + timedelta(minutes=5)}  # the first time stays


# --- the pulse ---------------------------------------------------------------------------------------


def test_the_pulse_gives_status_deadline_and_the_clarifications_after_since(
    frozen: time_machine.Traveller, exam: Exam, instructor: User, student: User
) -> None:
    sitting = start(exam, student)
    client = logged_in(student)
    assert pulse(client, sitting).json() == {
        "status": "in_progress",
        "deadline": (T0 + timedelta(minutes=80)).isoformat(),
        "server_now": T0.isoformat(),
        "clarifications": [],
    }
    first = publish(exam, instructor, question=numbered(exam, "2.4"))
    second = publish(exam, instructor, message="Calculators are allowed.")
    frozen.shift(timedelta(minutes=1))

    response = pulse(client, sitting, since=first.pk)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["server_now"] == (T0 + timedelta(minutes=1)).isoformat()
    assert body["clarifications"] == [
        {
            "id": second.pk,
            "question": None,
            "number": "",
            "html": "<p>Calculators are allowed.</p>\n",
            "published_at": T0.isoformat(),
        }
    ]
    everything = pulse(client, sitting, since=0).json()["clarifications"]
    assert [(c["id"], c["number"]) for c in everything] == [(first.pk, "2.4"), (second.pk, "")]
    for bad in ("-1", "x", "1.5", "²", "9" * 40):
        refused = pulse(client, sitting, since=bad)
        assert refused.status_code == 400 and "since" in refused.json()


def test_the_pulse_brings_an_extension(
    frozen: time_machine.Traveller, exam: Exam, instructor: User, student: User
) -> None:
    sitting = start(exam, student)
    Extension.objects.create(
        exam=exam, student=student, minutes=15, reason="Fire alarm", granted_by=instructor, granted_at=T0
    )
    sitting_recompute_deadline(sitting=sitting, now=T0)
    assert pulse(logged_in(student), sitting).json()["deadline"] == (T0 + timedelta(minutes=95)).isoformat()


def test_the_pulse_closes_a_sitting_past_its_deadline_and_grace(
    frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = start(exam, student)
    client = logged_in(student)
    frozen.shift(timedelta(minutes=80, seconds=settings.EXAMHALL_SAVE_GRACE_SECONDS))
    assert pulse(client, sitting).json()["status"] == "in_progress"  # within the grace
    frozen.shift(timedelta(seconds=1))
    assert pulse(client, sitting).json()["status"] == "expired"
    sitting.refresh_from_db()
    assert (sitting.status, sitting.closed_by, sitting.submitted_at) == ("expired", "lazy", sitting.deadline)


def test_the_pulse_says_when_the_sitting_was_submitted(frozen: None, exam: Exam, student: User) -> None:
    sitting = start(exam, student)
    sitting_submit(sitting=sitting, student=student, now=T0)
    assert pulse(logged_in(student), sitting).json()["status"] == "submitted"


def test_a_pulse_costs_the_user_and_one_select_of_the_sitting(
    frozen: None, exam: Exam, instructor: User, student: User, django_assert_num_queries: Any
) -> None:
    """AuthenticationMiddleware reads the user; the view reads the sitting; the clarifications come
    from the memo (one query per exam and process every MEMO_SECONDS)."""
    sitting = start(exam, student)
    publish(exam, instructor)
    client = logged_in(student)
    with django_assert_num_queries(3):
        assert len(pulse(client, sitting).json()["clarifications"]) == 1
    with django_assert_num_queries(2):
        assert len(pulse(client, sitting).json()["clarifications"]) == 1


# --- reporting what the page showed -------------------------------------------------------------------


def test_the_page_reports_what_it_showed_idempotently(
    frozen: None, exam: Exam, instructor: User, student: User
) -> None:
    sitting = start(exam, student)
    clarification = publish(exam, instructor)
    client = logged_in(student)
    for _ in range(2):
        response = seen(client, sitting, [clarification.pk])
        assert response.status_code == 200 and response.json() == {"recorded": 1}
    assert ClarificationSeen.objects.filter(sitting=sitting, clarification=clarification).count() == 1
    # What a serializer would read is read the same way; anything else is a 400 with reasons.
    assert seen(client, sitting, [str(clarification.pk)]).json() == {"recorded": 1}
    assert seen(client, sitting, ["x"]).status_code == 400
    assert seen(client, sitting, [0]).status_code == 400
    assert seen(client, sitting, list(range(1, 300))).status_code == 400
    not_json = client.post(reverse("sitting-clarifications-seen", args=[sitting.pk]), {"ids": "1"})
    assert not_json.status_code == 415


def test_reporting_needs_the_csrf_token(frozen: None, exam: Exam, instructor: User, student: User) -> None:
    sitting = start(exam, student)
    clarification = publish(exam, instructor)
    client = logged_in(student, csrf=True)
    client.get(reverse("exams:sit", args=[sitting.pk]))  # sets the csrftoken cookie, as the page does
    assert seen(client, sitting, [clarification.pk]).status_code == 403
    assert not ClarificationSeen.objects.exists()
    token = client.cookies["csrftoken"].value
    assert seen(client, sitting, [clarification.pk], token=token).status_code == 200
    assert ClarificationSeen.objects.count() == 1


# --- the staff page -------------------------------------------------------------------------------------


def test_an_instructor_publishes_from_the_page_by_question_number(
    frozen: None, exam: Exam, instructor: User, student: User, other_student: User
) -> None:
    client = logged_in(instructor)
    page = client.get(staff_page(exam))
    assert page.status_code == 200
    html = page.content.decode()
    assert " style=" not in html and "<style" not in html
    numbers = re.findall(r'<option value="([0-9.]*)"', html)
    assert numbers[:4] == ["", "2.1", "2.2", "2.3"] and numbers[-2:] == ["2.9", "2.10"]  # paper order

    response = client.post(staff_page(exam), {"question": "2.4", "message": "output = $\\mathrm{conv}_2(x_1)$"})

    assert response.status_code == 302 and response["Location"] == staff_page(exam)
    clarification = Clarification.objects.get()
    assert (clarification.question, clarification.published_by) == (numbered(exam, "2.4"), instructor)
    assert ProctorAction.objects.get().kind == "clarification"
    followed = client.get(staff_page(exam)).content.decode()
    assert "Clarification about 2.4 published" in followed
    assert '<span class="math" data-math="inline">\\mathrm{conv}_2(x_1)</span>' in followed


def test_the_page_counts_the_sittings_that_showed_each(
    frozen: None, exam: Exam, instructor: User, student: User, other_student: User
) -> None:
    third = UserFactory.create(net_id="carol", full_name="Carol Diaz")
    member(third, exam.course, Role.STUDENT)
    sittings = [start(exam, user) for user in (student, other_student, third)]
    sitting_submit(sitting=sittings[1], student=other_student, now=T0)
    Sitting.objects.filter(pk=sittings[2].pk).update(status=SittingStatus.VOIDED)
    clarification = publish(exam, instructor)
    for sitting in sittings:
        clarifications_seen(sitting=sitting, ids=[clarification.pk], now=T0)

    html = logged_in(instructor).get(staff_page(exam)).content.decode()

    # Of the sittings in progress or submitted (the voided one counts in neither).
    assert re.search(r'data-seen="2" data-sittings="2">2 / 2</td>', html)


def test_a_question_number_of_another_exam_is_refused(exam: Exam, other_exam: Exam, instructor: User) -> None:
    response = logged_in(instructor).post(staff_page(exam), {"question": "2.11", "message": "Hm."})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    empty = logged_in(instructor).post(staff_page(exam), {"question": "", "message": "  "})
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert not Clarification.objects.exists()


def test_a_ta_of_the_course_uses_the_page(exam: Exam, ta: User) -> None:
    client = logged_in(ta)
    assert client.get(staff_page(exam)).status_code == 200
    assert client.post(staff_page(exam), {"question": "", "message": "Calculators are allowed."}).status_code == 302
    assert Clarification.objects.get().published_by == ta


@pytest.mark.parametrize("who", ["student", "other_ta", "other_instructor"])
def test_no_one_else_reaches_the_page(exam: Exam, who: str, request: pytest.FixtureRequest) -> None:
    client = logged_in(request.getfixturevalue(who))
    assert client.get(staff_page(exam)).status_code == 404
    assert client.post(staff_page(exam), {"question": "", "message": "Boo."}).status_code == 404
    assert not Clarification.objects.exists()


def test_anonymous_users_are_sent_to_sign_in(exam: Exam) -> None:
    for response in (Client().get(staff_page(exam)), Client().post(staff_page(exam), {"message": "Boo."})):
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert not Clarification.objects.exists()


def test_the_page_needs_the_csrf_token(exam: Exam, instructor: User) -> None:
    client = logged_in(instructor, csrf=True)
    assert client.post(staff_page(exam), {"question": "", "message": "Boo."}).status_code == 403
    assert not Clarification.objects.exists()


def test_staff_find_the_page_from_their_home_page(exam: Exam, instructor: User, ta: User, student: User) -> None:
    for user in (instructor, ta):
        assert f'href="{staff_page(exam)}"' in logged_in(user).get(reverse("home")).content.decode()
    assert staff_page(exam) not in logged_in(student).get(reverse("home")).content.decode()


# --- who reaches the student's endpoints -----------------------------------------------------------------


def test_only_the_student_reaches_their_pulse_and_report(
    frozen: None, exam: Exam, instructor: User, ta: User, other_ta: User, student: User, other_student: User
) -> None:
    sitting = start(exam, student)
    clarification = publish(exam, instructor)
    for user in (other_student, instructor, ta, other_ta):
        client = logged_in(user)
        assert pulse(client, sitting).status_code == 404
        assert seen(client, sitting, [clarification.pk]).status_code == 404
    for response in (pulse(Client(), sitting), seen(Client(), sitting, [clarification.pk])):
        assert response.status_code == 403
        assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert not ClarificationSeen.objects.exists()
    assert logged_in(student).post(reverse("sitting-pulse", args=[sitting.pk])).status_code == 405


# --- the exam page -------------------------------------------------------------------------------------------


def test_the_exam_page_shows_what_was_published_before_it_opened(
    frozen: None, exam: Exam, instructor: User, student: User
) -> None:
    sitting = start(exam, student)
    about = publish(exam, instructor, question=numbered(exam, "2.4"))
    general = publish(exam, instructor, message="Calculators are allowed.")
    clarifications_seen(sitting=sitting, ids=[general.pk], now=T0)

    html = logged_in(student).get(reverse("exams:sit", args=[sitting.pk])).content.decode()

    assert " style=" not in html and "<style" not in html
    listed = re.search(r'<ol class="list-unstyled mb-0" id="clarification-list">(.*?)</ol>', html, re.S)
    assert listed
    assert f'id="clarification-{about.pk}"' in listed.group(1)
    assert f'href="#q{numbered(exam, "2.4").pk}-heading">2.4</a>' in listed.group(1)
    assert "About the whole exam" in listed.group(1) and "<p>Calculators are allowed.</p>" in listed.group(1)
    assert "10:00</time>" in listed.group(1)  # Seattle time
    found = re.search(r'<script id="sitting-pulse" type="application/json">(.*?)</script>', html, re.S)
    assert found
    data = json.loads(found.group(1))
    assert data["urls"] == {
        "pulse": f"/api/sittings/{sitting.pk}/pulse/",
        "seen": f"/api/sittings/{sitting.pk}/clarifications/seen/",
    }
    assert [(c["id"], c["number"], c["seen"]) for c in data["clarifications"]] == [
        (about.pk, "2.4", False),
        (general.pk, "", True),
    ]


def test_an_exam_page_without_clarifications_hides_their_list(frozen: None, exam: Exam, student: User) -> None:
    sitting = start(exam, student)
    html = logged_in(student).get(reverse("exams:sit", args=[sitting.pk])).content.decode()
    assert re.search(r'<section id="clarifications"[^>]* hidden>', html)
