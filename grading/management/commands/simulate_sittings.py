"""``manage.py simulate_sittings EXAM_ID --students N [--seed S]``: simulated students with submitted sittings."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from exams.models import Exam, Question
from grading.simulate import SimulationRefused, sittings_simulate


class Command(BaseCommand):
    help = (
        "Create N simulated students in the exam's course, each with a submitted sitting whose answers follow a "
        "two-parameter item response model (for the demo and the scoring benchmarks). The same seed gives the "
        "same answers. Their NetIDs are zz + the exam id in base 36 + a 3-digit index; a run whose NetIDs are "
        "taken is refused, and nothing is ever deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("exam_id", type=int, metavar="EXAM_ID")
        parser.add_argument("--students", type=int, required=True, metavar="N", help="how many students")
        parser.add_argument("--seed", type=int, default=0, metavar="S", help="the random seed (default 0)")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        began = time.monotonic()
        try:
            result = sittings_simulate(
                exam_id=options["exam_id"], students=options["students"], seed=options["seed"], now=now
            )
        except SimulationRefused as error:
            raise CommandError(str(error)) from None
        seconds = time.monotonic() - began
        exam = Exam.objects.select_related("course").get(pk=result.exam_id)
        first, last = result.net_ids
        self.stdout.write(
            self.style.SUCCESS(
                f"Simulated {result.sittings} submitted sittings of {exam} (exam {exam.pk}, seed {result.seed}) "
                f"in {seconds:.1f} s."
            )
        )
        self.stdout.write(f"  {result.students} students {first}–{last}, active in {exam.course.code}")
        self.stdout.write(
            f"  {result.answers} answers (and as many revisions), {result.blanks} left blank, "
            f"{result.right} drawn as right"
        )
        if options["verbosity"] >= 2:
            numbers = dict(Question.objects.filter(pk__in=result.items).values_list("pk", "number"))
            kinds = dict(Question.objects.filter(pk__in=result.items).values_list("pk", "kind"))
            for question_id, item in result.items.items():
                self.stdout.write(
                    f"  {numbers[question_id]:>10} {kinds[question_id]:<15} "
                    f"b = {item.difficulty:.2f}  a = {item.discrimination:.2f}"
                )
