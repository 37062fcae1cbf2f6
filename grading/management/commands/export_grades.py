"""``manage.py export_grades EXAM_ID --format csv|canvas [--output FILE] [--assignment TITLE]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exams.models import Exam
from grading.exports import (
    BOM,
    CANVAS_ASSIGNMENT_ID_RE,
    EXPORT_FORMATS,
    FORMAT_CANVAS,
    grade_sheet,
    grades_canvas_csv,
    grades_csv,
)


class Command(BaseCommand):
    help = (
        "Write an exam's grades as CSV. --format csv: one row per scored sitting with NetID, name, quiz "
        "section, status, total, maximum, the points of every question (in paper order, headed by its "
        "number) and the count of answers waiting for manual grading; such an answer's cell is empty and "
        "the total counts it as 0 until it is graded. --format canvas: the file Canvas's gradebook import "
        "takes (Student, ID, SIS User ID, SIS Login ID, Section, then the exam's total, after a "
        "'Points Possible' row); a student with answers waiting for manual grading gets an empty cell "
        "(no grade in Canvas), so import again once grading is done. Only submitted or expired sittings "
        "that were scored are included. See docs/grades-export.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("exam_id", type=int, metavar="EXAM_ID")
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="csv", help="csv (default) or canvas")
        parser.add_argument(
            "--output", type=Path, metavar="FILE", help="write to FILE (UTF-8 with a byte-order mark, for Excel)"
        )
        parser.add_argument(
            "--assignment",
            metavar="TITLE",
            help="canvas: the assignment column's header (default: the exam's title); "
            "'Midterm (1234)' names the Canvas assignment with id 1234",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        exam = Exam.objects.select_related("course").filter(pk=options["exam_id"]).first()
        if exam is None:
            raise CommandError(f"No exam has the id {options['exam_id']}.")
        fmt = options["format"]
        if options["assignment"] is not None and fmt != FORMAT_CANVAS:
            raise CommandError("--assignment applies to --format canvas only.")
        sheet = grade_sheet(exam)
        if fmt == FORMAT_CANVAS:
            text = grades_canvas_csv(sheet, assignment=options["assignment"])
            title = options["assignment"] or exam.title
            if options["assignment"] is None and CANVAS_ASSIGNMENT_ID_RE.search(title):
                self.stderr.write(
                    f"Note: Canvas reads the header “{title}” as an assignment id in parentheses; "
                    "pass --assignment to name the column yourself."
                )
        else:
            text = grades_csv(sheet)

        if not sheet.rows:
            self.stderr.write(f"No scored sitting of {exam}: the file has a header only. Run score_exam first?")
        elif sheet.pending_rows:
            consequence = "their cells are empty" if fmt == FORMAT_CANVAS else "their totals are provisional"
            self.stderr.write(
                f"Sittings with answers waiting for manual grading: {sheet.pending_rows} of {len(sheet.rows)}; "
                f"{consequence}."
            )

        output: Path | None = options["output"]
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            output.write_text(BOM + text, encoding="utf-8", newline="")
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}") from None
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(sheet.rows)} rows to {output}."))
