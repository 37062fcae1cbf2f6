"""Regrade requests end to end, through the pages: a student asks (only after release, before
the deadline, once at a time per question), the staff's queue lists it, a grader replies and may
change the grade (audited as a regrade), and the student reads the reply."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Course, User
from grading.models import Evaluation, GradeEvent, RegradeRequest, SittingResult
from grading.release import grades_release
from tests.grading.release_data import ReleasedExam, graded_exam

pytestmark = pytest.mark.django_db

T0 = datetime(2023, 5, 10, 19, 0, tzinfo=UTC)
DEADLINE = T0 + timedelta(days=7)


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def graded(
    frozen: time_machine.Traveller, course: Course, student: User, other_student: User, ta: User
) -> ReleasedExam:
    return graded_exam(course, student, other_student, ta, grade_everything=True)


@pytest.fixture
def released(graded: ReleasedExam, instructor: User) -> ReleasedExam:
    grades_release(exam=graded.exam, by=instructor, now=T0, regrade_deadline=DEADLINE)
    return graded


def results_url(released: ReleasedExam) -> str:
    return reverse("grading:sitting-results", args=[released.alice.pk])


def ask(client: Client, released: ReleasedExam, number: str, reason: str = "My answer names the chain rule.") -> Any:
    score = released.score(released.alice, number)
    return client.post(
        reverse("grading:regrade-request", args=[released.alice.pk]), {"score": score.pk, "reason": reason}
    )


def queue_url(released: ReleasedExam) -> str:
    return reverse("grading:regrades", args=[released.exam.pk])


def reply(client: Client, request: RegradeRequest, **data: Any) -> Any:
    return client.post(reverse("grading:regrade-reply", args=[request.pk]), data)


def page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- asking -----------------------------------------------------------------------------------------


def test_a_student_asks_for_a_regrade_and_sees_it_pending(
    client: Client, released: ReleasedExam, student: User
) -> None:
    client.force_login(student)
    page = page_text(client.get(results_url(released)))
    assert "You can ask for a regrade of any question until" in page and page.count("Request a regrade") >= 7
    response = ask(client, released, "2.1.1")
    assert response.status_code == 302
    assert response["Location"] == f"{results_url(released)}#question-{released.question('2.1.1').pk}"
    request = RegradeRequest.objects.get()
    score = released.score(released.alice, "2.1.1")
    assert (request.score, request.student, request.status, request.created_at, request.old_points) == (
        score,
        student,
        "open",
        T0,
        Decimal("2.87"),
    )
    page = page_text(client.get(results_url(released)))
    assert "My answer names the chain rule." in page and "Waiting for a reply." in page
    assert "You can send another request on this question once this one is answered." in page


def test_a_second_request_on_the_same_question_waits_for_the_first(
    client: Client, released: ReleasedExam, student: User
) -> None:
    client.force_login(student)
    assert ask(client, released, "2.1.1").status_code == 302
    again = ask(client, released, "2.1.1", "And another thing.")
    assert again.status_code == 400
    assert "You already have an open request on this question" in page_text(again)
    assert RegradeRequest.objects.count() == 1
    assert ask(client, released, "1.1").status_code == 302  # another question is fine
    assert RegradeRequest.objects.count() == 2


def test_no_request_after_the_deadline(
    client: Client, released: ReleasedExam, student: User, frozen: time_machine.Traveller
) -> None:
    client.force_login(student)
    frozen.move_to(DEADLINE)
    page = page_text(client.get(results_url(released)))
    assert "Regrade requests closed on" in page and "Request a regrade" not in page
    refused = ask(client, released, "2.1.1")
    assert refused.status_code == 400 and "Regrade requests for this exam are closed." in page_text(refused)
    assert not RegradeRequest.objects.exists()


def test_no_request_without_a_deadline(client: Client, graded: ReleasedExam, student: User, instructor: User) -> None:
    grades_release(exam=graded.exam, by=instructor, now=T0, regrade_deadline=None)
    client.force_login(student)
    page = page_text(client.get(reverse("grading:sitting-results", args=[graded.alice.pk])))
    assert "This exam takes no regrade requests." in page and "Request a regrade" not in page
    assert ask(client, graded, "2.1.1").status_code == 400
    assert not RegradeRequest.objects.exists()


def test_no_request_before_release(client: Client, graded: ReleasedExam, student: User) -> None:
    client.force_login(student)
    assert ask(client, graded, "2.1.1").status_code == 404
    assert not RegradeRequest.objects.exists()


def test_a_request_needs_a_reason(client: Client, released: ReleasedExam, student: User) -> None:
    client.force_login(student)
    refused = ask(client, released, "2.1.1", "   ")
    assert refused.status_code == 400
    assert "Say what should be looked at again, and why." in page_text(refused)
    assert not RegradeRequest.objects.exists()


def test_only_on_ones_own_answers(
    client: Client, released: ReleasedExam, student: User, other_student: User, ta: User
) -> None:
    bobs = released.score(released.bob, "2.1.1")
    client.force_login(student)
    # Bob's answer through alice's sitting, and alice's sitting by bob: neither exists for them.
    url = reverse("grading:regrade-request", args=[released.alice.pk])
    assert client.post(url, {"score": bobs.pk, "reason": "Mine?"}).status_code == 404
    assert client.post(url, {"reason": "Which?"}).status_code == 400
    client.force_login(other_student)
    alices = released.score(released.alice, "2.1.1")
    assert client.post(url, {"score": alices.pk, "reason": "Hers."}).status_code == 404
    client.force_login(ta)
    assert client.post(url, {"score": alices.pk, "reason": "Staff."}).status_code == 404
    assert not RegradeRequest.objects.exists()


# --- the queue --------------------------------------------------------------------------------------


def test_the_queue_is_the_course_staffs(
    client: Client,
    released: ReleasedExam,
    student: User,
    other_student: User,
    ta: User,
    instructor: User,
    other_instructor: User,
) -> None:
    client.force_login(student)
    ask(client, released, "2.1.1", "Alice's reason.")
    client.force_login(other_student)
    client.post(
        reverse("grading:regrade-request", args=[released.bob.pk]),
        {"score": released.score(released.bob, "1.1").pk, "reason": "Bob's reason."},
    )
    first, second = RegradeRequest.objects.order_by("pk")
    for outsider in (student, other_instructor):
        client.force_login(outsider)
        assert client.get(queue_url(released)).status_code == 404
        assert reply(client, first, reply="No.", adjustment="0", version="1").status_code == 404
    client.force_login(ta)
    page = page_text(client.get(queue_url(released)))
    assert "2 open requests" in page and "Alice's reason." in page and "Bob's reason." in page
    assert page.index(f'id="regrade-{first.pk}"') < page.index(f'id="regrade-{second.pk}"')  # oldest first
    assert f"Sitting {released.alice.pk}" in page and "Alice Nguyen" not in page  # anonymous for TAs
    assert "2.87" in page  # the current points
    assert " style=" not in page and "<style" not in page and not re.search(r"<[^>]+\son[a-z]+=", page)
    client.force_login(instructor)
    assert "Alice Nguyen (alice)" in page_text(client.get(queue_url(released)))


def test_answered_requests_follow_the_open_ones(
    client: Client, released: ReleasedExam, student: User, ta: User
) -> None:
    client.force_login(student)
    ask(client, released, "2.1.1", "First.")
    ask(client, released, "1.1", "Second.")
    first, second = RegradeRequest.objects.order_by("pk")
    client.force_login(ta)
    evaluation = Evaluation.objects.get(score=first.score)
    assert (
        reply(
            client,
            first,
            reply="Looked again: it stands.",
            items=[released.item.pk],
            adjustment="-0.13",
            comment=evaluation.comment,
            version=evaluation.version,
        ).status_code
        == 302
    )
    page = page_text(client.get(queue_url(released)))
    assert "1 open request" in page
    assert page.index(f'id="regrade-{second.pk}"') < page.index(f'id="regrade-{first.pk}"')


# --- replying ---------------------------------------------------------------------------------------


def test_a_reply_that_changes_the_grade_is_audited_as_a_regrade_and_the_student_sees_it(
    client: Client, released: ReleasedExam, student: User, ta: User, frozen: time_machine.Traveller
) -> None:
    client.force_login(student)
    ask(client, released, "2.1.1")
    request = RegradeRequest.objects.get()
    evaluation = Evaluation.objects.get(score=request.score)
    total_before = SittingResult.objects.get(sitting=released.alice).points
    frozen.shift(timedelta(hours=2))

    client.force_login(ta)
    response = reply(
        client,
        request,
        reply="You are right: the chain rule is there.",
        items=[],  # take the deduction off
        adjustment="-0.13",
        comment=evaluation.comment,
        version=evaluation.version,
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.replied_by, request.replied_at) == ("answered", ta, T0 + timedelta(hours=2))
    assert (request.old_points, request.new_points) == (Decimal("2.87"), Decimal("3.87"))
    event = GradeEvent.objects.filter(score=request.score).latest("at")
    assert (event.source, event.actor, event.old_points, event.new_points) == (
        "regrade",
        ta,
        Decimal("2.87"),
        Decimal("3.87"),
    )
    assert event.reason == f"Regrade request {request.pk}: You are right: the chain rule is there."
    assert SittingResult.objects.get(sitting=released.alice).points == total_before + 1

    client.force_login(student)
    page = page_text(client.get(results_url(released)))
    assert "You are right: the chain rule is there." in page
    assert "points changed from 2.87 to 3.87" in page and "3.87 of 4" in page
    assert "Request a regrade" in page  # answered: the question may be asked about again


def test_a_reply_without_a_change_keeps_the_grade(
    client: Client, released: ReleasedExam, student: User, ta: User
) -> None:
    client.force_login(student)
    ask(client, released, "2.1.1")
    request = RegradeRequest.objects.get()
    evaluation = Evaluation.objects.get(score=request.score)
    events = GradeEvent.objects.count()
    client.force_login(ta)
    page = page_text(client.get(queue_url(released)))
    assert f'value="{released.item.pk}" id="regrade-{request.pk}-item-{released.item.pk}" checked' in page
    response = reply(
        client,
        request,
        reply="The deduction stands: the chain rule is not applied.",
        items=[released.item.pk],
        adjustment="-0.13",
        comment=evaluation.comment,
        version=evaluation.version,
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.old_points, request.new_points) == ("answered", Decimal("2.87"), Decimal("2.87"))
    assert GradeEvent.objects.count() == events
    client.force_login(student)
    assert "points unchanged (2.87)" in page_text(client.get(results_url(released)))


def test_a_reply_to_an_automatic_score_overrides_it(
    client: Client, released: ReleasedExam, student: User, ta: User
) -> None:
    """An automatic score has no evaluation until a grader changes it; the reply makes one."""
    client.force_login(student)
    ask(client, released, "2.3", "The second cell is ambiguous.")
    request = RegradeRequest.objects.get()
    assert not Evaluation.objects.filter(score=request.score).exists()  # viewing the queue makes none
    client.force_login(ta)
    client.get(queue_url(released))
    assert not Evaluation.objects.filter(score=request.score).exists()
    response = reply(client, request, reply="Granted.", adjustment="1.5", comment="Ambiguous cell.", version="0")
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.old_points, request.new_points) == (Decimal("1.5"), Decimal("3"))
    event = GradeEvent.objects.filter(score=request.score).get()
    assert event.reason.startswith(f"Regrade request {request.pk}:") and event.new_points == 3


def test_a_refused_reply_changes_nothing(client: Client, released: ReleasedExam, student: User, ta: User) -> None:
    client.force_login(student)
    ask(client, released, "2.1.1")
    request = RegradeRequest.objects.get()
    evaluation = Evaluation.objects.get(score=request.score)
    client.force_login(ta)
    empty = reply(client, request, reply="  ", items=[], adjustment="0", comment="", version=evaluation.version)
    assert empty.status_code == 400 and "Write a reply the student can read." in page_text(empty)
    stale = reply(client, request, reply="Fixed.", items=[], adjustment="0", comment="", version=evaluation.version + 5)
    assert stale.status_code == 400 and "Someone else changed this grade" in page_text(stale)
    assert "Fixed." in page_text(stale)  # the typed reply is kept
    request.refresh_from_db()
    assert request.status == "open" and released.score(released.alice, "2.1.1").points == Decimal("2.87")
    assert not GradeEvent.objects.filter(source="regrade").exists()


def test_a_request_is_answered_once(client: Client, released: ReleasedExam, student: User, ta: User) -> None:
    client.force_login(student)
    ask(client, released, "1.1")
    request = RegradeRequest.objects.get()
    client.force_login(ta)
    assert reply(client, request, reply="It stands.", adjustment="0", version="0").status_code == 302
    again = reply(client, request, reply="Still stands.", adjustment="0", version="0")
    assert again.status_code == 400 and "This request was answered already." in page_text(again)
    request.refresh_from_db()
    assert request.reply == "It stands."


def test_the_grade_link_opens_the_evaluation_as_a_regrade(
    client: Client, released: ReleasedExam, student: User, ta: User
) -> None:
    client.force_login(student)
    ask(client, released, "2.1.1")
    request = RegradeRequest.objects.get()
    client.force_login(ta)
    link = reverse("grading:regrade-grade", args=[request.pk])
    assert link in client.get(queue_url(released)).content.decode()
    response = client.get(link)
    evaluation = Evaluation.objects.get(score=request.score)
    assert response.status_code == 302
    assert response["Location"] == reverse("grading:evaluation", args=[evaluation.pk]) + f"?regrade={request.pk}"
    client.force_login(student)
    assert client.get(link).status_code == 404


def test_a_grade_changed_on_the_evaluation_page_is_a_regrade_and_the_reply_records_it(
    client: Client, released: ReleasedExam, student: User, ta: User
) -> None:
    client.force_login(student)
    ask(client, released, "2.1.1")
    request = RegradeRequest.objects.get()
    client.force_login(ta)
    evaluation_url = client.get(reverse("grading:regrade-grade", args=[request.pk]))["Location"]
    evaluation = Evaluation.objects.get(score=request.score)
    saved = client.post(
        evaluation_url,
        {"items": [], "adjustment": "0", "comment": "Line 2\r\nhas it.", "version": evaluation.version},
    )
    assert saved.status_code == 302 and saved["Location"].startswith(queue_url(released))
    event = GradeEvent.objects.filter(score=request.score).latest("at")
    assert (event.source, event.new_points) == ("regrade", Decimal(4))

    # The reply form now starts from the new grade: sent as it is (a browser sends CRLF lines), it
    # changes nothing more.
    page = page_text(client.get(queue_url(released)))
    assert f'id="regrade-{request.pk}-item-{released.item.pk}" checked' not in page
    evaluation.refresh_from_db()
    response = reply(
        client,
        request,
        reply="Regraded: full marks.",
        adjustment="0",
        comment="Line 2\r\nhas it.",
        version=evaluation.version,
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.old_points, request.new_points) == (Decimal("2.87"), Decimal(4))
    assert GradeEvent.objects.filter(score=request.score).count() == 2  # graded, then regraded once
