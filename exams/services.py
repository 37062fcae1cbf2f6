"""Writes on the authoring side: validation of questions, numbering, duplication.

Each function is the one place its rule lives; the admin, the API, the exam-file importer
and the commands all call these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from exams.kinds import KIND_GROUP, ChoiceData, get_kind
from exams.models import Choice, Exam, Figure, Question, Section

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class CleanQuestion:
    policy: str
    policy_params: dict[str, Any]
    config: dict[str, Any]
    key: dict[str, Any]


def question_validate(
    *,
    kind: str,
    points: Decimal | int | float,
    policy: str = "",
    policy_params: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    key: dict[str, Any] | None = None,
    choices: list[ChoiceData] | None = None,
) -> CleanQuestion:
    """Validate one question's kind-specific data and return it normalised.

    Raises ValidationError keyed by field (kind, policy, config, key, choices) so forms can
    show each message beside its field. ``choices=None`` skips the checks that need the
    choices (the admin validates those with the choice inline).
    """
    if kind == KIND_GROUP:
        extras = [n for n, v in (("policy", policy), ("config", config), ("key", key)) if v]
        if extras or choices:
            raise ValidationError({"kind": "A group carries context only: no policy, settings, key or choices."})
        if Decimal(str(points)) != 0:
            raise ValidationError({"points": "A group's points are the sum of its sub-questions; leave it at 0."})
        return CleanQuestion("", {}, {}, {})
    try:
        spec = get_kind(kind)
    except KeyError as error:
        raise ValidationError({"kind": str(error.args[0])}) from None
    errors: dict[str, list[str]] = defaultdict(list)

    def attempt(field: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except ValidationError as error:
            errors[field].extend(error.messages)
            return None

    clean_config = attempt("config", spec.clean_config, dict(config or {}))
    policy_result = attempt("policy", spec.clean_policy, policy, dict(policy_params or {}))
    clean_key: dict[str, Any] | None = None
    if choices is not None:
        attempt("choices", spec.clean_choices, choices)
    if clean_config is not None and not errors.get("choices"):
        if spec.uses_choices and choices is None:
            clean_key = {}
        else:
            clean_key = attempt("key", spec.clean_key, clean_config, dict(key or {}), choices or [])
    if errors or clean_config is None or policy_result is None or clean_key is None:
        raise ValidationError(dict(errors))
    return CleanQuestion(policy_result[0], policy_result[1], clean_config, clean_key)


def question_clean(question: Question) -> None:
    """Model-level validation of a question (its choices are checked with them)."""
    if question.parent_id is not None:
        parent = question.parent
        if parent is not None and parent.section_id != question.section_id:
            raise ValidationError({"parent": "A sub-question must be in its parent's section."})
        if parent is not None and parent.kind != KIND_GROUP:
            raise ValidationError(
                {"parent": f"Only a group can have sub-questions; {parent.number} is a {parent.kind}."}
            )
        ancestor = parent
        while ancestor is not None:
            if question.pk is not None and ancestor.pk == question.pk:
                raise ValidationError({"parent": "A question cannot be inside itself."})
            ancestor = ancestor.parent
    if question.section_id and question.exam_id and question.section.exam_id != question.exam_id:
        raise ValidationError({"section": "The section belongs to another exam."})
    clean = question_validate(
        kind=question.kind,
        points=question.points,
        policy=question.policy,
        policy_params=question.policy_params,
        config=question.config,
        key=question.key,
        choices=None,
    )
    question.policy, question.policy_params = clean.policy, clean.policy_params
    question.config = clean.config
    if not get_kind_uses_choices(question.kind):
        question.key = clean.key


def get_kind_uses_choices(kind: str) -> bool:
    return kind != KIND_GROUP and get_kind(kind).uses_choices


def choices_validate(question: Question, choices: list[ChoiceData]) -> None:
    """The checks that need a question's choices: count, labels, and the key they carry."""
    if question.kind == KIND_GROUP:
        if choices:
            raise ValidationError("A group has no choices.")
        return
    spec = get_kind(question.kind)
    spec.clean_choices(choices)
    if spec.uses_choices:
        spec.clean_key(question.config, question.key, choices)


def exam_renumber(exam: Exam) -> None:
    """Give every question its number from its place in the tree: section.position.position…

    Numbers are unique per exam, so they are first moved out of the way, then written.
    """
    questions = list(Question.objects.filter(exam=exam).select_related("section").order_by("position", "pk"))
    children: dict[int | None, list[Question]] = defaultdict(list)
    for q in questions:
        children[q.parent_id].append(q)
    numbers: dict[int, str] = {}

    def walk(nodes: Iterable[Question], prefix: str) -> None:
        for index, node in enumerate(nodes, start=1):
            numbers[node.pk] = f"{prefix}.{index}"
            walk(children.get(node.pk, []), numbers[node.pk])

    by_section: dict[int, list[Question]] = defaultdict(list)
    for q in children.get(None, []):
        by_section[q.section_id].append(q)
    for roots in by_section.values():
        walk(roots, str(roots[0].section.number))
    changed = [q for q in questions if q.number != numbers.get(q.pk, q.number)]
    if not changed:
        return
    with transaction.atomic():
        for q in changed:
            q.number = f"~{q.pk}"
        Question.objects.bulk_update(changed, ["number"])
        for q in changed:
            q.number = numbers[q.pk]
        Question.objects.bulk_update(changed, ["number"])


def question_place(*, question: Question, position: int | None) -> None:
    """Put a saved question at ``position`` among its siblings (last when None).

    The siblings are renumbered 1…n around it, so "position 1" means first, as an author
    expects, rather than a tie with the question already there.
    """
    siblings = list(
        Question.objects.filter(section_id=question.section_id, parent_id=question.parent_id)
        .exclude(pk=question.pk)
        .order_by("position", "pk")
    )
    index = len(siblings) if position is None else min(position - 1, len(siblings))
    siblings.insert(index, question)
    for place, sibling in enumerate(siblings, start=1):
        sibling.position = place
    Question.objects.bulk_update(siblings, ["position"])


def question_move_subtree(*, question: Question) -> None:
    """Sub-questions live in their parent's section: when a group moves, they move with it."""
    children: dict[int, list[int]] = defaultdict(list)
    for pk, parent_id in Question.objects.filter(exam_id=question.exam_id).values_list("pk", "parent_id"):
        if parent_id is not None:
            children[parent_id].append(pk)
    descendants, stack = [], list(children[question.pk])
    while stack:
        pk = stack.pop()
        descendants.append(pk)
        stack.extend(children[pk])
    Question.objects.filter(pk__in=descendants).update(section=question.section)


@transaction.atomic
def exam_duplicate(*, exam: Exam, by: User | None, title: str = "") -> Exam:
    """A full, unpublished copy of an exam: sections, question tree, choices, figures, keys."""
    from exams.models import Exam

    copy = Exam.objects.get(pk=exam.pk)
    copy.pk = None
    copy.title = title or f"{exam.title} (copy)"
    copy.published = False
    copy.archived = False
    copy.created_by = by
    copy.save()
    section_map: dict[int, Section] = {}
    for section in exam.sections.all():
        old_id = section.pk
        section.pk = None
        section.exam = copy
        section.save()
        section_map[old_id] = section
    question_map: dict[int, Question] = {}
    # Parents before children: a parent's number is a prefix of its children's.
    for question in sorted(exam.questions.all(), key=lambda q: (q.number.count("."), q.pk)):
        old_id = question.pk
        question.pk = None
        question.exam = copy
        question.section = section_map[question.section_id]
        question.parent = question_map[question.parent_id] if question.parent_id else None
        question.save()
        question_map[old_id] = question
    Choice.objects.bulk_create(
        Choice(
            question=question_map[c.question_id],
            position=c.position,
            label=c.label,
            text=c.text,
            is_correct=c.is_correct,
        )
        for c in Choice.objects.filter(question__exam=exam)
    )
    for figure in Figure.objects.filter(exam=exam):
        new = Figure(
            exam=copy,
            question=question_map.get(figure.question_id) if figure.question_id else None,
            position=figure.position,
            alt_text=figure.alt_text,
            caption=figure.caption,
        )
        with figure.image.open("rb") as source:
            new.image.save(Path(figure.image.name or "figure").name, ContentFile(source.read()), save=False)
        new.save()
    return copy
