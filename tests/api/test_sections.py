"""Sections through the API: create, renumber on change, delete while unpublished only."""

from __future__ import annotations

import pytest

from accounts.models import User
from exams.models import Exam, Question, Section
from tests.api.conftest import ClientFor

pytestmark = pytest.mark.django_db


def numbers(exam: Exam) -> list[str]:
    return sorted(Question.objects.filter(exam=exam).values_list("number", flat=True))


def test_list_by_exam(client_for: ClientFor, instructor: User, exam: Exam, other_exam: Exam) -> None:
    client = client_for(instructor)
    response = client.get(f"/api/sections/?exam={exam.pk}")
    assert response.status_code == 200
    assert [(s["number"], s["title"]) for s in response.json()["results"]] == [
        (1, "True / False"),
        (2, "Multiple Choice"),
    ]
    assert client.get(f"/api/sections/?exam={other_exam.pk}").json()["results"] == []
    assert client.get("/api/sections/?exam=midterm").status_code == 400


def test_create_section(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).post(
        "/api/sections/",
        {"exam": exam.pk, "number": 3, "title": "Short Answers", "recommended_minutes": 30, "floor_at_zero": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    section = Section.objects.get(pk=response.json()["id"])
    assert (section.exam, section.number, section.recommended_minutes, section.floor_at_zero) == (exam, 3, 30, True)


def test_section_numbers_are_unique_in_an_exam(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client = client_for(instructor)
    response = client.post("/api/sections/", {"exam": exam.pk, "number": 2, "title": "Again"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"number": ["Section 2 already exists in this exam."]}
    first = exam.sections.get(number=1)
    response = client.patch(f"/api/sections/{first.pk}/", {"number": 2}, format="json")
    assert response.status_code == 400
    assert response.json() == {"number": ["Section 2 already exists in this exam."]}


def test_renumbering_a_section_renumbers_its_questions(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    second = exam.sections.get(number=2)
    response = client_for(instructor).patch(f"/api/sections/{second.pk}/", {"number": 4}, format="json")
    assert response.status_code == 200, response.json()
    assert numbers(exam) == ["1.1", "1.2", "4.1", "4.2", "4.2.1"]


def test_a_section_stays_in_its_exam(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    other = Exam.objects.create(course=exam.course, title="Quiz")
    first = exam.sections.get(number=1)
    response = client_for(instructor).patch(f"/api/sections/{first.pk}/", {"exam": other.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"exam": ["A section stays in its exam."]}


def test_delete_section_of_a_draft(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    first = exam.sections.get(number=1)
    first.number = 3  # changed behind the API's back: the delete's renumbering catches up
    first.save()
    response = client_for(instructor).delete(f"/api/sections/{exam.sections.get(number=2).pk}/")
    assert response.status_code == 204
    assert list(exam.sections.values_list("number", flat=True)) == [3]
    assert numbers(exam) == ["3.1", "3.2"]  # renumbered after the delete


def test_sections_of_a_published_exam_are_kept(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    exam.published = True
    exam.save()
    section = exam.sections.get(number=1)
    response = client_for(instructor).delete(f"/api/sections/{section.pk}/")
    assert response.status_code == 403
    assert "never removed" in response.json()["detail"]
    assert Section.objects.filter(pk=section.pk).exists()
