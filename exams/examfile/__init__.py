"""The Markdown exam-file format: ``exam_import`` reads it, ``exam_export`` writes it.

The format is documented, with an example of every kind and policy, in docs/exam-format.md.
"""

from __future__ import annotations

from pathlib import Path

from exams.examfile.errors import ExamFileError
from exams.examfile.exporter import exam_export
from exams.examfile.importer import exam_import

SEED_EXAM_PATH: Path = Path(__file__).resolve().parent.parent / "seed" / "cse493g1-sp23-midterm.md"

__all__ = ["SEED_EXAM_PATH", "ExamFileError", "exam_export", "exam_import"]
