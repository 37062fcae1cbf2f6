"""Import and export endpoints against the contract of ``exams.examfile``.

The exam file module itself has its own tests; here a stand-in with the same interface
(``ExamFileError.errors``, ``exam_import``, ``exam_export``) pins down what the API does
around it: access checks first, figures passed as bytes by relative path, errors as 400 by
line. test_examfile.py runs the real module end to end.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Course, Role, User
from exams.models import Exam
from tests.api.conftest import ClientFor
from tests.factories import member
from tests.images import png_bytes

pytestmark = pytest.mark.django_db


class StandInExamFileError(Exception):
    def __init__(self, errors: list[tuple[int | None, str]]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


@dataclass
class StandIn:
    imports: list[dict[str, Any]] = field(default_factory=list)

    def exam_import(
        self, *, text: str, course: Course, base_dir: Any = None, figures: Any = None, by: User | None = None
    ) -> Exam:
        self.imports.append({"text": text, "course": course, "base_dir": base_dir, "figures": figures, "by": by})
        if "BROKEN" in text:
            raise StandInExamFileError([(3, "Unknown question kind 'essay'."), (None, "The exam has no sections.")])
        title = text.splitlines()[0].removeprefix("# ")
        return Exam.objects.create(course=course, title=title, created_by=by)

    def exam_export(self, exam: Exam, *, figures_dir: Any = None) -> str:
        return f"# {exam.title}\n\nThe exam file, keys included.\n"


@pytest.fixture
def examfile(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    stand_in = StandIn()
    module = types.ModuleType("exams.examfile")
    module.ExamFileError = StandInExamFileError  # type: ignore[attr-defined]
    module.exam_import = stand_in.exam_import  # type: ignore[attr-defined]
    module.exam_export = stand_in.exam_export  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "exams.examfile", module)
    return stand_in


def test_export_is_markdown_to_save(client_for: ClientFor, ta: User, exam: Exam, examfile: StandIn) -> None:
    response = client_for(ta).get(f"/api/exams/{exam.pk}/export/")  # TAs read keys, so they may export
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cse493g1-sp23-midterm-exam.md"'
    assert response.content.decode() == "# Midterm Exam\n\nThe exam file, keys included.\n"


def test_export_of_an_unknown_exam_is_a_404_in_text(client_for: ClientFor, instructor: User, examfile: StandIn) -> None:
    response = client_for(instructor).get("/api/exams/999999/export/")
    assert response.status_code == 404
    assert response.content.decode() == "No Exam matches the given query.\n"


def test_import_from_json(client_for: ClientFor, instructor: User, course: Course, examfile: StandIn) -> None:
    response = client_for(instructor).post(
        "/api/exams/import/", {"course": course.pk, "text": "# Quiz 1\n\nbody"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["title"] == "Quiz 1"
    assert Exam.objects.get(pk=response.json()["id"]).course == course
    (call,) = examfile.imports
    assert (call["text"], call["course"], call["by"], call["figures"]) == ("# Quiz 1\n\nbody", course, instructor, None)


def test_import_multipart_with_figures_by_relative_path(
    client_for: ClientFor, instructor: User, course: Course, examfile: StandIn
) -> None:
    image = png_bytes()
    response = client_for(instructor).post(
        "/api/exams/import/",
        {
            "course": str(course.pk),
            "text": SimpleUploadedFile("midterm.md", b"# Midterm\n\n![Zom](figures/zom.png)\n"),
            "figures/zom.png": SimpleUploadedFile("zom.png", image, content_type="image/png"),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    (call,) = examfile.imports
    assert call["text"] == "# Midterm\n\n![Zom](figures/zom.png)\n"
    assert call["figures"] == {"figures/zom.png": image}


def test_import_errors_come_back_by_line(
    client_for: ClientFor, instructor: User, course: Course, examfile: StandIn
) -> None:
    response = client_for(instructor).post(
        "/api/exams/import/", {"course": course.pk, "text": "# BROKEN\n"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The exam file has 2 problems; nothing was imported.",
        "errors": [
            {"line": 3, "message": "Unknown question kind 'essay'."},
            {"line": None, "message": "The exam has no sections."},
        ],
    }


def test_import_needs_text_and_a_course_the_user_instructs(
    client_for: ClientFor, instructor: User, other_course: Course, examfile: StandIn
) -> None:
    client = client_for(instructor)
    response = client.post("/api/exams/import/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"course", "text"}
    response = client.post("/api/exams/import/", {"course": other_course.pk, "text": "# Quiz"}, format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["course"][0]
    member(instructor, other_course, Role.TA)
    response = client.post("/api/exams/import/", {"course": other_course.pk, "text": "# Quiz"}, format="json")
    assert response.status_code == 403
    assert examfile.imports == []


def test_import_refuses_a_file_that_is_not_utf8(
    client_for: ClientFor, instructor: User, course: Course, examfile: StandIn
) -> None:
    response = client_for(instructor).post(
        "/api/exams/import/",
        {"course": str(course.pk), "text": SimpleUploadedFile("midterm.md", "# Café".encode("latin-1"))},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"text": ["The exam file is not UTF-8 text."]}
