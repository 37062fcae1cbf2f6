"""The exam file through the API, with the real ``exams.examfile``: round trip, figures, errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Course, User
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.models import Exam, Figure, Question
from tests.api.conftest import ClientFor
from tests.images import png_bytes

pytestmark = pytest.mark.django_db

WITH_A_FIGURE = """---
title: Quiz 2
duration: 20 minutes
---

# 1 Networks {2 points}

## 1.1 {true_false, 2 points}

This network has three hidden units.

![A network with three hidden units.](figures/net.png "The network")

- [x] True
- [ ] False
"""


def snapshot(exam: Exam) -> list[tuple[Any, ...]]:
    """Everything authored in an exam, ids aside."""
    rows: list[tuple[Any, ...]] = [(s.number, s.title, s.instructions) for s in exam.sections.order_by("number")]
    for q in Question.objects.filter(exam=exam).order_by("number"):
        choices = [(c.label, c.text, c.is_correct) for c in q.choices.order_by("position")]
        parent = q.parent.number if q.parent else None
        rows.append((q.number, parent, q.kind, q.title, q.prompt, q.points, q.extra_credit, q.policy))
        rows.append((q.number, q.policy_params, q.config, q.key, q.solution, choices))
    return rows


def without_ids(totals: dict[str, Any]) -> dict[str, Any]:
    return {**totals, "sections": [{k: v for k, v in row.items() if k != "id"} for row in totals["sections"]]}


def test_export_then_import_round_trips(client_for: ClientFor, instructor: User, exam: Exam, course: Course) -> None:
    client = client_for(instructor)
    exported = client.get(f"/api/exams/{exam.pk}/export/")
    assert exported.status_code == 200
    assert exported["Content-Type"] == "text/markdown; charset=utf-8"
    text = exported.content.decode()

    response = client.post("/api/exams/import/", {"course": course.pk, "text": text}, format="json")
    assert response.status_code == 201, response.json()
    imported = Exam.objects.get(pk=response.json()["id"])
    assert imported.pk != exam.pk
    assert (imported.course, imported.created_by, imported.published) == (course, instructor, False)
    assert snapshot(imported) == snapshot(exam)
    assert without_ids(response.json()["totals"]) == without_ids(client.get(f"/api/exams/{exam.pk}/").json()["totals"])
    assert client.get(f"/api/exams/{imported.pk}/export/").content.decode() == text


def test_import_with_an_uploaded_figure(client_for: ClientFor, instructor: User, course: Course) -> None:
    image = png_bytes()
    response = client_for(instructor).post(
        "/api/exams/import/",
        {
            "course": str(course.pk),
            "text": SimpleUploadedFile("quiz.md", WITH_A_FIGURE.encode()),
            "figures/net.png": SimpleUploadedFile("net.png", image, content_type="image/png"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    figure = Figure.objects.get(exam_id=response.json()["id"])
    assert (figure.question.number if figure.question else None, figure.alt_text) == (
        "1.1",
        "A network with three hidden units.",
    )
    with figure.image.open("rb") as stored:
        assert stored.read() == image


def test_import_problems_come_back_with_their_lines(client_for: ClientFor, instructor: User, course: Course) -> None:
    response = client_for(instructor).post(
        "/api/exams/import/", {"course": course.pk, "text": WITH_A_FIGURE}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The exam file has 1 problem; nothing was imported."
    ((problem),) = body["errors"]
    assert (
        problem["line"]
        == WITH_A_FIGURE.splitlines().index('![A network with three hidden units.](figures/net.png "The network")') + 1
    )
    assert "figures/net.png" in problem["message"]
    assert not Exam.objects.filter(title="Quiz 2").exists()


def test_the_seed_midterm_imports_with_all_its_figures(client_for: ClientFor, instructor: User, course: Course) -> None:
    text = SEED_EXAM_PATH.read_text(encoding="utf-8")
    figures_dir = SEED_EXAM_PATH.parent / "figures"
    uploads = {
        f"figures/{path.name}": SimpleUploadedFile(path.name, path.read_bytes(), content_type="image/png")
        for path in sorted(figures_dir.iterdir())
    }
    response = client_for(instructor).post(
        "/api/exams/import/", {"course": str(course.pk), "text": text, **uploads}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    through_api = Exam.objects.get(pk=response.json()["id"])
    from_disk = exam_import(text=text, course=course, base_dir=SEED_EXAM_PATH.parent)
    assert snapshot(through_api) == snapshot(from_disk)
    assert Figure.objects.filter(exam=through_api).count() == text.count("](figures/") > 0
