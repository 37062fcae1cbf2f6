"""In a real browser: a student opens their released results from the home page, reads their
points, the rubric explanation and the typeset math, and sends a regrade request, all under
the strict Content-Security-Policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from grading.models import RegradeRequest
from grading.release import grades_release
from tests.browser.conftest import log_in
from tests.grading.release_data import GRADED, SECRETS, graded_exam

pytestmark = pytest.mark.browser


def test_a_student_reads_their_results_and_asks_for_a_regrade(
    transactional_db: None,
    page: Page,
    page_errors: list[str],
    course: Course,
    student: User,
    other_student: User,
    ta: User,
    instructor: User,
) -> None:
    graded = graded_exam(course, student, other_student, ta, grade_everything=True)
    now = timezone.now()
    grades_release(exam=graded.exam, by=instructor, now=now, regrade_deadline=now + timedelta(days=7))

    log_in(page, student.net_id)
    page.get_by_role("link", name=f"Results of {graded.exam.title}").click()
    expect(page.get_by_role("heading", name=f"Results: {graded.exam.title}")).to_be_visible()
    short_answer = page.locator('[data-question="2.1.1"]')
    expect(short_answer.locator("[data-points]").first).to_have_text("2.87 of 4")
    expect(short_answer).to_contain_text(SECRETS["rubric item explanation"])
    expect(short_answer).to_contain_text(GRADED["alice"]["comment"])
    expect(page.locator('[data-question="2.2"] .katex').first).to_be_visible()  # math typeset by KaTeX

    short_answer.get_by_text("Request a regrade").click()
    short_answer.get_by_label("What should be looked at again, and why?").fill("The chain rule is in line 2.")
    short_answer.get_by_role("button", name="Send the request").click()
    expect(page.locator('[data-question="2.1.1"] .result-regrade')).to_contain_text("Waiting for a reply.")
    assert RegradeRequest.objects.get().reason == "The chain rule is in line 2."
    assert page_errors == []
