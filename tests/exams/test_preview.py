"""Preview as student: the whole paper, a disabled widget per kind, and no answer key anywhere."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import Course, User
from exams.models import Exam, Figure, Question
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question
from tests.images import png_bytes

# Planted in every field that carries an answer key; none may reach the page.
KEY_MARKERS = {
    "model_answer": "MODELANSWER-7f3a",
    "description": "SKETCHKEY-91bd",
    "expression": "31415926",
    "numeric": "98765.4321",
    "solution": "SOLUTIONTEXT-c0de",
    "policy_params": "0.777",
}


@pytest.fixture(autouse=True)
def media_root(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(
        course=course,
        title="Midterm Exam",
        exam_date=datetime.date(2023, 5, 4),
        duration_minutes=80,
        instructions="- No electronic devices are allowed.\n- One handwritten cheat sheet is allowed.",
        access_code="ROOM-CODE-SECRET",
    )
    tf = SectionFactory.create(
        exam=exam, number=1, title="True / False", recommended_minutes=10, instructions="Fill in *True* or *False*."
    )
    mc = SectionFactory.create(exam=exam, number=2, title="Multiple Choices", recommended_minutes=25)
    sa = SectionFactory.create(exam=exam, number=3, title="Short Answers", recommended_minutes=45)
    add_question(
        tf,
        kind="true_false",
        points=2,
        key={"value": True},
        prompt="Consider a layer $\\mathbf{W}$ before a ReLU.",
        solution=KEY_MARKERS["solution"],
        policy="negative_marking",
        policy_params={"wrong": -0.777},
    )
    ms = add_question(mc, kind="multiple_select", points=4, prompt="Which statements about $K=1$ hold?")
    add_choices(ms, "A linear SVM fits the train set", "KNN with $K=1$ wins", "None of the above", correct="AB")
    net = add_question(sa, kind="group", points=0, title="Two layer network", prompt="Classes Zom, Flom or Nom.")
    run = add_question(sa, kind="single_choice", points=3, parent=net, prompt="Bip = 0, Bop = 1, Beep = 1?")
    add_choices(run, "Zom", "Flom", "Nom", correct="B")
    add_question(
        sa,
        kind="sketch",
        points=9,
        parent=net,
        prompt="Plot the Zom score.",
        config={"x_label": "Bip value", "y_label": "Zom score", "x_min": -3, "x_max": 3},
        key={"description": KEY_MARKERS["description"]},
    )
    add_question(
        sa,
        kind="grid",
        points=3,
        parent=net,
        extra_credit=True,
        prompt="Fill in the **sign** of each element.",
        config={
            "rows": 2,
            "cols": 3,
            "symbols": ["+", "-", "0"],
            "beside": [[0, -1, -1], [1, 1, -1]],
            "beside_label": "$W_1$",
            "grid_label": "$\\text{sign}(dL/dW_1)$",
        },
        key={"cells": [["0", "+", "-"], ["-", "0", "+"]]},
    )
    add_question(
        sa,
        kind="short_answer",
        points=2,
        prompt="Is the network untrained?",
        config={"parts": ["a", "b"]},
        key={"model_answer": KEY_MARKERS["model_answer"]},
    )
    add_question(
        sa,
        kind="expression",
        points=3,
        prompt="Euclidean distance in terms of $D_C$.",
        config={"variables": ["D_C"]},
        key={"expression": f"sqrt(2 - 2*D_C) + 0*{KEY_MARKERS['expression']}"},
    )
    numeric = add_question(
        sa,
        kind="numeric",
        points=1,
        prompt="How many parameters?",
        config={"unit": "params"},
        key={"value": float(KEY_MARKERS["numeric"]), "tolerance": 0.5},
    )
    figure = Figure(exam=exam, question=numeric, alt_text="Model 1 and Model 2", caption="Two models")
    figure.image.save("models.png", ContentFile(png_bytes()), save=True)
    return exam


def preview(client: Client, user: User, exam: Exam) -> str:
    client.force_login(user)
    response = client.get(reverse("exams:preview", args=[exam.pk]))
    assert response.status_code == 200
    return response.content.decode()


def question(exam: Exam, kind: str) -> Question:
    return Question.objects.get(exam=exam, kind=kind)


def test_the_preview_holds_no_answer_key(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    for field, marker in KEY_MARKERS.items():
        assert marker not in html, f"the {field} key leaked into the preview"
    assert "correct" not in html.lower()  # no is_correct, no "correct" class or attribute on choices
    assert "ROOM-CODE-SECRET" not in html  # the access code is asked for, never shown


def test_the_preview_shows_prompts_choices_figures_and_math(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    assert "Consider a layer" in html and "Which statements about" in html
    assert "A linear SVM fits the train set" in html and "None of the above" in html
    assert '<span class="math" data-math="inline">\\mathbf{W}</span>' in html
    assert '<span class="math" data-math="inline">K=1</span>' in html  # in a choice
    figure = Figure.objects.get(exam=exam)
    assert f'<img src="{figure.image.url}" alt="Model 1 and Model 2">' in html
    assert "<figcaption>Two models</figcaption>" in html
    assert "Preview as student." in html  # the banner


def test_the_cover_page(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    assert "CSE 493 G1 / 599 G1 Deep Learning" in html
    assert '<h1 id="paper-title">Midterm Exam</h1>' in html
    assert "Spring 2023" in html and "May 4, 2023" in html and "80 minutes" in html
    assert re.search(r"1 True / False</a></th>\s*<td>2</td>\s*<td>10 minutes</td>", html)
    assert re.search(r"3 Short Answers</a></th>\s*<td>18 \+ 3 extra credit</td>\s*<td>45 minutes</td>", html)
    assert re.search(r"Total</th>\s*<td>24</td>", html)
    assert "There is a potential for 3 points of extra credit" in html
    assert "No electronic devices are allowed." in html
    assert 'name="full_name"' in html and 'name="net_id"' in html
    assert "uphold the University of Washington Honor Code" in html
    assert 'name="signature"' in html and 'name="access_code"' in html


def test_no_access_code_field_when_the_exam_has_none(client: Client, exam: Exam, instructor: User) -> None:
    exam.access_code = ""
    exam.save()
    assert 'name="access_code"' not in preview(client, instructor, exam)


def test_sections_show_instructions_points_and_minutes(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    assert '<h2 id="section-1-title">1 True / False</h2>' in html
    assert "Fill in <em>True</em> or <em>False</em>." in html
    assert "2 points · recommended 10 minutes" in html
    assert "18 points + 3 extra credit · recommended 45 minutes" in html


def test_questions_are_numbered_and_nested(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    assert re.search(
        r'<h3 class="paper-question-heading" id="q\d+-heading">\s*<span class="paper-number">3.1</span>', html
    )
    assert re.search(
        r'<h4 class="paper-question-heading" id="q\d+-heading">\s*<span class="paper-number">3.1.3</span>', html
    )
    assert "(3 points, extra credit)" in html


def test_every_widget_is_disabled(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    fieldsets = re.findall(r'<fieldset class="answer [^"]*"[^>]*>', html)
    assert len(fieldsets) == 8 and all(" disabled" in tag for tag in fieldsets)
    cover = re.findall(r'<fieldset class="paper-[^"]*"[^>]*>', html)
    assert len(cover) == 3 and all(" disabled" in tag for tag in cover)


def test_true_false_has_an_explicit_blank(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    q = question(exam, "true_false").pk
    for value in ("true", "false", ""):
        assert f'type="radio" name="q{q}" id="q{q}-{value or "blank"}" value="{value}"' in html
    assert f'<label class="form-check-label" for="q{q}-blank">Leave blank</label>' in html


def test_single_choice_has_radios_and_a_clear(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    q = question(exam, "single_choice").pk
    for label in "ABC":
        assert f'type="radio" name="q{q}" id="q{q}-{label}" value="{label}"' in html
    assert f'id="q{q}-blank" value=""' in html and "clears your choice" in html


def test_multiple_select_has_checkboxes(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    q = question(exam, "multiple_select").pk
    for label in "ABC":
        assert f'type="checkbox" name="q{q}" id="q{q}-{label}" value="{label}"' in html
    assert "Choose all that apply." in html


def test_short_answer_has_a_textarea_per_part(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    q = question(exam, "short_answer").pk
    for part in "ab":
        assert f'<label class="form-label" for="q{q}-{part}">({part})</label>' in html
        assert f'name="q{q}-{part}"' in html


def test_numeric_and_expression_inputs(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    numeric, expression = question(exam, "numeric").pk, question(exam, "expression").pk
    assert re.search(rf'<input [^>]*inputmode="decimal"[^>]*name="q{numeric}"', html)
    assert f'<span class="input-group-text" id="q{numeric}-unit">params</span>' in html
    assert re.search(rf'<input class="form-control answer-formula"[^>]*name="q{expression}"', html)
    assert "In terms of <code>D_C</code>" in html


def test_grid_has_a_select_per_cell_beside_its_matrix(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    q = question(exam, "grid").pk
    for row in range(2):
        for col in range(3):
            assert f'name="q{q}-r{row}-c{col}"' in html
    assert html.count('<option value="+">+</option>') == 6
    assert re.search(r'<caption><span class="math[^"]*">(<span class="math" data-math="inline">)?W_1</span>', html)
    assert "<tr><td>0</td><td>-1</td><td>-1</td></tr>" in html


def test_sketch_shows_labelled_axes(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    q = question(exam, "sketch").pk
    assert f'aria-labelledby="q{q}-axes-title"' in html
    assert "Empty axes: Zom score from -5 to 5 (vertical) against Bip value from -3 to 3 (horizontal)" in html
    assert re.search(r'<text [^>]*text-anchor="middle">Bip value</text>', html)
    assert re.search(r'<text [^>]*transform="rotate\(-90 [^"]*\)">Zom score</text>', html)
    assert f'<input type="hidden" name="q{q}" value="">' in html


def test_no_inline_script_or_style(client: Client, exam: Exam, instructor: User) -> None:
    html = preview(client, instructor, exam)
    assert " style=" not in html and "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert " src=" in tag


def test_a_ta_may_preview(client: Client, exam: Exam, ta: User) -> None:
    preview(client, ta, exam)


def test_a_student_cannot_preview(client: Client, exam: Exam, student: User) -> None:
    client.force_login(student)
    assert client.get(reverse("exams:preview", args=[exam.pk])).status_code == 404


def test_an_instructor_of_another_course_cannot_preview(client: Client, exam: Exam, other_instructor: User) -> None:
    client.force_login(other_instructor)
    assert client.get(reverse("exams:preview", args=[exam.pk])).status_code == 404


def test_a_visitor_is_asked_to_sign_in(client: Client, exam: Exam) -> None:
    response = client.get(reverse("exams:preview", args=[exam.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_the_question_page_links_to_its_place_in_the_preview(client: Client, exam: Exam, instructor: User) -> None:
    client.force_login(instructor)
    q = question(exam, "grid")
    html = client.get(reverse("admin:exams_question_change", args=[q.pk])).content.decode()
    assert f'href="{reverse("exams:preview", args=[exam.pk])}#q{q.pk}"' in html
