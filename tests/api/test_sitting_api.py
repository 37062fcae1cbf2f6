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
from exams.sittings import sitting_start, sitting_submit
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


def test_autosave_and_claim_answer_errors_in_json_as_drf_did(sitting: Sitting, student: User, exam: Exam) -> None:
    payload = {"device": DEVICE, "answers": [{"question": tf(exam).pk, "value": True, "seq": 1}]}
    for name in ("sitting-answers", "sitting-claim"):
        anonymous = APIClient().post(url(name, sitting), payload, format="json")
        assert anonymous.status_code == 403
        assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
        client = client_for(student)
        token = client.cookies["csrftoken"].value
        form = client.post(url(name, sitting), payload, HTTP_X_CSRFTOKEN=token)  # multipart, not JSON
        assert form.status_code == 415 and "Unsupported media type" in form.json()["detail"]
        broken = client.post(url(name, sitting), "{", content_type="application/json", HTTP_X_CSRFTOKEN=token)
        assert broken.status_code == 400 and broken.json()["detail"].startswith("JSON parse error")
        not_a_number = client.post(
            url(name, sitting), '{"device": NaN}', content_type="application/json", HTTP_X_CSRFTOKEN=token
        )
        assert not_a_number.status_code == 400
    assert post(client, url("sitting-claim", sitting), {"device": "nope"}).json() == {
        "device": ["Must be a valid UUID."]
    }
    assert not Answer.objects.exists()


def test_autosave_accepts_every_spelling_the_serializer_does(sitting: Sitting, student: User, exam: Exam) -> None:
    client = client_for(student)
    post(client, url("sitting-claim", sitting), {"device": DEVICE.replace("-", "")})
    spelled = {
        "device": DEVICE,
        "answers": [{"question": str(tf(exam).pk), "value": False, "flagged": "yes", "seq": "4"}],
    }
    response = post(client, url("sitting-answers", sitting), spelled)
    assert response.status_code == 200
    assert response.json()["results"] == [{"question": tf(exam).pk, "seq": 4, "status": "saved", "error": ""}]
    answer = Answer.objects.get(sitting=sitting)
    assert (answer.value, answer.flagged, answer.seq) == (False, True, 4)
    missing_value = {"device": DEVICE, "answers": [{"question": tf(exam).pk, "seq": 5}]}
    response = post(client, url("sitting-answers", sitting), missing_value)
    assert response.status_code == 400 and response.json() == {"answers": {"0": {"value": ["This field is required."]}}}


def test_another_students_sitting_is_a_json_404(sitting: Sitting, other_student: User, exam: Exam) -> None:
    client = client_for(other_student)
    payload = {"device": DEVICE, "answers": [{"question": tf(exam).pk, "value": True, "seq": 1}]}
    assert post(client, url("sitting-answers", sitting), payload).json() == {"detail": "No such sitting."}
    assert post(client, url("sitting-claim", sitting), {"device": DEVICE}).json() == {"detail": "No such sitting."}


def test_a_closed_sitting_cannot_be_claimed(sitting: Sitting, student: User) -> None:
    client = client_for(student)
    sitting_submit(sitting=sitting, student=student, now=timezone.now())
    response = post(client, url("sitting-claim", sitting), {"device": DEVICE})
    assert response.status_code == 409 and response.json()["code"] == "closed"


def test_an_autosave_is_one_statement_after_the_session(
    sitting: Sitting, student: User, exam: Exam, django_assert_num_queries: Any
) -> None:
    """The user (AuthenticationMiddleware), then one statement that checks the sitting and
    writes the answer, its revision and last_seq. The first save of a sitting in a process
    also looks up its exam, and the exam's answer rules (two queries, once a minute)."""
    client = client_for(student)
    post(client, url("sitting-claim", sitting), {"device": DEVICE})
    answer = {"question": tf(exam).pk, "value": True, "seq": 1}
    with django_assert_num_queries(5):
        assert post(client, url("sitting-answers", sitting), {"device": DEVICE, "answers": [answer]}).status_code == 200
    with django_assert_num_queries(2):
        answer["seq"] = 2
        assert post(client, url("sitting-answers", sitting), {"device": DEVICE, "answers": [answer]}).status_code == 200
