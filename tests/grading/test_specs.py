"""Specs built from the imported seed midterm: they match the paper, its keys earn full
marks on every auto-scored question, and its random-guess score is known exactly."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from accounts.models import Course
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.models import Exam, Question
from grading.scoring import (
    QuestionSpec,
    SectionScores,
    exam_total,
    guess_score,
    key_answer,
    score_answer,
)
from grading.scoring.specs import SectionSpecs, exam_specs, question_spec
from tests.grading import seed_specs

MANUAL = {
    "3.1.1": 2,
    "3.1.2": 2,
    "3.3": 2,
    "3.4": 4,
    "3.5.2.1.1": 3,
    "3.5.2.1.2": 3,
    "3.5.2.1.3": 3,
    "3.5.2.2": 6,
    "3.6.1.1": 3,
    "3.6.1.2": 3,
    "3.6.2.1": 4,  # extra credit
    "3.6.2.2": 2,  # extra credit
}


@pytest.fixture
def seed(course: Course, settings: Settings, tmp_path: Path) -> Exam:
    settings.MEDIA_ROOT = tmp_path / "media"
    return exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent)


@pytest.fixture
def sections(seed: Exam) -> list[SectionSpecs]:
    return exam_specs(seed.pk)


def by_number(sections: list[SectionSpecs]) -> dict[str, QuestionSpec]:
    return {spec.number: spec for section in sections for spec in section.questions}


def a_manual_answer(spec: QuestionSpec) -> Any:
    if spec.kind == "sketch":
        return {"strokes": [[[-3, -3], [3, 3]]]}
    parts = spec.config.get("parts")
    return {part: "My answer." for part in parts} if parts else "My answer."


def test_specs_follow_the_paper_order_and_skip_groups(sections: list[SectionSpecs], seed: Exam) -> None:
    assert [(s.number, s.title, s.floor_at_zero, len(s.questions)) for s in sections] == [
        (1, "True / False", False, 10),
        (2, "Multiple Choices", False, 10),
        (3, "Short Answers", False, 17),
    ]
    numbers = [spec.number for spec in sections[1].questions]
    assert numbers == [f"2.{i}" for i in range(1, 11)]  # 2.10 last, not after 2.1
    groups = set(Question.objects.filter(exam=seed, kind="group").values_list("number", flat=True))
    assert {"3.5", "3.5.3"} <= groups
    assert groups.isdisjoint(by_number(sections))


def test_specs_carry_the_seed_policies_keys_and_extra_credit(sections: list[SectionSpecs]) -> None:
    specs = by_number(sections)
    expected = [
        *(seed_specs.true_false(n) for n in seed_specs.TRUE_FALSE_KEYS),
        *(seed_specs.multiple_select(n) for n in seed_specs.MULTIPLE_SELECT_KEYS),
        seed_specs.running_prediction("3.5.1.1"),
        seed_specs.running_prediction("3.5.1.2"),
        seed_specs.euclidean_distance(),
        seed_specs.gradient_signs("3.5.3.1"),
        seed_specs.gradient_signs("3.5.3.2"),
    ]
    for plain in expected:
        built = specs[plain.number]
        assert (built.kind, built.points, built.policy, dict(built.params)) == (
            plain.kind,
            plain.points,
            plain.policy,
            dict(plain.params),
        ), plain.number
        assert (built.choice_labels, built.correct_labels, built.extra_credit) == (
            plain.choice_labels,
            plain.correct_labels,
            plain.extra_credit,
        ), plain.number
        if plain.kind not in ("single_choice", "multiple_select"):
            assert dict(built.key) == dict(plain.key), plain.number
    # 3.5.3's grids are extra credit because their parent is.
    assert specs["3.5.3.1"].extra_credit and not Question.objects.get(number="3.5.3.1").extra_credit
    assert specs["3.6.2.1"].extra_credit and not specs["3.6.1.1"].extra_credit
    assert {n: int(s.points) for n, s in specs.items() if s.policy == "manual"} == MANUAL


def test_question_spec_from_one_question(seed: Exam) -> None:
    question = Question.objects.get(exam=seed, number="2.4")
    spec = question_spec(question)
    assert spec.question_id == question.pk
    assert spec.choice_labels == ("A", "B", "C", "D", "E", "F")
    assert spec.correct_labels == {"A", "C", "D", "F"}
    with pytest.raises(ValueError, match="group"):
        question_spec(Question.objects.get(exam=seed, number="3.5"))


def test_the_seed_key_earns_full_marks_on_every_auto_scored_question(sections: list[SectionSpecs]) -> None:
    scored = []
    for section in sections:
        scores = []
        for spec in section.questions:
            answer = key_answer(spec) if spec.policy != "manual" else a_manual_answer(spec)
            score = score_answer(spec, answer)
            if spec.policy == "manual":
                assert (score.points, score.needs_manual) == (0, True), spec.number
            else:
                assert score.is_full and score.points == spec.points, (spec.number, score.explanation)
            scores.append(score)
        scored.append(SectionScores(scores, floor_at_zero=section.floor_at_zero))
    total = exam_total(scored)
    manual_points = sum(points for number, points in MANUAL.items() if not number.startswith("3.6.2"))
    assert manual_points == 31
    # 100 − 31 points graded by hand, plus 3.5.3's 6 points of auto-scored extra credit.
    assert total.points == Decimal(100 - manual_points + 6) == Decimal(75)
    assert total.max_points == 100
    assert total.extra_points == 12  # "There is a potential for 12 points of extra credit."
    assert total.pending_manual == len(MANUAL)
    assert [t.max_points for t in total.sections] == [20, 40, 40]


def test_the_seed_random_guess_score(sections: list[SectionSpecs]) -> None:
    regular = extra = Fraction(0)
    for spec in (spec for section in sections for spec in section.questions):
        if spec.extra_credit:
            extra += guess_score(spec)
        else:
            regular += guess_score(spec)
    # True/false: 10 × 1/2 = 5. Multiple select: 41626/9765 (see test_guessing). Running
    # prediction: 2 × 3/3 = 2. The formula and the hand-graded questions: 0.
    assert regular == 5 + Fraction(41626, 9765) + 2 == Fraction(109981, 9765)  # ≈ 11.26 of 100
    # The two 3 × 3 sign grids, per cell: 3 × 1/3 each.
    assert extra == 2
