"""Editing a rubric: adding items with shortcuts, reordering, settings re-applied to graded
answers, and the rubric page (edit with re-application, moves, the delete confirmation, access)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Exam, Sitting
from grading.models import AnswerScore, Evaluation, GradeEvent, Rubric, RubricItem, SittingResult
from grading.review import (
    evaluation_next,
    evaluation_save,
    rubric_for,
    rubric_item_add,
    rubric_items_reorder,
    rubric_settings_update,
)
from tests.factories import ExamFactory, SectionFactory, add_question
from tests.grading.sat_exam import q, score, sit

pytestmark = pytest.mark.django_db


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, published=True)
    section = SectionFactory.create(exam=exam, number=1, title="Short answers")
    add_question(section, kind="short_answer", points=4, key={"model_answer": "Normalise the batch."})
    add_question(section, kind="true_false", points=2, key={"value": True})
    return exam


@pytest.fixture
def sittings(exam: Exam) -> list[Sitting]:
    made = [sit(exam, f"s{index}", {"1.1": f"Answer {index}", "1.2": True}) for index in range(4)]
    score(exam)
    return made


@pytest.fixture
def rubric(exam: Exam) -> Rubric:
    return rubric_for(q(exam, "1.1"))


def add(rubric: Rubric, points: str, description: str, shortcut: str = "") -> RubricItem:
    return rubric_item_add(rubric=rubric, points=Decimal(points), description=description, shortcut=shortcut)


def grade_all(exam: Exam, grader: User, chosen: list[RubricItem]) -> list[Evaluation]:
    graded = []
    while (evaluation := evaluation_next(question_id=q(exam, "1.1").pk, grader=grader, now=timezone.now())) is not None:
        graded.append(
            evaluation_save(
                evaluation_id=evaluation.pk,
                grader=grader,
                item_ids=[item.pk for item in chosen],
                adjustment=Decimal(0),
                comment="",
                version=evaluation.version,
                now=timezone.now(),
            )
        )
    return graded


def points_of(exam: Exam) -> set[Decimal]:
    return set(AnswerScore.objects.filter(question=q(exam, "1.1")).values_list("points", flat=True))


# --- the domain functions --------------------------------------------------------------------------


def test_new_items_get_the_digit_of_their_position_unless_given_a_key(rubric: Rubric) -> None:
    units = add(rubric, "-1", "Missing units")
    sign = add(rubric, "-0.5", "Sign error", shortcut="s")
    third = add(rubric, "-2", "No justification")
    assert [(item.position, item.shortcut) for item in (units, sign, third)] == [(1, "1"), (2, "s"), (3, "3")]


def test_a_default_digit_held_by_another_item_gives_the_first_free_one(rubric: Rubric) -> None:
    add(rubric, "-1", "Holds two", shortcut="2")
    assert add(rubric, "-1", "Second").shortcut == "1"  # position 2, whose digit is taken
    for index in range(8):
        add(rubric, "-1", f"Filler {index}")
    assert sorted(rubric.items.values_list("shortcut", flat=True)) == sorted("1234567890")
    assert add(rubric, "-1", "Eleventh").shortcut == ""  # every digit is taken: no key


@pytest.mark.parametrize(
    ("shortcut", "message"),
    [
        ("M", "“M” is already the shortcut of “Missing units”"),  # keys ignore case
        ("ab", "A shortcut is one key: a single letter or digit"),
        ("?", "A shortcut is one key: a single letter or digit"),
    ],
)
def test_a_shortcut_is_one_letter_or_digit_unique_in_the_rubric(rubric: Rubric, shortcut: str, message: str) -> None:
    add(rubric, "-1", "Missing units", shortcut="m")
    with pytest.raises(ValidationError) as refused:
        add(rubric, "-1", "Other", shortcut=shortcut)
    assert message in refused.value.message_dict["shortcut"][0]
    assert rubric.items.count() == 1


def test_a_deleted_items_shortcut_is_free_again(rubric: Rubric, ta: User) -> None:
    from grading.review import rubric_item_delete

    item = add(rubric, "-1", "Missing units", shortcut="m")
    rubric_item_delete(item=item, actor=ta, now=timezone.now(), confirmed=False)
    assert add(rubric, "-1", "Units again", shortcut="m").shortcut == "m"


def test_reordering_sets_positions_and_keeps_shortcuts(rubric: Rubric) -> None:
    first, second, third = (add(rubric, "-1", name) for name in ("First", "Second", "Third"))
    rubric_items_reorder(rubric=rubric, item_ids=[third.pk, first.pk, second.pk])
    assert list(rubric.items.order_by("position").values_list("description", "position", "shortcut")) == [
        ("Third", 1, "3"),
        ("First", 2, "1"),
        ("Second", 3, "2"),
    ]
    with pytest.raises(ValidationError, match="every item of the rubric exactly once"):
        rubric_items_reorder(rubric=rubric, item_ids=[third.pk, first.pk])


def test_changing_the_settings_reapplies_every_graded_answer(
    exam: Exam, sittings: list[Sitting], rubric: Rubric, ta: User
) -> None:
    units = add(rubric, "-1", "Missing units")
    grade_all(exam, ta, [units])
    assert points_of(exam) == {3}

    # From zero up: 0 − 1 = −1, floored at 0.
    changed = rubric_settings_update(
        rubric=rubric, mode="add", floor_at_zero=True, cap_at_max=True, actor=ta, now=timezone.now()
    )
    assert changed == 4 and points_of(exam) == {0}
    events = GradeEvent.objects.filter(source="rubric_edit")
    assert events.count() == 4 and {(e.old_points, e.new_points, e.actor) for e in events} == {(3, 0, ta)}
    assert events[0].reason == "Rubric settings changed: mode deduct → add"
    assert {row.explanation for row in AnswerScore.objects.filter(question=q(exam, "1.1"))} == {
        "0 −1 Missing units = −1, floored at 0"
    }
    for sitting in sittings:  # totals follow: 0 here + 2 for the true/false
        assert SittingResult.objects.get(sitting=sitting).points == 2

    assert (
        rubric_settings_update(
            rubric=rubric, mode="add", floor_at_zero=False, cap_at_max=True, actor=ta, now=timezone.now()
        )
        == 4
    )
    assert points_of(exam) == {-1}
    latest = GradeEvent.objects.filter(source="rubric_edit").last()
    assert latest is not None and latest.reason == "Rubric settings changed: floor at 0 on → off"

    unchanged = rubric_settings_update(
        rubric=rubric, mode="add", floor_at_zero=False, cap_at_max=True, actor=ta, now=timezone.now()
    )
    assert unchanged == 0 and GradeEvent.objects.filter(source="rubric_edit").count() == 8
    with pytest.raises(ValidationError):
        rubric_settings_update(
            rubric=rubric, mode="sideways", floor_at_zero=True, cap_at_max=True, actor=ta, now=timezone.now()
        )


# --- the page ----------------------------------------------------------------------------------------


def rubric_url(exam: Exam) -> str:
    return reverse("grading:rubric", args=[q(exam, "1.1").pk])


def post(client: Client, exam: Exam, **data: object) -> Any:
    return client.post(rubric_url(exam), {key.replace("__", "-"): value for key, value in data.items()})


def test_course_staff_open_the_rubric_others_get_404(
    client: Client, exam: Exam, rubric: Rubric, ta: User, instructor: User, student: User, other_instructor: User
) -> None:
    add(rubric, "-1", "Missing units")
    for user in (ta, instructor):
        client.force_login(user)
        response = client.get(rubric_url(exam))
        assert response.status_code == 200 and "Missing units" in response.content.decode()
    for user in (student, other_instructor):
        client.force_login(user)
        assert client.get(rubric_url(exam)).status_code == 404
        assert post(client, exam, action="add", new__points="-1", new__description="Sneaky").status_code == 404
    assert rubric.items.count() == 1
    client.logout()
    assert client.get(rubric_url(exam)).status_code == 302  # to the login page


def test_the_page_holds_under_the_strict_csp(client: Client, exam: Exam, rubric: Rubric, ta: User) -> None:
    add(rubric, "-1", "Missing units", shortcut="m")
    client.force_login(ta)
    html = client.get(rubric_url(exam)).content.decode()
    assert " style=" not in html and "<style" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all("src=" in tag and 'type="module"' in tag for tag in scripts)
    assert "grading/rubric.js" in html
    assert 'aria-live="polite"' in html and "Move up" in html and "<kbd>m</kbd>" in html


def test_adding_an_item_through_the_page(client: Client, exam: Exam, rubric: Rubric, ta: User) -> None:
    client.force_login(ta)
    response = post(
        client,
        exam,
        action="add",
        new__points="-1.5",
        new__description="Missing units",
        new__explanation="Give the units, e.g. $\\mathrm{ms}$.",
        new__shortcut="",
    )
    item = rubric.items.get()
    assert response.status_code == 302 and response["Location"].endswith(f"#item-{item.pk}")
    assert (item.points, item.shortcut, item.position) == (Decimal("-1.5"), "1", 1)
    page = client.get(response["Location"]).content.decode()
    assert "Added “Missing units”, −1.5 (shortcut 1)." in page
    assert 'data-math="inline"' in page  # the student's explanation, rendered

    refused = post(client, exam, action="add", new__points="-1", new__description="Other", new__shortcut="1")
    assert refused.status_code == 400
    assert "is already the shortcut of “Missing units”" in refused.content.decode()
    assert rubric.items.count() == 1


def test_editing_points_reapplies_at_once_and_says_how_many_changed(
    client: Client, exam: Exam, sittings: list[Sitting], rubric: Rubric, ta: User
) -> None:
    units = add(rubric, "-1", "Missing units")
    grade_all(exam, ta, [units])
    client.force_login(ta)
    response = post(
        client,
        exam,
        action="edit",
        item=units.pk,
        **{
            f"item-{units.pk}-points": "-2",
            f"item-{units.pk}-description": "Missing units",
            f"item-{units.pk}-explanation": "",
            f"item-{units.pk}-shortcut": "u",
        },
    )
    assert response.status_code == 302
    units.refresh_from_db()
    assert (units.points, units.shortcut) == (Decimal(-2), "u")
    assert points_of(exam) == {2}
    assert GradeEvent.objects.filter(source="rubric_edit", actor=ta).count() == 4
    page = client.get(response["Location"]).content.decode()
    assert "Its points went from −1 to −2 and were re-applied at once: 4 graded answers changed points." in page


def test_moving_items_with_and_without_the_script(client: Client, exam: Exam, rubric: Rubric, ta: User) -> None:
    first, second, third = (add(rubric, "-1", name) for name in ("First", "Second", "Third"))
    client.force_login(ta)
    response = post(client, exam, action="move", item=third.pk, direction="up")
    assert response.status_code == 302 and response["Location"].endswith(f"#item-{third.pk}")
    assert list(rubric.items.order_by("position").values_list("pk", flat=True)) == [first.pk, third.pk, second.pk]

    scripted = client.post(
        rubric_url(exam),
        {"action": "move", "item": first.pk, "direction": "down"},
        headers={"Accept": "application/json"},
    )
    assert scripted.json() == {"order": [third.pk, first.pk, second.pk]}
    edge = client.post(
        rubric_url(exam),
        {"action": "move", "item": second.pk, "direction": "down"},
        headers={"Accept": "application/json"},
    )
    assert edge.json() == {"order": [third.pk, first.pk, second.pk]}  # already last: stays
    assert post(client, exam, action="move", item=first.pk, direction="sideways").status_code == 400


def test_deleting_an_unused_item_is_at_once(client: Client, exam: Exam, rubric: Rubric, ta: User) -> None:
    spare = add(rubric, "-3", "Unused")
    client.force_login(ta)
    response = post(client, exam, action="delete", item=spare.pk)
    assert response.status_code == 302 and response["Location"] == rubric_url(exam)
    spare.refresh_from_db()
    assert not spare.active
    page = client.get(rubric_url(exam)).content.decode()
    assert "Deleted “Unused”. No graded answer used it." in page and 'data-description="Unused"' not in page


def test_deleting_a_used_item_asks_first_then_rescores(
    client: Client, exam: Exam, sittings: list[Sitting], rubric: Rubric, ta: User
) -> None:
    units = add(rubric, "-1", "Missing units")
    grade_all(exam, ta, [units])
    client.force_login(ta)

    asked = post(client, exam, action="delete", item=units.pk)
    confirm_url = reverse("grading:rubric-item-delete", args=[q(exam, "1.1").pk, units.pk])
    assert asked.status_code == 302 and asked["Location"] == confirm_url
    units.refresh_from_db()
    assert units.active and points_of(exam) == {3}  # nothing happened yet

    page = client.get(confirm_url).content.decode()
    assert "4 graded answers use this item." in page and "rescored at once without it" in page
    assert "Delete and rescore 4 answers" in page

    done = client.post(confirm_url)
    assert done.status_code == 302
    units.refresh_from_db()
    assert not units.active and points_of(exam) == {4}
    assert GradeEvent.objects.filter(source="rubric_edit").count() == 4
    message = client.get(done["Location"]).content.decode()
    assert "Deleted “Missing units”: taken off 4 graded answers, which were rescored; 4 changed points." in message
    assert client.get(confirm_url).status_code == 404  # a deleted item is gone from the page


def test_settings_through_the_page(
    client: Client, exam: Exam, sittings: list[Sitting], rubric: Rubric, instructor: User
) -> None:
    units = add(rubric, "-1", "Missing units")
    grade_all(exam, instructor, [units])
    client.force_login(instructor)
    response = post(client, exam, action="settings", mode="add", floor_at_zero="on", cap_at_max="on")
    assert response.status_code == 302
    rubric.refresh_from_db()
    assert rubric.mode == "add" and points_of(exam) == {0}
    assert "4 graded answers changed points" in client.get(response["Location"]).content.decode()
    assert post(client, exam, action="settings", mode="sideways").status_code == 400
    assert post(client, exam, action="explode").status_code == 400


def test_instructors_and_tas_both_edit_rubrics(
    course: Course, ta: User, instructor: User, student: User, other_instructor: User
) -> None:
    from accounts.access import may_edit_rubric

    assert may_edit_rubric(ta, course) and may_edit_rubric(instructor, course)
    assert not may_edit_rubric(student, course) and not may_edit_rubric(other_instructor, course)


def test_an_automatic_questions_rubric_adjusts_overrides(client: Client, exam: Exam, ta: User) -> None:
    client.force_login(ta)
    page = client.get(reverse("grading:rubric", args=[q(exam, "1.2").pk])).content.decode()
    assert "rubric items adjust the automatic score" in page
