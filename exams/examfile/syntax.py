"""The lexical pieces of the exam-file format, shared by the reader and the writer.

Keeping both directions here is what makes the format round-trip: every line shape the
reader treats as structure has its pattern here, and the writer escapes free text that
would otherwise be read as structure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# Labels that start a setting, an answer key or a solution in a question's body, in the
# order the writer prints them.
LABELS = (
    "Parts",
    "Max length",
    "Unit",
    "Variables",
    "Grid",
    "Symbols",
    "Row labels",
    "Column labels",
    "Beside",
    "Grid label",
    "X axis",
    "Y axis",
    "Answer",
    "Solution",
)
_LABEL_ALTERNATION = "|".join(re.escape(label) for label in sorted(LABELS, key=len, reverse=True))

LABEL_RE = re.compile(rf"^(?P<label>{_LABEL_ALTERNATION}):(?P<rest>(?:[ \t].*)?)$")
# A heading whose text starts with a digit is a section (#) or question (## and deeper).
HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<rest>\d.*)$")
HEADING_NUMBER_RE = re.compile(r"^(?P<number>\d+(?:\.\d+)*)(?:[ \t]+(?P<title>.*))?$")
ATTRIBUTES_RE = re.compile(r"[ \t]*\{(?P<attrs>[^{}]*)\}[ \t]*$")
CHECKBOX_RE = re.compile(r"^-[ \t]+\[(?P<mark>[ xX])\](?:[ \t]+(?P<rest>.*))?$")
CHOICE_TEXT_RE = re.compile(r"^(?P<label>[^\s:]{1,16}):(?:[ \t]+(?P<text>.*))?$", re.DOTALL)
FIGURE_START = "!["
FIGURE_RE = re.compile(
    r'^!\[(?P<alt>(?:[^\]\\]|\\.)*)\]\((?P<path>[^\s()"]+)(?:[ \t]+"(?P<caption>(?:[^"\\]|\\.)*)")?\)[ \t]*$'
)
FENCE_OPEN_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
FENCE_CLOSE_RE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*$")

# Everything that starts structure when it begins a line. Free text with such a line is
# written with one more leading backslash, and read back with one less.
_STRUCTURAL = rf"(?:#{{1,6}}[ \t]+\d|(?:{_LABEL_ALTERNATION}):(?:[ \t]|$)|-[ \t]+\[[ xX]\](?:[ \t]|$)|!\[)"
_ESCAPABLE_RE = re.compile(rf"^\\*{_STRUCTURAL}")

INT_RE = re.compile(r"^[-+]?\d+$")
FLOAT_RE = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$")
NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\S+')
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def escape_line(line: str) -> str:
    return "\\" + line if _ESCAPABLE_RE.match(line) else line


def unescape_line(line: str) -> str:
    return line[1:] if line.startswith("\\") and _ESCAPABLE_RE.match(line[1:]) else line


@dataclass
class Fence:
    char: str
    length: int
    line: int


class FenceTracker:
    """Follows CommonMark code fences, inside which no line is structure."""

    def __init__(self) -> None:
        self.open: Fence | None = None

    def feed(self, line: str, number: int = 0) -> bool:
        """Whether ``line`` belongs to a fence (its opening, content or closing line)."""
        if self.open is None:
            match = FENCE_OPEN_RE.match(line)
            if match is None:
                return False
            fence = match.group("fence")
            if fence[0] == "`" and "`" in match.group("info"):
                return False  # CommonMark: a backtick fence's info string has no backticks
            self.open = Fence(fence[0], len(fence), number)
            return True
        close = FENCE_CLOSE_RE.match(line)
        if close and close.group("fence")[0] == self.open.char and len(close.group("fence")) >= self.open.length:
            self.open = None
        return True


def escape_text(text: str) -> list[str]:
    """Free text as file lines: structural-looking lines escaped, fences left alone.

    A fence left open at the end of the text is closed, so it cannot swallow the rest of
    the file; Markdown renders the text the same either way.
    """
    tracker = FenceTracker()
    lines: list[str] = []
    for line in text.split("\n"):
        lines.append(line if tracker.feed(line) else escape_line(line))
    if tracker.open is not None:
        lines.append(tracker.open.char * tracker.open.length)
    return lines


def tidy(lines: Iterable[str]) -> str:
    """Lines joined as text, without the blank lines that surround them."""
    kept = list(lines)
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def parse_number(text: str) -> int | float | None:
    """An int for ``3`` or ``-1``, a float for ``2.5`` or ``1e-3``, else None."""
    text = text.strip()
    if INT_RE.match(text):
        return int(text)
    if FLOAT_RE.match(text):
        return float(text)
    return None


def format_number(value: int | float) -> str:
    """The inverse of ``parse_number``: floats keep a point or exponent, so they stay floats."""
    return repr(value) if isinstance(value, float) else str(value)


def format_points(value: Decimal) -> str:
    return format(value.normalize(), "f")


def split_tokens(text: str) -> list[str]:
    """Whitespace-separated cells; a cell with spaces is written as a JSON string, "like this".

    Raises ValueError for a quoted cell that is not a valid JSON string.
    """
    tokens: list[str] = []
    for raw in _TOKEN_RE.findall(text):
        if raw.startswith('"'):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                raise ValueError(f"{raw} is not a properly quoted cell") from None
            if not isinstance(value, str):
                raise ValueError(f"{raw} is not a properly quoted cell")
            tokens.append(value)
        else:
            tokens.append(raw)
    return tokens


def split_values(text: str) -> list[Any]:
    """Like ``split_tokens``, but bare numbers, true, false and null become JSON values."""
    values: list[Any] = []
    for raw, token in zip(_TOKEN_RE.findall(text), split_tokens(text), strict=True):
        if raw.startswith('"'):
            values.append(token)
        elif token in _LITERALS:
            values.append(_LITERALS[token])
        else:
            number = parse_number(token)
            values.append(token if number is None else number)
    return values


def format_token(value: str) -> str:
    if value and not re.search(r"\s", value) and not value.startswith('"'):
        return value
    return json.dumps(value, ensure_ascii=False)


def format_value(value: Any) -> str:
    """The inverse of ``split_values`` for one cell."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return format_number(value)
    text = str(value)
    if text in _LITERALS or parse_number(text) is not None:
        return json.dumps(text, ensure_ascii=False)
    return format_token(text)


def format_row(cells: list[str], widths: list[int]) -> str:
    return "    " + "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))


def format_matrix(rows: list[list[str]]) -> list[str]:
    """Rows of already formatted cells, right-aligned in columns and indented four spaces."""
    if not rows:
        return []
    width = max(len(row) for row in rows)
    widths = [max((len(row[i]) for row in rows if i < len(row)), default=1) for i in range(width)]
    return [format_row(row, widths[: len(row)]) for row in rows]
