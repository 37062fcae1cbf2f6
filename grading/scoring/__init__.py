"""Scoring policies as pure functions over plain data (no ORM): see DESIGN.md, "Scoring".

``score_answer(spec, answer)`` scores one answer under the question's own (kind, policy);
``section_total`` and ``exam_total`` add scores up; ``guess_score`` is the exact expected
score of blind guessing. ``grading.scoring.specs`` builds specs from saved questions.
"""

from __future__ import annotations

from grading.scoring.core import POINTS_QUANTUM, QuestionSpec, Score, UnreadableAnswer, format_points, to_points
from grading.scoring.guessing import guess_score
from grading.scoring.registry import SCORERS, key_answer, score_answer, score_bounds, scorer_for
from grading.scoring.totals import ExamTotal, SectionScores, Total, exam_total, section_total

__all__ = [
    "POINTS_QUANTUM",
    "SCORERS",
    "ExamTotal",
    "QuestionSpec",
    "Score",
    "SectionScores",
    "Total",
    "UnreadableAnswer",
    "exam_total",
    "format_points",
    "guess_score",
    "key_answer",
    "score_answer",
    "score_bounds",
    "scorer_for",
    "section_total",
    "to_points",
]
