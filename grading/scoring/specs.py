"""Build ``QuestionSpec``s from saved questions: the one module of ``grading.scoring`` that reads the ORM.

The policies stay pure; callers (the bulk job, the key-change dry run, the statistics)
load specs here once and then score any number of answers without touching the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from exams.kinds import KIND_GROUP, ChoiceData
from exams.models import Choice, Question, Section
from grading.scoring.core import QuestionSpec


@dataclass(frozen=True, slots=True)
class SectionSpecs:
    """A section's answerable questions in paper order, with its floor rule."""

    section_id: int
    number: int
    title: str
    floor_at_zero: bool
    questions: tuple[QuestionSpec, ...]


def question_spec(
    question: Question, choices: Iterable[Choice] | None = None, *, extra_credit: bool | None = None
) -> QuestionSpec:
    """The spec of one answerable question.

    ``choices`` are the question's choices (fetched, in one query, when not given).
    ``extra_credit`` says whether the question counts as extra credit, which it also does
    under an extra-credit parent; it defaults to the question's own flag, so pass it (as
    ``exam_specs`` does) when the question may sit under an extra-credit group.
    """
    if question.kind == KIND_GROUP:
        raise ValueError(f"Question {question.number} is a group: it has no answer to score.")
    rows = list(question.choices.all()) if choices is None else list(choices)
    rows.sort(key=lambda c: (c.position, c.label))
    return QuestionSpec.build(
        kind=question.kind,
        points=question.points,
        policy=question.policy,
        policy_params=question.policy_params,
        config=question.config,
        key=question.key,
        choices=[ChoiceData(label=c.label, text=c.text, is_correct=c.is_correct) for c in rows],
        extra_credit=question.extra_credit if extra_credit is None else extra_credit,
        question_id=question.pk,
        number=question.number,
    )


def _number_order(number: str) -> tuple[int, ...]:
    """3.10 after 3.9, as on the paper (the stored numbers sort as text)."""
    return tuple(int(part) if part.isdigit() else 0 for part in number.split("."))


def exam_specs(exam_id: int) -> list[SectionSpecs]:
    """Every section of the exam with the specs of its answerable questions, in three queries."""
    sections = list(Section.objects.filter(exam_id=exam_id).order_by("number"))
    questions = list(Question.objects.filter(exam_id=exam_id))
    choices: dict[int, list[Choice]] = defaultdict(list)
    for choice in Choice.objects.filter(question__exam_id=exam_id):
        choices[choice.question_id].append(choice)
    by_id = {q.pk: q for q in questions}

    def inherits_extra_credit(question: Question) -> bool:
        node: Question | None = question
        while node is not None:
            if node.extra_credit:
                return True
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        return False

    per_section: dict[int, list[QuestionSpec]] = defaultdict(list)
    for question in sorted(questions, key=lambda q: _number_order(q.number)):
        if question.kind == KIND_GROUP:
            continue
        per_section[question.section_id].append(
            question_spec(question, choices[question.pk], extra_credit=inherits_extra_credit(question))
        )
    return [
        SectionSpecs(
            section_id=section.pk,
            number=section.number,
            title=section.title,
            floor_at_zero=section.floor_at_zero,
            questions=tuple(per_section[section.pk]),
        )
        for section in sections
    ]
