"""Factories for tests: named users and a small course."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory

from accounts.models import Course, Membership, Role, User
from exams.models import Choice, Exam, Question, Section

PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("net_id",)

    net_id = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.LazyAttribute(lambda o: o.net_id.title())
    email = factory.LazyAttribute(lambda o: f"{o.net_id}@uw.edu")
    password = factory.django.Password(PASSWORD)


class CourseFactory(factory.django.DjangoModelFactory[Course]):
    class Meta:
        model = Course
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"cse{400 + n}-sp23")
    title = factory.LazyAttribute(lambda o: f"{o.code.upper()} Course")
    term = "Spring 2023"


def member(user: User, course: Course, role: str, quiz_section: str = "") -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user, course=course, defaults={"role": role, "quiz_section": quiz_section}
    )
    return membership


class ExamFactory(factory.django.DjangoModelFactory[Exam]):
    class Meta:
        model = Exam

    course = factory.SubFactory(CourseFactory)
    title = "Midterm Exam"
    duration_minutes = 80


class SectionFactory(factory.django.DjangoModelFactory[Section]):
    class Meta:
        model = Section

    exam = factory.SubFactory(ExamFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = "True / False"


def add_question(
    section: Section, *, kind: str, points: Any = 2, parent: Question | None = None, **fields: Any
) -> Question:
    """A question appended to ``section`` (or ``parent``), validated and numbered."""
    from exams.services import exam_renumber

    siblings = Question.objects.filter(section=section, parent=parent).count()
    question = Question(
        exam=section.exam,
        section=section,
        parent=parent,
        position=siblings + 1,
        kind=kind,
        points=Decimal(str(points)),
        number=f"~new{Question.objects.count()}",
        **fields,
    )
    question.full_clean(exclude=["number"])
    question.save()
    exam_renumber(section.exam)
    question.refresh_from_db()
    return question


def add_choices(question: Question, *texts: str, correct: str = "") -> list[Choice]:
    """Choices labelled A, B, C…; ``correct`` lists the correct labels, e.g. "AC"."""
    return [
        Choice.objects.create(
            question=question, position=i, label=chr(65 + i), text=t, is_correct=chr(65 + i) in correct
        )
        for i, t in enumerate(texts)
    ]


__all__ = ["PASSWORD", "Role"]
