"""Authoring through the admin, by course role: exams with sections, questions of each kind,
their validation messages, numbering, duplication, archiving, import and export."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as settings_module
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import Course, User
from exams.forms import KIND_EXAMPLES
from exams.kinds import KIND_GROUP, KINDS, ChoiceData
from exams.models import Choice, Exam, Figure, Question, Section
from exams.services import question_validate
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question
from tests.images import png_bytes


@pytest.fixture
def exam(course: Course, instructor: User) -> Exam:
    exam = ExamFactory.create(course=course, title="Midterm Exam", created_by=instructor)
    SectionFactory.create(exam=exam, number=1, title="True / False", recommended_minutes=10)
    SectionFactory.create(exam=exam, number=2, title="Multiple Choices", recommended_minutes=25)
    SectionFactory.create(exam=exam, number=3, title="Short Answers", recommended_minutes=45)
    return exam


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def section(exam: Exam, number: int) -> Section:
    return exam.sections.get(number=number)


def management(prefix: str, total: int, initial: int = 0) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def question_form(
    exam: Exam,
    section: Section,
    *,
    kind: str,
    choices: tuple[tuple[str, str, bool], ...] = (),
    parent: Question | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """The POST of the admin's question page; JSON fields may be given as dicts."""
    data: dict[str, Any] = {
        "exam": exam.pk,
        "section": section.pk,
        "parent": parent.pk if parent else "",
        "position": "",
        "title": "",
        "prompt": "A question with $x^2$.",
        "kind": kind,
        "points": "2",
        "policy": "",
        "policy_params": "{}",
        "config": "{}",
        "key": "{}",
        "true_false_key": "",
        "solution": "",
        **management("choices", len(choices)),
        **management("figures", 0),
    }
    for i, (label, text, is_correct) in enumerate(choices):
        data[f"choices-{i}-position"] = i + 1
        data[f"choices-{i}-label"] = label
        data[f"choices-{i}-text"] = text
        if is_correct:
            data[f"choices-{i}-is_correct"] = "on"
    for name, value in fields.items():
        data[name] = json.dumps(value) if isinstance(value, dict | list) else value
    return data


ADD_QUESTION = reverse("admin:exams_question_add")


def add_via_admin(client: Client, data: dict[str, Any]) -> Question:
    response = client.post(ADD_QUESTION, data)
    assert response.status_code == 302, form_errors(response)
    return Question.objects.latest("pk")


def form_errors(response: Any) -> dict[str, Any]:
    """Every error on an admin change page, by field, with the inlines' own under their prefix."""
    if response.context is None:
        return {"status": response.status_code}
    errors: dict[str, Any] = dict(response.context["adminform"].form.errors)
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.non_form_errors():
            errors[inline.formset.prefix] = list(inline.formset.non_form_errors())
    return errors


# Creating an exam, with its sections inline


def test_instructor_creates_an_exam_with_sections_inline(client: Client, course: Course, instructor: User) -> None:
    login(client, instructor)
    data = {
        "course": course.pk,
        "title": "Midterm Exam",
        "term": "",
        "exam_date": "2023-05-04",
        "duration_minutes": 80,
        "opens_at_0": "",
        "opens_at_1": "",
        "closes_at_0": "",
        "closes_at_1": "",
        "instructions": "Welcome to the CSE 493 G1 Midterm Exam!",
        "honor_code": "I understand and agree to uphold the University of Washington Honor Code during this exam.",
        "access_code": "",
        **management("sections", 2),
        "sections-0-number": 1,
        "sections-0-title": "True / False",
        "sections-0-recommended_minutes": 10,
        "sections-0-floor_at_zero": "on",
        "sections-0-instructions": "Fill in the circle next to True or False, or fill in neither.",
        "sections-1-number": 2,
        "sections-1-title": "Multiple Choices",
        "sections-1-recommended_minutes": 25,
        "sections-1-instructions": "Choose ALL options that apply.",
    }
    response = client.post(reverse("admin:exams_exam_add"), data)
    assert response.status_code == 302, form_errors(response)
    exam = Exam.objects.get(title="Midterm Exam")
    assert exam.course == course and exam.created_by == instructor
    assert [(s.number, s.title, s.recommended_minutes, s.floor_at_zero) for s in exam.sections.all()] == [
        (1, "True / False", 10, True),
        (2, "Multiple Choices", 25, False),
    ]


def test_an_exam_can_only_be_created_in_an_authored_course(
    client: Client, instructor: User, other_course: Course
) -> None:
    login(client, instructor)
    page = client.get(reverse("admin:exams_exam_add"))
    course_choices = [c.pk for c in page.context["adminform"].form.fields["course"].queryset]
    assert other_course.pk not in course_choices
    response = client.post(
        reverse("admin:exams_exam_add"),
        {
            "course": other_course.pk,
            "title": "Sneaky",
            "duration_minutes": 80,
            "honor_code": "x",
            **management("sections", 0),
        },
    )
    assert response.status_code == 200
    assert "course" in form_errors(response)
    assert not Exam.objects.filter(title="Sneaky").exists()


def test_the_exam_page_shows_totals_and_the_question_tree(client: Client, exam: Exam, instructor: User) -> None:
    tf = add_question(section(exam, 1), kind="true_false", points=2, key={"value": True}, prompt="High train loss?")
    group = add_question(section(exam, 3), kind="group", points=0, title="Two layer network")
    add_question(section(exam, 3), kind="short_answer", points=3, parent=group, prompt="Classify it.")
    add_question(section(exam, 3), kind="short_answer", points=6, parent=group, extra_credit=True)
    login(client, instructor)
    html = client.get(reverse("admin:exams_exam_change", args=[exam.pk])).content.decode()
    assert reverse("admin:exams_question_change", args=[tf.pk]) in html
    assert "3.1.2" in html and "Two layer network" in html
    assert "<td>5</td>" in html  # the total, extra credit excluded: 2 + 3
    assert "<td>6</td>" in html  # extra credit on offer
    assert "80 of 80" in html  # recommended minutes against the duration
    assert reverse("exams:preview", args=[exam.pk]) in html
    assert reverse("admin:exams_exam_export", args=[exam.pk]) in html
    assert reverse("admin:exams_exam_duplicate", args=[exam.pk]) in html


# Questions of several kinds, with their choices


def test_instructor_adds_questions_of_several_kinds_and_they_are_numbered(
    client: Client, exam: Exam, instructor: User
) -> None:
    login(client, instructor)
    tf = add_via_admin(
        client,
        question_form(exam, section(exam, 1), kind="true_false", true_false_key="false", policy="negative_marking"),
    )
    ms = add_via_admin(
        client,
        question_form(
            exam,
            section(exam, 2),
            kind="multiple_select",
            points="4",
            choices=(("A", "Linear SVM, 100% train", True), ("B", "KNN with $K=1$", True), ("C", "None", False)),
        ),
    )
    sc = add_via_admin(
        client,
        question_form(
            exam,
            section(exam, 2),
            kind="single_choice",
            choices=(("A", "Zom", False), ("B", "Flom", True), ("C", "Nom", False)),
        ),
    )
    group = add_via_admin(client, question_form(exam, section(exam, 3), kind=KIND_GROUP, points="0", title="Network"))
    grid = add_via_admin(
        client,
        question_form(
            exam,
            section(exam, 3),
            kind="grid",
            parent=group,
            points="3",
            config={"rows": 1, "cols": 2, "symbols": ["+", "-", "0"]},
            key={"cells": [["+", "0"]]},
        ),
    )
    sketch = add_via_admin(
        client,
        question_form(
            exam,
            section(exam, 3),
            kind="sketch",
            parent=group,
            config={"x_label": "Bip value", "y_label": "Zom score"},
            key={"description": "A line of slope 2"},
        ),
    )
    expression = add_via_admin(
        client,
        question_form(
            exam,
            section(exam, 3),
            kind="expression",
            config={"variables": ["D_C"]},
            key={"expression": "sqrt(2 - 2*D_C)"},
        ),
    )
    for q in (tf, ms, sc, group, grid, sketch, expression):
        q.refresh_from_db()
    assert tf.key == {"value": False} and tf.policy == "negative_marking"
    assert tf.policy_params == {"wrong": -1, "blank": 0}  # the kind's defaults, filled in
    assert ms.policy == "per_error_deduction"
    assert [(c.label, c.is_correct) for c in ms.choices.all()] == [("A", True), ("B", True), ("C", False)]
    assert [c.label for c in sc.choices.filter(is_correct=True)] == ["B"]
    assert sketch.config["x_min"] == -5  # defaults filled in by the kind
    assert [q.number for q in (tf, ms, sc, group, grid, sketch, expression)] == [
        "1.1",
        "2.1",
        "2.2",
        "3.1",
        "3.1.1",
        "3.1.2",
        "3.2",
    ]


def test_saving_a_question_returns_to_its_exam_or_to_a_new_one_in_its_place(
    client: Client, exam: Exam, instructor: User
) -> None:
    login(client, instructor)
    data = question_form(exam, section(exam, 1), kind="true_false", true_false_key="true")
    response = client.post(ADD_QUESTION, data)
    assert response["Location"] == reverse("admin:exams_exam_change", args=[exam.pk])
    response = client.post(ADD_QUESTION, {**data, "_addanother": "1"})
    assert response["Location"] == f"{ADD_QUESTION}?exam={exam.pk}&section={section(exam, 1).pk}&parent="
    follow = client.get(response["Location"]).context["adminform"].form
    assert follow.initial["exam"] == str(exam.pk) and list(follow.fields["section"].queryset) == list(
        exam.sections.all()
    )


def test_numbers_follow_a_new_position_after_save(client: Client, exam: Exam, instructor: User) -> None:
    first = add_question(section(exam, 1), kind="true_false", key={"value": True})
    second = add_question(section(exam, 1), kind="true_false", key={"value": False})
    login(client, instructor)
    inserted = add_via_admin(
        client, question_form(exam, section(exam, 1), kind="true_false", true_false_key="true", position=1)
    )
    numbers = dict(Question.objects.filter(exam=exam).values_list("pk", "number"))
    assert (numbers[inserted.pk], numbers[first.pk], numbers[second.pk]) == ("1.1", "1.2", "1.3")


def test_moving_a_question_to_another_section_renumbers(client: Client, exam: Exam, instructor: User) -> None:
    question = add_question(section(exam, 1), kind="true_false", key={"value": True})
    login(client, instructor)
    data = question_form(exam, section(exam, 2), kind="true_false", true_false_key="true", position=1)
    response = client.post(reverse("admin:exams_question_change", args=[question.pk]), data)
    assert response.status_code == 302, form_errors(response)
    question.refresh_from_db()
    assert question.number == "2.1"


def test_a_figure_uploaded_with_a_question_belongs_to_its_exam(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    data = question_form(exam, section(exam, 1), kind="true_false", true_false_key="true")
    data.update(management("figures", 1))
    data["figures-0-position"] = 1
    data["figures-0-image"] = SimpleUploadedFile("models.png", png_bytes(), content_type="image/png")
    data["figures-0-alt_text"] = "Model 1: one convolution and one fully connected layer"
    question = add_via_admin(client, data)
    figure = Figure.objects.get(question=question)
    assert figure.exam == exam
    assert str(figure.image.name).startswith(f"figures/exam-{exam.pk}/")


# Validation messages, beside the right field


def test_a_multiple_select_without_a_right_choice_is_refused_with_a_clear_message(
    client: Client, exam: Exam, instructor: User
) -> None:
    login(client, instructor)
    data = question_form(
        exam, section(exam, 2), kind="multiple_select", choices=(("A", "One", False), ("B", "Two", False))
    )
    response = client.post(ADD_QUESTION, data)
    assert response.status_code == 200
    message = "A multiple_select question needs at least one correct choice."
    assert form_errors(response)["choices"] == [f"Choices: {message}"]
    assert message in response.content.decode()
    assert not Question.objects.filter(exam=exam).exists()


def test_a_choice_question_needs_two_choices_and_others_none(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    response = client.post(
        ADD_QUESTION, question_form(exam, section(exam, 2), kind="single_choice", choices=(("A", "Only", True),))
    )
    assert "needs at least two choices" in form_errors(response)["choices"][0]
    response = client.post(
        ADD_QUESTION,
        question_form(exam, section(exam, 1), kind="true_false", true_false_key="true", choices=(("A", "x", True),)),
    )
    assert "has no choices; remove them" in form_errors(response)["choices"][0]


def test_a_grid_key_that_does_not_match_rows_by_cols_is_refused_beside_the_key(
    client: Client, exam: Exam, instructor: User
) -> None:
    login(client, instructor)
    data = question_form(
        exam,
        section(exam, 3),
        kind="grid",
        config={"rows": 2, "cols": 3, "symbols": ["+", "-", "0"]},
        key={"cells": [["+", "-", "0"]]},
    )
    response = client.post(ADD_QUESTION, data)
    errors = form_errors(response)
    assert errors["key"] == ["The grid key must be 2 rows × 3 columns, matching the grid."]
    assert "The grid key must be 2 rows × 3 columns" in response.content.decode()


def test_a_bad_config_is_refused_beside_the_config(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    data = question_form(exam, section(exam, 3), kind="grid", config={"rows": 0, "cols": 3, "symbols": ["+", "-"]})
    errors = form_errors(client.post(ADD_QUESTION, data))
    assert errors["config"] == ["grid rows must be a whole number from 1 to 12."]


def test_a_policy_the_kind_does_not_accept_is_refused_beside_the_policy(
    client: Client, exam: Exam, instructor: User
) -> None:
    login(client, instructor)
    data = question_form(exam, section(exam, 1), kind="true_false", true_false_key="true", policy="per_cell")
    errors = form_errors(client.post(ADD_QUESTION, data))
    assert errors["policy"] == [
        "A true_false question is scored by negative_marking or all_or_nothing, not 'per_cell'."
    ]


def test_a_bad_policy_parameter_is_refused_beside_the_parameters(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    data = question_form(exam, section(exam, 1), kind="true_false", true_false_key="true", policy_params={"wrong": 1})
    errors = form_errors(client.post(ADD_QUESTION, data))
    assert "policy" not in errors
    assert errors["policy_params"] == ["negative_marking.wrong must be at most 0 (points for a wrong answer (≤ 0))."]


def test_a_true_false_question_needs_its_key_chosen(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    errors = form_errors(client.post(ADD_QUESTION, question_form(exam, section(exam, 1), kind="true_false")))
    assert errors == {"true_false_key": ["A true_false key needs value: true or false."]}


def test_the_true_false_select_shows_the_saved_key(client: Client, exam: Exam, instructor: User) -> None:
    question = add_question(section(exam, 1), kind="true_false", key={"value": False})
    login(client, instructor)
    form = client.get(reverse("admin:exams_question_change", args=[question.pk])).context["adminform"].form
    assert form.initial["true_false_key"] == "false"


def test_the_author_sees_the_random_guess_score(client: Client, exam: Exam, instructor: User) -> None:
    true_false = add_question(section(exam, 1), kind="true_false", key={"value": False}, points=2)
    essay = add_question(section(exam, 1), kind="short_answer", points=4)
    login(client, instructor)
    page = client.get(reverse("admin:exams_question_change", args=[true_false.pk])).content.decode()
    # +2 right, −1 wrong, one of two at random: (2 − 1) / 2.
    assert "+0.5 of 2 points: what answering at random earns on average under negative_marking" in page
    page = client.get(reverse("admin:exams_question_change", args=[essay.pk])).content.decode()
    assert "Graded by hand: no automatic points for a guess." in page


def test_a_parent_in_another_section_is_refused(client: Client, exam: Exam, instructor: User) -> None:
    group = add_question(section(exam, 3), kind=KIND_GROUP, points=0, title="Two layer network")
    login(client, instructor)
    data = question_form(exam, section(exam, 1), kind="true_false", true_false_key="true", parent=group)
    errors = form_errors(client.post(ADD_QUESTION, data))
    assert errors["parent"] == ["A sub-question must be in its parent's section."]


def test_only_groups_of_the_exam_are_offered_as_parents(
    client: Client, exam: Exam, instructor: User, other_course: Course
) -> None:
    group = add_question(section(exam, 3), kind=KIND_GROUP, points=0, title="Two layer network")
    question = add_question(section(exam, 3), kind="short_answer", points=3, parent=group)
    elsewhere = ExamFactory.create(course=other_course)
    foreign = add_question(SectionFactory.create(exam=elsewhere, number=1), kind=KIND_GROUP, points=0)
    login(client, instructor)
    form = client.get(reverse("admin:exams_question_change", args=[question.pk])).context["adminform"].form
    assert list(form.fields["parent"].queryset) == [group]
    assert set(form.fields["section"].queryset) == set(exam.sections.all())
    add_form = client.get(ADD_QUESTION).context["adminform"].form
    assert foreign not in add_form.fields["parent"].queryset
    assert elsewhere not in add_form.fields["exam"].queryset
    assert exam in add_form.fields["exam"].queryset


def test_the_kind_help_has_a_worked_example_for_every_kind(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    html = client.get(ADD_QUESTION).content.decode()
    for kind in [KIND_GROUP, *KINDS]:
        assert f'data-kind-help="{kind}"' in html
    assert "sqrt(2 - 2*D_C)" in html


@pytest.mark.parametrize("kind", [KIND_GROUP, *KINDS])
def test_every_worked_example_passes_its_kinds_own_validation(kind: str) -> None:
    example = KIND_EXAMPLES[kind]
    choices = None
    if kind in KINDS and KINDS[kind].uses_choices:
        choices = [ChoiceData("A", "Zom", True), ChoiceData("B", "Flom", False)]
    clean = question_validate(
        kind=kind,
        points=0 if kind == KIND_GROUP else 2,
        policy="",
        policy_params=example.policy_params,
        config=example.config,
        key=example.key,
        choices=choices,
    )
    assert clean.config == example.config


# Duplicating, archiving, deleting


def test_duplicate_exam_button_makes_an_unpublished_copy(client: Client, exam: Exam, instructor: User) -> None:
    exam.published = True
    exam.save()
    question = add_question(section(exam, 2), kind="single_choice", points=4)
    add_choices(question, "Zom", "Flom", correct="B")
    login(client, instructor)
    response = client.post(reverse("admin:exams_exam_duplicate", args=[exam.pk]))
    copy = Exam.objects.exclude(pk=exam.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse("admin:exams_exam_change", args=[copy.pk])
    assert copy.title == "Midterm Exam (copy)" and not copy.published and copy.created_by == instructor
    assert Choice.objects.filter(question__exam=copy, is_correct=True).count() == 1


def test_duplicate_is_a_post_only_for_instructors(client: Client, exam: Exam, ta: User) -> None:
    url = reverse("admin:exams_exam_duplicate", args=[exam.pk])
    login(client, ta)
    assert client.post(url).status_code == 403
    assert client.get(url).status_code == 405
    assert Exam.objects.count() == 1


def test_duplicate_action_copies_only_authored_exams(
    client: Client, exam: Exam, instructor: User, other_course: Course
) -> None:
    login(client, instructor)
    response = client.post(
        reverse("admin:exams_exam_changelist"), {"action": "duplicate_exams", "_selected_action": [exam.pk]}
    )
    assert response.status_code == 302
    assert Exam.objects.filter(title="Midterm Exam (copy)").count() == 1


def test_exams_are_archived_never_deleted(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    assert client.get(reverse("admin:exams_exam_delete", args=[exam.pk])).status_code == 403
    changelist = client.get(reverse("admin:exams_exam_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    client.post(reverse("admin:exams_exam_changelist"), {"action": "archive_exams", "_selected_action": [exam.pk]})
    exam.refresh_from_db()
    assert exam.archived and Exam.objects.filter(pk=exam.pk).exists()


def test_questions_can_be_deleted_only_while_the_exam_is_unpublished(
    client: Client, exam: Exam, instructor: User
) -> None:
    first = add_question(section(exam, 1), kind="true_false", key={"value": True})
    second = add_question(section(exam, 1), kind="true_false", key={"value": False})
    login(client, instructor)
    response = client.post(reverse("admin:exams_question_delete", args=[first.pk]), {"post": "yes"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.number == "1.1"  # renumbered after the deletion
    exam.published = True
    exam.save()
    assert client.post(reverse("admin:exams_question_delete", args=[second.pk]), {"post": "yes"}).status_code == 403
    assert Question.objects.filter(pk=second.pk).exists()


# Who may do what


def test_ta_can_read_but_not_change(client: Client, exam: Exam, ta: User) -> None:
    question = add_question(section(exam, 1), kind="true_false", key={"value": True}, prompt="High train loss?")
    login(client, ta)
    assert client.get(reverse("admin:exams_exam_changelist")).status_code == 200
    page = client.get(reverse("admin:exams_exam_change", args=[exam.pk]))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert client.post(reverse("admin:exams_exam_change", args=[exam.pk]), {"title": "Renamed"}).status_code == 403
    question_page = client.get(reverse("admin:exams_question_change", args=[question.pk]))
    assert question_page.status_code == 200 and "High train loss?" in question_page.content.decode()
    data = question_form(exam, section(exam, 1), kind="true_false", true_false_key="false")
    assert client.post(reverse("admin:exams_question_change", args=[question.pk]), data).status_code == 403
    assert client.get(reverse("admin:exams_exam_add")).status_code == 403
    assert client.post(ADD_QUESTION, data).status_code == 403
    exam.refresh_from_db()
    question.refresh_from_db()
    assert exam.title == "Midterm Exam" and question.key == {"value": True}


def test_an_instructor_of_another_course_sees_nothing(
    client: Client, exam: Exam, other_instructor: User, other_course: Course
) -> None:
    question = add_question(section(exam, 1), kind="true_false", key={"value": True})
    theirs = ExamFactory.create(course=other_course, title="Final Exam")
    login(client, other_instructor)
    changelist = client.get(reverse("admin:exams_exam_changelist"))
    assert list(changelist.context["cl"].queryset) == [theirs]
    assert client.get(reverse("admin:exams_exam_change", args=[exam.pk])).status_code == 404
    assert client.post(reverse("admin:exams_exam_change", args=[exam.pk]), {"title": "x"}).status_code == 404
    assert client.get(reverse("admin:exams_question_change", args=[question.pk])).status_code == 404
    assert client.get(reverse("admin:exams_exam_export", args=[exam.pk])).status_code == 404
    assert client.post(reverse("admin:exams_exam_duplicate", args=[exam.pk])).status_code == 404
    questions = client.get(reverse("admin:exams_question_changelist"))
    assert list(questions.context["cl"].queryset) == []


def test_a_student_cannot_reach_the_admin(client: Client, exam: Exam, student: User) -> None:
    login(client, student)
    for url in (
        reverse("admin:index"),
        reverse("admin:exams_exam_changelist"),
        reverse("admin:exams_exam_change", args=[exam.pk]),
        ADD_QUESTION,
    ):
        response = client.get(url, follow=True)
        assert response.status_code == 403, url
        assert response.redirect_chain[0][0].startswith(reverse("admin:login"))


def test_a_visitor_is_sent_to_the_sites_login_page(client: Client) -> None:
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0] == f"{reverse('accounts:login')}?next=/admin/"


def test_course_staff_sign_in_once_for_the_site_and_the_admin(client: Client, instructor: User) -> None:
    login(client, instructor)
    response = client.get(reverse("admin:login") + "?next=/admin/exams/exam/")
    assert response.status_code == 302 and response["Location"] == "/admin/exams/exam/"
    assert client.get(reverse("admin:index")).status_code == 200


# The exam file: import and export (the format itself is tested with exams.examfile)


IMPORT = reverse("admin:exams_exam_import")
QUIZ = """---
title: Spring Quiz
---

# 1 True / False {2 points, 5 minutes, true_false, 2 points each}

## 1.1

High train loss is a sign of overfitting.

![Two models side by side.](figures/models.png)

- [ ] True
- [x] False
"""


def zip_of(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(client: Client, course: Course, name: str, data: bytes | str) -> Any:
    content = data.encode() if isinstance(data, str) else data
    return client.post(IMPORT, {"course": course.pk, "exam_file": SimpleUploadedFile(name, content)})


def test_import_a_zip_of_an_exam_file_with_its_figures(client: Client, course: Course, instructor: User) -> None:
    login(client, instructor)
    archive = zip_of(
        {
            "quiz/quiz.md": QUIZ,
            "quiz/figures/models.png": png_bytes(),
            "__MACOSX/quiz/._quiz.md": b"resource fork",
        }
    )
    response = upload(client, course, "quiz.zip", archive)
    exam = Exam.objects.get(title="Spring Quiz")
    assert response.status_code == 302 and response["Location"] == reverse("admin:exams_exam_change", args=[exam.pk])
    assert exam.course == course and exam.created_by == instructor and not exam.published
    question = exam.questions.get()
    assert (question.number, question.kind, question.key) == ("1.1", "true_false", {"value": False})
    assert question.figures.get().alt_text == "Two models side by side."


def test_import_the_seed_exam_and_preview_it_without_its_key(client: Client, course: Course, instructor: User) -> None:
    seed = Path(settings_module.BASE_DIR) / "exams" / "seed"
    entries: dict[str, bytes | str] = {
        "midterm/cse493g1-sp23-midterm.md": (seed / "cse493g1-sp23-midterm.md").read_text()
    }
    for figure in (seed / "figures").iterdir():
        entries[f"midterm/figures/{figure.name}"] = figure.read_bytes()
    login(client, instructor)
    response = upload(client, course, "midterm.zip", zip_of(entries))
    assert response.status_code == 302, response.context and response.context["file_errors"]
    exam = Exam.objects.get(course=course)
    assert exam.questions.filter(kind="grid").exists() and exam.figures.count() == len(entries) - 1
    html = client.get(reverse("exams:preview", args=[exam.pk])).content.decode()
    assert "If Model A has a lower test loss on a dataset than Model B" in html
    assert "Loss and accuracy need not move together" not in html  # 1.1's solution


def test_import_shows_every_error_of_the_file_with_its_line(client: Client, course: Course, instructor: User) -> None:
    login(client, instructor)
    broken = QUIZ.replace("title: Spring Quiz", "title: Spring Quiz\ncolour: red").replace("## 1.1", "## 1.1 {essay}")
    response = upload(client, course, "quiz.md", broken)
    assert response.status_code == 200
    html = response.content.decode()
    assert "quiz.md was not imported" in html
    assert "<strong>Line 3:</strong> Unknown front-matter key &#x27;colour&#x27;" in html
    heading = broken.splitlines().index("## 1.1 {essay}") + 1
    assert f"<strong>Line {heading}:</strong> Unknown question attribute &#x27;essay&#x27;" in html
    assert not Exam.objects.exists()


def test_a_missing_figure_is_reported_not_imported(client: Client, course: Course, instructor: User) -> None:
    login(client, instructor)
    response = upload(client, course, "quiz.md", QUIZ)  # the figure is not in the upload
    assert response.status_code == 200
    figure_line = QUIZ.splitlines().index("![Two models side by side.](figures/models.png)") + 1
    assert [line for line, _ in response.context["file_errors"]] == [figure_line]
    assert not Exam.objects.exists()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"figures/a.png": b"x"}, "exactly one .md exam file; it holds none"),
        ({"a.md": b"# A", "b.md": b"# B"}, "exactly one .md exam file; it holds a.md, b.md"),
        ({"exam/a.md": b"# A", "other/b.png": b"x"}, "other/b.png is outside the folder of exam/a.md"),
        ({"../a.md": b"# A"}, "points outside the archive"),
        ({"a.md": "# Caf\xe9".encode("latin-1")}, "a.md is not UTF-8 text"),
    ],
)
def test_a_bad_zip_is_refused_with_a_clear_message(
    client: Client, course: Course, instructor: User, entries: dict[str, bytes | str], message: str
) -> None:
    login(client, instructor)
    response = upload(client, course, "exam.zip", zip_of(entries))
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors["exam_file"])
    assert not Exam.objects.exists()


def test_import_only_into_a_course_the_user_teaches(
    client: Client, other_course: Course, instructor: User, ta: User
) -> None:
    login(client, instructor)
    response = upload(client, other_course, "quiz.md", QUIZ)
    assert "course" in response.context["form"].errors
    assert not Exam.objects.exists()
    login(client, ta)
    assert client.get(IMPORT).status_code == 403


def test_the_import_page_is_linked_from_the_exam_list(client: Client, instructor: User) -> None:
    login(client, instructor)
    assert IMPORT in client.get(reverse("admin:exams_exam_changelist")).content.decode()


def test_export_downloads_the_exam_file(client: Client, exam: Exam, ta: User) -> None:
    add_question(section(exam, 1), kind="true_false", key={"value": False}, prompt="High train loss?")
    login(client, ta)  # reading the key is enough to export it
    response = client.get(reverse("admin:exams_exam_export", args=[exam.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cse493g1-sp23-midterm-exam.md"'
    text = response.content.decode()
    assert text.startswith("---\ntitle: Midterm Exam\n") and "High train loss?" in text


def test_an_exported_zip_imports_back(client: Client, course: Course, instructor: User) -> None:
    login(client, instructor)
    upload(client, course, "quiz.zip", zip_of({"quiz.md": QUIZ, "figures/models.png": png_bytes()}))
    exam = Exam.objects.get()
    response = client.get(reverse("admin:exams_exam_export", args=[exam.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="cse493g1-sp23-spring-quiz.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == [
            "cse493g1-sp23-spring-quiz/cse493g1-sp23-spring-quiz.md",
            "cse493g1-sp23-spring-quiz/figures/1.1-1.png",
        ]
    assert upload(client, course, "again.zip", response.content).status_code == 302
    copy = Exam.objects.exclude(pk=exam.pk).get()
    assert copy.title == "Spring Quiz" and copy.figures.count() == 1


# The live preview's endpoint


MARKDOWN_PREVIEW = reverse("exams:markdown_preview")


def test_markdown_preview_renders_for_course_staff(client: Client, ta: User) -> None:
    login(client, ta)
    response = client.post(MARKDOWN_PREVIEW, {"text": "Loss $\\mathcal{L}$ <script>x</script>"})
    assert response.status_code == 200
    html = response.json()["html"]
    assert '<span class="math" data-math="inline">\\mathcal{L}</span>' in html
    assert "<script>" not in html


def test_markdown_preview_refuses_students_visitors_and_gets(client: Client, student: User) -> None:
    assert client.post(MARKDOWN_PREVIEW, {"text": "x"}).status_code == 403
    login(client, student)
    assert client.post(MARKDOWN_PREVIEW, {"text": "x"}).status_code == 403
    assert client.get(MARKDOWN_PREVIEW).status_code == 405


def test_markdown_preview_needs_the_csrf_token(instructor: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(instructor)
    assert client.post(MARKDOWN_PREVIEW, {"text": "x"}).status_code == 403


def test_the_authoring_pages_load_the_preview_module(client: Client, exam: Exam, instructor: User) -> None:
    login(client, instructor)
    html = client.get(ADD_QUESTION).content.decode()
    assert re.search(r'<script src="/static/exams/admin_preview.js"[^>]* type="module">', html)
    assert f'data-markdown-preview="{MARKDOWN_PREVIEW}"' in html
