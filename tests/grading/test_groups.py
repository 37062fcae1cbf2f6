"""Answer groups: normal forms per kind, grouping formulas by symbolic equivalence, building
idempotently, grading a group at once (each member audited), the rule for members graded on
their own, stale pages, and the groups page with its access."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Course, User
from exams.models import Exam, Question, Sitting
from grading.groups import (
    StaleGroup,
    answer_group_state,
    answer_groups_build,
    choice_form,
    grid_form,
    group_grade,
    normal_forms,
    numeric_form,
    short_answer_form,
)
from grading.models import AnswerGroup, AnswerScore, Evaluation, GradeEvent, RubricItem, ScoreSource, SittingResult
from grading.review import evaluation_save, rubric_for
from tests.factories import ExamFactory, SectionFactory, add_question
from tests.grading.sat_exam import q, score, sit

pytestmark = pytest.mark.django_db

KEY = "sqrt(2 - 2*D_C)"


@pytest.fixture
def exam(course: Course) -> Exam:
    exam = ExamFactory.create(course=course, published=True)
    section = SectionFactory.create(exam=exam, number=1, title="Written")
    add_question(section, kind="short_answer", points=4, key={"model_answer": "Normalise the batch."})
    add_question(section, kind="expression", points=3, config={"variables": ["D_C"]}, key={"expression": KEY})
    add_question(section, kind="sketch", points=2, config={"x_label": "Bip", "y_label": "Zom"})
    return exam


SHORT = {
    "s0": "Batch norm keeps activations  stable",
    "s1": "batch norm keeps activations stable",
    "s2": "BATCH NORM keeps\nactivations stable ",
    "s3": "Dropout",
    "s4": "dropout",
    "s5": "Something else entirely",
}
FORMULAS = {
    "s0": "sqrt(2 - 2*D_C)",
    "s1": "sqrt(2*(1-D_C))",
    "s2": "sqrt(2) * sqrt(1 - D_C)",
    "s3": "2 - 2*D_C",
    "s4": "2-2*D_C",
    "s5": "sqrt(2-2*D_C",  # does not parse
    "s6": "sqrt( 2-2*D_C",  # nor this, but the same text once spaces go
    "s7": "sqrt(2+2*D_C)",
}
SKETCH = {"strokes": [[[0, 0], [1, 1]]]}


@pytest.fixture
def sittings(exam: Exam) -> list[Sitting]:
    made = []
    for index in range(8):
        net_id = f"s{index}"
        answers: dict[str, Any] = {"1.3": SKETCH}
        if net_id in SHORT:
            answers["1.1"] = SHORT[net_id]
        if net_id in FORMULAS:
            answers["1.2"] = FORMULAS[net_id]
        made.append(sit(exam, net_id, answers))
    score(exam)
    return made


def groups_of(question: Question) -> list[set[str]]:
    """Each group's members by NetID, largest first."""
    found: dict[int, set[str]] = {}
    for group_id, net_id in Evaluation.objects.filter(question=question, group__isnull=False).values_list(
        "group_id", "sitting__student__net_id"
    ):
        found.setdefault(group_id, set()).add(net_id)
    return sorted(found.values(), key=lambda members: (-len(members), sorted(members)))


# --- normal forms, pure ------------------------------------------------------------------------------


def test_short_answers_ignore_case_and_spacing_and_keep_parts_apart() -> None:
    assert short_answer_form("  Batch\tNorm  helps\n", []) == short_answer_form("batch norm HELPS", [])
    assert short_answer_form("   ", []) is None
    first = short_answer_form({"a": "X", "b": "y z"}, ["a", "b"])
    assert first == short_answer_form({"a": "x ", "b": "Y  Z"}, ["a", "b"])
    assert first != short_answer_form({"a": "x y", "b": "z"}, ["a", "b"])  # the same words, other parts
    assert first is not None and first.label == "(a) x\n(b) y z"


def test_grids_numbers_and_choices_compare_by_value() -> None:
    grid = grid_form([["+", None], ["0", "-"]])
    assert grid is not None and grid.label == "+ · / 0 -"
    assert grid != grid_form([["+", "0"], [None, "-"]])
    assert numeric_form(0.5) == numeric_form(0.50) and numeric_form(0.0) == numeric_form(-0.0)
    assert numeric_form(0.5) != numeric_form(0.5000001)
    assert choice_form(["A", "C"]) == choice_form(["C", "A"]) != choice_form(["A"])
    assert choice_form(True) != choice_form("True")


def test_formulas_group_by_equivalence_and_unreadable_ones_by_text(exam: Exam) -> None:
    forms, out_of_time = normal_forms(q(exam, "1.2"), dict(enumerate(FORMULAS.values())))
    texts = [forms[index].text for index in range(len(FORMULAS))]
    assert not out_of_time
    assert texts[0] == texts[1] == texts[2]  # sqrt(2 - 2*D_C), sqrt(2*(1-D_C)), sqrt(2)*sqrt(1 - D_C)
    assert texts[3] == texts[4] != texts[0]
    assert texts[5] == texts[6] and texts[5].startswith("text:")
    assert texts[7] not in texts[:7]
    assert forms[0].label == "sqrt(2 - 2*D_C)"  # the most common form represents the group


def test_with_no_time_left_only_equal_formulas_group(exam: Exam) -> None:
    forms, out_of_time = normal_forms(q(exam, "1.2"), dict(enumerate(FORMULAS.values())), time_budget=0)
    assert out_of_time
    assert forms[0].text != forms[2].text  # equivalent, but never compared
    assert forms[3].text == forms[4].text  # the same formula once parsed


# --- building ------------------------------------------------------------------------------------------


def test_building_groups_identical_short_answers(exam: Exam, sittings: list[Sitting]) -> None:
    question = q(exam, "1.1")
    summary = answer_groups_build(question)
    assert (summary.answers, summary.groups, summary.grouped, summary.ungrouped) == (6, 2, 5, 1)
    assert groups_of(question) == [{"s0", "s1", "s2"}, {"s3", "s4"}]
    assert set(AnswerGroup.objects.filter(question=question).values_list("label", flat=True)) == {
        "batch norm keeps activations stable",
        "dropout",
    }
    assert not Evaluation.objects.filter(sitting__student__net_id="s5", group__isnull=False).exists()

    before = list(AnswerGroup.objects.filter(question=question).values_list("pk", "key", "label"))
    assert answer_groups_build(question) == summary
    assert list(AnswerGroup.objects.filter(question=question).values_list("pk", "key", "label")) == before
    assert Evaluation.objects.filter(question=question).count() == 6  # blanks have none


def test_building_groups_formulas_of_an_automatic_question(exam: Exam, sittings: list[Sitting]) -> None:
    question = q(exam, "1.2")
    assert not Evaluation.objects.filter(question=question).exists()  # scored automatically
    summary = answer_groups_build(question)
    assert summary.groups == 3 and summary.ungrouped == 1
    assert groups_of(question) == [{"s0", "s1", "s2"}, {"s3", "s4"}, {"s5", "s6"}]
    # The evaluations made for the grouping hold no grade: the automatic scores stand.
    assert not Evaluation.objects.filter(question=question, graded_at__isnull=False).exists()
    assert set(AnswerScore.objects.filter(question=question).values_list("source", flat=True)) == {"auto"}


def test_sketches_never_group(exam: Exam, sittings: list[Sitting]) -> None:
    summary = answer_groups_build(q(exam, "1.3"))
    assert (summary.groups, summary.grouped) == (0, 0)
    assert not AnswerGroup.objects.exists()


# --- grading a group ----------------------------------------------------------------------------------


def item(exam: Exam, number: str, points: str, description: str) -> RubricItem:
    rubric = rubric_for(q(exam, number))
    return RubricItem.objects.create(
        rubric=rubric, position=rubric.items.count() + 1, points=Decimal(points), description=description
    )


def biggest_group(question: Question) -> AnswerGroup:
    answer_groups_build(question)
    return max(AnswerGroup.objects.filter(question=question), key=lambda group: group.members.count())


def test_grading_a_group_grades_and_audits_every_member(exam: Exam, sittings: list[Sitting], ta: User) -> None:
    vague = item(exam, "1.1", "-1", "Too vague")
    group = biggest_group(q(exam, "1.1"))
    now = timezone.now()
    graded = group_grade(
        group=group,
        grader=ta,
        item_ids=[vague.pk],
        adjustment=Decimal("0.5"),
        comment="Say why",
        now=now,
        state=answer_group_state(group),
    )
    assert graded == 3
    members = Evaluation.objects.filter(group=group)
    assert {(e.points, e.version, e.graded_by, e.claimed_by) for e in members} == {(Decimal("3.5"), 1, ta, None)}
    assert all(list(e.items.all()) == [vague] for e in members)
    rows = AnswerScore.objects.filter(evaluation__group=group)
    assert {(r.points, r.source, r.needs_manual) for r in rows} == {(Decimal("3.5"), ScoreSource.MANUAL, False)}
    assert {r.explanation for r in rows} == {"4 −1 Too vague +0.5 adjustment (Say why) = 3.5"}
    events = GradeEvent.objects.filter(source="group")
    assert events.count() == 3 and {e.score_id for e in events} == {r.pk for r in rows}
    assert {(e.old_points, e.new_points, e.actor, e.detail["group"]) for e in events} == {
        (None, Decimal("3.5"), ta, group.pk)
    }
    for evaluation in members:  # totals recomputed: this 3.5 and the other questions' points
        others = AnswerScore.objects.filter(sitting_id=evaluation.sitting_id).exclude(question=q(exam, "1.1"))
        expected = Decimal("3.5") + sum((row.points for row in others), Decimal(0))
        assert SittingResult.objects.get(sitting_id=evaluation.sitting_id).points == expected


def test_a_member_graded_on_its_own_keeps_its_grade_until_the_group_is_graded_again(
    exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    vague = item(exam, "1.1", "-1", "Too vague")
    group = biggest_group(q(exam, "1.1"))
    group_grade(group=group, grader=ta, item_ids=[vague.pk], adjustment=Decimal(0), comment="", now=timezone.now())
    apart = Evaluation.objects.filter(group=group).order_by("pk").first()
    assert apart is not None
    evaluation_save(
        evaluation_id=apart.pk,
        grader=instructor,
        item_ids=[],
        adjustment=Decimal(0),
        comment="Fine after all",
        version=apart.version,
        now=timezone.now(),
    )
    answer_groups_build(q(exam, "1.1"))  # grouping again changes no grade
    apart.refresh_from_db()
    assert apart.group_id == group.pk and apart.points == 4
    assert set(Evaluation.objects.filter(group=group).exclude(pk=apart.pk).values_list("points", flat=True)) == {3}

    group_grade(group=group, grader=ta, item_ids=[vague.pk], adjustment=Decimal(0), comment="", now=timezone.now())
    apart.refresh_from_db()
    assert apart.points == 3
    assert list(
        GradeEvent.objects.filter(score_id=apart.score_id).values_list("source", "old_points", "new_points")
    ) == [
        ("group", None, Decimal(3)),
        ("manual", Decimal(3), Decimal(4)),
        ("group", Decimal(4), Decimal(3)),
    ]


def test_a_group_graded_from_a_stale_page_is_refused(
    exam: Exam, sittings: list[Sitting], ta: User, instructor: User
) -> None:
    group = biggest_group(q(exam, "1.1"))
    state = answer_group_state(group)
    group_grade(group=group, grader=instructor, item_ids=[], adjustment=Decimal(-1), comment="", now=timezone.now())
    with pytest.raises(StaleGroup):
        group_grade(
            group=group, grader=ta, item_ids=[], adjustment=Decimal(-4), comment="", now=timezone.now(), state=state
        )
    assert set(Evaluation.objects.filter(group=group).values_list("points", flat=True)) == {3}
    assert GradeEvent.objects.count() == 3


def test_a_group_of_automatic_answers_is_overridden_from_their_score(
    exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    question = q(exam, "1.2")
    group = biggest_group(question)  # the three forms of the key: 3 points each
    bonus = item(exam, "1.2", "-1", "Not simplified")
    group_grade(group=group, grader=ta, item_ids=[bonus.pk], adjustment=Decimal(0), comment="", now=timezone.now())
    rows = AnswerScore.objects.filter(evaluation__group=group)
    assert {(r.auto_points, r.points, r.source) for r in rows} == {(Decimal(3), Decimal(2), ScoreSource.OVERRIDE)}
    assert set(GradeEvent.objects.values_list("source", "old_points")) == {("group", Decimal(3))}
    score(exam)  # a rescore keeps the graders' points
    assert set(AnswerScore.objects.filter(evaluation__group=group).values_list("points", flat=True)) == {2}


# --- the page -------------------------------------------------------------------------------------------


def groups_url(question: Question) -> str:
    return reverse("grading:groups", args=[question.pk])


def test_graders_build_and_grade_groups_through_the_page(
    client: Client, exam: Exam, sittings: list[Sitting], ta: User
) -> None:
    question = q(exam, "1.1")
    vague = item(exam, "1.1", "-1", "Too vague")
    client.force_login(ta)
    assert "No groups yet" in client.get(groups_url(question)).content.decode()

    built = client.post(groups_url(question), {"action": "build"})
    assert built.status_code == 302
    page = client.get(built["Location"]).content.decode()
    assert "2 groups of identical answers hold 5 of the 6 answers; 1 is unlike any other" in page
    assert "3 identical answers" in page and "batch norm keeps activations stable" in page
    assert " style=" not in page and not re.search(r"<script(?![^>]*src=)", page)
    group = AnswerGroup.objects.get(label="dropout")
    members = list(group.members.order_by("pk"))
    for member in members:  # each member links to its own page
        assert f'href="{reverse("grading:evaluation", args=[member.pk])}"' in page

    prefix = f"group-{group.pk}"
    form = {f"{prefix}-items": [vague.pk], f"{prefix}-adjustment": "0", f"{prefix}-comment": "Name the method"}
    stale = client.post(
        reverse("grading:group-grade", args=[question.pk, group.pk]), {**form, f"{prefix}-state": "not-the-state"}
    )
    assert stale.status_code == 302 and not GradeEvent.objects.exists()
    assert "your grade was not saved" in client.get(stale["Location"]).content.decode()

    response = client.post(
        reverse("grading:group-grade", args=[question.pk, group.pk]),
        {**form, f"{prefix}-state": answer_group_state(group)},
    )
    assert response.status_code == 302 and response["Location"].endswith(f"#group-{group.pk}")
    assert set(Evaluation.objects.filter(group=group).values_list("points", "comment")) == {
        (Decimal(3), "Name the method")
    }
    assert GradeEvent.objects.filter(source="group", actor=ta).count() == 2
    page = client.get(response["Location"]).content.decode()
    assert "Graded the 2 answers of the group “dropout”." in page and "2 of 2 graded, points: 3" in page

    invalid = client.post(
        reverse("grading:group-grade", args=[question.pk, group.pk]),
        {f"{prefix}-items": [9999], f"{prefix}-adjustment": "x", f"{prefix}-state": answer_group_state(group)},
    )
    assert invalid.status_code == 400


def test_formula_groups_show_their_equivalent_forms(
    client: Client, exam: Exam, sittings: list[Sitting], instructor: User
) -> None:
    question = q(exam, "1.2")
    answer_groups_build(question)
    client.force_login(instructor)
    page = client.get(groups_url(question)).content.decode()
    assert "Written as:" in page and "<code>sqrt(2*(1-D_C))</code>" in page and 'data-math="display"' in page


def test_only_the_courses_graders_see_groups(
    client: Client, exam: Exam, sittings: list[Sitting], student: User, other_instructor: User
) -> None:
    question = q(exam, "1.1")
    answer_groups_build(question)
    group = AnswerGroup.objects.first()
    assert group is not None
    for user in (student, other_instructor):
        client.force_login(user)
        assert client.get(groups_url(question)).status_code == 404
        assert client.post(groups_url(question), {"action": "build"}).status_code == 404
        assert client.post(reverse("grading:group-grade", args=[question.pk, group.pk]), {}).status_code == 404
    assert not GradeEvent.objects.exists()


def test_a_group_of_another_question_is_404(client: Client, exam: Exam, sittings: list[Sitting], ta: User) -> None:
    answer_groups_build(q(exam, "1.1"))
    group = AnswerGroup.objects.first()
    assert group is not None
    client.force_login(ta)
    assert client.post(reverse("grading:group-grade", args=[q(exam, "1.2").pk, group.pk]), {}).status_code == 404
