"""Questions with their choices and keys through the API: validation by kind, the tree, numbering."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Course, Role, User
from exams.models import Choice, Exam, Question, Section
from tests.api.conftest import ClientFor
from tests.factories import member

pytestmark = pytest.mark.django_db

GRID_CONFIG = {"rows": 2, "cols": 2, "symbols": ["+", "-", "0"]}


def section(exam: Exam, number: int) -> Section:
    return exam.sections.get(number=number)


def question(exam: Exam, number: str) -> Question:
    return Question.objects.get(exam=exam, number=number)


def numbers(exam: Exam) -> dict[str, str]:
    """Question number → title or prompt, for readable assertions about the tree."""
    return {q.number: q.title or q.prompt for q in Question.objects.filter(exam=exam)}


def choose_all(exam: Exam, **overrides: Any) -> dict[str, Any]:
    return {
        "section": section(exam, 2).pk,
        "kind": "multiple_select",
        "points": "4",
        "prompt": "Which layers have parameters?",
        "choices": [
            {"label": "A", "text": "Convolution", "is_correct": True},
            {"label": "B", "text": "Max pooling", "is_correct": False},
            {"label": "C", "text": "Batch norm", "is_correct": True},
        ],
        **overrides,
    }


def test_list_and_retrieve_include_keys_and_choices(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client = client_for(instructor)
    response = client.get(f"/api/questions/?exam={exam.pk}")
    assert response.status_code == 200
    rows = {row["number"]: row for row in response.json()["results"]}
    assert set(rows) == {"1.1", "1.2", "2.1", "2.2", "2.2.1"}
    assert rows["1.1"]["key"] == {"value": True}
    assert rows["1.1"]["policy"] == "negative_marking"
    assert [(c["label"], c["is_correct"]) for c in rows["2.1"]["choices"]] == [("A", True), ("B", False), ("C", True)]
    assert rows["2.2.1"]["parent"] == rows["2.2"]["id"]
    detail = client.get(f"/api/questions/{rows['2.2.1']['id']}/").json()
    assert detail["key"] == {"cells": [["+", "0"]]}
    assert detail["config"]["symbols"] == ["+", "-", "0"]
    by_section = client.get(f"/api/questions/?section={section(exam, 1).pk}").json()["results"]
    assert [row["number"] for row in by_section] == ["1.1", "1.2"]


def test_create_true_false_goes_last_and_is_numbered(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).post(
        "/api/questions/",
        {"section": section(exam, 1).pk, "kind": "true_false", "points": 2, "key": {"value": False}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["position"], body["exam"]) == ("1.3", 3, exam.pk)
    assert body["policy"] == "negative_marking"
    assert body["policy_params"] == {"wrong": -1, "blank": 0}  # normalised by the kind
    assert question(exam, "1.3").key == {"value": False}


def test_create_multiple_select_with_choices(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).post("/api/questions/", choose_all(exam, position=1), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == "2.1"  # position 1 puts it first; the old 2.1 moves down
    assert [(c["position"], c["label"], c["is_correct"]) for c in body["choices"]] == [
        (1, "A", True),
        (2, "B", False),
        (3, "C", True),
    ]
    assert numbers(exam)["2.2"] == "Which are activations?"
    created = Question.objects.get(pk=body["id"])
    assert created.key == {}  # a choice kind keeps its key on the choices
    assert list(created.choices.filter(is_correct=True).values_list("label", flat=True)) == ["A", "C"]


def test_multiple_select_without_a_correct_choice_is_refused(
    client_for: ClientFor, instructor: User, exam: Exam
) -> None:
    payload = choose_all(exam)
    for choice in payload["choices"]:
        choice["is_correct"] = False
    response = client_for(instructor).post("/api/questions/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"key": ["A multiple_select question needs at least one correct choice."]}
    assert not Question.objects.filter(prompt="Which layers have parameters?").exists()


def test_choice_labels_must_be_unique(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    payload = choose_all(exam)
    payload["choices"][2]["label"] = "A"
    response = client_for(instructor).post("/api/questions/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"choices": ["Choice labels must be unique; got A, B, A."]}


def test_grid_key_must_match_the_grid(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).post(
        "/api/questions/",
        {
            "section": section(exam, 2).pk,
            "kind": "grid",
            "points": 3,
            "config": GRID_CONFIG,
            "key": {"cells": [["+", "-", "0"], ["0", "0", "0"]]},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"key": ["The grid key must be 2 rows × 2 columns, matching the grid."]}


def test_several_problems_are_reported_together(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).post(
        "/api/questions/",
        {
            "section": section(exam, 1).pk,
            "kind": "true_false",
            "policy": "per_cell",
            "config": {"unit": "ms"},
            "key": {"value": "yes"},
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["policy"] == [
        "A true_false question is scored by negative_marking or all_or_nothing, not 'per_cell'."
    ]
    assert errors["config"] == ["A true_false question has no setting unit (settings: none)."]


def test_unknown_kind_and_non_object_key(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client = client_for(instructor)
    response = client.post("/api/questions/", {"section": section(exam, 1).pk, "kind": "essay"}, format="json")
    assert response.status_code == 400
    assert "essay" in response.json()["kind"][0]
    response = client.post(
        "/api/questions/", {"section": section(exam, 1).pk, "kind": "true_false", "key": [True]}, format="json"
    )
    assert response.status_code == 400
    assert "key" in response.json()


def test_sub_question_takes_its_parents_section(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    group = question(exam, "2.2")
    response = client_for(instructor).post(
        "/api/questions/",
        {"parent": group.pk, "kind": "numeric", "points": 1, "key": {"value": 0.5, "tolerance": 0.01}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["section"]) == ("2.2.2", section(exam, 2).pk)


def test_only_a_group_has_sub_questions(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client = client_for(instructor)
    true_false = question(exam, "1.1")
    response = client.post(
        "/api/questions/", {"parent": true_false.pk, "kind": "true_false", "key": {"value": True}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"parent": ["Only a group can have sub-questions; 1.1 is a true_false."]}
    group = question(exam, "2.2")
    response = client.patch(f"/api/questions/{group.pk}/", {"kind": "short_answer"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"kind": ["Question 2.2 has sub-questions, so it stays a group."]}


def test_a_question_cannot_go_inside_itself(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client = client_for(instructor)
    outer = question(exam, "2.2")
    inner = client.post("/api/questions/", {"parent": outer.pk, "kind": "group"}, format="json").json()
    response = client.patch(f"/api/questions/{outer.pk}/", {"parent": inner["id"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"parent": ["A question cannot be inside itself."]}


def test_update_replaces_choices_by_label(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    activations = question(exam, "2.1")
    relu_id = activations.choices.get(label="A").pk
    response = client_for(instructor).patch(
        f"/api/questions/{activations.pk}/",
        {
            "choices": [
                {"label": "C", "text": "Tanh", "is_correct": True},
                {"label": "A", "text": "ReLU", "is_correct": False},
                {"label": "D", "text": "GELU", "is_correct": True},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [(c["label"], c["position"], c["is_correct"]) for c in response.json()["choices"]] == [
        ("C", 1, True),
        ("A", 2, False),
        ("D", 3, True),
    ]
    assert activations.choices.get(label="A").pk == relu_id  # matched by label, not recreated
    assert not activations.choices.filter(label="B").exists()


def test_update_without_choices_keeps_them(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    activations = question(exam, "2.1")
    response = client_for(instructor).patch(
        f"/api/questions/{activations.pk}/", {"points": "6", "policy": "all_or_nothing"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert len(response.json()["choices"]) == 3
    activations.refresh_from_db()
    assert (str(activations.points), activations.policy) == ("6.00", "all_or_nothing")


def test_changing_a_question_is_validated_with_its_current_choices(
    client_for: ClientFor, instructor: User, exam: Exam
) -> None:
    activations = question(exam, "2.1")
    response = client_for(instructor).patch(
        f"/api/questions/{activations.pk}/", {"kind": "single_choice"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"key": ["A single_choice question needs exactly one correct choice; 2 are marked."]}


def test_put_replaces_the_question(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    client = client_for(instructor)
    first = question(exam, "1.1")
    body = client.get(f"/api/questions/{first.pk}/").json()
    body.update(key={"value": False}, prompt="Validation loss is high.")
    response = client.put(f"/api/questions/{first.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    first.refresh_from_db()
    assert (first.key, first.prompt, first.number) == ({"value": False}, "Validation loss is high.", "1.1")


def test_reordering_renumbers(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    first, second = question(exam, "1.1"), question(exam, "1.2")
    response = client_for(instructor).patch(f"/api/questions/{first.pk}/", {"position": 3}, format="json")
    assert response.json()["number"] == "1.2"
    second.refresh_from_db()
    assert second.number == "1.1"


def test_moving_a_group_moves_its_sub_questions(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    group = question(exam, "2.2")
    response = client_for(instructor).patch(
        f"/api/questions/{group.pk}/", {"section": section(exam, 1).pk}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["number"] == "1.3"
    child = Question.objects.get(parent=group)
    assert (child.section_id, child.number) == (section(exam, 1).pk, "1.3.1")


def test_a_question_stays_in_its_exam(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    other = Exam.objects.create(course=exam.course, title="Quiz")
    elsewhere = Section.objects.create(exam=other, number=1, title="All")
    response = client_for(instructor).patch(
        f"/api/questions/{question(exam, '1.1').pk}/", {"section": elsewhere.pk}, format="json"
    )
    assert response.status_code == 400
    assert "stays in its exam" in response.json()["section"][0]


def test_references_outside_the_users_courses_do_not_exist(
    client_for: ClientFor, instructor: User, exam: Exam, other_exam: Exam
) -> None:
    foreign_section = other_exam.sections.get()
    response = client_for(instructor).post(
        "/api/questions/",
        {"section": foreign_section.pk, "kind": "true_false", "key": {"value": True}},
        format="json",
    )
    assert response.status_code == 400
    assert "does not exist" in response.json()["section"][0]


def test_writing_into_a_course_the_user_only_assists_is_forbidden(
    client_for: ClientFor, instructor: User, other_exam: Exam, other_course: Course
) -> None:
    member(instructor, other_course, Role.TA)
    client = client_for(instructor)
    response = client.post(
        "/api/questions/",
        {"section": other_exam.sections.get().pk, "kind": "true_false", "key": {"value": True}},
        format="json",
    )
    assert response.status_code == 403
    foreign = other_exam.questions.get()
    assert client.get(f"/api/questions/{foreign.pk}/").status_code == 200
    assert client.patch(f"/api/questions/{foreign.pk}/", {"points": 5}, format="json").status_code == 403


def test_delete_renumbers_the_rest(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).delete(f"/api/questions/{question(exam, '1.1').pk}/")
    assert response.status_code == 204
    assert sorted(numbers(exam)) == ["1.1", "2.1", "2.2", "2.2.1"]
    assert numbers(exam)["1.1"] == ""  # the former 1.2, which has no prompt


def test_deleting_a_group_deletes_its_sub_questions(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    response = client_for(instructor).delete(f"/api/questions/{question(exam, '2.2').pk}/")
    assert response.status_code == 204
    assert sorted(numbers(exam)) == ["1.1", "1.2", "2.1"]


def test_published_exam_keeps_its_questions_and_choices(client_for: ClientFor, instructor: User, exam: Exam) -> None:
    exam.published = True
    exam.save()
    client = client_for(instructor)
    activations = question(exam, "2.1")
    response = client.delete(f"/api/questions/{activations.pk}/")
    assert response.status_code == 403
    assert "never removed" in response.json()["detail"]
    dropping_b = [
        {"label": "A", "text": "ReLU", "is_correct": True},
        {"label": "C", "text": "Tanh", "is_correct": True},
    ]
    response = client.patch(f"/api/questions/{activations.pk}/", {"choices": dropping_b}, format="json")
    assert response.status_code == 403
    assert activations.choices.count() == 3
    # Fixing the key of a published exam is allowed: nothing is removed.
    fixed_key = [*dropping_b, {"label": "B", "text": "Softmax loss", "is_correct": True}]
    response = client.patch(f"/api/questions/{activations.pk}/", {"choices": fixed_key}, format="json")
    assert response.status_code == 200, response.json()
    assert Choice.objects.filter(question=activations, is_correct=True).count() == 3
