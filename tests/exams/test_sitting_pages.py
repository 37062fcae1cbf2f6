"""The student's pages of sitting an exam, through HTTP: lobby, start, exam page, review,
submit, receipt, closing; and who may reach them."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import Course, Role, User
from exams import selectors
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.kinds import KIND_GROUP
from exams.markdown import render_markdown
from exams.models import (
    Accommodation,
    Answer,
    Exam,
    Extension,
    HonorCodeSignature,
    Question,
    Sitting,
    SittingStatus,
)
from exams.sittings import receipt_display
from exams.tasks import close_expired_sittings
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_choices, add_question, member

T0 = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)  # 10:00 in Seattle
N_LEAVES = 37  # answerable questions on the seed midterm
DEVICE = "00000000-0000-4000-8000-00000000000a"


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def seed(course: Course, settings: Settings, tmp_path: Path) -> Exam:
    """The seed midterm, published, its window open from an hour before T0 to three hours after."""
    settings.MEDIA_ROOT = tmp_path / "media"
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    exam.published = True
    exam.opens_at = T0 - timedelta(hours=1)
    exam.closes_at = T0 + timedelta(hours=3)
    exam.save()
    return exam


@pytest.fixture
def exam(course: Course) -> Exam:
    """A small published exam: a true/false, a multiple select, a group with a short answer."""
    exam = ExamFactory.create(
        course=course,
        title="Quiz 3",
        published=True,
        duration_minutes=80,
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + timedelta(hours=3),
    )
    first = SectionFactory.create(exam=exam, number=1, title="True / False", recommended_minutes=10)
    second = SectionFactory.create(exam=exam, number=2, title="Short Answers", recommended_minutes=20)
    add_question(first, kind="true_false", points=2, key={"value": True}, prompt="The sky is blue.")
    ms = add_question(first, kind="multiple_select", points=4, prompt="Pick the primes.")
    add_choices(ms, "two", "three", "four", correct="AB")
    group = add_question(second, kind="group", points=0, prompt="About networks.")
    add_question(second, kind="short_answer", points=2, parent=group, prompt="Explain ReLU.")
    add_question(second, kind="numeric", points=1, parent=group, prompt="How many layers?", key={"value": 3})
    return exam


def leaves(exam: Exam) -> list[Question]:
    return list(Question.objects.filter(exam=exam).exclude(kind=KIND_GROUP).order_by("section__number", "number"))


def lobby(exam: Exam) -> str:
    return reverse("exams:lobby", args=[exam.pk])


def start(client: Client, exam: Exam, signature: str = "Alice Nguyen", **fields: str) -> Any:
    return client.post(lobby(exam), {"signature": signature, **fields}, HTTP_USER_AGENT="Firefox/128.0")


def started(client: Client, exam: Exam, student: User) -> Sitting:
    client.force_login(student)
    response = start(client, exam, signature=student.full_name)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Sitting.objects.get(exam=exam, student=student)


def refusal(response: Any) -> str:
    """The code of the refusal shown on a lobby page (or "" when none)."""
    assert response.status_code == 200
    found = re.search(r'role="alert" id="lobby-refusal" data-refusal="([a-z_]+)"', response.content.decode())
    return found.group(1) if found else ""


def json_data(html: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, f"no #{element_id} on the page"
    return json.loads(found.group(1))


def save(client: Client, sitting: Sitting, answers: list[dict[str, Any]], device: str = DEVICE) -> Any:
    return client.post(
        reverse("sitting-answers", args=[sitting.pk]),
        {"device": device, "answers": answers},
        content_type="application/json",
    )


def claim(client: Client, sitting: Sitting, device: str = DEVICE) -> Any:
    return client.post(reverse("sitting-claim", args=[sitting.pk]), {"device": device}, content_type="application/json")


def assert_strict_csp_markup(html: str) -> None:
    assert " style=" not in html and "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert " src=" in tag or 'type="application/json"' in tag, tag


# --- the lobby (cover page) ------------------------------------------------------------------


def test_the_lobby_mirrors_the_paper_cover(client: Client, frozen: None, seed: Exam, student: User) -> None:
    client.force_login(student)

    response = client.get(lobby(seed))

    assert response.status_code == 200
    html = response.content.decode()
    assert "CSE 493 G1 / 599 G1 Deep Learning" in html
    assert '<h1 id="paper-title">Midterm Exam</h1>' in html
    assert "Spring 2023" in html and "May 4, 2023" in html and "80 minutes" in html
    assert re.search(r"1 True / False</th>\s*<td>20</td>\s*<td>10 minutes</td>", html)
    assert re.search(r"2 Multiple Choices</th>\s*<td>40</td>\s*<td>25 minutes</td>", html)
    assert re.search(r"3 Short Answers</th>\s*<td>40 \+ 12 extra credit</td>\s*<td>45 minutes</td>", html)
    assert re.search(r"Total</th>\s*<td>100</td>", html)
    assert "There is a potential for 12 points of extra credit, on top of the 100." in html
    assert "One handwritten double-sided cheat sheet is allowed." in html  # the rules
    # Name and NetID come from the account, read-only and never posted back.
    assert re.search(r'<input [^>]*id="cover-full-name"[^>]*value="Alice Nguyen" readonly>', html)
    assert re.search(r'<input [^>]*id="cover-net-id"[^>]*value="alice" readonly>', html)
    assert 'name="full_name"' not in html and 'name="net_id"' not in html
    assert "I understand and agree to uphold the University of Washington Honor Code during this exam." in html
    assert 'name="signature"' in html and "csrfmiddlewaretoken" in html
    assert 'name="access_code"' not in html  # the seed sets none
    assert "Sign and start the exam" in html
    # The questions stay hidden until the student starts.
    assert "Model A has a lower test loss" not in html
    assert_strict_csp_markup(html)


def test_the_lobby_asks_for_the_access_code_only_when_set(
    client: Client, frozen: None, exam: Exam, student: User
) -> None:
    client.force_login(student)
    exam.access_code = "ROOM-42"
    exam.save()

    html = client.get(lobby(exam)).content.decode()

    assert 'name="access_code"' in html
    assert "ROOM-42" not in html


def test_the_lobby_says_when_the_window_is_not_open(client: Client, exam: Exam, student: User) -> None:
    client.force_login(student)
    with time_machine.travel(T0 - timedelta(hours=2), tick=False):
        assert "This exam opens at" in client.get(lobby(exam)).content.decode()
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        assert "This exam's window has closed." in client.get(lobby(exam)).content.decode()


def test_staff_see_a_note_and_the_preview_instead_of_a_start_form(
    client: Client, frozen: None, exam: Exam, instructor: User, ta: User
) -> None:
    for person in (instructor, ta):
        client.force_login(person)
        html = client.get(lobby(exam)).content.decode()
        assert "on this course's staff" in html
        assert reverse("exams:preview", args=[exam.pk]) in html
        assert 'name="signature"' not in html
        assert client.post(lobby(exam), {"signature": person.full_name}).status_code == 200
    assert not Sitting.objects.exists()


@pytest.mark.parametrize("who", ["outsider", "other_instructor", "dropped", "anonymous"])
def test_only_students_of_the_course_reach_the_lobby(
    client: Client, frozen: None, exam: Exam, student: User, other_instructor: User, who: str
) -> None:
    if who == "outsider":
        client.force_login(UserFactory.create(net_id="dave", full_name="Dave Outsider"))
    elif who == "other_instructor":
        client.force_login(other_instructor)
    elif who == "dropped":
        student.memberships.update(active=False)
        client.force_login(student)

    for response in (client.get(lobby(exam)), start(client, exam, signature="Dave Outsider")):
        if who == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
        else:
            assert response.status_code == 404
    assert not Sitting.objects.exists()


@pytest.mark.parametrize("change", [{"published": False}, {"archived": True}])
def test_unpublished_and_archived_exams_do_not_exist_for_students(
    client: Client, frozen: None, exam: Exam, student: User, change: dict[str, bool]
) -> None:
    Exam.objects.filter(pk=exam.pk).update(**change)
    client.force_login(student)

    assert client.get(lobby(exam)).status_code == 404
    assert start(client, exam).status_code == 404
    assert not Sitting.objects.exists()


# --- refusals ------------------------------------------------------------------------------


def assert_nothing_started() -> None:
    assert not Sitting.objects.exists()
    assert not HonorCodeSignature.objects.exists()


@pytest.mark.parametrize(
    ("when", "message"),
    [(T0 - timedelta(hours=1, seconds=1), "This exam opens at"), (T0 + timedelta(hours=3), "window has closed")],
)
def test_starting_outside_the_window_is_refused(
    client: Client, exam: Exam, student: User, when: datetime, message: str
) -> None:
    client.force_login(student)
    with time_machine.travel(when, tick=False):
        response = start(client, exam)
    assert refusal(response) == "window"
    assert message in response.content.decode()
    assert_nothing_started()


@pytest.mark.parametrize("typed", ["", "Alice", "Bob Okafor", "Alice Nguyen Jr"])
def test_a_missing_or_wrong_signature_is_refused_and_the_typed_name_kept(
    client: Client, frozen: None, exam: Exam, student: User, typed: str
) -> None:
    client.force_login(student)

    response = start(client, exam, signature=typed)

    assert refusal(response) == "signature"
    html = response.content.decode()
    assert "Sign the honor code by typing your full name as on the roster: Alice Nguyen." in html
    assert re.search(rf'<input [^>]*name="signature"[^>]*value="{re.escape(typed)}"[^>]*aria-invalid="true"', html)
    assert_nothing_started()


@pytest.mark.parametrize("typed", ["alice nguyen", "  ALICE   NGUYEN ", "AliceNguyen"])
def test_the_signature_matches_ignoring_case_and_spacing(
    client: Client, frozen: None, exam: Exam, student: User, typed: str
) -> None:
    client.force_login(student)

    response = start(client, exam, signature=typed)

    assert response.status_code == 302
    assert HonorCodeSignature.objects.get().typed_name == typed.strip()


def test_a_wrong_access_code_is_refused(client: Client, frozen: None, exam: Exam, student: User) -> None:
    exam.access_code = "ROOM-42"
    exam.save()
    client.force_login(student)

    for code in ("", "ROOM-41"):
        response = start(client, exam, access_code=code)
        assert refusal(response) == "access_code_wrong"
        html = response.content.decode()
        assert "That access code is not right." in html
        assert 'value="Alice Nguyen"' in html  # the signature is kept; the code is not echoed
        assert "ROOM-4" not in html
    assert_nothing_started()
    assert start(client, exam, access_code=" ROOM-42 ").status_code == 302


def test_wrong_access_codes_lock_the_student_out_for_a_while(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User, other_student: User
) -> None:
    exam.access_code = "ROOM-42"
    exam.save()
    client.force_login(student)

    for _ in range(settings.EXAMHALL_ACCESS_CODE_ATTEMPTS):
        assert refusal(start(client, exam, access_code="guess")) == "access_code_wrong"
    response = start(client, exam, access_code="ROOM-42")  # even the right code, now

    assert refusal(response) == "access_code_locked"
    assert "Too many wrong access codes." in response.content.decode()
    assert_nothing_started()
    # The lock is the student's own: a classmate still starts.
    client.force_login(other_student)
    assert start(client, exam, signature="Bob Okafor", access_code="ROOM-42").status_code == 302


def test_starting_from_outside_the_allowed_networks_is_refused(
    client: Client, frozen: None, exam: Exam, student: User
) -> None:
    exam.allowed_networks = "10.20.0.0/16\n192.168.7.0/24"
    exam.save()
    client.force_login(student)

    response = client.post(lobby(exam), {"signature": "Alice Nguyen"}, REMOTE_ADDR="172.16.0.5")

    assert refusal(response) == "network"
    assert "your address is 172.16.0.5" in response.content.decode()
    assert_nothing_started()
    response = client.post(lobby(exam), {"signature": "Alice Nguyen"}, REMOTE_ADDR="10.20.33.4")
    assert response.status_code == 302
    assert Sitting.objects.get().start_ip == "10.20.33.4"


def test_every_post_needs_the_csrf_token(frozen: None, exam: Exam, student: User) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(student)

    assert strict.post(lobby(exam), {"signature": "Alice Nguyen"}).status_code == 403
    assert_nothing_started()
    html = strict.get(lobby(exam)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token
    assert (
        strict.post(lobby(exam), {"signature": "Alice Nguyen", "csrfmiddlewaretoken": token.group(1)}).status_code
        == 302
    )
    sitting = Sitting.objects.get()
    assert strict.post(reverse("exams:submit", args=[sitting.pk])).status_code == 403
    sitting.refresh_from_db()
    assert sitting.status == SittingStatus.IN_PROGRESS


# --- starting ------------------------------------------------------------------------------


def test_starting_creates_one_sitting_and_its_signed_honor_code(
    client: Client, frozen: None, exam: Exam, student: User
) -> None:
    client.force_login(student)

    response = client.post(
        lobby(exam), {"signature": " alice  nguyen "}, REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Firefox/128.0"
    )

    sitting = Sitting.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("exams:sit", args=[sitting.pk])
    assert (sitting.exam, sitting.student, sitting.status) == (exam, student, SittingStatus.IN_PROGRESS)
    assert sitting.started_at == T0
    signature = HonorCodeSignature.objects.get()
    assert signature.sitting == sitting
    assert signature.typed_name == "alice  nguyen"
    assert signature.statement == exam.honor_code
    assert signature.signed_at == T0 and signature.signed_at.utcoffset() == timedelta(0)
    assert (signature.ip, signature.user_agent) == ("10.1.2.3", "Firefox/128.0")

    # Starting again (a double click, a second tab) gives the same sitting.
    again = start(client, exam, signature="")
    assert again.status_code == 302 and again["Location"] == response["Location"]
    assert Sitting.objects.count() == 1 and HonorCodeSignature.objects.count() == 1


def test_a_start_builds_no_cover_page_unless_it_shows_one(
    client: Client, frozen: None, exam: Exam, student: User
) -> None:
    client.force_login(student)
    with mock.patch("exams.sitting_views.exam_cover", wraps=selectors.exam_cover) as cover:
        assert refusal(start(client, exam, signature="Bob")) == "signature"
        assert cover.call_count == 1  # the refusal shows the cover again
        assert start(client, exam).status_code == 302
        assert cover.call_count == 1  # the start only redirects


def test_the_cover_follows_an_edit_at_once(client: Client, frozen: None, exam: Exam, student: User) -> None:
    client.force_login(student)
    assert re.search(r"Total</th>\s*<td>9</td>", client.get(lobby(exam)).content.decode())
    # A bulk update, as renumbering and the exam file import do: no signal, no cache to clear.
    Question.objects.filter(exam=exam, kind="true_false").update(points=Decimal(5))
    exam.sections.filter(number=1).update(title="Yes / No")
    html = client.get(lobby(exam)).content.decode()
    assert re.search(r"Total</th>\s*<td>12</td>", html)
    assert "1 Yes / No</th>" in html


def test_the_deadline_is_start_plus_duration(client: Client, exam: Exam, student: User) -> None:
    with time_machine.travel(T0 + timedelta(minutes=7, seconds=30), tick=False):
        sitting = started(client, exam, student)
    assert sitting.deadline == T0 + timedelta(minutes=87, seconds=30)


def test_the_deadline_counts_the_accommodation_and_extensions(
    client: Client, frozen: None, exam: Exam, student: User, instructor: User
) -> None:
    Accommodation.objects.create(course=exam.course, student=student, time_multiplier=Decimal("1.5"))
    for minutes in (10, 5):
        Extension.objects.create(
            exam=exam, student=student, minutes=minutes, reason="fire alarm", granted_by=instructor, granted_at=T0
        )

    assert started(client, exam, student).deadline == T0 + timedelta(minutes=80 * 1.5 + 15)


@pytest.mark.parametrize(("may_exceed", "minutes"), [(False, 60), (True, 160)])
def test_the_window_caps_the_deadline_unless_the_accommodation_allows(
    client: Client, frozen: None, exam: Exam, student: User, may_exceed: bool, minutes: int
) -> None:
    exam.closes_at = T0 + timedelta(minutes=60)
    exam.save()
    Accommodation.objects.create(
        course=exam.course, student=student, time_multiplier=Decimal(2), may_exceed_window=may_exceed
    )

    assert started(client, exam, student).deadline == T0 + timedelta(minutes=minutes)


def test_the_lobby_of_a_started_exam_continues_it_and_of_a_closed_one_shows_the_receipt(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    frozen.shift(timedelta(minutes=20))

    html = client.get(lobby(exam)).content.decode()
    assert "Your exam is in progress: <strong>1:00:00</strong> left" in html
    assert f'href="{reverse("exams:sit", args=[sitting.pk])}">Continue the exam</a>' in html
    assert 'name="signature"' not in html
    assert "Signed “Alice Nguyen”" in html

    client.post(reverse("exams:submit", args=[sitting.pk]))
    html = client.get(lobby(exam)).content.decode()
    assert "Your exam is submitted; your answers are final." in html
    assert f'href="{reverse("exams:receipt", args=[sitting.pk])}">See your receipt</a>' in html


# --- the exam page -----------------------------------------------------------------------------


def test_the_exam_page_holds_every_question_with_the_dom_contract(
    client: Client, frozen: None, seed: Exam, student: User
) -> None:
    sitting = started(client, seed, student)

    response = client.get(reverse("exams:sit", args=[sitting.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    answerable = leaves(seed)
    assert len(answerable) == N_LEAVES
    for question in answerable:
        assert f'id="question-{question.pk}" data-question-id="{question.pk}" data-kind="{question.kind}"' in html
        assert (
            f'<button type="button" class="btn btn-sm btn-outline-secondary paper-flag" '
            f'data-flag-question="{question.pk}" aria-pressed="false"'
        ) in html
        assert f'<a href="#question-{question.pk}" data-nav-question="{question.pk}">{question.number}</a>' in html
    for group in Question.objects.filter(exam=seed, kind=KIND_GROUP):
        assert f'data-question-id="{group.pk}"' not in html and f'data-nav-question="{group.pk}"' not in html
    # The navigator follows the paper's order.
    nav_order = [int(pk) for pk in re.findall(r'data-nav-question="(\d+)"', html)]
    paper_order = [int(pk) for pk in re.findall(r'<section [^>]*id="question-(\d+)" data-question-id=', html)]
    assert nav_order == paper_order and len(nav_order) == N_LEAVES
    assert re.search(r'<nav id="navigator"[^>]*aria-label="Questions">', html)
    assert "1 True / False · recommended 10 min" in html and "3 Short Answers · recommended 45 min" in html
    assert '<span id="exam-timer" role="timer" aria-live="off">1:20:00</span>' in html
    assert '<span id="save-status" role="status" aria-live="polite">All answers saved</span>' in html
    assert re.search(r'<div id="takeover-banner"[^>]* hidden role="alert">', html)
    assert re.search(r'<div id="closed-banner"[^>]* hidden role="alert">', html)
    assert f'href="{reverse("exams:review", args=[sitting.pk])}"' in html
    assert '<script type="module" src="/static/exams/sitting.js"></script>' in html
    # Widgets are live; nothing is disabled and no answer is written into them.
    fieldsets = re.findall(r'<fieldset class="answer [^"]*"[^>]*>', html)
    assert len(fieldsets) == N_LEAVES and not any(" disabled" in tag for tag in fieldsets)
    assert "<figcaption>Model 1</figcaption>" in html  # figures
    assert '<span class="math" data-math="inline">\\mathbf{W}</span>' in html  # math
    assert "Preview as student" not in html
    assert "csrftoken" in response.cookies  # for the page's script
    assert_strict_csp_markup(html)


def test_the_exam_page_hands_its_script_the_clock_urls_and_stored_answers(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    tf, ms, short, _ = leaves(exam)
    frozen.shift(timedelta(minutes=3))
    assert claim(client, sitting).status_code == 200
    saved = save(
        client,
        sitting,
        [
            {"question": tf.pk, "value": False, "seq": 1},
            {"question": ms.pk, "value": ["B"], "flagged": True, "seq": 2},
            {"question": short.pk, "value": "ReLU-ANSWER-TEXT zeroes negatives", "seq": 3},
        ],
    )
    assert saved.status_code == 200
    frozen.shift(timedelta(minutes=2))

    html = client.get(reverse("exams:sit", args=[sitting.pk])).content.decode()

    pk = sitting.pk
    assert json_data(html, "sitting-config") == {
        "sitting": pk,
        "exam": exam.pk,
        "deadline": (T0 + timedelta(minutes=80)).isoformat(),
        "server_now": (T0 + timedelta(minutes=5)).isoformat(),
        "grace_seconds": settings.EXAMHALL_SAVE_GRACE_SECONDS,
        "last_seq": 3,
        "status": "in_progress",
        "urls": {
            "state": f"/api/sittings/{pk}/",
            "answers": f"/api/sittings/{pk}/answers/",
            "claim": f"/api/sittings/{pk}/claim/",
            "events": f"/api/sittings/{pk}/events/",
            "review": f"/exams/sittings/{pk}/review/",
            "submit": f"/exams/sittings/{pk}/submit/",
            "receipt": f"/exams/sittings/{pk}/receipt/",
            "expression_preview": f"/api/sittings/{pk}/questions/0/expression-preview/",
        },
    }
    assert json_data(html, "sitting-answers") == {
        str(tf.pk): {"value": False, "flagged": False, "seq": 1},
        str(ms.pk): {"value": ["B"], "flagged": True, "seq": 2},
        str(short.pk): {"value": "ReLU-ANSWER-TEXT zeroes negatives", "flagged": False, "seq": 3},
    }
    assert html.count("ReLU-ANSWER-TEXT") == 1  # only in the JSON: the script fills the widgets
    assert "1:15:00</span>" in html


def test_the_paper_is_rendered_once_for_every_student_until_it_changes(
    client: Client, frozen: None, seed: Exam, student: User, other_student: User
) -> None:
    first, second = Client(), Client()
    mine, theirs = started(first, seed, student), started(second, seed, other_student)
    cache.delete(selectors.paper_html_cache_key(seed.pk))
    calls = mock.Mock(wraps=render_markdown)

    with (
        mock.patch("exams.selectors.render_markdown", calls),
        mock.patch("exams.templatetags.exam_paper.render_markdown", calls),
    ):
        assert first.get(reverse("exams:sit", args=[mine.pk])).status_code == 200
        assert calls.call_count > N_LEAVES  # every prompt, choice and grid label
        calls.reset_mock()
        page = second.get(reverse("exams:sit", args=[theirs.pk])).content.decode()
        assert calls.call_count == 0
        assert len(re.findall(r'<section [^>]*id="question-\d+" data-question-id=', page)) == N_LEAVES

        question = Question.objects.get(exam=seed, number="1.2")
        question.prompt = "High train loss is a sign of *underfitting*, edited."
        question.save()
        page = second.get(reverse("exams:sit", args=[theirs.pk])).content.decode()
        assert calls.call_count > 0
    assert "High train loss is a sign of <em>underfitting</em>, edited." in page
    assert "High train loss is a sign of overfitting." not in page


# --- review, submit, receipt -------------------------------------------------------------------


def test_review_lists_the_blank_and_flagged_questions_and_asks_to_confirm(
    client: Client, frozen: None, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    tf, ms, short, numeric = leaves(exam)
    claim(client, sitting)
    save(
        client,
        sitting,
        [
            {"question": tf.pk, "value": True, "flagged": True, "seq": 1},
            {"question": ms.pk, "value": None, "flagged": True, "seq": 2},  # cleared: blank, but flagged
            {"question": numeric.pk, "value": "3", "seq": 3},
        ],
    )

    response = client.get(reverse("exams:review", args=[sitting.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    exam_url = reverse("exams:sit", args=[sitting.pk])
    assert '<strong id="review-answered">2 of 4</strong>' in html
    blank = re.search(r'<ul class="list-inline review-blank">(.*?)</ul>', html, re.S)
    flagged = re.search(r'<ul class="list-inline review-flagged">(.*?)</ul>', html, re.S)
    assert blank and flagged
    assert re.findall(r'href="([^"]+)">([\d.]+)</a>', blank.group(1)) == [
        (f"{exam_url}#question-{ms.pk}", ms.number),
        (f"{exam_url}#question-{short.pk}", short.number),
    ]
    assert re.findall(r'href="([^"]+)">([\d.]+)</a>', flagged.group(1)) == [
        (f"{exam_url}#question-{tf.pk}", tf.number),
        (f"{exam_url}#question-{ms.pk}", ms.number),
    ]
    form = re.search(r'<form method="post" action="([^"]+)" class="review-submit">(.*?)</form>', html, re.S)
    assert form and form.group(1) == reverse("exams:submit", args=[sitting.pk])
    assert "csrfmiddlewaretoken" in form.group(2)
    assert '<button class="btn btn-danger btn-lg" type="submit">Submit my exam</button>' in form.group(2)
    assert f'href="{exam_url}">Back to the exam</a>' in form.group(2)
    assert_strict_csp_markup(html)


def receipt_digest(sitting: Sitting) -> str:
    """The receipt code recomputed from what is stored: the final answers, the sitting id and
    the honor-code time."""
    answers = {str(a.question_id): a.value for a in Answer.objects.filter(sitting=sitting)}
    payload = {"sitting": sitting.pk, "signed_at": sitting.signature.signed_at.isoformat(), "answers": answers}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_submitting_gives_a_receipt_that_stays(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    tf, ms, short, _ = leaves(exam)
    claim(client, sitting)
    save(
        client,
        sitting,
        [
            {"question": tf.pk, "value": True, "seq": 1},
            {"question": ms.pk, "value": ["A", "B"], "seq": 2},
            {"question": short.pk, "value": "It zeroes the negatives.", "seq": 3},
        ],
    )
    frozen.shift(timedelta(minutes=42))

    response = client.post(reverse("exams:submit", args=[sitting.pk]))

    receipt_url = reverse("exams:receipt", args=[sitting.pk])
    assert response.status_code == 302 and response["Location"] == receipt_url
    sitting.refresh_from_db()
    assert (sitting.status, sitting.closed_by, sitting.submitted_at) == (
        "submitted",
        "student",
        T0 + timedelta(minutes=42),
    )
    assert sitting.receipt_code == receipt_digest(sitting)

    frozen.shift(timedelta(days=10))  # the receipt stays visible later
    html = client.get(receipt_url).content.decode()
    assert f'<code class="fs-4" id="receipt-code">{receipt_display(sitting.receipt_code)}</code>' in html
    assert re.fullmatch(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}", receipt_display(sitting.receipt_code))
    assert re.search(rf"<details[^>]*>\s*<summary>Full code</summary>\s*<code[^>]*>{sitting.receipt_code}</code>", html)
    assert "Keep this code" in html
    assert '<dd class="col-sm-8" id="receipt-answered">3 of 4</dd>' in html
    assert "Submitted</dt>" in html and "May 4, 2023, 10:42:00 AM PDT" in html
    assert "You submitted it." in html
    assert_strict_csp_markup(html)
    # The exam page and the review now lead to the receipt.
    for name in ("exams:sit", "exams:review"):
        page = client.get(reverse(name, args=[sitting.pk]))
        assert page.status_code == 302 and page["Location"] == receipt_url


def test_the_page_submits_by_itself_at_the_deadline_through_json(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    frozen.shift(timedelta(minutes=80))

    response = client.post(reverse("exams:submit", args=[sitting.pk]), HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert response.json() == {"receipt_url": reverse("exams:receipt", args=[sitting.pk]), "status": "submitted"}
    sitting.refresh_from_db()
    assert (sitting.status, sitting.closed_by) == ("submitted", "timer")


def test_a_submitted_sitting_takes_no_answers_and_never_reopens_for_the_student(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    tf = leaves(exam)[0]
    claim(client, sitting)
    save(client, sitting, [{"question": tf.pk, "value": True, "seq": 1}])
    client.post(reverse("exams:submit", args=[sitting.pk]))
    sitting.refresh_from_db()
    receipt = sitting.receipt_code
    frozen.shift(timedelta(minutes=1))

    late = save(client, sitting, [{"question": tf.pk, "value": False, "seq": 2}])
    assert late.status_code == 409 and late.json()["code"] == "closed"
    assert claim(client, sitting, device=str(uuid.uuid4())).status_code == 409
    assert start(client, exam).status_code == 302  # starting again leads to the same, closed sitting
    assert client.post(reverse("exams:submit", args=[sitting.pk])).status_code == 302

    sitting.refresh_from_db()
    assert (sitting.status, sitting.receipt_code, sitting.submitted_at) == ("submitted", receipt, T0)
    assert Sitting.objects.count() == 1
    assert Answer.objects.get(sitting=sitting).value is True


def test_a_vanished_students_sitting_closes_lazily_with_its_answers(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    tf, ms, _, _ = leaves(exam)
    claim(client, sitting)
    save(client, sitting, [{"question": tf.pk, "value": True, "seq": 1}, {"question": ms.pk, "value": ["C"], "seq": 2}])
    frozen.shift(timedelta(minutes=80, seconds=settings.EXAMHALL_SAVE_GRACE_SECONDS))

    # Within the grace, the page still opens (a save in flight may land).
    assert client.get(reverse("exams:sit", args=[sitting.pk])).status_code == 200
    frozen.shift(timedelta(seconds=1))
    response = client.get(reverse("exams:sit", args=[sitting.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("exams:receipt", args=[sitting.pk])
    sitting.refresh_from_db()
    assert (sitting.status, sitting.closed_by, sitting.submitted_at) == ("expired", "lazy", T0 + timedelta(minutes=80))
    assert sitting.receipt_code == receipt_digest(sitting)
    assert dict(Answer.objects.filter(sitting=sitting).values_list("question_id", "value")) == {
        tf.pk: True,
        ms.pk: ["C"],
    }
    html = client.get(response["Location"]).content.decode()
    assert "Closed at the deadline" in html and "May 4, 2023, 11:20:00 AM PDT" in html
    assert '<dd class="col-sm-8" id="receipt-answered">2 of 4</dd>' in html


def test_the_beat_task_closes_a_vanished_students_sitting(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User, other_student: User
) -> None:
    gone = started(client, exam, student)
    claim(client, gone)
    save(client, gone, [{"question": leaves(exam)[0].pk, "value": False, "seq": 1}])
    frozen.shift(timedelta(minutes=30))
    still_here = started(Client(), exam, other_student)
    frozen.shift(timedelta(minutes=50, seconds=settings.EXAMHALL_SAVE_GRACE_SECONDS + 1))

    assert close_expired_sittings() == 1

    gone.refresh_from_db()
    still_here.refresh_from_db()
    assert (gone.status, gone.closed_by, gone.submitted_at) == ("expired", "beat", T0 + timedelta(minutes=80))
    assert gone.receipt_code == receipt_digest(gone)
    assert Answer.objects.get(sitting=gone).value is False
    assert still_here.status == "in_progress"
    assert close_expired_sittings() == 0  # safe to run twice


def test_an_open_sitting_has_no_receipt_yet(client: Client, frozen: None, exam: Exam, student: User) -> None:
    sitting = started(client, exam, student)

    response = client.get(reverse("exams:receipt", args=[sitting.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("exams:sit", args=[sitting.pk])


# --- only one's own sitting ----------------------------------------------------------------------

SITTING_PAGES = [("get", "exams:sit"), ("get", "exams:review"), ("post", "exams:submit"), ("get", "exams:receipt")]


@pytest.mark.parametrize(("method", "name"), SITTING_PAGES)
def test_another_students_sitting_does_not_exist(
    client: Client, frozen: None, exam: Exam, student: User, other_student: User, method: str, name: str
) -> None:
    sitting = started(client, exam, student)
    client.force_login(other_student)

    assert getattr(client, method)(reverse(name, args=[sitting.pk])).status_code == 404
    sitting.refresh_from_db()
    assert sitting.status == "in_progress"


@pytest.mark.parametrize(("method", "name"), SITTING_PAGES)
@pytest.mark.parametrize("role", ["instructor", "ta"])
def test_staff_do_not_reach_the_student_pages(
    client: Client,
    frozen: None,
    exam: Exam,
    student: User,
    role: str,
    method: str,
    name: str,
    request: pytest.FixtureRequest,
) -> None:
    sitting = started(client, exam, student)
    client.force_login(request.getfixturevalue(role))

    assert getattr(client, method)(reverse(name, args=[sitting.pk])).status_code == 404


@pytest.mark.parametrize(("method", "name"), SITTING_PAGES)
def test_visitors_are_asked_to_sign_in(
    client: Client, frozen: None, exam: Exam, student: User, method: str, name: str
) -> None:
    sitting = started(Client(), exam, student)

    response = getattr(client, method)(reverse(name, args=[sitting.pk]))

    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


# --- the student's home page ---------------------------------------------------------------------


def home_row(html: str, exam: Exam) -> str:
    rows = re.findall(r'<tr class="home-exam"[^>]*>.*?</tr>', html, re.S)
    (row,) = [r for r in rows if exam.title in r]
    return row


def test_home_shows_each_exam_with_the_students_sitting(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    client.force_login(student)
    row = home_row(client.get(reverse("home")).content.decode(), exam)
    assert 'data-status="open"' in row and 'data-sitting="not_started"' in row and "Not started" in row
    assert f'href="{lobby(exam)}"' in row

    sitting = started(client, exam, student)
    frozen.shift(timedelta(minutes=20))
    row = home_row(client.get(reverse("home")).content.decode(), exam)
    assert 'data-sitting="in_progress"' in row and "In progress: 1\xa0hour left" in row
    assert f'href="{reverse("exams:sit", args=[sitting.pk])}"' in row

    client.post(reverse("exams:submit", args=[sitting.pk]))
    row = home_row(client.get(reverse("home")).content.decode(), exam)
    assert 'data-sitting="closed"' in row and "Submitted" in row
    assert f'href="{reverse("exams:receipt", args=[sitting.pk])}"' in row


def test_home_says_when_time_is_up_before_the_sitting_is_closed(
    client: Client, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    frozen.shift(timedelta(minutes=90))

    row = home_row(client.get(reverse("home")).content.decode(), exam)

    assert 'data-sitting="time_up"' in row
    assert f'href="{reverse("exams:receipt", args=[sitting.pk])}"' in row
    # Following the link closes it (lazily) and shows the receipt.
    assert client.get(reverse("exams:receipt", args=[sitting.pk])).status_code == 200
    sitting.refresh_from_db()
    assert sitting.status == "expired"


def test_a_staff_member_who_is_a_student_elsewhere_sits_only_there(
    client: Client, frozen: None, exam: Exam, ta: User, other_course: Course
) -> None:
    elsewhere = ExamFactory.create(
        course=other_course, published=True, opens_at=T0 - timedelta(hours=1), closes_at=T0 + timedelta(hours=2)
    )
    member(ta, other_course, Role.STUDENT)
    client.force_login(ta)

    assert start(client, exam, signature=ta.full_name).status_code == 200  # staff here: no start
    assert start(client, elsewhere, signature=ta.full_name).status_code == 302
    assert list(Sitting.objects.values_list("exam_id", flat=True)) == [elsewhere.pk]
