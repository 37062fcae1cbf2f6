"""The results page's SVG charts: well-formed, accessible, one bar or point per datum, escaped,
and free of anything the CSP would block (scripts, style attributes)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from grading.charts import facility_discrimination_svg, histogram_svg, option_bars_svg
from grading.statistics import NEGATIVE_DISCRIMINATION, TOO_EASY

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '"><script>alert(1)</script><b x="'


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (our own output, parsed to check it is well-formed)
    assert root.tag == f"{SVG}svg"
    return root


def with_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [element for element in root.iter() if name in (element.get("class") or "").split()]


def text_of(element: ET.Element) -> str:
    return "".join(element.itertext())


def assert_accessible_and_csp_safe(svg: str, root: ET.Element) -> None:
    assert root.get("role") == "img" and root.get("aria-label")
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == root.get("aria-label")
    assert desc is not None and desc.text and root.get("aria-describedby") == desc.get("id")
    assert "<script" not in svg and " style=" not in svg and "<style" not in svg
    assert not any(name.startswith("on") for element in root.iter() for name in element.attrib)


# --- histogram ----------------------------------------------------------------------------------


def test_the_histogram_has_one_bar_per_bin_with_axis_labels() -> None:
    histogram = {"edges": [0, 5, 10, 15, 20], "counts": [1, 0, 4, 2]}
    svg = histogram_svg(histogram, max_total=20, chart_id="totals")
    root = parse(svg)
    assert_accessible_and_csp_safe(svg, root)
    assert root.get("id") == "totals"
    bars = with_class(root, "chart-bar")
    assert len(bars) == 4
    heights = [float(bar.get("height") or 0) for bar in bars]
    assert heights[1] == 0 and heights[2] == max(heights) and heights[2] == pytest.approx(4 * heights[0])
    titles = [text_of(bar) for bar in bars]
    assert titles[0] == "Totals from 0 to under 5: 1 sitting"
    assert titles[3] == "Totals from 15 to including 20: 2 sittings"
    texts = [text_of(t) for t in root.iter(f"{SVG}text")]
    assert "Total points" in texts and "Sittings" in texts
    assert {"0", "5", "10", "15", "20"} <= set(texts)
    desc = text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
    assert "4 bins of 5 points from 0 to 20" in desc and "10 to under 15: 4" in desc
    assert root.get("aria-label") == "Histogram of the totals of 7 sittings"
    assert not with_class(root, "chart-guide")  # the maximum is the last edge: no marker


def test_the_histogram_marks_the_maximum_when_extra_credit_goes_beyond_it() -> None:
    root = parse(histogram_svg({"edges": [-2, 0, 2, 4, 6], "counts": [1, 1, 1, 1]}, max_total=4))
    assert len(with_class(root, "chart-guide")) == 1
    assert "maximum 4" in [text_of(t) for t in root.iter(f"{SVG}text")]


def test_the_histogram_of_no_sittings_is_empty_but_drawn() -> None:
    root = parse(histogram_svg({"edges": [0.0, 1.0], "counts": [0]}))
    assert [float(bar.get("height") or 0) for bar in with_class(root, "chart-bar")] == [0.0]


def test_a_histogram_whose_edges_do_not_match_its_counts_is_refused() -> None:
    with pytest.raises(ValueError):
        histogram_svg({"edges": [0, 1], "counts": [1, 2]})


# --- option bars --------------------------------------------------------------------------------


def distractors(**overrides: Any) -> dict[str, Any]:
    return {
        "group_size": 3,
        "options": [
            {"label": "A", "top": 1.0, "bottom": 1 / 3},
            {"label": "B", "top": 0.0, "bottom": 2 / 3},
            {"label": "C", "top": 2 / 3, "bottom": 0.0},
        ],
        "top_blank": 0.0,
        "bottom_blank": 1 / 3,
        "correct": ["A", "C"],
        **overrides,
    }


def test_option_bars_show_top_and_bottom_group_per_option_and_blank() -> None:
    svg = option_bars_svg(distractors(), number="2.1", chart_id="options-q7")
    root = parse(svg)
    assert_accessible_and_csp_safe(svg, root)
    assert len(with_class(root, "chart-bar")) == 2 * 4  # A, B, C and Blank
    assert len(with_class(root, "chart-bar-top")) == 4 and len(with_class(root, "chart-bar-bottom")) == 4
    titles = [text_of(bar) for bar in with_class(root, "chart-bar")]
    assert titles[:2] == ["A: 100% of the top 27% chose A", "A: 33% of the bottom 27% chose A"]
    assert titles[-1] == "Blank: 33% of the bottom 27% chose nothing"
    widths = [float(bar.get("width") or 0) for bar in with_class(root, "chart-bar-top")]
    assert widths[0] > widths[2] > widths[1] == 0
    assert root.get("aria-label") == "Options chosen in question 2.1 by the top and bottom 27% of sittings"
    assert "Top 27% (3 sittings)" in [text_of(t) for t in root.iter(f"{SVG}text")]


def test_correct_options_are_marked_in_words_not_only_by_colour() -> None:
    root = parse(option_bars_svg(distractors(), number="2.1", chart_id="o"))
    labels = {label.text: label for label in with_class(root, "chart-option-label")}
    assert "✓ correct" in text_of(labels["A"]) and "✓ correct" in text_of(labels["C"])
    assert "correct" not in text_of(labels["B"]) and text_of(labels["B"]) == "B"
    assert labels["A"].get("font-weight") == "bold" and labels["B"].get("font-weight") == "normal"
    assert len(with_class(root, "chart-correct-row")) == 2
    desc = text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
    assert "Correct: A, C." in desc and "A (correct): top 100%, bottom 33%" in desc


def test_option_bars_without_sittings_show_dashes() -> None:
    empty = distractors(
        group_size=0,
        options=[{"label": "T", "top": None, "bottom": None}, {"label": "F", "top": None, "bottom": None}],
        top_blank=None,
        bottom_blank=None,
        correct=["T"],
    )
    root = parse(option_bars_svg(empty, number="1.1", chart_id="o"))
    assert len(with_class(root, "chart-bar")) == 4  # no blank row: its shares are unknown
    assert all(float(bar.get("width") or 0) == 0 for bar in with_class(root, "chart-bar"))
    assert "T: – of the top 27% chose T" in [text_of(bar) for bar in with_class(root, "chart-bar")]


def test_option_labels_and_numbers_are_escaped() -> None:
    svg = option_bars_svg(
        distractors(options=[{"label": NASTY, "top": 0.5, "bottom": 0.5}], correct=[NASTY]),
        number=NASTY,
        chart_id=NASTY,
    )
    root = parse(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert root.get("id") == NASTY  # an attribute value, quoted and escaped
    assert NASTY in text_of(with_class(root, "chart-option-label")[0])
    assert NASTY in (root.get("aria-label") or "")


# --- facility against discrimination -----------------------------------------------------------


def question(number: str, facility: float | None, discrimination: float | None, *flags: str) -> dict[str, Any]:
    return {"number": number, "facility": facility, "discrimination_index": discrimination, "flags": list(flags)}


def test_the_scatter_has_one_labelled_point_per_question_with_both_values() -> None:
    questions = [
        question("1.1", 0.5, 40.0),
        question("1.2", 0.98, 5.0, TOO_EASY),
        question("2.1", 0.3, -20.0, NEGATIVE_DISCRIMINATION),
        question("3.3", 0.0, None),  # nobody scored: no discrimination
    ]
    svg = facility_discrimination_svg(questions, chart_id="scatter")
    root = parse(svg)
    assert_accessible_and_csp_safe(svg, root)
    points = with_class(root, "chart-point")
    assert [text_of(point.find(f"{SVG}text")) for point in points] == ["1.1", "1.2", "2.1"]  # type: ignore[arg-type]
    flagged = with_class(root, "chart-flagged")
    assert [text_of(point.find(f"{SVG}text")) for point in flagged] == ["1.2", "2.1"]  # type: ignore[arg-type]
    # Flagged questions differ in shape (a diamond path), not only in colour.
    assert all(point.find(f"{SVG}path") is not None and point.find(f"{SVG}circle") is None for point in flagged)
    assert points[0].find(f"{SVG}circle") is not None
    assert text_of(points[2].find(f"{SVG}title")).startswith(  # type: ignore[arg-type]
        "2.1: facility 30%, discrimination -20 (Negative discrimination"
    )
    desc = text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
    assert "Flagged: 1.2, 2.1." in desc and "Not plotted, for lack of a spread in the scores: 3.3." in desc


def test_the_scatter_places_points_on_its_axes_with_the_flag_guides() -> None:
    root = parse(facility_discrimination_svg([question("1", 0.0, -100.0), question("2", 1.0, 100.0)]))
    first, second = (point.find(f"{SVG}circle") for point in with_class(root, "chart-point"))
    assert first is not None and second is not None
    # Plot area: x from 64 to 776, y from 16 (discrimination 100) to 444 (−100).
    assert (float(first.get("cx") or 0), float(first.get("cy") or 0)) == (64, 444)
    assert (float(second.get("cx") or 0), float(second.get("cy") or 0)) == (776, 16)
    guides = with_class(root, "chart-guide")
    assert len(guides) == 3
    x_guides = sorted(float(line.get("x1") or 0) for line in guides if line.get("x1") == line.get("x2"))
    assert x_guides == [pytest.approx(64 + 0.10 * 712), pytest.approx(64 + 0.95 * 712)]
    (zero,) = (line for line in guides if line.get("y1") == line.get("y2"))
    assert float(zero.get("y1") or 0) == 230
    texts = [text_of(t) for t in root.iter(f"{SVG}text")]
    assert {"0%", "100%", "-100", "0", "100", "10%", "95%"} <= set(texts)
    assert "Discrimination index" in texts and "Facility (share of the marks earned)" in texts


def test_the_scatter_escapes_question_numbers() -> None:
    svg = facility_discrimination_svg([question(NASTY, 0.5, 10.0, "<i>flag</i>")])
    root = parse(svg)
    assert "<script>" not in svg and "<i>" not in svg
    assert text_of(with_class(root, "chart-point")[0].find(f"{SVG}text")) == NASTY  # type: ignore[arg-type]


def test_the_scatter_of_no_plottable_question_says_so() -> None:
    root = parse(facility_discrimination_svg([question("1.1", None, None)]))
    assert not with_class(root, "chart-point")
    assert "No question could be plotted." in text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
