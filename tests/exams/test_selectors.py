"""The content version that keys every cache of a student's pages, and the per-process memo
of what those pages share: any edit gives a new version, so nothing is ever served stale."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Course
from exams import selectors
from exams.models import Choice, Exam, Figure, Question, Section
from exams.selectors import exam_content_version, exam_cover, exam_navigator_html
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, title="Quiz 3", instructions="Answer *everything*.")
    first = SectionFactory.create(exam=exam, number=1, title="True / False", recommended_minutes=10)
    add_question(first, kind="true_false", points=2, key={"value": True}, prompt="The sky is blue.")
    ms = add_question(first, kind="multiple_select", points=4, prompt="Pick the primes.")
    add_choices(ms, "two", "three", "four", correct="AB")
    Figure.objects.create(exam=exam, question=ms, image="figures/primes.png", alt_text="A number line")
    return exam


def in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """The portable branch (SQLite, development), run on this PostgreSQL."""
    monkeypatch.setattr(connection, "vendor", "sqlite")


EDITS: dict[str, Callable[[Exam], object]] = {
    "exam title": lambda exam: Exam.objects.filter(pk=exam.pk).update(title="Quiz 4"),
    "instructions": lambda exam: Exam.objects.filter(pk=exam.pk).update(instructions="Answer *some*."),
    "honor code": lambda exam: Exam.objects.filter(pk=exam.pk).update(honor_code="I will not cheat."),
    "course title": lambda exam: Course.objects.filter(pk=exam.course_id).update(title="CSE 446"),
    "section title": lambda exam: Section.objects.filter(exam=exam).update(title="Yes / No"),
    "section minutes": lambda exam: Section.objects.filter(exam=exam).update(recommended_minutes=None),
    "new section": lambda exam: SectionFactory.create(exam=exam, number=2, title="More"),
    "prompt": lambda exam: Question.objects.filter(exam=exam, kind="true_false").update(prompt="The sea is blue."),
    "points": lambda exam: Question.objects.filter(exam=exam, kind="true_false").update(points=Decimal(3)),
    "extra credit": lambda exam: Question.objects.filter(exam=exam, kind="true_false").update(extra_credit=True),
    "config": lambda exam: Question.objects.filter(exam=exam, kind="multiple_select").update(config={"min": 1}),
    "position": lambda exam: Question.objects.filter(exam=exam, kind="true_false").update(position=9),
    "choice text": lambda exam: Choice.objects.filter(question__exam=exam, label="C").update(text="five"),
    "choice removed": lambda exam: Choice.objects.filter(question__exam=exam, label="C").delete(),
    "figure alt text": lambda exam: Figure.objects.filter(exam=exam).update(alt_text="Primes, circled"),
}


@pytest.mark.parametrize("branch", ["postgresql", "python"])
@pytest.mark.parametrize("edit", EDITS)
def test_every_edit_a_student_can_see_gives_a_new_version(
    exam: Exam, edit: str, branch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert connection.vendor == "postgresql"
    if branch == "python":
        in_python(monkeypatch)
    before = exam_content_version(exam.pk)
    assert exam_content_version(exam.pk) == before  # nothing changed, nothing new

    EDITS[edit](exam)

    assert exam_content_version(exam.pk) != before


@pytest.mark.parametrize("branch", ["postgresql", "python"])
def test_the_keys_are_not_part_of_the_version(exam: Exam, branch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key edit changes nothing a student sees: the cached pages stay."""
    if branch == "python":
        in_python(monkeypatch)
    before = exam_content_version(exam.pk)
    Question.objects.filter(exam=exam, kind="true_false").update(key={"value": False}, solution="It is not.")
    Choice.objects.filter(question__exam=exam).update(is_correct=True)
    assert exam_content_version(exam.pk) == before


def test_the_cover_follows_every_edit_at_once(exam: Exam) -> None:
    cover = exam_cover(exam)
    assert (cover.points, [s.title for s in cover.sections]) == (Decimal(6), ["True / False"])
    assert "<em>everything</em>" in cover.instructions_html
    assert exam_cover(exam).sections is cover.sections  # the same version: kept in memory

    # Bulk updates, as the examfile import and renumbering use: no signal, nothing to forget.
    Question.objects.filter(exam=exam, kind="true_false").update(points=Decimal(5))
    Section.objects.filter(exam=exam).update(title="Yes / No")
    Exam.objects.filter(pk=exam.pk).update(instructions="Answer *some*.")
    exam.refresh_from_db()

    cover = exam_cover(exam)
    assert (cover.points, [s.title for s in cover.sections]) == (Decimal(9), ["Yes / No"])
    assert "<em>some</em>" in cover.instructions_html


def test_the_navigator_follows_an_edit(exam: Exam) -> None:
    version = exam_content_version(exam.pk)
    assert "1 True / False" in exam_navigator_html(exam.pk, version=version)
    Section.objects.filter(exam=exam).update(title="Yes / No")
    version = exam_content_version(exam.pk)
    assert "1 Yes / No" in exam_navigator_html(exam.pk, version=version)


def test_the_memo_stays_bounded(exam: Exam, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "SHARED_MEMO_SIZE", 3)
    for title in "ABCDE":
        Section.objects.filter(exam=exam).update(title=title)
        exam_navigator_html(exam.pk, version=exam_content_version(exam.pk))
    assert len(selectors._shared_memo) <= 3
