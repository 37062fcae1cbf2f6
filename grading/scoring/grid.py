"""Policies for grids of symbols: ``per_cell`` (each right cell earns its share) and ``all_cells``."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grading.scoring.core import QuestionSpec, Score, UnreadableAnswer, format_points


def right_cells(spec: QuestionSpec, answer: Any) -> tuple[int, int] | None:
    """(cells right, cells in all) of a grid answer, or ``None`` when it is blank.

    An empty cell is never right. An answer whose shape differs from the key's, or a cell
    holding something other than a symbol or nothing, is not an answer to this question.
    """
    key = spec.key.get("cells") or []
    cells = sum(len(row) for row in key)
    if answer is None:
        return None
    shape = [len(row) for row in key]
    if not isinstance(answer, list) or [len(row) if isinstance(row, list) else -1 for row in answer] != shape:
        raise UnreadableAnswer(f"the grid has {len(key)} rows of {len(key[0]) if key else 0} cells")
    symbols = spec.config.get("symbols") or []
    if any(cell is not None and cell not in symbols for row in answer for cell in row):
        raise UnreadableAnswer(f"each cell holds one of {' '.join(symbols)} or nothing")
    if all(cell is None for row in answer for cell in row):
        return None
    right = sum(
        1
        for row, key_row in zip(answer, key, strict=True)
        for cell, expected in zip(row, key_row, strict=True)
        if cell is not None and cell == expected
    )
    return right, cells


def per_cell_points(*, points: Fraction, right: int | Fraction, cells: int) -> Fraction:
    """``points`` split evenly over the cells; ``right`` may be an expected count (guessing)."""
    return points * Fraction(right) / cells


def per_cell(spec: QuestionSpec, answer: Any) -> Score:
    """Each right cell earns points/cells; empty and wrong cells earn nothing. Blank is 0."""
    counted = right_cells(spec, answer)
    if counted is None:
        return spec.blank()
    right, cells = counted
    points = per_cell_points(points=Fraction(spec.points), right=right, cells=cells)
    return spec.score(points, f"{right} of {cells} cells right: {format_points(points, signed=True)}")


def all_cells(spec: QuestionSpec, answer: Any) -> Score:
    """Full points when every cell is right, else 0. Blank is 0."""
    counted = right_cells(spec, answer)
    if counted is None:
        return spec.blank()
    right, cells = counted
    if right == cells:
        return spec.score(spec.points, f"All {cells} cells right: {format_points(spec.points, signed=True)}")
    return spec.score(0, f"{right} of {cells} cells right; every cell must be right: 0")
