"""Reads for exam pages: totals, the student's view of an exam (the "paper"), and the
sitting side's cover, outline, cached paper HTML and progress.

``exam_paper`` builds plain dataclasses that carry no answer key by construction: choices
lose ``is_correct``, questions lose ``key``, ``solution`` and the policy parameters. Every
student-facing page renders from it, and so does "preview as student".
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from django.core.cache import cache
from django.db import connection
from django.utils.safestring import SafeString

from exams.kinds import KIND_GROUP, KINDS, get_kind
from exams.markdown import render_markdown
from exams.models import Answer, Choice, Exam, Figure, Question, Section, Sitting


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

    Caches of the rendered paper and cover are keyed by it, so any edit — a prompt, a choice,
    a figure, a renumbering, even a bulk ``update()`` — gives a new version without anything
    having to remember to invalidate. Every sitting page asks for it, so on PostgreSQL it is
    one statement that hashes the rows where they are; elsewhere five queries hashed here.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CONTENT_VERSION_SQL, {"exam": exam_id})
            row = cursor.fetchone()
        return str(row[0])[:20]
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


# The same columns as the portable branch above. A row's text form quotes any field holding a
# separator, and every part is present (coalesce), so different contents give different text.
_CONTENT_VERSION_SQL = """
SELECT md5(concat_ws('|',
    coalesce((
        SELECT ROW(e.title, e.term, e.exam_date, e.duration_minutes, e.instructions, e.honor_code, c.title)::text
        FROM exams_exam e JOIN accounts_course c ON c.id = e.course_id
        WHERE e.id = %(exam)s), ''),
    coalesce((
        SELECT string_agg(ROW(s.id, s.number, s.title, s.instructions, s.recommended_minutes)::text, ',' ORDER BY s.id)
        FROM exams_section s
        WHERE s.exam_id = %(exam)s), ''),
    coalesce((
        SELECT string_agg(ROW(q.id, q.section_id, q.parent_id, q.position, q.number, q.title, q.prompt, q.kind,
                              q.points, q.extra_credit, q.config)::text, ',' ORDER BY q.id)
        FROM exams_question q
        WHERE q.exam_id = %(exam)s), ''),
    coalesce((
        SELECT string_agg(ROW(ch.id, ch.question_id, ch.position, ch.label, ch.text)::text, ',' ORDER BY ch.id)
        FROM exams_choice ch JOIN exams_question q ON q.id = ch.question_id
        WHERE q.exam_id = %(exam)s), ''),
    coalesce((
        SELECT string_agg(ROW(f.id, f.question_id, f.position, f.image, f.alt_text, f.caption)::text, ',' ORDER BY f.id)
        FROM exams_figure f
        WHERE f.exam_id = %(exam)s), '')
))
"""

# Per process, by exam and content version: what every student's sitting pages share (the
# cover's totals, the navigator, the paper). An edit gives a new version, hence a new key, so
# nothing here outlives an edit; superseded versions are dropped when the memo fills up.
SHARED_MEMO_SIZE = 64
_shared_memo: dict[tuple[str, int, str], Any] = {}
_MISSING = object()


def _shared_by_version[T](what: str, exam_id: int, version: str, build: Callable[[], T]) -> T:
    key = (what, exam_id, version)
    found = _shared_memo.get(key, _MISSING)  # one lookup: another thread may clear the memo
    if found is not _MISSING:
        return cast(T, found)
    value = build()
    if len(_shared_memo) >= SHARED_MEMO_SIZE:
        _shared_memo.clear()
    _shared_memo[key] = value
    return value


def shared_pages_forget() -> None:
    """Drop this process's memo of shared page parts (tests)."""
    _shared_memo.clear()


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
    return _paper_of(exam, paper_sections)


def _paper_of(exam: Exam, sections: list[PaperSection], instructions_html: SafeString | None = None) -> Paper:
    """The exam's cover data around ``sections``; totals are the sections' sums."""
    return Paper(
        exam_id=exam.pk,
        course_title=exam.course.title,
        title=exam.title,
        term=exam.effective_term,
        exam_date=exam.exam_date,
        duration_minutes=exam.duration_minutes,
        instructions_html=render_markdown(exam.instructions) if instructions_html is None else instructions_html,
        honor_code=exam.honor_code,
        has_access_code=bool(exam.access_code),
        sections=sections,
        points=sum((s.points for s in sections), Decimal(0)),
        extra_points=sum((s.extra_points for s in sections), Decimal(0)),
    )


# --- the sitting side: the cover, the cached paper, a sitting's progress ---------------------


def exam_cover(exam: Exam) -> Paper:
    """The cover page of an exam (a Paper whose sections carry no questions).

    Built from ``exam_totals`` and the exam's instructions alone, so a lobby never renders
    the questions' Markdown: students must not see the questions before they start anyway.
    The totals and the rendered instructions are kept per process for the exam's content
    version (one query to check it); the rest comes from ``exam`` as loaded.
    """

    def build() -> tuple[list[PaperSection], SafeString]:
        sections = [
            PaperSection(
                id=row.section.pk,
                number=row.section.number,
                title=row.section.title,
                instructions_html=SafeString(""),
                recommended_minutes=row.section.recommended_minutes,
                points=row.points,
                extra_points=row.extra_points,
                questions=[],
            )
            for row in exam_totals(exam).sections
        ]
        return sections, render_markdown(exam.instructions)

    sections, instructions_html = _shared_by_version("cover", exam.pk, exam_content_version(exam.pk), build)
    return _paper_of(exam, sections, instructions_html)


@dataclass(frozen=True)
class OutlineQuestion:
    """An answerable question, as the navigator and the review page list it."""

    id: int
    number: str
    kind: str


@dataclass(frozen=True)
class OutlineSection:
    number: int
    title: str
    recommended_minutes: int | None
    questions: list[OutlineQuestion]


def exam_outline(exam_id: int) -> list[OutlineSection]:
    """The answerable (leaf) questions of each section, in paper order, without rendering anything.

    Paper order is the order of ``exam_paper``: sections by number, then the question tree
    depth first, siblings by position.
    """
    sections = list(Section.objects.filter(exam_id=exam_id).order_by("number"))
    rows = list(
        Question.objects.filter(exam_id=exam_id)
        .order_by("position", "pk")
        .values_list("pk", "section_id", "parent_id", "number", "kind")
    )
    children: dict[int | None, list[tuple[int, int, int | None, str, str]]] = defaultdict(list)
    for row in rows:
        children[row[2]].append(row)

    def leaves(node: tuple[int, int, int | None, str, str]) -> list[OutlineQuestion]:
        pk, _, _, number, kind = node
        if kind != KIND_GROUP:
            return [OutlineQuestion(id=pk, number=number, kind=kind)]
        return [leaf for child in children.get(pk, []) for leaf in leaves(child)]

    return [
        OutlineSection(
            number=s.number,
            title=s.title,
            recommended_minutes=s.recommended_minutes,
            questions=[leaf for root in children.get(None, []) if root[1] == s.pk for leaf in leaves(root)],
        )
        for s in sections
    ]


# Long enough to outlast an exam; the key changes with every edit anyway.
PAPER_HTML_TTL_SECONDS = 12 * 60 * 60


@functools.cache
def _paper_templates_digest() -> str:
    """A fingerprint of the templates the paper is rendered with, so a deploy that changes
    them does not serve HTML cached by the previous release. Read once per process."""
    from django.template.loader import get_template

    names = ["exams/_paper.html", "exams/_question.html", *(kind.widget_template for kind in KINDS.values())]
    digest = hashlib.sha256()
    for name in names:
        origin = get_template(name).origin  # type: ignore[attr-defined]
        digest.update(Path(origin.name).read_bytes())
    return digest.hexdigest()[:12]


def paper_html_cache_key(exam_id: int, version: str | None = None) -> str:
    version = exam_content_version(exam_id) if version is None else version
    return f"paper-html:{exam_id}:{version}:{_paper_templates_digest()}"


def exam_paper_html(exam: Exam, *, version: str | None = None) -> SafeString:
    """The exam page's paper (every section and question with live widgets), the same for
    every student: rendered from Markdown once per version of the exam, then served from the
    cache (and from memory in each process). No answer is in it (the page's script fills them
    in) and no key (``exam_paper``). ``version``: the exam's content version, if the caller
    has it already.
    """
    from django.template.loader import render_to_string

    version = exam_content_version(exam.pk) if version is None else version

    def build() -> SafeString:
        key = paper_html_cache_key(exam.pk, version)
        html: str | None = cache.get(key)
        if html is None:
            html = render_to_string("exams/_paper.html", {"paper": exam_paper(exam), "preview": False})
            cache.set(key, html, timeout=PAPER_HTML_TTL_SECONDS)
        return SafeString(html)

    return _shared_by_version("paper-html", exam.pk, version, build)


def exam_navigator_html(exam_id: int, *, version: str) -> SafeString:
    """The exam page's navigator (a link to every answerable question, by section), the same
    for every student: rendered once per version of the exam and process."""
    from django.template.loader import render_to_string

    def build() -> SafeString:
        return SafeString(render_to_string("exams/_navigator.html", {"outline": exam_outline(exam_id)}))

    return _shared_by_version("navigator", exam_id, version, build)


@dataclass(frozen=True)
class SittingProgress:
    """Where a sitting stands, from its stored answers: what is answered, blank and flagged."""

    total: int
    answered: int
    blank: list[OutlineQuestion]
    flagged: list[OutlineQuestion]


def sitting_progress(sitting: Sitting, outline: list[OutlineSection] | None = None) -> SittingProgress:
    """Counts and lists over the exam's answerable questions; an answer whose value is
    None (cleared, or never given) is blank."""
    outline = exam_outline(sitting.exam_id) if outline is None else outline
    stored = {
        question_id: (value is not None, flagged)
        for question_id, value, flagged in Answer.objects.filter(sitting=sitting).values_list(
            "question_id", "value", "flagged"
        )
    }
    questions = [q for section in outline for q in section.questions]
    answered = [q for q in questions if stored.get(q.id, (False, False))[0]]
    return SittingProgress(
        total=len(questions),
        answered=len(answered),
        blank=[q for q in questions if not stored.get(q.id, (False, False))[0]],
        flagged=[q for q in questions if stored.get(q.id, (False, False))[1]],
    )


def sitting_answers(sitting: Sitting) -> dict[str, dict[str, Any]]:
    """The stored answers, for the exam page's script: {question id: {value, flagged, seq}}."""
    return {
        str(question_id): {"value": value, "flagged": flagged, "seq": seq}
        for question_id, value, flagged, seq in Answer.objects.filter(sitting=sitting).values_list(
            "question_id", "value", "flagged", "seq"
        )
    }
