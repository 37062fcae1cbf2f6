"""The exam-file format: the seed midterm, round trips, and errors reported by line."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image
from pytest_django.fixtures import Settings

from accounts.models import Course, User
from exams.examfile import SEED_EXAM_PATH, ExamFileError, exam_export, exam_import
from exams.models import Choice, Exam, Figure, Question, Section
from exams.selectors import exam_totals
from tests.factories import ExamFactory, SectionFactory, add_choices, add_question

DOCS = Path(__file__).resolve().parents[2] / "docs" / "exam-format.md"


@pytest.fixture(autouse=True)
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def png(color: str = "red", size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def import_seed(course: Course, **kwargs: Any) -> Exam:
    return exam_import(text=SEED_EXAM_PATH.read_text(), course=course, base_dir=SEED_EXAM_PATH.parent, **kwargs)


def dump(exam: Exam) -> dict[str, Any]:
    """Everything the round trip must keep, in plain data (figure bytes included)."""
    exam = Exam.objects.get(pk=exam.pk)

    def figures(question: Question | None) -> list[tuple[Any, ...]]:
        rows = Figure.objects.filter(exam=exam, question=question).order_by("position", "pk")
        result = []
        for figure in rows:
            with figure.image.open("rb") as handle:
                result.append((handle.read(), figure.alt_text, figure.caption))
        return result

    questions = sorted(Question.objects.filter(exam=exam), key=lambda q: [int(p) for p in q.number.split(".")])
    return {
        "exam": {
            name: getattr(exam, name)
            for name in (
                "title",
                "term",
                "exam_date",
                "duration_minutes",
                "opens_at",
                "closes_at",
                "instructions",
                "honor_code",
                "access_code",
            )
        },
        "cover": figures(None),
        "sections": [
            (s.number, s.title, s.instructions, s.recommended_minutes, s.floor_at_zero)
            for s in Section.objects.filter(exam=exam).order_by("number")
        ],
        "questions": [
            {
                "number": q.number,
                "parent": q.parent.number if q.parent else None,
                "section": q.section.number,
                "position": q.position,
                "title": q.title,
                "prompt": q.prompt,
                "kind": q.kind,
                "points": q.points,
                "extra_credit": q.extra_credit,
                "policy": q.policy,
                "policy_params": q.policy_params,
                "config": q.config,
                "key": q.key,
                "solution": q.solution,
                # Positions only order choices and figures: the order is what must survive.
                "choices": [(c.label, c.text, c.is_correct) for c in q.choices.order_by("position", "label")],
                "figures": figures(q),
            }
            for q in questions
        ],
    }


def errors_of(text: str, course: Course, **kwargs: Any) -> list[tuple[int | None, str]]:
    with pytest.raises(ExamFileError) as caught:
        exam_import(text=text, course=course, **kwargs)
    return caught.value.errors


def has_error(errors: list[tuple[int | None, str]], line: int | None, fragment: str) -> bool:
    return any(n == line and fragment in message for n, message in errors)


# ---------------------------------------------------------------- the seed


def test_seed_has_the_paper_structure_and_totals(course: Course, instructor: User) -> None:
    exam = import_seed(course, by=instructor)

    assert (exam.title, exam.term, exam.duration_minutes) == ("Midterm Exam", "Spring 2023", 80)
    assert exam.exam_date == dt.date(2023, 5, 4)
    assert exam.created_by == instructor and not exam.published
    assert (
        exam.honor_code == "I understand and agree to uphold the University of Washington Honor Code during this exam."
    )
    assert "12 points of extra credit" in exam.instructions
    assert "One handwritten double-sided cheat sheet" in exam.instructions

    sections = list(exam.sections.order_by("number"))
    assert [(s.number, s.title, s.recommended_minutes, s.floor_at_zero) for s in sections] == [
        (1, "True / False", 10, False),
        (2, "Multiple Choices", 25, False),
        (3, "Short Answers", 45, False),
    ]
    assert "incorrect answers are worth -1 points" in sections[0].instructions

    true_false = list(Question.objects.filter(section=sections[0]).order_by("position"))
    assert [q.number for q in true_false] == [f"1.{i}" for i in range(1, 11)]
    for question in true_false:
        assert (question.kind, question.points, question.policy) == ("true_false", Decimal(2), "negative_marking")
        assert question.policy_params == {"wrong": -1, "blank": 0}
    assert [q.key["value"] for q in true_false] == [False, False, False, True, False, False, True, False, True, True]

    multiple = list(Question.objects.filter(section=sections[1]).order_by("position"))
    assert [q.number for q in multiple] == [f"2.{i}" for i in range(1, 11)]
    for question in multiple:
        assert (question.kind, question.points, question.policy) == (
            "multiple_select",
            Decimal(4),
            "per_error_deduction",
        )
        assert question.policy_params == {"deduction": 2}
    correct = {q.number: "".join(c.label for c in q.choices.order_by("position") if c.is_correct) for q in multiple}
    assert correct == {
        "2.1": "AD",
        "2.2": "CDE",
        "2.3": "BCE",
        "2.4": "ACDF",
        "2.5": "CD",
        "2.6": "AC",
        "2.7": "BD",
        "2.8": "C",
        "2.9": "D",
        "2.10": "C",
    }

    short = {q.number: q for q in Question.objects.filter(section=sections[2])}
    assert sorted(short, key=lambda n: [int(p) for p in n.split(".")]) == [
        "3.1",
        "3.1.1",
        "3.1.2",
        "3.2",
        "3.3",
        "3.4",
        "3.5",
        "3.5.1",
        "3.5.1.1",
        "3.5.1.2",
        "3.5.2",
        "3.5.2.1",
        "3.5.2.1.1",
        "3.5.2.1.2",
        "3.5.2.1.3",
        "3.5.2.2",
        "3.5.3",
        "3.5.3.1",
        "3.5.3.2",
        "3.6",
        "3.6.1",
        "3.6.1.1",
        "3.6.1.2",
        "3.6.2",
        "3.6.2.1",
        "3.6.2.2",
    ]
    kinds = {n: q.kind for n, q in short.items()}
    assert [n for n, k in kinds.items() if k == "group"] == [
        "3.1",
        "3.5",
        "3.5.1",
        "3.5.2",
        "3.5.2.1",
        "3.5.3",
        "3.6",
        "3.6.1",
        "3.6.2",
    ]
    assert short["3.1.1"].config == {"parts": ["a", "b"]} and short["3.1.1"].points == 2
    assert short["3.1.2"].config == {"parts": ["a", "b"]} and short["3.3"].config == {"parts": ["a", "b"]}
    assert (short["3.2"].kind, short["3.2"].points, short["3.2"].policy) == ("expression", 3, "symbolic_equivalence")
    assert short["3.2"].config == {"variables": ["D_C"]} and short["3.2"].key == {"expression": "sqrt(2 - 2*D_C)"}
    assert (short["3.4"].kind, short["3.4"].points) == ("short_answer", 4)
    assert [(c.label, c.text) for c in short["3.5.1.1"].choices.order_by("position")] == [
        ("A", "Zom"),
        ("B", "Flom"),
        ("C", "Nom"),
    ]
    for number in ("3.5.2.1.1", "3.5.2.1.2", "3.5.2.1.3"):
        assert (short[number].kind, short[number].points) == ("sketch", 3)
        assert short[number].config["y_label"] == "Zom score"
    assert short["3.5.2.1.1"].config == {
        "x_label": "Bip value",
        "y_label": "Zom score",
        "x_min": -3,
        "x_max": 3,
        "y_min": -6,
        "y_max": 6,
    }
    assert short["3.5.2.2"].config == {"parts": ["a", "b", "c"]} and short["3.5.2.2"].points == 6
    assert short["3.5.3"].extra_credit and short["3.6.2"].extra_credit
    for number in ("3.5.3.1", "3.5.3.2"):
        grid = short[number]
        assert (grid.kind, grid.points, grid.policy) == ("grid", 3, "per_cell")
        assert grid.config["symbols"] == ["+", "-", "0"]
        assert grid.config["beside"] == [[0, -1, -1], [1, 1, -1], [-1, -1, 1]]
    for number, points in (("3.6.1.1", 3), ("3.6.1.2", 3), ("3.6.2.1", 4), ("3.6.2.2", 2)):
        assert (short[number].kind, short[number].points) == ("short_answer", points)
    leaves = [q for q in Question.objects.filter(exam=exam) if q.kind != "group"]
    assert all(q.solution or q.key for q in leaves), "every question has a key or a solution"
    assert all(q.key.get("model_answer") for q in leaves if q.kind == "short_answer")

    totals = exam_totals(exam)
    assert (totals.points, totals.extra_points) == (Decimal(100), Decimal(12))
    assert [(row.points, row.extra_points) for row in totals.sections] == [(20, 0), (40, 0), (40, 12)]

    figures = {(f.question.number if f.question else None, f.position): f for f in Figure.objects.filter(exam=exam)}
    assert sorted(figures, key=str) == sorted(
        [("1.4", 1), ("1.4", 2), ("2.1", 1), ("2.4", 1), ("2.7", 1), ("2.8", 1), ("3.4", 1), ("3.5", 1), ("3.6.1", 1)],
        key=str,
    )
    assert [figures["1.4", 1].caption, figures["1.4", 2].caption] == ["Model 1", "Model 2"]
    for (where, position), figure in figures.items():
        assert len(figure.alt_text) > 40, f"{where} needs a real description"
        with figure.image.open("rb") as handle:
            assert handle.read() == (SEED_EXAM_PATH.parent / "figures" / f"{where}-{position}.png").read_bytes()


def test_seed_figures_are_small_pngs() -> None:
    for path in sorted((SEED_EXAM_PATH.parent / "figures").glob("*.png")):
        assert path.stat().st_size < 100_000, path.name
        with Image.open(path) as image:
            assert image.format == "PNG"


def test_seed_is_in_the_exporters_own_form(course: Course, tmp_path: Path) -> None:
    exam = import_seed(course)
    text = exam_export(exam, figures_dir=tmp_path / "figures")

    assert text == SEED_EXAM_PATH.read_text()
    for path in (SEED_EXAM_PATH.parent / "figures").glob("*.png"):
        assert (tmp_path / "figures" / path.name).read_bytes() == path.read_bytes()


def test_seed_round_trip_is_identical(course: Course, tmp_path: Path) -> None:
    first = import_seed(course)
    text = exam_export(first, figures_dir=tmp_path / "figures")
    (tmp_path / "exam.md").write_text(text)
    second = exam_import(text=text, course=course, base_dir=tmp_path)

    assert dump(second) == dump(first)
    assert exam_export(second) == exam_export(first) == text


# ---------------------------------------------------------------- every kind, both ways


def complete_example() -> str:
    docs = DOCS.read_text()
    match = re.search(r"<!-- complete-example -->\n````markdown\n(.*?)\n````", docs, re.DOTALL)
    assert match, "docs/exam-format.md lost its complete example"
    return match.group(1) + "\n"


def test_the_documented_example_imports_and_round_trips(course: Course) -> None:
    files = {"figures/logo.png": png("blue"), "figures/curves.png": png("green")}
    exam = exam_import(text=complete_example(), course=course, figures=files)

    questions = {q.number: q for q in Question.objects.filter(exam=exam)}
    assert exam.access_code == "4821" and exam.opens_at and exam.closes_at and exam.closes_at > exam.opens_at
    assert exam.honor_code.count("\n") == 1
    assert Section.objects.get(exam=exam, number=1).floor_at_zero
    assert questions["1.3"].policy == "all_or_nothing" and questions["1.1"].policy == "negative_marking"
    assert questions["2.1"].policy_params == {"wrong": -0.5, "blank": 0}
    assert questions["2.3"].key == {"value": 0.1, "tolerance": 0.001, "mode": "absolute"}
    assert questions["2.4"].key == {"value": 73856.0, "tolerance": 0.01, "mode": "relative"}
    assert questions["2.4"].config == {"unit": "parameters"}
    assert questions["2.6"].config["row_labels"] == ["row 1", "row 2"]
    assert questions["2.6"].key == {"cells": [["-", "+"], ["0", "-"]]} and questions["2.6"].policy == "all_cells"
    assert questions["3.1.1"].config == {"parts": ["a", "b"], "max_length": 1000}
    assert (
        Choice.objects.get(question=questions["2.2"], label="D").text
        == "plain SGD, which\nonly follows the current gradient"
    )
    assert Figure.objects.filter(exam=exam, question=None).get().caption == "CSE 493 G1"
    assert exam_totals(exam).points == 24 and exam_totals(exam).extra_points == 2

    again = exam_import(
        text=exam_export(exam),
        course=course,
        figures=files
        | {"figures/cover-1.png": files["figures/logo.png"], "figures/3.1-1.png": files["figures/curves.png"]},
    )
    assert dump(again) == dump(exam)
    assert exam_export(again) == exam_export(exam)


TRICKY = """---
title: "Edge cases: quoting"
duration: 45
honor_code: 'Sign: here'
---

Cover text.

\\## 3 reasons this is not a heading

# 1 Odd {}

Section text with a fence:

```python
# 1 not a section
Answer: not a field
```

## 1.1 Set {a} {short_answer, 1.25 points}

\\Answer: this line belongs to the prompt.
\\- [x] A: and so does this one,
\\![as does this](image.png)
\\\\## 2 keeps one backslash.

Answer:
A model answer with code:

~~~
## 2.1 inside a fence
Solution: still the answer
~~~

Solution: Line one.
Line two.

## 1.2 {single_choice, 1 point, negative_marking(wrong=-0.25, blank=0)}

Pick.

- [x] A: First line
    second line

    after a blank line
- [ ] B: "quoted" and `code`
  ```
  ## 1.9 inside a fenced block of a choice
  ```
	and a tab-indented line

## 1.3 {sketch, 1 point}

X axis: "Bip, scaled", -2.5 to 2.5
Y axis: score

## 1.4 {grid, 1 point}

Grid: 1 × 3
Symbols: "a b" c "0"
Beside:
    "3"  3  3.0
Answer:
    "a b"  c  "0"

## 1.5 {numeric, 1 point}

Answer: -2.5e-3 ± 0%

## 1.6 {group}
"""


def test_tricky_text_survives_the_round_trip(course: Course) -> None:
    exam = exam_import(text=TRICKY, course=course)
    questions = {q.number: q for q in Question.objects.filter(exam=exam)}

    assert exam.title == "Edge cases: quoting" and exam.honor_code == "Sign: here" and exam.duration_minutes == 45
    assert exam.instructions == "Cover text.\n\n## 3 reasons this is not a heading"
    section = Section.objects.get(exam=exam)
    assert "# 1 not a section\nAnswer: not a field" in section.instructions
    first = questions["1.1"]
    assert first.title == "Set {a}" and first.points == Decimal("1.25")
    assert first.prompt.splitlines() == [
        "Answer: this line belongs to the prompt.",
        "- [x] A: and so does this one,",
        "![as does this](image.png)",
        "\\## 2 keeps one backslash.",
    ]
    assert first.key["model_answer"].endswith("## 2.1 inside a fence\nSolution: still the answer\n~~~")
    assert first.solution == "Line one.\nLine two."
    assert [c.text for c in questions["1.2"].choices.order_by("position")] == [
        "First line\nsecond line\n\nafter a blank line",
        '"quoted" and `code`\n```\n## 1.9 inside a fenced block of a choice\n```\nand a tab-indented line',
    ]
    assert questions["1.3"].config == {
        "x_label": "Bip, scaled",
        "y_label": "score",
        "x_min": -2.5,
        "x_max": 2.5,
        "y_min": -5,
        "y_max": 5,
    }
    assert questions["1.4"].config["symbols"] == ["a b", "c", "0"]
    assert questions["1.4"].config["beside"] == [["3", 3, 3.0]]
    assert questions["1.5"].key == {"value": -0.0025, "tolerance": 0.0, "mode": "relative"}
    assert questions["1.6"].kind == "group"

    text = exam_export(exam)
    again = exam_import(text=text, course=course)
    assert dump(again) == dump(exam)
    assert exam_export(again) == text


def test_export_of_an_exam_built_in_the_admin_round_trips(course: Course) -> None:
    """Text typed in the admin may look like structure; the exporter escapes it."""
    exam = ExamFactory.create(course=course, title="Built by hand", access_code="0123")
    section = SectionFactory.create(exam=exam, number=1, title="Mixed", instructions="- [x] A: not a choice")
    multiple = add_question(
        section,
        kind="multiple_select",
        points=4,
        prompt="## 2 reasons\nSolution: part of the prompt\n```\nopen fence",
        solution="X axis: is text here",
    )
    add_choices(multiple, "one", "two\nlines", correct="B")
    group = add_question(section, kind="group", points=0, title="Shared {context}", extra_credit=True)
    add_question(
        section, kind="numeric", points="0.5", parent=group, key={"value": 1 / 3, "tolerance": 0.07, "mode": "relative"}
    )

    text = exam_export(exam)
    assert "\\## 2 reasons" in text and "\\Solution: part of the prompt" in text
    assert "## 1.2 Shared {context} {0.5 points, extra credit}" in text
    again = exam_import(text=text, course=course)
    expected = dump(exam)
    expected["questions"][0]["prompt"] += "\n```"  # the exporter closes a fence left open
    assert dump(again) == expected
    assert exam_export(again) == text


# ---------------------------------------------------------------- errors, by line


def test_error_message_lists_one_problem_per_line() -> None:
    error = ExamFileError([(40, "second"), (None, "whole file"), (12, "first")])
    assert str(error) == "whole file\nline 12: first\nline 40: second"
    assert error.errors == [(None, "whole file"), (12, "first"), (40, "second")]


BAD = """---
title: Bad
duration: soon
---

# 1 Section {true_false, 2 points each}

## 1.1 {true_fals}

Q?

## 1.3

Q?

- [x] True
- [ ] False

# 2 Other {50 points}

## 2.1 {multiple_select, 4 points}

Pick.

- [ ] A: a
- [ ] B: b

## 2.2 {grid, 1 point}

Grid: 2 × 2
Symbols: + -
Answer:
    + - +
    - +

## 2.3 {short_answer, 2 points, per_cell}

![ok](figures/missing.png)
![no](../outside.png)
![no](/etc/passwd)
![broken](figures/not-an-image.png)

Variables: x

## 2.4 Group {5 points}

### 2.4.1 {expression, 2 points}

Variables: x
Answer: x +* 2

### 2.4.2 {single_choice, 1 point, negative_marking(wrong=1)}

- [x] A: a
- [x] B: b
"""


def test_every_problem_is_reported_with_its_line(course: Course, tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "not-an-image.png").write_bytes(b"not a png at all")
    (tmp_path / "outside.png").write_bytes(png())
    errors = errors_of(BAD, course, base_dir=tmp_path)

    assert has_error(errors, 3, "duration")
    assert has_error(errors, 8, "Unknown question attribute 'true_fals'")
    assert has_error(errors, 12, "This question is 1.2")
    assert has_error(errors, 19, "Section 2 says 50 points")
    assert has_error(errors, 25, "needs at least one correct choice")
    assert has_error(errors, 32, "must be 2 rows × 2 columns")
    assert has_error(errors, 36, "is scored by manual, not 'per_cell'")
    assert has_error(errors, 38, "Figure figures/missing.png not found")
    assert has_error(errors, 39, "leaves the exam file's folder")
    assert has_error(errors, 40, "is not a relative path")
    assert has_error(errors, 41, "not a readable PNG, JPEG, GIF or WebP image")
    assert has_error(errors, 43, "A short_answer question has no setting variables")
    assert has_error(errors, 45, "Question 2.4 says 5 points, but its sub-questions (extra credit aside) add up to 3")
    assert has_error(errors, 50, "The key formula is not valid")
    assert has_error(errors, 52, "negative_marking.wrong must be at most 0")
    assert has_error(errors, 54, "exactly one correct choice; 2 are marked")
    assert all(line is not None for line, _ in errors)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("---\ntitle: [unclosed\n---\n", 2, "not valid YAML"),
        ("---\ntitle: T\nwhen: today\n---\n", 3, "Unknown front-matter key 'when'"),
        ("# 1 S {}\n", 1, "starts with YAML front matter"),
        ("---\ntitle: T\nopens: 2023-05-04T12:00:00Z\ncloses: 2023-05-04T10:00:00Z\n---\n", 4, "must close after"),
        ("---\ntitle: T\naccess_code: 0123\n---\n", 3, "must be quoted text"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {quiz_kind, 2 points}\n", 5, "Unknown question attribute 'quiz_kind'"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {numeric, two points}\n", 5, "Points must be a number"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {numeric, 1.234 points}\n", 5, "no more than 2 decimal places"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {numeric, 2 points}\nAnswer: about 3\n", 6, "Write a numeric answer"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {numeric}\nAnswer: 3\n", 5, "has no points"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {2 points}\nAnswer: 3\n", 5, "has no kind"),
        ("---\ntitle: T\n---\n# 1 S {}\n### 1.1 {numeric, 2 points}\n", 5, "nested too deep"),
        (
            "---\ntitle: T\n---\n# 1 S {}\n## 1.1 {numeric, 1 point}\nAnswer: 3\n## 1.1 {numeric, 1 point}\n",
            7,
            "This question is 1.2",
        ),
        ("---\ntitle: T\n---\n# 2 S {}\n# 1 R {}\n", 5, "Section 1 comes after section 2"),
        ("---\ntitle: T\n---\n## 1.1 {numeric, 1 point}\n", 4, "comes before the first section"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {true_false, 1 point}\n- [x] True\n- [x] False\n", 6, "only one"),
        (
            "---\ntitle: T\n---\n# 1 S {}\n## 1.1 {single_choice, 1 point}\n- [x] A: a\n- [ ] B: b\nMore prose\n",
            8,
            "Text after the choices",
        ),
        ("---\ntitle: T\n---\n# 1 S {}\n![x](f.png)\n", 5, "A figure belongs to a question"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {short_answer, 1 point}\n```\n# 2 T\n", 6, "never closed"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {short_answer, 1 point}\nAnswer: a\nAnswer: b\n", 7, "given twice"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {short_answer, 1 point, minutes}\n", 5, "Unknown question attribute"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {short_answer, 1 point, 5 minutes}\n", 5, "belongs on a section"),
        ("---\ntitle: T\n---\n# 1 S {extra credit}\n", 4, "belongs on a question"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {sketch, 1 point}\nX axis: t, 5 to 1\n", 6, "x_min must be below x_max"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {grid, 1 point}\nGrid: three by three\n", 6, "rows × columns"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {group}\nAnswer: no\n", 6, "A group carries context only"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {short_answer, 1 point}\n- [ ] A: a\n", 6, "has no choices"),
        ("---\ntitle: T\n---\n# 1 S {}\n## 1.1 {numeric, 1 point}\nParts: a\nAnswer: 1\n", 6, "has no setting parts"),
        (
            "---\ntitle: T\n---\n# 1 S {true_false, negative_marking(wrong=-1, lose=3)}\n"
            "## 1.1 {1 point}\n- [x] True\n- [ ] False\n",
            4,
            "takes no parameter lose",
        ),
    ],
)
def test_bad_files_are_refused_at_the_right_line(course: Course, text: str, line: int, fragment: str) -> None:
    errors = errors_of(text, course)
    assert has_error(errors, line, fragment), errors


def test_nothing_is_written_on_error(course: Course, media: Path) -> None:
    text = SEED_EXAM_PATH.read_text().replace("## 2.10\n", "## 2.11\n")
    counts = (Exam.objects.count(), Section.objects.count(), Question.objects.count(), Figure.objects.count())

    errors = errors_of(text, course, base_dir=SEED_EXAM_PATH.parent)

    line = SEED_EXAM_PATH.read_text().splitlines().index("## 2.10") + 1
    assert errors == [
        (
            line,
            "This question is 2.10 (questions are numbered in order within their section and group), "
            "but its heading says 2.11.",
        )
    ]
    assert (Exam.objects.count(), Section.objects.count(), Question.objects.count(), Figure.objects.count()) == counts
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_a_failure_while_writing_rolls_back_rows_and_files(
    course: Course, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(exam: Exam) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("exams.examfile.importer.exam_renumber", broken)
    with pytest.raises(RuntimeError):
        import_seed(course)

    assert not Exam.objects.exists() and not Figure.objects.exists()
    assert not any(path.is_file() for path in media.rglob("*"))


def test_figures_come_from_uploaded_files_by_relative_path(course: Course) -> None:
    text = '---\ntitle: T\n---\n# 1 S {}\n## 1.1 {short_answer, 1 point}\n![Alt](./img/a.png "Cap \\"x\\"")\n'
    exam = exam_import(text=text, course=course, figures={"img/a.png": png("blue")})
    figure = Figure.objects.get(exam=exam)
    assert (figure.alt_text, figure.caption) == ("Alt", 'Cap "x"')
    with figure.image.open("rb") as handle:
        assert handle.read() == png("blue")

    escaping = text.replace("./img/a.png", "../img/a.png")
    assert has_error(errors_of(escaping, course, figures={"../img/a.png": png()}), 6, "leaves the exam file's folder")


def test_a_symlink_cannot_lead_outside_the_folder(course: Course, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(png())
    folder = tmp_path / "exam"
    folder.mkdir()
    (folder / "link.png").symlink_to(outside)
    text = "---\ntitle: T\n---\n# 1 S {}\n## 1.1 {short_answer, 1 point}\n![Alt](link.png)\n"
    assert has_error(errors_of(text, course, base_dir=folder), 6, "leads outside the exam file's folder")


# ---------------------------------------------------------------- commands


def test_import_exam_command_prints_a_summary(course: Course, instructor: User) -> None:
    out = io.StringIO()
    call_command("import_exam", str(SEED_EXAM_PATH), course=course.code, by=instructor.net_id, stdout=out)

    exam = Exam.objects.get()
    summary = out.getvalue()
    assert f"as exam {exam.pk} in {course.code}" in summary and exam.created_by == instructor
    assert "Sections: 3" in summary
    assert "1 True / False: 10 questions, 20 points" in summary
    assert "2 Multiple Choices: 10 questions, 40 points" in summary
    assert "3 Short Answers: 17 questions, 40 points + 12 extra credit" in summary
    assert "true_false 10" in summary and "multiple_select 10" in summary and "grid 2" in summary
    assert "Figures: 9" in summary
    assert "Total: 100 points + 12 extra credit" in summary


def test_import_exam_command_reports_errors_and_writes_nothing(course: Course, tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text(BAD)
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"problems in .*bad\.md; nothing was imported"):
        call_command("import_exam", str(path), course=course.code, stderr=err)

    assert f"{path}: line 8: Unknown question attribute 'true_fals'" in err.getvalue()
    assert (
        f"{path}: line 25: Question 2.1: A multiple_select question needs at least one correct choice."
        in err.getvalue()
    )
    assert not Exam.objects.exists()


def test_import_exam_command_needs_a_real_course(db: None) -> None:
    with pytest.raises(CommandError, match="No course has the code 'nope'"):
        call_command("import_exam", str(SEED_EXAM_PATH), course="nope")


def test_export_exam_command(course: Course, tmp_path: Path) -> None:
    exam = import_seed(course)
    out = io.StringIO()
    call_command("export_exam", exam.pk, figures_dir=str(tmp_path / "figures"), stdout=out)

    assert out.getvalue() == SEED_EXAM_PATH.read_text()
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == sorted(
        p.name for p in (SEED_EXAM_PATH.parent / "figures").glob("*.png")
    )
    with pytest.raises(CommandError, match="No exam has the id"):
        call_command("export_exam", exam.pk + 1000)
