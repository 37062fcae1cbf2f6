"""A student's answer as graders (and, after release, the student) read it: exactly as written,
read-only, for any question kind.

``answer_display(question, value)`` turns a stored ``Answer.value`` into an ``AnswerDisplay``
that ``templates/grading/_answer.html`` renders (``{% include "grading/_answer.html" with
answer=display %}``). Nothing here is scored or judged: a short answer is its Markdown with
$LaTeX$ (``exams.markdown.render_markdown``, so raw HTML is escaped), a sketch is an SVG of its
strokes over the question's labelled axes, a grid is a table of its cells, a formula is its
LaTeX (printed by sympy from the safe parser) beside the text typed, and the other kinds are
text. A value the kind cannot read (data written before a config change, say) is shown as its
raw JSON with a note, never dropped.

The SVG carries its colours as presentation attributes and no ``style``, so it renders under the
site's strict Content-Security-Policy on any page, with or without a stylesheet; every text in it
(axis labels come from authors) goes through ``format_html``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from exams.expressions import parse_expression
from exams.kinds import ChoiceData, get_kind
from exams.markdown import render_markdown
from exams.models import Choice, Question
from exams.templatetags.exam_paper import markdown_inline, sketch_axes, unwrap_paragraph

BLANK = "Blank"

# Presentation attributes of the sketch (Bootstrap's palette, as grading/charts.py uses).
INK = "#212529"
MUTED = "#6c757d"
GRIDLINE = "#dee2e6"
STROKE = "#0d6efd"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@dataclass(frozen=True)
class AnswerPart:
    """One part of a short answer: ``label`` is "a" for part (a), "" when the question has no parts."""

    label: str
    html: SafeString
    blank: bool


@dataclass(frozen=True)
class AnswerChoice:
    label: str
    html: SafeString  # the choice's text, rendered Markdown without its paragraph
    chosen: bool


@dataclass(frozen=True)
class GridCellShown:
    value: str  # the symbol, or "" for a blank cell
    label: str  # "row 2, column W_13", for screen readers


@dataclass(frozen=True)
class GridShown:
    col_labels: tuple[SafeString, ...]  # empty when the question names no columns
    rows: tuple[tuple[SafeString, tuple[GridCellShown, ...]], ...]  # (row label or "", cells)
    caption: SafeString  # the question's grid_label, or "" (the table then has a hidden caption)


@dataclass(frozen=True)
class AnswerDisplay:
    """What ``templates/grading/_answer.html`` renders. Exactly one of the kind-specific fields
    is filled (for a blank answer, none).

    - ``kind``: the question kind's name; ``blank``: no answer (shown as "Blank");
    - ``summary``: one line of plain text for lists and screen readers ("B. Tanh", "True",
      "sqrt(2 - 2*D_C)", "3 strokes", the first 120 characters of a short answer);
    - ``parts``: short_answer, one per part (a single unlabelled one without parts);
    - ``svg``: sketch, the strokes over the labelled axes;
    - ``grid``: grid, its cells with their row and column labels;
    - ``math`` and ``text``: expression, the LaTeX (empty when the formula does not parse) and
      the text typed; ``text`` is also the value of numeric and true_false answers;
    - ``choices``: single_choice and multiple_select, every option with ``chosen`` set;
    - ``stored``: the value as stored (JSON), when the kind cannot read it;
    - ``note``: why a value is shown as stored, or why a formula did not parse.
    """

    kind: str
    blank: bool
    summary: str
    parts: tuple[AnswerPart, ...] = ()
    svg: SafeString | None = None
    grid: GridShown | None = None
    math: str = ""
    text: str = ""
    choices: tuple[AnswerChoice, ...] = ()
    stored: str = ""
    note: str = ""


def answer_display(question: Question, value: Any, *, choices: Iterable[Choice] | None = None) -> AnswerDisplay:
    """The answer ``value`` (an ``Answer.value``, None for blank) to ``question``, for reading.

    ``choices``: the question's choices when already fetched (one query otherwise, choice kinds only).
    """
    read = _read(question, value, choices)
    if read is None:
        return _unreadable(question.kind, value)
    config, cleaned, rows = read
    if cleaned is None:
        return AnswerDisplay(kind=question.kind, blank=True, summary=BLANK)
    return _SHOW[question.kind](config, cleaned, rows)


def answer_summary(question: Question, value: Any, *, choices: Iterable[Choice] | None = None) -> str:
    """``answer_display(...).summary`` without rendering the rest (for long lists of answers)."""
    read = _read(question, value, choices)
    if read is None:
        return _unreadable(question.kind, value).summary
    config, cleaned, rows = read
    return BLANK if cleaned is None else _summary(question.kind, config, cleaned, rows)


def _read(
    question: Question, value: Any, choices: Iterable[Choice] | None
) -> tuple[dict[str, Any], Any, list[Choice]] | None:
    """(config, the answer as its kind normalises it, the choices), or None when the kind cannot read it."""
    if question.kind not in _SHOW:
        return None
    kind = get_kind(question.kind)
    config = question.config or {}
    rows: list[Choice] = []
    if kind.uses_choices:
        rows = sorted(question.choices.all() if choices is None else choices, key=lambda c: (c.position, c.label))
    try:
        cleaned = kind.clean_answer(config, value, [ChoiceData(c.label, c.text, c.is_correct) for c in rows])
    except (ValidationError, TypeError, ValueError, KeyError):
        return None
    return config, cleaned, rows


def _summary(kind: str, config: dict[str, Any], answer: Any, choices: Sequence[Choice]) -> str:
    """One line of plain text for a (non-blank, normalised) answer."""
    if kind == "short_answer":
        texts, labels = _short_answer_texts(config, answer)
        return _clip(
            " ".join(f"({part}) {texts[part].strip() or BLANK}" if part else texts[part].strip() for part in labels)
        )
    if kind == "sketch":
        count = len(answer["strokes"])
        return f"{count} stroke{'s' if count != 1 else ''}"
    if kind == "grid":
        return " / ".join(" ".join(cell or "·" for cell in row) for row in answer)
    if kind in ("single_choice", "multiple_select"):
        chosen = {answer} if isinstance(answer, str) else set(answer)
        return _clip(", ".join(f"{c.label}. {' '.join(c.text.split())}" for c in choices if c.label in chosen))
    if kind == "numeric":
        number = str(int(answer)) if answer.is_integer() and abs(answer) < 1e15 else repr(answer)
        return f"{number} {config['unit']}" if config.get("unit") else number
    if kind == "true_false":
        return "True" if answer else "False"
    return _clip(str(answer))


def _unreadable(kind: str, value: Any) -> AnswerDisplay:
    text = json.dumps(value, ensure_ascii=False, indent=1)
    return AnswerDisplay(
        kind=kind,
        blank=False,
        summary=_clip(text),
        stored=text,
        note="This answer does not fit the question as it is now set up; it is shown as stored.",
    )


def _plain(text: str) -> str:
    """A label for an attribute: its $LaTeX$ delimiters dropped ("row $a_1$" → "row a_1")."""
    return text.replace("$", "")


def _clip(text: str, length: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1] + "…"


# --- one function per kind ------------------------------------------------------------------------


def _short_answer_texts(config: dict[str, Any], answer: Any) -> tuple[dict[str, str], list[str]]:
    """The text of each part, and the part labels in order ("" alone without parts)."""
    if not isinstance(answer, dict):
        return {"": answer}, [""]
    labels = list(config.get("parts") or [])
    labels += [label for label in answer if label not in labels]
    return {label: answer.get(label, "") for label in labels}, labels


def _short_answer(config: dict[str, Any], answer: Any, choices: Sequence[Choice]) -> AnswerDisplay:
    texts, labels = _short_answer_texts(config, answer)
    parts = tuple(
        AnswerPart(label=label, html=render_markdown(texts[label]), blank=not texts[label].strip()) for label in labels
    )
    return AnswerDisplay(
        kind="short_answer", blank=False, summary=_summary("short_answer", config, answer, choices), parts=parts
    )


def _expression(config: dict[str, Any], answer: str, choices: Sequence[Choice]) -> AnswerDisplay:
    try:
        latex, note = sympy.latex(parse_expression(answer, config.get("variables", []))), ""
    except ValidationError as error:
        latex, note = "", error.messages[0]
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        latex, note = "", "This formula could not be typeset; it is shown as typed."
    summary = _summary("expression", config, answer, choices)
    return AnswerDisplay(kind="expression", blank=False, summary=summary, math=latex, text=answer, note=note)


def _text(kind: str) -> Any:
    """Numbers and True / False: their text is all there is to show."""

    def show(config: dict[str, Any], answer: Any, choices: Sequence[Choice]) -> AnswerDisplay:
        text = _summary(kind, config, answer, choices)
        return AnswerDisplay(kind=kind, blank=False, summary=text, text=text)

    return show


def _choices(kind: str) -> Any:
    def show(config: dict[str, Any], answer: str | list[str], choices: Sequence[Choice]) -> AnswerDisplay:
        chosen = {answer} if isinstance(answer, str) else set(answer)
        options = tuple(
            AnswerChoice(label=c.label, html=unwrap_paragraph(render_markdown(c.text)), chosen=c.label in chosen)
            for c in choices
        )
        return AnswerDisplay(kind=kind, blank=False, summary=_summary(kind, config, answer, choices), choices=options)

    return show


def _grid(config: dict[str, Any], answer: list[list[str | None]], choices: Sequence[Choice]) -> AnswerDisplay:
    row_labels = config.get("row_labels") or [""] * len(answer)
    col_labels = config.get("col_labels") or []
    named_rows = config.get("row_labels") or [str(r + 1) for r in range(len(answer))]
    named_cols = col_labels or [str(c + 1) for c in range(len(answer[0]) if answer else 0)]
    rows = tuple(
        (
            markdown_inline(row_labels[r]) if row_labels[r] else SafeString(""),
            tuple(
                GridCellShown(value=cell or "", label=_plain(f"row {named_rows[r]}, column {named_cols[c]}"))
                for c, cell in enumerate(row)
            ),
        )
        for r, row in enumerate(answer)
    )
    shown = GridShown(
        col_labels=tuple(markdown_inline(label) for label in col_labels),
        rows=rows,
        caption=markdown_inline(config["grid_label"]) if config.get("grid_label") else SafeString(""),
    )
    return AnswerDisplay(kind="grid", blank=False, summary=_summary("grid", config, answer, choices), grid=shown)


def _sketch(config: dict[str, Any], answer: dict[str, Any], choices: Sequence[Choice]) -> AnswerDisplay:
    summary = _summary("sketch", config, answer, choices)
    return AnswerDisplay(kind="sketch", blank=False, summary=summary, svg=sketch_svg(config, answer["strokes"]))


_SHOW: dict[str, Any] = {
    "short_answer": _short_answer,
    "expression": _expression,
    "numeric": _text("numeric"),
    "true_false": _text("true_false"),
    "single_choice": _choices("single_choice"),
    "multiple_select": _choices("multiple_select"),
    "grid": _grid,
    "sketch": _sketch,
}


# --- the sketch as SVG ----------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate: two decimals at most, never in exponent notation or a locale's format."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def sketch_svg(config: dict[str, Any], strokes: Sequence[Sequence[Sequence[float]]]) -> SafeString:
    """The strokes (points in axis units) drawn over the question's labelled axes, the same box as
    the student's drawing area (``exams.templatetags.exam_paper.sketch_axes``). Points outside the
    axes are drawn on their edge, as the drawing area clamps them."""
    axes = sketch_axes(config)
    (x_min, x_max), (y_min, y_max) = axes["x_range"], axes["y_range"]
    left, right, top, bottom = axes["left"], axes["right"], axes["top"], axes["bottom"]

    def sx(x: float) -> float:
        return left + (min(max(x, x_min), x_max) - x_min) / (x_max - x_min) * (right - left)

    def sy(y: float) -> float:
        return bottom - (min(max(y, y_min), y_max) - y_min) / (y_max - y_min) * (bottom - top)

    x_label, y_label = str(axes["x_label"]), str(axes["y_label"])
    description = (
        f"{len(strokes)} stroke{'s' if len(strokes) != 1 else ''} drawn on axes of {y_label} "
        f"from {_range_text(y_min, y_max)} (vertical) against {x_label} from {_range_text(x_min, x_max)} "
        "(horizontal)"
    )
    gridlines = format_html_join(
        "",
        '<line x1="{}" y1="{}" x2="{}" y2="{}"/>',
        [(_n(t.at), _n(top), _n(t.at), _n(bottom)) for t in axes["x_ticks"]]
        + [(_n(left), _n(t.at), _n(right), _n(t.at)) for t in axes["y_ticks"]],
    )
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="{}"{}>{}</text>',
        [(_n(t.at), _n(bottom + 16), "middle", "", t.label) for t in axes["x_ticks"]]
        + [(_n(left - 6), _n(t.at), "end", mark_safe(' dy="0.35em"'), t.label) for t in axes["y_ticks"]],
    )
    lines = format_html_join(
        "",
        '<polyline points="{}"/>',
        [(" ".join(f"{_n(sx(x))},{_n(sy(y))}" for x, y in stroke),) for stroke in strokes if len(stroke) > 1],
    )
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5"/>',
        [(_n(sx(stroke[0][0])), _n(sy(stroke[0][1]))) for stroke in strokes if len(stroke) == 1],
    )
    return format_html(
        '<svg class="answer-sketch-svg img-fluid" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" role="img" aria-label="{desc}" font-family="{font}">'
        "<title>{desc}</title>"
        '<g class="sketch-gridlines" stroke="{grid}" stroke-width="0.5">{gridlines}</g>'
        '<rect class="sketch-frame" x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="{grid}"/>'
        '<g class="sketch-axis" stroke="{ink}" stroke-width="1.5">'
        '<line x1="{left}" y1="{xa}" x2="{right}" y2="{xa}"/><line x1="{ya}" y1="{top}" x2="{ya}" y2="{bottom}"/>'
        "</g>"
        '<g class="sketch-ticks" font-size="11" fill="{muted}" aria-hidden="true">{ticks}</g>'
        '<g class="sketch-labels" font-size="13" fill="{ink}" text-anchor="middle" aria-hidden="true">'
        '<text x="{xlx}" y="{xly}">{x_label}</text>'
        '<text x="{ylx}" y="{yly}" transform="rotate(-90 {ylx} {yly})">{y_label}</text>'
        "</g>"
        '<g class="sketch-strokes" fill="none" stroke="{stroke}" stroke-width="2.5" stroke-linecap="round" '
        'stroke-linejoin="round">{lines}</g>'
        '<g class="sketch-dots" fill="{stroke}">{dots}</g>'
        "</svg>",
        w=axes["width"],
        h=axes["height"],
        desc=description,
        font=FONT,
        grid=GRIDLINE,
        ink=INK,
        muted=MUTED,
        stroke=STROKE,
        gridlines=gridlines,
        left=_n(left),
        right=_n(right),
        top=_n(top),
        bottom=_n(bottom),
        pw=_n(axes["plot_width"]),
        ph=_n(axes["plot_height"]),
        xa=_n(axes["x_axis_at"]),
        ya=_n(axes["y_axis_at"]),
        ticks=ticks,
        xlx=_n(axes["x_label_x"]),
        xly=_n(axes["x_label_y"]),
        ylx=_n(axes["y_label_x"]),
        yly=_n(axes["y_label_y"]),
        x_label=x_label,
        y_label=y_label,
        lines=lines,
        dots=dots,
    )


def _range_text(low: float, high: float) -> str:
    return f"{low:g} to {high:g}"
