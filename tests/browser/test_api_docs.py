"""In a real browser: the API's Swagger UI renders under the strict CSP and, signed in with a
session, sends writes with the CSRF token."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from accounts.models import User
from exams.models import Exam
from tests.browser.conftest import log_in
from tests.factories import ExamFactory

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_and_writes_with_the_session(
    transactional_db: None, page: Page, page_errors: list[str], instructor: User
) -> None:
    exam: Exam = ExamFactory.create(course=instructor.memberships.get().course)
    log_in(page, instructor.net_id)
    page.goto("/api/docs/")
    operation = page.locator("#operations-exams-exams_archive_create")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator("input[placeholder='id']").fill(str(exam.pk))
    operation.locator(".execute").click()
    # A POST from the page: it succeeds only if Swagger UI sent the session's CSRF token.
    status = operation.locator(".live-responses-table tbody .response-col_status")
    assert status.inner_text().strip() == "200"
    exam.refresh_from_db()
    assert exam.archived is True
    assert page_errors == []  # console errors and CSP violations
