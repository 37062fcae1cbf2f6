"""The proctor page in a real browser: it updates itself every few seconds without a reload,
filters as the proctor types, pauses while the tab is hidden, and its actions work under the
strict Content-Security-Policy."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Request, expect

from accounts.models import Course, Role, User
from exams.models import Exam, Sitting
from tests.browser.conftest import log_in
from tests.browser.sitting_pages import every_kind_exam, start
from tests.factories import UserFactory, member

pytestmark = pytest.mark.browser


@pytest.fixture
def exam(course: Course) -> Exam:
    now = timezone.now()
    return every_kind_exam(course, opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=3))


def test_the_page_follows_the_room_without_reloading(
    transactional_db: None,
    page: Page,
    page_errors: list[str],
    exam: Exam,
    ta: User,
    student: User,
    other_student: User,
) -> None:
    log_in(page, ta.net_id)
    page.goto(f"/exams/{exam.pk}/proctor/")
    in_progress = page.locator('[data-count="in_progress"]')
    expect(page.locator('[data-count="not_started"]')).to_have_text("2")
    expect(in_progress).to_have_text("0")
    page.evaluate("window.notReloaded = true")

    started = time.monotonic()
    start(exam, student)

    expect(in_progress).to_have_text("1", timeout=10_000)
    assert time.monotonic() - started <= 6, "the page took longer than 5 s (and a request) to update"
    row = page.locator(f'#proctor-rows tr[data-student="{student.pk}"]')
    expect(row).to_have_attribute("data-state", "in_progress")
    left = row.locator('[data-cell="time_left"]')
    first = left.text_content()
    expect(left).not_to_have_text(first or "", timeout=3_000)  # the countdown runs between polls
    assert page.evaluate("window.notReloaded") is True

    page.fill("#proctor-q", "okafor")
    expect(page.locator("#proctor-rows tr")).to_have_count(1)
    expect(page.locator(f'#proctor-rows tr[data-student="{other_student.pk}"]')).to_be_visible()
    assert "q=okafor" in page.url
    assert page_errors == []


def test_the_page_pauses_while_hidden(
    transactional_db: None, page: Page, page_errors: list[str], exam: Exam, ta: User, student: User
) -> None:
    polls: list[str] = []

    def on_request(request: Request) -> None:
        if "/proctor/rows.json" in request.url:
            polls.append(request.url)

    page.on("request", on_request)
    log_in(page, ta.net_id)
    with page.expect_request(lambda r: "/proctor/rows.json" in r.url, timeout=10_000):
        page.goto(f"/exams/{exam.pk}/proctor/")

    page.evaluate(
        """() => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    polls.clear()
    page.wait_for_timeout(9_000)
    assert polls == []

    with page.expect_request(lambda r: "/proctor/rows.json" in r.url, timeout=2_000):
        page.evaluate(
            """() => {
                Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
    assert page_errors == []


def test_an_instructor_extends_a_student_from_the_page(
    transactional_db: None, page: Page, page_errors: list[str], exam: Exam, instructor: User, student: User
) -> None:
    sitting = start(exam, student)
    before = sitting.deadline
    late = UserFactory.create(net_id="carol", full_name="Carol Diaz")
    member(late, exam.course, Role.STUDENT)
    log_in(page, instructor.net_id)
    page.goto(f"/exams/{exam.pk}/proctor/")

    page.get_by_role("link", name="Alice Nguyen").click()
    page.fill("#id_extend-minutes", "7")
    page.fill("#id_extend-reason", "Fire alarm in the room")
    page.get_by_role("button", name="Extend time").click()

    expect(page.locator(".alert-success")).to_contain_text("deadline moved")
    assert Sitting.objects.get(pk=sitting.pk).deadline == before + timedelta(minutes=7)
    expect(page.locator("#student-actions")).to_contain_text("Fire alarm in the room")
    page.get_by_role("link", name="Proctor: Midterm Exam").click()
    expect(page.locator("#proctor-actions")).to_contain_text("+7 min")
    assert page_errors == []
