"""A second tab or device takes the sitting over: the older page turns read-only and says
why, the takeover is logged for proctors, and the newer page saves as usual."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from exams.models import ProctorEvent, Sitting
from tests.browser.conftest import log_in
from tests.browser.sitting_pages import (
    SAVED,
    eventually,
    every_kind_exam,
    open_exam,
    question,
    start,
    unexpected,
    wait_stored,
    widget,
)

pytestmark = pytest.mark.browser


def test_a_second_tab_takes_the_sitting_over(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)
    tf, sc, num = question(exam, "true_false"), question(exam, "single_choice"), question(exam, "numeric")
    widget(page, tf).get_by_label("True").check()
    wait_stored(sitting, tf, True)
    first_device = Sitting.objects.get(pk=sitting.pk).device

    # Same browser, same session, a new tab: a new device id, and the newest tab wins.
    second = page.context.new_page()
    second_errors: list[str] = []
    second.on("console", lambda m: second_errors.append(m.text) if m.type == "error" else None)
    open_exam(second, sitting)
    expect(page.locator("#takeover-banner")).to_be_visible()
    expect(page.locator("#takeover-banner")).to_contain_text("read-only")
    expect(widget(page, sc).locator("input").first).to_be_disabled()
    expect(page.locator(f'button[data-flag-question="{sc.pk}"]')).to_be_disabled()
    event = eventually(lambda: ProctorEvent.objects.filter(sitting=sitting, kind="takeover").first(), what="a takeover")
    assert event.detail["from"] == str(first_device)
    assert event.detail["to"] == str(Sitting.objects.get(pk=sitting.pk).device) != str(first_device)

    # The new tab shows what the first one saved, and saves on its own.
    expect(second.locator(f"#q{tf.pk}-true")).to_be_checked()
    widget(second, sc).get_by_label("Zom").check()
    wait_stored(sitting, sc, "A")
    expect(second.locator("#save-status")).to_have_text(SAVED)
    expect(second.locator("#takeover-banner")).to_be_hidden()

    # Another device (its own browser, so no message between tabs) claims it in turn: the
    # second tab learns from the server's refusal of its next save, and keeps the answer.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    other_device = str(uuid.uuid4())
    claimed = second.request.post(
        f"/api/sittings/{sitting.pk}/claim/", data={"device": other_device}, headers={"X-CSRFToken": token}
    )
    assert claimed.ok
    with second.expect_response(lambda r: r.url.endswith("/answers/") and r.status == 409):
        second.fill(f"#q{num.pk}-number", "7")
    banner = second.locator("#takeover-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("1 answer was not saved from this page; it is kept in this browser.")
    expect(second.locator(f"#q{num.pk}-number")).to_be_disabled()
    assert ProctorEvent.objects.filter(sitting=sitting, kind="takeover").count() == 2
    assert unexpected(page_errors) == [] and unexpected(second_errors) == []


def test_a_duplicated_tab_gets_its_own_device_and_takes_over(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)
    first_device = str(Sitting.objects.get(pk=sitting.pk).device)

    # "Duplicate tab" copies the tab's sessionStorage, device id included.
    second = page.context.new_page()
    second.add_init_script(f"sessionStorage.setItem('examhall:sitting:{sitting.pk}:device', '{first_device}')")
    second.goto(f"/exams/sittings/{sitting.pk}/")
    expect(page.locator("#takeover-banner")).to_be_visible()
    event = eventually(lambda: ProctorEvent.objects.filter(sitting=sitting, kind="takeover").first(), what="a takeover")
    assert event.detail["from"] == first_device
    assert event.detail["to"] == second.evaluate(f"sessionStorage.getItem('examhall:sitting:{sitting.pk}:device')")
    sc = question(exam, "single_choice")
    widget(second, sc).get_by_label("Nom").check()
    wait_stored(sitting, sc, "C")
    expect(second.locator("#save-status")).to_have_text(SAVED)
    assert page_errors == []
