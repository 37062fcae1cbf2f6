"""Template helpers for the exam paper (preview and sitting pages share the widget templates)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from exams.markdown import render_markdown

register = template.Library()


@register.filter
def unwrap_paragraph(html: SafeString) -> SafeString:
    """Rendered Markdown of one paragraph without its <p>, to sit inside a <label>."""
    text = str(html).strip()
    if text.startswith("<p>") and text.endswith("</p>") and text.count("<p>") == 1:
        return mark_safe(text[3:-4])  # noqa: S308 — a slice of already-safe HTML
    return html


@register.filter
def markdown_inline(text: str) -> SafeString:
    """Markdown with $LaTeX$ for a short label (grid captions and headers)."""
    return unwrap_paragraph(render_markdown(str(text)))


@register.filter
def heading_level(depth: int) -> int:
    """h3 for a top-level question, one deeper per level of nesting, at most h6."""
    return min(6, 3 + int(depth))


@dataclass(frozen=True)
class GridCell:
    row: int
    col: int
    label: str  # the accessible name, e.g. "row 2, column W_13"


@dataclass(frozen=True)
class GridRow:
    index: int
    label: str
    cells: list[GridCell]


@register.simple_tag
def grid_layout(config: dict[str, Any]) -> dict[str, Any]:
    """Rows of cells for a grid question; indices are 0-based, as in the answer matrix."""
    rows, cols = int(config["rows"]), int(config["cols"])
    row_labels = config.get("row_labels") or [str(r + 1) for r in range(rows)]
    col_labels = config.get("col_labels") or [str(c + 1) for c in range(cols)]
    return {
        "rows": [
            GridRow(
                index=r,
                label=row_labels[r],
                cells=[GridCell(r, c, f"row {row_labels[r]}, column {col_labels[c]}") for c in range(cols)],
            )
            for r in range(rows)
        ],
        "col_labels": col_labels,
        "show_row_labels": bool(config.get("row_labels")),
        "show_col_labels": bool(config.get("col_labels")),
    }


@dataclass(frozen=True)
class Tick:
    at: float  # position in SVG units
    label: str


# The drawing area of a sketch, in SVG units; the sitting page's canvas uses the same box.
SKETCH_WIDTH, SKETCH_HEIGHT = 400, 300
SKETCH_LEFT, SKETCH_RIGHT, SKETCH_TOP, SKETCH_BOTTOM = 56, 384, 16, 248


def _step(span: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ tick step that gives at most 10 intervals."""
    raw = span / 10
    power = 10 ** math.floor(math.log10(raw))
    return next(factor * power for factor in (1, 2, 5, 10) if factor * power >= raw)


def _ticks(low: float, high: float, to_svg: Any) -> list[Tick]:
    step = _step(high - low)
    first = math.ceil(low / step)
    return [Tick(round(to_svg(i * step), 2), f"{i * step:g}") for i in range(first, math.floor(high / step) + 1)]


@register.simple_tag
def sketch_axes(config: dict[str, Any]) -> dict[str, Any]:
    """Geometry of a sketch question's labelled axes, in SVG units (y grows downwards)."""
    x_min, x_max = float(config.get("x_min", -5)), float(config.get("x_max", 5))
    y_min, y_max = float(config.get("y_min", -5)), float(config.get("y_max", 5))

    def sx(x: float) -> float:
        return SKETCH_LEFT + (x - x_min) / (x_max - x_min) * (SKETCH_RIGHT - SKETCH_LEFT)

    def sy(y: float) -> float:
        return SKETCH_BOTTOM - (y - y_min) / (y_max - y_min) * (SKETCH_BOTTOM - SKETCH_TOP)

    # Each axis crosses the other at 0 when 0 is in range, else at the edge of the box.
    x_axis_at = round(sy(min(max(0.0, y_min), y_max)), 2)
    y_axis_at = round(sx(min(max(0.0, x_min), x_max)), 2)
    return {
        "width": SKETCH_WIDTH,
        "height": SKETCH_HEIGHT,
        "left": SKETCH_LEFT,
        "right": SKETCH_RIGHT,
        "top": SKETCH_TOP,
        "bottom": SKETCH_BOTTOM,
        "plot_width": SKETCH_RIGHT - SKETCH_LEFT,
        "plot_height": SKETCH_BOTTOM - SKETCH_TOP,
        "x_axis_at": x_axis_at,
        "y_axis_at": y_axis_at,
        "x_ticks": _ticks(x_min, x_max, sx),
        "y_ticks": _ticks(y_min, y_max, sy),
        "x_label": config.get("x_label", "x"),
        "y_label": config.get("y_label", "y"),
        "x_label_x": (SKETCH_LEFT + SKETCH_RIGHT) / 2,
        "x_label_y": SKETCH_HEIGHT - 10,
        "y_label_x": 16,
        "y_label_y": (SKETCH_TOP + SKETCH_BOTTOM) / 2,
        "x_range": (x_min, x_max),
        "y_range": (y_min, y_max),
    }
