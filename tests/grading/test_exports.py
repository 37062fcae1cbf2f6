"""Grade exports: the per-question CSV and the Canvas gradebook import, from the command and
as downloads, exactly; spreadsheet formulas neutralised; access as for the results page."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts.models import Course, User
from exams.models import Exam
from grading.exports import cell_points, cell_text, grade_sheet, grades_canvas_csv
from grading.models import AnswerScore, ScoreSource
from tests.factories import ExamFactory
from tests.grading.results_data import ScoredExam, run_job, scored_exam

pytestmark = pytest.mark.django_db

SCORES_CSV = (
    "NetID,Name,Quiz section,Status,Total,Max,1.1,2.1,2.2,2.3,Pending manual\r\n"
    'mallory,"\'=HYPERLINK(""http://x"")",\'@SUM(A1),submitted,0,9,0,0,0,0,0\r\n'
    "alice,Alice Nguyen,AA,submitted,8,9,2,3,,3,1\r\n"
    "bob,Bob Okafor,AB,expired,-1,9,-1,0,0,0,0\r\n"
)
CANVAS_CSV = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Midterm Exam\r\n"
    "Points Possible,,,,,9\r\n"
    '"\'=HYPERLINK(""http://x"")",,,mallory,\'@SUM(A1),0\r\n'
    "Alice Nguyen,,ABC123,alice,AA,\r\n"
    "Bob Okafor,,,bob,AB,-1\r\n"
)


@pytest.fixture
def scored(course: Course, student: User, other_student: User) -> ScoredExam:
    return scored_exam(course, student, other_student)


def export(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_grades", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the formats --------------------------------------------------------------------------------


def test_the_score_csv_has_a_row_per_scored_sitting_and_a_column_per_question(scored: ScoredExam) -> None:
    text, notes = export(str(scored.exam.pk), "--format", "csv")
    assert text == SCORES_CSV
    # Alice's short answer waits for a grader: its cell is empty, her total provisional.
    assert "Sittings with answers waiting for manual grading: 1 of 3; their totals are provisional." in notes


def test_csv_is_the_default_format(scored: ScoredExam) -> None:
    assert export(str(scored.exam.pk))[0] == SCORES_CSV


def test_the_canvas_csv_follows_the_gradebook_import_format(scored: ScoredExam) -> None:
    text, notes = export(str(scored.exam.pk), "--format", "canvas")
    assert text == CANVAS_CSV
    rows = list(csv.reader(io.StringIO(text)))
    # What Canvas's importer checks: Student, ID, then SIS User ID and SIS Login ID, then
    # Section as the last student column; a "Points Possible" row; one number per student.
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[1][0] == "Points Possible" and rows[1][5] == "9"
    assert "their cells are empty" in notes


def test_a_grade_set_by_hand_counts_and_leaves_nothing_pending(scored: ScoredExam) -> None:
    AnswerScore.objects.filter(sitting=scored.alice, question__number="2.2").update(
        points=Decimal("2.5"), needs_manual=False, source=ScoreSource.MANUAL
    )
    run_job(scored.exam)  # totals follow; the grader's points are kept
    text, notes = export(str(scored.exam.pk), "--format", "canvas")
    assert "Alice Nguyen,,ABC123,alice,AA,10.5\r\n" in text and notes == ""
    assert "alice,Alice Nguyen,AA,submitted,10.5,9,2,3,2.5,3,0\r\n" in export(str(scored.exam.pk))[0]


def test_the_assignment_column_can_be_named(scored: ScoredExam) -> None:
    text, _ = export(str(scored.exam.pk), "--format", "canvas", "--assignment", "Midterm (4711)")
    assert text.startswith("Student,ID,SIS User ID,SIS Login ID,Section,Midterm (4711)\r\n")


def test_an_exam_title_canvas_would_read_as_an_id_gets_a_note(course: Course) -> None:
    exam = ExamFactory.create(course=course, title="Midterm (2023)")
    _, notes = export(str(exam.pk), "--format", "canvas")
    assert "pass --assignment" in notes


def test_an_exam_nobody_sat_exports_its_header_only(course: Course) -> None:
    exam = ExamFactory.create(course=course, title="Quiz")
    text, notes = export(str(exam.pk), "--format", "canvas")
    assert text == "Student,ID,SIS User ID,SIS Login ID,Section,Quiz\r\nPoints Possible,,,,,0\r\n"
    assert "No scored sitting" in notes


def test_the_output_file_is_utf8_with_a_byte_order_mark(scored: ScoredExam, tmp_path: Path) -> None:
    target = tmp_path / "grades.csv"
    text, _ = export(str(scored.exam.pk), "--format", "canvas", "--output", str(target))
    assert "Wrote 3 rows to" in text
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    assert target.read_bytes().decode("utf-8-sig") == CANVAS_CSV


# --- formula injection --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ann = Bob", "Ann = Bob"),
        ("", ""),
    ],
)
def test_text_cells_that_look_like_formulas_become_text(value: str, written: str) -> None:
    assert cell_text(value) == written


def test_numbers_are_plain_and_never_prefixed() -> None:
    assert [cell_points(Decimal(v)) for v in ("8.00", "7.50", "-1.00", "0.33", "100", "-0.00")] == [
        "8",
        "7.5",
        "-1",
        "0.33",
        "100",
        "0",
    ]


def test_a_formula_for_a_name_reaches_the_file_as_text(scored: ScoredExam) -> None:
    for text in (export(str(scored.exam.pk))[0], export(str(scored.exam.pk), "--format", "canvas")[0]):
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert '\'=HYPERLINK("http://x")' in cells and "'@SUM(A1)" in cells
        assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
        assert all(cell == "-1" for cell in cells if cell.startswith("-"))  # a negative number stays a number


def test_an_exam_title_that_looks_like_a_formula_is_neutralised(scored: ScoredExam) -> None:
    scored.exam.title = "=2+5"
    assert grades_canvas_csv(grade_sheet(scored.exam)).startswith("Student,ID,SIS User ID,SIS Login ID,Section,'=2+5")


# --- the command's errors -----------------------------------------------------------------------


def test_an_unknown_exam_is_an_error(db: None) -> None:
    with pytest.raises(CommandError, match="No exam has the id 999999"):
        export("999999")


def test_an_unknown_format_is_an_error(scored: ScoredExam) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'xlsx'"):
        export(str(scored.exam.pk), "--format", "xlsx")


def test_naming_an_assignment_needs_the_canvas_format(scored: ScoredExam) -> None:
    with pytest.raises(CommandError, match="--assignment applies to --format canvas only"):
        export(str(scored.exam.pk), "--assignment", "Midterm")


def test_an_unwritable_output_is_an_error(scored: ScoredExam, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot write"):
        export(str(scored.exam.pk), "--output", str(tmp_path / "missing" / "grades.csv"))


# --- downloads ----------------------------------------------------------------------------------


def download(client: Client, exam: Exam, fmt: str) -> Any:
    return client.get(reverse("grading:export", args=[exam.pk]), {"format": fmt})


@pytest.mark.parametrize(
    ("fmt", "expected", "suffix"), [("csv", SCORES_CSV, "scores"), ("canvas", CANVAS_CSV, "canvas")]
)
def test_staff_download_the_exports(
    client: Client, scored: ScoredExam, instructor: User, ta: User, fmt: str, expected: str, suffix: str
) -> None:
    for user in (instructor, ta):
        client.force_login(user)
        response = download(client, scored.exam, fmt)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == (
            f'attachment; filename="cse493g1-sp23-exam{scored.exam.pk}-{suffix}.csv"'
        )
        assert "no-cache" in response["Cache-Control"]
        assert response.content.decode("utf-8-sig") == expected
        assert response.content.startswith(b"\xef\xbb\xbf")


def test_a_bad_download_format_is_refused(client: Client, scored: ScoredExam, instructor: User) -> None:
    client.force_login(instructor)
    response = download(client, scored.exam, "xlsx")
    assert response.status_code == 400


def test_students_and_other_courses_cannot_download(
    client: Client, scored: ScoredExam, student: User, other_instructor: User
) -> None:
    for user in (student, other_instructor):
        client.force_login(user)
        assert download(client, scored.exam, "csv").status_code == 404
    client.logout()
    response = download(client, scored.exam, "canvas")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
