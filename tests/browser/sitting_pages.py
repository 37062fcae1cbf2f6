"""Shared set-up of the exam-page browser tests: an exam with a question of every kind, a
started sitting, and ways to wait for the server to hold an answer (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Course, User
from exams.models import Answer, Exam, Question, Sitting
from exams.sittings import sitting_start
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question

SAVED = "All answers saved"
# Chromium reports each request that gets no answer, or a 409 refusal, on the console. The
# tests that cut the network or take a sitting over expect those, and nothing else.
EXPECTED_NETWORK_NOISE = ("net::ERR_INTERNET_DISCONNECTED", "net::ERR_FAILED", "status of 409 (Conflict)")


def every_kind_exam(course: Course, **fields: Any) -> Exam:
    """A published, open exam with one question of each kind, as the seed midterm words them."""
    exam = ExamFactory.create(course=course, published=True, title="Midterm Exam", **fields)
    section = SectionFactory.create(exam=exam, number=1, title="Everything", recommended_minutes=30)
    add_question(section, kind="true_false", points=2, key={"value": False}, prompt="High train loss is overfitting.")
    ms = add_question(section, kind="multiple_select", points=4, prompt="Which hold for $K=1$?")
    add_choices(ms, "A linear SVM fits the train set", "KNN with $K=1$ wins", "None of the above", correct="AB")
    sc = add_question(section, kind="single_choice", points=3, prompt="Bip = 0, Bop = 1, Beep = 1?")
    add_choices(sc, "Zom", "Flom", "Nom", correct="B")
    add_question(
        section,
        kind="short_answer",
        points=2,
        prompt="Is the network untrained?",
        config={"parts": ["a", "b"]},
        key={"model_answer": "No."},
    )
    add_question(
        section, kind="numeric", points=1, prompt="How many parameters?", config={"unit": "params"}, key={"value": 1514}
    )
    add_question(
        section,
        kind="expression",
        points=3,
        prompt="The Euclidean distance in terms of $D_C$.",
        config={"variables": ["D_C"]},
        key={"expression": "sqrt(2 - 2*D_C)"},
    )
    add_question(
        section,
        kind="grid",
        points=3,
        prompt="The **sign** of each element of $dL/dW_1$.",
        config={"rows": 2, "cols": 2, "symbols": ["+", "-", "0"], "beside": [[0, -1], [1, 1]], "beside_label": "$W_1$"},
        key={"cells": [["0", "+"], ["-", "0"]]},
    )
    add_question(
        section,
        kind="sketch",
        points=3,
        prompt="Plot the Zom score against the Bip value.",
        config={"x_label": "Bip value", "y_label": "Zom score", "x_min": -3, "x_max": 3, "y_min": -5, "y_max": 5},
        key={"description": "A ReLU."},
    )
    return exam


def question(exam: Exam, kind: str) -> Question:
    return Question.objects.get(exam=exam, kind=kind)


def start(exam: Exam, student: User) -> Sitting:
    """A sitting started through the service, for tests about the exam page itself."""
    return sitting_start(
        exam=exam, student=student, typed_name=student.full_name, ip=None, user_agent="", now=timezone.now()
    )


def eventually[T](probe: Callable[[], T | None], *, timeout: float = 15, what: str = "the condition") -> T:
    """Poll ``probe`` (a database read) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.")
        time.sleep(0.05)


def stored(sitting: Sitting, q: Question) -> Any:
    """The value the server holds for the question (KeyError when it holds none)."""
    return Answer.objects.values_list("value", flat=True).get(sitting=sitting, question=q)


def wait_stored(sitting: Sitting, q: Question, value: Any, *, timeout: float = 15) -> None:
    # A blank answer is stored as SQL NULL, which a JSONField lookup of None does not match.
    match = {"value__isnull": True} if value is None else {"value": value}
    eventually(
        lambda: Answer.objects.filter(sitting=sitting, question=q, **match).exists(),
        timeout=timeout,
        what=f"question {q.number} to be stored as {value!r} (it is {_current(sitting, q)!r})",
    )


def _current(sitting: Sitting, q: Question) -> Any:
    return Answer.objects.filter(sitting=sitting, question=q).values_list("value", flat=True).first()


def open_exam(page: Page, sitting: Sitting) -> None:
    """Open the exam page and wait until the page has claimed the sitting."""
    with page.expect_response(lambda r: r.url.endswith(f"/api/sittings/{sitting.pk}/claim/") and r.ok):
        page.goto(f"/exams/sittings/{sitting.pk}/")
    expect(page.locator("#save-status")).to_have_text(SAVED)


def widget(page: Page, q: Question) -> Any:
    return page.locator(f'fieldset.answer[data-question="{q.pk}"]')


def unexpected(errors: list[str]) -> list[str]:
    return [e for e in errors if not any(noise in e for noise in EXPECTED_NETWORK_NOISE)]


def move_deadline(sitting: Sitting, seconds: float) -> None:
    Sitting.objects.filter(pk=sitting.pk).update(deadline=timezone.now() + timedelta(seconds=seconds))
