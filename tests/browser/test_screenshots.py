"""The seed midterm as a student sees it (the cover page, the exam page and the receipt) and as
its staff see it (the results, grading an answer, the proctor page).

With UPDATE_SCREENSHOTS=1 they are written to docs/screenshots/ (the README's pictures);
otherwise to a temporary folder, so an ordinary test run leaves the work tree clean."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.models import Question, Sitting
from grading.jobs import job_request, job_run_inline
from grading.models import GradingJob
from grading.review import rubric_for, rubric_item_add
from grading.simulate import sittings_simulate
from tests.browser.conftest import log_in
from tests.browser.sitting_pages import SAVED, wait_stored

pytestmark = pytest.mark.browser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return Path(settings.BASE_DIR) / "docs" / "screenshots"
    return tmp_path


def shoot(page: Page, folder: Path, name: str, *, full_page: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=path, full_page=full_page, animations="disabled", caret="hide")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_screenshots_of_the_seed_midterm(
    transactional_db: None,
    page: Page,
    page_errors: list[str],
    course: Course,
    student: User,
    screenshots: Path,
) -> None:
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    exam.published = True
    exam.save(update_fields=["published"])
    page.set_viewport_size({"width": 1200, "height": 900})
    log_in(page, student.net_id)

    page.goto(f"/exams/{exam.pk}/")
    page.fill("input[name=signature]", student.full_name)
    shoot(page, screenshots, "cover.png", full_page=True)

    with page.expect_response(lambda r: "/claim/" in r.url and r.ok):
        page.click("button:has-text('Sign and start the exam')")
    sitting = Sitting.objects.get(exam=exam, student=student)
    first, second = Question.objects.filter(exam=exam, number__in=["1.1", "1.2"]).order_by("number")
    page.locator(f"#q{first.pk}-false").check()
    page.locator(f"#q{second.pk}-false").check()
    page.click(f'button[data-flag-question="{second.pk}"]')
    wait_stored(sitting, first, False)
    wait_stored(sitting, second, False)
    expect(page.locator("#save-status")).to_have_text(SAVED)
    expect(page.locator("[data-math]:not([data-typeset])")).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(0, 0)
    shoot(page, screenshots, "exam.png")

    with page.expect_navigation(url=f"**/exams/sittings/{sitting.pk}/review/"):
        page.locator("header").get_by_role("link", name="Review and submit").click()
    with page.expect_navigation(url=f"**/exams/sittings/{sitting.pk}/receipt/"):
        page.click("button:has-text('Submit my exam')")
    expect(page.locator("#receipt-code")).to_be_visible()
    shoot(page, screenshots, "receipt.png")
    assert page_errors == []


def test_screenshots_of_the_staff_pages(
    transactional_db: None,
    page: Page,
    page_errors: list[str],
    course: Course,
    instructor: User,
    screenshots: Path,
) -> None:
    """The results of the seed midterm sat by 300 simulated students, a short answer being
    graded with its rubric, and the proctor page."""
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    exam.published = True
    exam.save(update_fields=["published"])
    sittings_simulate(exam_id=exam.pk, students=300, seed=11, now=timezone.now())
    job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
    job_run_inline(job.pk, now=timezone.now())
    question = Question.objects.get(exam=exam, number="3.4")
    rubric = rubric_for(question)
    rubric_item_add(rubric=rubric, points=Decimal(-1), description="Width formula without the padding")
    rubric_item_add(rubric=rubric, points=Decimal(-2), description="No justification", shortcut="j")
    page.set_viewport_size({"width": 1200, "height": 900})
    log_in(page, instructor.net_id)

    page.goto(f"/grading/exams/{exam.pk}/results/")
    expect(page.locator("svg").first).to_be_visible()
    shoot(page, screenshots, "results.png")

    page.goto(f"/grading/questions/{question.pk}/grade/")
    expect(page.locator("[data-math]:not([data-typeset])")).to_have_count(0)
    page.keyboard.press("1")
    shoot(page, screenshots, "grading.png")

    page.goto(f"/exams/{exam.pk}/proctor/")
    expect(page.locator("table").first).to_be_visible()
    shoot(page, screenshots, "proctor.png")
    assert page_errors == []
