"""``manage.py score_exam EXAM_ID [--wait] [--inline]``: score every closed sitting of an exam."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from exams.models import Exam
from grading.jobs import job_request, job_run_inline
from grading.models import GradingJob
from grading.tasks import job_launch


class Command(BaseCommand):
    help = (
        "Score every submitted or expired sitting of an exam and compute its statistics, through the "
        "Celery workers (or in this process with --inline). Scores a grader set are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("exam_id", type=int, metavar="EXAM_ID")
        parser.add_argument("--wait", action="store_true", help="wait for the workers and print progress")
        parser.add_argument("--timeout", type=float, default=3600, help="seconds --wait waits (default 3600)")
        parser.add_argument("--inline", action="store_true", help="score in this process instead of the workers")

    def handle(self, *args: Any, **options: Any) -> None:
        exam = Exam.objects.select_related("course").filter(pk=options["exam_id"]).first()
        if exam is None:
            raise CommandError(f"No exam has the id {options['exam_id']}.")
        job, created = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
        if not created:
            self.stdout.write(f"Job {job.pk} for {exam} is already {job.status}; following it.")
        if options["inline"]:
            job = job_run_inline(job.pk, now=timezone.now())
            self._report(job)
            return
        if created:
            job_launch(job)
            self.stdout.write(f"Job {job.pk} queued for {exam}.")
        if options["wait"]:
            self._report(self._wait(job.pk, options["timeout"]))

    def _wait(self, job_id: int, timeout: float) -> GradingJob:
        give_up = time.monotonic() + timeout
        shown = -1
        while True:
            job = GradingJob.objects.get(pk=job_id)
            if job.progress_percent != shown:
                shown = job.progress_percent
                self.stdout.write(f"  {shown:3d}%  {job.sittings_done}/{job.sittings_total} sittings")
            if not job.active:
                return job
            if time.monotonic() > give_up:
                raise CommandError(f"Job {job_id} is still {job.status} after {timeout:g} s; is a worker running?")
            time.sleep(0.5)

    def _report(self, job: GradingJob) -> None:
        if job.status == GradingJob.Status.FAILED:
            raise CommandError(f"Job {job.pk} failed: {job.error}")
        seconds = (job.finished_at - job.started_at).total_seconds() if job.finished_at and job.started_at else 0
        self.stdout.write(
            self.style.SUCCESS(
                f"Job {job.pk} {job.status}: {job.sittings_done} sittings, {job.answers_scored} answers scored"
                + (f" in {seconds:.1f} s" if seconds else "")
                + "."
            )
        )
