"""An answer as graders read it (grading.answers and templates/grading/_answer.html): every kind
shown exactly as written, read-only, safe to put in a page under the strict CSP."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.template.loader import render_to_string

from exams.models import Choice, Question
from grading.answers import AnswerDisplay, answer_display

SVG = "{http://www.w3.org/2000/svg}"


def question(kind: str, **config: Any) -> Question:
    return Question(kind=kind, config=config, number="1.1")


def shown(display: AnswerDisplay) -> str:
    html = render_to_string("grading/_answer.html", {"answer": display})
    assert " style=" not in html and "<style" not in html and "<script" not in html
    return html


def test_a_short_answer_is_its_markdown_with_math_and_no_raw_html() -> None:
    display = answer_display(question("short_answer"), "Use **batch norm**: $\\mu_B$ <script>alert(1)</script>")
    assert not display.blank and display.summary.startswith("Use **batch norm**")
    html = shown(display)
    assert "<strong>batch norm</strong>" in html
    assert '<span class="math" data-math="inline">\\mu_B</span>' in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_short_answer_in_parts_labels_each_part() -> None:
    display = answer_display(question("short_answer", parts=["a", "b"]), {"a": "Overfitting.", "b": "  "})
    assert [(part.label, part.blank) for part in display.parts] == [("a", False), ("b", True)]
    assert display.summary == "(a) Overfitting. (b) Blank"
    html = shown(display)
    assert re.search(r"\(a\)</p>\s*<div class=\"answer-markdown\"><p>Overfitting\.</p>", html)
    assert re.search(r"\(b\)</p>\s*<p class=\"answer-blank[^\"]*\">Blank</p>", html)


@pytest.mark.parametrize(
    ("kind", "config", "value"),
    [
        ("short_answer", {}, None),
        ("short_answer", {}, "   "),
        ("short_answer", {"parts": ["a", "b"]}, {"a": "", "b": ""}),
        ("sketch", {}, None),
        ("sketch", {}, {"strokes": []}),
        ("expression", {"variables": ["x"]}, ""),
        ("numeric", {}, None),
        ("true_false", {}, None),
        ("grid", {"rows": 1, "cols": 2, "symbols": ["+", "-"]}, [[None, None]]),
    ],
)
def test_blank_is_shown_as_blank(kind: str, config: dict[str, Any], value: Any) -> None:
    display = answer_display(question(kind, **config), value)
    assert display.blank and display.summary == "Blank"
    assert re.search(r">Blank</p>", shown(display))


def test_a_sketch_is_an_svg_of_its_strokes_over_the_labelled_axes() -> None:
    sketch = question("sketch", x_label="Bip <value>", y_label="Zom & score", x_min=0, x_max=10, y_min=-1, y_max=1)
    display = answer_display(sketch, {"strokes": [[[0, 0], [10, 1]], [[5, -5]]]})
    assert display.summary == "2 strokes" and display.svg is not None
    html = shown(display)
    (markup,) = re.findall(r"<svg .*?</svg>", html, re.S)
    root = ET.fromstring(markup)  # noqa: S314 — our own markup; proves it is well-formed
    assert root.get("role") == "img" and "Bip <value>" in (root.get("aria-label") or "")
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert "Bip <value>" in labels and "Zom & score" in labels  # escaped in the markup, intact when parsed
    assert "Bip &lt;value&gt;" in markup and "Zom &amp; score" in markup
    (line,) = root.iter(f"{SVG}polyline")
    assert line.get("points") == "56,132 384,16"  # (0, 0) on the left edge mid-height, (10, 1) top right
    (dot,) = root.iter(f"{SVG}circle")
    assert (dot.get("cx"), dot.get("cy")) == ("220", "248")  # (5, −5) clamped to the bottom edge
    assert all(element.get("style") is None for element in root.iter())


def test_a_grid_is_a_table_of_its_cells_with_labels() -> None:
    grid = question(
        "grid", rows=2, cols=2, symbols=["+", "-", "0"], row_labels=["$x_1$", "$x_2$"], col_labels=["a", "b"]
    )
    display = answer_display(grid, [["+", None], ["-", "0"]])
    assert display.summary == "+ · / - 0"
    html = shown(display)
    assert '<th scope="col" class="text-center">a</th>' in html
    assert '<th scope="row"><span class="math inline"><span class="math" data-math="inline">x_1</span>' in html
    cells = re.findall(r'<td class="text-center answer-grid-cell" title="([^"]*)">(.*?)</td>', html)
    assert [(title, re.sub(r"<[^>]+>", "", value)) for title, value in cells] == [
        ("row x_1, column a", "+"),
        ("row x_1, column b", "·blank"),
        ("row x_2, column a", "-"),
        ("row x_2, column b", "0"),
    ]


def test_a_formula_is_typeset_beside_the_text_typed() -> None:
    display = answer_display(question("expression", variables=["D_C"]), "sqrt(2 - 2*D_C)")
    assert display.math == "\\sqrt{2 - 2 D_{C}}" and display.text == "sqrt(2 - 2*D_C)" and not display.note
    html = shown(display)
    assert '<div class="answer-math math" data-math="display">\\sqrt{2 - 2 D_{C}}</div>' in html
    assert '<code class="answer-raw">sqrt(2 - 2*D_C)</code>' in html


def test_a_formula_that_does_not_parse_is_shown_as_typed_with_the_reason() -> None:
    display = answer_display(question("expression", variables=["x"]), "2*y + <b>")
    assert display.math == "" and display.text == "2*y + <b>" and display.note
    html = shown(display)
    assert "data-math" not in html and "2*y + &lt;b&gt;" in html


def test_numbers_and_true_false_are_text() -> None:
    assert answer_display(question("numeric", unit="ms"), 100.0).text == "100 ms"
    assert answer_display(question("numeric"), 0.1 + 0.2).text == "0.30000000000000004"  # as stored
    assert answer_display(question("numeric"), "0.5").text == "0.5"
    assert answer_display(question("true_false"), False).summary == "False"
    assert ">True</p>" in shown(answer_display(question("true_false"), True))


def test_choices_show_their_texts_and_which_were_chosen() -> None:
    choices = [Choice(label="A", text="ReLU", position=1), Choice(label="B", text="$\\sigma$", position=2)]
    single = answer_display(question("single_choice"), "B", choices=choices)
    assert single.summary == "B. $\\sigma$"
    assert [(c.label, c.chosen) for c in single.choices] == [("A", False), ("B", True)]
    many = answer_display(question("multiple_select"), ["A", "B"], choices=choices)
    assert many.summary == "A. ReLU, B. $\\sigma$"
    html = shown(single)
    assert re.search(
        r'answer-chosen[^>]*>\s*<span aria-hidden="true">☑</span>\s*<span class="visually-hidden">Chosen:', html
    )
    assert 'B. <span class="math inline"><span class="math" data-math="inline">\\sigma</span>' in html


def test_a_value_the_kind_cannot_read_is_shown_as_stored_with_a_note() -> None:
    display = answer_display(question("grid", rows=1, cols=2, symbols=["+", "-"]), [["+", "x", "-"]])
    assert display.stored == '[\n [\n  "+",\n  "x",\n  "-"\n ]\n]' and display.note
    html = shown(display)
    assert '<pre class="answer-stored mb-0">' in html and "&quot;x&quot;" in html


@pytest.mark.parametrize(
    ("kind", "config", "value"),
    [
        ("short_answer", {"parts": ["a", "b"]}, {"a": "x " * 100, "b": ""}),
        ("sketch", {}, {"strokes": [[[0, 0], [1, 1]]]}),
        ("expression", {"variables": ["x"]}, "x^2 +"),
        ("grid", {"rows": 1, "cols": 2, "symbols": ["+", "-"]}, [["+", None]]),
        ("numeric", {}, 2.5),
        ("grid", {"rows": 1, "cols": 2, "symbols": ["+", "-"]}, "unreadable"),
        ("sketch", {}, None),
    ],
)
def test_the_summary_alone_matches_the_display(kind: str, config: dict[str, Any], value: Any) -> None:
    from grading.answers import answer_summary

    assert answer_summary(question(kind, **config), value) == answer_display(question(kind, **config), value).summary
