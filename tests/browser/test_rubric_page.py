"""In a real browser: the rubric page's up/down buttons move an item in place (no reload), keep
the keyboard focus, announce the move, and store the order; all under the strict CSP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from grading.review import rubric_for, rubric_item_add
from tests.browser.conftest import log_in
from tests.factories import ExamFactory, SectionFactory, add_question
from tests.grading.sat_exam import q

pytestmark = pytest.mark.browser


def test_moving_items_in_place_with_the_keyboard(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, ta: User
) -> None:
    exam = ExamFactory.create(course=course, published=True)
    add_question(SectionFactory.create(exam=exam, number=1), kind="short_answer", points=4)
    rubric = rubric_for(q(exam, "1.1"))
    first, second, third = (
        rubric_item_add(rubric=rubric, points=Decimal(-1), description=name) for name in ("First", "Second", "Third")
    )
    log_in(page, ta.net_id)
    page.goto(f"/grading/questions/{q(exam, '1.1').pk}/rubric/")
    page.evaluate("window.notReloaded = true")  # gone if the page reloads

    up = page.locator(f"#item-{third.pk} button[value=up]")
    up.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#rubric-status")).to_have_text("Moved “Third” to position 2 of 3.")
    ids = page.locator("#rubric-items > li").evaluate_all("rows => rows.map(row => row.dataset.itemId)")
    assert ids == [str(first.pk), str(third.pk), str(second.pk)]
    expect(page.locator(f"#item-{third.pk} button[value=up]")).to_be_focused()
    expect(page.locator(f"#item-{third.pk} [data-position]")).to_have_text("2.")

    page.keyboard.press("Enter")  # up again: now first, so the focus moves to "Move down"
    expect(page.locator("#rubric-status")).to_have_text("Moved “Third” to position 1 of 3.")
    expect(page.locator(f"#item-{third.pk} button[value=up]")).to_be_disabled()
    expect(page.locator(f"#item-{third.pk} button[value=down]")).to_be_focused()
    expect(page.locator(f"#item-{second.pk} button[value=down]")).to_be_disabled()
    assert page.evaluate("window.notReloaded") is True

    assert list(rubric.items.order_by("position").values_list("pk", flat=True)) == [third.pk, first.pk, second.pk]
    assert page_errors == []
