"""Changing an answer key in the admin once students have sat the exam: the dry run (every
student's old → new points, nothing saved), "Apply and rescore" (audited, that question
only), refusals beside their fields, who may do it, and the question page's lock."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Choice, Exam, Question
from grading.jobs import job_run_inline
from grading.models import AnswerScore, GradingJob, KeyChange, ScoreSource
from tests.grading.sat_exam import points, q, score, scores_of, sit, small_exam

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


def url(question: Question) -> str:
    return reverse("admin:exams_question_key_change", args=[question.pk])


def change_url(question: Question) -> str:
    return reverse("admin:exams_question_change", args=[question.pk])


def true_false_proposal(value: str, **fields: Any) -> dict[str, Any]:
    return {
        "policy": "negative_marking",
        "policy_params": json.dumps({"wrong": -1, "blank": 0}),
        "true_false_key": value,
        "reason": REASON,
        "_preview": "Dry run",
        **fields,
    }


def dry_run(client: Client, question: Question, data: dict[str, Any]) -> Any:
    response = client.post(url(question), data)
    assert response.status_code == 200
    assert response.context["dry_run"] is not None, response.context["form"].errors
    return response


def apply(client: Client, question: Question, data: dict[str, Any]) -> Any:
    """Dry run, then post the page's own "Apply and rescore" form back."""
    digest = dry_run(client, question, data).context["digest"]
    fields = {name: value for name, value in data.items() if name != "_preview"}
    return client.post(url(question), {**fields, "digest": digest, "_apply": "Apply and rescore"})


def form_errors(response: Any) -> dict[str, list[str]]:
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


# The dry run


def test_the_page_starts_from_the_current_key(client: Client, sat: Exam, instructor: User) -> None:
    client.force_login(instructor)
    response = client.get(url(q(sat, "1.1")))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["true_false_key"] == "true" and form.initial["policy"] == "negative_marking"
    assert list(dict(form.fields["policy"].choices)) == ["negative_marking", "all_or_nothing"]
    assert "key" not in form.fields and "correct_choices" not in form.fields
    assert response.context["current_key"] == "negative_marking (wrong -1, blank 0): True"


def test_a_dry_run_shows_every_students_old_and_new_points_and_saves_nothing(
    client: Client, sat: Exam, instructor: User
) -> None:
    question = q(sat, "1.1")
    before = scores_of(sat)
    jobs = GradingJob.objects.count()
    client.force_login(instructor)
    response = dry_run(client, question, true_false_proposal("false"))

    rows = response.context["rows"]
    assert [(row.net_id, row.old_points, row.new_points, row.changed) for row in rows] == [
        ("f", Decimal(-1), Decimal(2), True),  # changed rows first
        ("t", Decimal(2), Decimal(-1), True),
        ("b", Decimal(0), Decimal(0), False),
    ]
    assert response.context["dry_run"].mean_change == 0  # +3 and −3 over three students
    page = response.content.decode()
    assert "<strong>2</strong> of 3 students" in page and "Apply and rescore" in page
    assert 'class="key-change-changed"' in page
    assert question.key == Question.objects.get(pk=question.pk).key == {"value": True}
    assert scores_of(sat) == before and GradingJob.objects.count() == jobs
    assert not KeyChange.objects.exists()


def test_a_graders_points_are_marked_kept(client: Client, sat: Exam, instructor: User) -> None:
    row = AnswerScore.objects.get(question=q(sat, "1.1"), sitting__student__net_id="t")
    AnswerScore.objects.filter(pk=row.pk).update(points=Decimal("1.5"), source=ScoreSource.OVERRIDE)
    client.force_login(instructor)
    response = dry_run(client, q(sat, "1.1"), true_false_proposal("false"))
    kept = next(row for row in response.context["rows"] if row.net_id == "t")
    assert kept.kept_by_grader and not kept.changed
    assert "Kept: graded by hand" in response.content.decode()


# Applying


def test_apply_saves_the_key_audits_it_and_rescores_that_question_only(
    client: Client, sat: Exam, instructor: User
) -> None:
    question = q(sat, "1.1")
    before = scores_of(sat)
    client.force_login(instructor)
    response = apply(client, question, true_false_proposal("false"))

    assert response.status_code == 302
    change = KeyChange.objects.get()
    assert change.question == question and change.exam == sat
    assert change.changed_by == instructor and change.reason == REASON and change.affected == 2
    assert change.old["key"] == {"value": True} and change.new["key"] == {"value": False}
    assert change.old["policy"] == change.new["policy"] == "negative_marking"
    assert Question.objects.get(pk=question.pk).key == {"value": False}
    job = change.job
    assert job is not None and job.kind == GradingJob.Kind.RESCORE and job.question == question
    assert job.trigger == GradingJob.Trigger.KEY_CHANGE and job.requested_by == instructor
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(f"queued (job {job.pk})" in m for m in messages), messages

    job_run_inline(job.pk, now=timezone.now())
    after = scores_of(sat)
    assert after[("t", "1.1")][0] == -1 and after[("f", "1.1")][0] == 2 and after[("b", "1.1")][0] == 0
    others = {k: v for k, v in before.items() if k[1] != "1.1"}
    assert {k: v for k, v in after.items() if k[1] != "1.1"} == others  # not even rescored


def test_apply_leads_to_the_results_page(client: Client, sat: Exam, instructor: User) -> None:
    client.force_login(instructor)
    response = apply(client, q(sat, "1.1"), true_false_proposal("false"))
    assert response["Location"] == reverse("grading:results", args=[sat.pk]) == f"/grading/exams/{sat.pk}/results/"


def test_a_choice_key_and_the_policy_change_together(client: Client, sat: Exam, instructor: User) -> None:
    question = q(sat, "2.1")
    client.force_login(instructor)
    page = client.get(url(question)).content.decode()
    assert 'type="checkbox" name="correct_choices" value="A"' in page
    data = {
        "policy": "all_or_nothing",
        "policy_params": "{}",
        "correct_choices": ["A"],
        "reason": "Tanh was meant as a trap.",
        "_preview": "Dry run",
    }
    response = apply(client, question, data)
    assert response.status_code == 302
    change = KeyChange.objects.get()
    assert change.old["correct_choices"] == ["A", "C"] and change.new["correct_choices"] == ["A"]
    assert change.new["policy"] == "all_or_nothing" and change.new["policy_params"] == {}
    assert list(Choice.objects.filter(question=question, is_correct=True).values_list("label", flat=True)) == ["A"]
    assert change.job is not None
    job_run_inline(change.job.pk, now=timezone.now())
    assert points(sit_of(sat, "t"), sat, "2.1").points == 4  # chose only A
    assert points(sit_of(sat, "f"), sat, "2.1").points == 0  # chose A and C


def sit_of(exam: Exam, net_id: str) -> Any:
    return exam.sittings.get(student__net_id=net_id)


def test_a_json_key_changes_for_other_kinds(client: Client, sat: Exam, instructor: User) -> None:
    question = q(sat, "2.2")
    client.force_login(instructor)
    form = client.get(url(question)).context["form"]
    assert "&quot;tolerance&quot;: 0.01" in form.fields["key"].help_text  # the kind's worked example
    assert form.initial["key"] == {"value": 0.5, "tolerance": 0.01, "mode": "absolute"}
    data = {
        "policy": "numeric_tolerance",
        "policy_params": "{}",
        "key": json.dumps({"value": 0.7}),
        "reason": "The units were wrong.",
        "_preview": "Dry run",
    }
    rows = {row.net_id: row for row in dry_run(client, question, data).context["rows"]}
    assert rows["f"].new_points == 2 and rows["t"].new_points == 0
    assert apply(client, question, data).status_code == 302
    assert Question.objects.get(pk=question.pk).key == {"value": 0.7, "tolerance": 0.0, "mode": "absolute"}


def test_an_apply_whose_dry_run_is_out_of_date_shows_the_new_one(client: Client, sat: Exam, instructor: User) -> None:
    question = q(sat, "1.1")
    client.force_login(instructor)
    data = true_false_proposal("false")
    digest = dry_run(client, question, data).context["digest"]
    # A grader sets t's points by hand between the dry run and the apply.
    AnswerScore.objects.filter(question=question, sitting__student__net_id="t").update(
        points=Decimal(1), source=ScoreSource.OVERRIDE
    )
    response = client.post(url(question), {**data, "digest": digest, "_apply": "Apply and rescore"})
    assert response.status_code == 200 and response.context["dry_run"] is not None
    assert response.context["digest"] != digest
    assert "changed since your dry run" in response.content.decode()
    assert not KeyChange.objects.exists() and Question.objects.get(pk=question.pk).key == {"value": True}


def test_the_apply_form_carries_the_proposal_it_dry_ran(client: Client, sat: Exam, instructor: User) -> None:
    client.force_login(instructor)
    page = dry_run(client, q(sat, "1.1"), true_false_proposal("false")).content.decode()
    apply_form = page[page.index('class="key-change-apply"') :]
    apply_form = apply_form[: apply_form.index("</form>")]
    assert 'type="hidden" name="true_false_key" value="false"' in apply_form
    assert 'name="digest"' in apply_form and 'name="_apply"' in apply_form
    assert 'id="' not in apply_form  # the visible form above owns the ids


# Refusals


def test_bad_keys_are_refused_beside_their_fields(client: Client, sat: Exam, instructor: User) -> None:
    client.force_login(instructor)
    no_correct = {"policy": "per_error_deduction", "policy_params": "{}", "reason": "x", "_preview": "Dry run"}
    response = client.post(url(q(sat, "2.1")), no_correct)
    assert form_errors(response) == {
        "correct_choices": ["A multiple_select question needs at least one correct choice."]
    }

    bad_params = {**no_correct, "correct_choices": ["A"], "policy_params": json.dumps({"deduction": -1})}
    errors = form_errors(client.post(url(q(sat, "2.1")), bad_params))
    assert list(errors) == ["policy_params"] and "at least 0" in errors["policy_params"][0]

    not_json = {**no_correct, "correct_choices": ["A"], "policy_params": "{deduction: 1"}
    assert list(form_errors(client.post(url(q(sat, "2.1")), not_json))) == ["policy_params"]

    numeric = {"policy": "numeric_tolerance", "policy_params": "{}", "key": json.dumps({"value": "half"})}
    errors = form_errors(client.post(url(q(sat, "2.2")), {**numeric, "reason": "x"}))
    assert list(errors) == ["key"] and "finite number" in errors["key"][0]
    assert list(form_errors(client.post(url(q(sat, "2.2")), {**numeric, "key": "[1]", "reason": "x"}))) == ["key"]

    no_reason = true_false_proposal("false", reason="")
    assert list(form_errors(client.post(url(q(sat, "1.1")), no_reason))) == ["reason"]
    assert list(form_errors(client.post(url(q(sat, "1.1")), true_false_proposal("")))) == ["true_false_key"]

    same = client.post(url(q(sat, "1.1")), true_false_proposal("true"))
    assert "nothing to change" in str(same.context["form"].non_field_errors())
    assert same.context["dry_run"] is None

    assert not KeyChange.objects.exists()


def test_an_apply_is_validated_again(client: Client, sat: Exam, instructor: User) -> None:
    """The hidden fields of "Apply" are input like any other: a forged key is refused."""
    client.force_login(instructor)
    forged = {
        "policy": "per_error_deduction",
        "policy_params": "{}",
        "correct_choices": ["Z"],
        "reason": "x",
        "digest": "whatever",
        "_apply": "Apply and rescore",
    }
    response = client.post(url(q(sat, "2.1")), forged)
    assert response.status_code == 200 and "correct_choices" in form_errors(response)
    assert not KeyChange.objects.exists()


# Who may change a key


def test_tas_may_not_change_a_key(client: Client, sat: Exam, ta: User) -> None:
    client.force_login(ta)
    assert client.get(url(q(sat, "1.1"))).status_code == 403
    assert client.post(url(q(sat, "1.1")), {**true_false_proposal("false"), "_apply": "1"}).status_code == 403
    assert not KeyChange.objects.exists()


def test_other_courses_and_students_do_not_see_the_page(
    client: Client, sat: Exam, other_instructor: User, student: User
) -> None:
    client.force_login(other_instructor)
    assert client.get(url(q(sat, "1.1"))).status_code == 404
    assert client.post(url(q(sat, "1.1")), true_false_proposal("false")).status_code == 404
    client.force_login(student)
    response = client.get(url(q(sat, "1.1")))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert not KeyChange.objects.exists()


def test_a_group_has_no_key_to_change(client: Client, exam: Exam, instructor: User) -> None:
    from tests.factories import add_question

    group = add_question(exam.sections.get(number=2), kind="group", points=0, title="Gradients")
    client.force_login(instructor)
    assert client.get(url(group)).status_code == 404


# The question page's lock


def question_post(question: Question, **fields: Any) -> dict[str, Any]:
    """The question page's POST, trying to change the key and the policy in place as well."""
    choices = list(question.choices.order_by("position"))
    data: dict[str, Any] = {
        "section": question.section_id,
        "parent": "",
        "position": question.position,
        "title": question.title,
        "prompt": question.prompt,
        "kind": question.kind,
        "points": str(question.points),
        "policy": "all_or_nothing",
        "policy_params": "{}",
        "config": json.dumps(question.config),
        "key": json.dumps({"value": False}),
        "true_false_key": "false",
        "solution": "",
        "choices-TOTAL_FORMS": len(choices),
        "choices-INITIAL_FORMS": len(choices),
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 1000,
        "figures-TOTAL_FORMS": 0,
        "figures-INITIAL_FORMS": 0,
        "figures-MIN_NUM_FORMS": 0,
        "figures-MAX_NUM_FORMS": 1000,
        "_continue": "Save and continue editing",
    }
    for i, choice in enumerate(choices):
        data |= {
            f"choices-{i}-id": choice.pk,
            f"choices-{i}-position": choice.position,
            f"choices-{i}-label": choice.label,
            f"choices-{i}-text": choice.text,
        }
        if choice.label == "B":  # tick B, untick A and C
            data[f"choices-{i}-is_correct"] = "on"
    return data | fields


def test_before_anyone_sits_the_key_is_edited_in_place(client: Client, exam: Exam, instructor: User) -> None:
    client.force_login(instructor)
    page = client.get(change_url(q(exam, "1.1")))
    assert 'name="true_false_key"' in page.content.decode() and 'name="policy"' in page.content.decode()
    assert "Change the answer key (dry run first)" not in page.content.decode()
    response = client.post(change_url(q(exam, "1.1")), question_post(q(exam, "1.1")))
    assert response.status_code == 302
    question = q(exam, "1.1")
    assert question.key == {"value": False} and question.policy == "all_or_nothing"


def test_once_students_sat_the_question_page_keeps_the_key(client: Client, sat: Exam, instructor: User) -> None:
    question = q(sat, "1.1")
    client.force_login(instructor)
    page = client.get(change_url(question)).content.decode()
    for name in ("true_false_key", "policy", "policy_params", "key", "kind"):
        assert f'name="{name}"' not in page, name
    assert "Change the answer key (dry run first)" in page and url(question) in page

    response = client.post(change_url(question), question_post(question, title="Loss"))
    assert response.status_code == 302
    question = q(sat, "1.1")
    assert question.title == "Loss"  # the rest of the question still changes
    assert question.key == {"value": True} and question.policy == "negative_marking"
    assert not KeyChange.objects.exists()


def test_once_students_sat_a_choices_correctness_is_kept(client: Client, sat: Exam, instructor: User) -> None:
    question = q(sat, "2.1")
    client.force_login(instructor)
    page = client.get(change_url(question)).content.decode()
    assert '<input type="checkbox" name="choices-0-is_correct" disabled id="id_choices-0-is_correct" checked>' in page
    response = client.post(change_url(question), question_post(question, prompt="Which are activation functions?"))
    assert response.status_code == 302
    assert question.choices.filter(is_correct=True).count() == 2
    assert set(question.choices.filter(is_correct=True).values_list("label", flat=True)) == {"A", "C"}
    assert q(sat, "2.1").prompt == "Which are activation functions?"


def test_once_students_sat_the_options_keep_their_labels(client: Client, sat: Exam, instructor: User) -> None:
    question = q(sat, "2.1")
    client.force_login(instructor)
    page = client.get(change_url(question)).content.decode()
    assert 'name="choices-0-label"' in page and "disabled" in page.split('name="choices-0-label"')[1][:80]
    data = question_post(question) | {"choices-0-label": "Z"}
    assert client.post(change_url(question), data).status_code == 302
    assert sorted(question.choices.values_list("label", flat=True)) == ["A", "B", "C"]
    added = question_post(question) | {
        "choices-TOTAL_FORMS": 4,
        "choices-3-position": 4,
        "choices-3-label": "D",
        "choices-3-text": "Sigmoid",
    }
    client.post(change_url(question), added)
    assert question.choices.count() == 3


def test_the_question_page_lists_its_key_changes(client: Client, sat: Exam, instructor: User, ta: User) -> None:
    client.force_login(instructor)
    apply(client, q(sat, "1.1"), true_false_proposal("false"))
    client.force_login(ta)  # TAs read the history, without the way to change the key
    page = client.get(change_url(q(sat, "1.1"))).content.decode()
    assert "Answer-key changes" in page and REASON in page
    assert (
        "negative_marking (wrong -1, blank 0): True" in page and "negative_marking (wrong -1, blank 0): False" in page
    )
    assert "Maya Rivera (mrivera)" in page
    assert "Change the answer key" not in page
