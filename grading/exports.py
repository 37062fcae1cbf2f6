"""Grades out of Examhall: a per-question score sheet and the Canvas gradebook import.

``grade_sheet`` reads what the scoring jobs wrote (one ``SittingResult`` per scored sitting,
one ``AnswerScore`` per question) in three queries; ``grades_csv`` and ``grades_canvas_csv``
turn it into CSV text. The results page's downloads and ``manage.py export_grades`` both call
``grades_export``. The formats, and how scores still waiting for a grader are written, are
described for instructors in docs/grades-export.md.

Every text cell (names, NetIDs, sections, headers) is neutralised against spreadsheet
formula injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading apostrophe, so Excel, LibreOffice and Google Sheets show it as text instead of
running it. Number cells are written by this module and never need it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Membership
from exams.models import Exam
from grading.jobs import SCORED_STATUSES
from grading.models import AnswerScore, SittingResult
from grading.scoring.specs import exam_specs

FORMAT_CSV = "csv"
FORMAT_CANVAS = "canvas"
EXPORT_FORMATS = (FORMAT_CSV, FORMAT_CANVAS)
# Excel reads a CSV as UTF-8 only when it starts with a byte-order mark; Canvas and Python's
# "utf-8-sig" skip it. Files (downloads, --output) get one; text printed to a terminal does not.
BOM = "\ufeff"

# Canvas's gradebook importer (app/models/gradebook_importer.rb) wants these five columns first,
# in this order, then one column per assignment; a row whose first cell says "Points Possible"
# gives each assignment's maximum.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "Points Possible"
# Canvas reads a header "Title (123)" as the assignment with id 123.
CANVAS_ASSIGNMENT_ID_RE = re.compile(r"\(\d+\)\s*$")

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class GradeRow:
    """One scored sitting: who sat it, its totals, and the points of each question (by id).

    ``points`` lacks a question whose score waits for a grader (``pending`` lists them) or
    that was added to the exam after the sitting was scored.
    """

    net_id: str
    full_name: str
    uw_regid: str
    quiz_section: str
    status: str
    total: Decimal
    max_points: Decimal
    pending_manual: int
    points: dict[int, Decimal]
    pending: frozenset[int]


@dataclass(frozen=True, slots=True)
class GradeSheet:
    """The exam's answerable questions in paper order, as (id, number), and one row per scored sitting."""

    exam_title: str
    max_points: Decimal
    questions: tuple[tuple[int, str], ...]
    rows: tuple[GradeRow, ...]

    @property
    def pending_rows(self) -> int:
        return sum(1 for row in self.rows if row.pending_manual)


def grade_sheet(exam: Exam) -> GradeSheet:
    """Every scored (submitted or expired) sitting of the exam with a result, by name then NetID."""
    specs = [spec for section in exam_specs(exam.pk) for spec in section.questions]
    results = list(
        SittingResult.objects.filter(exam=exam, sitting__status__in=SCORED_STATUSES)
        .select_related("sitting__student")
        .order_by("sitting__student__full_name", "sitting__student__net_id", "pk")
    )
    sitting_ids = [result.sitting_id for result in results]
    points: dict[int, dict[int, Decimal]] = {sitting_id: {} for sitting_id in sitting_ids}
    pending: dict[int, set[int]] = {sitting_id: set() for sitting_id in sitting_ids}
    for sitting_id, question_id, value, needs_manual in AnswerScore.objects.filter(
        sitting_id__in=sitting_ids
    ).values_list("sitting_id", "question_id", "points", "needs_manual"):
        if needs_manual:
            pending[sitting_id].add(question_id)
        else:
            points[sitting_id][question_id] = value
    sections = dict(
        Membership.objects.filter(
            course_id=exam.course_id, user_id__in=[r.sitting.student_id for r in results]
        ).values_list("user_id", "quiz_section")
    )
    rows = tuple(
        GradeRow(
            net_id=result.sitting.student.net_id,
            full_name=result.sitting.student.full_name,
            uw_regid=result.sitting.student.uw_regid or "",
            quiz_section=sections.get(result.sitting.student_id, ""),
            status=result.sitting.status,
            total=result.points,
            max_points=result.max_points,
            pending_manual=result.pending_manual,
            points=points[result.sitting_id],
            pending=frozenset(pending[result.sitting_id]),
        )
        for result in results
    )
    regular_max = sum((spec.points for spec in specs if not spec.extra_credit), Decimal(0))
    return GradeSheet(
        exam_title=exam.title,
        max_points=regular_max,
        questions=tuple((spec.question_id or 0, spec.number) for spec in specs),
        rows=rows,
    )


def cell_text(value: str) -> str:
    """A text cell a spreadsheet shows as text: formula-looking values get a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def cell_points(value: Decimal) -> str:
    """Points as a plain number with at most two decimals and no exponent: 8, 7.5, -1, 0.33."""
    text = f"{value.quantize(HUNDREDTH).normalize():f}"
    return "0" if text == "-0" else text


def grades_csv(sheet: GradeSheet) -> str:
    """One row per scored sitting: who, status, total and maximum, the points per question, pending count.

    A question still waiting for a grader has an empty cell; the total counts it as 0 until
    it is graded, and the last column says how many such questions the sitting has.
    """
    header = ["NetID", "Name", "Quiz section", "Status", "Total", "Max"]
    header += [number for _, number in sheet.questions]
    header.append("Pending manual")
    lines = [[cell_text(cell) for cell in header]]
    for row in sheet.rows:
        line = [
            cell_text(row.net_id),
            cell_text(row.full_name),
            cell_text(row.quiz_section),
            cell_text(row.status),
            cell_points(row.total),
            cell_points(row.max_points),
        ]
        for question_id, _ in sheet.questions:
            value = row.points.get(question_id)
            line.append("" if value is None else cell_points(value))
        line.append(str(row.pending_manual))
        lines.append(line)
    return _csv(lines)


def grades_canvas_csv(sheet: GradeSheet, *, assignment: str | None = None) -> str:
    """The file Canvas's gradebook import takes: Student, ID, SIS User ID, SIS Login ID, Section,
    then one column for the exam (``assignment``, default the exam's title) holding each total.

    The "Points Possible" row gives the exam's maximum (extra credit excluded, so a total
    with extra credit may exceed it, which Canvas accepts). Canvas's own user id is not known
    to Examhall, so ID stays empty and Canvas matches students by SIS User ID (the UW RegID),
    then SIS Login ID (the NetID), then name. A sitting with scores waiting for a grader gets
    an empty cell, which Canvas reads as "no grade": import again once grading is done.
    """
    title = assignment if assignment is not None else sheet.exam_title
    lines = [[*CANVAS_COLUMNS, cell_text(title)]]
    lines.append([CANVAS_POINTS_POSSIBLE, "", "", "", "", cell_points(sheet.max_points)])
    for row in sheet.rows:
        lines.append(
            [
                cell_text(row.full_name),
                "",
                cell_text(row.uw_regid),
                cell_text(row.net_id),
                cell_text(row.quiz_section),
                "" if row.pending_manual else cell_points(row.total),
            ]
        )
    return _csv(lines)


def grades_export(exam: Exam, *, fmt: str, assignment: str | None = None) -> str:
    """The exam's grades as CSV text in ``fmt`` (one of EXPORT_FORMATS); ValueError for another."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: choose {' or '.join(EXPORT_FORMATS)}.")
    sheet = grade_sheet(exam)
    if fmt == FORMAT_CANVAS:
        return grades_canvas_csv(sheet, assignment=assignment)
    return grades_csv(sheet)


def export_filename(exam: Exam, *, fmt: str) -> str:
    """``cse493g1-sp23-exam7-scores.csv`` or ``…-canvas.csv``: ASCII, no spaces, no quotes."""
    course = re.sub(r"[^A-Za-z0-9_-]+", "-", exam.course.code).strip("-") or "course"
    return f"{course}-exam{exam.pk}-{'canvas' if fmt == FORMAT_CANVAS else 'scores'}.csv"


def _csv(lines: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(lines)
    return out.getvalue()
