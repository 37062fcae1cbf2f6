"""``manage.py import_exam FILE --course CODE``: create an exam from an exam file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Course, User
from accounts.netid import normalize_net_id
from exams.examfile import ExamFileError, exam_import
from exams.examfile.errors import format_error
from exams.examfile.syntax import format_points
from exams.kinds import KIND_GROUP, KINDS
from exams.models import Exam, Figure, Question
from exams.selectors import exam_totals


class Command(BaseCommand):
    help = (
        "Create an unpublished exam in a course from an exam file (Markdown, see docs/exam-format.md). "
        "Figures are read relative to the file's folder. On any error, every problem is printed with its "
        "line number and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, metavar="FILE", help="the exam file, e.g. midterm.md")
        parser.add_argument("--course", required=True, metavar="CODE", help="the course's code, e.g. cse493g1-sp23")
        parser.add_argument("--by", metavar="NETID", help="the instructor recorded as the exam's author")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        course = Course.objects.filter(code=options["course"]).first()
        if course is None:
            raise CommandError(f"No course has the code {options['course']!r}.")
        author = None
        if options["by"]:
            author = User.objects.filter(net_id=normalize_net_id(options["by"])).first()
            if author is None:
                raise CommandError(f"No user has the NetID {options['by']!r}.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from None
        try:
            exam = exam_import(text=text, course=course, base_dir=path.resolve().parent, by=author)
        except ExamFileError as error:
            for line, message in error.errors:
                self.stderr.write(f"{path}: {format_error(line, message)}")
            count = len(error.errors)
            raise CommandError(f"{count} problem{'s' if count != 1 else ''} in {path}; nothing was imported.") from None
        self.stdout.write(self._summary(exam))

    def _summary(self, exam: Exam) -> str:
        totals = exam_totals(exam)
        questions = list(Question.objects.filter(exam=exam))
        kinds = Counter(q.kind for q in questions if q.kind != KIND_GROUP)
        lines = [f"Imported {exam.title!r} as exam {exam.pk} in {exam.course.code} (unpublished)."]
        lines.append(f"Sections: {len(totals.sections)}")
        for row in totals.sections:
            count = sum(1 for q in questions if q.section_id == row.section.pk and q.kind != KIND_GROUP)
            points = _points(row.points, row.extra_points)
            lines.append(f"  {row.section.number} {row.section.title}: {count} questions, {points}")
        by_kind = ", ".join(f"{kind} {kinds[kind]}" for kind in KINDS if kinds[kind])
        groups = sum(1 for q in questions if q.kind == KIND_GROUP)
        lines.append(f"Questions: {sum(kinds.values())} ({by_kind}), in {groups} groups")
        lines.append(f"Figures: {Figure.objects.filter(exam=exam).count()}")
        lines.append(f"Total: {_points(totals.points, totals.extra_points)}")
        return "\n".join(lines)


def _points(points: Any, extra: Any) -> str:
    text = f"{format_points(points)} points"
    return f"{text} + {format_points(extra)} extra credit" if extra else text
