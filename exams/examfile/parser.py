"""Reading an exam file into a plain outline: front matter, sections, the question tree.

This layer knows the format's shapes (headings, attribute lists, checkboxes, figures,
labelled fields) and nothing about what the kinds accept: ``importer`` maps the outline
onto the kinds' config and key and lets them judge. Every problem is recorded with its
line and reading goes on, so one pass reports all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from exams.examfile.errors import Problems
from exams.examfile.syntax import (
    ATTRIBUTES_RE,
    CHECKBOX_RE,
    FIGURE_RE,
    FIGURE_START,
    HEADING_NUMBER_RE,
    HEADING_RE,
    LABEL_RE,
    FenceTracker,
    parse_number,
    tidy,
    unescape_line,
)
from exams.kinds import KIND_GROUP, KINDS, POLICY_PARAMS

Line = tuple[int, str]  # (1-based line number, text)


@dataclass
class Attributes:
    """The ``{…}`` list at the end of a section or question heading."""

    line: int
    kind: str | None = None
    points: Decimal | None = None
    points_each: Decimal | None = None
    minutes: str | None = None
    floor_at_zero: bool = False
    extra_credit: bool = False
    policy: str | None = None
    policy_params: dict[str, Any] = field(default_factory=dict)
    broken: bool = False  # an item was refused (and reported): what it would have set is unknown


@dataclass
class FigureRef:
    line: int
    path: str
    alt_text: str
    caption: str


@dataclass
class ChoiceLine:
    line: int
    checked: bool
    text: str


@dataclass
class FieldBlock:
    """A labelled field (``Answer: …``) with the lines that follow it up to the next label."""

    line: int
    label: str
    rest: str
    lines: list[tuple[int, str, bool]] = field(default_factory=list)  # (line, text, inside a code fence)

    def text(self) -> str:
        """Markdown text: the rest of the label's line, then the following lines."""
        body = [text if fenced else unescape_line(text) for _, text, fenced in self.lines]
        return tidy([self.rest, *body]) if self.rest else tidy(body)

    def rows(self) -> list[Line]:
        return [(number, text) for number, text, _ in self.lines if text.strip()]

    def single_line(self) -> str | None:
        """The value of a one-line field, or None when text follows it on later lines."""
        rows = self.rows()
        if not rows:
            return self.rest
        if not self.rest and len(rows) == 1:
            return rows[0][1].strip()
        return None


@dataclass
class QuestionBlock:
    line: int
    depth: int
    number: str
    title: str
    attrs: Attributes
    body: list[Line] = field(default_factory=list)
    prompt: str = ""
    figures: list[FigureRef] = field(default_factory=list)
    choices: list[ChoiceLine] = field(default_factory=list)
    fields: dict[str, FieldBlock] = field(default_factory=dict)
    children: list[QuestionBlock] = field(default_factory=list)

    def walk(self) -> list[QuestionBlock]:
        return [self, *(node for child in self.children for node in child.walk())]


@dataclass
class SectionBlock:
    line: int
    number: int
    title: str
    attrs: Attributes
    body: list[Line] = field(default_factory=list)
    instructions: str = ""
    questions: list[QuestionBlock] = field(default_factory=list)

    def walk(self) -> list[QuestionBlock]:
        return [node for question in self.questions for node in question.walk()]


@dataclass
class Document:
    has_front_matter: bool = False
    front_matter: dict[str, Any] = field(default_factory=dict)
    front_matter_lines: dict[str, int] = field(default_factory=dict)
    body: list[Line] = field(default_factory=list)
    instructions: str = ""
    instructions_line: int | None = None
    figures: list[FigureRef] = field(default_factory=list)
    sections: list[SectionBlock] = field(default_factory=list)


SECTION_ITEMS = "'N points' (the section total), 'N minutes', 'floor at zero', a kind, 'N points each', a policy"
QUESTION_ITEMS = "a kind, 'N points', 'extra credit', a policy such as negative_marking(wrong=-1, blank=0)"


def parse_document(text: str, problems: Problems) -> Document:
    lines = text.removeprefix("\ufeff").splitlines()
    document = Document()
    body_start = _read_front_matter(lines, document, problems)
    _split_structure(lines, body_start, document, problems)
    document.instructions, document.figures = _read_free_text(document.body, problems, figures_allowed=True)
    document.instructions_line = next((n for n, text in document.body if text.strip()), None)
    for section in document.sections:
        section.instructions, _ = _read_free_text(section.body, problems, figures_allowed=False)
        for question in section.walk():
            _read_question_body(question, problems)
    return document


def _read_front_matter(lines: list[str], document: Document, problems: Problems) -> int:
    """Parse the YAML between the opening and closing ``---``; return the first body index."""
    if not lines or lines[0].rstrip() != "---":
        problems.add(1, "An exam file starts with YAML front matter: a line ---, then title: …, then ---.")
        return 0
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        problems.add(1, "The front matter opened here is never closed with a line ---.")
        return len(lines)
    for index in range(1, end):
        match = re.match(r"^([A-Za-z_][\w-]*)[ \t]*:", lines[index])
        if match:
            document.front_matter_lines[match.group(1)] = index + 1
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        problem = getattr(error, "problem", None) or str(error)
        problems.add(line, f"The front matter is not valid YAML: {problem}.")
        return end + 1
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(2, "The front matter is a list of key: value lines (title, term, date, duration, …).")
        return end + 1
    document.front_matter = {str(key): value for key, value in data.items()}
    document.has_front_matter = True
    return end + 1


def _split_structure(lines: list[str], start: int, document: Document, problems: Problems) -> None:
    """Cut the body at section and question headings and build the tree."""
    tracker = FenceTracker()
    current: list[Line] = document.body
    section: SectionBlock | None = None
    open_questions: list[QuestionBlock] = []  # the open question at each depth
    for index in range(start, len(lines)):
        number, text = index + 1, lines[index]
        if tracker.feed(text, number):
            current.append((number, text))
            continue
        heading = HEADING_RE.match(text)
        if heading is None:
            current.append((number, text))
            continue
        level = len(heading.group("hashes"))
        parsed = _read_heading(heading.group("rest"), number, level, problems)
        discarded: list[Line] = []
        current = discarded  # the body of a broken heading is not read further
        if parsed is None:
            continue
        written, title, attrs_text = parsed
        if level == 1:
            section = _open_section(written, title, attrs_text, number, document, problems)
            open_questions = []
            if section is not None:
                current = section.body
            continue
        if section is None:
            problems.add(number, f"Question {written} comes before the first section heading (# 1 Title).")
            continue
        depth = level - 1
        if depth > len(open_questions) + 1:
            above = "#" * (len(open_questions) + 2)
            problems.add(number, f"Question {written} is nested too deep: there is no {above} question above it.")
            depth = len(open_questions) + 1
        parent = open_questions[depth - 2] if depth >= 2 else None
        siblings = parent.children if parent is not None else section.questions
        expected = f"{parent.number if parent else section.number}.{len(siblings) + 1}"
        if written != expected:
            problems.add(
                number,
                f"This question is {expected} (questions are numbered in order within their section and "
                f"group), but its heading says {written}.",
            )
        elif written.count(".") + 1 != level:
            problems.add(number, f"Question {written} needs a heading of {written.count('.') + 1} #, not {level}.")
        attrs = parse_attributes(attrs_text, number, problems, section=False)
        question = QuestionBlock(line=number, depth=depth, number=expected, title=title, attrs=attrs)
        siblings.append(question)
        open_questions = [*open_questions[: depth - 1], question]
        current = question.body
    if tracker.open is not None:
        problems.add(tracker.open.line, "This code fence is never closed; close it before the next heading.")


def _read_heading(rest: str, line: int, level: int, problems: Problems) -> tuple[str, str, str | None] | None:
    attrs_match = ATTRIBUTES_RE.search(rest)
    head = rest[: attrs_match.start()] if attrs_match else rest
    match = HEADING_NUMBER_RE.match(head.strip())
    if match is None:
        problems.add(
            line,
            f"A heading that starts with a digit is a section or question heading, numbered like 3 or 3.5.1 "
            f"then a space and the title; {head.split()[0]!r} is not such a number (write \\{'#' * level} "
            f"to keep it as text).",
        )
        return None
    return (
        match.group("number"),
        (match.group("title") or "").strip(),
        attrs_match.group("attrs") if attrs_match else None,
    )


def _open_section(
    written: str, title: str, attrs_text: str | None, line: int, document: Document, problems: Problems
) -> SectionBlock | None:
    if "." in written:
        problems.add(line, f"{written} is a question number: a question heading starts with ## (# is a section).")
        return None
    number = int(written)
    previous = document.sections[-1].number if document.sections else 0
    if number <= previous:
        problems.add(
            line, f"Section {number} comes after section {previous}: sections are numbered in increasing order."
        )
    section = SectionBlock(
        line=line, number=number, title=title, attrs=parse_attributes(attrs_text, line, problems, section=True)
    )
    document.sections.append(section)
    return section


def _split_items(text: str) -> list[str]:
    """Split on the commas that are not inside parentheses."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    items.append(text[start:])
    return [" ".join(item.split()) for item in items if item.strip()]


_POINTS_RE = re.compile(r"^(?P<n>\S+) points?(?P<each> each)?$", re.IGNORECASE)
_MINUTES_RE = re.compile(r"^(?P<n>\S+) minutes?$", re.IGNORECASE)
_NAMED_RE = re.compile(r"^(?P<name>[a-z_]+)(?:\((?P<params>.*)\))?$")


def parse_attributes(text: str | None, line: int, problems: Problems, *, section: bool) -> Attributes:
    attrs = Attributes(line=line)
    if text is None:
        return attrs
    seen: set[str] = set()

    def once(what: str) -> bool:
        if what in seen:
            problems.add(line, f"The heading gives {what} twice.")
            return False
        seen.add(what)
        return True

    def refuse(message: str) -> None:
        attrs.broken = True
        problems.add(line, message)

    where = "section" if section else "question"
    for item in _split_items(text):
        lowered = item.lower()
        points = _POINTS_RE.match(item)
        minutes = _MINUTES_RE.match(item)
        named = _NAMED_RE.match(item)
        if points:
            each = bool(points.group("each"))
            if each and not section:
                refuse(f"'{item}' belongs on a section heading; a question has 'N points'.")
                continue
            value = _decimal(points.group("n"))
            if value is None:
                refuse(f"Points must be a number, e.g. '2 points' or '1.5 points'; got {points.group('n')!r}.")
            if value is not None and once("points each" if each else "points"):
                if each:
                    attrs.points_each = value
                else:
                    attrs.points = value
        elif minutes:
            if not section:
                refuse(f"'{item}' belongs on a section heading (recommended minutes).")
            elif once("minutes"):
                attrs.minutes = minutes.group("n")
        elif lowered == "floor at zero":
            if not section:
                refuse("'floor at zero' belongs on a section heading.")
            elif once("floor at zero"):
                attrs.floor_at_zero = True
        elif lowered == "extra credit":
            if section:
                refuse("'extra credit' belongs on a question or group heading, not on a section.")
            elif once("extra credit"):
                attrs.extra_credit = True
        elif named and named.group("params") is None and (named.group("name") in KINDS or item == KIND_GROUP):
            if once("the kind"):
                attrs.kind = item
        elif named and named.group("name") in POLICY_PARAMS:
            if once("the scoring policy"):
                attrs.policy = named.group("name")
                attrs.policy_params = _policy_params(named.group("params") or "", item, line, problems)
        else:
            allowed = SECTION_ITEMS if section else QUESTION_ITEMS
            refuse(
                f"Unknown {where} attribute '{item}'. Kinds: {', '.join([KIND_GROUP, *KINDS])}; policies: "
                f"{', '.join(POLICY_PARAMS)}. A {where} heading takes {allowed}.",
            )
    return attrs


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _policy_params(text: str, item: str, line: int, problems: Problems) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for part in _split_items(text):
        name, equals, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name:
            problems.add(
                line, f"Write policy parameters as name=value, e.g. negative_marking(wrong=-1, blank=0); got {item!r}."
            )
            continue
        if name in params:
            problems.add(line, f"The policy parameter {name} is given twice.")
            continue
        number = parse_number(value)
        params[name] = value if number is None else number
    return params


def _read_free_text(lines: list[Line], problems: Problems, *, figures_allowed: bool) -> tuple[str, list[FigureRef]]:
    """Instructions: Markdown, with figure lines taken out (cover page) or refused (sections)."""
    tracker = FenceTracker()
    kept: list[str] = []
    figures: list[FigureRef] = []
    for number, text in lines:
        if tracker.feed(text, number):
            kept.append(text)
        elif text.startswith(FIGURE_START):
            figure = _read_figure(number, text, problems)
            if figure is None:
                continue
            if figures_allowed:
                figures.append(figure)
            else:
                problems.add(number, "A figure belongs to a question (or to the cover page, before section 1).")
        else:
            kept.append(unescape_line(text))
    return tidy(kept), figures


def _read_figure(number: int, text: str, problems: Problems) -> FigureRef | None:
    match = FIGURE_RE.match(text)
    if match is None:
        problems.add(
            number,
            'A figure is a line of its own: ![alt text](figures/name.png "caption"), with a path without spaces '
            "or brackets and an optional caption.",
        )
        return None

    def unescape(value: str | None) -> str:
        return re.sub(r"\\(.)", r"\1", value or "")

    return FigureRef(number, match.group("path"), unescape(match.group("alt")), unescape(match.group("caption")))


def _read_question_body(question: QuestionBlock, problems: Problems) -> None:
    """Prompt (with figures), then choices, then labelled fields; see docs/exam-format.md."""
    tracker = FenceTracker()
    prompt: list[str] = []
    current: FieldBlock | None = None
    pending_blank: list[str] = []
    choice_lines: list[list[str]] = []
    after_choices_reported = False
    for number, text in question.body:
        fenced = tracker.feed(text, number)
        if current is not None and (fenced or not LABEL_RE.match(text)):
            current.lines.append((number, text, fenced))
            continue
        if not fenced:
            label = LABEL_RE.match(text)
            if label is not None:
                name = label.group("label")
                if name in question.fields:
                    first = question.fields[name].line
                    problems.add(
                        number, f"{name}: is given twice in question {question.number} (first on line {first})."
                    )
                current = FieldBlock(number, name, label.group("rest").strip())
                question.fields.setdefault(name, current)
                continue
            checkbox = CHECKBOX_RE.match(text)
            if checkbox is not None:
                question.choices.append(ChoiceLine(number, checkbox.group("mark") != " ", ""))
                choice_lines.append([(checkbox.group("rest") or "").strip()])
                pending_blank = []
                continue
        if question.choices:
            if not text.strip():
                pending_blank.append("")
            elif text[0] in " \t":  # indented: the choice goes on (a fence inside it included)
                choice_lines[-1].extend([*pending_blank, _dedent(text)])
                pending_blank = []
            elif not after_choices_reported:
                after_choices_reported = True
                problems.add(
                    number,
                    f"Text after the choices of question {question.number}: the prompt goes before the choices, "
                    "an explanation under Solution:, and a choice's further lines are indented.",
                )
            continue
        if fenced:
            prompt.append(text)
        elif text.startswith(FIGURE_START):
            figure = _read_figure(number, text, problems)
            if figure is not None:
                question.figures.append(figure)
        else:
            prompt.append(unescape_line(text))
    question.prompt = tidy(prompt)
    for choice, parts in zip(question.choices, choice_lines, strict=True):
        choice.text = tidy(parts).strip()


def _dedent(text: str) -> str:
    """A choice's continuation line, without the tab or the (up to four) spaces that attach it."""
    if text.startswith("\t"):
        return text[1:]
    indent = len(text) - len(text.lstrip(" "))
    return text[min(indent, 4) :]
