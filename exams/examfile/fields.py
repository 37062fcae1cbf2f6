"""The labelled fields of a question body, both ways: file text ↔ the kinds' config and key.

Readers turn a field into the plain dict a kind's ``clean_config`` or ``clean_key``
receives; they check syntax only (is this a number, a rows × columns size) and leave every
rule about values to the kinds. Writers print what the readers read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from exams.examfile.parser import FieldBlock
from exams.examfile.syntax import (
    NUMBER,
    escape_text,
    format_matrix,
    format_number,
    format_token,
    format_value,
    parse_number,
    split_tokens,
    split_values,
)

JSON = dict[str, Any]


class FieldSyntaxError(ValueError):
    """A field the reader cannot make sense of; the message says how to write it."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


# ---------------------------------------------------------------- reading


def _one_line(block: FieldBlock) -> str:
    value = block.single_line()
    if value is None:
        raise FieldSyntaxError(f"{block.label}: takes a single line; the text below it belongs to no field.")
    return value


def _names(block: FieldBlock) -> list[str]:
    """``a, b`` or ``(a) (b)`` or ``D_C``: names separated by commas or spaces."""
    return re.findall(r"[^\s,()]+", _one_line(block))


def _tokens(block: FieldBlock) -> list[str]:
    try:
        return split_tokens(_one_line(block))
    except ValueError as error:
        raise FieldSyntaxError(f"{block.label}: {error}.") from None


def _integer_or_text(text: str) -> int | str:
    number = parse_number(text)
    return number if isinstance(number, int) else text


def _grid_size(block: FieldBlock) -> JSON:
    match = re.match(r"^(\d+)\s*[×xX*]\s*(\d+)$", _one_line(block))
    if match is None:
        raise FieldSyntaxError("Grid: is the size as rows × columns, e.g. Grid: 3 × 3.")
    return {"rows": int(match.group(1)), "cols": int(match.group(2))}


def _matrix(block: FieldBlock, *, values: bool) -> list[list[Any]]:
    rows = ([(block.line, block.rest)] if block.rest and not values else []) + block.rows()
    matrix: list[list[Any]] = []
    for line, text in rows:
        try:
            matrix.append(split_values(text) if values else split_tokens(text))
        except ValueError as error:
            raise FieldSyntaxError(f"{block.label}: {error}.", line) from None
    return matrix


def _beside(block: FieldBlock) -> JSON:
    config: JSON = {}
    if block.rest:
        config["beside_label"] = block.rest
    matrix = _matrix(block, values=True)
    if matrix:
        config["beside"] = matrix
    if not config:
        raise FieldSyntaxError("Beside: takes a label on its line (e.g. $W_1$) and the matrix's rows below it.")
    return config


_AXIS_RANGE_RE = re.compile(rf"^\s*,\s*(?P<low>{NUMBER})\s+to\s+(?P<high>{NUMBER})\s*$")
_AXIS_RE = re.compile(rf"^(?P<label>.*?)(?:\s*,\s*(?P<low>{NUMBER})\s+to\s+(?P<high>{NUMBER}))?\s*$")


def _axis(axis: str) -> Callable[[FieldBlock], JSON]:
    def read(block: FieldBlock) -> JSON:
        text = _one_line(block)
        if text.startswith('"'):
            try:
                label, end = json.JSONDecoder().raw_decode(text)
            except json.JSONDecodeError:
                label, end = None, 0
            match = _AXIS_RANGE_RE.match(text[end:]) if text[end:].strip() else None
            if not isinstance(label, str) or (text[end:].strip() and match is None):
                raise FieldSyntaxError(f'{block.label}: is the label, then the range: {block.label}: "label", -3 to 3.')
        else:
            match = _AXIS_RE.match(text)  # the pattern accepts any line
            label = match.group("label") if match else text
        config: JSON = {f"{axis}_label": label}
        if match is not None and match.group("low") is not None:
            config[f"{axis}_min"] = parse_number(match.group("low"))
            config[f"{axis}_max"] = parse_number(match.group("high"))
        return config

    return read


SETTING_READERS: dict[str, Callable[[FieldBlock], JSON]] = {
    "Parts": lambda block: {"parts": _names(block)},
    "Max length": lambda block: {"max_length": _integer_or_text(_one_line(block))},
    "Unit": lambda block: {"unit": _one_line(block)},
    "Variables": lambda block: {"variables": _names(block)},
    "Grid": _grid_size,
    "Symbols": lambda block: {"symbols": _tokens(block)},
    "Row labels": lambda block: {"row_labels": _tokens(block)},
    "Column labels": lambda block: {"col_labels": _tokens(block)},
    "Beside": _beside,
    "Grid label": lambda block: {"grid_label": _one_line(block)},
    "X axis": _axis("x"),
    "Y axis": _axis("y"),
}

_NUMERIC_RE = re.compile(
    rf"^(?P<value>{NUMBER})(?:\s*(?:±|\+/-|\+-)\s*(?P<tolerance>{NUMBER})\s*(?P<relative>%|relative)?)?$"
)


def _numeric_key(block: FieldBlock) -> JSON:
    text = _one_line(block)
    match = _NUMERIC_RE.match(text)
    if match is None:
        raise FieldSyntaxError(
            f"Write a numeric answer as 42, 42 ± 0.5 (absolute tolerance) or 42 ± 2% (relative); got {text!r}."
        )
    key: JSON = {"value": parse_number(match.group("value"))}
    tolerance = parse_number(match.group("tolerance") or "")
    if tolerance is not None:
        relative = match.group("relative")
        key["tolerance"] = tolerance / 100 if relative == "%" else tolerance
        key["mode"] = "relative" if relative else "absolute"
    return key


def _grid_key(block: FieldBlock) -> JSON:
    return {"cells": _matrix(block, values=False)}


ANSWER_READERS: dict[str, Callable[[FieldBlock], JSON]] = {
    "numeric": _numeric_key,
    "expression": lambda block: {"expression": _one_line(block)},
    "grid": _grid_key,
    "short_answer": lambda block: {"model_answer": block.text()},
    "sketch": lambda block: {"description": block.text()},
}


def read_setting(block: FieldBlock) -> JSON:
    return SETTING_READERS[block.label](block)


def read_answer(kind: str, block: FieldBlock) -> JSON:
    reader = ANSWER_READERS.get(kind)
    if reader is None:
        raise FieldSyntaxError(f"A {kind} question has no Answer: field; its answer is the checked box (- [x]).")
    return reader(block)


# ---------------------------------------------------------------- writing


def text_field(label: str, text: str) -> list[str]:
    """``Label: text`` for one plain line, else the label alone and the text below it."""
    if not text:
        return []
    if "\n" not in text and text == text.strip():
        return [f"{label}: {text}"]
    return [f"{label}:", *escape_text(text)]


def _axis_label(label: str) -> str:
    if not label or "," in label or label.startswith('"') or label != label.strip():
        return json.dumps(label, ensure_ascii=False)
    return label


def _short_number(value: Any) -> str:
    """A numeric key's value: the kind stores floats, so 42.0 may print as 42."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format_number(value)


def _percent(tolerance: float) -> str | None:
    for digits in range(1, 18):
        text = f"{tolerance * 100:.{digits}g}"
        if float(text) / 100 == tolerance:
            return f"{text}%"
    return None


def _axis_line(label: str, axis: str, config: JSON) -> str:
    line = f"{label}: {_axis_label(config.get(f'{axis}_label', axis))}"
    if f"{axis}_min" in config:
        line += f", {format_number(config[f'{axis}_min'])} to {format_number(config[f'{axis}_max'])}"
    return line


SettingWriter = tuple[tuple[str, ...], Callable[[JSON], list[str]]]

SETTING_WRITERS: list[SettingWriter] = [
    (("parts",), lambda c: [f"Parts: {', '.join(c['parts'])}"] if c.get("parts") else []),
    (("max_length",), lambda c: [f"Max length: {c['max_length']}"]),
    (("unit",), lambda c: [f"Unit: {c['unit']}"] if c.get("unit") else []),
    (("variables",), lambda c: [f"Variables: {', '.join(c['variables'])}"] if c.get("variables") else []),
    (("rows", "cols"), lambda c: [f"Grid: {c.get('rows')} × {c.get('cols')}"]),
    (("symbols",), lambda c: [f"Symbols: {' '.join(format_token(s) for s in c['symbols'])}"]),
    (("row_labels",), lambda c: [f"Row labels: {' '.join(format_token(s) for s in c['row_labels'])}"]),
    (("col_labels",), lambda c: [f"Column labels: {' '.join(format_token(s) for s in c['col_labels'])}"]),
    (
        ("beside_label", "beside"),
        lambda c: [
            f"Beside: {c.get('beside_label', '')}".rstrip(),
            *format_matrix([[format_value(v) for v in row] for row in c.get("beside") or []]),
        ],
    ),
    (("grid_label",), lambda c: [f"Grid label: {c['grid_label']}"]),
    (("x_label", "x_min", "x_max"), lambda c: [_axis_line("X axis", "x", c)]),
    (("y_label", "y_min", "y_max"), lambda c: [_axis_line("Y axis", "y", c)]),
]


def setting_lines(config: JSON) -> list[str]:
    """The settings of a question, one label per line (Beside: with its matrix below)."""
    covered = {name for names, _ in SETTING_WRITERS for name in names}
    unknown = sorted(set(config) - covered)
    if unknown:
        raise ValueError(f"The exam-file format has no field for the setting(s) {', '.join(unknown)}.")
    lines: list[str] = []
    for names, write in SETTING_WRITERS:
        if any(name in config for name in names):
            lines.extend(write(config))
    return lines


def _numeric_answer(key: JSON) -> list[str]:
    value = _short_number(key["value"])
    tolerance = key.get("tolerance", 0)
    mode = key.get("mode", "absolute")
    if mode == "absolute":
        return [f"Answer: {value} ± {_short_number(tolerance)}" if tolerance else f"Answer: {value}"]
    percent = _percent(tolerance)
    spread = percent if percent is not None else f"{format_number(tolerance)} relative"
    return [f"Answer: {value} ± {spread}"]


def _grid_answer(key: JSON) -> list[str]:
    return ["Answer:", *format_matrix([[format_token(cell) for cell in row] for row in key["cells"]])]


ANSWER_WRITERS: dict[str, Callable[[JSON], list[str]]] = {
    "numeric": _numeric_answer,
    "expression": lambda key: [f"Answer: {key['expression']}"],
    "grid": _grid_answer,
    "short_answer": lambda key: text_field("Answer", key.get("model_answer", "")),
    "sketch": lambda key: text_field("Answer", key.get("description", "")),
}


def answer_lines(kind: str, key: JSON) -> list[str]:
    if not key:
        return []
    writer = ANSWER_WRITERS.get(kind)
    if writer is None:
        raise ValueError(f"The exam-file format has no Answer: field for a {kind} question.")
    return writer(key)
