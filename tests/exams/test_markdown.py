"""Markdown with LaTeX renders safely and obeys the Content-Security-Policy."""

from __future__ import annotations

from exams.markdown import render_markdown


def test_math_is_left_for_katex_escaped() -> None:
    html = render_markdown(r"Let $x < y$ and $$\frac{a}{b}$$")
    assert '<span class="math" data-math="inline">x &lt; y</span>' in html
    assert '<div class="math" data-math="display">\\frac{a}{b}</div>' in html


def test_raw_html_and_script_links_are_not_passed_through() -> None:
    html = render_markdown('<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="y">')
    assert "<script>" not in html and "<img" not in html
    assert 'href="javascript:' not in html


def test_aligned_tables_use_classes_not_style_attributes() -> None:
    html = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    assert "style=" not in html
    assert '<th class="text-start">a</th>' in html
    assert '<td class="text-center">2</td>' in html
    assert '<td class="text-end">3</td>' in html
