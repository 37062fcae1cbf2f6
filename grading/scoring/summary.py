"""A short text of what an answer chose, for the statistics' distractor and per-cell analysis.

Moodle keeps a "response summary" per question attempt for the same reason. Ours is the
chosen labels of a choice question in label order ("AC"; "T" or "F" for true_false), or a
grid's right and wrong cells read row by row ("1101"; an empty cell is wrong), and empty for
a blank answer, an unreadable one and every other kind.
"""

from __future__ import annotations

from typing import Any

from grading.scoring.core import QuestionSpec

MAX_LENGTH = 64


def response_summary(spec: QuestionSpec, answer: Any) -> str:
    if answer is None:
        return ""
    if spec.kind == "true_false":
        return {True: "T", False: "F"}.get(answer, "") if isinstance(answer, bool) else ""
    if spec.kind == "single_choice":
        return answer if isinstance(answer, str) and answer in spec.choice_labels else ""
    if spec.kind == "multiple_select":
        if not isinstance(answer, list) or not all(label in spec.choice_labels for label in answer):
            return ""
        return "".join(label for label in spec.choice_labels if label in answer)[:MAX_LENGTH]
    if spec.kind == "grid":
        return _grid_cells(spec, answer)
    return ""


def _grid_cells(spec: QuestionSpec, answer: Any) -> str:
    key = spec.key.get("cells") or []
    if not isinstance(answer, list) or [len(row) if isinstance(row, list) else -1 for row in answer] != [
        len(row) for row in key
    ]:
        return ""
    if all(cell is None for row in answer for cell in row):
        return ""
    if sum(len(row) for row in key) > MAX_LENGTH:
        return ""  # too many cells to summarise; the statistics leave this grid's cells out
    bits = "".join(
        "1" if cell is not None and cell == expected else "0"
        for row, key_row in zip(answer, key, strict=True)
        for cell, expected in zip(row, key_row, strict=True)
    )
    return bits
