"""Simulated sittings for the demo and the scoring benchmarks: ``sittings_simulate``.

Answers follow a two-parameter item response model. Each student has an ability
θ ~ N(0, 1); each answerable question a difficulty b ~ N(0, 1) and a discrimination
a ~ LogNormal(ln 1.2, 0.25); the student answers it right with probability
1 / (1 + exp(−a(θ − b))). A question is left blank with a small probability that grows as
that chance shrinks. A right answer is the key (``grading.scoring.key_answer``), or a
good write-up or a neat sketch for the kinds graded by hand; a wrong one is a plausible
mistake of the kind's shape, never the key. Every value is stored as the kind's
``clean_answer`` returns it, as a real save stores it.

The writes mirror the real sitting flow: a user, an active student membership, a
submitted sitting with its honor-code signature and receipt code, and one ``Answer`` plus
one ``AnswerRevision`` per answered question. A blank question has no row, as for a
student who never touched it. On PostgreSQL the rows go in by COPY (20,000 students ×
37 questions in well under a minute); elsewhere (the SQLite demo) by ``bulk_create``.

Simulated students have the NetID ``zz`` + the exam id in base 36 + a three-digit base-36
index (``zz3000``, ``zz3001``, … for exam 3), so two exams never share one; a run whose
NetIDs are taken (a previous run on the exam, or a real person) is refused. The same
seed on the same exam gives the same students, answers and times.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import batched, combinations
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Model

from accounts.models import Membership, Role, User
from exams.kinds import ChoiceData, get_kind
from exams.models import Answer, AnswerRevision, Exam, HonorCodeSignature, Sitting, SittingStatus
from exams.sittings import deadline_compute
from grading.scoring import QuestionSpec, key_answer, score_answer
from grading.scoring.specs import exam_specs

NET_ID_PREFIX = "zz"
INDEX_DIGITS = 3
BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_STUDENTS = 36**INDEX_DIGITS  # 46,656 per exam
MAX_EXAM_ID = 36 ** (8 - len(NET_ID_PREFIX) - INDEX_DIGITS) - 1  # the NetID has at most 8 characters

CLOSED_BY = "simulated"
USER_AGENT = "examhall simulate_sittings"

# The model's parameters (see the module docstring).
DISCRIMINATION_MEDIAN = 1.2
DISCRIMINATION_SPREAD = 0.25
BLANK_RATE = 0.08  # times the chance of getting it wrong: about 4% blanks overall
FLAG_RATE = 0.03
ONE_FLIP_SHARE = 0.25  # of wrong multiple-select answers; the others flip two (a miss is rarely a near miss)
GRID_CHANGED = (0.5, 0.9)  # each cell of a wrong grid changes with a chance drawn from here: about guessing
START_SPREAD = timedelta(minutes=10)  # students arrive over the first minutes
SETTLE = timedelta(minutes=5)  # the cohort has submitted this long before ``now``

FIRST_NAMES = (  # noqa: SIM905 - a list of words reads better as words
    "Aiden Amara Ananya Ben Camila Chloe Daniel Diego Elena Ethan Fatima Grace Hannah Hiro Isaac Jia "
    "Jonah Kavya Leo Lina Lucas Maya Mei Mohamed Nadia Noah Olivia Omar Priya Quinn Rafael Sara Sofia "
    "Tariq Uma Victor Wei Yara Yusuf Zoe"
).split()
LAST_NAMES = (  # noqa: SIM905 - a list of words reads better as words
    "Abebe Alvarez Bauer Chen Cohen Das Dubois Fischer Garcia Gupta Haddad Ivanova Jensen Kim Kowalski "
    "Lee Li Martin Mensah Mwangi Nakamura Nguyen Okafor Olsen Patel Park Rossi Santos Sato Schmidt Silva "
    "Singh Tanaka Torres Wang Williams Wu Yilmaz Zhang"
).split()

Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]


class SimulationRefused(ValueError):
    """The simulation cannot run as asked; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ItemParameters:
    """The simulated parameters of one question: higher ``difficulty`` is harder."""

    difficulty: float
    discrimination: float


@dataclass(frozen=True, slots=True)
class QuestionPlan:
    """What every simulated student answers to one question.

    ``values`` holds the distinct answers; ``pick[i]`` is student i's index into it, or −1
    for a blank. ``right[i]`` says whether the model drew a right answer.
    """

    spec: QuestionSpec
    item: ItemParameters
    values: tuple[Any, ...]
    pick: Ints
    right: Bool
    flagged: Bool

    def value(self, student: int) -> Any:
        index = int(self.pick[student])
        return None if index < 0 else self.values[index]


@dataclass(frozen=True, slots=True)
class AnswerPlan:
    """The answers of ``students`` simulated students to ``questions`` (in paper order)."""

    abilities: Float
    questions: tuple[QuestionPlan, ...]

    @property
    def students(self) -> int:
        return len(self.abilities)


@dataclass(frozen=True, slots=True)
class SimulatedSittings:
    """What ``sittings_simulate`` created.

    ``items`` maps each answerable question's id to its simulated parameters and
    ``abilities`` each simulated student's NetID to θ. ``answers`` counts the ``Answer`` rows
    (each with one ``AnswerRevision``), ``blanks`` the questions left without one, ``right``
    the answers drawn as right.
    """

    exam_id: int
    seed: int
    students: int
    answers: int
    blanks: int
    right: int
    net_ids: tuple[str, str]
    items: Mapping[int, ItemParameters]
    abilities: Mapping[str, float]

    @property
    def sittings(self) -> int:
        return self.students


# --- NetIDs ----------------------------------------------------------------------------------------


def _base36(number: int) -> str:
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = BASE36[digit] + digits
        if not number:
            return digits


def simulated_net_id(exam_id: int, index: int) -> str:
    """The NetID of simulated student ``index`` (from 0) of an exam, e.g. ``zz3000`` for exam 3."""
    if not 1 <= exam_id <= MAX_EXAM_ID:
        raise SimulationRefused(f"Simulated NetIDs cover exam ids 1 to {MAX_EXAM_ID}; this exam's is {exam_id}.")
    if not 0 <= index < MAX_STUDENTS:
        raise SimulationRefused(f"An exam has at most {MAX_STUDENTS} simulated students.")
    return NET_ID_PREFIX + _base36(exam_id) + _base36(index).rjust(INDEX_DIGITS, "0")


# --- the answers (pure: no database) ----------------------------------------------------------------


def _choices(spec: QuestionSpec) -> list[ChoiceData]:
    return [ChoiceData(label, "", label in spec.correct_labels) for label in spec.choice_labels]


def _clean(spec: QuestionSpec, value: Any) -> Any:
    """The value as a save stores it; raises ValidationError when the kind refuses it."""
    return get_kind(spec.kind).clean_answer(dict(spec.config), value, _choices(spec))


def _is_wrong(spec: QuestionSpec, value: Any) -> bool:
    score = score_answer(spec, value)
    return value is not None and not score.is_full and not score.needs_manual


@dataclass(frozen=True, slots=True)
class _Variants:
    """Right and wrong answers to draw from, the wrong ones with their weights."""

    right: list[Any]
    wrong: list[Any]
    wrong_weights: list[float]


def _choice_variants(spec: QuestionSpec) -> _Variants:
    key = key_answer(spec)
    if spec.kind == "true_false":
        return _Variants([key], [not key], [1.0])
    if spec.kind == "single_choice":
        return _Variants([key], [label for label in spec.choice_labels if label != key], [])
    # multiple_select: the key with one or two options flipped, never empty, never the key.
    labels, key_set = spec.choice_labels, set(key)
    wrong: list[Any] = []
    weights: list[float] = []
    for count, share in ((1, ONE_FLIP_SHARE), (2, 1 - ONE_FLIP_SHARE)):
        flips = [set(flipped) for flipped in combinations(labels, count)]
        chosen = [[label for label in labels if (label in key_set) != (label in flip)] for flip in flips]
        chosen = [c for c in chosen if c]
        if not chosen:
            continue
        wrong += chosen
        weights += [share / len(chosen)] * len(chosen)
    return _Variants([key], wrong, weights)


def _numeric_variants(spec: QuestionSpec) -> _Variants:
    """Slips a student makes with a number: the sign, a power of ten, a factor of two, an off-by-one."""
    value = float(spec.key["value"])
    tolerance = float(spec.key.get("tolerance", 0))
    allowed = tolerance * abs(value) if spec.key.get("mode") == "relative" else tolerance
    scale = abs(value) or 1.0
    candidates = [
        (-value, 1.0),
        (value * 10, 1.0),
        (value / 10, 1.0),
        (value * 2, 0.7),
        (value + 1, 0.7),
        (value + 3 * allowed + 0.1 * scale, 1.5),  # close, but outside the tolerance
        (value - 4 * allowed - 0.2 * scale, 1.0),
    ]
    wrong: list[Any] = []
    weights: list[float] = []
    for candidate, weight in candidates:
        rounded = float(f"{candidate:.6g}")
        if math.isfinite(rounded) and rounded not in wrong and _is_wrong(spec, rounded):
            wrong.append(rounded)
            weights.append(weight)
    return _Variants([key_answer(spec)], wrong, weights)


def _expression_variants(spec: QuestionSpec) -> _Variants:
    """Classic formula mistakes: a flipped sign, a lost square root, a stray factor, a half-typed one."""
    key = str(key_answer(spec)).strip()
    candidates: list[tuple[str, float]] = []
    swapped = re.sub(r"[-+]", lambda m: "+" if m.group() == "-" else "-", key, count=1)
    candidates.append((swapped, 1.5))
    match = re.fullmatch(r"sqrt\((.*)\)", key)
    candidates.append((match.group(1) if match else f"sqrt({key})", 1.5))
    candidates += [(f"2*({key})", 1.0), (f"({key})/2", 0.7), (f"({key})^2", 0.7), (f"{key} + 1", 0.5)]
    candidates.append((key[:-1] if key.endswith(")") else key + " *", 0.3))  # still typing at the end
    wrong: list[Any] = []
    weights: list[float] = []
    for candidate, weight in candidates:
        if len(candidate) <= 300 and candidate not in wrong and _is_wrong(spec, candidate):
            wrong.append(candidate)
            weights.append(weight)
    if not wrong:  # a key no variant above can miss: a constant offset always does
        wrong, weights = [f"({key}) + 7"], [1.0]
    return _Variants([key], wrong, weights)


GOOD_TEXTS = (
    "The key point is that the quantity is bounded, $0 \\le p \\le 1$, so "
    "$L = -\\log p$ is never negative and falls to $0$ as $p \\to 1$.",
    "It follows from the definition: **each term** contributes $x_i w_i$, so the total is $\\sum_i x_i w_i$, "
    "which grows linearly in every input.",
    "Yes. With $n$ examples the estimate has variance $\\sigma^2 / n$; more data makes it *more stable*.",
)
POOR_TEXTS = (
    "I think it is because of overfitting?",
    "Not sure. Maybe $x = 0$ because the gradient vanishes",
    "It depends on the **learning rate** $\\eta$.",
    "more layers = better accuracy",
)
PART_RE = re.compile(r"^\(([a-z])\)\s*(.+?)(?=^\([a-z]\)|\Z)", re.MULTILINE | re.DOTALL)


def _short_answer_variants(spec: QuestionSpec) -> _Variants:
    """Good write-ups (from the model answer when there is one) and poor ones, in Markdown with LaTeX."""
    parts: list[str] = list(spec.config.get("parts", []))
    limit = int(spec.config.get("max_length", 5000))
    model = str(spec.key.get("model_answer", "")).strip()
    by_part = {m.group(1): " ".join(m.group(2).split()) for m in PART_RE.finditer(model)}

    def first_sentence(text: str) -> str:
        return text.split(". ")[0].rstrip(".") + "."

    def shaped(texts: Callable[[str, int], str], count: int) -> list[Any]:
        if not parts:
            return [texts("", i)[:limit] for i in range(count)]
        return [{part: texts(part, i + j)[:limit] for j, part in enumerate(parts)} for i in range(count)]

    def good(part: str, i: int) -> str:
        own = by_part.get(part) if part else model
        if own:
            return own if i % 2 == 0 else first_sentence(own)
        return GOOD_TEXTS[i % len(GOOD_TEXTS)]

    def poor(part: str, i: int) -> str:
        return POOR_TEXTS[i % len(POOR_TEXTS)]

    return _Variants(shaped(good, 3), shaped(poor, len(POOR_TEXTS)), [1.0] * len(POOR_TEXTS))


def _sketch_variants(spec: QuestionSpec, rng: np.random.Generator) -> _Variants:
    """Neat strokes (one straight, steady line) and messy ones (several wobbly strokes), in axis units."""
    x_min, x_max = float(spec.config.get("x_min", -5)), float(spec.config.get("x_max", 5))
    y_min, y_max = float(spec.config.get("y_min", -5)), float(spec.config.get("y_max", 5))
    height = y_max - y_min

    def stroke(x0: float, x1: float, y0: float, y1: float, wobble: float, points: int) -> list[list[float]]:
        xs = np.linspace(x0, x1, points)
        ys = np.linspace(y0, y1, points) + rng.normal(0, wobble * height, points)
        ys = np.clip(ys, y_min, y_max)
        return [[round(float(x), 3), round(float(y), 3)] for x, y in zip(xs, ys, strict=True)]

    def neat() -> dict[str, Any]:
        y0, y1 = rng.uniform(y_min, y_max, 2)
        return {"strokes": [stroke(x_min, x_max, float(y0), float(y1), 0.005, 24)]}

    def messy() -> dict[str, Any]:
        strokes = []
        for _ in range(int(rng.integers(2, 5))):
            x0, x1 = sorted(rng.uniform(x_min, x_max, 2))
            y0, y1 = rng.uniform(y_min, y_max, 2)
            strokes.append(stroke(float(x0), float(x1), float(y0), float(y1), 0.05, int(rng.integers(6, 16))))
        return {"strokes": strokes}

    return _Variants([neat() for _ in range(8)], [messy() for _ in range(8)], [1.0] * 8)


def _grid_wrong(spec: QuestionSpec, rng: np.random.Generator, count: int) -> list[Any]:
    """The key with some cells changed (each with a chance drawn from ``GRID_CHANGED``, at least one),
    a few of them left empty: a wrong grid scores about what guessing would."""
    key = np.array(spec.key["cells"], dtype=object)
    symbols = list(spec.config["symbols"])
    cells = key.size
    codes = np.array([symbols.index(cell) for cell in key.ravel()])
    changed = rng.random((count, cells)) < rng.uniform(*GRID_CHANGED, (count, 1))
    none = ~changed.any(axis=1)
    changed[none, rng.integers(0, cells, int(none.sum()))] = True
    shifted = (codes + rng.integers(1, len(symbols), (count, cells))) % len(symbols)
    answer = np.where(changed, shifted, codes)
    empty = changed & (rng.random((count, cells)) < 0.05)
    answer[empty] = -1
    rows, cols = key.shape
    lookup = [*symbols, None]  # code −1 is the empty cell
    return [[[lookup[code] for code in row] for row in grid.reshape(rows, cols)] for grid in answer]


def _variants(spec: QuestionSpec, rng: np.random.Generator) -> _Variants:
    if spec.kind in ("true_false", "single_choice", "multiple_select"):
        return _choice_variants(spec)
    if spec.kind == "numeric":
        return _numeric_variants(spec)
    if spec.kind == "expression":
        return _expression_variants(spec)
    if spec.kind == "grid":
        return _Variants([key_answer(spec)], [], [])
    if spec.kind == "short_answer":
        return _short_answer_variants(spec)
    if spec.kind == "sketch":
        return _sketch_variants(spec, rng)
    raise ValueError(f"No simulated answers for a {spec.kind} question.")


def _question_plan(
    spec: QuestionSpec, item: ItemParameters, abilities: Float, rng: np.random.Generator
) -> QuestionPlan:
    n = len(abilities)
    p_right = 1.0 / (1.0 + np.exp(-item.discrimination * (abilities - item.difficulty)))
    blank = rng.random(n) < BLANK_RATE * (1.0 - p_right)
    right = ~blank & (rng.random(n) < p_right)
    wrong = ~blank & ~right
    flagged = ~blank & (rng.random(n) < FLAG_RATE * (1.5 - p_right))

    variants = _variants(spec, rng)
    values: list[Any] = [_clean(spec, v) for v in variants.right]
    pick = np.full(n, -1, dtype=np.int64)
    pick[right] = rng.integers(0, len(values), int(right.sum()))
    if spec.kind == "grid":
        grids = _grid_wrong(spec, rng, int(wrong.sum()))
        seen: dict[str, int] = {}
        indices = []
        for grid in grids:
            text = json.dumps(grid)
            if text not in seen:
                seen[text] = len(values)
                values.append(_clean(spec, grid))
            indices.append(seen[text])
        pick[wrong] = np.array(indices, dtype=np.int64)
    else:
        weights = np.array(variants.wrong_weights or [1.0] * len(variants.wrong))
        offset = len(values)
        values += [_clean(spec, v) for v in variants.wrong]
        pick[wrong] = offset + rng.choice(len(variants.wrong), size=int(wrong.sum()), p=weights / weights.sum())
    return QuestionPlan(spec=spec, item=item, values=tuple(values), pick=pick, right=right, flagged=flagged)


def answers_plan(*, specs: Sequence[QuestionSpec], students: int, seed: int) -> AnswerPlan:
    """The simulated answers of ``students`` students to ``specs`` (answerable questions in paper order).

    Pure and deterministic: the same specs, count and seed give the same plan. Each question
    draws from its own stream, so its answers do not depend on the kinds of the others.
    """
    if students < 1:
        raise SimulationRefused("Simulate at least one student.")
    root = np.random.SeedSequence(seed)
    ability_seed, item_seed, *question_seeds = root.spawn(2 + len(specs))
    abilities = np.random.default_rng(ability_seed).normal(0.0, 1.0, students)
    item_rng = np.random.default_rng(item_seed)
    difficulty = item_rng.normal(0.0, 1.0, len(specs))
    discrimination = item_rng.lognormal(math.log(DISCRIMINATION_MEDIAN), DISCRIMINATION_SPREAD, len(specs))
    questions = tuple(
        _question_plan(
            spec,
            ItemParameters(difficulty=float(b), discrimination=float(a)),
            abilities,
            np.random.default_rng(question_seed),
        )
        for spec, b, a, question_seed in zip(specs, difficulty, discrimination, question_seeds, strict=True)
    )
    return AnswerPlan(abilities=abilities, questions=questions)


# --- the sittings' times --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Times:
    started: list[datetime]
    deadline: list[datetime]
    submitted: list[datetime]
    saved: Float  # students × questions: when each answer was saved, as a fraction of the time used


def _times(exam: Exam, now: datetime, students: int, questions: int, rng: np.random.Generator) -> _Times:
    """Starts spread over the first minutes of the exam's window, finished by ``now`` where the window allows."""
    length = timedelta(minutes=exam.duration_minutes)
    begin = now - length - START_SPREAD - SETTLE
    spread = START_SPREAD
    if exam.closes_at is not None:
        begin = min(begin, exam.closes_at - length - START_SPREAD)
    if exam.opens_at is not None:
        begin = max(begin, exam.opens_at)
    if exam.closes_at is not None:
        spread = max(timedelta(0), min(spread, (exam.closes_at - begin) / 2))
    offsets = rng.uniform(0.0, spread.total_seconds(), students)
    used = rng.beta(6.0, 2.0, students)  # most use most of their time
    started, deadline, submitted = [], [], []
    for offset, share in zip(offsets, used, strict=True):
        start = (begin + timedelta(seconds=round(float(offset), 3))).astimezone(UTC)
        end = deadline_compute(started_at=start, duration_minutes=exam.duration_minutes, closes_at=exam.closes_at)
        started.append(start)
        deadline.append(end)
        submitted.append(start + timedelta(seconds=round(max(end - start, timedelta(0)).total_seconds() * share, 3)))
    saved = np.sort(rng.uniform(0.02, 0.98, (students, questions)), axis=1)
    return _Times(started, deadline, submitted, saved)


# --- writing ---------------------------------------------------------------------------------------


class _Saved(NamedTuple):
    """One answered question of one sitting, as both its Answer and its AnswerRevision store it."""

    question_id: int
    value: Any
    text: str  # the value as JSON
    flagged: bool
    seq: int
    saved_at: datetime


def _json(value: Any) -> str:
    """JSON as the receipt digest writes it (``exams.sittings._answers_digest``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _receipt(sitting_id: int, signed_at: datetime, saved: list[_Saved]) -> str:
    """``exams.sittings._answers_digest`` from the values in hand, without reading them back."""
    body = ",".join(f'"{s.question_id}":{s.text}' for s in sorted(saved, key=lambda s: str(s.question_id)))
    payload = f'{{"answers":{{{body}}},"signed_at":{json.dumps(signed_at.isoformat())},"sitting":{sitting_id}}}'
    return hashlib.sha256(payload.encode()).hexdigest()


def _saved_answers(plan: AnswerPlan, times: _Times) -> list[list[_Saved]]:
    """Each student's answered questions in the order they were saved (paper order), blanks left out."""
    texts = [[_json(value) for value in question.values] for question in plan.questions]
    question_ids = [_question_id(question.spec) for question in plan.questions]
    result = []
    for student in range(plan.students):
        start = times.started[student]
        used = (times.submitted[student] - start).total_seconds()
        saved: list[_Saved] = []
        for j, question in enumerate(plan.questions):
            index = int(question.pick[student])
            if index >= 0:
                at = start + timedelta(seconds=round(used * float(times.saved[student, j]), 3))
                flagged = bool(question.flagged[student])
                saved.append(
                    _Saved(question_ids[j], question.values[index], texts[j][index], flagged, len(saved) + 1, at)
                )
        result.append(saved)
    return result


def _question_id(spec: QuestionSpec) -> int:
    if spec.question_id is None:
        raise ValueError(f"Question {spec.number or '?'} has no id: build its spec from the saved question.")
    return spec.question_id


def _uses_copy() -> bool:
    return connection.vendor == "postgresql"


def _reserve_ids(model: type[Model], count: int) -> list[int]:
    """``count`` ids from the table's own sequence, so rows written by COPY can refer to each other."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY the rows (JSON fields as JSON text) into the model's table."""
    quote = connection.ops.quote_name
    column = {field.attname: str(field.column) for field in model._meta.concrete_fields}
    columns = ", ".join(quote(column[name]) for name in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cast(Any, cursor).copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _bulk_create(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[int]:
    """The same rows through the ORM (JSON fields as Python values), in batches; their new ids, in order."""
    ids: list[int] = []
    for batch in batched(rows, BULK_BATCH):
        objects = [model(**dict(zip(fields, row, strict=True))) for row in batch]
        ids += [obj.pk for obj in model._default_manager.bulk_create(objects)]
    return ids


def _write(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], *, copy: bool) -> None:
    if copy:
        _copy(model, fields, rows)
    else:
        _bulk_create(model, fields, rows)


USER_FIELDS = ("password", "is_superuser", "net_id", "full_name", "email", "is_staff", "is_active", "date_joined")
MEMBERSHIP_FIELDS = ("user_id", "course_id", "role", "quiz_section", "active")
SITTING_FIELDS = (
    "exam_id",
    "student_id",
    "status",
    "started_at",
    "deadline",
    "submitted_at",
    "closed_by",
    "device",
    "last_seq",
    "last_saved_at",
    "start_ip",
    "receipt_code",
)
SIGNATURE_FIELDS = ("sitting_id", "typed_name", "statement", "signed_at", "ip", "user_agent")
ANSWER_FIELDS = ("sitting_id", "question_id", "value", "flagged", "seq", "saved_at")
REVISION_FIELDS = (*ANSWER_FIELDS, "device")
BULK_BATCH = 2000


def _refuse_taken(exam: Exam, net_ids: list[str]) -> None:
    prefix = net_ids[0][:-INDEX_DIGITS]
    wanted = set(net_ids)
    taken = [n for n in User.objects.filter(net_id__startswith=prefix).values_list("net_id", flat=True) if n in wanted]
    if not taken:
        return
    first, last = min(taken), max(taken)
    sat = Sitting.objects.filter(exam=exam, student__net_id__in=taken).count()
    if sat:
        raise SimulationRefused(
            f"{sat} of the simulated students ({first}–{last}) already have sittings on exam {exam.pk}: it was "
            "simulated before. Simulated sittings are student data and are never deleted; simulate on a fresh "
            "copy of the exam instead."
        )
    raise SimulationRefused(
        f"{len(taken)} of the NetIDs this simulation needs ({first}–{last}) belong to existing users, who are "
        f"not simulated students of exam {exam.pk}; nothing was written."
    )


@dataclass(frozen=True, slots=True)
class _People:
    net_ids: list[str]
    names: list[str]
    devices: list[uuid.UUID]


def _people(exam_id: int, students: int, rng: np.random.Generator) -> _People:
    firsts = rng.integers(0, len(FIRST_NAMES), students)
    lasts = rng.integers(0, len(LAST_NAMES), students)
    return _People(
        net_ids=[simulated_net_id(exam_id, index) for index in range(students)],
        names=[f"{FIRST_NAMES[f]} {LAST_NAMES[last]}" for f, last in zip(firsts, lasts, strict=True)],
        devices=[uuid.UUID(bytes=rng.bytes(16), version=4) for _ in range(students)],
    )


def _write_students(exam: Exam, people: _People, *, joined: datetime, copy: bool) -> list[int]:
    """The users and their active student memberships (spread over the course's quiz sections); the users' ids."""
    sections = sorted(
        set(
            Membership.objects.filter(course_id=exam.course_id, role=Role.STUDENT)
            .exclude(quiz_section="")
            .values_list("quiz_section", flat=True)
        )
    )
    password = make_password(None)  # unusable: simulated students never sign in
    users = [
        (password, False, net_id, name, "", False, True, joined)
        for net_id, name in zip(people.net_ids, people.names, strict=True)
    ]
    if copy:
        user_ids = _reserve_ids(User, len(users))
        _copy(User, ("id", *USER_FIELDS), ((pk, *row) for pk, row in zip(user_ids, users, strict=True)))
    else:
        user_ids = _bulk_create(User, USER_FIELDS, users)
    memberships = [
        (user_id, exam.course_id, Role.STUDENT.value, sections[i % len(sections)] if sections else "", True)
        for i, user_id in enumerate(user_ids)
    ]
    _write(Membership, MEMBERSHIP_FIELDS, memberships, copy=copy)
    return user_ids


def _write_sittings(
    exam: Exam,
    user_ids: list[int],
    people: _People,
    times: _Times,
    saved: list[list[_Saved]],
    *,
    ip: str | None,
    copy: bool,
) -> list[int]:
    """The submitted sittings with their receipts, and their honor-code signatures; the sittings' ids."""
    # COPY takes the ids first, to write each receipt with its sitting; bulk_create learns them after.
    sitting_ids = _reserve_ids(Sitting, len(user_ids)) if copy else []
    sittings = [
        (
            exam.pk,
            user_id,
            SittingStatus.SUBMITTED.value,
            times.started[i],
            times.deadline[i],
            times.submitted[i],
            CLOSED_BY,
            people.devices[i],
            len(saved[i]),  # last_seq: one save per answer
            saved[i][-1].saved_at if saved[i] else None,
            ip,
            _receipt(sitting_ids[i], times.started[i], saved[i]) if copy else "",
        )
        for i, user_id in enumerate(user_ids)
    ]
    if copy:
        _copy(Sitting, ("id", *SITTING_FIELDS), ((pk, *row) for pk, row in zip(sitting_ids, sittings, strict=True)))
    else:
        sitting_ids = _bulk_create(Sitting, SITTING_FIELDS, sittings)
        receipts = [
            Sitting(pk=pk, receipt_code=_receipt(pk, times.started[i], saved[i])) for i, pk in enumerate(sitting_ids)
        ]
        Sitting.objects.bulk_update(receipts, ["receipt_code"], batch_size=BULK_BATCH)
    signatures = [
        (pk, people.names[i], exam.honor_code, times.started[i], ip, USER_AGENT) for i, pk in enumerate(sitting_ids)
    ]
    _write(HonorCodeSignature, SIGNATURE_FIELDS, signatures, copy=copy)
    return sitting_ids


def sittings_simulate(*, exam_id: int, students: int, seed: int, now: datetime) -> SimulatedSittings:
    """Create ``students`` simulated students in the exam's course, each with a submitted sitting.

    Raises ``SimulationRefused`` (nothing written) for an unknown exam, an exam without
    answerable questions, a count below 1 or above ``MAX_STUDENTS``, or NetIDs already taken.
    Runs in one transaction; ``now`` sets when the sittings happened (see ``_times``).
    """
    exam = Exam.objects.select_related("course").filter(pk=exam_id).first()
    if exam is None:
        raise SimulationRefused(f"No exam has the id {exam_id}.")
    if not 1 <= students <= MAX_STUDENTS:
        raise SimulationRefused(f"Simulate from 1 to {MAX_STUDENTS} students, not {students}.")
    specs = [spec for section in exam_specs(exam.pk) for spec in section.questions]
    if not specs:
        raise SimulationRefused(f"Exam {exam.pk} has no answerable questions to simulate answers to.")

    networks = exam.networks()
    ip = str(next(iter(networks[0].hosts()), networks[0].network_address)) if networks else None
    copy = _uses_copy()
    people_rng, time_rng = (np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1]).spawn(2))
    people = _people(exam.pk, students, people_rng)

    with transaction.atomic():
        _refuse_taken(exam, people.net_ids)
        plan = answers_plan(specs=specs, students=students, seed=seed)
        times = _times(exam, now.astimezone(UTC), students, len(specs), time_rng)
        saved = _saved_answers(plan, times)
        user_ids = _write_students(exam, people, joined=min(now, *times.started), copy=copy)
        sitting_ids = _write_sittings(exam, user_ids, people, times, saved, ip=ip, copy=copy)
        for model, fields in ((Answer, ANSWER_FIELDS), (AnswerRevision, REVISION_FIELDS)):
            revision = model is AnswerRevision
            rows = (
                (sitting_ids[i], s.question_id, s.text if copy else s.value, s.flagged, s.seq, s.saved_at)
                + ((people.devices[i],) if revision else ())
                for i, answers in enumerate(saved)
                for s in answers
            )
            _write(model, fields, rows, copy=copy)

    answered = sum(len(answers) for answers in saved)
    return SimulatedSittings(
        exam_id=exam.pk,
        seed=seed,
        students=students,
        answers=answered,
        blanks=students * len(specs) - answered,
        right=sum(int(question.right.sum()) for question in plan.questions),
        net_ids=(people.net_ids[0], people.net_ids[-1]),
        items={_question_id(question.spec): question.item for question in plan.questions},
        abilities={net_id: float(theta) for net_id, theta in zip(people.net_ids, plan.abilities, strict=True)},
    )
