"""Exam day in a real browser: what reaches an open exam page while its student types nothing.
A clarification shows within 10 s (banner and note beside its question, recorded as seen), an
extension reaches the timer (the pulse, every ~7 s), and a sitting closed elsewhere closes the page."""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from exams.clarifications import clarification_publish
from exams.models import ClarificationSeen
from exams.proctoring import extension_grant
from exams.sittings import sitting_submit
from tests.browser.conftest import log_in
from tests.browser.sitting_pages import eventually, every_kind_exam, open_exam, question, start

pytestmark = pytest.mark.browser


def seconds_left(page: Page) -> int:
    hours, minutes, seconds = (int(part) for part in (page.locator("#exam-timer").text_content() or "").split(":"))
    return hours * 3600 + minutes * 60 + seconds


def test_a_clarification_reaches_an_open_exam_page_within_ten_seconds(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User, instructor: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)
    short = question(exam, "short_answer")
    banner = page.locator("#clarification-banner .clarification-alert")
    note = page.locator(f"#question-{short.pk} .clarification-note")
    expect(banner).to_have_count(0)

    published = time.monotonic()
    clarification = clarification_publish(
        exam=exam,
        message="In (b), *untrained* means $\\theta = \\theta_0$.",
        question=short,
        by=instructor,
        now=timezone.now(),
    )

    expect(banner).to_contain_text("untrained means", timeout=10_000)
    expect(note).to_contain_text("untrained means", timeout=1_000)
    assert time.monotonic() - published <= 10.5
    expect(banner.get_by_role("link", name=short.number)).to_have_attribute("href", f"#q{short.pk}-heading")
    expect(note.locator(".katex")).to_have_count(1)  # typeset by KaTeX
    expect(page.locator(f"#clarification-{clarification.pk}")).to_contain_text(f"About {short.number}")
    eventually(
        lambda: ClarificationSeen.objects.filter(clarification=clarification, sitting=sitting).exists(),
        what="the page to report the clarification as seen",
    )

    banner.get_by_role("button", name="Dismiss the new clarifications").click()
    expect(banner).to_have_count(0)
    # A reload lists it and shows it beside the question again, without announcing it as new.
    open_exam(page, sitting)
    expect(page.locator(f"#clarification-{clarification.pk}")).to_be_visible()
    expect(note).to_have_count(1)
    expect(note.locator(".katex")).to_have_count(1)
    expect(page.locator("#clarification-banner .clarification-alert")).to_have_count(0)
    assert ClarificationSeen.objects.filter(sitting=sitting).count() == 1
    assert page_errors == []


def test_an_extension_reaches_the_timer_of_a_page_whose_student_types_nothing(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User, instructor: User
) -> None:
    exam = every_kind_exam(course, duration_minutes=3)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)
    expect(page.locator("#exam-timer")).to_have_text(re.compile(r"^0:0[23]:\d\d$"))
    before = seconds_left(page)

    granted = time.monotonic()
    extension_grant(exam=exam, student=student, minutes=5, reason="Fire alarm", by=instructor, now=timezone.now())

    eventually(lambda: seconds_left(page) > before + 60, timeout=30, what="the timer to show the extension")
    waited = time.monotonic() - granted
    # About five minutes more than before, less the time that passed meanwhile.
    assert before + 300 - waited - 3 <= seconds_left(page) <= before + 300
    assert waited <= 12, f"the extension took {waited:.1f} s to reach the timer"
    assert page_errors == []


def test_a_sitting_closed_elsewhere_closes_the_open_page(
    transactional_db: None, page: Page, page_errors: list[str], course: Course, student: User
) -> None:
    exam = every_kind_exam(course)
    sitting = start(exam, student)
    log_in(page, student.net_id)
    open_exam(page, sitting)

    sitting_submit(sitting=sitting, student=student, now=timezone.now())

    expect(page.locator("#closed-banner")).to_be_visible(timeout=10_000)
    tf = page.locator(f'fieldset.answer[data-question="{question(exam, "true_false").pk}"]')
    expect(tf.get_by_label("True")).to_be_disabled()  # read-only, as at any close
    assert page_errors == []
