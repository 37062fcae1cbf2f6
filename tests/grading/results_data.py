"""A small scored exam for the results page and export tests.

Section 1: 1.1 true/false, 2 points, key true (+2 right, −1 wrong, 0 blank).
Section 2: 2.1 single choice of A, B, C (3 points, B), 2.2 a short answer graded by hand
(4 points), 2.3 an extra-credit 1 × 2 grid (3 points, "+ 0"). The maximum is 9.

Three sittings, scored by a real inline job:

| student | section | answers | total | pending |
|---|---|---|---|---|
| Alice Nguyen (alice, RegID ABC123) | AA | T, B, text, + 0 | 2 + 3 + 0 + 3 = 8 | 1 (2.2) |
| Bob Okafor (bob), expired | AB | F, A, blank, blank | −1 | 0 |
| =HYPERLINK("http://x") (mallory) | @SUM(A1) | blank, C, blank, blank | 0 | 0 |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Course, Role, User
from exams.models import Answer, Exam, Question, Sitting, SittingStatus
from grading.jobs import job_request, job_run_inline
from grading.models import GradingJob
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_choices, add_question, member

EVIL_NAME = '=HYPERLINK("http://x")'
EVIL_SECTION = "@SUM(A1)"


@dataclass(frozen=True)
class ScoredExam:
    exam: Exam
    job: GradingJob
    alice: Sitting
    bob: Sitting
    mallory: Sitting


def small_exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, title="Midterm Exam", published=True)
    tf = SectionFactory.create(exam=exam, number=1, title="True / False")
    rest = SectionFactory.create(exam=exam, number=2, title="The rest")
    add_question(tf, kind="true_false", points=2, key={"value": True}, prompt="Training loss is high.")
    which = add_question(rest, kind="single_choice", points=3, prompt="Which class?")
    add_choices(which, "Zom", "Flom", "Nom", correct="B")
    add_question(rest, kind="short_answer", points=4, prompt="Explain.", key={"model_answer": "Because."})
    add_question(
        rest,
        kind="grid",
        points=3,
        extra_credit=True,
        config={"rows": 1, "cols": 2, "symbols": ["+", "-", "0"]},
        key={"cells": [["+", "0"]]},
    )
    return exam


def sit(
    exam: Exam,
    student: User,
    answers: dict[str, Any],
    *,
    status: str = SittingStatus.SUBMITTED,
) -> Sitting:
    now = timezone.now()
    sitting = Sitting.objects.create(
        exam=exam, student=student, status=status, started_at=now - timedelta(minutes=80), deadline=now
    )
    for number, value in answers.items():
        question = Question.objects.get(exam=exam, number=number)
        Answer.objects.create(sitting=sitting, question=question, value=value, seq=1, saved_at=now)
    return sitting


def run_job(exam: Exam) -> GradingJob:
    job, created = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
    assert created
    return job_run_inline(job.pk, now=timezone.now())


def scored_exam(course: Course, student: User, other_student: User) -> ScoredExam:
    """The exam above, sat by ``student`` (Alice), ``other_student`` (Bob) and Mallory, and scored."""
    exam = small_exam(course)
    User.objects.filter(pk=student.pk).update(uw_regid="ABC123")
    mallory = UserFactory.create(net_id="mallory", full_name=EVIL_NAME)
    member(mallory, course, Role.STUDENT, quiz_section=EVIL_SECTION)
    alice = sit(exam, student, {"1.1": True, "2.1": "B", "2.2": "Because the loss is high.", "2.3": [["+", "0"]]})
    bob = sit(exam, other_student, {"1.1": False, "2.1": "A"}, status=SittingStatus.EXPIRED)
    evil = sit(exam, mallory, {"2.1": "C"})
    return ScoredExam(exam=exam, job=run_job(exam), alice=alice, bob=bob, mallory=evil)
