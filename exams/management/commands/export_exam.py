"""``manage.py export_exam EXAM_ID``: print an exam as an exam file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from exams.examfile import exam_export
from exams.models import Exam


class Command(BaseCommand):
    help = (
        "Print an exam, answer keys included, in the exam-file format (docs/exam-format.md). With "
        "--figures-dir the figures are written there; save the text in the folder that contains it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("exam_id", type=int, metavar="EXAM_ID")
        parser.add_argument("--figures-dir", type=Path, metavar="DIR", help="write the figure files into DIR")

    def handle(self, *args: Any, **options: Any) -> None:
        exam = Exam.objects.select_related("course").filter(pk=options["exam_id"]).first()
        if exam is None:
            raise CommandError(f"No exam has the id {options['exam_id']}.")
        figures_dir = Path(options["figures_dir"]) if options["figures_dir"] else None
        self.stdout.write(exam_export(exam, figures_dir=figures_dir), ending="")
