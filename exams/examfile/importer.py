"""``exam_import``: an exam file in, a new Exam out, all or nothing.

The whole file is read and checked first — syntax, numbering, the kinds' own validation
(``exams.services.question_validate``), the models' field limits, every figure decoded —
and every problem is reported with its line in one ``ExamFileError``. Only a file with no
problem is written, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from exams.examfile.errors import Problems
from exams.examfile.fields import FieldSyntaxError, read_answer, read_setting
from exams.examfile.parser import (
    Attributes,
    ChoiceLine,
    Document,
    FigureRef,
    QuestionBlock,
    SectionBlock,
    parse_document,
)
from exams.examfile.syntax import CHOICE_TEXT_RE, format_points
from exams.figures import validate_figure
from exams.kinds import KIND_GROUP, KINDS, ChoiceData
from exams.models import Choice, Exam, Figure, Question, Section
from exams.services import exam_renumber, question_validate

if TYPE_CHECKING:
    from accounts.models import Course, User

FRONT_MATTER = {
    # key in the file: field of Exam
    "title": "title",
    "term": "term",
    "date": "exam_date",
    "duration": "duration_minutes",
    "opens": "opens_at",
    "closes": "closes_at",
    "access_code": "access_code",
    "honor_code": "honor_code",
}


@dataclass
class FigurePlan:
    name: str
    data: bytes
    alt_text: str
    caption: str


@dataclass
class QuestionPlan:
    question: Question
    choices: list[Choice]
    figures: list[FigurePlan]
    children: list[QuestionPlan] = field(default_factory=list)


@dataclass
class SectionPlan:
    section: Section
    questions: list[QuestionPlan]


def exam_import(
    *,
    text: str,
    course: Course,
    base_dir: Path | None = None,
    figures: Mapping[str, bytes] | None = None,
    by: User | None = None,
) -> Exam:
    """Create an unpublished exam in ``course`` from the exam file ``text``.

    Figures are looked up by their relative path in ``figures`` (uploaded files), then
    under ``base_dir``. Raises ExamFileError listing every problem with its line; in that
    case nothing has been written.
    """
    problems = Problems()
    document = parse_document(text, problems)
    source = FigureSource(figures, base_dir)
    exam = _plan_exam(document, course, problems)
    cover = [found for ref in document.figures if (found := _plan_figure(ref, source, problems))]
    sections = [_plan_section(block, problems, source) for block in document.sections]
    problems.raise_if_any()
    return _write(exam, cover, sections, by)


# ---------------------------------------------------------------- the exam


def _plan_exam(document: Document, course: Course, problems: Problems) -> Exam:
    meta, lines = document.front_matter, document.front_matter_lines
    for key in meta:
        if key not in FRONT_MATTER:
            problems.add(
                lines.get(key, 2), f"Unknown front-matter key {key!r}; the keys are {', '.join(FRONT_MATTER)}."
            )
    values: dict[str, Any] = {}
    for key, model_field in FRONT_MATTER.items():
        if key not in meta:
            continue
        try:
            values[model_field] = _META_READERS[key](meta[key])
        except ValueError as error:
            problems.add(lines.get(key, 2), f"{key}: {error}")
    if "title" not in meta and document.has_front_matter:
        problems.add(1, "The front matter needs a title, e.g. title: Midterm Exam.")
    exam = Exam(course=course, instructions=document.instructions, **values)
    field_lines = {model_field: lines.get(key, 2) for key, model_field in FRONT_MATTER.items()}
    field_lines["instructions"] = document.instructions_line or 1
    unset = [model_field for model_field in FRONT_MATTER.values() if model_field not in values]
    for check in (lambda: exam.clean_fields(exclude=["course", "created_by", *unset]), exam.clean):
        try:
            check()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                key = next((k for k, f in FRONT_MATTER.items() if f == name), name)
                for message in messages:
                    problems.add(field_lines.get(name, 2), f"{key}: {message}")
    return exam


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"must be text; quote it if it looks like a number or a date: {value!r}")
    return value


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"is a day like 2023-05-04, not {value!r}") from None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(f"is a day like 2023-05-04, without a time; got {value!r}")
    return value


def _moment(value: Any) -> dt.datetime | None:
    """A date and time; without a UTC offset it is read in the site's time zone."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"is a date and time like 2023-05-04T10:30:00-07:00, not {value!r}") from None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"needs a time as well as a day, like 2023-05-04T10:30:00-07:00; got {value!r}")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value


def _minutes(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.match(r"^\s*(\d+)\s*(?:minutes?|min)?\s*$", value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"is the length of the exam in minutes, e.g. duration: 80 minutes; got {value!r}")
    return int(match.group(1))


def _access_code(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # YAML reads 0123 as an octal number: the code would silently change.
        raise ValueError('must be quoted text, e.g. access_code: "4821" (unquoted digits are read as a number)')
    return _text(value)


_META_READERS: dict[str, Any] = {
    "title": _text,
    "term": _text,
    "date": _date,
    "duration": _minutes,
    "opens": _moment,
    "closes": _moment,
    "access_code": _access_code,
    "honor_code": _text,
}


# ---------------------------------------------------------------- sections and questions


def _plan_section(block: SectionBlock, problems: Problems, source: FigureSource) -> SectionPlan:
    attrs = block.attrs
    minutes: int | None = None
    if attrs.minutes is not None:
        if attrs.minutes.isdigit():
            minutes = int(attrs.minutes)
        else:
            problems.add(
                block.line, f"Recommended minutes are a whole number, e.g. '10 minutes'; got {attrs.minutes!r}."
            )
    section = Section(
        number=block.number,
        title=block.title,
        instructions=block.instructions,
        recommended_minutes=minutes,
        floor_at_zero=attrs.floor_at_zero,
    )
    _model_errors(section, ["exam"], block.line, f"Section {block.number}", problems)
    for name, value in (("points", attrs.points), ("points each", attrs.points_each)):
        if value is not None:
            _points_errors(value, block.line, f"Section {block.number} ({name})", problems)
    questions = [_plan_question(q, block, problems, source, inherited_extra=False) for q in block.questions]
    if attrs.points is not None:
        total = sum((_total(plan, extra=False, inherited=False) for plan in questions), Decimal(0))
        if total != attrs.points:
            problems.add(
                block.line,
                f"Section {block.number} says {format_points(attrs.points)} points, but its questions (extra "
                f"credit aside) add up to {format_points(total)}.",
            )
    return SectionPlan(section, questions)


def _total(plan: QuestionPlan, *, extra: bool, inherited: bool) -> Decimal:
    """Points of the answerable questions in ``plan`` that are (not) extra credit."""
    is_extra = inherited or plan.question.extra_credit
    if plan.question.kind != KIND_GROUP:
        return plan.question.points if is_extra == extra else Decimal(0)
    return sum((_total(child, extra=extra, inherited=is_extra) for child in plan.children), Decimal(0))


def _points_errors(value: Decimal, line: int, what: str, problems: Problems) -> None:
    try:
        Question._meta.get_field("points").clean(value, None)
    except ValidationError as error:
        for message in error.messages:
            problems.add(line, f"{what}: points: {message}")


def _model_errors(instance: Any, exclude: list[str], line: int, what: str, problems: Problems) -> None:
    """The model's own field checks (lengths, blanks, choices, decimals)."""
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            for message in messages:
                problems.add(line, f"{what}: {name}: {message}")


def _plan_question(
    block: QuestionBlock, section: SectionBlock, problems: Problems, source: FigureSource, *, inherited_extra: bool
) -> QuestionPlan:
    attrs, defaults, what = block.attrs, section.attrs, f"Question {block.number}"
    kind = _kind(block, defaults, problems)
    points, policy, params, policy_line = Decimal(0), attrs.policy or "", attrs.policy_params, block.line
    if kind != KIND_GROUP:
        points_given = attrs.points if attrs.points is not None else defaults.points_each
        if points_given is not None:
            points = points_given
        elif not attrs.broken:
            problems.add(
                block.line, f"{what} has no points: add 'N points' to its heading, or 'N points each' to the section's."
            )
        if attrs.policy is None and defaults.policy is not None:
            policy, params, policy_line = defaults.policy, defaults.policy_params, section.line
    config, key, solution, lines = _fields(block, kind, problems)
    choices: list[ChoiceData] = []
    key_reported = False  # the checkboxes were already reported; the kind would only repeat it
    if kind == "true_false":
        checked = _true_false_key(block, problems)
        key, key_reported = checked or {}, checked is None
    elif kind is not None and block.choices and not _uses_choices(kind):
        # Checkboxes under a kind without choices: the kind refuses them with its own message.
        choices = [ChoiceData(str(c.line), c.text, c.checked) for c in block.choices]
    else:
        choices = _choices(block, problems)
    lines.setdefault("key", block.choices[0].line if block.choices else block.line)
    lines["choices"] = block.choices[0].line if block.choices else block.line
    lines["policy"] = policy_line
    if kind == KIND_GROUP:
        # A group refuses any answer material; point at the first piece of it.
        material = [f.line for label, f in block.fields.items() if label != "Solution"] + [
            c.line for c in block.choices
        ]
        lines["kind"] = min(material, default=block.line)
    clean = None
    if kind is not None:
        try:
            clean = question_validate(
                kind=kind, points=points, policy=policy, policy_params=params, config=config, key=key, choices=choices
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                if name == "key" and key_reported:
                    continue
                note = " (the section's default policy)" if name == "policy" and policy_line != block.line else ""
                for message in messages:
                    problems.add(lines.get(name, block.line), f"{what}: {message}{note}")
    question = Question(
        title=block.title,
        prompt=block.prompt,
        kind=kind or "",
        points=points,
        extra_credit=attrs.extra_credit,
        policy=clean.policy if clean else "",
        policy_params=clean.policy_params if clean else {},
        config=clean.config if clean else {},
        key=clean.key if clean else {},
        solution=solution,
    )
    if kind is not None:
        _model_errors(question, ["exam", "section", "parent", "number", "position"], block.line, what, problems)
    choice_rows = [
        Choice(position=index, label=c.label, text=c.text, is_correct=c.is_correct)
        for index, c in enumerate(choices, start=1)
        if kind is not None and _uses_choices(kind)
    ]
    for row, line in zip(choice_rows, block.choices, strict=False):
        _model_errors(row, ["question"], line.line, f"{what}, choice {row.label}", problems)
    figures = [found for ref in block.figures if (found := _plan_figure(ref, source, problems))]
    plan = QuestionPlan(question, choice_rows, figures)
    is_extra = inherited_extra or attrs.extra_credit
    plan.children = [
        _plan_question(child, section, problems, source, inherited_extra=is_extra) for child in block.children
    ]
    if kind == KIND_GROUP and attrs.points is not None:
        total = _total(plan, extra=is_extra, inherited=inherited_extra)
        if total != attrs.points:
            credit = "" if is_extra else " (extra credit aside)"
            problems.add(
                block.line,
                f"{what} says {format_points(attrs.points)} points, but its sub-questions{credit} add up to "
                f"{format_points(total)}.",
            )
    return plan


def _uses_choices(kind: str) -> bool:
    return kind != KIND_GROUP and kind in KINDS and KINDS[kind].uses_choices


def _kind(block: QuestionBlock, defaults: Attributes, problems: Problems) -> str | None:
    if block.children:
        if block.attrs.kind not in (None, KIND_GROUP):
            problems.add(
                block.line,
                f"Question {block.number} has sub-questions, so it is a group; a {block.attrs.kind} question cannot "
                "have any.",
            )
        return KIND_GROUP
    kind = block.attrs.kind or defaults.kind
    if kind is None and not block.attrs.broken:
        problems.add(
            block.line,
            f"Question {block.number} has no kind: add one to its heading, e.g. {{short_answer, 2 points}}, or set "
            "one for the whole section.",
        )
    return kind


def _fields(
    block: QuestionBlock, kind: str | None, problems: Problems
) -> tuple[dict[str, Any], dict[str, Any], str, dict[str, int]]:
    """The question's settings (config), answer key and solution, with the line of each."""
    config: dict[str, Any] = {}
    key: dict[str, Any] = {}
    solution = ""
    lines: dict[str, int] = {}
    for label, field_block in block.fields.items():
        try:
            if label == "Solution":
                solution = field_block.text()
            elif label == "Answer":
                lines["key"] = field_block.line
                if kind == KIND_GROUP:
                    key = {"answer": field_block.text()}  # refused below by the group's own rule
                elif kind is not None:
                    key = read_answer(kind, field_block)
            else:
                lines.setdefault("config", field_block.line)
                config.update(read_setting(field_block))
        except FieldSyntaxError as error:
            problems.add(error.line or field_block.line, f"Question {block.number}: {error}")
    return config, key, solution, lines


def _true_false_key(block: QuestionBlock, problems: Problems) -> dict[str, Any] | None:
    """The key read from the checked box; None when the boxes are wrong (reported here)."""
    values: dict[str, ChoiceLine] = {}
    for choice in block.choices:
        if choice.text not in ("True", "False") or choice.text in values:
            problems.add(
                choice.line,
                f"Question {block.number} is true_false: list '- [ ] True' and '- [ ] False' once each and check "
                "the right one.",
            )
            return None
        values[choice.text] = choice
    checked = [text for text, choice in values.items() if choice.checked]
    if len(checked) > 1:
        problems.add(block.choices[0].line, f"Question {block.number}: check only one of True and False.")
        return None
    return {"value": checked[0] == "True"} if checked else {}


def _choices(block: QuestionBlock, problems: Problems) -> list[ChoiceData]:
    choices: list[ChoiceData] = []
    for choice in block.choices:
        match = CHOICE_TEXT_RE.match(choice.text)
        if match is None:
            problems.add(
                choice.line, f"Question {block.number}: write a choice as '- [ ] A: text' ('- [x]' when correct)."
            )
            continue
        choices.append(ChoiceData(match.group("label"), (match.group("text") or "").strip(), choice.checked))
    return choices


# ---------------------------------------------------------------- figures


class FigureSource:
    """Finds a figure by its relative path: in uploaded files first, then under ``base_dir``."""

    def __init__(self, files: Mapping[str, bytes] | None, base_dir: Path | None) -> None:
        self.files = {posixpath.normpath(name.replace("\\", "/")): data for name, data in (files or {}).items()}
        self.base_dir = base_dir

    def read(self, path: str) -> bytes:
        """The file's bytes; ValueError with a message for the instructor otherwise."""
        pure = PurePosixPath(path)
        if pure.is_absolute() or "\\" in path or re.match(r"^[A-Za-z]:", path):
            raise ValueError(f"{path} is not a relative path; give the figure's path from the exam file's folder.")
        if ".." in pure.parts:
            raise ValueError(f"{path} leaves the exam file's folder (..); figures must be inside it.")
        name = posixpath.normpath(path)
        if name in self.files:
            return self.files[name]
        if self.base_dir is not None:
            base = self.base_dir.resolve()
            full = (base / name).resolve()
            if not full.is_relative_to(base):
                raise ValueError(f"{path} leads outside the exam file's folder.")
            if full.is_file():
                with full.open("rb") as handle:
                    # Read one byte past the limit: enough for validate_figure to refuse it.
                    return handle.read(settings.FIGURE_MAX_BYTES + 1)
        places = [*(["the uploaded files"] if self.files else []), *([str(self.base_dir)] if self.base_dir else [])]
        where = " and ".join(places) or "nowhere: no figures were supplied"
        raise ValueError(f"Figure {path} not found (looked in {where}).")


def _plan_figure(ref: FigureRef, source: FigureSource, problems: Problems) -> FigurePlan | None:
    try:
        data = source.read(ref.path)
    except ValueError as error:
        problems.add(ref.line, str(error))
        return None
    name = PurePosixPath(ref.path).name
    try:
        validate_figure(ContentFile(data, name=name))
    except ValidationError as error:
        for message in error.messages:
            problems.add(ref.line, f"Figure {ref.path}: {message}")
        return None
    plan = FigurePlan(name, data, ref.alt_text, ref.caption)
    _model_errors(
        Figure(alt_text=ref.alt_text, caption=ref.caption),
        ["exam", "question", "image", "position"],
        ref.line,
        f"Figure {ref.path}",
        problems,
    )
    return plan


# ---------------------------------------------------------------- writing


def _write(exam: Exam, cover: list[FigurePlan], sections: list[SectionPlan], by: User | None) -> Exam:
    stored: list[Figure] = []
    try:
        with transaction.atomic():
            exam.created_by = by
            exam.save()
            _save_figures(exam, None, cover, stored)
            for plan in sections:
                plan.section.exam = exam
                plan.section.save()
                _save_questions(exam, plan.section, None, plan.questions, stored)
            exam_renumber(exam)
    except Exception:
        # The rows are rolled back; the files written to storage are not, so remove them.
        for figure in stored:
            if figure.image.name:
                figure.image.storage.delete(figure.image.name)
        raise
    return exam


def _save_questions(
    exam: Exam, section: Section, parent: Question | None, plans: list[QuestionPlan], stored: list[Figure]
) -> None:
    prefix = parent.number if parent is not None else str(section.number)
    for position, plan in enumerate(plans, start=1):
        question = plan.question
        question.exam, question.section, question.parent = exam, section, parent
        question.position, question.number = position, f"{prefix}.{position}"
        question.save()
        for choice in plan.choices:
            choice.question = question
        Choice.objects.bulk_create(plan.choices)
        _save_figures(exam, question, plan.figures, stored)
        _save_questions(exam, section, question, plan.children, stored)


def _save_figures(exam: Exam, question: Question | None, plans: list[FigurePlan], stored: list[Figure]) -> None:
    for position, plan in enumerate(plans, start=1):
        figure = Figure(exam=exam, question=question, position=position, alt_text=plan.alt_text, caption=plan.caption)
        figure.image.save(plan.name, ContentFile(plan.data), save=False)
        stored.append(figure)
        figure.save()
