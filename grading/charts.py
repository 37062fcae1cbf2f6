"""The results page's charts, drawn on the server as SVG.

Pure functions from the statistics JSON a ``GradingJob`` keeps (``grading.results``) to SVG
markup: no ORM, no script, and no ``style`` attribute or element, which the site's
Content-Security-Policy (``style-src 'self'``) would drop. Colours are SVG presentation
attributes (``fill=``, ``stroke=``), so a chart renders the same with or without the page's
stylesheet; the classes are hooks for ``static/grading/results.css`` and for tests.

Every piece of text, a question number or an option label typed by an author included, goes
through ``format_html``, so it can never become markup. Each chart is ``role="img"`` with an
``aria-label``, a ``<title>`` and a ``<desc>`` that states its data in words; each bar and
point carries its own ``<title>``, which browsers show as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from grading.statistics import FLAG_MAX_FACILITY, FLAG_MIN_FACILITY

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK = "#212529"
MUTED = "#6c757d"
GRID = "#dee2e6"
BAR = "#0d6efd"
TOP_GROUP = "#0a58ca"
BOTTOM_GROUP = "#adb5bd"
CORRECT_BACKGROUND = "#d1e7dd"
FLAGGED = "#d63384"
MAX_X_LABELS = 11


# --- small helpers ------------------------------------------------------------------------------


def _n(value: float) -> str:
    """A coordinate: two decimals at most, never in exponent notation or a locale's format."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _g(value: float) -> str:
    """A number as people read it on an axis: 2.5, 10, -1."""
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


def _percent(fraction: float | None) -> str:
    return "–" if fraction is None else f"{100 * fraction:.0f}%"


def _join(parts: Iterable[SafeString]) -> SafeString:
    """Concatenate pieces that ``format_html`` built (so already escaped)."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _svg(
    *, chart_id: str, width: int, height: int, label: str, desc: str, body: Iterable[SafeString], css: str
) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart {}" id="{}" viewBox="0 0 {} {}" '
        'width="{}" height="{}" role="img" aria-label="{}" aria-describedby="{}-desc" '
        'font-family="{}" font-size="12" fill="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        css,
        chart_id,
        width,
        height,
        width,
        height,
        label,
        chart_id,
        FONT,
        INK,
        chart_id,
        label,
        chart_id,
        desc,
        _join(body),
    )


def _count_step(highest: int) -> int:
    """A round step (1, 2, 5, 10, 20, 50 …) giving at most five ticks up to ``highest``."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if math.ceil(highest / step) <= 5:
                return step
        magnitude *= 10


def _sittings(count: int) -> str:
    return f"{count} sitting" if count == 1 else f"{count} sittings"


# --- the histogram of totals --------------------------------------------------------------------


def histogram_svg(
    histogram: Mapping[str, Any], *, max_total: float | None = None, chart_id: str = "histogram"
) -> SafeString:
    """Bars of the totals' histogram (``{"edges": [...], "counts": [...]}``), one per bin.

    Bin i holds totals from ``edges[i]`` up to, not including, ``edges[i + 1]`` (the last
    bin includes its right edge). ``max_total``, when inside the range (extra credit or a
    negative total widened it), is marked with a dashed line.
    """
    edges = [float(edge) for edge in histogram["edges"]]
    counts = [int(count) for count in histogram["counts"]]
    if len(edges) != len(counts) + 1 or not counts:
        raise ValueError("A histogram needs one more edge than counts, and at least one bin.")
    width, height = 640, 300
    left, right, top, bottom = 56, 16, 16, 56
    plot_width, plot_height = width - left - right, height - top - bottom
    low, high = edges[0], edges[-1]
    span = (high - low) or 1.0
    step = _count_step(max(counts) or 1)
    ceiling = step * max(1, math.ceil(max(counts) / step))

    def x(value: float) -> float:
        return left + (value - low) / span * plot_width

    def y(count: float) -> float:
        return top + plot_height - count / ceiling * plot_height

    body: list[SafeString] = []
    for tick in range(0, ceiling + 1, step):
        body.append(_y_gridline(left=left, width=plot_width, y=y(tick), label=tick))
    last = len(counts) - 1
    bin_labels = []
    for index, count in enumerate(counts):
        start, end = edges[index], edges[index + 1]
        bar_left, bar_right = x(start), x(end)
        gap = 1.0 if bar_right - bar_left > 4 else 0.0
        closing = "including" if index == last else "under"
        bin_labels.append(f"{_g(start)} to {closing} {_g(end)}: {count}")
        body.append(
            format_html(
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                "<title>Totals from {} to {} {}: {}</title></rect>",
                _n(bar_left + gap),
                _n(y(count)),
                _n(max(bar_right - bar_left - 2 * gap, 0.5)),
                _n(plot_height * count / ceiling),
                BAR,
                _g(start),
                closing,
                _g(end),
                _sittings(count),
            )
        )
    stride = max(1, math.ceil(len(edges) / MAX_X_LABELS))
    for index in range(0, len(edges), stride):
        body.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" aria-hidden="true">{}</text>',
                _n(x(edges[index])),
                top + plot_height + 16,
                _g(edges[index]),
            )
        )
    if max_total is not None and low < max_total < high:
        body.append(
            format_html(
                '<line class="chart-guide" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-dasharray="4 3"/>'
                '<text x="{}" y="{}" text-anchor="end" fill="{}" aria-hidden="true">maximum {}</text>',
                _n(x(max_total)),
                top,
                _n(x(max_total)),
                top + plot_height,
                MUTED,
                _n(x(max_total) - 4),
                top + 10,
                MUTED,
                _g(max_total),
            )
        )
    body.append(_axes(left=left, top=top, plot_width=plot_width, plot_height=plot_height))
    body.append(
        format_html(
            '<text x="{}" y="{}" text-anchor="middle" aria-hidden="true">Total points</text>'
            '<text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})" aria-hidden="true">Sittings</text>',
            _n(left + plot_width / 2),
            height - 12,
            16,
            _n(top + plot_height / 2),
            16,
            _n(top + plot_height / 2),
        )
    )
    total = sum(counts)
    label = f"Histogram of the totals of {_sittings(total)}"
    desc = (
        f"{len(counts)} bins of {_g(edges[1] - edges[0])} points from {_g(low)} to {_g(high)}. "
        "Sittings per bin: " + "; ".join(bin_labels) + "."
    )
    return _svg(chart_id=chart_id, width=width, height=height, label=label, desc=desc, body=body, css="chart-histogram")


def _axes(*, left: float, top: float, plot_width: float, plot_height: float) -> SafeString:
    return format_html(
        '<path class="chart-axis" d="M{} {}V{}H{}" fill="none" stroke="{}"/>',
        _n(left),
        _n(top),
        _n(top + plot_height),
        _n(left + plot_width),
        INK,
    )


# --- distractor analysis: option shares of the top and bottom groups -----------------------------


def option_bars_svg(distractors: Mapping[str, Any], *, number: str, chart_id: str) -> SafeString:
    """Two bars per option of a choice question: the share of the top and of the bottom 27%.

    ``distractors`` is a question's ``distractors`` entry (``group_size``, ``options`` of
    ``{label, top, bottom}`` fractions, ``top_blank``, ``bottom_blank``, ``correct``). A
    correct option is marked by a tinted row, bold type and the words "✓ correct", never by
    colour alone; a row for blank answers follows the options when the shares are known.
    """
    correct = {str(label) for label in distractors.get("correct") or []}
    rows: list[tuple[str, float | None, float | None, bool]] = [
        (str(option["label"]), option.get("top"), option.get("bottom"), str(option["label"]) in correct)
        for option in distractors.get("options") or []
    ]
    if distractors.get("top_blank") is not None or distractors.get("bottom_blank") is not None:
        rows.append(("Blank", distractors.get("top_blank"), distractors.get("bottom_blank"), False))
    group = int(distractors.get("group_size") or 0)

    width = 560
    left, right, top = 96, 96, 36
    bar_height, row_height = 12, 34
    plot_width = width - left - right
    plot_height = row_height * len(rows)
    height = top + plot_height + 28

    def x(fraction: float) -> float:
        return left + min(max(fraction, 0.0), 1.0) * plot_width

    body: list[SafeString] = [
        format_html(
            '<rect x="{}" y="4" width="12" height="12" fill="{}"/><text x="{}" y="14">Top 27% ({})</text>'
            '<rect x="{}" y="4" width="12" height="12" fill="{}"/><text x="{}" y="14">Bottom 27% ({})</text>',
            left,
            TOP_GROUP,
            left + 18,
            _sittings(group),
            left + 190,
            BOTTOM_GROUP,
            left + 208,
            _sittings(group),
        )
    ]
    for tick in (0, 25, 50, 75, 100):
        body.append(
            format_html(
                '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
                '<text x="{}" y="{}" text-anchor="middle" aria-hidden="true">{}%</text>',
                _n(x(tick / 100)),
                top,
                _n(x(tick / 100)),
                top + plot_height,
                GRID,
                _n(x(tick / 100)),
                top + plot_height + 16,
                tick,
            )
        )
    described = []
    for index, (label, top_share, bottom_share, is_correct) in enumerate(rows):
        row_top = top + index * row_height
        if is_correct:
            body.append(
                format_html(
                    '<rect class="chart-correct-row" x="0" y="{}" width="{}" height="{}" fill="{}"/>',
                    row_top + 1,
                    width,
                    row_height - 2,
                    CORRECT_BACKGROUND,
                )
            )
        body.append(
            format_html(
                '<text class="chart-option-label{}" x="8" y="{}" font-weight="{}">{}'
                '<tspan x="8" dy="1.2em" font-size="11">{}</tspan></text>',
                " chart-correct" if is_correct else "",
                row_top + 14,
                "bold" if is_correct else "normal",
                label,
                "✓ correct" if is_correct else "",
            )
        )
        for offset, (group_name, share, colour) in enumerate(
            (("Top 27%", top_share, TOP_GROUP), ("Bottom 27%", bottom_share, BOTTOM_GROUP))
        ):
            bar_top = row_top + 4 + offset * (bar_height + 2)
            value = 0.0 if share is None else float(share)
            body.append(
                format_html(
                    '<rect class="chart-bar chart-bar-{}" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}: {} of the {} chose {}</title></rect>"
                    '<text x="{}" y="{}" dy="0.35em" font-size="11" aria-hidden="true">{} {}</text>',
                    "top" if offset == 0 else "bottom",
                    left,
                    bar_top,
                    _n(x(value) - left),
                    bar_height,
                    colour,
                    label,
                    _percent(share),
                    group_name.lower(),
                    "nothing" if label == "Blank" else label,
                    _n(x(value) + 4),
                    _n(bar_top + bar_height / 2),
                    "top" if offset == 0 else "bottom",
                    _percent(share),
                )
            )
        described.append(
            f"{label}{' (correct)' if is_correct else ''}: top {_percent(top_share)}, bottom {_percent(bottom_share)}"
        )
    body.append(_axes(left=left, top=top, plot_width=plot_width, plot_height=plot_height))
    label = f"Options chosen in question {number} by the top and bottom 27% of sittings"
    desc = (
        f"Each group holds {_sittings(group)}. Correct: {', '.join(sorted(correct)) or 'none'}. "
        + "; ".join(described)
        + "."
    )
    return _svg(chart_id=chart_id, width=width, height=height, label=label, desc=desc, body=body, css="chart-options")


# --- facility against discrimination ------------------------------------------------------------


def facility_discrimination_svg(questions: Sequence[Mapping[str, Any]], *, chart_id: str = "scatter") -> SafeString:
    """One point per question: facility (x, 0–100%) against discrimination index (y, −100..100).

    ``questions`` are the statistics' question entries (``number``, ``facility`` as a
    fraction, ``discrimination_index`` in percent, ``flags``). A flagged question is drawn as
    a diamond, the others as circles, each labelled with its number. Dashed guides mark the
    flag thresholds: facility 10% and 95%, discrimination 0. Questions lacking either value
    (nobody's score varied) are not plotted; the description names them.
    """
    width, height = 800, 500
    left, right, top, bottom = 64, 24, 16, 56
    plot_width, plot_height = width - left - right, height - top - bottom

    def x(fraction: float) -> float:
        return left + min(max(fraction, 0.0), 1.0) * plot_width

    def y(index: float) -> float:
        return top + (100 - min(max(index, -100.0), 100.0)) / 200 * plot_height

    body: list[SafeString] = []
    for tick in range(0, 101, 20):
        body.append(
            format_html(
                '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
                '<text x="{}" y="{}" text-anchor="middle" aria-hidden="true">{}%</text>',
                _n(x(tick / 100)),
                top,
                _n(x(tick / 100)),
                top + plot_height,
                GRID,
                _n(x(tick / 100)),
                top + plot_height + 16,
                tick,
            )
        )
    for tick in range(-100, 101, 50):
        body.append(_y_gridline(left=left, width=plot_width, y=y(tick), label=tick))
    for guide in (FLAG_MIN_FACILITY, FLAG_MAX_FACILITY):
        body.append(
            format_html(
                '<line class="chart-guide" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-dasharray="4 3"/>'
                '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="{}" aria-hidden="true">{}</text>',
                _n(x(guide)),
                top,
                _n(x(guide)),
                top + plot_height,
                MUTED,
                _n(x(guide)),
                top + plot_height - 4,
                MUTED,
                _percent(guide),
            )
        )
    body.append(
        format_html(
            '<line class="chart-guide" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-dasharray="4 3"/>',
            left,
            _n(y(0)),
            left + plot_width,
            _n(y(0)),
            MUTED,
        )
    )
    body.append(_axes(left=left, top=top, plot_width=plot_width, plot_height=plot_height))
    body.append(
        format_html(
            '<text x="{}" y="{}" text-anchor="middle" aria-hidden="true">Facility (share of the marks earned)</text>'
            '<text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})" aria-hidden="true">'
            "Discrimination index</text>",
            _n(left + plot_width / 2),
            height - 12,
            16,
            _n(top + plot_height / 2),
            16,
            _n(top + plot_height / 2),
        )
    )

    plotted, flagged, missing = [], [], []
    for question in questions:
        number = str(question.get("number", ""))
        facility, discrimination = question.get("facility"), question.get("discrimination_index")
        if facility is None or discrimination is None:
            missing.append(number)
            continue
        flags = [str(flag) for flag in question.get("flags") or []]
        px, py = x(float(facility)), y(float(discrimination))
        words = f"{number}: facility {_percent(float(facility))}, discrimination {float(discrimination):.0f}"
        if flags:
            flagged.append(number)
            words += " (" + "; ".join(flags) + ")"
            marker = format_html(
                '<path d="M{} {}l6 6l-6 6l-6 -6z" fill="{}" stroke="{}"/>', _n(px), _n(py - 6), FLAGGED, INK
            )
        else:
            marker = format_html('<circle cx="{}" cy="{}" r="4.5" fill="{}"/>', _n(px), _n(py), BAR)
        plotted.append(words)
        body.append(
            format_html(
                '<g class="chart-point{}"><title>{}</title>{}<text x="{}" y="{}" font-size="11">{}</text></g>',
                " chart-flagged" if flags else "",
                words,
                marker,
                _n(px + 7),
                _n(py - 5),
                number,
            )
        )
    legend_x = left + plot_width - 170
    body.append(
        format_html(
            '<circle cx="{}" cy="{}" r="4.5" fill="{}"/><text x="{}" y="{}" dy="0.35em">question</text>'
            '<path d="M{} {}l6 6l-6 6l-6 -6z" fill="{}" stroke="{}"/>'
            '<text x="{}" y="{}" dy="0.35em">flagged question</text>',
            legend_x,
            top + 12,
            BAR,
            legend_x + 10,
            top + 12,
            legend_x + 84,
            top + 6,
            FLAGGED,
            INK,
            legend_x + 94,
            top + 12,
        )
    )
    label = "Facility against discrimination index, one point per question"
    desc = "Dashed guides at facility 10% and 95% and at discrimination 0. "
    desc += ("Points: " + "; ".join(plotted) + ".") if plotted else "No question could be plotted."
    if flagged:
        desc += " Flagged: " + ", ".join(flagged) + "."
    if missing:
        desc += " Not plotted, for lack of a spread in the scores: " + ", ".join(missing) + "."
    return _svg(chart_id=chart_id, width=width, height=height, label=label, desc=desc, body=body, css="chart-scatter")


def _y_gridline(*, left: float, width: float, y: float, label: object) -> SafeString:
    """A horizontal grid line across the plot, with its value to the left of the axis."""
    return format_html(
        '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
        '<text x="{}" y="{}" dy="0.35em" text-anchor="end" aria-hidden="true">{}</text>',
        left,
        _n(y),
        left + width,
        _n(y),
        GRID,
        left - 6,
        _n(y),
        label,
    )
