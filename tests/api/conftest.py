"""An exam shaped like the seed's, and API clients logged in as the named users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from accounts.models import Course, User
from exams.models import Exam
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question

ClientFor = Callable[[User | None], APIClient]


@pytest.fixture
def exam(course: Course) -> Exam:
    """Section 1: two true/false (2 + 2). Section 2: a choose-all (4) and an extra-credit grid (3)."""
    exam = ExamFactory.create(course=course, title="Midterm Exam")
    tf = SectionFactory.create(exam=exam, number=1, title="True / False")
    mc = SectionFactory.create(exam=exam, number=2, title="Multiple Choice")
    add_question(tf, kind="true_false", points=2, key={"value": True}, prompt="Training loss is high.")
    add_question(tf, kind="true_false", points=2, key={"value": False})
    activations = add_question(mc, kind="multiple_select", points=4, prompt="Which are activations?")
    add_choices(activations, "ReLU", "Softmax loss", "Tanh", correct="AC")
    grads = add_question(mc, kind="group", points=0, title="Getting gradients", extra_credit=True)
    add_question(
        mc,
        kind="grid",
        points=3,
        parent=grads,
        config={"rows": 1, "cols": 2, "symbols": ["+", "-", "0"]},
        key={"cells": [["+", "0"]]},
    )
    return exam


@pytest.fixture
def other_exam(other_course: Course) -> Exam:
    exam = ExamFactory.create(course=other_course, title="Final Exam")
    section = SectionFactory.create(exam=exam, number=1)
    add_question(section, kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def client_for() -> ClientFor:
    """An API client with a real session for the user (anonymous for None); CSRF is not enforced."""

    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
