"""The bulk scoring engine: read a chunk's answers in one query, score each distinct answer
once, write every score in one statement.

The ORM's convenience paths (``save()`` per row, ``bulk_update``) write a few thousand rows a
second; scoring 20,000 sittings needs a hundred times that. So this module talks SQL:
answers are read as JSON text (identical answers share one scoring call, keyed by that
text), and scores reach PostgreSQL by COPY, straight into the table the first time a chunk
is scored and through a staging table with ``INSERT … ON CONFLICT`` when rows exist. The
conflict rule keeps a grader's points: a row whose ``source`` is not ``auto`` gets its new
``auto_points`` and nothing else. SQLite (the demo) takes the same upsert row by row.

Everything a chunk writes happens in one transaction, so a worker killed mid-chunk leaves
nothing half-written, and running a chunk again writes the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from grading.models import AnswerScore, ScoreSource, SittingResult
from grading.scoring import POINTS_QUANTUM, QuestionSpec, Score, SectionScores, exam_total, score_answer, to_points
from grading.scoring.specs import SectionSpecs, exam_specs
from grading.scoring.summary import response_summary

ANSWERS = "exams_answer"
SCORES = AnswerScore._meta.db_table
COLUMNS = (
    "sitting_id",
    "question_id",
    "points",
    "auto_points",
    "max_points",
    "explanation",
    "needs_manual",
    "blank",
    "source",
    "response_summary",
    "job_id",
    "scored_at",
)
# A grader's points survive every re-run; only the policy's own figures follow the key.
UPSERT_SET = f"""
    auto_points = EXCLUDED.auto_points,
    max_points = EXCLUDED.max_points,
    blank = EXCLUDED.blank,
    response_summary = EXCLUDED.response_summary,
    job_id = EXCLUDED.job_id,
    scored_at = EXCLUDED.scored_at,
    points = CASE WHEN {SCORES}.source = 'auto' THEN EXCLUDED.points ELSE {SCORES}.points END,
    explanation = CASE WHEN {SCORES}.source = 'auto' THEN EXCLUDED.explanation ELSE {SCORES}.explanation END,
    needs_manual = CASE WHEN {SCORES}.source = 'auto' THEN EXCLUDED.needs_manual ELSE {SCORES}.needs_manual END
"""


@dataclass(frozen=True, slots=True)
class Scored:
    """One scored (sitting, question): the policy's score, the answer's summary, and the
    columns of its score row after (sitting, question), built once per distinct answer."""

    score: Score
    blank: bool
    summary: str
    row_tail: tuple[Any, ...] = ()


def question_id_of(spec: QuestionSpec) -> int:
    """The saved question a spec was built from (specs from ``exam_specs`` always have one)."""
    if spec.question_id is None:
        raise ValueError(f"Question {spec.number or '?'} has no id: build its spec from the saved question.")
    return spec.question_id


class AnswerScorer:
    """Scores answers given as stored JSON text, once per distinct (question, text). With a
    job id and a time, each result also carries the rest of its score row (``row_tail``)."""

    def __init__(self, *, job_id: int | None = None, now: datetime | None = None) -> None:
        self._memo: dict[tuple[int, str | None], Scored] = {}
        self._job_id = job_id
        self._now = now

    def __call__(self, spec: QuestionSpec, text: str | None) -> Scored:
        key = (question_id_of(spec), text)
        found = self._memo.get(key)
        if found is None:
            value: Any = None if text is None else json.loads(text)
            score = score_answer(spec, value)
            summary = response_summary(spec, value)
            tail = (
                score.points,
                score.points,
                score.max_points,
                score.explanation,
                score.needs_manual,
                value is None,
                ScoreSource.AUTO,
                summary,
                self._job_id,
                self._now,
            )
            found = Scored(score, value is None, summary, tail)
            self._memo[key] = found
        return found

    @property
    def distinct(self) -> int:
        return len(self._memo)


def answers_read(sitting_ids: Sequence[int], question_ids: Sequence[int] | None = None) -> dict[tuple[int, int], str]:
    """The stored answers of these sittings as JSON text, by (sitting id, question id)."""
    if not sitting_ids:
        return {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"SELECT sitting_id, question_id, value::text FROM {ANSWERS} WHERE sitting_id = ANY(%s)"  # noqa: S608 — names are ours, values parameters
            params: list[Any] = [list(sitting_ids)]
            if question_ids is not None:
                sql += " AND question_id = ANY(%s)"
                params.append(list(question_ids))
        else:
            sql = f"SELECT sitting_id, question_id, value FROM {ANSWERS} WHERE sitting_id IN ({_marks(sitting_ids)})"  # noqa: S608
            params = list(sitting_ids)
            if question_ids is not None:
                sql += f" AND question_id IN ({_marks(question_ids)})"
                params += list(question_ids)
        cursor.execute(sql, params)
        return {(sitting, question): text for sitting, question, text in cursor.fetchall() if text != "null"}


def _marks(values: Sequence[object]) -> str:
    return ", ".join(["%s"] * len(values))


@dataclass(frozen=True)
class Table:
    """A table the engine writes in bulk: its columns, conflict target and upsert rule."""

    name: str
    columns: tuple[str, ...]
    conflict: str
    update: str
    stage_types: str  # the staging table's column definitions, in ``columns`` order

    def insert(self) -> str:
        return f"INSERT INTO {self.name} ({', '.join(self.columns)})"

    def on_conflict(self) -> str:
        return f"ON CONFLICT ({self.conflict}) DO UPDATE SET {self.update}"


SCORE_TABLE = Table(
    name=SCORES,
    columns=COLUMNS,
    conflict="sitting_id, question_id",
    update=UPSERT_SET,
    stage_types="sitting_id bigint, question_id bigint, points numeric, auto_points numeric, max_points numeric, "
    "explanation text, needs_manual boolean, blank boolean, source varchar(10), response_summary varchar(64), "
    "job_id bigint, scored_at timestamptz",
)
RESULT_TABLE = Table(
    name=SittingResult._meta.db_table,
    columns=(
        "sitting_id",
        "exam_id",
        "points",
        "max_points",
        "extra_points",
        "pending_manual",
        "sections",
        "job_id",
        "computed_at",
    ),
    conflict="sitting_id",
    update=", ".join(
        f"{column} = EXCLUDED.{column}"
        for column in ("points", "max_points", "extra_points", "pending_manual", "sections", "job_id", "computed_at")
    ),
    stage_types="sitting_id bigint, exam_id bigint, points numeric, max_points numeric, extra_points numeric, "
    "pending_manual integer, sections jsonb, job_id bigint, computed_at timestamptz",
)


def rows_write(table: Table, rows: Sequence[Sequence[Any]], *, fresh: bool) -> None:
    """Write rows in bulk: on PostgreSQL by COPY, straight into the table when ``fresh`` (none of
    these rows exist) and otherwise into a staging table upserted from; elsewhere row by row."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.executemany(f"{table.insert()} VALUES ({_marks(table.columns)}) {table.on_conflict()}", rows)
        return
    with connection.cursor() as cursor:
        target = table.name
        if not fresh:
            target = f"{table.name}_stage"
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {target} ({table.stage_types}) ON COMMIT DELETE ROWS")
        with cursor.connection.cursor().copy(f"COPY {target} ({', '.join(table.columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if not fresh:
            cursor.execute(
                f"{table.insert()} SELECT {', '.join(table.columns)} FROM {target} {table.on_conflict()}"  # noqa: S608
            )
            cursor.execute(f"TRUNCATE {target}")


def stored_scores(sitting_ids: Sequence[int], *, graded_only: bool) -> dict[tuple[int, int], tuple[Decimal, bool, str]]:
    """Stored scores of these sittings, (points, needs_manual, explanation) by (sitting, question):
    all of them, or only those a grader set (``graded_only``). Raw SQL: no per-value converters."""
    if not sitting_ids:
        return {}
    where = " AND source <> 'auto'" if graded_only else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT sitting_id, question_id, points, needs_manual, explanation "  # noqa: S608
                f"FROM {SCORES} WHERE sitting_id = ANY(%s){where}",
                [list(sitting_ids)],
            )
        else:
            cursor.execute(
                "SELECT sitting_id, question_id, points, needs_manual, explanation "  # noqa: S608
                f"FROM {SCORES} WHERE sitting_id IN ({_marks(sitting_ids)}){where}",
                list(sitting_ids),
            )
        return {
            (sitting, question): (
                points if isinstance(points, Decimal) else Decimal(str(points)).quantize(POINTS_QUANTUM),
                bool(manual),
                explanation,
            )
            for sitting, question, points, manual, explanation in cursor.fetchall()
        }


def results_write(
    exam_id: int,
    sections: Sequence[SectionSpecs],
    scores: dict[int, dict[int, Score]],
    *,
    job_id: int | None,
    now: datetime,
    fresh: bool,
) -> None:
    """Write each sitting's total, computed from its scores by question id."""
    rows = []
    for sitting_id, by_question in scores.items():
        total = exam_total(
            SectionScores(
                [by_question[spec.question_id] for spec in section.questions if spec.question_id in by_question],
                floor_at_zero=section.floor_at_zero,
            )
            for section in sections
        )
        parts = [
            {
                "section": section.number,
                "points": str(to_points(part.points)),
                "max_points": str(to_points(part.max_points)),
                "explanation": part.explanation,
            }
            for section, part in zip(sections, total.sections, strict=True)
        ]
        rows.append(
            (
                sitting_id,
                exam_id,
                total.points,
                total.max_points,
                total.extra_points,
                total.pending_manual,
                json.dumps(parts),
                job_id,
                now,
            )
        )
    rows_write(RESULT_TABLE, rows, fresh=fresh)


def with_stored(score: Score, stored: tuple[Decimal, bool, str] | None) -> Score:
    """The score as it counts: the policy's, unless a grader's stored points replace it."""
    if stored is None:
        return score
    points, needs_manual, explanation = stored
    return Score(points, score.max_points, explanation, needs_manual, score.extra_credit)


def chunk_score(
    *,
    exam_id: int,
    sections: Sequence[SectionSpecs],
    sitting_ids: Sequence[int],
    job_id: int | None,
    now: datetime,
    question_id: int | None = None,
) -> int:
    """Score a chunk of sittings (every question, or only ``question_id``), write the scores
    and the sittings' totals in one transaction; returns the number of scores written."""
    specs = [spec for section in sections for spec in section.questions]
    targets = [spec for spec in specs if question_id is None or spec.question_id == question_id]
    if question_id is not None and not targets:
        raise ValueError(f"Question {question_id} is not an answerable question of exam {exam_id}.")
    answers = answers_read(sitting_ids, None if question_id is None else [question_id])
    scorer = AnswerScorer(job_id=job_id, now=now)
    rows: list[tuple[Any, ...]] = []
    fresh_scores: dict[int, dict[int, Score]] = {}
    targets_with_ids = [(spec, question_id_of(spec)) for spec in targets]
    for sitting_id in sitting_ids:  # the hot loop: ~40 answers per sitting, 20,000 sittings
        by_question: dict[int, Score] = {}
        for spec, question in targets_with_ids:
            scored = scorer(spec, answers.get((sitting_id, question)))
            by_question[question] = scored.score
            rows.append((sitting_id, question, *scored.row_tail))
        fresh_scores[sitting_id] = by_question
    with transaction.atomic():
        fresh = question_id is None and not AnswerScore.objects.filter(sitting_id__in=sitting_ids).exists()
        rows_write(SCORE_TABLE, rows, fresh=fresh)
        if fresh:
            totals = fresh_scores
        elif question_id is None:  # every score is fresh but those a grader set
            totals = _counted_scores(sitting_ids, specs, fresh_scores, stored_scores(sitting_ids, graded_only=True))
        else:  # one question is fresh; the others count as stored
            totals = _counted_scores(sitting_ids, specs, fresh_scores, stored_scores(sitting_ids, graded_only=False))
        fresh_results = fresh and not SittingResult.objects.filter(sitting_id__in=sitting_ids).exists()
        results_write(exam_id, sections, totals, job_id=job_id, now=now, fresh=fresh_results)
    return len(rows)


def _counted_scores(
    sitting_ids: Iterable[int],
    specs: Sequence[QuestionSpec],
    fresh: dict[int, dict[int, Score]],
    stored: dict[tuple[int, int], tuple[Decimal, bool, str]],
) -> dict[int, dict[int, Score]]:
    """Each sitting's scores as they count after an upsert: the stored row where one is given
    (a grader's points, or another question's earlier score), else the fresh score."""
    # What a stored row is laid over when this run did not score its question (built once).
    blanks = [(question_id_of(spec), spec.score(0, "")) for spec in specs]
    counted: dict[int, dict[int, Score]] = {}
    for sitting_id in sitting_ids:
        by_question: dict[int, Score] = {}
        mine = fresh.get(sitting_id, {})
        for question, blank in blanks:
            score = mine.get(question)
            row = stored.get((sitting_id, question))
            if score is None and row is None:
                continue
            by_question[question] = with_stored(blank if score is None else score, row)
        counted[sitting_id] = by_question
    return counted


def results_recompute(exam_id: int, sitting_ids: Sequence[int], *, now: datetime) -> None:
    """Recompute these sittings' totals from their stored scores (after a grader's change)."""
    if not sitting_ids:
        return
    sections = exam_specs(exam_id)
    specs = [spec for section in sections for spec in section.questions]
    totals = _counted_scores(sitting_ids, specs, {}, stored_scores(sitting_ids, graded_only=False))
    results_write(exam_id, sections, totals, job_id=None, now=now, fresh=False)


def rows_update(
    table: str, *, key: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """``UPDATE table SET columns… WHERE key = …`` for many rows at once: on PostgreSQL the
    rows are COPYed into a staging table and applied in one statement; elsewhere row by row.
    ``types`` are the PostgreSQL types of ``key`` and ``columns``, in that order."""
    if not rows:
        return
    assignments = ", ".join(f"{column} = stage.{column}" for column in columns)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in columns)} WHERE {key} = %s",  # noqa: S608
                [(*row[1:], row[0]) for row in rows],
            )
        return
    stage = f"{table}_update_stage"
    names = [key, *columns]
    with connection.cursor() as cursor:
        definitions = ", ".join(f"{name} {kind}" for name, kind in zip(names, types, strict=True))
        cursor.execute(f"CREATE TEMP TABLE {stage} ({definitions})")
        with cursor.connection.cursor().copy(f"COPY {stage} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {stage} stage WHERE {table}.{key} = stage.{key}"  # noqa: S608
        )
        cursor.execute(f"DROP TABLE {stage}")
