"""The review API: the queue and its claims, evaluations (anonymous, versioned, audited), rubrics,
regrade requests, the release, and who reaches each endpoint.

Named users: mrivera (instructor) and jchen (TA) of the course; dana, a TA of another course, and
charlie, its instructor; alice and bob, students of the course.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Course, Role, User
from exams.models import Exam, Question, Sitting
from grading.models import (
    AnswerScore,
    Evaluation,
    GradeEvent,
    GradeRelease,
    RegradeRequest,
    Rubric,
    RubricItem,
    ScoreSource,
)
from grading.release import grades_release
from grading.review import evaluation_save, queue_build, rubric_for
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_question, member
from tests.grading.sat_exam import q, score, sit

pytestmark = pytest.mark.django_db

NAMES = (b"alice", b"Alice", b"bob", b"Bob")  # no response to a grader may name a student
EVALUATION_FIELDS = {
    "id",
    "question",
    "question_number",
    "submission",
    "answer",
    "override",
    "items",
    "adjustment",
    "comment",
    "points",
    "max_points",
    "auto_points",
    "score_points",
    "score_source",
    "explanation",
    "version",
    "graded_by",
    "graded_at",
    "claimed_by",
    "claimed_until",
    "open_regrade",
    "student",
}


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def other_ta(other_course: Course) -> User:
    user = UserFactory.create(net_id="dana", full_name="Dana Ito")
    member(user, other_course, Role.TA)
    return user


@pytest.fixture
def exam(course: Course) -> Exam:
    """1.1: a short answer (4 points, graded by hand); 1.2: true/false (2 points, automatic)."""
    exam = ExamFactory.create(course=course, published=True)
    section = SectionFactory.create(exam=exam, number=1, title="Short answers")
    add_question(section, kind="short_answer", points=4, key={"model_answer": "Normalise the batch."})
    add_question(section, kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def sittings(exam: Exam, student: User, other_student: User) -> dict[str, Sitting]:
    """Five scored sittings: alice, bob and s0..s2, each with a short answer; bob and s1 answered 1.2 wrong."""
    made = {
        "alice": sit(exam, "alice", {"1.1": "Normalise each batch.", "1.2": True}),
        "bob": sit(exam, "bob", {"1.1": "Use dropout.", "1.2": False}),
    }
    for index in range(3):
        made[f"s{index}"] = sit(exam, f"s{index}", {"1.1": f"Answer {index}", "1.2": index != 1})
    score(exam)
    return made


def evaluation_of(sitting: Sitting, question: Question) -> Evaluation:
    queue_build(question.pk)
    return Evaluation.objects.get(sitting=sitting, question=question)


def add_item(question: Question, points: str, description: str) -> RubricItem:
    rubric = rubric_for(question)
    position = rubric.items.count() + 1
    return RubricItem.objects.create(rubric=rubric, position=position, points=Decimal(points), description=description)


def release(exam: Exam, by: User, *, days: int = 7) -> GradeRelease:
    now = timezone.now()
    return grades_release(exam=exam, by=by, now=now, regrade_deadline=now + timedelta(days=days))


def grade(evaluation: Evaluation, grader: User, items: list[RubricItem], adjustment: str = "0") -> Evaluation:
    evaluation.refresh_from_db()
    return evaluation_save(
        evaluation_id=evaluation.pk,
        grader=grader,
        item_ids=[item.pk for item in items],
        adjustment=Decimal(adjustment),
        comment="",
        version=evaluation.version,
        now=timezone.now(),
    )


# The queue


def test_graders_claim_different_answers_and_follow_the_progress(
    exam: Exam, sittings: dict[str, Sitting], ta: User, instructor: User
) -> None:
    question = q(exam, "1.1")
    queue_url = f"/api/questions/{question.pk}/queue/"
    progress = api(ta).get(queue_url).json()
    assert {k: progress[k] for k in ("question", "number", "total", "graded", "claimed", "waiting", "mine")} == {
        "question": question.pk,
        "number": "1.1",
        "total": 5,
        "graded": 0,
        "claimed": 0,
        "waiting": 5,
        "mine": None,
    }
    assert progress["graders"] == []

    next_url = f"{queue_url}next/"
    first = api(ta).post(next_url, {}, format="json")
    assert first.status_code == 200, first.content
    second = api(instructor).post(next_url, format="json")
    assert second.status_code == 200
    assert first.json()["id"] != second.json()["id"]
    assert first.json()["claimed_by"] == "jchen" and first.json()["question"] == question.pk
    again = api(ta).post(next_url, {}, format="json")
    assert again.json()["id"] == first.json()["id"]  # your own claim first
    skipped = api(ta).post(next_url, {"skip": [first.json()["id"]]}, format="json")
    assert skipped.json()["id"] not in (first.json()["id"], second.json()["id"])

    progress = api(ta).get(queue_url).json()
    assert (progress["claimed"], progress["waiting"], progress["mine"]) == (3, 2, first.json()["id"])
    assert progress["graders"] == [
        {"net_id": "jchen", "full_name": "Jordan Chen", "graded": 0, "claimed": 2},
        {"net_id": "mrivera", "full_name": "Maya Rivera", "graded": 0, "claimed": 1},
    ]

    # Giving a claim back: only your own.
    assert api(ta).post(f"/api/evaluations/{second.json()['id']}/release/").status_code == 204
    assert Evaluation.objects.get(pk=second.json()["id"]).claimed_by == instructor
    assert api(ta).post(f"/api/evaluations/{first.json()['id']}/release/").status_code == 204
    assert Evaluation.objects.get(pk=first.json()["id"]).claimed_by is None
    assert api(ta).get(queue_url).json()["claimed"] == 2


def test_next_is_204_when_every_answer_is_graded(exam: Exam, sittings: dict[str, Sitting], ta: User) -> None:
    question = q(exam, "1.1")
    client = api(ta)
    graded = 0
    while (response := client.post(f"/api/questions/{question.pk}/queue/next/")).status_code == 200:
        body = response.json()
        saved = client.put(
            f"/api/evaluations/{body['id']}/",
            {"items": [], "adjustment": "0", "comment": "", "version": body["version"]},
            format="json",
        )
        assert saved.status_code == 200, saved.json()
        graded += 1
    assert response.status_code == 204 and not response.content
    assert graded == 5
    progress = client.get(f"/api/questions/{question.pk}/queue/").json()
    assert (progress["graded"], progress["waiting"]) == (5, 0)
    assert progress["graders"] == [{"net_id": "jchen", "full_name": "Jordan Chen", "graded": 5, "claimed": 0}]


# Evaluations: anonymous, versioned, audited


def test_graders_see_a_submission_number_never_a_name(
    exam: Exam, sittings: dict[str, Sitting], ta: User, instructor: User
) -> None:
    question = q(exam, "1.1")
    evaluation = evaluation_of(sittings["alice"], question)
    url = f"/api/evaluations/{evaluation.pk}/"
    response = api(ta).get(url)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == EVALUATION_FIELDS  # no sitting, no score, no student id
    assert body["student"] is None and not any(name in response.content for name in NAMES)
    assert body["answer"] == "Normalise each batch." and body["question_number"] == "1.1"
    assert (body["points"], body["version"], body["override"], body["max_points"]) == (None, 0, False, "4.00")
    numbers = {api(ta).get(f"/api/evaluations/{e.pk}/").json()["submission"] for e in Evaluation.objects.all()}
    assert numbers == {1, 2, 3, 4, 5}

    refused = api(ta).get(f"{url}?reveal=1")
    assert refused.status_code == 403 and "instructors" in refused.json()["detail"]
    assert not any(name in refused.content for name in NAMES)
    assert api(instructor).get(url).json()["student"] is None  # anonymous unless asked
    revealed = api(instructor).get(f"{url}?reveal=1").json()
    assert revealed["student"] == {"net_id": "alice", "full_name": "Alice Nguyen"}
    assert revealed["submission"] == body["submission"]


def test_put_applies_the_rubric_and_patch_keeps_what_it_leaves_out(
    exam: Exam, sittings: dict[str, Sitting], ta: User
) -> None:
    question = q(exam, "1.1")
    client = api(ta)
    units = client.post(
        f"/api/questions/{question.pk}/rubric/items/", {"points": "-1", "description": "Missing units"}, format="json"
    )
    assert units.status_code == 201, units.json()
    assert {k: units.json()[k] for k in ("position", "points", "shortcut", "used_by")} == {
        "position": 1,
        "points": "-1.00",
        "shortcut": "1",
        "used_by": 0,
    }
    evaluation = evaluation_of(sittings["bob"], question)
    url = f"/api/evaluations/{evaluation.pk}/"
    response = client.put(
        url,
        {"items": [units.json()["id"]], "adjustment": "0.25", "comment": "clear otherwise", "version": 0},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["points"], body["score_points"], body["version"], body["graded_by"]) == ("3.25", "3.25", 1, "jchen")
    assert body["items"] == [units.json()["id"]] and body["score_source"] == "manual"
    assert body["explanation"] == "4 −1 Missing units +0.25 adjustment (clear otherwise) = 3.25"
    assert not any(name in response.content for name in NAMES)

    patched = client.patch(url, {"adjustment": "0", "version": 1, "reason": "no bonus"}, format="json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["points"], patched.json()["items"], patched.json()["comment"]) == (
        "3.00",
        [units.json()["id"]],
        "clear otherwise",
    )
    assert AnswerScore.objects.get(pk=evaluation.score_id).points == 3

    events = client.get(f"{url}events/")
    assert events.status_code == 200
    rows = events.json()["results"]
    assert [(r["actor"], r["source"], r["old_points"], r["new_points"]) for r in rows] == [
        ("jchen", "manual", None, "3.25"),
        ("jchen", "manual", "3.25", "3.00"),
    ]
    assert rows[1]["reason"] == "no bonus" and rows[0]["detail"]["comment"] == "clear otherwise"


def test_a_save_from_a_stale_page_is_409_with_the_current_grade(
    exam: Exam, sittings: dict[str, Sitting], ta: User, instructor: User
) -> None:
    evaluation = evaluation_of(sittings["s0"], q(exam, "1.1"))
    url = f"/api/evaluations/{evaluation.pk}/"
    assert api(ta).get(url).json()["version"] == api(instructor).get(url).json()["version"] == 0
    body = {"items": [], "adjustment": "-1", "comment": "", "version": 0}
    assert api(ta).put(url, body, format="json").status_code == 200
    response = api(instructor).put(url, {**body, "adjustment": "-3"}, format="json")
    assert response.status_code == 409
    refusal = response.json()
    assert refusal["code"] == "stale" and "Reload" in refusal["detail"]
    assert (refusal["current"]["version"], refusal["current"]["points"], refusal["current"]["graded_by"]) == (
        1,
        "3.00",
        "jchen",
    )
    assert api(instructor).patch(url, {"comment": "late", "version": 0}, format="json").status_code == 409
    assert AnswerScore.objects.get(pk=evaluation.score_id).points == 3 and GradeEvent.objects.count() == 1


def test_bad_saves_are_400_by_field(exam: Exam, sittings: dict[str, Sitting], ta: User) -> None:
    evaluation = evaluation_of(sittings["s1"], q(exam, "1.1"))
    elsewhere = add_item(q(exam, "1.2"), "-1", "Another question's item")
    url = f"/api/evaluations/{evaluation.pk}/"
    client = api(ta)
    response = client.put(url, {"items": [elsewhere.pk], "adjustment": "0", "comment": "", "version": 0}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["items"]
    response = client.put(url, {"items": [], "comment": ""}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"adjustment", "version"}
    response = client.patch(url, {"comment": "no version"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["version"]
    response = client.patch(url, {"adjustment": "100000", "version": 0}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["adjustment"]
    assert not GradeEvent.objects.exists()


def test_an_automatic_score_is_overridden_through_its_evaluation(
    exam: Exam, sittings: dict[str, Sitting], ta: User
) -> None:
    row = AnswerScore.objects.get(sitting=sittings["bob"], question=q(exam, "1.2"))  # False: −1
    response = api(ta).post(f"/api/scores/{row.pk}/evaluation/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["override"] is True and body["auto_points"] == "-1.00" and body["answer"] is False
    assert not any(name in response.content for name in NAMES)
    assert api(ta).post(f"/api/scores/{row.pk}/evaluation/").json()["id"] == body["id"]  # made once
    saved = api(ta).put(
        f"/api/evaluations/{body['id']}/",
        {"items": [], "adjustment": "1", "comment": "ambiguous", "version": 0, "reason": "The wording was ambiguous"},
        format="json",
    )
    assert saved.status_code == 200, saved.json()
    assert (saved.json()["score_points"], saved.json()["score_source"]) == ("0.00", ScoreSource.OVERRIDE)
    assert GradeEvent.objects.get().source == "override"


# Rubrics


def test_the_rubric_is_read_and_its_settings_reapplied(
    exam: Exam, sittings: dict[str, Sitting], ta: User, instructor: User
) -> None:
    question = q(exam, "1.1")
    url = f"/api/questions/{question.pk}/rubric/"
    body = api(ta).get(url).json()
    assert body == {
        "question": question.pk,
        "mode": "deduct",
        "floor_at_zero": True,
        "cap_at_max": True,
        "updated_at": body["updated_at"],
        "items": [],
    }
    penalty = add_item(question, "-5", "Wrong method")
    graded = grade(evaluation_of(sittings["s2"], question), ta, [penalty])
    assert graded.points == 0  # floored

    response = api(ta).patch(url, {"floor_at_zero": False}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["changed"] == 1 and response.json()["floor_at_zero"] is False
    assert response.json()["items"][0]["used_by"] == 1
    assert AnswerScore.objects.get(pk=graded.score_id).points == -1
    assert api(ta).patch(url, {"floor_at_zero": False}, format="json").json()["changed"] == 0
    response = api(instructor).patch(url, {"mode": "sideways"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["mode"]


def test_editing_an_items_points_says_how_many_answers_changed(
    exam: Exam, sittings: dict[str, Sitting], ta: User
) -> None:
    question = q(exam, "1.1")
    units = add_item(question, "-1", "Missing units")
    for name in ("alice", "bob", "s0"):
        grade(evaluation_of(sittings[name], question), ta, [units])
    response = api(ta).patch(f"/api/rubric-items/{units.pk}/", {"points": "-2"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["points"], body["changed"], body["used_by"], body["description"]) == ("-2.00", 3, 3, "Missing units")
    assert set(AnswerScore.objects.filter(question=question, source="manual").values_list("points", flat=True)) == {2}
    response = api(ta).patch(f"/api/rubric-items/{units.pk}/", {"description": "No units"}, format="json")
    assert response.json()["changed"] == 0 and response.json()["points"] == "-2.00"
    response = api(ta).patch(f"/api/rubric-items/{units.pk}/", {"shortcut": "!!"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["shortcut"]


def test_items_are_reordered(exam: Exam, sittings: dict[str, Sitting], ta: User) -> None:
    question = q(exam, "1.1")
    first, second = add_item(question, "-1", "One"), add_item(question, "-2", "Two")
    url = f"/api/questions/{question.pk}/rubric/reorder/"
    response = api(ta).post(url, {"items": [second.pk, first.pk]}, format="json")
    assert response.status_code == 200, response.json()
    assert [(i["id"], i["position"]) for i in response.json()["items"]] == [(second.pk, 1), (first.pk, 2)]
    response = api(ta).post(url, {"items": [second.pk]}, format="json")
    assert response.status_code == 400 and "every item" in response.json()["non_field_errors"][0]


def test_a_used_item_is_deleted_only_with_confirmation(exam: Exam, sittings: dict[str, Sitting], ta: User) -> None:
    question = q(exam, "1.1")
    units, spare = add_item(question, "-1", "Missing units"), add_item(question, "-3", "Unused")
    grade(evaluation_of(sittings["alice"], question), ta, [units])
    grade(evaluation_of(sittings["bob"], question), ta, [units])
    client = api(ta)
    assert client.delete(f"/api/rubric-items/{spare.pk}/").json() == {"changed": 0}

    response = client.delete(f"/api/rubric-items/{units.pk}/")
    assert response.status_code == 409
    assert response.json() == {
        "code": "needs_confirmation",
        "detail": "2 graded answers use this item; confirm to delete it and rescore them.",
        "used_by": 2,
    }
    assert RubricItem.objects.get(pk=units.pk).active

    response = client.delete(f"/api/rubric-items/{units.pk}/?confirm=1")
    assert response.status_code == 200 and response.json() == {"changed": 2}
    assert not RubricItem.objects.get(pk=units.pk).active  # kept on record
    assert client.get(f"/api/questions/{question.pk}/rubric/").json()["items"] == []
    assert client.delete(f"/api/rubric-items/{units.pk}/?confirm=1").status_code == 404
    assert client.patch(f"/api/rubric-items/{units.pk}/", {"points": "-1"}, format="json").status_code == 404


# Regrade requests


def test_a_student_asks_for_a_regrade_only_after_release(
    exam: Exam, sittings: dict[str, Sitting], student: User, instructor: User
) -> None:
    url = f"/api/sittings/{sittings['alice'].pk}/regrades/"
    body = {"question": q(exam, "1.1").pk, "reason": "I did normalise the batch."}
    response = api(student).post(url, body, format="json")
    assert response.status_code == 404 and b"points" not in response.content
    release(exam, instructor)

    response = api(student).post(url, body, format="json")
    assert response.status_code == 201, response.json()
    mine = response.json()
    assert (mine["status"], mine["question_number"], mine["reason"]) == ("open", "1.1", body["reason"])
    assert (mine["evaluation"], mine["submission"], mine["score"], mine["student"], mine["replied_by"]) == (
        None,
        None,
        None,
        None,
        None,
    )
    again = api(student).post(url, body, format="json")
    assert again.status_code == 409 and again.json()["code"] == "regrade_refused"
    assert "already" in again.json()["detail"]
    response = api(student).post(url, {"question": q(exam, "1.2").pk, "reason": " "}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["reason"]
    response = api(student).post(url, {"question": 999_999, "reason": "Why?"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["question"]
    GradeRelease.objects.update(regrade_deadline=timezone.now() - timedelta(minutes=1))
    closed = api(student).post(url, {"question": q(exam, "1.2").pk, "reason": "Why?"}, format="json")
    assert closed.status_code == 409 and "closed" in closed.json()["detail"]
    assert RegradeRequest.objects.count() == 1


def test_regrade_requests_are_listed_anonymously_to_staff_and_privately_to_students(
    exam: Exam,
    sittings: dict[str, Sitting],
    student: User,
    other_student: User,
    ta: User,
    instructor: User,
    other_ta: User,
) -> None:
    release(exam, instructor)
    question = q(exam, "1.1")
    queue_build(question.pk)
    for who, sitting in ((student, sittings["alice"]), (other_student, sittings["bob"])):
        response = api(who).post(
            f"/api/sittings/{sitting.pk}/regrades/", {"question": question.pk, "reason": "Look again"}, format="json"
        )
        assert response.status_code == 201

    response = api(ta).get(f"/api/regrades/?exam={exam.pk}")
    assert response.status_code == 200 and response.json()["count"] == 2
    assert not any(name in response.content for name in NAMES)
    rows = response.json()["results"]
    assert all(row["student"] is None and row["evaluation"] and row["submission"] for row in rows)
    assert {row["evaluation"] for row in rows} == {
        evaluation_of(sittings[name], question).pk for name in ("alice", "bob")
    }
    assert api(ta).get("/api/regrades/?reveal=1").json()["results"][0]["student"] is None  # TAs never
    revealed = api(instructor).get("/api/regrades/?reveal=1").json()["results"]
    assert [row["student"]["net_id"] for row in revealed] == ["alice", "bob"]
    assert api(ta).get(f"/api/regrades/?exam={exam.pk + 1000}").json()["count"] == 0
    assert api(ta).get("/api/regrades/?exam=x").status_code == 400
    assert api(other_ta).get("/api/regrades/").json()["count"] == 0

    own = api(student).get("/api/regrades/")
    assert own.status_code == 200 and own.json()["count"] == 1
    assert own.json()["results"][0]["reason"] == "Look again" and b"bob" not in own.content.lower()

    # The evaluation of the regraded answer shows the student's reason to the grader.
    evaluation = api(ta).get(f"/api/evaluations/{rows[0]['evaluation']}/").json()
    assert evaluation["open_regrade"]["reason"] == "Look again"


def test_a_grader_replies_and_regrades_in_one_step(
    exam: Exam, sittings: dict[str, Sitting], student: User, ta: User, instructor: User
) -> None:
    question = q(exam, "1.1")
    units = add_item(question, "-1", "Missing units")
    evaluation = grade(evaluation_of(sittings["alice"], question), ta, [units])
    release(exam, instructor)
    regrade_id = (
        api(student)
        .post(
            f"/api/sittings/{sittings['alice'].pk}/regrades/",
            {"question": question.pk, "reason": "Units are in line 2."},
            format="json",
        )
        .json()["id"]
    )
    url = f"/api/regrades/{regrade_id}/reply/"
    assert api(ta).post(url, {"reply": " "}, format="json").status_code == 400
    stale = api(ta).post(
        url,
        {"reply": "You are right.", "grade": {"items": [], "adjustment": "0", "comment": "", "version": 0}},
        format="json",
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale" and stale.json()["current"]["version"] == 1
    response = api(ta).post(
        url,
        {"reply": "You are right.", "grade": {"items": [], "adjustment": "0", "comment": "", "version": 1}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["old_points"], body["new_points"], body["replied_by"]) == (
        "answered",
        "3.00",
        "4.00",
        "jchen",
    )
    assert body["evaluation"] == evaluation.pk and body["student"] is None
    assert GradeEvent.objects.filter(source="regrade").get().new_points == 4
    again = api(ta).post(url, {"reply": "Again"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "regrade_refused"
    seen = api(student).get("/api/regrades/").json()["results"][0]
    assert (seen["reply"], seen["new_points"], seen["replied_by"]) == ("You are right.", "4.00", None)


# Release


def test_only_instructors_release_grades(exam: Exam, sittings: dict[str, Sitting], ta: User, instructor: User) -> None:
    url = f"/api/exams/{exam.pk}/release/"
    deadline = (timezone.now() + timedelta(days=7)).isoformat()
    response = api(ta).post(url, {"regrade_deadline": deadline, "confirm_pending": True}, format="json")
    assert response.status_code == 403 and not GradeRelease.objects.exists()
    response = api(instructor).post(url, {"regrade_deadline": deadline}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["confirm_pending"]  # 1.1 is not graded
    past = (timezone.now() - timedelta(days=1)).isoformat()
    response = api(instructor).post(url, {"regrade_deadline": past, "confirm_pending": True}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["regrade_deadline"]
    response = api(instructor).post(url, {"regrade_deadline": deadline, "confirm_pending": True}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["released_by"] == "mrivera" and response.json()["exam"] == exam.pk
    assert GradeRelease.objects.get(exam=exam).regrade_deadline is not None
    response = api(instructor).post(url, {"regrade_deadline": None}, format="json")  # close regrades
    assert response.status_code == 200 and response.json()["regrade_deadline"] is None


# Who reaches what


@dataclass
class World:
    exam: Exam
    sittings: dict[str, Sitting]
    instructor: User
    made: int = 0

    @property
    def short(self) -> Question:
        return q(self.exam, "1.1")

    def evaluation(self) -> Evaluation:
        return evaluation_of(self.sittings["s0"], self.short)

    def item(self) -> RubricItem:
        self.made += 1
        return add_item(self.short, "-1", f"Item {self.made}")

    def reversed(self) -> list[int]:
        """The rubric's items (one more each call), last first."""
        self.item()
        return list(
            rubric_for(self.short).items.filter(active=True).order_by("-position", "-pk").values_list("pk", flat=True)
        )

    def regrade(self) -> RegradeRequest:
        """An open request on an answer that has none (a new one on every call)."""
        row = (
            AnswerScore.objects.filter(question__exam=self.exam)
            .exclude(regrade_requests__status="open")
            .select_related("sitting")
            .order_by("pk")
            .first()
        )
        assert row is not None
        return RegradeRequest.objects.create(
            score=row, student=row.sitting.student, reason="Why?", created_at=timezone.now(), old_points=row.points
        )


Call = tuple[str, str, dict[str, Any] | None]


def _version(world: World) -> int:
    return world.evaluation().version


ENDPOINTS: dict[str, Callable[[World], Call]] = {
    "queue": lambda w: ("get", f"/api/questions/{w.short.pk}/queue/", None),
    "queue next": lambda w: ("post", f"/api/questions/{w.short.pk}/queue/next/", {}),
    "claim release": lambda w: ("post", f"/api/evaluations/{w.evaluation().pk}/release/", None),
    "evaluation": lambda w: ("get", f"/api/evaluations/{w.evaluation().pk}/", None),
    "evaluation put": lambda w: (
        "put",
        f"/api/evaluations/{w.evaluation().pk}/",
        {"items": [], "adjustment": "-1", "comment": "", "version": _version(w)},
    ),
    "evaluation patch": lambda w: (
        "patch",
        f"/api/evaluations/{w.evaluation().pk}/",
        {"comment": "checked", "version": _version(w)},
    ),
    "evaluation events": lambda w: ("get", f"/api/evaluations/{w.evaluation().pk}/events/", None),
    "score evaluation": lambda w: (
        "post",
        f"/api/scores/{AnswerScore.objects.get(sitting=w.sittings['s1'], question=q(w.exam, '1.2')).pk}/evaluation/",
        None,
    ),
    "rubric": lambda w: ("get", f"/api/questions/{w.short.pk}/rubric/", None),
    "rubric settings": lambda w: ("patch", f"/api/questions/{w.short.pk}/rubric/", {"mode": "add"}),
    "rubric item add": lambda w: (
        "post",
        f"/api/questions/{w.short.pk}/rubric/items/",
        {"points": "-1", "description": "Added"},
    ),
    "rubric reorder": lambda w: ("post", f"/api/questions/{w.short.pk}/rubric/reorder/", {"items": w.reversed()}),
    "rubric item change": lambda w: ("patch", f"/api/rubric-items/{w.item().pk}/", {"points": "-2"}),
    "rubric item delete": lambda w: ("delete", f"/api/rubric-items/{w.item().pk}/?confirm=1", None),
    "regrade list": lambda w: ("get", "/api/regrades/", None),
    "regrade reply": lambda w: ("post", f"/api/regrades/{w.regrade().pk}/reply/", {"reply": "Checked."}),
    "regrade ask": lambda w: (
        "post",
        f"/api/sittings/{w.sittings['alice'].pk}/regrades/",
        {"question": w.short.pk, "reason": "Look again"},
    ),
    "release": lambda w: (
        "post",
        f"/api/exams/{w.exam.pk}/release/",
        {"regrade_deadline": (timezone.now() + timedelta(days=3)).isoformat(), "confirm_pending": True},
    ),
}
STAFF = {"instructor": 200, "ta": 200}
OK = {
    "claim release": 204,
    "rubric item add": 201,
}
# Besides these, every endpoint answers 404 to another course's staff and to the course's
# students, and 401 to anyone not logged in.
EXPECTED: dict[str, dict[str, int]] = {
    "release": {"instructor": 200, "ta": 403},
    "regrade list": {
        "instructor": 200,
        "ta": 200,
        "other_ta": 200,
        "other_instructor": 200,
        "student": 200,
        "other_student": 200,
    },
    "regrade ask": {"instructor": 404, "ta": 404, "student": 201},
}
REFUSERS = ("anonymous", "other_ta", "other_instructor", "student", "other_student")


def snapshot() -> tuple[Any, ...]:
    return (
        list(Evaluation.objects.order_by("pk").values_list("pk", "version", "claimed_by", "points")),
        GradeEvent.objects.count(),
        list(RubricItem.objects.order_by("pk").values_list("pk", "active", "points", "position")),
        list(Rubric.objects.order_by("pk").values_list("pk", "mode")),
        list(RegradeRequest.objects.order_by("pk").values_list("pk", "status")),
        list(GradeRelease.objects.values_list("regrade_deadline", flat=True)),
    )


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_permission_matrix(
    endpoint: str,
    exam: Exam,
    sittings: dict[str, Sitting],
    instructor: User,
    ta: User,
    other_ta: User,
    other_instructor: User,
    student: User,
    other_student: User,
) -> None:
    release(exam, instructor)
    world = World(exam, sittings, instructor)
    users: dict[str, User | None] = {
        "anonymous": None,
        "other_ta": other_ta,
        "other_instructor": other_instructor,
        "student": student,
        "other_student": other_student,
        "ta": ta,
        "instructor": instructor,
    }
    expected = {
        "anonymous": 401,
        **dict.fromkeys(REFUSERS[1:], 404),
        **{who: OK.get(endpoint, code) for who, code in STAFF.items()},
        **EXPECTED.get(endpoint, {}),
    }
    for who, user in users.items():
        method, url, body = ENDPOINTS[endpoint](world)
        before = snapshot()
        response = getattr(api(user), method)(url, body, format="json")
        assert response.status_code == expected[who], (who, response.content)
        if response.status_code >= 400:
            assert snapshot() == before, who
        if who in ("ta", "instructor") and endpoint != "regrade ask":
            assert not any(name in response.content for name in NAMES), who


# Sessions and tokens


def test_session_writes_need_the_csrf_token_and_scripts_use_tokens(
    exam: Exam, sittings: dict[str, Sitting], ta: User
) -> None:
    url = f"/api/questions/{q(exam, '1.1').pk}/queue/next/"
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(ta)
    assert browser.get(f"/api/questions/{q(exam, '1.1').pk}/queue/").status_code == 200
    refused = browser.post(url, {}, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not Evaluation.objects.filter(claimed_by=ta).exists()
    token = "examhallcsrftokenforthetests0123"
    browser.cookies["csrftoken"] = token
    assert browser.post(url, {}, format="json", HTTP_X_CSRFTOKEN=token).status_code == 200

    out = StringIO()
    call_command("api_token", "jchen", stdout=out, stderr=StringIO())
    script = APIClient(enforce_csrf_checks=True)
    script.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    claimed = script.post(url, {}, format="json")
    assert claimed.status_code == 200 and claimed.json()["claimed_by"] == "jchen"


def test_the_schema_lists_the_review_endpoints(client: Any) -> None:
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    assert {
        "/api/questions/{id}/queue/",
        "/api/questions/{id}/queue/next/",
        "/api/questions/{id}/rubric/",
        "/api/questions/{id}/rubric/items/",
        "/api/questions/{id}/rubric/reorder/",
        "/api/rubric-items/{id}/",
        "/api/evaluations/{id}/",
        "/api/evaluations/{id}/release/",
        "/api/evaluations/{id}/events/",
        "/api/scores/{id}/evaluation/",
        "/api/sittings/{sitting_id}/regrades/",
        "/api/regrades/",
        "/api/regrades/{id}/reply/",
        "/api/exams/{id}/release/",
    } <= set(paths)
    assert set(paths["/api/evaluations/{id}/"]["put"]["responses"]) == {"200", "409"}
    assert set(paths["/api/rubric-items/{id}/"]["delete"]["responses"]) == {"200", "409"}


# Two graders at the same moment


@pytest.mark.django_db(transaction=True)
def test_graders_claiming_through_the_api_at_the_same_moment_never_get_the_same_answer(course: Course) -> None:
    assert connection.vendor == "postgresql", "the claim race needs PostgreSQL's row locks"
    exam = ExamFactory.create(course=course, published=True)
    add_question(SectionFactory.create(exam=exam, number=1), kind="short_answer", points=4)
    for index in range(8):
        sit(exam, f"r{index}", {"1.1": f"text {index}"})
    score(exam)
    url = f"/api/questions/{q(exam, '1.1').pk}/queue/next/"
    clients = []
    for index in range(8):
        grader = UserFactory.create(net_id=f"grader{index}")
        member(grader, course, Role.TA)
        clients.append(api(grader))
    barrier = threading.Barrier(len(clients))

    def ask(client: APIClient) -> int | None:
        try:
            barrier.wait()
            response = client.post(url, {}, format="json")
            return response.json()["id"] if response.status_code == 200 else None
        finally:
            connection.close()

    with ThreadPoolExecutor(len(clients)) as pool:
        claimed = list(pool.map(ask, clients))
    assert None not in claimed and len(set(claimed)) == len(clients)
    assert Evaluation.objects.filter(claimed_by__isnull=False).count() == len(clients)
