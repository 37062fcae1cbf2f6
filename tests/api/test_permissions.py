"""Who reaches what: the same rules as the admin, through every endpoint.

Instructor of the course: read and write. TA of the course: read, 403 on writes. Another
course's staff and students: 404 on objects, nothing in lists. Anonymous: refused.
"""

from __future__ import annotations

import pytest

from accounts.models import User
from exams.models import Exam, Question
from tests.api.conftest import ClientFor

pytestmark = pytest.mark.django_db

LISTS = ["/api/courses/", "/api/exams/", "/api/sections/", "/api/questions/", "/api/exams/?archived=true"]


def object_urls(exam: Exam) -> dict[str, str]:
    section = exam.sections.get(number=2)
    question = Question.objects.get(exam=exam, number="2.1")
    return {
        "exam": f"/api/exams/{exam.pk}/",
        "section": f"/api/sections/{section.pk}/",
        "question": f"/api/questions/{question.pk}/",
    }


def exam_actions(exam: Exam) -> list[str]:
    return [f"/api/exams/{exam.pk}/{name}/" for name in ("archive", "unarchive", "duplicate")]


def creations(exam: Exam) -> list[tuple[str, dict[str, object]]]:
    return [
        ("/api/exams/", {"course": exam.course_id, "title": "Quiz"}),
        ("/api/sections/", {"exam": exam.pk, "number": 9, "title": "More"}),
        ("/api/questions/", {"section": exam.sections.get(number=1).pk, "kind": "true_false", "key": {"value": True}}),
    ]


def test_ta_reads_everything_keys_included(client_for: ClientFor, ta: User, exam: Exam) -> None:
    client = client_for(ta)
    assert [row["id"] for row in client.get("/api/exams/").json()["results"]] == [exam.pk]
    assert len(client.get(f"/api/questions/?exam={exam.pk}").json()["results"]) == 5
    for url in object_urls(exam).values():
        assert client.get(url).status_code == 200, url
    question = client.get(object_urls(exam)["question"]).json()
    assert [c["is_correct"] for c in question["choices"]] == [True, False, True]
    assert client.get("/api/courses/").json()["results"][0]["role"] == "ta"


def test_ta_writes_nothing(client_for: ClientFor, ta: User, exam: Exam) -> None:
    client = client_for(ta)
    for url, payload in creations(exam):
        response = client.post(url, payload, format="json")
        assert response.status_code == 403, url
        assert "instructors" in response.json()["detail"]
    for url in object_urls(exam).values():
        assert client.patch(url, {"title": "Renamed"}, format="json").status_code == 403, url
        assert client.put(url, {"title": "Renamed"}, format="json").status_code == 403, url
    for url in (object_urls(exam)["section"], object_urls(exam)["question"]):
        assert client.delete(url).status_code == 403, url
    for url in exam_actions(exam):
        assert client.post(url).status_code == 403, url
    response = client.post("/api/exams/import/", {"course": exam.course_id, "text": "# Quiz"}, format="json")
    assert response.status_code == 403
    exam.refresh_from_db()
    assert (exam.title, exam.archived, Exam.objects.count()) == ("Midterm Exam", False, 1)


@pytest.mark.parametrize("who", ["other_instructor", "student"])
def test_outsiders_find_nothing(
    client_for: ClientFor, who: str, request: pytest.FixtureRequest, exam: Exam, other_exam: Exam
) -> None:
    user: User = request.getfixturevalue(who)
    client = client_for(user)
    mine = {other_exam.pk} if who == "other_instructor" else set()
    assert {row["id"] for row in client.get("/api/exams/").json()["results"]} == mine
    for url in LISTS[2:]:
        rows = client.get(url).json()["results"]
        assert not [row for row in rows if row.get("exam") == exam.pk], url
    assert client.get(f"/api/questions/?exam={exam.pk}").json()["results"] == []
    for url in [*object_urls(exam).values(), f"/api/exams/{exam.pk}/export/", f"/api/courses/{exam.course_id}/"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"ReLU" not in response.content and b"is_correct" not in response.content
    for url in object_urls(exam).values():
        assert client.patch(url, {"title": "Mine now"}, format="json").status_code == 404, url
    for url in (object_urls(exam)["section"], object_urls(exam)["question"]):
        assert client.delete(url).status_code == 404, url
    for url in exam_actions(exam):
        assert client.post(url).status_code == 404, url
    exam.refresh_from_db()
    assert (exam.title, exam.archived, Exam.objects.count()) == ("Midterm Exam", False, 2)


def test_student_lists_are_empty_and_no_key_is_readable(client_for: ClientFor, student: User, exam: Exam) -> None:
    client = client_for(student)
    for url in LISTS:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.json()["results"] == [], url
    for url, payload in creations(exam):
        assert client.post(url, payload, format="json").status_code == 403, url


def test_anonymous_is_refused_everywhere(client_for: ClientFor, exam: Exam) -> None:
    client = client_for(None)
    for url in [*LISTS, *object_urls(exam).values()]:
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token"
        assert "credentials were not provided" in response.json()["detail"]
    for url, payload in creations(exam):
        assert client.post(url, payload, format="json").status_code == 401, url
    assert client.delete(object_urls(exam)["question"]).status_code == 401


def test_inactive_membership_gives_no_access(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    instructor.memberships.update(active=False)
    client = client_for(instructor)
    assert client.get("/api/exams/").json()["results"] == []
    assert client.get(object_urls(exam)["exam"]).status_code == 404
