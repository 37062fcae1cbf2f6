"""Numbering, totals with extra credit, tree rules and duplication of an exam."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from accounts.models import Course, User
from exams.models import Choice, Exam, Figure, Question, Section
from exams.selectors import exam_paper, exam_totals
from exams.services import exam_duplicate, exam_renumber
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question
from tests.images import png_bytes


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course)
    tf = SectionFactory.create(exam=exam, number=1, title="True / False")
    sa = SectionFactory.create(exam=exam, number=3, title="Short Answers")
    add_question(tf, kind="true_false", points=2, key={"value": True}, prompt="High train loss?")
    add_question(tf, kind="true_false", points=2, key={"value": False})
    net = add_question(sa, kind="group", points=0, title="Two layer network")
    run = add_question(sa, kind="group", points=0, parent=net, title="Running prediction")
    add_question(sa, kind="short_answer", points=3, parent=run)
    add_question(sa, kind="short_answer", points=3, parent=run)
    grads = add_question(sa, kind="group", points=0, parent=net, title="Getting Gradients", extra_credit=True)
    add_question(
        sa,
        kind="grid",
        points=3,
        parent=grads,
        config={"rows": 1, "cols": 2, "symbols": ["+", "-", "0"]},
        key={"cells": [["+", "0"]]},
    )
    return exam


def numbers(exam: Exam) -> list[str]:
    return sorted(Question.objects.filter(exam=exam).values_list("number", flat=True))


def test_numbers_follow_the_tree(exam: Exam) -> None:
    assert numbers(exam) == ["1.1", "1.2", "3.1", "3.1.1", "3.1.1.1", "3.1.1.2", "3.1.2", "3.1.2.1"]


def test_renumber_after_reordering(exam: Exam) -> None:
    first, second = Question.objects.filter(exam=exam, section__number=1).order_by("position")
    first.position, second.position = 2, 1
    first.save()
    second.save()
    exam_renumber(exam)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.number, second.number) == ("1.2", "1.1")


def test_totals_exclude_extra_credit_inherited_from_a_group(exam: Exam) -> None:
    totals = exam_totals(exam)
    assert totals.points == Decimal(10)
    assert totals.extra_points == Decimal(3)
    assert [(row.section.number, row.points, row.extra_points) for row in totals.sections] == [
        (1, Decimal(4), Decimal(0)),
        (3, Decimal(6), Decimal(3)),
    ]


def test_paper_marks_inherited_extra_credit_and_sums_groups(exam: Exam) -> None:
    paper = exam_paper(exam)
    assert (paper.points, paper.extra_points) == (Decimal(10), Decimal(3))
    net = paper.sections[1].questions[0]
    assert net.points == Decimal(9)
    grid = net.children[1].children[0]
    assert grid.extra_credit and grid.number == "3.1.2.1"


def test_parent_must_be_a_group_in_the_same_section(exam: Exam) -> None:
    tf_section = Section.objects.get(exam=exam, number=1)
    leaf = Question.objects.get(exam=exam, number="1.1")
    with pytest.raises(ValidationError, match="Only a group can have sub-questions"):
        add_question(tf_section, kind="true_false", points=2, key={"value": True}, parent=leaf)
    group = Question.objects.get(exam=exam, number="3.1")
    with pytest.raises(ValidationError, match="in its parent's section"):
        add_question(tf_section, kind="true_false", points=2, key={"value": True}, parent=group)


def test_a_question_cannot_be_its_own_ancestor(exam: Exam) -> None:
    outer = Question.objects.get(exam=exam, number="3.1")
    inner = Question.objects.get(exam=exam, number="3.1.1")
    outer.parent = inner
    with pytest.raises(ValidationError, match="inside itself"):
        outer.full_clean(exclude=["number"])


def test_duplicate_copies_everything_unpublished(exam: Exam, instructor: User) -> None:
    exam.published = True
    exam.save()
    section = Section.objects.get(exam=exam, number=1)
    question = add_question(section, kind="multiple_select", points=4)
    add_choices(question, "yes", "no", "maybe", correct="AC")
    figure = Figure(exam=exam, question=question, alt_text="A plot", caption="Figure 1")
    figure.image.save("plot.png", ContentFile(png_bytes()), save=True)

    copy = exam_duplicate(exam=exam, by=instructor)

    assert copy.pk != exam.pk and not copy.published and copy.title == "Midterm Exam (copy)"
    assert numbers(copy) == numbers(exam)
    assert exam_totals(copy).points == exam_totals(exam).points
    copied = Question.objects.get(exam=copy, number=question.number)
    assert list(Choice.objects.filter(question=copied).values_list("label", "is_correct")) == [
        ("A", True),
        ("B", False),
        ("C", True),
    ]
    copied_figure = Figure.objects.get(exam=copy)
    assert copied_figure.question == copied
    assert copied_figure.image.name != figure.image.name
    with copied_figure.image.open("rb") as fh:
        assert fh.read() == png_bytes()
    grid = Question.objects.get(exam=copy, kind="grid")
    assert grid.key == {"cells": [["+", "0"]]}
    assert grid.parent is not None and grid.parent.exam_id == copy.pk
