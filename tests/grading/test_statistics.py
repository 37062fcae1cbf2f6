"""Item statistics: values worked out by hand, degenerate inputs, and properties (no database).

The hand-worked exam, five students (alice, bob, charlie, dana, erin) and three questions:

    question     possible   alice  bob  charlie  dana  erin   mean
    Q1            0..1        1     1      1      0     0     0.6
    Q2            0..2        2     2      0      1     0     1.0
    Q3 (T/F)     −1..2        2    −1      2     −1    −1     0.2
    total T                   5     2      3      0    −1     1.8

Deviations from the mean and sums of squares (sample variances divide by n − 1 = 4):

    d1 =  .4   .4   .4  −.6  −.6    Σd1² = 3·.16 + 2·.36            = 1.2   var x1 = 0.3
    d2 =  1    1   −1    0   −1     Σd2² = 4                        = 4     var x2 = 1
    d3 = 1.8 −1.2  1.8 −1.2 −1.2    Σd3² = 2·3.24 + 3·1.44          = 10.8  var x3 = 2.7
    dT = 3.2   .2  1.2 −1.8 −2.8    ΣdT² = 10.24+.04+1.44+3.24+7.84 = 22.8  var T  = 5.7
"""

from __future__ import annotations

import json
import math
import statistics as pystats
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.statistics import (
    LOW_EFFICIENCY,
    NEGATIVE_DISCRIMINATION,
    TOO_EASY,
    TOO_HARD,
    distractor_analysis,
    exam_statistics,
    grid_accuracy,
    item_statistics,
    question_statistics,
)

# A RuntimeWarning (0/0, sqrt of a negative) would mean a NaN was computed somewhere.
pytestmark = pytest.mark.filterwarnings("error")

POINTS = [
    [1, 2, 2],  # alice
    [1, 2, -1],  # bob
    [1, 0, 2],  # charlie
    [0, 1, -1],  # dana
    [0, 0, -1],  # erin
]
MIN_POINTS = [0, 0, -1]
MAX_POINTS = [1, 2, 2]
# dana and erin left Q1 blank, erin Q2.
BLANK = [
    [False, False, False],
    [False, False, False],
    [False, False, False],
    [True, False, False],
    [True, True, False],
]


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def hand_worked() -> Any:
    return item_statistics(
        POINTS, min_points=MIN_POINTS, max_points=MAX_POINTS, blank=BLANK, guess_scores=[None, None, 0.5]
    )


# --- the hand-worked exam -------------------------------------------------------------------------


def test_facility_sd_weights_and_blank_rate_by_hand() -> None:
    q1, q2, q3 = hand_worked().questions
    # facility = (mean − min) / (max − min): Q1 0.6/1, Q2 1/2, Q3 (0.2 + 1)/3.
    assert [q1.facility, q2.facility, q3.facility] == [approx(0.6), approx(0.5), approx(0.4)]
    # sd = √var / (max − min): Q1 √0.3/1, Q2 √1/2, Q3 √2.7/3 = √0.3.
    assert [q1.sd, q2.sd, q3.sd] == [approx(math.sqrt(0.3)), approx(0.5), approx(math.sqrt(0.3))]
    # intended weight = 100 · max / Σ max, Σ max = 1 + 2 + 2 = 5.
    assert [q1.intended_weight, q2.intended_weight, q3.intended_weight] == [20, 40, 40]
    # blank rate: 2, 1 and 0 of 5.
    assert [q1.blank_rate, q2.blank_rate, q3.blank_rate] == [approx(0.4), approx(0.2), 0]
    assert [q1.random_guess_score, q2.random_guess_score, q3.random_guess_score] == [None, None, 0.5]


def test_q1_discrimination_by_hand() -> None:
    # rest X1 = T − x1 = 4 1 2 0 −1, mean 1.2, dX1 = 2.8 −.2 .8 −1.2 −2.2,
    #   ΣdX1² = 7.84 + .04 + .64 + 1.44 + 4.84 = 14.8, var X1 = 3.7.
    # Σ d1·dX1 = .4·2.8 + .4·(−.2) + .4·.8 + (−.6)(−1.2) + (−.6)(−2.2)
    #          = 1.12 − .08 + .32 + .72 + 1.32 = 3.4, cov = 0.85.
    # discrimination index = 100 · 0.85 / √(0.3 · 3.7) = 85 / √1.11 ≈ 80.678.
    # sorted d1 = −.6 −.6 .4 .4 .4 against sorted dX1 = −2.2 −1.2 −.2 .8 2.8:
    #   1.32 + .72 − .08 + .32 + 1.12 = 3.4, so cov_max = cov and the efficiency is 100.
    q1 = hand_worked().questions[0]
    assert q1.discrimination_index == approx(85 / math.sqrt(1.11))
    assert q1.discriminative_efficiency == approx(100)
    assert q1.flags == ()


def test_q2_discrimination_by_hand_and_its_low_efficiency_flag() -> None:
    # X2 = 3 0 3 −1 −1, mean 0.8, dX2 = 2.2 −.8 2.2 −1.8 −1.8,
    #   ΣdX2² = 4.84 + .64 + 4.84 + 3.24 + 3.24 = 16.8, var X2 = 4.2.
    # Σ d2·dX2 = 2.2 − .8 − 2.2 + 0 + 1.8 = 1.0, cov = 0.25.
    # discrimination index = 100 · 0.25 / √(1 · 4.2) = 25 / √4.2 ≈ 12.199.
    # sorted d2 = −1 −1 0 1 1 against sorted dX2 = −1.8 −1.8 −.8 2.2 2.2:
    #   1.8 + 1.8 + 0 + 2.2 + 2.2 = 8, efficiency = 100 · 1 / 8 = 12.5, below 15.
    q2 = hand_worked().questions[1]
    assert q2.discrimination_index == approx(25 / math.sqrt(4.2))
    assert q2.discriminative_efficiency == approx(12.5)
    assert q2.flags == (LOW_EFFICIENCY,)


def test_q3_discrimination_by_hand() -> None:
    # X3 = 3 3 1 1 0, mean 1.6, dX3 = 1.4 1.4 −.6 −.6 −1.6,
    #   ΣdX3² = 2·1.96 + 2·.36 + 2.56 = 7.2, var X3 = 1.8.
    # Σ d3·dX3 = 2.52 − 1.68 − 1.08 + .72 + 1.92 = 2.4, cov = 0.6.
    # discrimination index = 100 · 0.6 / √(2.7 · 1.8) = 60 / √4.86 ≈ 27.217.
    # sorted d3 = −1.2 −1.2 −1.2 1.8 1.8 against sorted dX3 = −1.6 −.6 −.6 1.4 1.4:
    #   1.92 + .72 + .72 + 2.52 + 2.52 = 8.4, efficiency = 100 · 2.4 / 8.4 ≈ 28.571.
    q3 = hand_worked().questions[2]
    assert q3.discrimination_index == approx(60 / math.sqrt(4.86))
    assert q3.discriminative_efficiency == approx(100 * 2.4 / 8.4)


def test_effective_weights_by_hand() -> None:
    # cov(x, T) = var x + cov(x, X): Q1 0.3 + 0.85 = 1.15, Q2 1 + 0.25 = 1.25, Q3 2.7 + 0.6 = 3.3
    # (they add up to var T = 5.7). Effective weight = 100 · √cov / (√1.15 + √1.25 + √3.3).
    roots = [math.sqrt(1.15), math.sqrt(1.25), math.sqrt(3.3)]
    weights = [q.effective_weight for q in hand_worked().questions]
    assert weights == [approx(100 * r / sum(roots)) for r in roots]
    assert weights[2] == pytest.approx(45.335, abs=5e-4)  # 100 · 1.8166 / 4.0070


def test_exam_statistics_by_hand() -> None:
    exam = hand_worked().exam
    # Totals sorted: −1 0 2 3 5.
    assert (exam.n, exam.mean, exam.median, exam.min, exam.max) == (5, approx(1.8), 2, -1, 5)
    assert exam.sd == approx(math.sqrt(5.7))
    # m2 = 22.8/5 = 4.56; Σ dT³ = 32.768 + .008 + 1.728 − 5.832 − 21.952 = 6.72, m3 = 1.344;
    # Σ dT⁴ = 104.8576 + .0016 + 2.0736 + 10.4976 + 61.4656 = 178.896, m4 = 35.7792.
    # k2 = 5·4.56/4 = 5.7; k3 = 25·1.344/(4·3) = 2.8; skewness = 2.8 / 5.7^1.5 ≈ 0.2058.
    # k4 = 25·(6·35.7792 − 3·4·4.56²)/(4·3·2) = 25·(214.6752 − 249.5232)/24 = −36.3;
    # kurtosis = −36.3 / 5.7² = −36.3 / 32.49 ≈ −1.1173.
    assert exam.skewness == approx(2.8 / 5.7**1.5)
    assert exam.kurtosis == approx(-36.3 / 32.49)
    # CIC = 100 · 3/2 · (1 − (0.3 + 1 + 2.7)/5.7) = 150 · 1.7/5.7 = 2550/57 ≈ 44.74;
    # 1 − CIC/100 = 3150/5700 = 21/38: error ratio = 100·√(21/38) ≈ 74.34,
    # standard error = √5.7 · √(21/38) = √3.15 ≈ 1.7748.
    assert exam.cic == approx(2550 / 57)
    assert exam.error_ratio == approx(100 * math.sqrt(21 / 38))
    assert exam.standard_error == approx(math.sqrt(3.15))


def test_histogram_by_hand() -> None:
    # Whole-number totals from −1 to the maximum 5: bins of 1 point, the last one closed.
    histogram = hand_worked().exam.histogram
    assert histogram.edges == (-1, 0, 1, 2, 3, 4, 5)
    assert histogram.counts == (1, 1, 0, 1, 1, 1)  # −1 | 0 | – | 2 | 3 | 5 (in [4, 5])


def test_as_dict_is_json_with_the_names_instructors_know() -> None:
    data = hand_worked().as_dict()
    json.dumps(data, allow_nan=False)
    assert set(data["exam"]) == {
        "n",
        "mean",
        "median",
        "sd",
        "min",
        "max",
        "skewness",
        "kurtosis",
        "cic",
        "error_ratio",
        "standard_error",
        "histogram",
    }
    assert data["exam"]["histogram"] == {"edges": [-1, 0, 1, 2, 3, 4, 5], "counts": [1, 1, 0, 1, 1, 1]}
    assert set(data["questions"][0]) == {
        "facility",
        "sd",
        "discrimination_index",
        "discriminative_efficiency",
        "intended_weight",
        "effective_weight",
        "random_guess_score",
        "blank_rate",
        "flags",
    }
    assert data["questions"][1]["flags"] == [LOW_EFFICIENCY]


# --- flags, negative covariance -----------------------------------------------------------------


def test_a_question_that_the_weak_students_get_right_is_flagged() -> None:
    # Q1 (0..1) = 0 0 1 1 and Q2 (0..3) = 3 3 0 0: T = 3 3 1 1, the rest of each question is the other.
    # d1 = −.5 −.5 .5 .5, d2 = 1.5 1.5 −1.5 −1.5, dT = 1 1 −1 −1 (n − 1 = 3).
    # corr(x1, x2) = −1: discrimination −100 both ways; cov(x1, x2) = 4·(−.75)/3 = −1 and
    # cov_max = 4·.75/3 = 1: efficiency −100.
    # cov(x1, T) = 4·(−.5)/3 < 0: no effective weight; cov(x2, T) = 4·1.5/3 = 2, so Q2 has all of it.
    # var x1 = 1/3, var x2 = 3, var T = 4/3: CIC = 100 · 2 · (1 − (10/3)/(4/3)) = −300,
    # error ratio = 100 · √(1 + 3) = 200, standard error = √(4/3) · 2.
    result = item_statistics(
        [[0, 3], [0, 3], [1, 0], [1, 0]], min_points=[0, 0], max_points=[1, 3], blank=np.zeros((4, 2), bool)
    )
    q1, q2 = result.questions
    assert (q1.discrimination_index, q1.discriminative_efficiency) == (approx(-100), approx(-100))
    assert q1.flags == (NEGATIVE_DISCRIMINATION, LOW_EFFICIENCY)
    assert (q1.effective_weight, q2.effective_weight) == (None, approx(100))
    assert result.exam.cic == approx(-300)
    assert result.exam.error_ratio == approx(200)
    assert result.exam.standard_error == approx(2 * math.sqrt(4 / 3))


@pytest.mark.parametrize(
    ("right", "flags"),
    [(1, (TOO_HARD,)), (2, ()), (19, ()), (20, (TOO_EASY,))],
    ids=["5% hard", "10% not flagged", "95% not flagged", "100% easy"],
)
def test_facility_flags_are_strictly_outside_10_to_95_percent(right: int, flags: tuple[str, ...]) -> None:
    points = np.zeros((20, 1))
    points[:right] = 1
    (stats,) = question_statistics(points, min_points=[0], max_points=[1], blank=np.zeros((20, 1), bool))
    assert stats.facility == approx(right / 20)
    assert stats.flags == flags


# --- degenerate inputs ------------------------------------------------------------------------------


def test_no_sittings() -> None:
    result = item_statistics(np.empty((0, 2)), min_points=[0, 0], max_points=[2, 3], blank=np.empty((0, 2), bool))
    q = result.questions[0]
    assert (q.facility, q.sd, q.discrimination_index, q.effective_weight, q.blank_rate) == (None,) * 5
    assert q.intended_weight == 40
    exam = result.exam
    assert exam.n == 0
    assert (exam.mean, exam.median, exam.sd, exam.min, exam.max, exam.cic) == (None,) * 6
    assert exam.histogram.edges == (0, 1, 2, 3, 4, 5)
    assert exam.histogram.counts == (0,) * 5


def test_one_sitting_has_a_facility_but_no_spread() -> None:
    result = item_statistics([[1, 0]], min_points=[0, 0], max_points=[2, 2], blank=[[False, True]])
    q1, q2 = result.questions
    assert (q1.facility, q2.facility, q2.blank_rate) == (0.5, 0, 1)
    assert (q1.sd, q1.discrimination_index, q1.discriminative_efficiency, q1.effective_weight) == (None,) * 4
    assert (result.exam.mean, result.exam.sd, result.exam.skewness, result.exam.cic) == (1, None, None, None)


def test_skewness_needs_three_sittings_and_kurtosis_four() -> None:
    blank = np.zeros((4, 2), bool)
    two = exam_statistics([[0, 1], [2, 2]], max_total=4)
    three = exam_statistics([[0, 1], [2, 2], [1, 0]], max_total=4)
    four = exam_statistics([[0, 1], [2, 2], [1, 0], [2, 1]], max_total=4)
    assert two.sd is not None and (two.skewness, two.kurtosis) == (None, None)
    assert three.skewness is not None and three.kurtosis is None
    assert four.skewness is not None and four.kurtosis is not None
    assert item_statistics([[0, 1], [2, 2], [1, 0], [2, 1]], min_points=[0, 0], max_points=[2, 2], blank=blank)


def test_a_question_everyone_scored_the_same_on_has_no_discrimination() -> None:
    # Points in tenths: the column's mean 0.1 + 0.2 is not exactly 0.3 in floating point, and
    # its deviations are noise, not a spread.
    points = [[0.3, 1], [0.3, 0], [0.3, 2], [0.3, 1]]
    q1, q2 = question_statistics(points, min_points=[0, 0], max_points=[1, 2], blank=np.zeros((4, 2), bool))
    assert q1.sd == 0
    assert (q1.discrimination_index, q1.discriminative_efficiency) == (None, None)
    assert q1.effective_weight == 0  # a constant question carries none of the spread of the totals
    # Its rest is Q2 shifted by 0.3, and Q2's rest is the constant Q1: no discrimination either.
    assert (q2.discrimination_index, q2.discriminative_efficiency) == (None, None)
    assert q2.effective_weight == approx(100)


def test_constant_totals_have_no_shape_and_no_reliability() -> None:
    # Everyone totals 2, in different ways.
    points = [[0.1, 1.9], [1.3, 0.7], [2.0, 0.0], [0.7, 1.3]]
    result = item_statistics(points, min_points=[0, 0], max_points=[2, 2], blank=np.zeros((4, 2), bool))
    exam = result.exam
    assert exam.sd == 0
    assert (exam.skewness, exam.kurtosis, exam.cic, exam.error_ratio, exam.standard_error) == (None,) * 5
    assert all(q.effective_weight is None for q in result.questions)
    assert all(q.discrimination_index == approx(-100) for q in result.questions)  # x and T − x mirror each other


def test_one_question_has_no_cic_and_no_rest() -> None:
    result = item_statistics([[0], [1], [2]], min_points=[0], max_points=[2], blank=np.zeros((3, 1), bool))
    assert result.exam.cic is None and result.exam.sd == 1
    assert result.questions[0].discrimination_index is None  # the rest of the exam is nothing: 0
    assert result.questions[0].effective_weight == 100


def test_a_question_worth_nothing_has_no_facility() -> None:
    (stats,) = question_statistics([[0], [0]], min_points=[0], max_points=[0], blank=np.zeros((2, 1), bool))
    assert (stats.facility, stats.sd, stats.intended_weight) == (None, None, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": [1, 2]}, "n × P matrix"),
        ({"points": [[1.0, math.nan]]}, "finite"),
        ({"max_points": [1]}, "one value per question"),
        ({"min_points": [3, 0]}, "must not exceed"),
        ({"blank": [[False]]}, "blank has shape"),
        ({"guess_scores": [0.5]}, "guess_scores needs one value per question"),
    ],
)
def test_bad_input_is_a_value_error(kwargs: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "points": [[1, 2]],
        "min_points": [0, 0],
        "max_points": [2, 2],
        "blank": [[False, False]],
    }
    with pytest.raises(ValueError, match=message):
        question_statistics(**(arguments | kwargs))


# --- histogram ------------------------------------------------------------------------------------


def test_histogram_bins_of_a_100_point_exam_are_5_points_wide() -> None:
    histogram = exam_statistics([[50.0], [99.5], [100.0], [0.0], [4.99]], max_total=100).histogram
    assert histogram.edges == tuple(range(0, 101, 5))
    assert histogram.counts[0] == 2 and histogram.counts[10] == 1 and histogram.counts[-1] == 2


def test_histogram_widens_for_extra_credit_and_negative_totals() -> None:
    histogram = exam_statistics([[-3.5], [12.0], [7.25]], max_total=10).histogram
    # Span −3.5..12: 15.5 / 20 bins → 1 point wide, from −4 to 12.
    assert (histogram.edges[0], histogram.edges[-1]) == (-4, 12)
    assert sum(histogram.counts) == 3


# --- distractors and grids ------------------------------------------------------------------------


def test_distractor_shares_in_the_top_and_bottom_27_percent() -> None:
    # 10 sittings: each group holds round(2.7) = 3. Top by total: 9 and 8, then the two 7s share
    # the last place (half each). Bottom: the two 1s and 2.
    totals = [9, 8, 7, 7, 5, 4, 3, 2, 1, 1]
    answers = ["AC", "A", "B", "A", "", "C", "B", "B", "", "C"]
    analysis = distractor_analysis(answers, totals=totals, labels="ABC")
    shares = {o.label: (o.top, o.bottom) for o in analysis.options}
    assert analysis.group_size == 3
    # Top: A chosen by 9 (1), 8 (1) and one 7 (½): 2.5/3; B by the other 7: ½/3; C by 9: 1/3.
    # Bottom: B by 2 (1); C by one 1 (1); the other 1 is blank: 1/3 each.
    assert shares == {
        "A": (approx(2.5 / 3), 0),
        "B": (approx(0.5 / 3), approx(1 / 3)),
        "C": (approx(1 / 3), approx(1 / 3)),
    }
    assert (analysis.top_blank, analysis.bottom_blank) == (0, approx(1 / 3))
    json.dumps(analysis.as_dict(), allow_nan=False)


def test_distractor_analysis_of_true_false() -> None:
    analysis = distractor_analysis(["T", "F", "T", "", "F"], totals=[5, 2, 3, 0, -1], labels=["T", "F"])
    # round(1.35) = 1 sitting per group: alice (5) chose T, erin (−1) chose F.
    assert [(o.label, o.top, o.bottom) for o in analysis.options] == [("T", 1, 0), ("F", 0, 1)]


def test_distractor_analysis_reads_labels_longer_than_a_letter() -> None:
    # 3.5.1: which class, Zom, Flom or Nom. Four sittings, one per group.
    analysis = distractor_analysis(["Nom", "Zom", "FlomNom", ""], totals=[3, 0, 1, 2], labels=["Zom", "Flom", "Nom"])
    assert [(o.label, o.top, o.bottom) for o in analysis.options] == [("Zom", 0, 1), ("Flom", 0, 0), ("Nom", 1, 0)]


def test_distractor_analysis_refuses_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="'AX' is not made of the labels A, B"):
        distractor_analysis(["A", "AX"], totals=[1, 2], labels="AB")
    with pytest.raises(ValueError, match="none may begin another"):
        distractor_analysis(["A1"], totals=[1], labels=["A", "A1"])
    with pytest.raises(ValueError, match="distinct"):
        distractor_analysis(["A"], totals=[1], labels=["A", "A"])
    with pytest.raises(ValueError, match="2 summaries"):
        distractor_analysis(["A", "B"], totals=[1], labels="AB")
    empty = distractor_analysis([], totals=[], labels="AB")
    assert (empty.group_size, empty.options[0].top, empty.top_blank) == (0, None, None)


def test_grid_accuracy_per_cell() -> None:
    # Three answered grids of 3 cells (the blank one is left out): 3/3, 2/3 and 1/3 right.
    accuracy = grid_accuracy(["110", "100", "", "111"], cells=3)
    assert accuracy.answered == 3
    assert accuracy.cells == (1, approx(2 / 3), approx(1 / 3))
    assert grid_accuracy(["", ""], cells=2).cells == (None, None)
    with pytest.raises(ValueError, match="not 3 characters"):
        grid_accuracy(["11"], cells=3)
    with pytest.raises(ValueError, match="not 2 characters"):
        grid_accuracy(["1+"], cells=2)


# --- properties -----------------------------------------------------------------------------------


@st.composite
def exams(draw: st.DrawFn) -> tuple[np.ndarray[Any, Any], list[float], list[float], np.ndarray[Any, Any]]:
    """Points in halves within each question's range (ties and constant columns are likely)."""
    n = draw(st.integers(0, 25))
    questions = draw(st.integers(1, 5))
    lows = [draw(st.sampled_from([0.0, -1.0])) for _ in range(questions)]
    highs = [draw(st.sampled_from([0.5, 1.0, 2.0, 4.0])) for _ in range(questions)]
    columns = [
        draw(st.lists(st.integers(int(2 * low), int(2 * high)), min_size=n, max_size=n))
        for low, high in zip(lows, highs, strict=True)
    ]
    points = np.array(columns, dtype=np.float64).T.reshape(n, questions) / 2
    blank = np.array(draw(st.lists(st.booleans(), min_size=n * questions, max_size=n * questions))).reshape(
        n, questions
    )
    return points, lows, highs, blank


def analyse(exam: tuple[np.ndarray[Any, Any], list[float], list[float], np.ndarray[Any, Any]]) -> Any:
    points, lows, highs, blank = exam
    return item_statistics(points, min_points=lows, max_points=highs, blank=blank)


@given(exams())
@settings(max_examples=200, deadline=None)
def test_every_statistic_is_in_its_range_and_never_nan(exam: Any) -> None:
    result = analyse(exam)
    json.dumps(result.as_dict(), allow_nan=False)  # no NaN, no numpy scalar
    for q in result.questions:
        assert q.facility is None or 0 <= q.facility <= 1
        assert q.blank_rate is None or 0 <= q.blank_rate <= 1
        assert q.sd is None or q.sd >= 0
        assert q.discrimination_index is None or -100 <= q.discrimination_index <= 100
        assert q.discriminative_efficiency is None or q.discriminative_efficiency <= 100
        assert (q.discrimination_index is None) == (q.discriminative_efficiency is None)
    weights = [q.effective_weight for q in result.questions if q.effective_weight is not None]
    assert not weights or sum(weights) == approx(100)
    assert sum(result.exam.histogram.counts) == result.exam.n


@given(exams())
@settings(max_examples=200, deadline=None)
def test_cic_is_cronbachs_alpha_computed_directly(exam: Any) -> None:
    points = exam[0]
    result = analyse(exam)
    n, questions = points.shape
    totals = [float(sum(row)) for row in points.tolist()]
    if n < 2 or questions < 2 or pystats.variance(totals) == 0:
        assert result.exam.cic is None
        return
    item_variances = sum(pystats.variance(points[:, p].tolist()) for p in range(questions))
    alpha = questions / (questions - 1) * (1 - item_variances / pystats.variance(totals))
    assert result.exam.cic == pytest.approx(100 * alpha, rel=1e-9, abs=1e-7)


@given(exams())
@settings(max_examples=200, deadline=None)
def test_discrimination_matches_a_direct_computation(exam: Any) -> None:
    points = exam[0]
    result = analyse(exam)
    n = points.shape[0]
    for p, stats in enumerate(result.questions):
        x = points[:, p].tolist()
        rest = [float(sum(row)) - row[p] for row in points.tolist()]
        if n < 2 or pystats.variance(x) == 0 or pystats.variance(rest) == 0:
            assert stats.discrimination_index is None
            continue
        assert stats.discrimination_index == pytest.approx(100 * pystats.correlation(x, rest), abs=1e-7)
        cov_max = pystats.covariance(sorted(x), sorted(rest))
        assert stats.discriminative_efficiency == pytest.approx(100 * pystats.covariance(x, rest) / cov_max, abs=1e-7)


@given(exams(), st.randoms(use_true_random=False))
@settings(max_examples=100, deadline=None)
def test_the_order_of_the_sittings_changes_nothing(exam: Any, random: Any) -> None:
    points, lows, highs, blank = exam
    order = list(range(points.shape[0]))
    random.shuffle(order)
    shuffled = analyse((points[order], lows, highs, blank[order]))
    original = analyse(exam)
    assert _close(shuffled.as_dict(), original.as_dict())
    totals = points.sum(axis=1)
    labels = "ABC"
    answers = ["".join(sorted({labels[int(v) % 3] for v in row[:2]})) for row in points.tolist()]
    assert _close(
        distractor_analysis([answers[i] for i in order], totals=totals[order], labels=labels).as_dict(),
        distractor_analysis(answers, totals=totals, labels=labels).as_dict(),
    )


def _close(a: Any, b: Any) -> bool:
    """Equal up to float rounding (sums in another order), None and strings exactly."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-9)
    return bool(a == b)
