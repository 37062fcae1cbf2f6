"""Session authentication with CSRF for the browser, tokens for scripts, and ``manage.py api_token``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import Course, User
from exams.models import Exam

pytestmark = pytest.mark.django_db

# A CSRF secret is 32 letters and digits; Django accepts it unmasked as the token too.
CSRF_TOKEN = "examhallcsrftokenforthetests0123"


def api_token(net_id: str, *options: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("api_token", net_id, *options, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_session_writes_need_the_csrf_token(instructor: User, course: Course) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(instructor)
    assert client.get("/api/exams/").status_code == 200  # reads need no token
    response = client.post("/api/exams/", {"course": course.pk, "title": "Quiz"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Exam.objects.exists()

    client.cookies["csrftoken"] = CSRF_TOKEN
    response = client.post(
        "/api/exams/", {"course": course.pk, "title": "Quiz"}, format="json", HTTP_X_CSRFTOKEN=CSRF_TOKEN
    )
    assert response.status_code == 201, response.json()


def test_a_script_works_with_a_token(instructor: User, course: Course) -> None:
    key = api_token("mrivera")
    script = APIClient(enforce_csrf_checks=True)  # a script has no session and no CSRF cookie
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = script.post("/api/exams/", {"course": course.pk, "title": "Quiz"}, format="json")
    assert response.status_code == 201, response.json()
    exam_id = response.json()["id"]
    response = script.post("/api/sections/", {"exam": exam_id, "number": 1, "title": "True / False"}, format="json")
    assert response.status_code == 201, response.json()
    response = script.post(
        "/api/questions/",
        {"section": response.json()["id"], "kind": "true_false", "points": 2, "key": {"value": True}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert script.get(f"/api/exams/{exam_id}/").json()["totals"]["points"] == "2.00"


def test_token_acts_with_the_users_own_role(ta: User, exam: Exam) -> None:
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {api_token('jchen')}")
    assert script.get(f"/api/exams/{exam.pk}/").status_code == 200
    assert script.patch(f"/api/exams/{exam.pk}/", {"title": "Mine"}, format="json").status_code == 403


def test_a_wrong_token_is_401(instructor: User) -> None:
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    response = script.get("/api/exams/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_api_token_prints_the_same_token_until_rotated(instructor: User) -> None:
    first = api_token("mrivera")
    assert len(first) == 40
    assert api_token(" MRivera@uw.edu ") == first
    rotated = api_token("mrivera", "--rotate")
    assert rotated != first
    old = APIClient()
    old.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert old.get("/api/exams/").status_code == 401


def test_api_token_is_for_active_course_staff_only(student: User, instructor: User) -> None:
    with pytest.raises(CommandError, match="not an instructor or TA"):
        api_token("alice")
    with pytest.raises(CommandError, match="No user has the NetID 'nobody'"):
        api_token("nobody")
    instructor.is_active = False
    instructor.save()
    with pytest.raises(CommandError, match="inactive"):
        api_token("mrivera")
