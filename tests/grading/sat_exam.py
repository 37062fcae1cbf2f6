"""A small exam that students have sat and that has been scored, for the key-change tests.

Section 1: 1.1 (true_false, key True) and 1.2 (true_false, key False), 2 points each under
negative marking. Section 2: 2.1 (multiple_select, A and C correct, 4 points) and 2.2
(numeric, 0.5 ± 0.01).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Course, Role
from exams.models import Answer, Exam, Question, Sitting, SittingStatus
from grading.jobs import job_request, job_run_inline
from grading.models import AnswerScore, GradingJob
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_choices, add_question, member


def small_exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, title="Midterm Exam", published=True)
    tf = SectionFactory.create(exam=exam, number=1, title="True / False")
    mc = SectionFactory.create(exam=exam, number=2, title="Choices and numbers")
    add_question(tf, kind="true_false", points=2, key={"value": True}, prompt="Training loss is high.")
    add_question(tf, kind="true_false", points=2, key={"value": False})
    activations = add_question(mc, kind="multiple_select", points=4, prompt="Which are activations?")
    add_choices(activations, "ReLU", "Softmax loss", "Tanh", correct="AC")
    add_question(mc, kind="numeric", points=2, key={"value": 0.5, "tolerance": 0.01, "mode": "absolute"})
    return exam


def q(exam: Exam, number: str) -> Question:
    return Question.objects.get(exam=exam, number=number)


def sit(exam: Exam, net_id: str, answers: dict[str, Any], *, status: str = SittingStatus.SUBMITTED) -> Sitting:
    """A student's sitting of the exam with these answers (by question number)."""
    student = UserFactory.create(net_id=net_id, full_name=net_id.title())
    member(student, exam.course, Role.STUDENT)
    now = timezone.now()
    sitting = Sitting.objects.create(
        exam=exam, student=student, status=status, started_at=now - timedelta(minutes=80), deadline=now
    )
    for number, value in answers.items():
        Answer.objects.create(sitting=sitting, question=q(exam, number), value=value, seq=1, saved_at=now)
    return sitting


def score(exam: Exam) -> GradingJob:
    job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
    return job_run_inline(job.pk, now=timezone.now())


def points(sitting: Sitting, exam: Exam, number: str) -> AnswerScore:
    return AnswerScore.objects.get(sitting=sitting, question=q(exam, number))


def scores_of(exam: Exam) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(net_id, question number) → (points, scored_at), for "nothing else changed" checks."""
    return {
        (row.sitting.student.net_id, row.question.number): (row.points, row.scored_at)
        for row in AnswerScore.objects.filter(question__exam=exam).select_related("sitting__student", "question")
    }
