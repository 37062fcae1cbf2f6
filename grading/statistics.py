"""Moodle's quiz statistics over plain arrays: per question, per exam, distractors and grid cells.

Pure numpy, no ORM: the bulk scoring job builds an n × P matrix of points (one row per
scored sitting, one column per question) and calls ``item_statistics``. The definitions
are DESIGN.md's ("Statistics"), which follow Moodle's quiz statistics report: x is the
points on a question, T the total of the sitting (the row sum), X = T − x the rest of the
exam; variances and covariances are sample ones (n − 1).

Per question:

- facility = (mean x − min possible) / (max possible − min possible), a fraction 0..1;
- sd = SD of x / (max possible − min possible), a fraction of the question's range (DESIGN.md
  says "of its maximum": the same when the minimum is 0, and on facility's scale when negative
  marking lowers it);
- discrimination_index = 100 · corr(x, X);
- discriminative_efficiency = 100 · cov(x, X) / cov_max(x, X), where cov_max pairs the sorted
  values of x with the sorted values of X (so it is at most 100);
- intended_weight = 100 · max_q / Σ max; effective_weight = 100 · √cov(x_q, T) / Σ √cov(x_p, T)
  over the questions whose covariance with T is not negative (None for the others);
- random_guess_score: the expected points of blind guessing, as given by the caller
  (``grading.scoring.guess_score``); blank_rate: the fraction of sittings left blank.

Per exam: n, mean, median, sd, min, max, skewness k3/k2^1.5, kurtosis k4/k2² (Moodle's
k-statistics), a histogram, CIC (Cronbach's alpha in percent), error ratio and standard error.

Nothing undefined leaks out as NaN: a statistic that needs a spread the data lacks (one
sitting, a question everyone scored the same on, a constant total) is ``None``. Spreads are
compared with a tolerance far below a hundredth of a point, so that float noise in sums
(0.1 + 0.2) never passes for a real spread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, SupportsFloat

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

TOP_BOTTOM_SHARE = 0.27
FLAG_MIN_EFFICIENCY = 15.0  # percent
FLAG_MIN_FACILITY = 0.10
FLAG_MAX_FACILITY = 0.95
MAX_HISTOGRAM_BINS = 20

NEGATIVE_DISCRIMINATION = "Negative discrimination: check the answer key"
LOW_EFFICIENCY = f"Discriminative efficiency below {FLAG_MIN_EFFICIENCY:g}%"
TOO_HARD = f"Facility below {FLAG_MIN_FACILITY:.0%}: very hard"
TOO_EASY = f"Facility above {FLAG_MAX_FACILITY:.0%}: very easy"

# Spreads at or below this fraction of the largest absolute total, and covariances at or below
# this fraction of its square, are float noise, not data (points come in hundredths).
_RELATIVE_TOLERANCE = 1e-9
_COVARIANCE_TOLERANCE = 1e-12
# Float noise raises no flag: a facility of 95% computed as 0.9500000000000001 is not above 95%,
# a discrimination of 0 computed as −1e-14 is not negative.
_FLAG_SLACK = 1e-9


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionStatistics:
    """The statistics of one question; fractions are 0..1 (show them as %), indices are percents."""

    facility: float | None
    sd: float | None
    discrimination_index: float | None
    discriminative_efficiency: float | None
    intended_weight: float | None
    effective_weight: float | None
    random_guess_score: float | None
    blank_rate: float | None
    flags: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "facility": self.facility,
            "sd": self.sd,
            "discrimination_index": self.discrimination_index,
            "discriminative_efficiency": self.discriminative_efficiency,
            "intended_weight": self.intended_weight,
            "effective_weight": self.effective_weight,
            "random_guess_score": self.random_guess_score,
            "blank_rate": self.blank_rate,
            "flags": list(self.flags),
        }


@dataclass(frozen=True, slots=True)
class Histogram:
    """``counts[i]`` totals fall in [edges[i], edges[i + 1]); the last bin also holds its right edge."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "counts": list(self.counts)}


@dataclass(frozen=True, slots=True)
class ExamStatistics:
    """The distribution of the totals and the exam's reliability; cic, error_ratio are percents."""

    n: int
    mean: float | None
    median: float | None
    sd: float | None
    min: float | None
    max: float | None
    skewness: float | None
    kurtosis: float | None
    cic: float | None
    error_ratio: float | None
    standard_error: float | None
    histogram: Histogram

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean": self.mean,
            "median": self.median,
            "sd": self.sd,
            "min": self.min,
            "max": self.max,
            "skewness": self.skewness,
            "kurtosis": self.kurtosis,
            "cic": self.cic,
            "error_ratio": self.error_ratio,
            "standard_error": self.standard_error,
            "histogram": self.histogram.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class ItemStatistics:
    exam: ExamStatistics
    questions: tuple[QuestionStatistics, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"exam": self.exam.as_dict(), "questions": [q.as_dict() for q in self.questions]}


@dataclass(frozen=True, slots=True)
class OptionShare:
    """The fraction of the top and of the bottom group that chose the option ``label``."""

    label: str
    top: float | None
    bottom: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "top": self.top, "bottom": self.bottom}


@dataclass(frozen=True, slots=True)
class DistractorAnalysis:
    """Option shares in the top and bottom 27% of sittings by total (``group_size`` sittings each)."""

    group_size: int
    options: tuple[OptionShare, ...]
    top_blank: float | None
    bottom_blank: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "group_size": self.group_size,
            "options": [o.as_dict() for o in self.options],
            "top_blank": self.top_blank,
            "bottom_blank": self.bottom_blank,
        }


@dataclass(frozen=True, slots=True)
class GridAccuracy:
    """The fraction right of each cell (row by row) among the ``answered`` non-blank answers."""

    answered: int
    cells: tuple[float | None, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"answered": self.answered, "cells": list(self.cells)}


# --- entry points -------------------------------------------------------------------------------


def item_statistics(
    points: npt.ArrayLike,
    *,
    min_points: npt.ArrayLike,
    max_points: npt.ArrayLike,
    blank: npt.ArrayLike,
    guess_scores: Sequence[SupportsFloat | None] | None = None,
    max_total: float | None = None,
) -> ItemStatistics:
    """The statistics of every question and of the exam (``max_total`` defaults to Σ max_points)."""
    matrix = _points_matrix(points)
    highs = _per_question(max_points, matrix, "max_points")
    if max_total is None:
        max_total = float(highs.sum())
    return ItemStatistics(
        exam=exam_statistics(matrix, max_total=max_total),
        questions=question_statistics(
            matrix, min_points=min_points, max_points=highs, blank=blank, guess_scores=guess_scores
        ),
    )


def question_statistics(
    points: npt.ArrayLike,
    *,
    min_points: npt.ArrayLike,
    max_points: npt.ArrayLike,
    blank: npt.ArrayLike,
    guess_scores: Sequence[SupportsFloat | None] | None = None,
) -> tuple[QuestionStatistics, ...]:
    """One ``QuestionStatistics`` per column of the n × P ``points`` matrix.

    ``min_points`` and ``max_points`` are each question's possible range (P values),
    ``blank`` an n × P boolean matrix (True where the sitting left the question blank),
    ``guess_scores`` the random-guess score of each question or None where unknown.
    Raises ValueError for shapes that do not match, non-finite points, or min > max.
    """
    x = _points_matrix(points)
    n, questions = x.shape
    lows = _per_question(min_points, x, "min_points")
    highs = _per_question(max_points, x, "max_points")
    if np.any(lows > highs):
        raise ValueError("min_points must not exceed max_points.")
    blanks = np.asarray(blank, dtype=np.bool_)
    if blanks.shape != x.shape:
        raise ValueError(f"blank has shape {blanks.shape}, points {x.shape}.")
    guesses = _guess_scores(guess_scores, questions)

    spans = highs - lows
    has_span = spans > 0
    safe_spans = np.where(has_span, spans, 1.0)
    defined = np.full(questions, n >= 1)
    mean = x.mean(axis=0) if n else np.zeros(questions)
    facility = _values((mean - lows) / safe_spans, defined & has_span)
    blank_rate = _values(blanks.mean(axis=0) if n else np.zeros(questions), defined)
    total_max = float(highs.sum())
    intended = _values(100 * highs / (total_max or 1.0), np.full(questions, total_max > 0))

    moments = _Moments.of(x) if n >= 2 else None
    sd: list[float | None] = [None] * questions
    discrimination: list[float | None] = [None] * questions
    efficiency: list[float | None] = [None] * questions
    effective: list[float | None] = [None] * questions
    if moments is not None:
        sd = _values(np.sqrt(moments.var_x) / safe_spans, has_span)
        both_spread = ~moments.constant_x & ~moments.constant_rest
        denominator = np.sqrt(moments.var_x * moments.var_rest)
        safe = np.where(both_spread, denominator, 1.0)
        discrimination = _values(np.clip(100 * moments.cov_rest / safe, -100.0, 100.0), both_spread)
        # cov_max > 0 exactly when x and X both vary (Chebyshev's sum inequality): same mask.
        safe = np.where(both_spread, moments.cov_max, 1.0)
        efficiency = _values(np.minimum(100 * moments.cov_rest / safe, 100.0), both_spread)
        effective = _effective_weights(moments.cov_total, total_varies=not moments.constant_total)

    return tuple(
        QuestionStatistics(
            facility=facility[q],
            sd=sd[q],
            discrimination_index=discrimination[q],
            discriminative_efficiency=efficiency[q],
            intended_weight=intended[q],
            effective_weight=effective[q],
            random_guess_score=guesses[q],
            blank_rate=blank_rate[q],
            flags=question_flags(
                facility=facility[q],
                discrimination_index=discrimination[q],
                discriminative_efficiency=efficiency[q],
            ),
        )
        for q in range(questions)
    )


def exam_statistics(points: npt.ArrayLike, *, max_total: float) -> ExamStatistics:
    """The statistics of the totals (row sums) of the n × P ``points`` matrix.

    ``max_total`` is the exam's maximum: the histogram covers 0..max_total (wider when a total
    falls outside, e.g. with extra credit or negative marking). Skewness needs n ≥ 3 and
    kurtosis n ≥ 4; both, and CIC (which needs P ≥ 2), need totals that vary.
    """
    x = _points_matrix(points)
    n, questions = x.shape
    totals = x.sum(axis=1)
    histogram = _histogram(totals, max_total=float(max_total))
    if n == 0:
        return ExamStatistics(0, None, None, None, None, None, None, None, None, None, None, histogram)

    mean = float(totals.mean())
    median = float(np.median(totals))
    sd = skewness = kurtosis = cic = error_ratio = standard_error = None
    if n >= 2:
        scale = _scale(x)
        tolerance = _RELATIVE_TOLERANCE * scale
        if np.ptp(totals) <= tolerance:
            sd = 0.0
        else:
            d = totals - mean
            d2 = d * d
            m2 = float(d2.mean())
            m3 = float((d2 * d).mean())
            m4 = float((d2 * d2).mean())
            k2 = n * m2 / (n - 1)
            sd = math.sqrt(k2)
            if n >= 3:
                k3 = n * n * m3 / ((n - 1) * (n - 2))
                skewness = k3 / k2**1.5
            if n >= 4:
                k4 = n * n * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3))
                kurtosis = k4 / (k2 * k2)
            if questions >= 2:
                item_variance = float(_variances(x - x.mean(axis=0), tolerance).sum())
                # 1 − alpha = (P · Σ var x_p − var T) / ((P − 1) · var T), from the formula of CIC. The
                # excess is ≥ 0 (Cauchy–Schwarz), 0 when the questions vary alike (perfectly correlated,
                # equal variances): then float noise must not become an error ratio of 100 · √1e-16.
                excess = questions * item_variance - k2
                if excess <= _COVARIANCE_TOLERANCE * scale * scale:
                    excess = 0.0
                unreliability = excess / ((questions - 1) * k2)
                cic = 100 * (1 - unreliability)
                error_ratio = 100 * math.sqrt(unreliability)
                standard_error = sd * math.sqrt(unreliability)
    return ExamStatistics(
        n=n,
        mean=mean,
        median=median,
        sd=sd,
        min=float(totals.min()),
        max=float(totals.max()),
        skewness=skewness,
        kurtosis=kurtosis,
        cic=cic,
        error_ratio=error_ratio,
        standard_error=standard_error,
        histogram=histogram,
    )


def question_flags(
    *, facility: float | None, discrimination_index: float | None, discriminative_efficiency: float | None
) -> tuple[str, ...]:
    """What an instructor should look at: negative discrimination, low efficiency, extreme facility."""
    flags = []
    if discrimination_index is not None and discrimination_index < -_FLAG_SLACK:
        flags.append(NEGATIVE_DISCRIMINATION)
    if discriminative_efficiency is not None and discriminative_efficiency < FLAG_MIN_EFFICIENCY - _FLAG_SLACK:
        flags.append(LOW_EFFICIENCY)
    if facility is not None and facility < FLAG_MIN_FACILITY - _FLAG_SLACK:
        flags.append(TOO_HARD)
    if facility is not None and facility > FLAG_MAX_FACILITY + _FLAG_SLACK:
        flags.append(TOO_EASY)
    return tuple(flags)


def distractor_analysis(
    summaries: Sequence[str], *, totals: npt.ArrayLike, labels: Sequence[str]
) -> DistractorAnalysis:
    """Which options the strongest and the weakest 27% of sittings chose.

    ``summaries[i]`` is what sitting i answered: the labels it selected, concatenated ("AC";
    "T" or "F" for true_false), "" when blank. ``labels`` are the question's options, in the
    order of the result; they may be longer than one character ("Zom", "Nom") as long as no
    label begins another, so that a concatenation reads one way only. ``totals[i]`` is
    sitting i's exam total. Each group holds round(27% · n) sittings (at least one); sittings
    tied at a group's boundary share its remaining places equally, so that the result does
    not depend on the order of the sittings. Raises ValueError for such labels, a summary
    that is not a concatenation of labels, or lengths that differ.
    """
    label_list = list(labels)
    if "" in label_list or any(a != b and b.startswith(a) for a in label_list for b in label_list):
        raise ValueError(f"Labels must be non-empty and none may begin another, not {label_list!r}.")
    if len(set(label_list)) != len(label_list):
        raise ValueError(f"Labels must be distinct, not {label_list!r}.")
    scores = np.asarray(totals, dtype=np.float64)
    if scores.shape != (len(summaries),):
        raise ValueError(f"{len(summaries)} summaries but totals of shape {scores.shape}.")
    n = len(summaries)
    if n == 0:
        return DistractorAnalysis(0, tuple(OptionShare(label, None, None) for label in label_list), None, None)

    unique, inverse = np.unique(np.asarray(summaries, dtype=np.str_), return_inverse=True)
    column = {label: i for i, label in enumerate(label_list)}
    chosen = np.zeros((len(unique), len(label_list) + 1))  # the last column: blank
    for row, summary in enumerate(unique.tolist()):  # one pass per distinct answer, not per sitting
        for label in _labels_read(summary, label_list):
            chosen[row, column[label]] = 1.0
        chosen[row, -1] = summary == ""

    size = max(1, math.floor(TOP_BOTTOM_SHARE * n + 0.5))
    # Totals are sums of hundredths: rounding makes equal totals compare equal despite float noise.
    rounded = np.round(scores, 6)
    top = _group_shares(_group_weights(rounded, size), inverse, chosen, size)
    bottom = _group_shares(_group_weights(-rounded, size), inverse, chosen, size)
    options = tuple(OptionShare(label, float(top[i]), float(bottom[i])) for i, label in enumerate(label_list))
    return DistractorAnalysis(size, options, float(top[-1]), float(bottom[-1]))


def grid_accuracy(summaries: Sequence[str], *, cells: int) -> GridAccuracy:
    """The fraction right of each cell among the non-blank answers of a grid question.

    ``summaries[i]`` holds one character per cell, row by row: "1" right, "0" wrong or
    empty; "" is a blank answer, left out. A cell is None when every answer was blank.
    Raises ValueError for a summary of another length or with other characters.
    """
    unique, counts = np.unique(np.asarray(list(summaries), dtype=np.str_), return_counts=True)
    right = np.zeros(cells)
    answered = 0
    for summary, count in zip(unique.tolist(), counts.tolist(), strict=True):  # per distinct answer
        if summary == "":
            continue
        if len(summary) != cells or set(summary) - {"0", "1"}:
            raise ValueError(f"Grid answer {summary!r} is not {cells} characters 0 or 1.")
        right += count * (np.frombuffer(summary.encode("ascii"), dtype=np.uint8) == ord("1"))
        answered += count
    if answered == 0:
        return GridAccuracy(0, (None,) * cells)
    return GridAccuracy(answered, tuple(float(v) for v in right / answered))


# --- internals ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Moments:
    """Sample (n − 1) variances and covariances of every column x, its rest X = T − x and T."""

    var_x: FloatArray
    var_rest: FloatArray
    cov_rest: FloatArray
    cov_total: FloatArray
    cov_max: FloatArray
    constant_x: BoolArray
    constant_rest: BoolArray
    constant_total: bool

    @classmethod
    def of(cls, x: FloatArray) -> _Moments:
        n = x.shape[0]
        scale = _scale(x)
        tolerance = _RELATIVE_TOLERANCE * scale
        d = x - x.mean(axis=0)
        d_total = d.sum(axis=1)  # T − mean T: the mean of a sum is the sum of the means
        d_rest = d_total[:, None] - d
        sorted_d = np.sort(d, axis=0)
        sorted_rest = np.sort(d_rest, axis=0)
        constant_x = sorted_d[-1] - sorted_d[0] <= tolerance
        constant_rest = sorted_rest[-1] - sorted_rest[0] <= tolerance
        constant_total = bool(np.ptp(d_total) <= tolerance)
        # The deviations of a constant column are float noise: its moments are exactly 0.
        d[:, constant_x] = 0.0
        sorted_d[:, constant_x] = 0.0
        var_x = np.einsum("ij,ij->j", d, d) / (n - 1)
        var_rest = np.einsum("ij,ij->j", d_rest, d_rest) / (n - 1)
        cov_rest = np.einsum("ij,ij->j", d, d_rest) / (n - 1)
        cov_total = np.zeros_like(var_x) if constant_total else (d_total @ d) / (n - 1)
        # A covariance with the total that is 0 but for float noise is 0, not "negative".
        cov_total[np.abs(cov_total) <= _COVARIANCE_TOLERANCE * scale * scale] = 0.0
        cov_max = np.einsum("ij,ij->j", sorted_d, sorted_rest) / (n - 1)
        return cls(var_x, var_rest, cov_rest, cov_total, cov_max, constant_x, constant_rest, constant_total)


def _scale(x: FloatArray) -> float:
    """A bound on |x|, |T| and |X|, to which float noise is proportional (x has at least one row)."""
    return 1.0 + float(np.abs(x).sum(axis=1).max())


def _variances(deviations: FloatArray, tolerance: float) -> FloatArray:
    """Sample variances of the columns of ``deviations`` (x − mean x); 0 exactly for a constant column."""
    n = deviations.shape[0]
    variances: FloatArray = np.einsum("ij,ij->j", deviations, deviations) / (n - 1)
    variances[np.ptp(deviations, axis=0) <= tolerance] = 0.0
    return variances


def _points_matrix(points: npt.ArrayLike) -> FloatArray:
    matrix = np.asarray(points, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"Points must be an n × P matrix, not of shape {matrix.shape}.")
    if not np.isfinite(matrix).all():
        raise ValueError("Points must be finite numbers.")
    return matrix


def _per_question(values: npt.ArrayLike, matrix: FloatArray, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (matrix.shape[1],):
        raise ValueError(f"{name} needs one value per question ({matrix.shape[1]}), not shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers.")
    return array


def _guess_scores(scores: Sequence[SupportsFloat | None] | None, questions: int) -> list[float | None]:
    if scores is None:
        return [None] * questions
    if len(scores) != questions:
        raise ValueError(f"guess_scores needs one value per question ({questions}), not {len(scores)}.")
    return [None if s is None else float(s) for s in scores]


def _values(array: FloatArray, defined: BoolArray) -> list[float | None]:
    """Plain floats where ``defined`` (and finite), None elsewhere: nothing of numpy leaks out."""
    return [
        float(v) if ok and math.isfinite(v) else None for v, ok in zip(array.tolist(), defined.tolist(), strict=True)
    ]


def _effective_weights(cov_total: FloatArray, *, total_varies: bool) -> list[float | None]:
    non_negative = cov_total >= 0
    roots = np.sqrt(np.where(non_negative, cov_total, 0.0))
    denominator = float(roots.sum())
    if not total_varies or denominator <= 0:
        return [None] * len(cov_total)
    return _values(100 * roots / denominator, non_negative)


def _labels_read(summary: str, labels: Sequence[str]) -> list[str]:
    """The labels concatenated in ``summary`` (no label begins another, so one reading only)."""
    found = []
    position = 0
    while position < len(summary):
        label = next((label for label in labels if summary.startswith(label, position)), None)
        if label is None:
            raise ValueError(f"Answer {summary!r} is not made of the labels {', '.join(labels)}.")
        found.append(label)
        position += len(label)
    return found


def _group_weights(scores: FloatArray, size: int) -> FloatArray:
    """Membership (0..1) of each sitting in the ``size`` highest ``scores``, sharing ties equally."""
    threshold = np.partition(scores, len(scores) - size)[len(scores) - size]
    above = scores > threshold
    tied = scores == threshold
    return above + tied * ((size - int(above.sum())) / int(tied.sum()))


def _group_shares(weights: FloatArray, inverse: npt.NDArray[np.intp], chosen: FloatArray, size: int) -> FloatArray:
    per_answer = np.bincount(inverse.ravel(), weights=weights, minlength=chosen.shape[0])
    shares: FloatArray = np.clip(per_answer @ chosen / size, 0.0, 1.0)
    return shares


def _histogram(totals: FloatArray, *, max_total: float) -> Histogram:
    """Equal bins of a round width (1, 2, 2.5 or 5 × 10^k) over 0..max_total, at most 20 of them.

    The range widens to take in totals below 0 or above max_total. Whole-number totals get
    whole-number bin widths, so that every bin holds as many possible totals.
    """
    low = min(0.0, float(totals.min())) if totals.size else 0.0
    high = max(max_total, float(totals.max())) if totals.size else max_total
    if not high > low:
        high = low + 1.0
    whole = bool(np.all(totals == np.round(totals))) and float(max_total).is_integer()
    step = _round_step((high - low) / MAX_HISTOGRAM_BINS, whole=whole)
    first = math.floor(low / step + 1e-9)
    last = max(first + 1, math.ceil(high / step - 1e-9))
    edges = np.round(np.arange(first, last + 1) * step, 10)
    # Totals beyond the outer edges by float noise only belong in the outer bins.
    counts, _ = np.histogram(np.clip(totals, edges[0], edges[-1]), bins=edges)
    return Histogram(tuple(float(e) for e in edges), tuple(int(c) for c in counts))


def _round_step(raw: float, *, whole: bool) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at least ``raw``; a whole number ≥ 1 when ``whole``."""
    if whole:
        raw = max(raw, 1.0)
    exponent = math.floor(math.log10(raw))
    for mantissa in (1.0, 2.0, 2.5, 5.0):
        step = mantissa * 10.0**exponent
        if step >= raw * (1 - 1e-9) and not (whole and not step.is_integer()):
            return step
    return 10.0 ** (exponent + 1)
