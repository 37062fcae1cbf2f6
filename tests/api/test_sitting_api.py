"""The open exam page's JSON endpoints, through HTTP with session auth and CSRF."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Course, User
from exams.models import Answer, Exam, ProctorEvent, Question, Sitting
from exams.sittings import sitting_start
from tests.factories import ExamFactory, SectionFactory, add_question

DEVICE = str(uuid.uuid4())


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, published=True, duration_minutes=80)
    section = SectionFactory.create(exam=exam, number=1)
    add_question(section, kind="true_false", points=2, key={"value": True})
    add_question(
        section, kind="expression", points=3, config={"variables": ["D_C"]}, key={"expression": "sqrt(2-2*D_C)"}
    )
    return exam


@pytest.fixture
def sitting(exam: Exam, student: User) -> Sitting:
    return sitting_start(
        exam=exam, student=student, typed_name=student.full_name, ip=None, user_agent="", now=timezone.now()
    )


def client_for(user: User, *, csrf: bool = True) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(user)
    client.get(reverse("home"))  # sets the csrftoken cookie, as the exam page would
    return client


def post(client: APIClient, url: str, data: dict[str, Any]) -> Any:
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    return client.post(url, data, format="json", HTTP_X_CSRFTOKEN=token)


def url(name: str, sitting: Sitting, **kw: int) -> str:
    return reverse(name, kwargs={"sitting_id": sitting.pk, **kw})


def tf(exam: Exam) -> Question:
    return Question.objects.get(exam=exam, kind="true_false")


def test_claim_then_save_then_state(sitting: Sitting, student: User, exam: Exam) -> None:
    client = client_for(student)
    claimed = post(client, url("sitting-claim", sitting), {"device": DEVICE})
    assert claimed.status_code == 200 and claimed.json()["status"] == "in_progress"
    saved = post(
        client,
        url("sitting-answers", sitting),
        {"device": DEVICE, "answers": [{"question": tf(exam).pk, "value": True, "flagged": True, "seq": 5}]},
    )
    assert saved.status_code == 200
    body = saved.json()
    assert body["results"] == [{"question": tf(exam).pk, "seq": 5, "status": "saved", "error": ""}]
    assert body["last_seq"] == 5 and body["deadline"] and body["server_now"]
    state = client.get(url("sitting-state", sitting)).json()
    assert state["answers"][str(tf(exam).pk)] == {"value": True, "flagged": True, "seq": 5}


def test_csrf_is_enforced(sitting: Sitting, student: User, exam: Exam) -> None:
    client = client_for(student)
    response = client.post(
        url("sitting-answers", sitting),
        {"device": DEVICE, "answers": [{"question": tf(exam).pk, "value": True, "seq": 1}]},
        format="json",
    )
    assert response.status_code == 403
    assert not Answer.objects.exists()


def test_another_students_sitting_is_404(sitting: Sitting, other_student: User, exam: Exam) -> None:
    client = client_for(other_student)
    assert client.get(url("sitting-state", sitting)).status_code == 404
    response = post(
        client,
        url("sitting-answers", sitting),
        {"device": DEVICE, "answers": [{"question": tf(exam).pk, "value": True, "seq": 1}]},
    )
    assert response.status_code == 404
    assert post(client, url("sitting-claim", sitting), {"device": DEVICE}).status_code == 404


def test_anonymous_is_refused(sitting: Sitting) -> None:
    assert APIClient().get(url("sitting-state", sitting)).status_code in (401, 403)


def test_bad_payload_is_400_with_reasons(sitting: Sitting, student: User) -> None:
    client = client_for(student)
    response = post(client, url("sitting-answers", sitting), {"device": "nope", "answers": []})
    assert response.status_code == 400
    assert set(response.json()) == {"device", "answers"}


def test_refusals_are_409_with_a_code(sitting: Sitting, student: User, exam: Exam) -> None:
    client = client_for(student)
    post(client, url("sitting-claim", sitting), {"device": DEVICE})
    other_tab = str(uuid.uuid4())
    post(client, url("sitting-claim", sitting), {"device": other_tab})
    payload = {"device": DEVICE, "answers": [{"question": tf(exam).pk, "value": True, "seq": 1}]}
    response = post(client, url("sitting-answers", sitting), payload)
    assert response.status_code == 409 and response.json()["code"] == "taken_over"
    assert ProctorEvent.objects.filter(sitting=sitting, kind="takeover").count() == 1
    with time_machine.travel(sitting.deadline + timedelta(seconds=61), tick=False):
        payload["device"] = other_tab
        response = post(client, url("sitting-answers", sitting), payload)
    assert response.status_code == 409
    assert response.json() == {
        "code": "time_up",
        "detail": "Time is up: this answer arrived after the deadline and was not saved.",
    }
    assert not Answer.objects.exists()
    sitting.refresh_from_db()
    assert sitting.status == "expired"


def test_events_are_recorded(sitting: Sitting, student: User) -> None:
    client = client_for(student)
    response = post(client, url("sitting-events", sitting), {"kind": "paste", "detail": {"length": 120}})
    assert response.status_code == 202 and response.json() == {"recorded": True}
    event = ProctorEvent.objects.get(sitting=sitting)
    assert (event.kind, event.detail) == ("paste", {"length": 120})
    assert post(client, url("sitting-events", sitting), {"kind": "takeover"}).status_code == 400


def test_expression_preview_gives_latex_or_a_hint(sitting: Sitting, student: User, exam: Exam) -> None:
    client = client_for(student)
    question = Question.objects.get(exam=exam, kind="expression")
    preview_url = url("sitting-expression-preview", sitting, question_id=question.pk)
    good = post(client, preview_url, {"text": "sqrt(2*(1-D_C))"}).json()
    assert good["error"] == "" and "\\sqrt" in good["latex"]
    bad = post(client, preview_url, {"text": "2 D_C"}).json()
    assert bad["latex"] == "" and "does not parse" in bad["error"]
    # Nothing in a preview says whether the formula is right.
    assert "sqrt(2-2*D_C)" not in str(good) + str(bad)
    wrong_kind = url("sitting-expression-preview", sitting, question_id=tf(exam).pk)
    assert post(client, wrong_kind, {"text": "1"}).status_code == 404
