"""``sittings_simulate`` and ``manage.py simulate_sittings``: simulated students whose answers
follow the two-parameter model, stored as the real sitting flow stores them."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from accounts.models import Course, Membership, Role, User
from accounts.netid import NETID_RE
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.kinds import KINDS, ChoiceData, get_kind
from exams.models import Answer, AnswerRevision, Exam, HonorCodeSignature, Question, Sitting
from exams.sittings import _answers_digest, name_matches
from grading import simulate
from grading.scoring import QuestionSpec, key_answer, score_answer, score_bounds
from grading.scoring.specs import exam_specs
from grading.simulate import (
    SimulatedSittings,
    SimulationRefused,
    answers_plan,
    simulated_net_id,
    sittings_simulate,
)
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_choices, add_question

NOW = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)
AUTO_KINDS = {"true_false", "single_choice", "multiple_select", "numeric", "expression", "grid"}


@pytest.fixture(autouse=True)
def _media_in_tmp(tmp_path: Path) -> Iterator[None]:
    """The seed exam's figures are stored files; keep them out of the project's var/."""
    with override_settings(MEDIA_ROOT=tmp_path):
        yield


def import_seed(course: Course) -> Exam:
    exam = exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)
    exam.opens_at, exam.closes_at, exam.published = NOW - timedelta(hours=3), NOW + timedelta(days=1), True
    exam.save()
    return exam


@pytest.fixture
def seed(course: Course) -> Exam:
    return import_seed(course)


def specs_of(exam: Exam) -> list[QuestionSpec]:
    return [spec for section in exam_specs(exam.pk) for spec in section.questions]


def choices_of(spec: QuestionSpec) -> list[ChoiceData]:
    return [ChoiceData(label, "", label in spec.correct_labels) for label in spec.choice_labels]


def stored_answers(exam: Exam) -> dict[tuple[str, str], Any]:
    """(NetID, question number) → stored value."""
    return {
        (net_id, number): value
        for net_id, number, value in Answer.objects.filter(sitting__exam=exam).values_list(
            "sitting__student__net_id", "question__number", "value"
        )
    }


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank (as Spearman's rho needs)."""
    order = np.argsort(values, kind="stable")
    result = np.empty(len(values))
    result[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        result[tied] = result[tied].mean()
    return result


def spearman(x: list[float], y: list[float]) -> float:
    return float(np.corrcoef(ranks(np.array(x)), ranks(np.array(y)))[0, 1])


def test_spearman_helper_agrees_with_the_textbook() -> None:
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(0.8207826816681233)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)


# --- the model shows in the scores -----------------------------------------------------------------


@pytest.mark.django_db
def test_simulated_difficulty_orders_the_facility_of_two_thousand_sittings(seed: Exam) -> None:
    result = sittings_simulate(exam_id=seed.pk, students=2000, seed=11, now=NOW)

    assert (result.students, Sitting.objects.filter(exam=seed).count()) == (2000, 2000)
    specs = [spec for spec in specs_of(seed) if spec.kind in AUTO_KINDS]
    assert len(specs) == 25  # 10 true/false, 10 multiple select, 2 single choice, 1 formula, 2 grids
    values: dict[int, list[str]] = defaultdict(list)
    for question_id, text in Answer.objects.filter(sitting__exam=seed).values_list("question_id", "value"):
        values[question_id].append(json.dumps(text))
    difficulty, facility = [], []
    for spec in specs:
        assert spec.question_id is not None
        scored = Counter(values[spec.question_id])
        blank = score_answer(spec, None).points
        total = sum(score_answer(spec, json.loads(text)).points * count for text, count in scored.items())
        total += blank * (2000 - sum(scored.values()))
        low, high = score_bounds(spec)
        facility.append(float((total / 2000 - low) / (high - low)))
        difficulty.append(result.items[spec.question_id].difficulty)

    # Harder questions (higher b) have lower facility: the orders agree.
    assert spearman(difficulty, [-f for f in facility]) >= 0.9


@pytest.mark.django_db
def test_abler_students_score_higher(seed: Exam) -> None:
    result = sittings_simulate(exam_id=seed.pk, students=300, seed=5, now=NOW)
    right: Counter[str] = Counter()
    specs = {spec.question_id: spec for spec in specs_of(seed) if spec.kind in AUTO_KINDS}
    for net_id, question_id, value in Answer.objects.filter(sitting__exam=seed).values_list(
        "sitting__student__net_id", "question_id", "value"
    ):
        if question_id in specs and score_answer(specs[question_id], value).is_full:
            right[net_id] += 1
    net_ids = sorted(result.abilities)
    assert spearman([result.abilities[n] for n in net_ids], [right[n] for n in net_ids]) > 0.7


# --- what is stored -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_students_sittings_and_signatures_look_like_the_real_flow(seed: Exam, student: User) -> None:
    """``student`` (alice, quiz section AA) gives the course a quiz section to spread the new students over."""
    result = sittings_simulate(exam_id=seed.pk, students=40, seed=3, now=NOW)

    assert isinstance(result, SimulatedSittings)
    simulated = User.objects.filter(sittings__exam=seed).order_by("net_id")
    net_ids = [user.net_id for user in simulated]
    assert net_ids == [simulated_net_id(seed.pk, i) for i in range(40)]
    assert result.net_ids == (net_ids[0], net_ids[-1])
    assert all(NETID_RE.fullmatch(n) for n in net_ids)
    assert not any(user.has_usable_password() for user in simulated)
    assert (
        Membership.objects.filter(user__in=simulated, course=seed.course, role=Role.STUDENT, active=True).count() == 40
    )
    assert set(Membership.objects.filter(user__in=simulated).values_list("quiz_section", flat=True)) == {"AA"}

    for sitting in Sitting.objects.filter(exam=seed).select_related("student", "signature"):
        assert sitting.status == "submitted" and sitting.closed_by == "simulated"
        assert seed.opens_at and seed.closes_at and sitting.submitted_at
        assert seed.opens_at <= sitting.started_at < sitting.submitted_at <= sitting.deadline <= seed.closes_at
        assert sitting.deadline == sitting.started_at + timedelta(minutes=seed.duration_minutes)
        assert sitting.submitted_at <= NOW  # the cohort finished before "now"
        assert sitting.receipt_code == _answers_digest(sitting)
        assert name_matches(sitting.signature.typed_name, sitting.student.full_name)
        assert sitting.signature.statement == seed.honor_code
        assert sitting.signature.signed_at == sitting.started_at
        answers = list(Answer.objects.filter(sitting=sitting).order_by("seq"))
        assert [a.seq for a in answers] == list(range(1, len(answers) + 1))
        assert sitting.last_seq == len(answers)
        assert sitting.last_saved_at == answers[-1].saved_at
        assert all(sitting.started_at < a.saved_at < sitting.submitted_at for a in answers)
        revisions = list(AnswerRevision.objects.filter(sitting=sitting).order_by("seq"))
        assert [(r.question_id, r.value, r.flagged, r.seq, r.saved_at, r.device) for r in revisions] == [
            (a.question_id, a.value, a.flagged, a.seq, a.saved_at, sitting.device) for a in answers
        ]
    assert HonorCodeSignature.objects.filter(sitting__exam=seed).count() == 40


@pytest.mark.django_db
def test_a_blank_has_no_answer_row(seed: Exam) -> None:
    result = sittings_simulate(exam_id=seed.pk, students=400, seed=8, now=NOW)

    questions = len(specs_of(seed))
    stored = Answer.objects.filter(sitting__exam=seed)
    assert result.answers == stored.count() == AnswerRevision.objects.filter(sitting__exam=seed).count()
    assert result.blanks == 400 * questions - result.answers
    assert 0.01 < result.blanks / (400 * questions) < 0.08  # a few percent
    assert not stored.filter(value__isnull=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("exam_fixture", "kinds"),
    [
        ("seed", {"true_false", "multiple_select", "single_choice", "expression", "grid", "short_answer", "sketch"}),
        ("every_kind", set(KINDS)),
    ],
)
def test_every_stored_value_is_valid_for_its_kind(
    request: pytest.FixtureRequest, exam_fixture: str, kinds: set[str]
) -> None:
    exam: Exam = request.getfixturevalue(exam_fixture)
    sittings_simulate(exam_id=exam.pk, students=200, seed=4, now=NOW)

    specs = {spec.question_id: spec for spec in specs_of(exam)}
    seen: set[str] = set()
    for question_id, value in Answer.objects.filter(sitting__exam=exam).values_list("question_id", "value"):
        spec = specs[question_id]
        assert value is not None
        assert get_kind(spec.kind).clean_answer(dict(spec.config), value, choices_of(spec)) == value, (spec, value)
        seen.add(spec.kind)
    assert seen == kinds


@pytest.fixture
def every_kind(course: Course) -> Exam:
    """One question of each of the eight kinds, numeric included (the seed has none)."""
    exam = ExamFactory.create(course=course)
    section = SectionFactory.create(exam=exam, number=1)
    add_question(section, kind="true_false", key={"value": False}, policy="negative_marking")
    add_choices(add_question(section, kind="single_choice"), "one", "two", "three", "four", correct="B")
    add_choices(add_question(section, kind="multiple_select"), "a", "b", "c", correct="C")
    add_question(section, kind="numeric", key={"value": 0.25, "tolerance": 0.02, "mode": "relative"})
    add_question(section, kind="numeric", key={"value": 0, "tolerance": 0.5, "mode": "absolute"})
    add_question(section, kind="expression", config={"variables": ["x"]}, key={"expression": "x^2 + 1"})
    add_question(
        section,
        kind="grid",
        config={"rows": 2, "cols": 4, "symbols": ["T", "F"]},
        key={"cells": [["T", "F", "T", "T"], ["F", "F", "T", "F"]]},
    )
    add_question(section, kind="short_answer", config={"max_length": 40})
    add_question(
        section, kind="short_answer", config={"parts": ["a", "b"]}, key={"model_answer": "(a) Yes.\n\n(b) No."}
    )
    add_question(section, kind="sketch", config={"x_min": 0, "x_max": 10, "y_min": -1, "y_max": 1})
    return exam


@pytest.mark.django_db
def test_right_answers_are_the_key_and_wrong_ones_are_wrong_of_the_right_shape(every_kind: Exam) -> None:
    specs = specs_of(every_kind)
    plan = answers_plan(specs=specs, students=600, seed=2)

    assert [q.spec.kind for q in plan.questions] == [
        "true_false",
        "single_choice",
        "multiple_select",
        "numeric",
        "numeric",
        "expression",
        "grid",
        "short_answer",
        "short_answer",
        "sketch",
    ]
    for question in plan.questions:
        spec, kind = question.spec, get_kind(question.spec.kind)
        answered = question.pick >= 0
        assert 0 < int((~answered).sum()) < 60, spec.kind  # some blanks, a few percent
        assert question.right[answered].any() and (~question.right[answered]).any()
        for student in range(plan.students):
            value = question.value(student)
            if value is None:
                continue
            assert kind.clean_answer(dict(spec.config), value, choices_of(spec)) == value, (spec.kind, value)
            score = score_answer(spec, value)
            if spec.kind not in AUTO_KINDS:
                assert score.needs_manual
            elif question.right[student]:
                assert value == key_answer(spec) and score.is_full
            else:
                assert value != key_answer(spec) and not score.is_full, (spec.kind, value)
        distinct = {json.dumps(question.value(s)) for s in range(plan.students) if question.pick[s] >= 0}
        assert len(distinct) >= (2 if spec.kind in ("true_false", "multiple_select") else 3), spec.kind


def test_multiple_select_mistakes_flip_one_or_two_options() -> None:
    spec = QuestionSpec.build(
        kind="multiple_select",
        points=4,
        choices=[ChoiceData(label, "", label in "AD") for label in "ABCDE"],
    )
    plan = answers_plan(specs=[spec], students=500, seed=1)
    question = plan.questions[0]
    flips = Counter(
        len(set(question.value(s)) ^ {"A", "D"}) for s in range(500) if question.pick[s] >= 0 and not question.right[s]
    )
    assert set(flips) == {1, 2}


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_answers(course: Course) -> None:
    first, second = import_seed(course), import_seed(course)
    one = sittings_simulate(exam_id=first.pk, students=60, seed=21, now=NOW)
    two = sittings_simulate(exam_id=second.pk, students=60, seed=21, now=NOW)

    def by_index(exam: Exam) -> dict[tuple[str, str], Any]:
        return {(net_id[-3:], number): value for (net_id, number), value in stored_answers(exam).items()}

    def timeline(exam: Exam) -> list[tuple[Any, ...]]:
        return list(
            Sitting.objects.filter(exam=exam)
            .order_by("student__net_id")
            .values_list("student__full_name", "started_at", "submitted_at", "last_seq", "device")
        )

    assert by_index(first) == by_index(second)
    assert timeline(first) == timeline(second)
    numbers = dict(Question.objects.filter(exam__in=[first, second]).values_list("pk", "number"))
    assert {numbers[q]: item for q, item in one.items.items()} == {numbers[q]: item for q, item in two.items.items()}
    assert list(one.abilities.values()) == list(two.abilities.values())

    specs = specs_of(first)
    again = answers_plan(specs=specs, students=60, seed=21)
    other = answers_plan(specs=specs, students=60, seed=22)
    assert [list(q.pick) for q in again.questions] != [list(q.pick) for q in other.questions]


@pytest.mark.django_db
def test_the_bulk_create_path_writes_what_copy_writes(course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite (the demo) takes bulk_create; forced here on PostgreSQL, it must store the same."""
    copied, created = import_seed(course), import_seed(course)
    sittings_simulate(exam_id=copied.pk, students=30, seed=9, now=NOW)
    monkeypatch.setattr(simulate, "_uses_copy", lambda: False)
    sittings_simulate(exam_id=created.pk, students=30, seed=9, now=NOW)

    def by_index(exam: Exam) -> dict[tuple[str, str], Any]:
        return {(net_id[-3:], number): value for (net_id, number), value in stored_answers(exam).items()}

    assert by_index(copied) == by_index(created)
    for sitting in Sitting.objects.filter(exam=created):
        assert sitting.receipt_code == _answers_digest(sitting)
    assert HonorCodeSignature.objects.filter(sitting__exam=created).count() == 30
    assert AnswerRevision.objects.filter(sitting__exam=created).count() == len(by_index(created))


# --- refusals ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_second_run_on_the_same_exam_is_refused_and_writes_nothing(seed: Exam) -> None:
    sittings_simulate(exam_id=seed.pk, students=10, seed=1, now=NOW)
    before = (User.objects.count(), Sitting.objects.count(), Answer.objects.count())

    with pytest.raises(SimulationRefused, match=r"10 of the simulated students .* already have sittings on exam"):
        sittings_simulate(exam_id=seed.pk, students=25, seed=2, now=NOW)
    assert (User.objects.count(), Sitting.objects.count(), Answer.objects.count()) == before


@pytest.mark.django_db
def test_a_net_id_taken_by_a_real_person_is_refused(seed: Exam) -> None:
    UserFactory.create(net_id=simulated_net_id(seed.pk, 7))

    with pytest.raises(SimulationRefused, match="belong to existing users"):
        sittings_simulate(exam_id=seed.pk, students=10, seed=1, now=NOW)
    assert not Sitting.objects.exists()


def test_net_ids_are_valid_and_never_shared_between_exams() -> None:
    seen = {simulated_net_id(exam, index) for exam in (1, 35, 36, 1295, 1296, 46655) for index in (0, 1, 46655)}
    assert len(seen) == 18
    assert all(NETID_RE.fullmatch(net_id) for net_id in seen)
    assert simulated_net_id(3, 0) == "zz3000" and simulated_net_id(46655, 46655) == "zzzzzzzz"
    with pytest.raises(SimulationRefused):
        simulated_net_id(46656, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("exam_id", "students", "message"),
    [(999_999, 5, "No exam has the id 999999"), (None, 0, "from 1 to 46656 students, not 0")],
)
def test_refusals_name_the_problem(seed: Exam, exam_id: int | None, students: int, message: str) -> None:
    with pytest.raises(SimulationRefused, match=message):
        sittings_simulate(exam_id=exam_id or seed.pk, students=students, seed=1, now=NOW)


# --- the command -------------------------------------------------------------------------------------


def simulate_sittings(*args: str) -> str:
    out = StringIO()
    call_command("simulate_sittings", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_prints_what_it_created(seed: Exam) -> None:
    output = simulate_sittings(str(seed.pk), "--students", "25", "--seed", "3")

    first, last = simulated_net_id(seed.pk, 0), simulated_net_id(seed.pk, 24)
    assert f"Simulated 25 submitted sittings of {seed} (exam {seed.pk}, seed 3)" in output
    assert f"25 students {first}–{last}, active in {seed.course.code}" in output
    answers = Answer.objects.filter(sitting__exam=seed).count()
    assert re.search(rf"{answers} answers \(and as many revisions\), {25 * 37 - answers} left blank", output)
    assert Sitting.objects.filter(exam=seed, closed_by="simulated").count() == 25


@pytest.mark.django_db
def test_the_command_lists_the_questions_when_verbose(seed: Exam) -> None:
    out = StringIO()
    call_command("simulate_sittings", str(seed.pk), "--students", "5", verbosity=2, stdout=out)
    assert re.search(r"^\s+3\.5\.3\.1 grid\s+b = -?\d\.\d\d\s+a = \d\.\d\d$", out.getvalue(), re.MULTILINE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999999", "--students", "5"], "No exam has the id 999999"),
        (["{exam}", "--students", "0"], "from 1 to 46656 students, not 0"),
        (["{exam}", "--students", "-3"], "from 1 to 46656 students, not -3"),
    ],
)
def test_the_command_refuses_clearly(seed: Exam, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        simulate_sittings(*(arg.format(exam=seed.pk) for arg in args))


@pytest.mark.django_db
def test_the_command_refuses_a_second_run(seed: Exam) -> None:
    simulate_sittings(str(seed.pk), "--students", "3")
    with pytest.raises(CommandError, match="already have sittings"):
        simulate_sittings(str(seed.pk), "--students", "3")
