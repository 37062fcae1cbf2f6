"""``manage.py item_statistics SCORES.csv [--max-points P1,P2,...] [--format json|table]``.

The statistics of ``grading.statistics`` for a sheet of points kept outside Examhall (a paper
exam, another system's export): one header row, then one row per student, the student's id
first and then the points on each question; an empty cell is a blank answer worth 0.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from django.core.management.base import BaseCommand, CommandError, CommandParser

from grading.statistics import ExamStatistics, ItemStatistics, item_statistics

HISTOGRAM_BAR = 40  # characters of the longest bar


@dataclass(frozen=True, slots=True)
class ScoreSheet:
    """Points per student (rows, in file order) and question (columns); blank where a cell was empty."""

    questions: tuple[str, ...]
    students: tuple[str, ...]
    points: npt.NDArray[np.float64]
    blank: npt.NDArray[np.bool_]


class Command(BaseCommand):
    help = (
        "Print Moodle-style item statistics (facility, discrimination, CIC...) of a CSV of points: a header "
        "row, then per student an id and one column of points per question. Empty cells are blanks (0)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, metavar="SCORES.csv")
        parser.add_argument(
            "--max-points",
            metavar="P1,P2,...",
            help="each question's maximum, in column order (default: the column's highest points)",
        )
        parser.add_argument("--format", choices=("json", "table"), default="table", help="default: table")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        sheet = score_sheet_parse(text, name=str(path))
        column_max = sheet.points.max(axis=0)
        if options["max_points"] is None:
            max_points = column_max
        else:
            max_points = max_points_parse(options["max_points"], sheet.questions)
            points_check_max(sheet, max_points)
        min_points = np.minimum(0.0, sheet.points.min(axis=0))
        result = item_statistics(sheet.points, min_points=min_points, max_points=max_points, blank=sheet.blank)
        if options["format"] == "json":
            self.stdout.write(json.dumps(result_as_dict(result, sheet.questions), indent=2, ensure_ascii=False))
        else:
            max_total = float(max_points.sum())
            self.stdout.write(table_render(result, sheet.questions, name=str(path), max_total=max_total))


def score_sheet_parse(text: str, *, name: str) -> ScoreSheet:
    """The sheet in ``text``; CommandError naming the line (and column) of anything unusable."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or all(not cell.strip() for cell in header):
        raise CommandError(f"{name} is empty: it needs a header row (student id, then one column per question).")
    questions = tuple(cell.strip() for cell in header[1:])
    if not questions:
        raise CommandError(f"{name} has no question columns: the header holds only “{header[0]}”.")
    for index, question in enumerate(questions, start=2):
        if not question:
            raise CommandError(f"Line 1, column {index}: the question has no name.")
        if questions.index(question) != index - 2:
            raise CommandError(f"Line 1, column {index}: “{question}” names two columns.")

    students: list[str] = []
    first_line: dict[str, int] = {}
    rows: list[list[float]] = []
    blanks: list[list[bool]] = []
    for row in reader:
        line = reader.line_num
        if all(not cell.strip() for cell in row):
            continue  # an empty line, e.g. at the end of the file
        if len(row) != len(header):
            raise CommandError(f"Line {line} has {len(row)} cells, the header {len(header)}.")
        student = row[0].strip()
        if not student:
            raise CommandError(f"Line {line}: the student id (column 1) is empty.")
        if student in first_line:
            raise CommandError(f"Line {line}: student “{student}” already has a row, on line {first_line[student]}.")
        first_line[student] = line
        students.append(student)
        points: list[float] = []
        blank: list[bool] = []
        for index, (question, cell) in enumerate(zip(questions, row[1:], strict=True), start=2):
            value = cell.strip()
            blank.append(not value)
            points.append(_points_parse(value, where=f"Line {line}, column {index} (“{question}”)") if value else 0.0)
        rows.append(points)
        blanks.append(blank)
    if len(students) < 2:
        raise CommandError(f"{name} has {len(students)} student(s): statistics need at least 2.")
    return ScoreSheet(questions, tuple(students), np.array(rows, dtype=np.float64), np.array(blanks, dtype=np.bool_))


def max_points_parse(value: str, questions: Sequence[str]) -> npt.NDArray[np.float64]:
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != len(questions):
        raise CommandError(
            f"--max-points gives {len(parts)} value(s), but the file has {len(questions)} questions "
            f"({', '.join(questions)})."
        )
    return np.array(
        [
            _points_parse(part, where=f"--max-points value {i} (“{q}”)")
            for i, (part, q) in enumerate(zip(parts, questions, strict=True), start=1)
        ],
        dtype=np.float64,
    )


def points_check_max(sheet: ScoreSheet, max_points: npt.NDArray[np.float64]) -> None:
    """A cell above its question's maximum is a typo in the sheet or in --max-points: refuse it."""
    above = np.argwhere(sheet.points > max_points)
    if above.size:
        row, column = (int(i) for i in above[0])
        raise CommandError(
            f"Student “{sheet.students[row]}”, column {column + 2} (“{sheet.questions[column]}”): "
            f"{sheet.points[row, column]:g} points is above the maximum {max_points[column]:g} of --max-points."
        )


def result_as_dict(result: ItemStatistics, questions: Sequence[str]) -> dict[str, Any]:
    return {
        "exam": result.exam.as_dict(),
        "questions": [
            {"question": name, **stats.as_dict()} for name, stats in zip(questions, result.questions, strict=True)
        ],
    }


def table_render(result: ItemStatistics, questions: Sequence[str], *, name: str, max_total: float) -> str:
    """A plain-text report: one aligned row per question (percents), then the exam's figures."""
    header = ["Question", "Facility", "SD", "Disc. index", "Disc. eff.", "Int. weight", "Eff. weight", "Blank"]
    show_guess = any(q.random_guess_score is not None for q in result.questions)
    if show_guess:
        header.append("Guess")
    header.append("Flags")
    rows = [header]
    for question, stats in zip(questions, result.questions, strict=True):
        row = [
            question,
            _percent(stats.facility, scale=100),
            _percent(stats.sd, scale=100),
            _percent(stats.discrimination_index),
            _percent(stats.discriminative_efficiency),
            _percent(stats.intended_weight),
            _percent(stats.effective_weight),
            _percent(stats.blank_rate, scale=100),
        ]
        if show_guess:
            row.append(_number(stats.random_guess_score))
        row.append("; ".join(stats.flags))
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [f"Item statistics of {name}: {result.exam.n} students, {len(questions)} questions", ""]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:-1], widths[1:-1], strict=True)]
        cells.append(row[-1])
        lines.append("  ".join(cells).rstrip())
    lines += ["", *_exam_lines(result.exam, max_total=max_total)]
    return "\n".join(lines)


def _exam_lines(exam: ExamStatistics, *, max_total: float) -> list[str]:
    figures = [
        ("Students", str(exam.n)),
        ("Mean", f"{_number(exam.mean)} of {max_total:g}"),
        ("Median", _number(exam.median)),
        ("SD", _number(exam.sd)),
        ("Min", _number(exam.min)),
        ("Max", _number(exam.max)),
        ("Skewness", _number(exam.skewness, digits=4)),
        ("Kurtosis", _number(exam.kurtosis, digits=4)),
        ("CIC", _percent(exam.cic)),
        ("Error ratio", _percent(exam.error_ratio)),
        ("Standard error", _number(exam.standard_error)),
    ]
    width = max(len(label) for label, _ in figures)
    lines = [f"{label.ljust(width)}  {value}" for label, value in figures]
    edges, counts = exam.histogram.edges, exam.histogram.counts
    last = len(counts) - 1
    labels = [f"[{edges[i]:g}, {edges[i + 1]:g}{']' if i == last else ')'}" for i in range(len(counts))]
    label_width = max(len(label) for label in labels)
    count_width = max(len(str(c)) for c in counts)
    tallest = max(counts) or 1
    lines += ["", "Histogram of totals:"]
    for label, count in zip(labels, counts, strict=True):
        bar = "#" * math.ceil(HISTOGRAM_BAR * count / tallest)
        lines.append(f"  {label.rjust(label_width)}  {str(count).rjust(count_width)}  {bar}".rstrip())
    return lines


def _points_parse(value: str, *, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"{where}: “{value}” is not a number.") from None
    if not math.isfinite(number):
        raise CommandError(f"{where}: “{value}” is not a finite number.")
    return number


def _percent(value: float | None, *, scale: float = 1.0) -> str:
    return "–" if value is None else f"{value * scale:.1f}%"


def _number(value: float | None, *, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
