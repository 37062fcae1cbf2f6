"""``manage.py import_roster COURSE_CODE FILE.csv``: apply a Canvas roster export to a course."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Course
from accounts.roster import RosterFileError, roster_decode, roster_import


class Command(BaseCommand):
    help = (
        "Import a Canvas roster (CSV) into a course and print the report. Refused lines are listed "
        "with their reasons; the exit status is non-zero only when the file or the course cannot be used."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("course_code", help="the course's code, e.g. cse493g1-sp23")
        parser.add_argument("file", type=Path, help="the roster CSV exported from Canvas")

    def handle(self, *args: Any, **options: Any) -> None:
        code: str = options["course_code"]
        path: Path = options["file"]
        course = Course.objects.filter(code=code).first()
        if course is None:
            raise CommandError(f"No course with code “{code}”.")
        try:
            text = roster_decode(path.read_bytes())
            report = roster_import(course=course, csv_text=text)
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from None
        except RosterFileError as error:
            raise CommandError(f"{path} is not a usable roster: {error}") from None

        self.stdout.write(f"Roster of {course.code} from {path}:")
        summary, *details = report.lines()
        self.stdout.write(self.style.SUCCESS(summary))
        for line in details:
            self.stdout.write(self.style.ERROR(line) if line.startswith("refused") else line)
