"""``exam_export``: an exam from the database, printed in the exam-file format.

The output reads back with ``exam_import`` into an identical exam, and printing that exam
again gives the same text: every choice the writer makes (defaults hoisted onto a section
heading, figure file names, number formats) depends on the exam's data only.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from django.utils import timezone
from PIL import Image

from exams.examfile.fields import answer_lines, setting_lines, text_field
from exams.examfile.syntax import escape_text, format_number, format_points
from exams.figures import ALLOWED_FORMATS
from exams.kinds import KIND_GROUP, KINDS
from exams.kinds.base import POLICY_PARAMS, clean_policy_params
from exams.models import Choice, Exam, Figure, Question, Section

DEFAULT_FIGURES_FOLDER = "figures"
_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so the honor code reads as written."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def exam_export(exam: Exam, *, figures_dir: Path | None = None) -> str:
    """The exam as an exam file.

    Figures are referred to as ``<folder>/<question number>-<n>.<ext>`` (``cover-<n>`` for
    the cover page), where ``<folder>`` is ``figures_dir``'s name, or ``figures`` without
    it. With ``figures_dir`` the image files are written there too, so the text belongs in
    the folder that contains ``figures_dir``.
    """
    return _Writer(exam, figures_dir).write()


class _Writer:
    def __init__(self, exam: Exam, figures_dir: Path | None) -> None:
        self.exam = exam
        self.figures_dir = figures_dir
        self.folder = figures_dir.name if figures_dir is not None else DEFAULT_FIGURES_FOLDER
        questions = list(Question.objects.filter(exam=exam).order_by("position", "pk"))
        self.children: dict[int | None, list[Question]] = defaultdict(list)
        for question in questions:
            self.children[question.parent_id].append(question)
        self.by_id = {q.pk: q for q in questions}
        self.choices: dict[int, list[Choice]] = defaultdict(list)
        for choice in Choice.objects.filter(question__exam=exam).order_by("position", "label", "pk"):
            self.choices[choice.question_id].append(choice)
        self.figures: dict[int | None, list[Figure]] = defaultdict(list)
        for figure in Figure.objects.filter(exam=exam).order_by("position", "pk"):
            self.figures[figure.question_id].append(figure)

    def write(self) -> str:
        blocks: list[list[str]] = [self._front_matter()]
        blocks.append(escape_text(self.exam.instructions) if self.exam.instructions else [])
        blocks.append(self._figure_lines(self.figures.get(None, []), "cover"))
        for section in self.exam.sections.order_by("number"):
            blocks.extend(self._section(section))
        return "\n\n".join("\n".join(block) for block in blocks if block) + "\n"

    # ------------------------------------------------------------ exam

    def _front_matter(self) -> list[str]:
        exam = self.exam
        lines = ["---", _yaml("title", exam.title)]
        if exam.term:
            lines.append(_yaml("term", exam.term))
        if exam.exam_date:
            lines.append(f"date: {exam.exam_date.isoformat()}")
        lines.append(f"duration: {exam.duration_minutes} minutes")
        for key, moment in (("opens", exam.opens_at), ("closes", exam.closes_at)):
            if moment is not None:
                lines.append(f"{key}: {_moment(moment)}")
        if exam.access_code:
            lines.append(_yaml("access_code", exam.access_code))
        lines.append(_yaml("honor_code", exam.honor_code))
        lines.append("---")
        return lines

    # ------------------------------------------------------------ sections

    def _section(self, section: Section) -> list[list[str]]:
        roots = [q for q in self.children.get(None, []) if q.section_id == section.pk]
        leaves = [q for root in roots for q in self._walk(root) if q.kind != KIND_GROUP]
        defaults = _Defaults.common(leaves)
        items: list[str] = []
        total = sum((q.points for q in leaves if not self._is_extra(q)), Decimal(0))
        if total:
            items.append(_points(total))
        if section.recommended_minutes is not None:
            items.append(f"{section.recommended_minutes} minutes")
        if section.floor_at_zero:
            items.append("floor at zero")
        if defaults.kind:
            items.append(defaults.kind)
        if defaults.points is not None:
            items.append(_points(defaults.points) + " each")
        if defaults.policy is not None:
            items.append(_policy_item(*defaults.policy))
        blocks = [[_heading(1, str(section.number), section.title, items)]]
        if section.instructions:
            blocks.append(escape_text(section.instructions))
        for root in roots:
            blocks.extend(self._question(root, 2, defaults))
        return blocks

    def _walk(self, question: Question) -> list[Question]:
        return [question, *(q for child in self.children.get(question.pk, []) for q in self._walk(child))]

    def _is_extra(self, question: Question) -> bool:
        node: Question | None = question
        while node is not None:
            if node.extra_credit:
                return True
            node = self.by_id.get(node.parent_id) if node.parent_id else None
        return False

    # ------------------------------------------------------------ questions

    def _question(self, question: Question, level: int, defaults: _Defaults) -> list[list[str]]:
        children = self.children.get(question.pk, [])
        items: list[str] = []
        if question.kind == KIND_GROUP:
            if not children:
                items.append(KIND_GROUP)
            extra = self._is_extra(question)
            total = sum(
                (q.points for q in self._walk(question) if q.kind != KIND_GROUP and self._is_extra(q) == extra),
                Decimal(0),
            )
            if total:
                items.append(_points(total))
        else:
            if question.kind != defaults.kind:
                items.append(question.kind)
            if question.points != defaults.points:
                items.append(_points(question.points))
        if question.extra_credit:
            items.append("extra credit")
        if question.kind != KIND_GROUP and question.policy:
            policy = (question.policy, dict(question.policy_params))
            if policy != defaults.policy and not (defaults.policy is None and _is_only_policy(question)):
                items.append(_policy_item(*policy))

        blocks = [[_heading(level, question.number, question.title, items)]]
        if question.prompt:
            blocks.append(escape_text(question.prompt))
        blocks.append(self._figure_lines(self.figures.get(question.pk, []), question.number))
        blocks.append(self._choice_lines(question))
        key = {} if question.kind == "true_false" else question.key  # its key is the checked box
        blocks.append([*setting_lines(question.config), *answer_lines(question.kind, key)])
        blocks.append(text_field("Solution", question.solution))
        for child in children:
            blocks.extend(self._question(child, level + 1, defaults))
        return [block for block in blocks if block]

    def _choice_lines(self, question: Question) -> list[str]:
        if question.kind == "true_false":
            value = question.key.get("value")
            return [f"- [{'x' if value is True else ' '}] True", f"- [{'x' if value is False else ' '}] False"]
        lines: list[str] = []
        for choice in self.choices.get(question.pk, []):
            first, *more = choice.text.split("\n")
            mark = "x" if choice.is_correct else " "
            lines.append(f"- [{mark}] {choice.label}: {first}".rstrip())
            lines.extend(f"    {line}" if line.strip() else "" for line in more)
        return lines

    # ------------------------------------------------------------ figures

    def _figure_lines(self, figures: list[Figure], stem: str) -> list[str]:
        lines: list[str] = []
        for index, figure in enumerate(figures, start=1):
            data: bytes | None = None
            suffix = PurePosixPath(figure.image.name or "").suffix.lower()
            if suffix not in _SUFFIXES or self.figures_dir is not None:
                with figure.image.open("rb") as handle:
                    data = handle.read()
            if suffix not in _SUFFIXES:
                suffix = "." + _image_format(data or b"")
            name = f"{stem}-{index}{suffix}"
            if self.figures_dir is not None and data is not None:
                self.figures_dir.mkdir(parents=True, exist_ok=True)
                (self.figures_dir / name).write_bytes(data)
            alt = figure.alt_text.replace("\n", " ").replace("\\", "\\\\").replace("]", "\\]")
            caption = figure.caption.replace("\n", " ").replace("\\", "\\\\").replace('"', '\\"')
            title = f' "{caption}"' if caption else ""
            lines.append(f"![{alt}]({self.folder}/{name}{title})")
        return lines


class _Defaults:
    """What every answerable question of a section shares, printed once on its heading."""

    def __init__(
        self, kind: str | None = None, points: Decimal | None = None, policy: tuple[str, dict[str, Any]] | None = None
    ) -> None:
        self.kind, self.points, self.policy = kind, points, policy

    @classmethod
    def common(cls, leaves: list[Question]) -> _Defaults:
        if len(leaves) < 2:
            return cls()
        kinds = {q.kind for q in leaves}
        points = {q.points for q in leaves}
        policies = [(q.policy, dict(q.policy_params)) for q in leaves]
        shared_policy = policies[0] if policies[0][0] and all(p == policies[0] for p in policies) else None
        # A policy is only worth printing when some kind here has a choice of policies.
        if shared_policy and not any(len(KINDS[k].policies) > 1 for k in kinds if k in KINDS):
            shared_policy = None
        return cls(
            kind=kinds.pop() if len(kinds) == 1 else None,
            points=points.pop() if len(points) == 1 else None,
            policy=shared_policy,
        )


def _is_only_policy(question: Question) -> bool:
    """The kind's one policy with its default parameters: the importer fills it in."""
    spec = KINDS.get(question.kind)
    if spec is None or spec.policies != (question.policy,):
        return False
    return dict(question.policy_params) == clean_policy_params(question.policy, {})


def _points(value: Decimal) -> str:
    return f"{format_points(value)} point" + ("" if value == 1 else "s")


def _policy_item(policy: str, params: dict[str, Any]) -> str:
    if not params:
        return policy
    order = [p.name for p in POLICY_PARAMS.get(policy, ())]
    names = [n for n in order if n in params] + sorted(n for n in params if n not in order)
    return f"{policy}({', '.join(f'{n}={_param(params[n])}' for n in names)})"


def _param(value: Any) -> str:
    return format_number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _heading(level: int, number: str, title: str, items: Iterable[str]) -> str:
    title = " ".join(title.split())
    items = list(items)
    text = f"{'#' * level} {number}"
    if title:
        text += f" {title}"
    if items or title.endswith("}"):
        text += " {" + ", ".join(items) + "}"
    return text


def _yaml(key: str, value: str) -> str:
    dumped = yaml.dump({key: value}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000)
    return dumped.rstrip("\n")


def _moment(value: dt.datetime) -> str:
    return timezone.localtime(value).isoformat()


def _image_format(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        return ALLOWED_FORMATS.get(image.format or "", "png")
