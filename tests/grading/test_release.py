"""Releasing grades: who may, when it is refused, the regrade deadline, and what students see.

Before release a student sees no score, key, solution, rubric text or comment anywhere: every
route of the site is fetched as the student (GET and POST, pages and JSON) through a client
that scans each response for markers planted in those fields. After release the student's
results page shows them all, their own answers included, and never another student's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Course, User
from grading.models import GradeRelease
from tests.grading.release_data import ANSWERS, GRADED, SECRETS, ReleasedExam, crawl, graded_exam, marked_exam, sit

pytestmark = pytest.mark.django_db

T0 = datetime(2023, 5, 10, 19, 0, tzinfo=UTC)  # noon in Seattle (the site's time zone)


class ScanningClient(Client):
    """A test client that fails any response containing one of ``markers``."""

    def __init__(self, markers: dict[str, str], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.markers = markers
        self.scanned: list[str] = []

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        where = f"{request.get('REQUEST_METHOD', 'GET')} {request.get('PATH_INFO', '')}"
        text = response.getvalue().decode(errors="replace")
        for field, marker in self.markers.items():
            assert marker not in text, f"the {field} ({marker!r}) reached {where} ({response.status_code})"
        self.scanned.append(where)
        return response


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def graded(
    frozen: time_machine.Traveller, course: Course, student: User, other_student: User, ta: User
) -> ReleasedExam:
    return graded_exam(course, student, other_student, ta)


def release_url(graded: ReleasedExam) -> str:
    return reverse("grading:release", args=[graded.exam.pk])


def results_url(sitting_id: int) -> str:
    return reverse("grading:sitting-results", args=[sitting_id])


def release(client: Client, instructor: User, graded: ReleasedExam, **data: str) -> Any:
    client.force_login(instructor)
    return client.post(release_url(graded), data)


def assert_strict_csp_markup(page: str) -> None:
    assert " style=" not in page and "<style" not in page
    assert not re.search(r"<[^>]+\son[a-z]+=", page)  # no inline event handlers
    assert all(' src="' in tag for tag in re.findall(r"<script[^>]*>", page))  # no inline script


def ids_of(graded: ReleasedExam) -> dict[str, list[int]]:
    """Ids to fill the site's routes with: the student's own, and the exam's."""
    exam, alice = graded.exam, graded.alice
    questions = [graded.question(number).pk for number in ("1.1", "2.1.1", "2.2")]
    scores = [graded.score(alice, number).pk for number in ("1.1", "2.1.1")]
    evaluations = list(alice.evaluations.values_list("pk", flat=True))
    regrades = list(graded.score(alice, "2.1.1").regrade_requests.values_list("pk", flat=True))
    return {
        "exam_id": [exam.pk],
        "sitting_id": [alice.pk],
        "question_id": questions,
        "score_id": scores,
        "evaluation_id": evaluations,
        "request_id": regrades or [1],
        "item_id": [graded.item.pk],
        "pk": sorted(
            {exam.pk, exam.course_id, alice.pk, graded.job.pk, graded.item.pk, *questions, *scores, *evaluations}
        ),
    }


# --- before release -----------------------------------------------------------------------------------


def test_before_release_no_student_response_holds_a_score_key_or_rubric(
    graded: ReleasedExam, student: User, other_student: User
) -> None:
    alice_total = graded.alice.result.points
    markers = {
        **SECRETS,
        **{f"alice's {field}": marker for field, marker in GRADED["alice"].items()},
        **{f"bob's {field}": marker for field, marker in GRADED["bob"].items()},
        "bob's answer": ANSWERS["bob"],
        "alice's total": f"{alice_total.normalize():f}",
        "results link": "/results/",
    }
    assert "." in markers["alice's total"]  # distinctive: 13.xx, not a small whole number
    client = ScanningClient(markers)
    client.force_login(student)
    statuses = crawl(client, ids_of(graded))
    assert len(statuses) > 100
    assert statuses[f"GET {results_url(graded.alice.pk)}"] == 404
    assert statuses[f"POST {reverse('grading:regrade-request', args=[graded.alice.pk])}"] == 404
    assert statuses[f"GET {reverse('exams:receipt', args=[graded.alice.pk])}"] == 200
    assert statuses["GET /"] == 200
    assert statuses[f"GET {release_url(graded)}"] == 404
    assert statuses[f"GET {reverse('grading:regrades', args=[graded.exam.pk])}"] == 404
    assert not GradeRelease.objects.exists()
    assert {status for status in statuses.values()} <= {200, 201, 202, 302, 400, 403, 404, 405, 409}


def test_the_scan_is_real(graded: ReleasedExam, student: User, instructor: User) -> None:
    """The same scan over the released results page catches the markers."""
    release(Client(), instructor, graded, confirm_pending="on")
    client = ScanningClient({"comment": GRADED["alice"]["comment"]})
    client.force_login(student)
    with pytest.raises(AssertionError, match="the comment"):
        client.get(results_url(graded.alice.pk))


# --- who may release, and when ------------------------------------------------------------------------


def test_only_the_courses_instructors_release(
    client: Client, graded: ReleasedExam, ta: User, student: User, other_instructor: User
) -> None:
    client.force_login(ta)
    assert client.get(release_url(graded)).status_code == 403
    assert client.post(release_url(graded), {"confirm_pending": "on"}).status_code == 403
    for outsider in (student, other_instructor):
        client.force_login(outsider)
        assert client.get(release_url(graded)).status_code == 404
        assert client.post(release_url(graded), {"confirm_pending": "on"}).status_code == 404
    client.logout()
    assert client.get(release_url(graded)).status_code == 302  # to the login page
    assert not GradeRelease.objects.exists()


def test_the_results_page_links_to_the_release_for_instructors(
    client: Client, graded: ReleasedExam, instructor: User, ta: User
) -> None:
    client.force_login(instructor)
    page = client.get(reverse("grading:results", args=[graded.exam.pk])).content.decode()
    assert release_url(graded) in page and reverse("grading:regrades", args=[graded.exam.pk]) in page
    client.force_login(ta)
    page = client.get(reverse("grading:results", args=[graded.exam.pk])).content.decode()
    assert release_url(graded) not in page and reverse("grading:regrades", args=[graded.exam.pk]) in page


def test_an_exam_never_scored_cannot_be_released(
    client: Client, frozen: None, course: Course, instructor: User, student: User
) -> None:
    exam = marked_exam(course)
    sit(exam, student, {"1.1": True})
    client.force_login(instructor)
    url = reverse("grading:release", args=[exam.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'id="not-scored"' in page.content.decode()
    refused = client.post(url, {"confirm_pending": "on"})
    assert refused.status_code == 400
    assert "has not been scored yet" in refused.content.decode()
    assert not GradeRelease.objects.exists()


def test_answers_waiting_for_a_grader_need_a_confirmation(
    client: Client, graded: ReleasedExam, instructor: User
) -> None:
    client.force_login(instructor)
    page = client.get(release_url(graded)).content.decode()
    # alice's sketch waits for a grader (bob left his blank).
    assert 'id="pending-warning"' in page and "1 answer in 1 sitting still waits for a grader" in page
    assert 'name="confirm_pending"' in page
    refused = client.post(release_url(graded), {"regrade_deadline": ""})
    assert refused.status_code == 400
    assert "still wait for a grader. Confirm to release anyway." in refused.content.decode()
    assert not GradeRelease.objects.exists()

    released = client.post(release_url(graded), {"regrade_deadline": "", "confirm_pending": "on"})
    assert released.status_code == 302
    made = GradeRelease.objects.get()
    assert (made.exam, made.released_by, made.released_at, made.regrade_deadline) == (
        graded.exam,
        instructor,
        T0,
        None,
    )


def test_a_fully_graded_exam_releases_without_confirmation(
    client: Client, frozen: None, course: Course, student: User, other_student: User, ta: User, instructor: User
) -> None:
    graded = graded_exam(course, student, other_student, ta, grade_everything=True)
    client.force_login(instructor)
    page = client.get(release_url(graded)).content.decode()
    assert 'id="pending-none"' in page and 'name="confirm_pending"' not in page
    assert client.post(release_url(graded), {"regrade_deadline": "2023-05-17T17:00"}).status_code == 302
    assert GradeRelease.objects.get().regrade_deadline == datetime(2023, 5, 18, 0, 0, tzinfo=UTC)


def test_the_deadline_is_read_in_the_sites_time_zone_and_can_move(
    client: Client, graded: ReleasedExam, instructor: User, frozen: time_machine.Traveller
) -> None:
    # 5 PM in Seattle (PDT, UTC−7) is midnight UTC.
    response = release(client, instructor, graded, regrade_deadline="2023-05-17T17:00", confirm_pending="on")
    assert response.status_code == 302
    made = GradeRelease.objects.get()
    assert made.regrade_deadline == datetime(2023, 5, 18, 0, 0, tzinfo=UTC)

    page = client.get(release_url(graded)).content.decode()
    assert 'id="released-at"' in page and "Wednesday, May 10, 2023, 12:00 PM PDT" in page
    assert 'value="2023-05-17T17:00"' in page  # the field shows the deadline in local time
    assert "Regrade requests are open until" in page and "Move the regrade deadline" in page
    assert_strict_csp_markup(page)

    frozen.shift(timedelta(days=1))
    assert client.post(release_url(graded), {"regrade_deadline": "2023-05-24T09:30"}).status_code == 302
    moved = GradeRelease.objects.get()
    assert moved.regrade_deadline == datetime(2023, 5, 24, 16, 30, tzinfo=UTC)
    assert moved.released_at == T0  # moving the deadline is no new release

    past = client.post(release_url(graded), {"regrade_deadline": "2023-05-01T09:30"})
    assert past.status_code == 400 and "must be in the future" in past.content.decode()
    assert client.post(release_url(graded), {"regrade_deadline": "not a date"}).status_code == 400
    assert GradeRelease.objects.get().regrade_deadline == datetime(2023, 5, 24, 16, 30, tzinfo=UTC)

    assert client.post(release_url(graded), {"regrade_deadline": ""}).status_code == 302  # no more requests
    assert GradeRelease.objects.get().regrade_deadline is None


def test_a_deadline_in_the_past_refuses_the_release(client: Client, graded: ReleasedExam, instructor: User) -> None:
    refused = release(client, instructor, graded, regrade_deadline="2023-05-01T09:30", confirm_pending="on")
    assert refused.status_code == 400
    assert not GradeRelease.objects.exists()


def test_instructors_preview_what_a_student_will_see(
    client: Client, graded: ReleasedExam, instructor: User, ta: User, student: User
) -> None:
    url = reverse("grading:release-preview", args=[graded.exam.pk, graded.alice.pk])
    client.force_login(instructor)
    assert url in client.get(release_url(graded)).content.decode()
    page = client.get(url).content.decode()
    assert 'id="results-preview"' in page and GRADED["alice"]["comment"] in page
    assert "Request a regrade" not in page
    client.force_login(ta)
    assert client.get(url).status_code == 403
    client.force_login(student)
    assert client.get(url).status_code == 404


# --- after release ------------------------------------------------------------------------------------


def test_after_release_the_student_sees_everything_about_their_own_answers(
    client: Client, graded: ReleasedExam, instructor: User, student: User
) -> None:
    release(client, instructor, graded, confirm_pending="on")
    client.force_login(student)
    response = client.get(results_url(graded.alice.pk))
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    result = graded.alice.result
    assert f"{result.points.normalize():f}" in page and f"of {result.max_points.normalize():f} points" in page
    for field in ("short answer model answer", "sketch key", "rubric item description", "rubric item explanation"):
        assert SECRETS[field] in page, field
    assert "7364.25 params ± 1.37%" in page  # the numeric key, in words
    assert 'Correct answer:</span> <code class="result-key-text">B</code>' in page  # single choice
    assert page.count(SECRETS["solution"]) == 8  # every question's solution, the group's included
    for marker in GRADED["alice"].values():
        assert marker in page
    assert "2.87 of 4" in page  # the short answer's points, of its maximum
    assert ANSWERS["alice"] in page
    assert 'data-answer-kind="sketch"' in page  # her own answers, shown read-only
    assert "Not graded yet" in page  # her sketch (released with a confirmation)
    assert 'data-section="1"' in page and 'data-section="2"' in page
    assert_strict_csp_markup(response.content.decode())
    # Nothing of bob's.
    for marker in (*GRADED["bob"].values(), ANSWERS["bob"]):
        assert marker not in page


def test_after_release_nobody_sees_anothers_results(
    client: Client, graded: ReleasedExam, instructor: User, ta: User, other_student: User, other_instructor: User
) -> None:
    release(client, instructor, graded, confirm_pending="on")
    for someone in (other_student, ta, instructor, other_instructor):
        client.force_login(someone)
        assert client.get(results_url(graded.alice.pk)).status_code == 404, someone.net_id
    client.force_login(other_student)
    page = client.get(results_url(graded.bob.pk)).content.decode()
    assert GRADED["bob"]["comment"] in page and GRADED["alice"]["comment"] not in page


def test_after_release_the_student_reaches_nothing_of_another_student(
    graded: ReleasedExam, instructor: User, student: User
) -> None:
    release(Client(), instructor, graded, confirm_pending="on")
    markers = {
        **{f"bob's {field}": marker for field, marker in GRADED["bob"].items()},
        "bob's answer": ANSWERS["bob"],
    }
    client = ScanningClient(markers)
    client.force_login(student)
    statuses = crawl(client, ids_of(graded))
    assert statuses[f"GET {results_url(graded.alice.pk)}"] == 200


def test_the_home_page_and_the_receipt_link_to_the_results_once_released(
    client: Client, graded: ReleasedExam, instructor: User, student: User
) -> None:
    client.force_login(student)
    receipt = reverse("exams:receipt", args=[graded.alice.pk])
    assert results_url(graded.alice.pk) not in client.get("/").content.decode()
    assert results_url(graded.alice.pk) not in client.get(receipt).content.decode()
    release(client, instructor, graded, confirm_pending="on")
    client.force_login(student)
    assert results_url(graded.alice.pk) in client.get("/").content.decode()
    assert results_url(graded.alice.pk) in client.get(receipt).content.decode()
