"""The ``manual`` policy, for short answers and sketches: a grader decides, with a rubric."""

from __future__ import annotations

from typing import Any

from grading.scoring.core import QuestionSpec, Score


def manual(spec: QuestionSpec, answer: Any) -> Score:
    """A provisional 0 that needs grading by hand, except for a blank answer.

    A blank answer has nothing to grade, so it is scored 0 here ("Blank: 0",
    ``needs_manual`` false) and stays out of the graders' queue; a regrade request can
    still reach a grader. The kinds store a blank short answer or sketch as ``None``.
    """
    if answer is None:
        return spec.blank()
    return spec.score(0, "Needs grading by hand", needs_manual=True)
