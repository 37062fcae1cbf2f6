"""In a real browser: the preview's math is typeset by the self-hosted KaTeX under the strict
CSP, and the admin's live preview renders math as it is typed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from exams.models import Exam
from tests.browser.conftest import log_in
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question

pytestmark = pytest.mark.browser


def math_exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, title="Midterm Exam", instructions="Scores are $s_j$.")
    section = SectionFactory.create(
        exam=exam, number=2, title="Multiple Choices", instructions="$$\\mathcal{L}(x) = -\\log p_y$$"
    )
    question = add_question(
        section,
        kind="multiple_select",
        points=4,
        prompt="Let $\\frac{\\partial \\mathcal{L}}{\\partial w}$ be the gradient.",
    )
    add_choices(question, "Increasing $a$ could increase it.", "Decreasing $b$ could.", correct="A")
    add_question(
        section,
        kind="grid",
        points=3,
        config={"rows": 1, "cols": 2, "symbols": ["+", "-", "0"], "beside": [[0, -1]], "beside_label": "$W_1$"},
        key={"cells": [["+", "0"]]},
    )
    return exam


def test_the_preview_typesets_its_math_under_the_csp(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, instructor: User
) -> None:
    exam = math_exam(course)
    log_in(page, instructor.net_id)
    page.goto(f"/exams/{exam.pk}/preview/")
    expect(page.locator(".preview-banner")).to_contain_text("Preview as student")
    expect(page.locator("[data-math]").first).to_have_attribute("data-typeset", "")
    math = page.locator("[data-math]")
    assert math.count() == 6
    assert page.locator("[data-math]:not([data-typeset])").count() == 0
    assert page.locator("[data-math] .katex").count() == 6
    assert page.locator(".katex-display").count() == 1
    expect(page.locator("fieldset.answer-multiple-select input[type=checkbox]").first).to_be_disabled()
    assert page_errors == []


def test_the_admin_previews_math_as_it_is_typed(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, instructor: User
) -> None:
    exam = math_exam(course)
    log_in(page, instructor.net_id)
    page.goto(f"/admin/exams/question/add/?exam={exam.pk}")
    page.fill("#id_prompt", "The distance is $\\sqrt{2 - 2 D_C}$.")
    preview = page.locator("#id_prompt-preview")
    expect(preview.locator(".katex")).to_have_count(1)
    expect(preview).to_contain_text("The distance is")
    page.fill("#id_prompt", "")
    expect(preview).to_be_empty()
    assert page_errors == []
