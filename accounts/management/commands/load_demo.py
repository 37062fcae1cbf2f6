"""``manage.py load_demo``: the demo course, its people and the seed midterm, open now.

Safe to run on every ``make run``: what exists already is left as it is (passwords
included), and the roster goes through the real import, which changes nothing the
second time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Course, Membership, Role, User
from accounts.roster import roster_import
from exams.examfile import SEED_EXAM_PATH, ExamFileError, exam_import
from exams.models import Exam
from grading.jobs import job_request, job_run_inline
from grading.models import GradingJob
from grading.simulate import sittings_simulate

DEMO_PASSWORD = "examhall"  # noqa: S105 - the documented demo password, printed by `make run`
COURSE_CODE = "cse493g1-sp23"
COURSE_TITLE = "CSE 493 G1 / 599 G1 Deep Learning"
COURSE_TERM = "Spring 2023"
INSTRUCTOR_NET_ID = "mrivera"
ADMIN_NET_ID = "admin"
ROSTER_PATH = Path(__file__).resolve().parents[2] / "demo" / "roster.csv"
EXAM_OPEN_FOR = timedelta(days=7)
# Last year's offering: the same midterm, sat by simulated students and scored, so that the
# results page, the statistics and the exports have something to show from the first run.
PAST_COURSE_CODE = "cse493g1-sp22"
PAST_COURSE_TERM = "Spring 2022"
PAST_STUDENTS = 300
PAST_SEED = 2022
STAFF_NET_IDS = {"mrivera": Role.INSTRUCTOR, "jchen": Role.TA, "spatel": Role.TA}


class Command(BaseCommand):
    help = (
        "Create the demo course cse493g1-sp23 with its instructor, TAs and 30 students (through the roster "
        "import), a superuser 'admin', and the seed midterm open for a week; and last year's offering "
        f"{PAST_COURSE_CODE}, where {PAST_STUDENTS} simulated students sat the same midterm, scored. Every demo "
        "password is 'examhall'. Idempotent."
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
        self._past_offering(now)

    def _past_offering(self, now: datetime) -> None:
        """Last year's course, its staff, and the midterm sat by simulated students, then scored."""
        course, _ = Course.objects.get_or_create(
            code=PAST_COURSE_CODE, defaults={"title": COURSE_TITLE, "term": PAST_COURSE_TERM}
        )
        for net_id, role in STAFF_NET_IDS.items():
            user = User.objects.filter(net_id=net_id).first()
            if user is not None:
                Membership.objects.get_or_create(user=user, course=course, defaults={"role": role})
        if course.exams.exists():
            self.stdout.write(f"Past offering {course.code}: already present, left as it is.")
            return
        with transaction.atomic():
            exam = exam_import(
                text=SEED_EXAM_PATH.read_text(encoding="utf-8"),
                course=course,
                base_dir=SEED_EXAM_PATH.parent,
                by=User.objects.filter(net_id=INSTRUCTOR_NET_ID).first(),
            )
            Exam.objects.filter(pk=exam.pk).update(
                published=True, opens_at=now - timedelta(days=365), closes_at=now - timedelta(days=365, hours=-2)
            )
            simulated = sittings_simulate(exam_id=exam.pk, students=PAST_STUDENTS, seed=PAST_SEED, now=now)
        job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
        job = job_run_inline(job.pk, now=timezone.now())
        self.stdout.write(
            f"Past offering {course.code}: {simulated.students} simulated sittings of “{exam.title}”, "
            f"{job.answers_scored} answers scored (results at /grading/exams/{exam.pk}/results/)."
        )
