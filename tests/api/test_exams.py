"""Exams through the API as their instructor: list, read with totals, create, change, archive, copy."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Course, Role, User
from exams.models import Choice, Exam, Question
from tests.api.conftest import ClientFor
from tests.factories import ExamFactory, member

pytestmark = pytest.mark.django_db


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_courses_lists_staff_courses_with_role(
    client_for: ClientFor, instructor: User, course: Course, other_course: Course
) -> None:
    member(instructor, other_course, Role.TA)
    response = client_for(instructor).get("/api/courses/")
    assert response.status_code == 200
    rows = {row["code"]: row["role"] for row in response.json()["results"]}
    assert rows == {course.code: "instructor", other_course.code: "ta"}


def test_courses_leave_out_courses_taken_as_a_student(
    client_for: ClientFor, student: User, other_course: Course
) -> None:
    member(student, other_course, Role.INSTRUCTOR)
    response = client_for(student).get("/api/courses/")
    assert [row["code"] for row in response.json()["results"]] == [other_course.code]


def test_list_has_the_users_exams_only(client_for: ClientFor, instructor: User, exam: Exam, other_exam: Exam) -> None:
    response = client_for(instructor).get("/api/exams/")
    assert response.status_code == 200
    assert ids(response) == [exam.pk]


def test_list_filters_by_course(
    client_for: ClientFor, instructor: User, exam: Exam, other_exam: Exam, other_course: Course
) -> None:
    member(instructor, other_course, Role.TA)
    client = client_for(instructor)
    assert sorted(ids(client.get("/api/exams/"))) == sorted([exam.pk, other_exam.pk])
    assert ids(client.get(f"/api/exams/?course={other_course.pk}")) == [other_exam.pk]
    response = client.get("/api/exams/?course=cse446")
    assert response.status_code == 400
    assert response.json() == {"course": ["course is an id (a whole number), not 'cse446'."]}


def test_retrieve_has_totals_by_section(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).get(f"/api/exams/{exam.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Midterm Exam"
    assert body["course_code"] == "cse493g1-sp23"
    assert body["effective_term"] == "Spring 2023"
    assert body["totals"]["points"] == "8.00"
    assert body["totals"]["extra_points"] == "3.00"
    assert [(s["number"], s["points"], s["extra_points"]) for s in body["totals"]["sections"]] == [
        (1, "4.00", "0.00"),
        (2, "4.00", "3.00"),
    ]


def test_create_exam(client_for: ClientFor, instructor: User, course: Course) -> None:
    response = client_for(instructor).post(
        "/api/exams/",
        {"course": course.pk, "title": "Final Exam", "duration_minutes": 110, "exam_date": "2023-06-12"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    exam = Exam.objects.get(pk=body["id"])
    assert (exam.course, exam.title, exam.duration_minutes, exam.created_by) == (course, "Final Exam", 110, instructor)
    assert body["created_by"] == "mrivera"
    assert body["published"] is False
    assert body["totals"] == {"points": "0.00", "extra_points": "0.00", "sections": []}


def test_create_in_a_course_the_user_only_assists_is_forbidden(
    client_for: ClientFor, instructor: User, other_course: Course
) -> None:
    member(instructor, other_course, Role.TA)
    response = client_for(instructor).post("/api/exams/", {"course": other_course.pk, "title": "Quiz"}, format="json")
    assert response.status_code == 403
    assert not Exam.objects.filter(course=other_course).exists()


def test_create_in_a_course_outside_the_users_looks_nonexistent(
    client_for: ClientFor, instructor: User, other_course: Course
) -> None:
    response = client_for(instructor).post("/api/exams/", {"course": other_course.pk, "title": "Quiz"}, format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["course"][0]
    assert not Exam.objects.filter(course=other_course).exists()


def test_update_exam(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client = client_for(instructor)
    response = client.patch(f"/api/exams/{exam.pk}/", {"title": "Midterm", "published": True}, format="json")
    assert response.status_code == 200, response.json()
    exam.refresh_from_db()
    assert (exam.title, exam.published) == ("Midterm", True)
    full = {**client.get(f"/api/exams/{exam.pk}/").json(), "duration_minutes": 90}
    assert client.put(f"/api/exams/{exam.pk}/", full, format="json").status_code == 200
    exam.refresh_from_db()
    assert exam.duration_minutes == 90


def test_update_refuses_a_window_that_closes_before_it_opens(
    client_for: ClientFor, instructor: User, exam: Exam
) -> None:
    response = client_for(instructor).patch(
        f"/api/exams/{exam.pk}/",
        {"opens_at": "2023-05-01T10:30:00-07:00", "closes_at": "2023-05-01T09:00:00-07:00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"closes_at": ["The window must close after it opens."]}


def test_an_exam_stays_in_its_course(client_for: ClientFor, instructor: User, exam: Exam, other_course: Course) -> None:
    member(instructor, other_course, Role.INSTRUCTOR)
    response = client_for(instructor).patch(f"/api/exams/{exam.pk}/", {"course": other_course.pk}, format="json")
    assert response.status_code == 400
    assert "stays in its course" in response.json()["course"][0]
    exam.refresh_from_db()
    assert exam.course_id != other_course.pk


def test_delete_is_refused_and_points_to_archive(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).delete(f"/api/exams/{exam.pk}/")
    assert response.status_code == 405
    assert "archive" in response.json()["detail"]
    assert Exam.objects.filter(pk=exam.pk).exists()


def test_archive_hides_the_exam_and_unarchive_brings_it_back(
    client_for: ClientFor, instructor: User, exam: Exam
) -> None:
    client = client_for(instructor)
    response = client.post(f"/api/exams/{exam.pk}/archive/")
    assert response.status_code == 200
    assert response.json()["archived"] is True
    assert ids(client.get("/api/exams/")) == []
    assert ids(client.get("/api/exams/?archived=true")) == [exam.pk]
    assert client.get("/api/exams/?archived=maybe").json() == {"archived": ["archived is true or false, not 'maybe'."]}
    assert Question.objects.filter(exam=exam).count() == 5  # nothing in it is touched
    assert client.post(f"/api/exams/{exam.pk}/unarchive/").json()["archived"] is False
    assert ids(client.get("/api/exams/")) == [exam.pk]


def test_archived_is_not_writable_through_patch(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client_for(instructor).patch(f"/api/exams/{exam.pk}/", {"archived": True}, format="json")
    exam.refresh_from_db()
    assert exam.archived is False


def test_duplicate_copies_the_whole_exam(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    exam.published = True
    exam.save()
    response = client_for(instructor).post(f"/api/exams/{exam.pk}/duplicate/", {"title": "Midterm B"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    copy = Exam.objects.get(pk=body["id"])
    assert (copy.title, copy.published, copy.created_by) == ("Midterm B", False, instructor)
    assert body["totals"]["points"] == "8.00"
    assert sorted(Question.objects.filter(exam=copy).values_list("number", flat=True)) == sorted(
        Question.objects.filter(exam=exam).values_list("number", flat=True)
    )
    assert Choice.objects.filter(question__exam=copy, is_correct=True).count() == 2


def test_duplicate_without_a_title(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).post(f"/api/exams/{exam.pk}/duplicate/")
    assert response.status_code == 201
    assert response.json()["title"] == "Midterm Exam (copy)"


def test_superuser_sees_every_course(client_for: ClientFor, exam: Exam, other_exam: Exam) -> None:
    admin = User.objects.create_superuser("root", "pw", full_name="Site Admin")
    response = client_for(admin).get("/api/exams/")
    assert sorted(ids(response)) == sorted([exam.pk, other_exam.pk])


def test_list_is_paginated_and_ordered(client_for: ClientFor, instructor: User, course: Course) -> None:
    for title in ("B quiz", "A quiz"):
        ExamFactory.create(course=course, title=title)
    body = client_for(instructor).get("/api/exams/").json()
    assert body["count"] == 2
    assert [row["title"] for row in body["results"]] == ["A quiz", "B quiz"]
