"""``manage.py item_statistics``: a CSV of points in, statistics out (table or JSON), clear errors.

The sheet is the hand-worked exam of test_statistics.py, with empty cells for blanks:
dana and erin left Q1 blank, charlie and erin Q2 (0 points each).
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

SHEET = "student,Q1,Q2,Q3\nalice,1,2,2\nbob,1,2,-1\ncharlie,1,,2\ndana,,1,-1\nerin,,,-1\n"


def run(*args: str) -> str:
    out = StringIO()
    call_command("item_statistics", *args, stdout=out)
    return out.getvalue()


def sheet(tmp_path: Path, text: str = SHEET) -> str:
    path = tmp_path / "scores.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def test_json_has_the_exam_and_each_question_by_its_header_name(tmp_path: Path) -> None:
    data = json.loads(run(sheet(tmp_path), "--format", "json"))

    assert [q["question"] for q in data["questions"]] == ["Q1", "Q2", "Q3"]
    q1, q2, q3 = data["questions"]
    # Max points default to the column maxima (1, 2, 2); min possible to min(0, column minimum):
    # 0, 0 and −1. Facility: 0.6/1, 1/2, (0.2 + 1)/3 (see test_statistics.py for the rest).
    assert [q1["facility"], q2["facility"], q3["facility"]] == [approx(0.6), approx(0.5), approx(0.4)]
    assert [q1["blank_rate"], q2["blank_rate"], q3["blank_rate"]] == [approx(0.4), approx(0.4), 0]
    assert q2["discriminative_efficiency"] == approx(12.5)
    assert q2["flags"] == ["Discriminative efficiency below 15%"]
    assert q1["random_guess_score"] is None
    exam = data["exam"]
    assert (exam["n"], exam["mean"], exam["median"], exam["min"], exam["max"]) == (5, approx(1.8), 2, -1, 5)
    assert exam["cic"] == approx(2550 / 57)
    assert exam["histogram"] == {"edges": [-1, 0, 1, 2, 3, 4, 5], "counts": [1, 1, 0, 1, 1, 1]}


def test_max_points_change_facility_and_weights(tmp_path: Path) -> None:
    data = json.loads(run(sheet(tmp_path), "--max-points", "2, 2, 4", "--format", "json"))
    q1, q2, q3 = data["questions"]
    # Q1 (0..2): 0.6/2; Q3 (−1..4): (0.2 + 1)/5. Intended weights 100 · (2, 2, 4)/8.
    assert [q1["facility"], q2["facility"], q3["facility"]] == [approx(0.3), approx(0.5), approx(0.24)]
    assert [q["intended_weight"] for q in data["questions"]] == [25, 25, 50]
    assert data["exam"]["histogram"]["edges"] == [-1, 0, 1, 2, 3, 4, 5, 6, 7, 8]


def test_the_table_is_aligned_and_in_percent(tmp_path: Path) -> None:
    output = run(sheet(tmp_path))

    lines = output.splitlines()
    assert lines[0].endswith("scores.csv: 5 students, 3 questions")
    header = lines[2]
    assert header.split("  ")[0].strip() == "Question" and "Facility" in header and header.endswith("Flags")
    q1, q2, q3 = lines[3:6]
    assert q1.split() == ["Q1", "60.0%", "54.8%", "80.7%", "100.0%", "20.0%", "26.8%", "40.0%"]
    assert q2.endswith("Discriminative efficiency below 15%")
    assert q3.split()[:2] == ["Q3", "40.0%"]
    # Columns line up: each figure ends where its heading ends.
    facility_end = header.index("Facility") + len("Facility")
    assert all(line[facility_end - 1] == "%" for line in (q1, q2, q3))
    assert "CIC             44.7%" in output
    assert "Mean            1.80 of 5" in output
    assert "Kurtosis        -1.1173" in output
    assert "[4, 5]  1  ####" in output


def test_a_byte_order_mark_and_a_trailing_empty_line_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(("\ufeff" + SHEET + "\n,,,\n").encode())
    data = json.loads(run(str(path), "--format", "json"))
    assert data["questions"][0]["question"] == "Q1"
    assert data["exam"]["n"] == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"is empty: it needs a header row"),
        ("student\nalice\nbob\n", r"has no question columns"),
        ("student,Q1,Q1\nalice,1,1\nbob,0,0\n", r"Line 1, column 3: “Q1” names two columns"),
        ("student,Q1,\nalice,1,1\nbob,0,0\n", r"Line 1, column 3: the question has no name"),
        ("student,Q1,Q2\nalice,1,2\nbob,abc,1\n", r"Line 3, column 2 \(“Q1”\): “abc” is not a number"),
        ("student,Q1,Q2\nalice,1,nan\nbob,1,1\n", r"Line 2, column 3 \(“Q2”\): “nan” is not a finite number"),
        ("student,Q1,Q2\nalice,1,2\nbob,1\n", r"Line 3 has 2 cells, the header 3"),
        ("student,Q1,Q2\nalice,1,2\n,1,1\n", r"Line 3: the student id \(column 1\) is empty"),
        ("student,Q1,Q2\nalice,1,2\nbob,1,1\nalice,0,0\n", r"Line 4: student “alice” already has a row, on line 2"),
        ("student,Q1,Q2\nalice,1,2\n", r"has 1 student\(s\): statistics need at least 2"),
    ],
    ids=[
        "empty",
        "no questions",
        "duplicate question",
        "unnamed question",
        "not a number",
        "not finite",
        "short row",
        "no student id",
        "duplicate student",
        "one student",
    ],
)
def test_an_unusable_sheet_is_an_error_naming_the_place(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(sheet(tmp_path, text))


@pytest.mark.parametrize(
    ("max_points", "message"),
    [
        ("1,2", r"--max-points gives 2 value\(s\), but the file has 3 questions \(Q1, Q2, Q3\)"),
        ("1,two,2", r"--max-points value 2 \(“Q2”\): “two” is not a number"),
        ("1,1,2", r"Student “alice”, column 3 \(“Q2”\): 2 points is above the maximum 1 of --max-points"),
    ],
)
def test_bad_max_points_are_an_error(tmp_path: Path, max_points: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(sheet(tmp_path), "--max-points", max_points)


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.csv: No such file"):
        run(str(tmp_path / "nope.csv"))


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("student,Q1\nJörg,1\nAnn,0\n".encode("latin-1"))
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        run(str(path))
