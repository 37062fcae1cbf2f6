from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from exams.kinds.base import JSON, ChoiceData, QuestionKind

MAX_SIDE = 12


def _matrix(value: Any, rows: int, cols: int, what: str) -> list[list[Any]]:
    if (
        not isinstance(value, list)
        or len(value) != rows
        or not all(isinstance(row, list) and len(row) == cols for row in value)
    ):
        raise ValidationError(f"{what} must be {rows} rows × {cols} columns, matching the grid.")
    return [list(row) for row in value]


def _side(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SIDE:
        raise ValidationError(f"grid {name} must be a whole number from 1 to {MAX_SIDE}.")
    return value


class Grid(QuestionKind):
    """A matrix of cells, each filled from a small set of symbols (e.g. the sign of dL/dW₁).

    ``beside`` is an optional matrix shown next to the grid as context (the seed shows W₁).
    """

    name = "grid"
    label = "Grid of symbols"
    policies = ("per_cell", "all_cells")
    config_fields = ("rows", "cols", "symbols", "row_labels", "col_labels", "beside", "beside_label", "grid_label")

    def clean_config(self, config: JSON) -> JSON:
        config = super().clean_config(config)
        rows, cols = _side(config.get("rows"), "rows"), _side(config.get("cols"), "cols")
        symbols = config.get("symbols")
        if (
            not isinstance(symbols, list)
            or len(symbols) < 2
            or not all(isinstance(s, str) and 0 < len(s) <= 4 for s in symbols)
            or len(set(symbols)) != len(symbols)
        ):
            raise ValidationError('grid symbols are at least two distinct short strings, e.g. ["+", "-", "0"].')
        cleaned: JSON = {"rows": rows, "cols": cols, "symbols": symbols}
        for name, length in (("row_labels", rows), ("col_labels", cols)):
            labels = config.get(name)
            if labels is not None:
                if not isinstance(labels, list) or len(labels) != length or not all(isinstance(x, str) for x in labels):
                    raise ValidationError(f"grid {name} must list {length} labels.")
                cleaned[name] = labels
        if config.get("beside") is not None:
            cleaned["beside"] = _matrix(config["beside"], rows, cols, "The matrix shown beside the grid")
        for name in ("beside_label", "grid_label"):
            if config.get(name):
                if not isinstance(config[name], str):
                    raise ValidationError(f"grid {name} is text (Markdown with $LaTeX$).")
                cleaned[name] = config[name]
        return cleaned

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        if set(key) != {"cells"}:
            raise ValidationError("A grid key is cells: one row of symbols per grid row.")
        cells = _matrix(key["cells"], config["rows"], config["cols"], "The grid key")
        symbols = config["symbols"]
        bad = sorted({str(c) for row in cells for c in row if c not in symbols})
        if bad:
            raise ValidationError(f"The grid key uses {', '.join(bad)}, which are not among the symbols {symbols}.")
        return {"cells": cells}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> list[list[str | None]] | None:
        if answer is None:
            return None
        cells = _matrix(answer, config["rows"], config["cols"], "The answer")
        symbols = config["symbols"]
        if any(c is not None and c not in symbols for row in cells for c in row):
            raise ValidationError(f"Each cell holds one of {' '.join(symbols)}, or is left empty.")
        if all(c is None for row in cells for c in row):
            return None
        return cells

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        return " / ".join(" ".join(row) for row in key.get("cells", []))
