"""The results page of an exam: who may see it and start scoring, what it shows after a real
scoring job, the "Score all sittings" button, the job endpoint its script polls, its links,
and markup that holds under the strict CSP."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Exam
from grading.jobs import job_fail, job_request
from grading.models import GradingJob
from tests.grading.results_data import ScoredExam, run_job, scored_exam, sit, small_exam

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
CaptureCallbacks = Callable[..., Any]


@pytest.fixture
def exam(course: Course) -> Exam:
    return small_exam(course)


@pytest.fixture
def scored(course: Course, student: User, other_student: User) -> ScoredExam:
    return scored_exam(course, student, other_student)


def results_url(exam: Exam) -> str:
    return reverse("grading:results", args=[exam.pk])


def page(client: Client, user: User, exam: Exam) -> str:
    client.force_login(user)
    response = client.get(results_url(exam))
    assert response.status_code == 200
    return response.content.decode()


def svgs(html: str) -> list[ET.Element]:
    """Every chart of the page, parsed: a chart that is not well-formed XML fails here."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, re.S)]  # noqa: S314


def with_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [element for element in root.iter() if name in (element.get("class") or "").split()]


def chart(html: str, name: str) -> ET.Element:
    (found,) = (root for root in svgs(html) if name in (root.get("class") or "").split())
    return found


def figure(html: str, key: str) -> str:
    found = re.search(rf'<tr data-figure="{key}">.*?<td class="text-end text-nowrap">(.*?)</td>', html, re.S)
    assert found, f"no figure {key}"
    return found.group(1)


def question_row(html: str, number: str) -> list[str]:
    found = re.search(rf'<tr data-question="{re.escape(number)}">(.*?)</tr>', html, re.S)
    assert found, f"no row for {number}"
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found.group(1), re.S)
    ]


def assert_strict_csp_markup(html: str) -> None:
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no inline event handlers
    for tag in re.findall(r"<script[^>]*>", html):
        assert " src=" in tag or 'type="application/json"' in tag, tag


# --- who may see it -----------------------------------------------------------------------------


def test_course_staff_see_the_page(client: Client, exam: Exam, instructor: User, ta: User) -> None:
    assert "Results: Midterm Exam" in page(client, instructor, exam)
    assert "Results: Midterm Exam" in page(client, ta, exam)


@pytest.mark.parametrize("name", ["results", "job"])
def test_students_and_other_courses_get_404(
    client: Client, exam: Exam, student: User, other_instructor: User, name: str
) -> None:
    for user in (student, other_instructor):
        client.force_login(user)
        assert client.get(reverse(f"grading:{name}", args=[exam.pk])).status_code == 404
    client.force_login(student)
    assert client.get(reverse(f"grading:{name}", args=[exam.pk + 1000])).status_code == 404


@pytest.mark.parametrize("name", ["results", "job", "score"])
def test_anonymous_visitors_are_sent_to_sign_in(client: Client, exam: Exam, name: str) -> None:
    url = reverse(f"grading:{name}", args=[exam.pk])
    response = client.post(url) if name == "score" else client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_a_ta_sees_the_button_disabled_and_cannot_score(
    client: Client, exam: Exam, ta: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    html = page(client, ta, exam)
    assert reverse("grading:score", args=[exam.pk]) not in html
    assert re.search(r'<button class="btn btn-primary" type="button" disabled[^>]*>Score all sittings</button>', html)
    assert "Only the course's instructors can start scoring." in html
    with django_capture_on_commit_callbacks() as callbacks:
        assert client.post(reverse("grading:score", args=[exam.pk])).status_code == 403
    assert not GradingJob.objects.exists() and callbacks == []


def test_students_and_other_instructors_cannot_score(
    client: Client, exam: Exam, student: User, other_instructor: User
) -> None:
    for user in (student, other_instructor):
        client.force_login(user)
        assert client.post(reverse("grading:score", args=[exam.pk])).status_code == 404
    assert not GradingJob.objects.exists()


def test_scoring_takes_a_post(client: Client, exam: Exam, instructor: User) -> None:
    client.force_login(instructor)
    assert client.get(reverse("grading:score", args=[exam.pk])).status_code == 405
    assert client.post(results_url(exam)).status_code == 405


# --- before any result --------------------------------------------------------------------------


def test_without_a_job_the_page_says_what_to_do(client: Client, exam: Exam, instructor: User, ta: User) -> None:
    html = page(client, instructor, exam)
    assert "No scoring job has run for this exam yet." in html
    assert 'id="results-empty"' in html and "No results yet" in html
    assert "press <strong>Score all sittings</strong> above" in html
    assert "Downloads" not in html and "<svg" not in html
    assert "grading/results.js" not in html  # nothing to follow
    html = page(client, ta, exam)
    assert "when an instructor of the course presses <strong>Score all sittings</strong>" in html


def test_a_job_that_found_no_sitting_says_so(client: Client, exam: Exam, instructor: User) -> None:
    run_job(exam)
    html = page(client, instructor, exam)
    assert "The last scoring found no submitted sitting." in html and "<svg" not in html


# --- the button and the job endpoint ------------------------------------------------------------


def test_the_button_starts_exactly_one_job(
    client: Client, exam: Exam, instructor: User, student: User, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    sit(exam, student, {"1.1": True})
    client.force_login(instructor)
    score = reverse("grading:score", args=[exam.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(score)
    assert response.status_code == 302 and response["Location"] == results_url(exam)
    job = GradingJob.objects.get()
    assert job.trigger == GradingJob.Trigger.BUTTON and job.requested_by == instructor and job.status == "queued"
    assert len(callbacks) == 1  # the job is sent to the workers once the request commits

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(score, follow=True)
    assert GradingJob.objects.count() == 1 and callbacks == []
    html = response.content.decode()
    assert "A scoring job for this exam is already queued: no second one was started." in html

    # While it runs: a progress bar that follows it, and a disabled button.
    assert re.search(
        rf'<div class="job-progress mb-3" id="job-progress" data-job-url="{reverse("grading:job", args=[exam.pk])}" '
        rf'data-job-id="{job.pk}">',
        html,
    )
    assert '<progress class="job-progress-bar" id="job-progress-bar" max="100" value="0">0%</progress>' in html
    assert '<script type="module" src="/static/grading/results.js"></script>' in html
    assert re.search(r'<button class="btn btn-primary" type="submit" disabled[^>]*>Score all sittings</button>', html)
    assert "No results yet" not in html
    assert_strict_csp_markup(html)


def test_the_first_press_says_scoring_started(client: Client, exam: Exam, instructor: User) -> None:
    client.force_login(instructor)
    html = client.post(reverse("grading:score", args=[exam.pk]), follow=True).content.decode()
    assert "Scoring has started." in html


def test_the_job_endpoint_reports_the_latest_job(client: Client, exam: Exam, instructor: User, ta: User) -> None:
    client.force_login(ta)
    url = reverse("grading:job", args=[exam.pk])
    response = client.get(url)
    assert response.status_code == 200 and response.json() == {"job": None}
    assert "no-cache" in response["Cache-Control"]

    job, _ = job_request(exam=exam, trigger=GradingJob.Trigger.BUTTON, requested_by=instructor)
    data = client.get(url).json()["job"]
    assert data["id"] == job.pk and data["status"] == "queued" and data["status_label"] == "Queued"
    assert data["active"] is True and data["progress_percent"] == 0 and data["finished_at"] is None

    run_job_id = job.pk
    from grading.jobs import job_run_inline

    job_run_inline(run_job_id, now=timezone.now())
    data = client.get(url).json()["job"]
    assert data["status"] == "succeeded" and data["active"] is False and data["progress_percent"] == 100
    assert data["finished_at"] is not None and data["error"] == ""


# --- after a real scoring job -------------------------------------------------------------------


def test_the_page_shows_the_statistics_of_the_last_job(client: Client, scored: ScoredExam, instructor: User) -> None:
    html = page(client, instructor, scored.exam)
    stats = scored.job.statistics
    assert stats is not None

    assert 'data-status="succeeded"' in html and "Score every sitting" in html
    assert re.search(r'id="statistics-computed">\s*Computed <time datetime="[^"]+">[^<]+</time>\s*on 3 sittings', html)
    assert "3 sittings submitted or closed at the deadline; 3 with a score." in html
    assert "<strong>1 score still waits for manual grading</strong>, in 1 sitting" in html

    # Totals 8, −1 and 0 of a maximum of 9.
    assert figure(html, "n") == "3"
    assert figure(html, "mean") == "2.33 points of 9"
    assert figure(html, "median") == "0.00 points"
    assert figure(html, "min") == "-1.00 points" and figure(html, "max") == "8.00 points"
    assert figure(html, "sd") == f"{stats['exam']['sd']:.2f} points"
    assert figure(html, "skewness") == f"{stats['exam']['skewness']:.2f}"
    assert figure(html, "kurtosis") == "–"  # needs four sittings
    assert figure(html, "cic") == f"{stats['exam']['cic']:.1f}%"
    assert figure(html, "error_ratio") == f"{stats['exam']['error_ratio']:.1f}%"
    assert figure(html, "standard_error") == f"{stats['exam']['standard_error']:.2f} points"
    assert "Cronbach&#x27;s alpha, in percent" in html  # each figure is explained

    # 1.1: mean points 1/3 on a range of −1..2, so facility (1/3 + 1) / 3 = 44.4%.
    row = question_row(html, "1.1")
    assert row[:5] == ["1.1", "True / False", "none", "2", "44.4%"]
    by_number = {q["number"]: q for q in stats["questions"]}
    expected = by_number["1.1"]
    assert row[5:12] == [
        f"{100 * expected['sd']:.1f}%",
        f"{expected['discrimination_index']:.1f}%",
        f"{expected['discriminative_efficiency']:.1f}%",
        "16.7%",  # 2 of 12 points
        f"{expected['effective_weight']:.1f}%",
        "0.5",  # a coin toss: ½ · 2 + ½ · (−1)
        "33.3%",  # Mallory left it blank
    ]
    assert question_row(html, "2.3")[3] == "3 extra credit"
    # 2.2 waits for a grader: nobody has points yet, so it is flagged as very hard, with words.
    assert question_row(html, "2.2")[2] == "Facility below 10%: very hard"
    assert question_row(html, "2.2")[6] == "–"
    assert '<span class="badge text-bg-warning question-flag">Facility below 10%: very hard</span>' in html
    assert "1 question flagged for a closer look." in html

    assert "What the columns mean" in html and "Discriminative efficiency" in html


def test_the_page_draws_its_charts_from_the_statistics(client: Client, scored: ScoredExam, instructor: User) -> None:
    html = page(client, instructor, scored.exam)
    stats = scored.job.statistics
    assert stats is not None
    roots = svgs(html)
    assert len(roots) == 4  # histogram, scatter, options of 1.1 and of 2.1
    histogram = chart(html, "chart-histogram")
    assert len(with_class(histogram, "chart-bar")) == len(stats["exam"]["histogram"]["counts"])
    scatter = chart(html, "chart-scatter")
    labels = [point.find(f"{SVG}text").text for point in with_class(scatter, "chart-point")]  # type: ignore[union-attr]
    assert labels == ["1.1", "2.1", "2.3"]  # 2.2 has no spread to plot
    assert "Not plotted, for lack of a spread in the scores: 2.2." in (scatter.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    options = [root for root in roots if "chart-options" in (root.get("class") or "")]
    assert [root.get("aria-label") for root in options] == [
        "Options chosen in question 1.1 by the top and bottom 27% of sittings",
        "Options chosen in question 2.1 by the top and bottom 27% of sittings",
    ]
    assert len(with_class(options[1], "chart-bar")) == 2 * 4  # A, B, C and blank
    # The grid's accuracy per cell: Alice's is the one answer, both cells right.
    assert re.search(
        r"Question 2.3: share right per cell, of 1 non-blank answer</caption>\s*<tbody>\s*<tr>"
        r'<td class="text-end">100.0%</td><td class="text-end">100.0%</td></tr>',
        html,
    )


def test_the_page_passes_the_csp(client: Client, scored: ScoredExam, instructor: User) -> None:
    client.force_login(instructor)
    response = client.get(results_url(scored.exam))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    html = response.content.decode()
    assert_strict_csp_markup(html)
    assert "grading/results.js" not in html  # no job running: nothing to poll


def test_downloads_are_offered_once_sittings_are_scored(client: Client, scored: ScoredExam, ta: User) -> None:
    html = page(client, ta, scored.exam)
    export = reverse("grading:export", args=[scored.exam.pk])
    assert f'href="{export}?format=csv" download>Scores per question (CSV)' in html
    assert f'href="{export}?format=canvas" download>Canvas gradebook import (CSV)' in html


def test_a_failed_job_shows_its_error_escaped(client: Client, scored: ScoredExam, instructor: User) -> None:
    job, _ = job_request(exam=scored.exam, trigger=GradingJob.Trigger.BUTTON)
    job_fail(job.pk, error="Chunk 0: <b>boom</b>", now=timezone.now())
    html = page(client, instructor, scored.exam)
    assert "The latest scoring job failed." in html and "Chunk 0: &lt;b&gt;boom&lt;/b&gt;" in html
    assert 'data-figure="mean"' in html  # the last good statistics stay on show


def test_a_running_rescore_keeps_the_last_statistics_on_show(
    client: Client, scored: ScoredExam, instructor: User
) -> None:
    job_request(exam=scored.exam, trigger=GradingJob.Trigger.BUTTON)
    html = page(client, instructor, scored.exam)
    assert 'id="job-progress"' in html and 'data-figure="mean"' in html
    assert_strict_csp_markup(html)


# --- the ways in ---------------------------------------------------------------------------------


def test_the_exam_admin_page_links_to_the_results(client: Client, exam: Exam, instructor: User) -> None:
    client.force_login(instructor)
    html = client.get(reverse("admin:exams_exam_change", args=[exam.pk])).content.decode()
    assert f'<li><a href="{results_url(exam)}">Results</a></li>' in html


def test_the_home_page_links_staff_to_the_results(client: Client, exam: Exam, instructor: User, student: User) -> None:
    client.force_login(instructor)
    assert f'href="{results_url(exam)}">Results' in client.get(reverse("home")).content.decode()
    client.force_login(student)
    assert results_url(exam) not in client.get(reverse("home")).content.decode()
