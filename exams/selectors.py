"""Reads on the authoring side: totals, and the student's view of an exam (the "paper").

``exam_paper`` builds plain dataclasses that carry no answer key by construction: choices
lose ``is_correct``, questions lose ``key``, ``solution`` and the policy parameters. Every
student-facing page renders from it, and so does "preview as student".
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.safestring import SafeString

from exams.kinds import KIND_GROUP, get_kind
from exams.markdown import render_markdown
from exams.models import Choice, Exam, Figure, Question, Section


@dataclass
class PaperFigure:
    url: str
    alt_text: str
    caption: str


@dataclass
class PaperChoice:
    label: str
    html: SafeString


@dataclass
class PaperQuestion:
    id: int
    number: str
    title: str
    prompt_html: SafeString
    kind: str
    kind_label: str
    points: Decimal
    extra_credit: bool
    config: dict[str, Any]
    choices: list[PaperChoice]
    figures: list[PaperFigure]
    children: list[PaperQuestion] = field(default_factory=list)
    depth: int = 0

    @property
    def is_group(self) -> bool:
        return self.kind == KIND_GROUP

    @property
    def widget_template(self) -> str:
        return get_kind(self.kind).widget_template

    def leaves(self) -> list[PaperQuestion]:
        if not self.is_group:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]


@dataclass
class PaperSection:
    id: int
    number: int
    title: str
    instructions_html: SafeString
    recommended_minutes: int | None
    points: Decimal
    extra_points: Decimal
    questions: list[PaperQuestion]

    def leaves(self) -> list[PaperQuestion]:
        return [leaf for q in self.questions for leaf in q.leaves()]


@dataclass
class Paper:
    exam_id: int
    course_title: str
    title: str
    term: str
    exam_date: Any
    duration_minutes: int
    instructions_html: SafeString
    honor_code: str
    has_access_code: bool
    sections: list[PaperSection]
    points: Decimal
    extra_points: Decimal

    def leaves(self) -> list[PaperQuestion]:
        return [leaf for s in self.sections for leaf in s.leaves()]


@dataclass(frozen=True)
class SectionTotal:
    section: Section
    points: Decimal
    extra_points: Decimal


@dataclass(frozen=True)
class ExamTotals:
    points: Decimal
    extra_points: Decimal
    sections: list[SectionTotal]


def _extra_credit_ids(questions: list[Question]) -> set[int]:
    """Questions that are extra credit themselves or sit under an extra-credit group."""
    by_id = {q.pk: q for q in questions}
    result: set[int] = set()
    for q in questions:
        node: Question | None = q
        while node is not None:
            if node.extra_credit:
                result.add(q.pk)
                break
            node = by_id.get(node.parent_id) if node.parent_id else None
    return result


def exam_content_version(exam_id: int) -> str:
    """A fingerprint of everything a student sees of the exam (never the keys).

    Caches of the rendered paper are keyed by it, so any edit — a prompt, a choice, a figure,
    a renumbering — gives a new version without anything having to remember to invalidate.
    """
    digest = hashlib.sha256()
    for rows in (
        Exam.objects.filter(pk=exam_id).values_list(
            "title", "term", "exam_date", "duration_minutes", "instructions", "honor_code", "course__title"
        ),
        Section.objects.filter(exam_id=exam_id).values_list(
            "pk", "number", "title", "instructions", "recommended_minutes"
        ),
        Question.objects.filter(exam_id=exam_id).values_list(
            "pk",
            "section_id",
            "parent_id",
            "position",
            "number",
            "title",
            "prompt",
            "kind",
            "points",
            "extra_credit",
            "config",
        ),
        Choice.objects.filter(question__exam_id=exam_id).values_list("pk", "question_id", "position", "label", "text"),
        Figure.objects.filter(exam_id=exam_id).values_list(
            "pk", "question_id", "position", "image", "alt_text", "caption"
        ),
    ):
        digest.update(repr(sorted(rows, key=repr)).encode())
    return digest.hexdigest()[:20]


def exam_totals(exam: Exam) -> ExamTotals:
    """Maximum points (extra credit excluded) and extra credit on offer, per section and in all."""
    sections = list(exam.sections.all())
    questions = list(Question.objects.filter(exam=exam))
    extra = _extra_credit_ids(questions)
    points: dict[int, Decimal] = defaultdict(Decimal)
    extra_points: dict[int, Decimal] = defaultdict(Decimal)
    for q in questions:
        if q.kind == KIND_GROUP:
            continue
        (extra_points if q.pk in extra else points)[q.section_id] += q.points
    rows = [SectionTotal(s, points[s.pk], extra_points[s.pk]) for s in sections]
    return ExamTotals(
        points=sum((r.points for r in rows), Decimal(0)),
        extra_points=sum((r.extra_points for r in rows), Decimal(0)),
        sections=rows,
    )


def exam_paper(exam: Exam) -> Paper:
    """The exam as a student sees it, with no answer key anywhere in it."""
    sections = list(exam.sections.all())
    questions = list(Question.objects.filter(exam=exam).order_by("position", "pk"))
    extra = _extra_credit_ids(questions)
    choices: dict[int, list[PaperChoice]] = defaultdict(list)
    for c in Choice.objects.filter(question__exam=exam).order_by("position", "label"):
        choices[c.question_id].append(PaperChoice(label=c.label, html=render_markdown(c.text)))
    figures: dict[int | None, list[PaperFigure]] = defaultdict(list)
    for f in Figure.objects.filter(exam=exam).order_by("position", "pk"):
        figures[f.question_id].append(PaperFigure(url=f.image.url, alt_text=f.alt_text, caption=f.caption))

    nodes = {
        q.pk: PaperQuestion(
            id=q.pk,
            number=q.number,
            title=q.title,
            prompt_html=render_markdown(q.prompt),
            kind=q.kind,
            kind_label=q.get_kind_display(),
            points=q.points,
            extra_credit=q.pk in extra,
            config=dict(q.config),
            choices=choices.get(q.pk, []),
            figures=figures.get(q.pk, []),
        )
        for q in questions
    }
    roots: dict[int, list[PaperQuestion]] = defaultdict(list)
    for q in questions:
        if q.parent_id:
            nodes[q.parent_id].children.append(nodes[q.pk])
        else:
            roots[q.section_id].append(nodes[q.pk])

    def settle(node: PaperQuestion, depth: int) -> None:
        node.depth = depth
        for child in node.children:
            settle(child, depth + 1)
        if node.is_group:
            node.points = sum((c.points for c in node.children), Decimal(0))

    paper_sections = []
    for s in sections:
        for root in roots.get(s.pk, []):
            settle(root, 0)
        leaves = [leaf for root in roots.get(s.pk, []) for leaf in root.leaves()]
        paper_sections.append(
            PaperSection(
                id=s.pk,
                number=s.number,
                title=s.title,
                instructions_html=render_markdown(s.instructions),
                recommended_minutes=s.recommended_minutes,
                points=sum((q.points for q in leaves if not q.extra_credit), Decimal(0)),
                extra_points=sum((q.points for q in leaves if q.extra_credit), Decimal(0)),
                questions=roots.get(s.pk, []),
            )
        )
    return Paper(
        exam_id=exam.pk,
        course_title=exam.course.title,
        title=exam.title,
        term=exam.effective_term,
        exam_date=exam.exam_date,
        duration_minutes=exam.duration_minutes,
        instructions_html=render_markdown(exam.instructions),
        honor_code=exam.honor_code,
        has_access_code=bool(exam.access_code),
        sections=paper_sections,
        points=sum((s.points for s in paper_sections), Decimal(0)),
        extra_points=sum((s.extra_points for s in paper_sections), Decimal(0)),
    )
