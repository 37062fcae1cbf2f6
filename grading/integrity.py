"""An exam's integrity report: sittings the proctoring record flags, and pairs of students who
share unusually many identical wrong answers. A flag is a reason to look, never proof.

Sittings (``suspicious_sittings``). Per sitting: how often its window lost focus, its page was
hidden, text was pasted, and another tab or device took it over (``ProctorEvent``), and the
distinct IP addresses it was seen from (its start, its honor-code signature, its events). A
sitting is flagged when its focus losses reach ``EXAMHALL_INTEGRITY_FOCUS_LOSSES`` (10 unless
set), when it was seen from more than one address, or on any takeover.

Answer similarity (``answer_similarity``). Only auto-scored questions count (their answers have
a shape two students can share exactly), and only wrong answers: a right answer is the same for
everyone and says nothing. A wrong answer is a non-blank answer that neither the policy nor a
grader gave full marks (``auto_points`` and ``points`` below the maximum) and that waits for no
grader; its identity is the stored answer's normalised JSON text (PostgreSQL's ``jsonb`` text).
The scored sittings are the submitted or expired ones with a result.

The model. For a pair of sittings, k is the number of questions on which they gave the same
wrong answer. Whether a student gets a question wrong depends on their ability, so two weak
students are wrong together on many questions without any copying; the model therefore takes
as given which questions each of the two got wrong, and asks how often their wrong answers
would agree by chance. Of the w_q sittings that got question q wrong, n_{q,o} gave the wrong
answer o; two sittings that both got q wrong, each choosing among the wrong answers as the
class did, agree on q with probability c_q = Σ_o (n_{q,o} / w_q)² (1 for a true/false question,
whose only wrong answer is the other one). Over the set S of questions both got wrong, the
number X of agreements is Poisson-binomial with probabilities c_q, q ∈ S: the count expected
under independence is E = Σ_{q∈S} c_q, and the p-value P(X ≥ k) is computed exactly by dynamic
programming over the questions. The Bonferroni-adjusted p-value min(1, p · n(n − 1)/2) accounts
for having looked at every pair. Pairs with k ≥ 2 and p ≤ ``REPORT_P`` are reported, at most
``REPORT_LIMIT``, most surprising first; a pair is flagged when its adjusted p-value is below
``FLAG_ALPHA``.

Why not the simpler model in which every pair agrees on q with probability s_q = Σ_o p_{q,o}²,
p_{q,o} the share of all n sittings giving wrong answer o: it ignores ability. On simulated
classes of 300 students of the seed midterm (``grading.simulate``: nobody copies) it flagged
innocent pairs of weak students in every one of 80 classes tried; this model flagged none in 40,
and found the median student copied by the weakest as the only flagged pair in 28 of them
(tests/grading/test_integrity.py keeps one such class).

Cost, for n scored sittings, Q auto-scored questions, R wrong answers read, and m distinct
(question, wrong answer) pairs given by at least two sittings (only those can be shared; a few
hundred in practice, at most Q·n/2):

- reading: one query of O(R) rows, into an n × Q matrix of codes; memory O(n·Q);
- counting (``pair_blocks``): k for every pair is the product of the one-hot matrix (n × m,
  float32, 4·n·m bytes) with its transpose; the certain agreements, the uncertain questions both
  got wrong and their Σ log c_q are products of n × Q matrices. All are computed in blocks of b
  rows against the rows from the block's first one on (each pair once), so no n × n matrix ever
  exists: a block holds b·n ≈ ``BLOCK_CELLS`` cells of each (32 MB, and about as much in
  temporaries), whatever n is.
  Time O(n²·(m + 3Q)/2) multiply-adds in BLAS, and O(n²) to scan the blocks;
- p-values: P(X ≥ k) is 1 when k does not exceed the certain agreements, and is at least
  exp((k − certain) · mean log c_q over the uncertain questions both got wrong) (O(1) per pair,
  from the blocks) and at least the product of the k largest c_q over S (O(Q) per pair), so only
  the pairs under ``REPORT_P`` on both bounds get the exact O(Q²) dynamic programme: under one
  pair in a hundred on simulated classes (905 of 2 million pairs for 2,000 sittings).

Measured on the seed midterm (25 auto-scored questions, simulated sittings) on a 2-core
development machine, the whole of ``answer_similarity`` (queries included): 2,000 sittings in
about 0.4 s, 5,000 in 1–2 s.

The pure numpy functions (``wrong_answer_codes``, ``match_probabilities``,
``poisson_binomial_pmf``, ``upper_tail``, ``shared_one_hot``, ``pair_blocks``, ``mean_log_bound``,
``likeliest_agreements``, ``pair_p_values``, ``similar_pairs``) take the codes matrix;
``suspicious_sittings``, ``answer_similarity`` and ``integrity_report`` read the database and
call them; ``integrity_csv`` writes the download.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q

from exams.kinds import get_kind
from exams.models import Answer, Exam, ProctorEvent, ProctorEventKind, Sitting
from grading.exports import cell_text
from grading.jobs import SCORED_STATUSES
from grading.models import AnswerScore, SittingResult
from grading.scoring.specs import exam_specs

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Float32Array = npt.NDArray[np.float32]

NOT_WRONG = -1  # a code: right, blank, or waiting for a grader
REPORT_P = 0.001  # pairs with k ≥ 2 and a p-value at most this are reported…
REPORT_LIMIT = 100  # … the most surprising ones, at most this many
FLAG_ALPHA = 0.05  # a pair is flagged when its Bonferroni-adjusted p-value is below this
BLOCK_CELLS = 2_000_000  # pair counts held at once: a block has about BLOCK_CELLS / n rows
PAIR_CHUNK = 100_000  # candidate pairs whose bounds or p-values are computed at once
_CERTAIN = 1 - 1e-12  # c_q at least this is an agreement certain once both are wrong


# --- sittings: the proctoring record ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SittingFlags:
    """One sitting's proctoring record and why it is flagged (``reasons``, empty if it is not)."""

    sitting_id: int
    net_id: str
    full_name: str
    status: str
    focus_losses: int
    visibility_changes: int
    pastes: int
    takeovers: int
    ips: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


def focus_loss_threshold() -> int:
    return int(settings.EXAMHALL_INTEGRITY_FOCUS_LOSSES)


def sitting_reasons(*, focus_losses: int, ips: Sequence[str], takeovers: int, threshold: int) -> tuple[str, ...]:
    """Why a sitting is flagged, in words; empty when it is not."""
    reasons = []
    if focus_losses >= threshold:
        reasons.append(f"The window lost focus {focus_losses} times (flagged from {threshold})")
    if len(ips) > 1:
        reasons.append(f"Seen from {len(ips)} IP addresses")
    if takeovers:
        times = f" {takeovers} times" if takeovers > 1 else ""
        reasons.append(f"Another tab or device took the sitting over{times}")
    return tuple(reasons)


def _ip_order(ip: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (address.version, int(address), ip)


def suspicious_sittings(exam_id: int, *, focus_losses: int | None = None) -> list[SittingFlags]:
    """The exam's flagged sittings, most reasons first, then by NetID.

    ``focus_losses`` is the threshold (default: the ``EXAMHALL_INTEGRITY_FOCUS_LOSSES``
    setting). Every sitting counts, whatever its status. Two queries: the sittings with their
    event counts, and the distinct addresses of their events.
    """
    threshold = focus_loss_threshold() if focus_losses is None else focus_losses

    def counted(kind: str) -> Count:
        return Count("events", filter=Q(events__kind=kind))

    sittings = (
        Sitting.objects.filter(exam_id=exam_id)
        .order_by()
        .annotate(
            focus=counted(ProctorEventKind.FOCUS_LOSS),
            hidden=counted(ProctorEventKind.VISIBILITY),
            pasted=counted(ProctorEventKind.PASTE),
            taken=counted(ProctorEventKind.TAKEOVER),
        )
        .values_list(
            "pk",
            "student__net_id",
            "student__full_name",
            "status",
            "start_ip",
            "signature__ip",
            "focus",
            "hidden",
            "pasted",
            "taken",
        )
    )
    seen: dict[int, set[str]] = defaultdict(set)
    for sitting_id, ip in (
        ProctorEvent.objects.filter(sitting__exam_id=exam_id, ip__isnull=False)
        .order_by()
        .values_list("sitting_id", "ip")
        .distinct()
    ):
        if ip:
            seen[sitting_id].add(ip)
    flagged = []
    for sitting_id, net_id, name, status, start_ip, signed_ip, focus, hidden, pasted, taken in sittings:
        ips = tuple(sorted(seen[sitting_id] | {ip for ip in (start_ip, signed_ip) if ip}, key=_ip_order))
        reasons = sitting_reasons(focus_losses=focus, ips=ips, takeovers=taken, threshold=threshold)
        if reasons:
            flagged.append(SittingFlags(sitting_id, net_id, name, status, focus, hidden, pasted, taken, ips, reasons))
    flagged.sort(key=lambda row: (-len(row.reasons), -row.takeovers, -len(row.ips), -row.focus_losses, row.net_id))
    return flagged


# --- answer similarity: the pure part -----------------------------------------------------------


def wrong_answer_codes(
    answers: Iterable[tuple[int, int, str]], *, sitting_ids: Sequence[int], question_ids: Sequence[int]
) -> IntArray:
    """The n × Q matrix of wrong answers: ``codes[i, q]`` numbers the wrong answer of sitting
    ``sitting_ids[i]`` to question ``question_ids[q]`` among the distinct wrong answers to that
    question (from 0, in order of appearance), or is ``NOT_WRONG``.

    ``answers`` are (sitting id, question id, answer text) triples of wrong answers; equal
    texts are the same answer. Triples of other sittings or questions are ignored.
    """
    row_of = {sitting_id: index for index, sitting_id in enumerate(sitting_ids)}
    column_of = {question_id: index for index, question_id in enumerate(question_ids)}
    codes = np.full((len(sitting_ids), len(question_ids)), NOT_WRONG, dtype=np.int64)
    vocabularies: list[dict[str, int]] = [{} for _ in question_ids]
    for sitting_id, question_id, text in answers:
        row, column = row_of.get(sitting_id), column_of.get(question_id)
        if row is None or column is None:
            continue
        vocabulary = vocabularies[column]
        codes[row, column] = vocabulary.setdefault(text, len(vocabulary))
    return codes


def _checked(codes: npt.ArrayLike) -> IntArray:
    matrix = np.asarray(codes, dtype=np.int64)
    if matrix.ndim != 2:
        raise ValueError(f"codes must be a sittings × questions matrix, not of shape {matrix.shape}.")
    if np.any(matrix < NOT_WRONG):
        raise ValueError(f"codes are wrong-answer numbers from 0, or {NOT_WRONG}.")
    return matrix


def match_probabilities(codes: npt.ArrayLike) -> FloatArray:
    """c_q = Σ_o (n_{q,o} / w_q)² per question: the chance that two sittings that both got q
    wrong give the same wrong answer, each choosing as the class did (w_q sittings got q wrong,
    n_{q,o} of them with answer o). 0 where nobody got q wrong; 1 where all gave the same."""
    matrix = _checked(codes)
    chances = np.zeros(matrix.shape[1])
    for q in range(matrix.shape[1]):
        column = matrix[:, q]
        counts = np.bincount(column[column >= 0])
        wrong = int(counts.sum())
        if wrong:
            chances[q] = float(np.sum((counts / wrong) ** 2))
    return chances


def poisson_binomial_pmf(probabilities: npt.ArrayLike) -> FloatArray:
    """P(X = k) for k = 0..Q, X the number of successes of Q independent trials with these
    probabilities: exact, by dynamic programming over the trials (O(Q²)). Given a P × Q
    matrix, one distribution per row (P × (Q + 1))."""
    chances = np.asarray(probabilities, dtype=np.float64)
    if chances.ndim not in (1, 2):
        raise ValueError("Give one vector of probabilities, or one per row of a matrix.")
    if not np.all(np.isfinite(chances)) or np.any((chances < 0) | (chances > 1)):
        raise ValueError("Probabilities must lie in [0, 1].")
    rows = np.atleast_2d(chances)
    trials = rows.shape[1]
    pmf = np.zeros((rows.shape[0], trials + 1))
    pmf[:, 0] = 1.0
    for trial in range(trials):
        # After ``trial`` trials only pmf[:, 0..trial] can be non-zero; add one more.
        chance = rows[:, trial : trial + 1]
        stop = trial + 2
        pmf[:, 1:stop] = pmf[:, 1:stop] * (1 - chance) + pmf[:, : stop - 1] * chance
        pmf[:, 0] *= 1 - chance[:, 0]
    return pmf[0] if chances.ndim == 1 else pmf


def upper_tail(pmf: npt.ArrayLike) -> FloatArray:
    """tail[..., k] = P(X ≥ k) for k = 0..Q + 1 (the last is 0), summed from the top so that
    tiny tails keep their precision."""
    values = np.asarray(pmf, dtype=np.float64)
    tail = np.cumsum(values[..., ::-1], axis=-1)[..., ::-1]
    zeros = np.zeros((*values.shape[:-1], 1))
    return np.minimum(np.concatenate([tail, zeros], axis=-1), 1.0)


def shared_one_hot(codes: npt.ArrayLike) -> Float32Array:
    """The n × m one-hot matrix of wrong answers (float32, for BLAS): one column per (question,
    wrong answer) given by at least two sittings, since an answer only one gave is never shared."""
    matrix = _checked(codes)
    rows: list[IntArray] = []
    columns: list[IntArray] = []
    width = 0
    for q in range(matrix.shape[1]):
        column = matrix[:, q]
        wrong = np.flatnonzero(column >= 0)
        counts = np.bincount(column[wrong])
        shared = counts >= 2
        renumbered = np.full(len(counts), -1, dtype=np.int64)
        renumbered[shared] = np.arange(width, width + int(shared.sum()))
        mapped = renumbered[column[wrong]]
        kept = mapped >= 0
        rows.append(wrong[kept])
        columns.append(mapped[kept])
        width += int(shared.sum())
    one_hot = np.zeros((matrix.shape[0], width), dtype=np.float32)
    if width:
        one_hot[np.concatenate(rows), np.concatenate(columns)] = 1.0
    return one_hot


def block_rows_for(n: int, *, block_cells: int = BLOCK_CELLS) -> int:
    """Rows per block so that a block of pair counts (rows × n) holds about ``block_cells``."""
    return max(1, min(n, block_cells // max(n, 1)))


@dataclass(frozen=True, slots=True)
class PairBlock:
    """The pairs of one block of rows [start, start + b): for sittings i = start + r and
    j = start + c, each matrix (b × (n − start)) holds at [r, c]

    - ``shared``: k, the questions on which i and j gave the same wrong answer;
    - ``certain``: the questions both got wrong whose c_q is 1 (an agreement there is certain);
    - ``uncertain``: the questions both got wrong whose c_q is below 1;
    - ``log_chances``: Σ log c_q over those uncertain questions.

    Everything is 0 where c ≤ r, so each pair comes once.
    """

    start: int
    shared: npt.NDArray[np.int32]
    certain: npt.NDArray[np.int32]
    uncertain: npt.NDArray[np.int32]
    log_chances: Float32Array


def pair_blocks(codes: npt.ArrayLike, probabilities: npt.ArrayLike, *, block_rows: int) -> Iterator[PairBlock]:
    """The pairs' counts a block of rows at a time, each by a matrix product of one block of rows
    with the rows from the block's first one on (``PairBlock``)."""
    matrix = _checked(codes)
    chances = np.asarray(probabilities, dtype=np.float64)
    n = matrix.shape[0]
    if block_rows < 1:
        raise ValueError("block_rows must be at least 1.")
    one_hot = shared_one_hot(matrix)
    wrong = matrix >= 0
    certain_wrong = (wrong & (chances >= _CERTAIN)).astype(np.float32)
    uncertain_wrong = (wrong & (chances < _CERTAIN)).astype(np.float32)
    with np.errstate(divide="ignore"):
        logs = np.where(chances > 0, np.log(np.where(chances > 0, chances, 1.0)), 0.0)
    weighted = (uncertain_wrong * logs).astype(np.float32)
    for start in range(0, n, block_rows):
        stop = min(n, start + block_rows)
        below = np.tril_indices(stop - start, 0, n - start)
        # Sums of at most Q ones: exact in float32, so the casts to integers lose nothing.
        shared, certain, uncertain = (
            (left[start:stop] @ left[start:].T).astype(np.int32) for left in (one_hot, certain_wrong, uncertain_wrong)
        )
        log_chances = weighted[start:stop] @ uncertain_wrong[start:].T
        for block in (shared, certain, uncertain, log_chances):
            block[below] = 0
        yield PairBlock(start, shared, certain, uncertain, log_chances)


def mean_log_bound(
    shared: npt.ArrayLike, certain: npt.ArrayLike, uncertain: npt.ArrayLike, log_chances: npt.ArrayLike
) -> FloatArray:
    """A cheap lower bound of P(X ≥ k), given k > the certain agreements u: at least k − u of the
    uncertain questions both got wrong must agree, and the k − u likeliest of them have a mean
    log c_q at least the mean over all of them, so P(X ≥ k) ≥ exp((k − u) · Σ log c_q / count).
    Slightly lowered, so that float32 sums never make it exceed the truth."""
    mean = np.asarray(log_chances, dtype=np.float64) / np.maximum(np.asarray(uncertain), 1)
    informative = np.asarray(shared, dtype=np.int64) - np.asarray(certain, dtype=np.int64)
    return np.asarray(np.exp(informative * mean - 1e-3), dtype=np.float64)


def likeliest_agreements(
    wrong: BoolArray, probabilities: FloatArray, first: IntArray, second: IntArray, shared: IntArray
) -> FloatArray:
    """A lower bound of each pair's p-value P(X ≥ k): the chance that the k likeliest agreements
    among the questions both got wrong all happen (the product of the k largest c_q over S).
    ``wrong`` is the n × Q matrix "got q wrong"."""
    order = np.argsort(-probabilities, kind="stable")
    both = wrong[first][:, order] & wrong[second][:, order]
    taken = both & (np.cumsum(both, axis=1, dtype=np.int32) <= shared[:, None])
    with np.errstate(divide="ignore"):
        logs = np.log(probabilities[order])
    return np.asarray(np.exp(np.where(taken, logs, 0.0).sum(axis=1)), dtype=np.float64)


def pair_p_values(
    wrong: BoolArray, probabilities: FloatArray, first: IntArray, second: IntArray, shared: IntArray
) -> tuple[IntArray, FloatArray, FloatArray]:
    """For each pair: how many questions both got wrong, the agreements expected by chance
    E = Σ_{q∈S} c_q, and the exact p-value P(X ≥ k)."""
    both = wrong[first] & wrong[second]
    chances = np.where(both, probabilities, 0.0)
    tail = upper_tail(poisson_binomial_pmf(chances))
    p_values = tail[np.arange(len(shared)), shared]
    return both.sum(axis=1).astype(np.int64), chances.sum(axis=1), p_values


@dataclass(frozen=True, slots=True)
class SimilarPair:
    """Two sittings (rows of the codes matrix, first < second) that gave the same wrong answer to
    ``shared`` of the ``both_wrong`` questions both got wrong, where ``expected`` agree by chance."""

    first: int
    second: int
    shared: int
    both_wrong: int
    expected: float
    p_value: float
    adjusted_p_value: float

    @property
    def flagged(self) -> bool:
        return self.adjusted_p_value < FLAG_ALPHA


@dataclass(frozen=True, slots=True)
class Similarity:
    """What ``similar_pairs`` found among n sittings on Q questions.

    ``match_probabilities`` are the c_q; ``pairs`` the reported pairs, most surprising first,
    at most the limit; ``reported_total`` counts every pair that met the threshold, shown or
    not; ``evaluated`` the pairs whose exact p-value was computed (the others were ruled out
    by the bounds).
    """

    sittings: int
    match_probabilities: tuple[float, ...]
    pairs_total: int
    reported_total: int
    evaluated: int
    pairs: tuple[SimilarPair, ...]

    @property
    def questions(self) -> int:
        return len(self.match_probabilities)

    @property
    def flagged_count(self) -> int:
        return sum(1 for pair in self.pairs if pair.flagged)


_Found = tuple[IntArray, IntArray, IntArray, IntArray, FloatArray, FloatArray]


def similar_pairs(
    codes: npt.ArrayLike,
    *,
    report_p: float = REPORT_P,
    limit: int = REPORT_LIMIT,
    block_rows: int | None = None,
) -> Similarity:
    """The pairs of sittings that share unusually many identical wrong answers (the model: the
    module's docstring): those with k ≥ 2 and P(X ≥ k) ≤ ``report_p``, by p-value, then most
    shared, then by rows; at most ``limit`` of them. ``block_rows`` bounds the memory (default:
    about ``BLOCK_CELLS`` counts per block); the result does not depend on it."""
    if not 0 < report_p < 1:
        raise ValueError("report_p must lie strictly between 0 and 1.")
    matrix = _checked(codes)
    n = matrix.shape[0]
    chances = match_probabilities(matrix)
    wrong = matrix >= 0
    pairs_total = n * (n - 1) // 2
    found: list[_Found] = []
    kept = reported_total = evaluated = 0
    rows = block_rows if block_rows is not None else block_rows_for(n)
    for block in pair_blocks(matrix, chances, block_rows=rows):
        # P(X ≥ k) is 1 unless k exceeds the certain agreements.
        shared = block.shared
        hit_rows, hit_columns = np.nonzero((shared >= 2) & (shared > block.certain))
        for part in _chunks(len(hit_rows)):
            at = (hit_rows[part], hit_columns[part])
            first, second, k = (
                hit_rows[part] + block.start,
                hit_columns[part] + block.start,
                shared[at].astype(np.int64),
            )
            # Two lower bounds of p rule out most pairs before the exact dynamic programme.
            possible = mean_log_bound(k, block.certain[at], block.uncertain[at], block.log_chances[at]) <= report_p
            first, second, k = first[possible], second[possible], k[possible]
            possible = likeliest_agreements(wrong, chances, first, second, k) <= report_p
            first, second, k = first[possible], second[possible], k[possible]
            evaluated += len(k)
            both, expected, p_values = pair_p_values(wrong, chances, first, second, k)
            small = p_values <= report_p
            reported_total += int(small.sum())
            found.append((first[small], second[small], k[small], both[small], expected[small], p_values[small]))
            kept += int(small.sum())
            if kept > 4 * max(limit, 1):
                found = [_most_surprising(found, limit)]
                kept = len(found[0][0])
    first, second, k, both, expected, p_values = _most_surprising(found, limit)
    pairs = tuple(
        SimilarPair(
            first=int(first[index]),
            second=int(second[index]),
            shared=int(k[index]),
            both_wrong=int(both[index]),
            expected=float(expected[index]),
            p_value=float(p_values[index]),
            adjusted_p_value=min(1.0, float(p_values[index]) * pairs_total),
        )
        for index in range(len(k))
    )
    return Similarity(
        sittings=n,
        match_probabilities=tuple(float(c) for c in chances),
        pairs_total=pairs_total,
        reported_total=reported_total,
        evaluated=evaluated,
        pairs=pairs,
    )


def _chunks(total: int) -> Iterator[slice]:
    for start in range(0, total, PAIR_CHUNK):
        yield slice(start, min(total, start + PAIR_CHUNK))


def _most_surprising(found: list[_Found], limit: int) -> _Found:
    """The ``limit`` pairs with the smallest p-values (then most shared, then by rows)."""
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, np.zeros(0), np.zeros(0)
    first, second, k, both, expected, p_values = (np.concatenate(parts) for parts in zip(*found, strict=True))
    order = np.lexsort((second, first, -k, p_values))[:limit]
    return first[order], second[order], k[order], both[order], expected[order], p_values[order]


# --- answer similarity: reading the exam ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StudentRef:
    sitting_id: int
    net_id: str
    full_name: str


@dataclass(frozen=True, slots=True)
class PairRow:
    """A reported pair: who, the questions on which their wrong answers agree (``questions``),
    and the model's figures (see ``SimilarPair``)."""

    first: StudentRef
    second: StudentRef
    shared: int
    both_wrong: int
    expected: float
    p_value: float
    adjusted_p_value: float
    questions: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return self.adjusted_p_value < FLAG_ALPHA


@dataclass(frozen=True, slots=True)
class AnswerSimilarity:
    """``answer_similarity``'s result: the auto-scored questions compared (numbers, paper
    order), the model's figures, and the reported pairs, most surprising first."""

    question_numbers: tuple[str, ...]
    model: Similarity
    pairs: tuple[PairRow, ...]
    report_p: float

    @property
    def flagged_count(self) -> int:
        return sum(1 for pair in self.pairs if pair.flagged)


def scored_sitting_ids(exam_id: int) -> list[int]:
    """The exam's scored sittings (submitted or expired, with a result), by id."""
    return list(
        SittingResult.objects.filter(exam_id=exam_id, sitting__status__in=SCORED_STATUSES)
        .order_by("sitting_id")
        .values_list("sitting_id", flat=True)
    )


def wrong_answers_read(exam_id: int, question_ids: Sequence[int]) -> list[tuple[int, int, str]]:
    """(sitting id, question id, answer JSON text) of every wrong answer of the exam's scored
    sittings to these questions, in one query (raw SQL: 100,000 rows never become models)."""
    if not question_ids:
        return []
    statuses = ", ".join(["%s"] * len(SCORED_STATUSES))
    questions = ", ".join(["%s"] * len(question_ids))
    value = "a.value::text" if connection.vendor == "postgresql" else "a.value"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.sitting_id, s.question_id, {value} "  # noqa: S608 — names are ours, values parameters
            f"FROM {AnswerScore._meta.db_table} s JOIN {Sitting._meta.db_table} t ON t.id = s.sitting_id "
            f"JOIN {Answer._meta.db_table} a ON a.sitting_id = s.sitting_id AND a.question_id = s.question_id "
            f"WHERE t.exam_id = %s AND t.status IN ({statuses}) AND s.question_id IN ({questions}) "
            "AND NOT s.blank AND NOT s.needs_manual AND s.auto_points < s.max_points AND s.points < s.max_points",
            [exam_id, *SCORED_STATUSES, *question_ids],
        )
        return [
            (sitting, question, text) for sitting, question, text in cursor.fetchall() if text not in (None, "null")
        ]


def answer_similarity(exam_id: int, *, report_p: float = REPORT_P, limit: int = REPORT_LIMIT) -> AnswerSimilarity:
    """Pairs of the exam's scored sittings that share unusually many identical wrong answers on
    its auto-scored questions (the model and its cost: the module's docstring)."""
    specs = [
        spec
        for section in exam_specs(exam_id)
        for spec in section.questions
        if spec.question_id is not None and get_kind(spec.kind).auto_scored
    ]
    question_ids = [spec.question_id for spec in specs if spec.question_id is not None]
    sitting_ids = scored_sitting_ids(exam_id)
    codes = wrong_answer_codes(
        wrong_answers_read(exam_id, question_ids), sitting_ids=sitting_ids, question_ids=question_ids
    )
    model = similar_pairs(codes, report_p=report_p, limit=limit)
    involved = {sitting_ids[row] for pair in model.pairs for row in (pair.first, pair.second)}
    students = {
        sitting_id: StudentRef(sitting_id, net_id, name)
        for sitting_id, net_id, name in Sitting.objects.filter(pk__in=involved).values_list(
            "pk", "student__net_id", "student__full_name"
        )
    }
    numbers = [spec.number for spec in specs]
    rows = []
    for pair in model.pairs:
        first, second = codes[pair.first], codes[pair.second]
        agree = np.flatnonzero((first == second) & (first != NOT_WRONG))
        rows.append(
            PairRow(
                first=students[sitting_ids[pair.first]],
                second=students[sitting_ids[pair.second]],
                shared=pair.shared,
                both_wrong=pair.both_wrong,
                expected=pair.expected,
                p_value=pair.p_value,
                adjusted_p_value=pair.adjusted_p_value,
                questions=tuple(numbers[q] for q in agree),
            )
        )
    return AnswerSimilarity(question_numbers=tuple(numbers), model=model, pairs=tuple(rows), report_p=report_p)


# --- the report and its download ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    sittings_total: int
    focus_losses: int  # the threshold used
    sittings: tuple[SittingFlags, ...]  # the flagged ones
    similarity: AnswerSimilarity


def integrity_report(exam_id: int, *, focus_losses: int | None = None) -> IntegrityReport:
    """Both halves of the report, as the page and the CSV show them."""
    threshold = focus_loss_threshold() if focus_losses is None else focus_losses
    return IntegrityReport(
        sittings_total=Sitting.objects.filter(exam_id=exam_id).count(),
        focus_losses=threshold,
        sittings=tuple(suspicious_sittings(exam_id, focus_losses=threshold)),
        similarity=answer_similarity(exam_id),
    )


CSV_COLUMNS = (
    "kind",
    "sitting",
    "net_id",
    "name",
    "status",
    "focus_losses",
    "visibility_changes",
    "pastes",
    "takeovers",
    "ip_addresses",
    "other_sitting",
    "other_net_id",
    "other_name",
    "identical_wrong_answers",
    "both_wrong",
    "expected_by_chance",
    "p_value",
    "adjusted_p_value",
    "questions",
    "flagged",
    "reasons",
)


def integrity_csv(report: IntegrityReport) -> str:
    """The report as CSV: one row per flagged sitting (``kind`` sitting), then one per reported
    pair (``kind`` pair), under one header; a column that does not apply to a row is empty.
    Text cells are neutralised against spreadsheet formulas (``grading.exports.cell_text``)."""
    empty = dict.fromkeys(CSV_COLUMNS, "")
    lines: list[list[str]] = [list(CSV_COLUMNS)]
    for row in report.sittings:
        cells = {
            **empty,
            "kind": "sitting",
            "sitting": str(row.sitting_id),
            "net_id": cell_text(row.net_id),
            "name": cell_text(row.full_name),
            "status": cell_text(row.status),
            "focus_losses": str(row.focus_losses),
            "visibility_changes": str(row.visibility_changes),
            "pastes": str(row.pastes),
            "takeovers": str(row.takeovers),
            "ip_addresses": cell_text(" ".join(row.ips)),
            "flagged": "yes",
            "reasons": cell_text("; ".join(row.reasons)),
        }
        lines.append([cells[column] for column in CSV_COLUMNS])
    for pair in report.similarity.pairs:
        cells = {
            **empty,
            "kind": "pair",
            "sitting": str(pair.first.sitting_id),
            "net_id": cell_text(pair.first.net_id),
            "name": cell_text(pair.first.full_name),
            "other_sitting": str(pair.second.sitting_id),
            "other_net_id": cell_text(pair.second.net_id),
            "other_name": cell_text(pair.second.full_name),
            "identical_wrong_answers": str(pair.shared),
            "both_wrong": str(pair.both_wrong),
            "expected_by_chance": f"{pair.expected:.3f}",
            "p_value": f"{pair.p_value:.3g}",
            "adjusted_p_value": f"{pair.adjusted_p_value:.3g}",
            "questions": cell_text(" ".join(pair.questions)),
            "flagged": "yes" if pair.flagged else "no",
            "reasons": cell_text(
                f"The same wrong answer to {pair.shared} of the {pair.both_wrong} questions both got wrong, "
                f"where {pair.expected:.2f} are expected by chance"
            ),
        }
        lines.append([cells[column] for column in CSV_COLUMNS])
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return out.getvalue()


def integrity_filename(exam: Exam) -> str:
    """``cse493g1-sp23-exam7-integrity.csv``: ASCII, no spaces, no quotes."""
    course = re.sub(r"[^A-Za-z0-9_-]+", "-", exam.course.code).strip("-") or "course"
    return f"{course}-exam{exam.pk}-integrity.csv"
