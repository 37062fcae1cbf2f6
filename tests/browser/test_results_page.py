"""In a real browser: the results page follows a running scoring job, moves its progress bar,
and reloads itself with the results when the job ends, all under the strict CSP."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from grading.jobs import job_plan, job_request, job_run_inline
from grading.models import GradingJob
from tests.browser.conftest import log_in
from tests.grading.results_data import sit, small_exam

pytestmark = pytest.mark.browser


def test_the_page_follows_a_job_until_its_results_show(
    transactional_db: None,
    page: Page,
    page_errors: list[str],
    course: Course,
    instructor: User,
    student: User,
    other_student: User,
) -> None:
    exam = small_exam(course)
    sit(exam, student, {"1.1": True, "2.1": "B"})
    sit(exam, other_student, {"1.1": False})
    job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.BUTTON, requested_by=instructor)

    log_in(page, instructor.net_id)
    page.goto(f"/grading/exams/{exam.pk}/results/")
    bar = page.locator("#job-progress-bar")
    expect(bar).to_have_attribute("value", "0")
    expect(page.get_by_role("button", name="Score all sittings")).to_be_disabled()

    job_plan(job.pk, now=timezone.now())  # running, one chunk of one to go
    GradingJob.objects.filter(pk=job.pk).update(chunks_total=2, chunks_done=1, sittings_done=1)
    expect(bar).to_have_attribute("value", "50")
    expect(page.locator("[data-job-text]")).to_contain_text("Running: 50% · 1 of 2 sittings scored")

    job_run_inline(job.pk, now=timezone.now())
    expect(page.locator("#statistics-computed")).to_contain_text("on 2 sittings")
    expect(page.locator("#job-progress")).to_have_count(0)
    expect(page.locator("svg.chart-histogram")).to_be_visible()
    expect(page.get_by_role("button", name="Score all sittings")).to_be_enabled()
    assert page_errors == []
