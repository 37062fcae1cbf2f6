"""The scoring API: key changes (dry run, apply, history), the lock on the authoring API once
students have sat an exam, scoring jobs and their progress, and the statistics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Course, User
from exams.models import Exam, Question
from grading.jobs import job_run_inline
from grading.models import GradingJob, KeyChange
from tests.grading.sat_exam import q, score, scores_of, sit, small_exam

pytestmark = pytest.mark.django_db

REASON = "The prompt says training loss; the key was written for validation loss."


@pytest.fixture
def exam(course: Course) -> Exam:
    return small_exam(course)


@pytest.fixture
def sat(exam: Exam) -> Exam:
    """Three students sat and were scored: "t" answered 1.1 True, "f" False, "b" left it blank."""
    sit(exam, "t", {"1.1": True, "1.2": True, "2.1": ["A"], "2.2": 0.5})
    sit(exam, "f", {"1.1": False, "1.2": False, "2.1": ["A", "C"], "2.2": 0.7})
    sit(exam, "b", {"1.2": False})
    score(exam)
    return exam


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def preview_url(question: Question) -> str:
    return f"/api/questions/{question.pk}/key-change/preview/"


def change_url(question: Question) -> str:
    return f"/api/questions/{question.pk}/key-change/"


# Key changes: the dry run


def test_a_dry_run_lists_every_student_and_saves_nothing(sat: Exam, instructor: User) -> None:
    question = q(sat, "1.1")
    before = scores_of(sat)
    jobs = GradingJob.objects.count()
    response = api(instructor).post(preview_url(question), {"key": {"value": False}}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["question"] == question.pk and body["number"] == "1.1"
    assert body["students"] == 3 and body["affected"] == 2 and body["mean_change"] == "0.00"
    assert body["proposal"] == {
        "policy": "negative_marking",
        "policy_params": {"wrong": -1, "blank": 0},
        "key": {"value": False},
        "correct_choices": [],
    }
    rows = {row["net_id"]: row for row in body["rows"]}
    assert (rows["t"]["old_points"], rows["t"]["new_points"], rows["t"]["changed"]) == ("2.00", "-1.00", True)
    assert (rows["b"]["old_points"], rows["b"]["new_points"], rows["b"]["changed"]) == ("0.00", "0.00", False)
    assert body["digest"]
    assert scores_of(sat) == before and GradingJob.objects.count() == jobs
    assert not KeyChange.objects.exists() and Question.objects.get(pk=question.pk).key == {"value": True}


def test_a_new_policy_starts_from_its_defaults(sat: Exam, instructor: User) -> None:
    response = api(instructor).post(preview_url(q(sat, "1.1")), {"policy": "all_or_nothing"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["proposal"]["policy_params"] == {}
    rows = {row["net_id"]: row for row in response.json()["rows"]}
    assert rows["f"]["new_points"] == "0.00"  # a wrong answer costs nothing under all_or_nothing


def test_bad_proposals_are_refused_by_field(sat: Exam, instructor: User) -> None:
    client = api(instructor)
    choices = q(sat, "2.1")
    response = client.post(preview_url(choices), {"correct_choices": []}, format="json")
    assert response.status_code == 400
    assert response.json() == {"correct_choices": ["A multiple_select question needs at least one correct choice."]}
    response = client.post(preview_url(choices), {"correct_choices": ["Z"]}, format="json")
    assert response.status_code == 400 and "There is no choice Z." in response.json()["correct_choices"]
    response = client.post(preview_url(choices), {"policy_params": {"deduction": -1}}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["policy_params"]
    response = client.post(preview_url(choices), {"policy": "negative_marking"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["policy"]
    response = client.post(preview_url(q(sat, "2.2")), {"key": {"value": "half"}}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["key"]
    response = client.post(preview_url(q(sat, "2.2")), {"key": [1]}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["key"]
    response = client.post(preview_url(q(sat, "1.1")), {"key": {"value": True}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This is the question's current key: there is nothing to change."]}
    response = client.post(preview_url(q(sat, "1.1")), "key=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


# Key changes: applying


def test_a_change_is_audited_and_rescores_that_question_only(sat: Exam, instructor: User) -> None:
    question = q(sat, "1.1")
    before = scores_of(sat)
    client = api(instructor)
    digest = client.post(preview_url(question), {"key": {"value": False}}, format="json").json()["digest"]
    response = client.post(
        change_url(question), {"key": {"value": False}, "reason": REASON, "digest": digest}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    change = KeyChange.objects.get()
    assert body["id"] == change.pk and body["question"] == question.pk and body["question_number"] == "1.1"
    assert body["changed_by"] == "mrivera" and body["reason"] == REASON and body["affected"] == 2
    assert body["old"]["key"] == {"value": True} and body["new"]["key"] == {"value": False}
    assert change.changed_by == instructor and change.old["key"] == {"value": True}
    job = GradingJob.objects.get(pk=body["job"])
    assert job.kind == GradingJob.Kind.RESCORE and job.question == question and job.status == "queued"

    job_run_inline(job.pk, now=timezone.now())
    after = scores_of(sat)
    assert after[("t", "1.1")][0] == -1 and after[("f", "1.1")][0] == 2
    assert {k: v for k, v in after.items() if k[1] != "1.1"} == {k: v for k, v in before.items() if k[1] != "1.1"}

    progress = client.get(f"/api/grading-jobs/{job.pk}/").json()
    assert progress["status"] == "succeeded" and progress["progress_percent"] == 100
    assert progress["kind"] == "rescore" and progress["question"] == question.pk


def test_a_change_needs_a_reason_and_a_current_dry_run(sat: Exam, instructor: User) -> None:
    client = api(instructor)
    question = q(sat, "1.1")
    response = client.post(change_url(question), {"key": {"value": False}}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["reason"]
    response = client.post(change_url(question), {"key": {"value": False}, "reason": "  "}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["reason"]
    response = client.post(
        change_url(question), {"key": {"value": False}, "reason": REASON, "digest": "stale"}, format="json"
    )
    assert response.status_code == 409 and "run it again" in response.json()["detail"]
    assert not KeyChange.objects.exists() and Question.objects.get(pk=question.pk).key == {"value": True}


def test_a_second_change_while_the_rescore_is_queued_is_refused(sat: Exam, instructor: User) -> None:
    client = api(instructor)
    question = q(sat, "1.1")
    assert (
        client.post(change_url(question), {"key": {"value": False}, "reason": "one"}, format="json").status_code == 201
    )
    response = client.post(change_url(question), {"key": {"value": True}, "reason": "two"}, format="json")
    assert response.status_code == 400 and "still running" in str(response.json())
    assert KeyChange.objects.count() == 1 and Question.objects.get(pk=question.pk).key == {"value": False}


def test_choice_keys_change_through_correct_choices(sat: Exam, instructor: User) -> None:
    question = q(sat, "2.1")
    response = api(instructor).post(
        change_url(question), {"correct_choices": ["A"], "reason": "Tanh was a trap."}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["new"]["correct_choices"] == ["A"]
    assert list(question.choices.filter(is_correct=True).values_list("label", flat=True)) == ["A"]


def test_the_exams_key_changes_are_listed_for_its_staff(
    sat: Exam, instructor: User, ta: User, other_instructor: User, student: User
) -> None:
    api(instructor).post(change_url(q(sat, "1.1")), {"key": {"value": False}, "reason": REASON}, format="json")
    for user in (instructor, ta):
        response = api(user).get(f"/api/exams/{sat.pk}/key-changes/")
        assert response.status_code == 200
        assert [(c["question_number"], c["reason"]) for c in response.json()["results"]] == [("1.1", REASON)]
    for user in (other_instructor, student):
        assert api(user).get(f"/api/exams/{sat.pk}/key-changes/").status_code == 404
    assert api(None).get(f"/api/exams/{sat.pk}/key-changes/").status_code == 401


def test_only_the_courses_instructors_change_keys(sat: Exam, ta: User, other_instructor: User, student: User) -> None:
    question = q(sat, "1.1")
    body = {"key": {"value": False}, "reason": REASON}
    for url in (preview_url(question), change_url(question)):
        assert api(ta).post(url, body, format="json").status_code == 403
        assert api(other_instructor).post(url, body, format="json").status_code == 404
        assert api(student).post(url, body, format="json").status_code == 404
        assert api(None).post(url, body, format="json").status_code == 401
    assert not KeyChange.objects.exists()


# The authoring API's lock


def test_once_students_sat_a_key_changes_only_through_the_dry_run(sat: Exam, instructor: User) -> None:
    client = api(instructor)
    question = q(sat, "1.1")
    for change in ({"key": {"value": False}}, {"policy": "all_or_nothing"}, {"policy_params": {"wrong": -2}}):
        response = client.patch(f"/api/questions/{question.pk}/", change, format="json")
        assert response.status_code == 409, change
        detail = response.json()["detail"]
        assert "dry run" in detail and f"/api/questions/{question.pk}/key-change/preview/" in detail
    response = client.patch(f"/api/questions/{question.pk}/", {"kind": "short_answer", "key": {}}, format="json")
    assert response.status_code == 409 and "stays a true_false question" in response.json()["detail"]
    # What does not change the scoring still changes, and so does a key sent unchanged.
    response = client.patch(
        f"/api/questions/{question.pk}/",
        {"title": "Loss", "key": {"value": True}, "policy": "negative_marking"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    current = client.get(f"/api/questions/{question.pk}/").json()
    assert client.put(f"/api/questions/{question.pk}/", current, format="json").status_code == 200
    question.refresh_from_db()
    assert question.title == "Loss" and question.key == {"value": True} and question.policy == "negative_marking"


def test_once_students_sat_a_choices_correctness_is_locked(sat: Exam, instructor: User) -> None:
    client = api(instructor)
    question = q(sat, "2.1")
    rows: list[dict[str, Any]] = [
        {"label": c.label, "text": c.text, "is_correct": c.is_correct} for c in question.choices.all()
    ]
    flipped = [{**row, "is_correct": row["label"] == "B"} for row in rows]
    response = client.patch(f"/api/questions/{question.pk}/", {"choices": flipped}, format="json")
    assert response.status_code == 409 and "correct_choices" in response.json()["detail"]
    reworded = [{**row, "text": row["text"].upper()} for row in rows]
    assert client.patch(f"/api/questions/{question.pk}/", {"choices": reworded}, format="json").status_code == 200
    relabelled = [{**row, "label": {"A": "Z"}.get(row["label"], row["label"])} for row in rows]
    # Renaming removes option A, which a published exam already refuses (403).
    assert client.patch(f"/api/questions/{question.pk}/", {"choices": relabelled}, format="json").status_code == 403
    extra = [*rows, {"label": "D", "text": "Sigmoid", "is_correct": False}]
    response = client.patch(f"/api/questions/{question.pk}/", {"choices": extra}, format="json")
    assert response.status_code == 409 and "stay A, B, C" in response.json()["detail"]
    assert sorted(question.choices.values_list("label", flat=True)) == ["A", "B", "C"]
    assert set(question.choices.filter(is_correct=True).values_list("label", flat=True)) == {"A", "C"}


def test_before_anyone_sits_keys_are_edited_in_place(exam: Exam, instructor: User) -> None:
    question = q(exam, "1.1")
    response = api(instructor).patch(f"/api/questions/{question.pk}/", {"key": {"value": False}}, format="json")
    assert response.status_code == 200
    assert Question.objects.get(pk=question.pk).key == {"value": False}


# Scoring jobs and statistics


def test_an_instructor_starts_a_scoring_job_once(
    exam: Exam, instructor: User, django_capture_on_commit_callbacks: Any
) -> None:
    sit(exam, "t", {"1.1": True})
    client = api(instructor)
    with django_capture_on_commit_callbacks() as launched:
        response = client.post(f"/api/exams/{exam.pk}/score/")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["kind"] == "score" and body["trigger"] == "api"
    assert body["requested_by"] == "mrivera" and body["exam"] == exam.pk
    assert len(launched) == 1  # the worker is sent the job once the request commits
    with django_capture_on_commit_callbacks() as again:
        response = client.post(f"/api/exams/{exam.pk}/score/")
    assert response.status_code == 200 and response.json()["id"] == body["id"] and not again
    assert GradingJob.objects.filter(exam=exam).count() == 1


def test_only_the_courses_instructors_start_scoring(
    exam: Exam, ta: User, other_instructor: User, student: User
) -> None:
    assert api(ta).post(f"/api/exams/{exam.pk}/score/").status_code == 403
    assert api(other_instructor).post(f"/api/exams/{exam.pk}/score/").status_code == 404
    assert api(student).post(f"/api/exams/{exam.pk}/score/").status_code == 404
    assert api(None).post(f"/api/exams/{exam.pk}/score/").status_code == 401
    assert not GradingJob.objects.exists()


def test_a_jobs_progress_is_for_its_courses_staff(
    exam: Exam, instructor: User, ta: User, other_instructor: User, student: User
) -> None:
    sit(exam, "t", {"1.1": True})
    job_id = api(instructor).post(f"/api/exams/{exam.pk}/score/").json()["id"]
    queued = api(ta).get(f"/api/grading-jobs/{job_id}/")
    assert queued.status_code == 200 and queued.json()["progress_percent"] == 0
    job_run_inline(job_id, now=timezone.now())
    done = api(instructor).get(f"/api/grading-jobs/{job_id}/").json()
    assert done["status"] == "succeeded" and done["sittings_done"] == 1 and done["progress_percent"] == 100
    assert done["answers_scored"] == 4 and done["finished_at"] is not None
    for user in (other_instructor, student):
        assert api(user).get(f"/api/grading-jobs/{job_id}/").status_code == 404
    assert api(None).get(f"/api/grading-jobs/{job_id}/").status_code == 401


def test_statistics_of_the_latest_finished_job(
    exam: Exam, instructor: User, ta: User, other_instructor: User, student: User
) -> None:
    response = api(instructor).get(f"/api/exams/{exam.pk}/statistics/")
    assert response.status_code == 404 and "no finished scoring job" in response.json()["detail"]
    sit(exam, "t", {"1.1": True, "2.1": ["A", "C"]})
    sit(exam, "f", {"1.1": False})
    first = score(exam)
    latest = score(exam)
    GradingJob.objects.create(exam=exam, trigger=GradingJob.Trigger.API)  # queued: no statistics yet
    for user in (instructor, ta):
        response = api(user).get(f"/api/exams/{exam.pk}/statistics/")
        assert response.status_code == 200
        body = response.json()
        assert body["exam"] == exam.pk and body["job"] == latest.pk != first.pk
        assert body["statistics"]["exam"]["n"] == 2
        by_number = {entry["number"]: entry for entry in body["statistics"]["questions"]}
        assert by_number["2.1"]["distractors"]["correct"] == ["A", "C"]
    for user in (other_instructor, student):
        assert api(user).get(f"/api/exams/{exam.pk}/statistics/").status_code == 404


def test_the_schema_lists_the_scoring_endpoints(client: Any) -> None:
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    assert {
        "/api/exams/{id}/score/",
        "/api/exams/{id}/statistics/",
        "/api/exams/{id}/key-changes/",
        "/api/questions/{id}/key-change/preview/",
        "/api/questions/{id}/key-change/",
        "/api/grading-jobs/{id}/",
    } <= set(paths)
    assert set(paths["/api/questions/{id}/key-change/"]["post"]["responses"]) >= {"201", "409"}


def test_mean_change_is_over_all_students(sat: Exam, instructor: User) -> None:
    # 2.2 becomes 0.7: f gains 2, t loses 2, b (blank) stays at 0.
    response = api(instructor).post(preview_url(q(sat, "2.2")), {"key": {"value": 0.7}}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["affected"] == 2 and Decimal(body["mean_change"]) == 0
    assert body["proposal"]["key"] == {"value": 0.7, "tolerance": 0.0, "mode": "absolute"}
