"""``manage.py load_demo``: the demo course, its people and the seed midterm, open now.

Safe to run on every ``make run``: what exists already is left as it is (passwords
included), and the roster goes through the real import, which changes nothing the
second time.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Course, User
from accounts.roster import roster_import
from exams.examfile import SEED_EXAM_PATH, ExamFileError, exam_import

DEMO_PASSWORD = "examhall"  # noqa: S105 - the documented demo password, printed by `make run`
COURSE_CODE = "cse493g1-sp23"
COURSE_TITLE = "CSE 493 G1 / 599 G1 Deep Learning"
COURSE_TERM = "Spring 2023"
INSTRUCTOR_NET_ID = "mrivera"
ADMIN_NET_ID = "admin"
ROSTER_PATH = Path(__file__).resolve().parents[2] / "demo" / "roster.csv"
EXAM_OPEN_FOR = timedelta(days=7)


class Command(BaseCommand):
    help = (
        "Create the demo course cse493g1-sp23 with its instructor, TAs and 30 students (through the roster "
        "import), a superuser 'admin', and the seed midterm open for a week. Every demo password is 'examhall'. "
        "Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        with transaction.atomic():
            course, created = Course.objects.get_or_create(
                code=COURSE_CODE, defaults={"title": COURSE_TITLE, "term": COURSE_TERM}
            )
            self.stdout.write(f"Course {course.code}: {'created' if created else 'already present'}.")

            report = roster_import(course=course, csv_text=ROSTER_PATH.read_text(encoding="utf-8"))
            if report.refused:
                raise CommandError("The shipped demo roster has refused lines:\n" + "\n".join(report.lines()))
            self.stdout.write(f"Roster from {ROSTER_PATH.name}: {report.summary()}.")

            if User.objects.filter(net_id=ADMIN_NET_ID).exists():
                self.stdout.write(f"Superuser {ADMIN_NET_ID}: already present.")
            else:
                User.objects.create_superuser(ADMIN_NET_ID, password=DEMO_PASSWORD, full_name="Site Administrator")
                self.stdout.write(f"Superuser {ADMIN_NET_ID}: created.")

            # The import creates people without a password (they would use SSO); one hash serves
            # them all, which keeps this fast and leaves any password changed since untouched.
            n_passwords = User.objects.filter(
                pk__in=course.memberships.values("user_id"), password__startswith=UNUSABLE_PASSWORD_PREFIX
            ).update(password=make_password(DEMO_PASSWORD))
            if n_passwords:
                self.stdout.write(f"Demo password set for {n_passwords} people.")

            exam = course.exams.order_by("pk").first()
            if exam is not None:
                self.stdout.write(f"Exam “{exam.title}”: already present, left as it is.")
            else:
                instructor = User.objects.get(net_id=INSTRUCTOR_NET_ID)
                try:
                    exam = exam_import(
                        text=SEED_EXAM_PATH.read_text(encoding="utf-8"),
                        course=course,
                        base_dir=SEED_EXAM_PATH.parent,
                        by=instructor,
                    )
                except ExamFileError as error:
                    raise CommandError(f"The seed exam {SEED_EXAM_PATH} does not import:\n{error}") from None
                exam.published = True
                exam.opens_at = now
                exam.closes_at = now + EXAM_OPEN_FOR
                exam.save(update_fields=["published", "opens_at", "closes_at", "updated_at"])
                closes = timezone.localtime(exam.closes_at).strftime("%a %b %d %H:%M %Z")
                self.stdout.write(
                    f"Exam “{exam.title}”: imported from {SEED_EXAM_PATH.name}, published, open until {closes}."
                )
