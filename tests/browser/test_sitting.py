"""The exam page in a real browser: signing the honor code, answering every kind of question
with each answer reaching the database, the live previews, the server's clock, the automatic
submission at the deadline, review and receipt, and answering from the keyboard alone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from exams.models import HonorCodeSignature, Sitting
from exams.sittings import receipt_display
from tests.browser.conftest import log_in
from tests.browser.sitting_pages import (
    SAVED,
    eventually,
    every_kind_exam,
    move_deadline,
    open_exam,
    question,
    start,
    stored,
    wait_stored,
    widget,
)

pytestmark = pytest.mark.browser


def draw(page: Page, svg_selector: str, points: list[tuple[float, float]], ranges: tuple[float, ...]) -> None:
    """Drag the mouse through ``points`` (axis units) on a sketch's axes."""
    svg = page.locator(svg_selector)
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box is not None
    x_min, x_max, y_min, y_max = ranges
    # The plot box of every sketch, in SVG units (exams/templatetags/exam_paper.py).
    left, right, top, bottom, width, height = 56, 384, 16, 248, 400, 300

    def screen(x: float, y: float) -> tuple[float, float]:
        sx = left + (x - x_min) / (x_max - x_min) * (right - left)
        sy = bottom - (y - y_min) / (y_max - y_min) * (bottom - top)
        return box["x"] + sx * box["width"] / width, box["y"] + sy * box["height"] / height

    page.mouse.move(*screen(*points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*screen(*point), steps=8)
    page.mouse.up()


def test_a_student_signs_answers_every_kind_reviews_and_submits(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    log_in(page, student.net_id)

    # The cover page: the honor code is signed by typing the full name, ignoring case and spacing.
    page.goto(f"/exams/{exam.pk}/")
    page.fill("input[name=signature]", "  alice   NGUYEN ")
    with page.expect_response(lambda r: "/claim/" in r.url and r.ok):
        page.click("button:has-text('Sign and start the exam')")
    sitting = Sitting.objects.get(exam=exam, student=student)
    assert HonorCodeSignature.objects.get(sitting=sitting).typed_name == "alice   NGUYEN"
    status = page.locator("#save-status")
    expect(status).to_have_text(SAVED)

    tf, ms, sc = question(exam, "true_false"), question(exam, "multiple_select"), question(exam, "single_choice")
    sa, num, expr = question(exam, "short_answer"), question(exam, "numeric"), question(exam, "expression")
    grid, sketch = question(exam, "grid"), question(exam, "sketch")

    widget(page, tf).get_by_label("False").check()
    widget(page, ms).get_by_label("A linear SVM").check()
    widget(page, ms).get_by_label("None of the above").check()
    widget(page, sc).get_by_label("Flom").check()
    part_a, part_b = "No: its loss is $-\\log(1/3)$ at **start**.", "| a | b |\n|--:|:-:|\n| 1 | 2 |"
    page.fill(f"#q{sa.pk}-a", part_a)
    page.fill(f"#q{sa.pk}-b", part_b)
    page.fill(f"#q{num.pk}-number", "1,514")
    page.fill(f"#q{expr.pk}-formula", "sqrt(2 - 2*D_C)")
    page.select_option(f"#q{grid.pk}-r0-c1", "+")
    page.select_option(f"#q{grid.pk}-r1-c0", "-")
    draw(page, f'fieldset[data-question="{sketch.pk}"] svg', [(-2, -3), (0, 0), (2, 3)], (-3, 3, -5, 5))
    expect(status).to_have_text(SAVED)

    wait_stored(sitting, tf, False)
    wait_stored(sitting, ms, ["A", "C"])
    wait_stored(sitting, sc, "B")
    wait_stored(sitting, sa, {"a": part_a, "b": part_b})
    wait_stored(sitting, num, 1514.0)
    wait_stored(sitting, expr, "sqrt(2 - 2*D_C)")
    wait_stored(sitting, grid, [[None, "+"], ["-", None]])
    strokes = stored(sitting, sketch)["strokes"]
    assert len(strokes) == 1 and len(strokes[0]) >= 10
    (x0, y0), (x1, y1) = strokes[0][0], strokes[0][-1]
    assert abs(x0 + 2) < 0.1 and abs(y0 + 3) < 0.1 and abs(x1 - 2) < 0.1 and abs(y1 - 3) < 0.1

    # The previews: Markdown and math rendered in the page, the formula typeset from the server's LaTeX.
    expect(page.locator(f"#q{sa.pk}-a-preview strong")).to_have_text("start")
    expect(page.locator(f"#q{sa.pk}-a-preview .katex")).to_have_count(1)
    expect(page.locator(f"#q{sa.pk}-b-preview td.text-end")).to_have_text("1")
    expect(page.locator(f"#q{expr.pk}-formula-preview .katex")).to_have_count(1)
    page.fill(f"#q{expr.pk}-formula", "sqrt(2 - ")
    expect(page.locator(f"#q{expr.pk}-formula-preview")).to_contain_text("Not a formula yet")
    # Each stroke is an SVG polyline; Undo takes the last one back, and that is saved too.
    lines = widget(page, sketch).locator("polyline.sketch-stroke")
    expect(lines).to_have_count(1)
    draw(page, f'fieldset[data-question="{sketch.pk}"] svg', [(-3, 5), (3, -5)], (-3, 3, -5, 5))
    expect(lines).to_have_count(2)
    eventually(lambda: len(stored(sitting, sketch)["strokes"]) == 2, what="the second stroke")
    widget(page, sketch).get_by_role("button", name="Undo").click()
    expect(lines).to_have_count(1)
    eventually(lambda: stored(sitting, sketch)["strokes"] == strokes, what="the undone stroke")

    # The navigator and the flags.
    nav = page.locator(f'a[data-nav-question="{tf.pk}"]')
    expect(nav).to_contain_class("nav-answered")
    expect(nav.locator(".nav-state")).to_have_text(" (answered)")
    page.click(f'button[data-flag-question="{sc.pk}"]')
    expect(page.locator(f'button[data-flag-question="{sc.pk}"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f'a[data-nav-question="{sc.pk}"] .nav-state')).to_have_text(" (answered, flagged for review)")
    expect(status).to_have_text(SAVED)
    wait_stored(sitting, expr, "sqrt(2 - ")

    with page.expect_navigation(url=f"**/exams/sittings/{sitting.pk}/review/"):
        page.locator("header").get_by_role("link", name="Review and submit").click()
    expect(page.locator(".review-flagged")).to_contain_text(sc.number)
    with page.expect_navigation(url=f"**/exams/sittings/{sitting.pk}/receipt/"):
        page.click("button:has-text('Submit my exam')")
    sitting.refresh_from_db()
    assert sitting.status == "submitted" and sitting.closed_by == "student"
    expect(page.locator("#receipt-code")).to_have_text(receipt_display(sitting.receipt_code))
    expect(page.locator("#receipt-answered")).to_have_text("8 of 8")
    assert page_errors == []


def test_the_clock_is_the_servers_and_the_page_submits_itself_at_the_deadline(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    # The computer's clock is an hour fast: a page that trusted it would think time was up.
    page.clock.install(time=datetime.now() + timedelta(hours=1))
    move_deadline(sitting, 9)
    open_exam(page, sitting)
    timer = page.locator("#exam-timer")
    expect(timer).to_have_text(re.compile(r"^0:00:0[1-9]$"))
    tf = question(exam, "true_false")
    widget(page, tf).get_by_label("True").check()
    wait_stored(sitting, tf, True)

    page.wait_for_url(f"**/exams/sittings/{sitting.pk}/receipt/", timeout=30_000)
    sitting.refresh_from_db()
    assert sitting.status == "submitted" and sitting.closed_by == "timer"
    assert sitting.submitted_at is not None and sitting.submitted_at >= sitting.deadline - timedelta(seconds=1)
    expect(page.locator("#receipt-code")).to_have_text(receipt_display(sitting.receipt_code))
    expect(page.locator("#receipt-answered")).to_have_text("1 of 8")
    assert page_errors == []


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the focus is on ``selector``, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_answering_from_the_keyboard_alone(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)
    tf, ms, sketch = question(exam, "true_false"), question(exam, "multiple_select"), question(exam, "sketch")

    # A radio group is one tab stop, on its checked radio (blank); the arrow keys choose.
    tab_to(page, f"#q{tf.pk}-blank")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.locator(f"#q{tf.pk}-true")).to_be_checked()
    wait_stored(sitting, tf, True)
    # Blank is a real answer: back to it, and the server holds a blank.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"#q{tf.pk}-blank")).to_be_checked()
    wait_stored(sitting, tf, None)

    tab_to(page, f"#q{ms.pk}-A")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    wait_stored(sitting, ms, ["A", "C"])

    # The sketch: move the cross with the arrows, Space adds a point, Enter ends the line.
    tab_to(page, f'fieldset[data-question="{sketch.pk}"] [data-sketch]')
    page.keyboard.press("Space")
    for _ in range(2):
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    # The drawing area starts its cross at the middle of the axes (0, 0); two Shift-steps are 2/5 of each range.
    wait_stored(sitting, sketch, {"strokes": [[[0.0, 0.0], [1.2, 2.0]]]})
    expect(page.locator(f"#q{sketch.pk}-sketch-status")).to_have_text("1 line drawn")
    page.keyboard.press("Tab")  # Undo
    page.keyboard.press("Tab")  # Clear
    page.keyboard.press("Enter")
    expect(page.locator(f"#q{sketch.pk}-sketch-status")).to_have_text("Cleared. Nothing drawn yet")
    wait_stored(sitting, sketch, None)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    assert page_errors == []
