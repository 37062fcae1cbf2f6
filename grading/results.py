"""Reading an exam's scores back: the score matrix, the statistics, the results page's data.

``score_matrix`` reads every score of the exam's scored sittings in one query (as floats,
so 900,000 rows never become ``Decimal`` objects) into numpy arrays; ``exam_statistics``
turns it into the JSON a ``GradingJob`` keeps, with ``grading.statistics`` doing the maths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection

from exams.models import Sitting
from grading.jobs import SCORED_STATUSES
from grading.models import AnswerScore
from grading.scoring import QuestionSpec, guess_score, score_bounds
from grading.scoring.specs import SectionSpecs, exam_specs
from grading.scoring.summary import MAX_LENGTH
from grading.statistics import distractor_analysis, grid_accuracy, item_statistics

CHOICE_KINDS = ("true_false", "single_choice", "multiple_select")


@dataclass(frozen=True)
class ScoreMatrix:
    """Scores of n sittings (rows, by sitting id) on P questions (columns, in paper order)."""

    sections: list[SectionSpecs]
    specs: list[QuestionSpec]
    sitting_ids: npt.NDArray[np.int64]
    points: npt.NDArray[np.float64]
    blank: npt.NDArray[np.bool_]
    summaries: list[list[str]]  # per question, per sitting

    @property
    def totals(self) -> npt.NDArray[np.float64]:
        return self.points.sum(axis=1)


def score_matrix(exam_id: int) -> ScoreMatrix:
    sections = exam_specs(exam_id)
    specs = [spec for section in sections for spec in section.questions]
    column = {spec.question_id: index for index, spec in enumerate(specs)}
    sittings = Sitting._meta.db_table
    number = "s.points::float8" if connection.vendor == "postgresql" else "CAST(s.points AS REAL)"
    statuses = ", ".join(["%s"] * len(SCORED_STATUSES))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.sitting_id, s.question_id, {number}, s.blank, s.response_summary "  # noqa: S608
            f"FROM {AnswerScore._meta.db_table} s JOIN {sittings} t ON t.id = s.sitting_id "
            f"WHERE t.exam_id = %s AND t.status IN ({statuses})",
            [exam_id, *SCORED_STATUSES],
        )
        rows = cursor.fetchall()
    sitting_ids = np.unique(np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows)))
    row_of = {int(sitting_id): index for index, sitting_id in enumerate(sitting_ids.tolist())}
    n, p = len(sitting_ids), len(specs)
    points = np.zeros((n, p))
    blank = np.ones((n, p), dtype=np.bool_)
    summaries = [[""] * n for _ in range(p)]
    for sitting_id, question_id, value, is_blank, summary in rows:
        q = column.get(question_id)
        if q is None:
            continue  # a question deleted from the exam since (its rows are kept)
        r = row_of[sitting_id]
        points[r, q] = value
        blank[r, q] = is_blank
        if summary:
            summaries[q][r] = summary
    return ScoreMatrix(sections, specs, sitting_ids, points, blank, summaries)


def exam_statistics(exam_id: int) -> dict[str, Any]:
    """The JSON a GradingJob keeps: exam-level and per-question statistics, as in Moodle."""
    matrix = score_matrix(exam_id)
    specs = matrix.specs
    bounds = [score_bounds(spec) for spec in specs]
    regular_max = sum(float(spec.points) for spec in specs if not spec.extra_credit)
    computed = item_statistics(
        matrix.points,
        min_points=[float(low) for low, _ in bounds],
        max_points=[float(high) for _, high in bounds],
        blank=matrix.blank,
        guess_scores=[float(guess_score(spec)) for spec in specs],
        max_total=regular_max,
    )
    totals = matrix.totals
    questions = []
    for index, (spec, stats) in enumerate(zip(specs, computed.questions, strict=True)):
        entry: dict[str, Any] = {
            "question_id": spec.question_id,
            "number": spec.number,
            "kind": spec.kind,
            "policy": spec.policy,
            "max_points": float(spec.points),
            "min_points": float(bounds[index][0]),
            "extra_credit": spec.extra_credit,
            **stats.as_dict(),
            "distractors": None,
            "grid": None,
        }
        if spec.kind in CHOICE_KINDS:
            labels = ["T", "F"] if spec.kind == "true_false" else list(spec.choice_labels)
            correct = (
                ["T" if spec.key.get("value") else "F"] if spec.kind == "true_false" else sorted(spec.correct_labels)
            )
            entry["distractors"] = {
                **distractor_analysis(matrix.summaries[index], totals=totals, labels=labels).as_dict(),
                "correct": correct,
            }
        elif spec.kind == "grid" and 0 < (cells := sum(len(row) for row in spec.key.get("cells") or [])) <= MAX_LENGTH:
            entry["grid"] = {
                **grid_accuracy(matrix.summaries[index], cells=cells).as_dict(),
                "rows": len(spec.key.get("cells") or []),
            }
        questions.append(entry)
    return {"exam": computed.exam.as_dict(), "max_total": regular_max, "questions": questions}
