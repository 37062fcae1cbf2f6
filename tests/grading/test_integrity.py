"""``grading.integrity``: the model's arithmetic by hand, the pure numpy parts against brute force,
a copy planted among simulated students, and the proctoring flags of sittings."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from accounts.models import Course, User
from exams.examfile import SEED_EXAM_PATH, exam_import
from exams.kinds import get_kind
from exams.models import Answer, Exam, HonorCodeSignature, ProctorEvent, ProctorEventKind, Question, Sitting
from grading.integrity import (
    NOT_WRONG,
    answer_similarity,
    likeliest_agreements,
    match_probabilities,
    mean_log_bound,
    pair_blocks,
    pair_p_values,
    poisson_binomial_pmf,
    shared_one_hot,
    similar_pairs,
    suspicious_sittings,
    upper_tail,
    wrong_answer_codes,
)
from grading.jobs import job_request, job_run_inline
from grading.models import AnswerScore, GradingJob, ScoreSource
from grading.scoring import score_answer
from grading.scoring.specs import exam_specs
from grading.simulate import answers_plan, sittings_simulate
from tests.factories import ExamFactory, SectionFactory, UserFactory, add_question, member
from tests.grading.integrity_data import (
    COPIED_EXPECTED,
    COPIED_P,
    TINY_EXPECTED,
    TINY_P,
    copied_exam,
    tiny_exam,
)
from tests.grading.results_data import sit

NOW = datetime(2023, 5, 4, 17, 0, tzinfo=UTC)

# The tiny exam of tests/grading/integrity_data.py as codes: rows ann, ben, cat, dan, eve;
# columns 1.1–1.4; on each question the wrong answers numbered in order of appearance.
TINY_CODES = [
    [0, 0, 0, 0],  # ann: B B C false
    [0, 0, 0, 0],  # ben: the same
    [1, 1, 1, 0],  # cat: C D B false
    [2, NOT_WRONG, 2, NOT_WRONG],  # dan: D (A right) D (true right)
    [NOT_WRONG, 2, NOT_WRONG, NOT_WRONG],  # eve: (A) C (A) (true)
]


# --- the Poisson-binomial distribution ------------------------------------------------------------


def test_the_tiny_pair_by_hand() -> None:
    """X = 1 + Binomial(3, 3/8): P(X = 1..4) = (125, 225, 135, 27) / 512."""
    pmf = poisson_binomial_pmf([3 / 8, 3 / 8, 3 / 8, 1])
    assert pmf * 512 == pytest.approx([0, 125, 225, 135, 27], abs=1e-9)
    assert upper_tail(pmf) * 512 == pytest.approx([512, 512, 387, 162, 27, 0], abs=1e-9)


def test_the_distribution_agrees_with_enumerating_every_outcome() -> None:
    chances = np.random.default_rng(3).uniform(0, 1, 8)
    expected = np.zeros(9)
    for outcome in itertools.product((0, 1), repeat=8):
        hits = np.array(outcome, dtype=bool)
        expected[hits.sum()] += np.prod(np.where(hits, chances, 1 - chances))
    assert poisson_binomial_pmf(chances) == pytest.approx(expected, abs=1e-15)


def test_each_row_of_a_matrix_gets_its_own_distribution() -> None:
    rows = poisson_binomial_pmf([[0.5, 0.5, 0.0], [1.0, 0.25, 0.0]])
    assert rows.tolist() == [[0.25, 0.5, 0.25, 0], [0, 0.75, 0.25, 0]]


def test_tiny_tails_keep_their_precision() -> None:
    tail = upper_tail(poisson_binomial_pmf([1e-3] * 10))
    assert tail[10] == pytest.approx(1e-30, rel=1e-12)
    assert tail[1] == pytest.approx(1 - 0.999**10, rel=1e-12)
    assert tail[11] == 0


@pytest.mark.parametrize("bad", [[1.5], [-0.1], [float("nan")]])
def test_probabilities_outside_zero_to_one_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        poisson_binomial_pmf(bad)


# --- codes, shares and the one-hot matrix ----------------------------------------------------------


def test_codes_number_the_distinct_wrong_answers_of_each_question() -> None:
    answers = [(10, 1, '"B"'), (11, 1, '"B"'), (12, 1, '"C"'), (11, 2, '"B"'), (99, 1, '"B"'), (10, 7, '"D"')]
    codes = wrong_answer_codes(answers, sitting_ids=[10, 11, 12], question_ids=[1, 2])
    assert codes.tolist() == [[0, NOT_WRONG], [0, 0], [1, NOT_WRONG]]  # sitting 99 and question 7 ignored


def test_match_probabilities_of_the_tiny_exam() -> None:
    assert match_probabilities(TINY_CODES) == pytest.approx([3 / 8, 3 / 8, 3 / 8, 1])
    assert match_probabilities([[NOT_WRONG], [NOT_WRONG]]).tolist() == [0]  # nobody wrong


def test_the_one_hot_matrix_keeps_only_answers_given_twice() -> None:
    one_hot = shared_one_hot(TINY_CODES)
    # One column each for 1.1 B, 1.2 B, 1.3 C and 1.4 false; the answers one sitting gave are left out.
    assert one_hot.dtype == np.float32 and one_hot.shape == (5, 4)
    assert one_hot.sum(axis=1).tolist() == [4, 4, 1, 0, 0]


# --- pairs -------------------------------------------------------------------------------------


def test_the_tiny_exam_gives_the_numbers_worked_out_by_hand() -> None:
    found = similar_pairs(TINY_CODES, report_p=0.1)

    assert (found.sittings, found.pairs_total, found.reported_total) == (5, 10, 1)
    (pair,) = found.pairs
    assert (pair.first, pair.second, pair.shared, pair.both_wrong) == (0, 1, 4, 4)
    assert pair.expected == pytest.approx(TINY_EXPECTED)
    assert pair.p_value == pytest.approx(TINY_P, rel=1e-12)
    assert pair.adjusted_p_value == pytest.approx(10 * TINY_P, rel=1e-12)
    assert not pair.flagged
    assert similar_pairs(TINY_CODES).pairs == ()  # 0.0527 is not below the default 0.001


def random_codes(n: int, questions: int, seed: int) -> np.ndarray:
    """Wrong answers drawn at random, some questions with one wrong answer (true/false-like)."""
    rng = np.random.default_rng(seed)
    options = rng.integers(1, 5, questions)
    wrong = rng.uniform(0, 1, (n, 1)) < rng.uniform(0.2, 0.9, (1, questions))
    codes = np.where(wrong, rng.integers(0, 100, (n, questions)) % options, NOT_WRONG)
    codes[3] = codes[7] = rng.integers(0, 100, questions) % options  # a copy, wrong everywhere
    return codes


def brute_force(codes: np.ndarray, report_p: float) -> dict[tuple[int, int], float]:
    """Every pair's p-value by its own dynamic programme: the reference for the bounds and blocks."""
    chances = match_probabilities(codes)
    found = {}
    for i, j in itertools.combinations(range(len(codes)), 2):
        both = (codes[i] >= 0) & (codes[j] >= 0)
        k = int(np.sum(both & (codes[i] == codes[j])))
        p = upper_tail(poisson_binomial_pmf(np.where(both, chances, 0.0)))[k]
        if k >= 2 and p <= report_p:
            found[(i, j)] = float(p)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_bounds_rule_out_no_reportable_pair(seed: int) -> None:
    codes = random_codes(80, 12, seed)
    expected = brute_force(codes, report_p=0.05)
    found = similar_pairs(codes, report_p=0.05, limit=10_000)

    assert {(pair.first, pair.second): pair.p_value for pair in found.pairs} == pytest.approx(expected, rel=1e-12)
    assert found.reported_total == len(expected) > 0
    assert found.evaluated < found.pairs_total / 4  # the bounds spared most of the dynamic programmes


def test_both_bounds_stay_below_the_exact_p_value() -> None:
    codes = random_codes(60, 12, 5)
    chances = match_probabilities(codes)
    wrong = codes >= 0
    checked = 0
    for block in pair_blocks(codes, chances, block_rows=16):
        rows, columns = np.nonzero((block.shared >= 2) & (block.shared > block.certain))
        at = (rows, columns)
        first, second, k = rows + block.start, columns + block.start, block.shared[at].astype(np.int64)
        cheap = mean_log_bound(k, block.certain[at], block.uncertain[at], block.log_chances[at])
        likeliest = likeliest_agreements(wrong, chances, first, second, k)
        _, _, exact = pair_p_values(wrong, chances, first, second, k)
        assert np.all(cheap <= likeliest * (1 + 1e-6)) and np.all(likeliest <= exact * (1 + 1e-9))
        checked += len(k)
    assert checked > 100


def test_blocks_and_the_limit_change_nothing_but_how_many_are_shown() -> None:
    codes = random_codes(70, 10, 4)
    whole = similar_pairs(codes, report_p=0.05, limit=1000, block_rows=70)
    for rows in (1, 6, 33):
        assert similar_pairs(codes, report_p=0.05, limit=1000, block_rows=rows) == whole
    top = similar_pairs(codes, report_p=0.05, limit=3, block_rows=5)
    assert top.pairs == whole.pairs[:3] and top.reported_total == whole.reported_total
    p_values = [pair.p_value for pair in whole.pairs]
    assert p_values == sorted(p_values)
    assert (whole.pairs[0].first, whole.pairs[0].second) == (3, 7)  # the copy


def test_no_sittings_or_no_questions_give_an_empty_result() -> None:
    for codes in (np.zeros((0, 3), dtype=int), np.zeros((5, 0), dtype=int), [[0, 1]]):
        found = similar_pairs(codes)
        assert found.pairs == () and found.reported_total == 0


# --- reading a scored exam -----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_tiny_exam_read_from_the_database(course: Course) -> None:
    sat = tiny_exam(course)

    result = answer_similarity(sat.exam.pk, report_p=0.1)

    assert result.question_numbers == ("1.1", "1.2", "1.3", "1.4")  # 1.5, graded by hand, is not compared
    assert result.model.match_probabilities == pytest.approx((3 / 8, 3 / 8, 3 / 8, 1))
    (pair,) = result.pairs
    assert {pair.first.net_id, pair.second.net_id} == {"ann", "ben"}
    assert pair.first.sitting_id == sat.sittings["ann"].pk and pair.first.full_name == "Ann"
    assert (pair.shared, pair.both_wrong, pair.questions) == (4, 4, ("1.1", "1.2", "1.3", "1.4"))
    assert pair.expected == pytest.approx(TINY_EXPECTED)
    assert pair.p_value == pytest.approx(TINY_P)
    assert pair.adjusted_p_value == pytest.approx(10 * TINY_P)
    assert not pair.flagged and result.flagged_count == 0


@pytest.mark.django_db
def test_an_answer_a_grader_gave_full_marks_is_not_wrong(course: Course) -> None:
    """Ben's 1.3 overridden to full marks: S = {1.1, 1.2, 1.4}, X = 1 + Binomial(2, 3/8),
    P(X ≥ 3) = (3/8)² = 9/64."""
    sat = tiny_exam(course)
    AnswerScore.objects.filter(sitting=sat.sittings["ben"], question__number="1.3").update(
        points=F("max_points"), source=ScoreSource.OVERRIDE
    )

    (pair,) = answer_similarity(sat.exam.pk, report_p=0.2).pairs

    assert (pair.shared, pair.both_wrong, pair.questions) == (3, 3, ("1.1", "1.2", "1.4"))
    assert pair.p_value == pytest.approx(9 / 64)


@pytest.mark.django_db
def test_only_scored_sittings_are_compared(course: Course) -> None:
    sat = tiny_exam(course)
    Sitting.objects.filter(pk=sat.sittings["ben"].pk).update(status="in_progress")  # reopened

    result = answer_similarity(sat.exam.pk, report_p=0.5)

    assert result.model.sittings == 4 and result.pairs == ()


@pytest.mark.django_db
def test_the_copied_exam_flags_its_copy(course: Course) -> None:
    sat = copied_exam(course)

    result = answer_similarity(sat.exam.pk)

    (pair,) = result.pairs
    assert (pair.first.net_id, pair.second.net_id) == ("pia", "quinn")
    assert (pair.shared, pair.both_wrong) == (8, 8)
    assert pair.expected == pytest.approx(COPIED_EXPECTED)
    assert pair.p_value == pytest.approx(COPIED_P)
    assert pair.adjusted_p_value == pytest.approx(15 * COPIED_P)
    assert pair.flagged and result.flagged_count == 1


# --- a copy planted among simulated students -----------------------------------------------------


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


def score(exam: Exam) -> None:
    job, created = job_request(exam=exam, trigger=GradingJob.Trigger.COMMAND)
    assert created
    job_run_inline(job.pk, now=timezone.now())


def auto_scored(exam: Exam) -> list[Question]:
    return [q for q in Question.objects.filter(exam=exam).exclude(kind="group") if get_kind(q.kind).auto_scored]


# With the median student (by wrong answers on the 25 auto-scored questions) copied by the weakest,
# the copy was the top and only flagged pair in 28 of the seeds 1–40 (computed from
# grading.simulate.answers_plan); in the other 12 it was not flagged (too few of the copied wrong
# answers are informative: a shared wrong true/false answer is certain once both got it wrong).
# No unplanted pair was flagged in any of the 40. Seed 4 gives the copy an adjusted p of about 5e-6.
PLANTED_SEED = 4


@pytest.mark.django_db
def test_a_copy_planted_among_300_simulated_students_is_the_top_pair(course: Course) -> None:
    exam = import_seed(course)
    sittings_simulate(exam_id=exam.pk, students=300, seed=PLANTED_SEED, now=NOW)
    score(exam)
    questions = auto_scored(exam)
    assert len(questions) == 25
    wrong = dict.fromkeys(Sitting.objects.filter(exam=exam).values_list("pk", flat=True), 0)
    for sitting_id in AnswerScore.objects.filter(
        question__in=questions, blank=False, auto_points__lt=F("max_points")
    ).values_list("sitting_id", flat=True):
        wrong[sitting_id] += 1
    by_wrong = sorted(wrong, key=lambda sitting_id: (wrong[sitting_id], sitting_id))
    source, copier = by_wrong[len(by_wrong) // 2 - 1], by_wrong[-1]

    copied = {a.question_id: a.value for a in Answer.objects.filter(sitting_id=source, question__in=questions)}
    for question in questions:
        Answer.objects.update_or_create(
            sitting_id=copier,
            question=question,
            defaults={"value": copied.get(question.pk), "seq": 999, "saved_at": NOW},
        )
    score(exam)

    result = answer_similarity(exam.pk)
    top, *others = result.pairs
    assert {top.first.sitting_id, top.second.sitting_id} == {source, copier}
    assert top.shared == top.both_wrong == wrong[source]
    assert top.flagged and top.adjusted_p_value < 1e-4
    assert not any(pair.flagged for pair in others)


@pytest.mark.django_db
def test_the_simpler_model_would_flag_innocent_students(course: Course) -> None:
    """Why the model takes the questions both got wrong as given: on the same 300 simulated
    students, with nobody copying, matching with probability Σ_o p_{q,o}² over all sittings
    (p the shares of all n sittings) flags pairs of weak students; this model flags none."""
    exam = import_seed(course)
    specs = [spec for section in exam_specs(exam.pk) for spec in section.questions]
    plan = answers_plan(specs=specs, students=300, seed=PLANTED_SEED)  # as sittings_simulate draws them
    answers = []
    for question in plan.questions:
        if not get_kind(question.spec.kind).auto_scored:
            continue
        for student in range(plan.students):
            value = question.value(student)
            scored = score_answer(question.spec, value)
            if value is not None and not scored.is_full and not scored.needs_manual:
                answers.append((student, question.spec.question_id or 0, json.dumps(value, sort_keys=True)))
    auto = [spec.question_id or 0 for spec in specs if get_kind(spec.kind).auto_scored]
    codes = wrong_answer_codes(answers, sitting_ids=range(300), question_ids=auto)

    assert similar_pairs(codes).flagged_count == 0

    n = len(codes)
    shares = [np.sum((np.bincount(column[column >= 0]) / n) ** 2) for column in codes.T]
    tail = upper_tail(poisson_binomial_pmf(shares))
    one_hot = shared_one_hot(codes)
    shared = np.triu((one_hot @ one_hot.T).astype(int), 1)
    adjusted = np.minimum(1, tail[shared] * n * (n - 1) / 2)
    assert int(np.sum(np.triu(adjusted < 0.05, 1))) > 0


# --- sittings: the proctoring record ---------------------------------------------------------------


def record(sitting: Sitting, kind: str, times: int = 1, ip: str | None = "10.0.0.1") -> None:
    ProctorEvent.objects.bulk_create(
        ProctorEvent(sitting=sitting, kind=kind, at=NOW + timedelta(seconds=i), ip=ip) for i in range(times)
    )


def signed(sitting: Sitting, ip: str | None) -> None:
    HonorCodeSignature.objects.create(sitting=sitting, typed_name="x", statement="I agree.", signed_at=NOW, ip=ip)


@pytest.fixture
def proctored(course: Course) -> dict[str, Sitting]:
    """alice: 10 focus losses; bob: 9 focus losses, pastes and hidden pages, one address; carol:
    a second address in an event; dave: every flag; erin: nothing at all."""
    exam = ExamFactory.create(course=course, published=True)
    add_question(SectionFactory.create(exam=exam, number=1), kind="true_false", key={"value": True})
    users = {}
    for net_id in ("alice", "bob", "carol", "dave", "erin"):
        users[net_id] = UserFactory.create(net_id=net_id, full_name=net_id.title())
        member(users[net_id], course, "student")
    sittings = {net_id: sit(exam, user, {}) for net_id, user in users.items()}
    Sitting.objects.filter(exam=exam).update(start_ip="10.0.0.1")
    for net_id in ("alice", "bob", "carol", "dave"):
        signed(sittings[net_id], "10.0.0.1")
    record(sittings["alice"], ProctorEventKind.FOCUS_LOSS, 10)
    record(sittings["bob"], ProctorEventKind.FOCUS_LOSS, 9)
    record(sittings["bob"], ProctorEventKind.PASTE, 3)
    record(sittings["bob"], ProctorEventKind.VISIBILITY, 2)
    record(sittings["carol"], ProctorEventKind.VISIBILITY, 1, ip="10.0.0.2")
    record(sittings["carol"], ProctorEventKind.LATE_SAVE, 1, ip=None)
    record(sittings["dave"], ProctorEventKind.FOCUS_LOSS, 12)
    record(sittings["dave"], ProctorEventKind.TAKEOVER, 2, ip="2001:db8::1")
    Sitting.objects.filter(pk=sittings["erin"].pk).update(start_ip=None)
    return sittings


@pytest.mark.django_db
def test_sittings_are_flagged_for_focus_losses_addresses_and_takeovers(proctored: dict[str, Sitting]) -> None:
    exam_id = proctored["alice"].exam_id

    flagged = {row.net_id: row for row in suspicious_sittings(exam_id)}

    assert list(flagged) == ["dave", "carol", "alice"]  # most reasons first, then takeovers, addresses, focus
    dave = flagged["dave"]
    assert (dave.focus_losses, dave.takeovers, dave.ips) == (12, 2, ("10.0.0.1", "2001:db8::1"))
    assert dave.reasons == (
        "The window lost focus 12 times (flagged from 10)",
        "Seen from 2 IP addresses",
        "Another tab or device took the sitting over 2 times",
    )
    assert flagged["alice"].reasons == ("The window lost focus 10 times (flagged from 10)",)
    carol = flagged["carol"]
    assert (carol.visibility_changes, carol.ips, carol.reasons) == (
        1,
        ("10.0.0.1", "10.0.0.2"),
        ("Seen from 2 IP addresses",),
    )
    assert (dave.sitting_id, dave.full_name, dave.status) == (proctored["dave"].pk, "Dave", "submitted")


@pytest.mark.django_db
def test_the_focus_loss_threshold_comes_from_the_setting_or_the_caller(proctored: dict[str, Sitting]) -> None:
    exam_id = proctored["alice"].exam_id

    with override_settings(EXAMHALL_INTEGRITY_FOCUS_LOSSES=5):
        bob = {row.net_id: row for row in suspicious_sittings(exam_id)}["bob"]
    assert (bob.focus_losses, bob.pastes, bob.visibility_changes) == (9, 3, 2)
    assert bob.reasons == ("The window lost focus 9 times (flagged from 5)",)

    assert [row.net_id for row in suspicious_sittings(exam_id, focus_losses=11)] == ["dave", "carol"]
    assert [row.net_id for row in suspicious_sittings(exam_id, focus_losses=13)] == ["dave", "carol"]


@pytest.mark.django_db
def test_events_of_another_exam_do_not_count(proctored: dict[str, Sitting], course: Course) -> None:
    other = ExamFactory.create(course=course)
    elsewhere = sit(other, User.objects.get(net_id="alice"), {})
    record(elsewhere, ProctorEventKind.TAKEOVER, 1, ip=None)

    (alice,) = suspicious_sittings(other.pk)
    assert (alice.net_id, alice.focus_losses, alice.ips) == ("alice", 0, ())
    assert alice.reasons == ("Another tab or device took the sitting over",)
    assert [row.net_id for row in suspicious_sittings(proctored["alice"].exam_id)] == ["dave", "carol", "alice"]
