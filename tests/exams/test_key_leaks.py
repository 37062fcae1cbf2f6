"""Answer keys never reach a student: every response a student gets in this module is scanned.

An exam with every kind carries a unique marker in each field that holds a key (the kinds'
keys, the solutions, the policy parameters; choices are shown, but never whether they are
correct). The student then goes through the whole sitting, pages and JSON endpoints alike,
refusals included. The ``client`` fixture here is a ``ScanningClient``: no test in this
module can fetch anything without the scan.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Course, User
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.models import Exam, Question, Sitting
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question

T0 = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)
DEVICE = str(uuid.UUID("00000000-0000-4000-8000-0000000000b1"))

# Each marker sits in one key-bearing field; none may appear in anything a student receives.
MARKERS = {
    "short_answer model_answer": "MODELANSWER-MARKER-b7c2",
    "short_answer (parts) model_answer": "PARTSMODEL-MARKER-19fe",
    "sketch description": "SKETCHKEY-MARKER-44d0",
    "expression key": "5550123",
    "numeric key value": "7364.25",
    "numeric key value (localised)": "7,364.25",
    "numeric tolerance": "0.0137",
    "true_false policy parameter": "0.6173",
    "multiple_select policy parameter": "1.8642",
    "solution": "SOLUTION-MARKER",  # every question's solution starts with it
    "access code": "ACCESSCODE-MARKER-77aa",
    # A grid key is made of the grid's own symbols: look for it serialised (JSON, or a repr).
    "grid key field": '"cells"',
    "grid key field (repr)": "'cells'",
    "grid key field (escaped)": "&quot;cells&quot;",
    "grid key field (escaped repr)": "&#x27;cells&#x27;",
    "choice correctness": "is_correct",
}


class ScanningClient(Client):
    """A test client that checks every response body for the markers before handing it back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scanned: list[str] = []

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        where = f"{request.get('REQUEST_METHOD', 'GET')} {request.get('PATH_INFO', '')}"
        body = response.getvalue()  # streamed responses too
        text = body.decode(errors="replace")
        for field, marker in MARKERS.items():
            assert marker not in text, f"the {field} ({marker!r}) leaked into {where} ({response.status_code})"
        self.scanned.append(where)
        return response


@pytest.fixture
def client() -> Iterator[ScanningClient]:
    """Every test of this module gets the scanning client, and must use it."""
    scanning = ScanningClient()
    yield scanning
    assert scanning.scanned, "the test fetched nothing through the scanning client"


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    # Frozen on a whole second: timestamps in responses carry no digits a marker could match.
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def exam(course: Course) -> Exam:
    """One question of every kind, each key-bearing field marked."""
    exam = ExamFactory.create(
        course=course,
        title="Key Leak Quiz",
        published=True,
        opens_at=T0 - timedelta(hours=1),
        closes_at=T0 + timedelta(hours=3),
        access_code=MARKERS["access code"],
    )
    first = SectionFactory.create(exam=exam, number=1, title="Choices", recommended_minutes=10)
    second = SectionFactory.create(exam=exam, number=2, title="Written", recommended_minutes=30)

    def solution(kind: str) -> str:
        return f"{MARKERS['solution']}-{kind} explains the answer."

    add_question(
        first,
        kind="true_false",
        prompt="Statement one.",
        key={"value": True},
        policy="negative_marking",
        policy_params={"wrong": -0.6173, "blank": 0},
        solution=solution("true_false"),
    )
    ms = add_question(
        first,
        kind="multiple_select",
        points=4,
        prompt="Choose all that apply.",
        policy="per_error_deduction",
        policy_params={"deduction": 1.8642},
        solution=solution("multiple_select"),
    )
    add_choices(ms, "Choice alpha", "Choice beta", "Choice gamma", correct="AC")
    single = add_question(first, kind="single_choice", points=3, prompt="Pick one.", solution=solution("single"))
    add_choices(single, "Zom", "Flom", "Nom", correct="B")
    group = add_question(second, kind="group", points=0, prompt="Shared context.", solution=solution("group"))
    add_question(
        second,
        kind="short_answer",
        parent=group,
        prompt="Explain.",
        key={"model_answer": MARKERS["short_answer model_answer"]},
        solution=solution("short_answer"),
    )
    add_question(
        second,
        kind="short_answer",
        parent=group,
        prompt="Explain in two parts.",
        config={"parts": ["a", "b"]},
        key={"model_answer": MARKERS["short_answer (parts) model_answer"]},
        solution=solution("short_answer_parts"),
    )
    add_question(
        second,
        kind="expression",
        points=3,
        prompt="Distance in terms of $D_C$.",
        config={"variables": ["D_C"]},
        key={"expression": f"sqrt(2 - 2*D_C) + 0*{MARKERS['expression key']}"},
        solution=solution("expression"),
    )
    add_question(
        second,
        kind="numeric",
        points=1,
        prompt="How many?",
        config={"unit": "params"},
        key={"value": 7364.25, "tolerance": 0.0137, "mode": "relative"},
        solution=solution("numeric"),
    )
    add_question(
        second,
        kind="grid",
        points=3,
        prompt="Signs.",
        config={"rows": 2, "cols": 2, "symbols": ["+", "-", "0"], "beside": [[1, -1], [0, 2]]},
        key={"cells": [["+", "-"], ["0", "+"]]},
        solution=solution("grid"),
    )
    add_question(
        second,
        kind="sketch",
        points=3,
        prompt="Draw it.",
        config={"x_label": "Bip", "y_label": "Zom"},
        key={"description": MARKERS["sketch description"]},
        solution=solution("sketch"),
    )
    return exam


def question(exam: Exam, kind: str, **filters: Any) -> Question:
    return Question.objects.filter(exam=exam, kind=kind, **filters).order_by("number").first() or pytest.fail(kind)


def started(client: Client, exam: Exam, student: User) -> Sitting:
    client.force_login(student)
    response = client.post(
        reverse("exams:lobby", args=[exam.pk]),
        {"signature": student.full_name, "access_code": MARKERS["access code"]},
    )
    assert response.status_code == 302
    sitting = Sitting.objects.get(exam=exam, student=student)
    assert (
        client.post(
            reverse("sitting-claim", args=[sitting.pk]), {"device": DEVICE}, content_type="application/json"
        ).status_code
        == 200
    )
    return sitting


def every_answer(exam: Exam) -> list[dict[str, Any]]:
    """A plausible answer to every question (close to the keys, as a good student's would be)."""
    values: list[tuple[Question, Any]] = [
        (question(exam, "true_false"), True),
        (question(exam, "multiple_select"), ["A", "C"]),
        (question(exam, "single_choice"), "B"),
        (question(exam, "short_answer", config={}), "Because of the chain rule."),
        (question(exam, "short_answer", config__has_key="parts"), {"a": "No.", "b": "Guess at random."}),
        (question(exam, "expression"), "sqrt(2 - 2*D_C)"),
        (question(exam, "numeric"), "7300"),
        (question(exam, "grid"), [["+", "-"], ["0", None]]),
        (question(exam, "sketch"), {"strokes": [[[-1, -1], [0, 0], [1, 2]]]}),
    ]
    return [{"question": q.pk, "value": v, "flagged": i % 3 == 0, "seq": i + 1} for i, (q, v) in enumerate(values)]


def test_the_whole_sitting_leaks_no_key(
    client: ScanningClient, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    client.force_login(student)
    assert client.get(reverse("home")).status_code == 200
    lobby = reverse("exams:lobby", args=[exam.pk])
    assert client.get(lobby).status_code == 200
    # Refusals re-display the cover page.
    assert client.post(lobby, {"signature": "Nobody"}).status_code == 200
    assert client.post(lobby, {"signature": "Alice Nguyen", "access_code": "wrong"}).status_code == 200

    sitting = started(client, exam, student)
    pk = sitting.pk
    assert client.get(reverse("exams:sit", args=[pk])).status_code == 200
    assert client.get(reverse("sitting-state", args=[pk])).status_code == 200
    answers = client.post(
        reverse("sitting-answers", args=[pk]),
        {"device": DEVICE, "answers": every_answer(exam)},
        content_type="application/json",
    )
    assert answers.status_code == 200
    assert {r["status"] for r in answers.json()["results"]} == {"saved"}
    # Invalid and stale saves answer too.
    numeric = question(exam, "numeric").pk
    tf = question(exam, "true_false").pk
    odd = client.post(
        reverse("sitting-answers", args=[pk]),
        {
            "device": DEVICE,
            "answers": [{"question": numeric, "value": "lots", "seq": 50}, {"question": tf, "value": False, "seq": 1}],
        },
        content_type="application/json",
    )
    assert [r["status"] for r in odd.json()["results"]] == ["invalid", "stale"]
    assert client.post(reverse("sitting-answers", args=[pk]), {"device": DEVICE}, content_type="application/json")
    expression = question(exam, "expression").pk
    preview = reverse("sitting-expression-preview", args=[pk, expression])
    for text in ("sqrt(2 - 2*D_C)", "sqrt(2 - 2*D_C", "", "D_C^2 + 7364.26"):
        assert client.post(preview, {"text": text}, content_type="application/json").status_code == 200
    events = reverse("sitting-events", args=[pk])
    event = client.post(events, {"kind": "paste", "detail": {"length": 12}}, content_type="application/json")
    assert event.status_code == 202
    assert client.get(reverse("sitting-state", args=[pk])).json()["answers"]
    assert client.get(reverse("exams:sit", args=[pk])).status_code == 200  # with the answers stored
    assert client.get(reverse("exams:review", args=[pk])).status_code == 200
    assert client.get(lobby).status_code == 200  # "continue"
    assert client.get(reverse("home")).status_code == 200

    frozen.shift(timedelta(minutes=30))
    assert client.post(reverse("exams:submit", args=[pk]), follow=True).status_code == 200
    assert client.get(reverse("exams:receipt", args=[pk])).status_code == 200
    late = client.post(
        reverse("sitting-answers", args=[pk]),
        {"device": DEVICE, "answers": every_answer(exam)[:1]},
        content_type="application/json",
    )
    assert late.status_code == 409
    claim = client.post(reverse("sitting-claim", args=[pk]), {"device": DEVICE}, content_type="application/json")
    assert claim.status_code == 409
    assert client.get(reverse("sitting-state", args=[pk])).status_code == 200
    assert client.get(lobby).status_code == 200  # "see your receipt"
    assert client.get(reverse("home")).status_code == 200
    assert len(client.scanned) >= 25


def test_the_auto_submit_and_the_late_refusal_leak_no_key(
    client: ScanningClient, frozen: time_machine.Traveller, exam: Exam, student: User
) -> None:
    sitting = started(client, exam, student)
    frozen.shift(timedelta(minutes=81, seconds=30))
    late = client.post(
        reverse("sitting-answers", args=[sitting.pk]),
        {"device": DEVICE, "answers": every_answer(exam)[:2]},
        content_type="application/json",
    )
    assert late.status_code == 409 and late.json()["code"] == "time_up"
    submitted = client.post(reverse("exams:submit", args=[sitting.pk]), HTTP_ACCEPT="application/json")
    assert submitted.status_code == 200
    assert client.get(submitted.json()["receipt_url"]).status_code == 200


def test_the_scan_catches_a_leak(client: ScanningClient, frozen: None, exam: Exam, student: User) -> None:
    """The scan is real: a marker planted where students see it fails the request."""
    Question.objects.filter(exam=exam, kind="true_false").update(prompt=f"Oops: {MARKERS['sketch description']}")
    sitting = started(client, exam, student)
    with pytest.raises(AssertionError, match=re.escape("the sketch description")):
        client.get(reverse("exams:sit", args=[sitting.pk]))


def test_the_seed_midterms_keys_stay_off_its_pages(
    client: ScanningClient, frozen: None, course: Course, student: User
) -> None:
    """The real paper: no solution, model answer or sketch description of the seed shows."""
    seed = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    Exam.objects.filter(pk=seed.pk).update(
        published=True, opens_at=T0 - timedelta(hours=1), closes_at=T0 + timedelta(hours=2)
    )
    keys = [
        text.strip()[:60]
        for q in Question.objects.filter(exam=seed)
        for text in (q.solution, q.key.get("model_answer", ""), q.key.get("description", ""))
        if len(text.strip()) >= 20
    ]
    assert len(keys) > 30
    client.force_login(student)
    assert client.post(reverse("exams:lobby", args=[seed.pk]), {"signature": student.full_name}).status_code == 302
    sitting = Sitting.objects.get(exam=seed, student=student)
    pages = {
        "exam page": reverse("exams:sit", args=[sitting.pk]),
        "lobby": reverse("exams:lobby", args=[seed.pk]),
        "review": reverse("exams:review", args=[sitting.pk]),
    }
    for name, url in pages.items():
        page = html.unescape(client.get(url).content.decode())
        leaked = [key for key in keys if key in page]
        assert not leaked, f"seed keys on the {name}: {leaked}"
    assert "If Model A has a lower test loss" in html.unescape(client.get(pages["exam page"]).content.decode())
