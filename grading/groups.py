"""Answer groups: the answers to one question that are identical once normalised, graded at once.

``answer_groups_build`` sorts a question's non-blank answers by their normal form:

- short answers: case-folded, runs of whitespace made one space, ends trimmed; the parts (a),
  (b) of a multi-part answer are normalised one by one and kept apart, so "(a) x (b) y" and
  "(a) x y (b)" differ;
- formulas: by symbolic equivalence (``grading.scoring.symbolic``, the test that scores them), so
  ``sqrt(2 - 2*D_C)`` and ``sqrt(2)*sqrt(1 - D_C)`` share a group. Each distinct formula is
  compared with the representative (first member) of each group in turn, most common forms
  first; a cheap numeric fingerprint skips the groups it cannot belong to, each comparison is
  time-limited, and once ``time_budget`` is spent only structurally equal formulas still join.
  A formula that does not parse groups only with the same text, spaces ignored;
- grids cell by cell, numbers by equal value (0.5 and 0.50), choices by equal selections,
  true/false by the value; sketches never group.

Only forms shared by two answers or more make a group: a unique answer is graded on its own
page. Groups are stored as ``AnswerGroup`` rows (one per question and digest of the normal form)
and each member's ``Evaluation.group`` points at its group; evaluations are made as needed, for
automatically scored kinds too, so that a group of identical formulas can be overridden at once.
Building again gives the same groups (a group that lost every member is removed: it is derived
data, with no grade of its own).

``group_grade`` applies one decision (rubric items, adjustment, comment) to every member, each
member audited with a ``GradeEvent`` of source ``group``. The rule for members graded on their
own: grading a member individually (``evaluation_save``) changes that member only and it stays
in its group, keeping its own grade until the group is graded again; grading the group again
applies the group's decision to every member, that one included. A grade from the group is
never applied over a page gone stale: the form carries the members' versions (``group_state``)
and a change since refuses the save (``StaleGroup``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sympy
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from accounts.models import User
from exams.expressions import ExpressionError, parse_expression
from exams.models import Answer, Question
from grading.bulk import results_recompute, rows_update
from grading.models import AnswerGroup, AnswerScore, Evaluation, GradeEvent, RubricItem
from grading.review import GradingContext, evaluations_create, queue_build, rubric_for
from grading.scoring.rubric import AppliedItem
from grading.scoring.symbolic import cached_equivalence, is_undefined, sample_points
from grading.scoring.timelimit import TimeLimitExceeded, call_with_time_limit

GROUPING_TIME_BUDGET = 10.0  # seconds of symbolic comparison per build (a request, well within a worker timeout)
COMPARISON_TIME_LIMIT = 1.0  # seconds per pair of formulas (each of its two steps)
FINGERPRINT_TIME_LIMIT = 0.5  # seconds to evaluate one formula at the fingerprint's points
FINGERPRINT_POINTS = 6
FINGERPRINT_TOLERANCE = 1e-9  # relative; formulas are evaluated to 15 digits
EMPTY_CELL = "·"
WHITESPACE = re.compile(r"\s+")
NEVER_GROUPED = frozenset({"sketch"})


class StaleGroup(Exception):
    """A member of the group changed since the grader loaded the group; nothing was saved."""

    def __init__(self) -> None:
        super().__init__(
            "Some answers of this group were graded or regrouped since you opened it. "
            "Reload the page to see them; your grade was not saved."
        )


# --- normal forms, pure ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NormalForm:
    """An answer's normal form: ``text`` decides the group (equal text, same group), ``label``
    is what graders see."""

    text: str
    label: str


def collapse_spaces(text: str) -> str:
    return WHITESPACE.sub(" ", text).strip()


def short_answer_form(value: Any, parts: Sequence[str]) -> NormalForm | None:
    """Case-folded, whitespace collapsed, parts kept apart; None for a blank answer."""
    if parts:
        texts = value if isinstance(value, dict) else {}
        normal = {part: collapse_spaces(str(texts.get(part) or "")).casefold() for part in parts}
        if not any(normal.values()):
            return None
        return NormalForm(
            json.dumps(normal, ensure_ascii=False, sort_keys=True),
            "\n".join(f"({part}) {text}" for part, text in normal.items()),
        )
    text = collapse_spaces(str(value or "")).casefold()
    return NormalForm(text, text) if text else None


def grid_form(value: Any) -> NormalForm | None:
    if not isinstance(value, list) or not value:
        return None
    rows = [[None if cell is None else str(cell) for cell in row] for row in value]
    label = " / ".join(" ".join(EMPTY_CELL if cell is None else cell for cell in row) for row in rows)
    return NormalForm(json.dumps(rows, ensure_ascii=False), label)


def numeric_form(value: Any, unit: str = "") -> NormalForm | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return NormalForm(f"text:{collapse_spaces(str(value))}", collapse_spaces(str(value)))
    if not math.isfinite(number):
        return NormalForm(f"text:{number!r}", repr(number))
    number = number + 0.0  # −0.0 and 0.0 are one value
    return NormalForm(repr(number), f"{number:.15g}" + (f" {unit}" if unit else ""))


def choice_form(value: Any) -> NormalForm | None:
    """Single choice ("B"), multiple select (["A", "C"]) and true/false (True)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return NormalForm(json.dumps(value), "True" if value else "False")
    if isinstance(value, list):
        chosen = sorted(str(label) for label in value)
        return NormalForm(json.dumps(chosen), ", ".join(chosen)) if chosen else None
    return NormalForm(json.dumps(str(value)), str(value))


def formula_text(value: Any) -> str:
    """A formula's text, spaces removed: what an unparseable formula is grouped by."""
    return WHITESPACE.sub("", str(value or ""))


def form_digest(kind: str, text: str) -> str:
    return hashlib.blake2b(f"{kind}\x00{text}".encode(), digest_size=16).hexdigest()


# --- formulas: grouped by symbolic equivalence, bounded in time ----------------------------------


Fingerprint = tuple[float | None, ...]


def formula_fingerprint(expression: sympy.Expr, variables: Sequence[str]) -> Fingerprint:
    """The formula's values at a few fixed points (None where it is not a finite real number).
    Two formulas whose values differ where both are defined cannot be equivalent."""
    symbols = {name: sympy.Symbol(name, real=True) for name in variables}

    def values() -> Fingerprint:
        found: list[float | None] = []
        for point in sample_points(variables, count=FINGERPRINT_POINTS):
            try:
                real, imaginary = expression.evalf(
                    15, subs={symbols[name]: value for name, value in point.items()}
                ).as_real_imag()
                number, rest = complex(real), complex(imaginary)
            except Exception:  # undefined here, like sqrt(-1) or log(0)
                found.append(None)
                continue
            good = math.isfinite(number.real) and abs(rest) <= 1e-12 * max(1.0, abs(number.real))
            found.append(number.real if good else None)
        return tuple(found)

    try:
        return call_with_time_limit(values, seconds=FINGERPRINT_TIME_LIMIT)
    except TimeLimitExceeded:
        return (None,) * FINGERPRINT_POINTS  # compatible with everything: the comparison decides


def fingerprints_compatible(first: Fingerprint, second: Fingerprint) -> bool:
    return all(
        a is None or b is None or abs(a - b) <= FINGERPRINT_TOLERANCE * max(1.0, abs(a), abs(b))
        for a, b in zip(first, second, strict=True)
    )


@dataclass
class _Formula:
    """A group of formulas under construction: its first member represents it."""

    text: str  # the digest's input
    label: str
    expression: sympy.Expr
    fingerprint: Fingerprint


@dataclass
class FormulaGrouper:
    """Assigns formula texts to groups: structurally equal, else equivalent to a group's
    representative (earlier groups first), else a group of its own."""

    variables: Sequence[str]
    time_budget: float
    clock: Callable[[], float] = time.monotonic
    groups: list[_Formula] = field(default_factory=list)
    by_expression: dict[sympy.Expr, _Formula] = field(default_factory=dict)
    out_of_time: bool = False

    def __post_init__(self) -> None:
        self._deadline = self.clock() + self.time_budget

    def form(self, value: Any) -> NormalForm | None:
        raw = collapse_spaces(str(value or ""))
        if not raw:
            return None
        try:
            expression = parse_expression(raw, self.variables)
        except ExpressionError:
            expression = None
        if expression is None or is_undefined(expression):
            return NormalForm(f"text:{formula_text(raw)}", raw)
        found = self.by_expression.get(expression) or self._equivalent(expression)
        if found is None:
            found = _Formula(
                f"formula:{sympy.srepr(expression)}",
                raw,
                expression,
                formula_fingerprint(expression, self.variables),
            )
            self.groups.append(found)
        self.by_expression[expression] = found
        return NormalForm(found.text, found.label)

    def _equivalent(self, expression: sympy.Expr) -> _Formula | None:
        fingerprint: Fingerprint | None = None
        for group in self.groups:
            remaining = self._deadline - self.clock()
            if remaining <= 0.05:
                self.out_of_time = True
                return None
            if fingerprint is None:
                fingerprint = formula_fingerprint(expression, self.variables)
            if not fingerprints_compatible(fingerprint, group.fingerprint):
                continue
            outcome = cached_equivalence(
                expression, group.expression, self.variables, time_limit=min(COMPARISON_TIME_LIMIT, remaining)
            )
            if outcome.equivalent:
                return group
        return None


# --- building the groups of a question ------------------------------------------------------------


@dataclass(frozen=True)
class GroupingSummary:
    answers: int  # non-blank answers considered
    groups: int  # groups of two answers or more
    grouped: int  # answers in those groups
    out_of_time: bool = False  # formulas left apart because the time budget ran out

    @property
    def ungrouped(self) -> int:
        return self.answers - self.grouped


def evaluations_make(question_id: int) -> int:
    """Make an evaluation for every non-blank scored answer of the question that has none
    (the queue's for answers waiting for a grader, the others' for overrides); the count made."""
    made = queue_build(question_id)
    return made + evaluations_create(question_id, blank=False)


def normal_forms(
    question: Question, values: Mapping[int, Any], *, time_budget: float = GROUPING_TIME_BUDGET
) -> tuple[dict[int, NormalForm], bool]:
    """The normal form of each answer (by any id; None values and blanks left out) and whether the
    time budget ran out. Formulas are processed most common text first, so that a group's
    representative (and label) is its most common form."""
    kind = question.kind
    if kind in NEVER_GROUPED:
        return {}, False
    config = question.config or {}
    if kind == "expression":
        by_text: dict[str, list[int]] = defaultdict(list)
        for member, value in values.items():
            by_text[collapse_spaces(str(value or ""))].append(member)
        grouper = FormulaGrouper(list(config.get("variables") or []), time_budget)
        forms: dict[int, NormalForm] = {}
        for text, members in sorted(by_text.items(), key=lambda entry: (-len(entry[1]), entry[0])):
            form = grouper.form(text)
            if form is not None:
                forms.update(dict.fromkeys(members, form))
        return forms, grouper.out_of_time
    shape: Callable[[Any], NormalForm | None]
    if kind == "short_answer":
        parts = list(config.get("parts") or [])
        shape = lambda value: short_answer_form(value, parts)  # noqa: E731
    elif kind == "grid":
        shape = grid_form
    elif kind == "numeric":
        unit = str(config.get("unit") or "")
        shape = lambda value: numeric_form(value, unit)  # noqa: E731
    else:  # single_choice, multiple_select, true_false
        shape = choice_form
    shaped = {member: shape(value) for member, value in values.items()}
    return {member: form for member, form in shaped.items() if form is not None}, False


def answer_groups_build(question: Question, *, time_budget: float = GROUPING_TIME_BUDGET) -> GroupingSummary:
    """Group the question's non-blank answers by normal form (see the module doc) and store the
    groups; safe to run again (same answers, same groups). Grades are not touched."""
    evaluations_make(question.pk)
    members = dict(Evaluation.objects.filter(question=question, score__blank=False).values_list("sitting_id", "pk"))
    values = {
        members[sitting_id]: value
        for sitting_id, value in Answer.objects.filter(question=question, sitting_id__in=list(members)).values_list(
            "sitting_id", "value"
        )
        if value is not None
    }
    forms, out_of_time = normal_forms(question, values, time_budget=time_budget)
    by_text: dict[str, list[int]] = defaultdict(list)
    for member, form in forms.items():
        by_text[form.text].append(member)
    shared = {text: ids for text, ids in by_text.items() if len(ids) >= 2}
    labels = {forms[ids[0]].text: forms[ids[0]].label for ids in shared.values()}
    keys = {text: form_digest(question.kind, text) for text in shared}

    with transaction.atomic():
        Question.objects.select_for_update().filter(pk=question.pk).first()  # one build of a question at a time
        existing = {group.key: group for group in AnswerGroup.objects.filter(question=question)}
        AnswerGroup.objects.bulk_create(
            [
                AnswerGroup(question=question, key=key, label=labels[text])
                for text, key in keys.items()
                if key not in existing
            ]
        )
        for text, key in keys.items():
            group = existing.get(key)
            if group is not None and group.label != labels[text]:
                AnswerGroup.objects.filter(pk=group.pk).update(label=labels[text])
        group_ids = dict(AnswerGroup.objects.filter(question=question).values_list("key", "pk"))
        wanted = {member: group_ids[keys[text]] for text, ids in shared.items() for member in ids}
        current = dict(Evaluation.objects.filter(question=question).values_list("pk", "group_id"))
        rows_update(
            Evaluation._meta.db_table,
            key="id",
            columns=["group_id"],
            types=["bigint", "bigint"],
            rows=[(pk, wanted.get(pk)) for pk, group_id in current.items() if wanted.get(pk) != group_id],
        )
        AnswerGroup.objects.filter(question=question).exclude(key__in=list(keys.values())).filter(
            members__isnull=True
        ).delete()
    return GroupingSummary(
        answers=len(values),
        groups=len(shared),
        grouped=sum(len(ids) for ids in shared.values()),
        out_of_time=out_of_time,
    )


# --- grading a group at once ------------------------------------------------------------------------


def group_state(versions: Iterable[tuple[int, int]]) -> str:
    """A token of the members and their versions: it changes when any member is graded or the
    group gains or loses a member. The grading form carries it back."""
    text = ",".join(f"{pk}:{version}" for pk, version in sorted(versions))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def answer_group_state(group: AnswerGroup) -> str:
    return group_state(Evaluation.objects.filter(group=group).values_list("pk", "version"))


def group_grade(
    *,
    group: AnswerGroup,
    grader: User,
    item_ids: Sequence[int],
    adjustment: Decimal,
    comment: str,
    now: datetime,
    state: str | None = None,
) -> int:
    """Apply one decision to every member of the group, as ``evaluation_save`` would to each
    (same rubric rules, claims released, version raised), each member audited with a
    ``GradeEvent`` of source ``group``; totals recomputed. Returns the number of members graded.

    StaleGroup when ``state`` is given and the members changed since (see ``group_state``);
    ValidationError for an item that is not an active item of the question's rubric.
    """
    with transaction.atomic():
        members = list(
            Evaluation.objects.select_for_update(of=("self",))
            .filter(group=group)
            .select_related("score")
            .order_by("pk")
        )
        if not members:
            raise ValidationError("This group has no answers left: group the answers again.")
        if state is not None and state != group_state((member.pk, member.version) for member in members):
            raise StaleGroup()
        question = Question.objects.get(pk=group.question_id)
        rubric = rubric_for(question)
        items = list(RubricItem.objects.filter(pk__in=set(item_ids), rubric=rubric, active=True))
        if len(items) != len(set(item_ids)):
            raise ValidationError({"items": "Choose items of this question's rubric."})
        items.sort(key=lambda item: (item.position, item.pk))
        context = GradingContext.of(question, rubric)
        applied = [AppliedItem(item.points, item.description) for item in items]
        detail = {
            "items": [{"id": item.pk, "points": str(item.points), "description": item.description} for item in items],
            "adjustment": str(adjustment),
            "comment": comment,
            "group": group.pk,
        }
        ids = [member.pk for member in members]
        through = Evaluation.items.through
        through.objects.filter(evaluation_id__in=ids).delete()
        through.objects.bulk_create(
            [through(evaluation_id=member, rubricitem_id=item.pk) for member in ids for item in items]
        )
        by_outcome: dict[tuple[Decimal, str], list[Evaluation]] = defaultdict(list)
        events = []
        for member in members:
            outcome = context.outcome(
                items=applied, adjustment=adjustment, comment=comment, auto_points=member.score.auto_points
            )
            by_outcome[(outcome.points, outcome.explanation)].append(member)
            events.append(
                GradeEvent(
                    score_id=member.score_id,
                    sitting_id=member.sitting_id,
                    question_id=member.question_id,
                    actor=grader,
                    at=now,
                    source=GradeEvent.Source.GROUP,
                    old_points=None if member.score.needs_manual else member.score.points,
                    new_points=outcome.points,
                    reason=f"Graded with its group of {len(members)} identical answers",
                    detail=detail,
                )
            )
        for (points, explanation), same in by_outcome.items():
            Evaluation.objects.filter(pk__in=[member.pk for member in same]).update(
                adjustment=adjustment,
                comment=comment,
                points=points,
                graded_by=grader,
                graded_at=now,
                version=F("version") + 1,
                claimed_by=None,
                claimed_until=None,
            )
            AnswerScore.objects.filter(pk__in=[member.score_id for member in same]).update(
                points=points, explanation=explanation, source=context.source, needs_manual=False
            )
        GradeEvent.objects.bulk_create(events, batch_size=2000)
        results_recompute(question.exam_id, sorted({member.sitting_id for member in members}), now=now)
    return len(members)


# --- what the groups page shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupMember:
    evaluation_id: int
    points: Decimal | None  # None: not graded yet
    graded_by_group: bool  # its latest grade came from the group


@dataclass(frozen=True)
class GroupView:
    group: AnswerGroup
    members: list[GroupMember]
    state: str
    value: Any  # the normalised answer, as an Answer.value (for grading.answers.answer_display)
    forms: list[str]  # formulas: the distinct texts of its members, most common first
    item_ids: frozenset[int]  # the items every member has, when all share one decision
    adjustment: Decimal | None
    comment: str

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def graded(self) -> int:
        return sum(1 for member in self.members if member.points is not None)

    @property
    def points(self) -> list[Decimal]:
        return sorted({member.points for member in self.members if member.points is not None})


def answer_groups_view(question: Question, *, forms_shown: int = 5) -> list[GroupView]:
    """The question's groups, largest first, each with its members (anonymous: evaluation ids
    only), their points, and the decision they share if they all share one."""
    groups = {group.pk: group for group in AnswerGroup.objects.filter(question=question)}
    rows = list(
        Evaluation.objects.filter(question=question, group__isnull=False)
        .order_by("queue_order")
        .values_list("pk", "group_id", "points", "version", "adjustment", "comment", "sitting_id", "score_id")
    )
    items: dict[int, frozenset[int]] = defaultdict(frozenset)
    through = Evaluation.items.through
    collected: dict[int, set[int]] = defaultdict(set)
    for evaluation_id, item_id in through.objects.filter(evaluation_id__in=[row[0] for row in rows]).values_list(
        "evaluation_id", "rubricitem_id"
    ):
        collected[evaluation_id].add(item_id)
    items.update({pk: frozenset(found) for pk, found in collected.items()})
    last_sources = dict(
        GradeEvent.objects.filter(score_id__in=[row[7] for row in rows])
        .order_by("score_id", "at", "pk")
        .values_list("score_id", "source")
    )  # the latest event of each score wins
    answers = dict(Answer.objects.filter(question=question).values_list("sitting_id", "value"))
    by_group: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_group[row[1]].append(row)
    views = []
    for group_id, members in by_group.items():
        decisions = {(items[row[0]], row[4], row[5]) for row in members if row[2] is not None}
        shared = next(iter(decisions)) if len(decisions) == 1 and all(row[2] is not None for row in members) else None
        texts: dict[str, int] = defaultdict(int)
        if question.kind == "expression":
            for row in members:
                texts[collapse_spaces(str(answers.get(row[6]) or ""))] += 1
        views.append(
            GroupView(
                group=groups[group_id],
                members=[
                    GroupMember(row[0], row[2], last_sources.get(row[7]) == GradeEvent.Source.GROUP) for row in members
                ],
                state=group_state((row[0], row[3]) for row in members),
                value=_normal_value(question, groups[group_id], answers.get(members[0][6])),
                forms=[text for text, _ in sorted(texts.items(), key=lambda entry: (-entry[1], entry[0]))][
                    :forms_shown
                ],
                item_ids=shared[0] if shared else frozenset(),
                adjustment=shared[1] if shared else None,
                comment=shared[2] if shared else "",
            )
        )
    views.sort(key=lambda view: (-view.size, view.group.label))
    return views


def _normal_value(question: Question, group: AnswerGroup, value: Any) -> Any:
    """The group's answer as graders see it: a short answer normalised (case-folded, spaces
    collapsed), a formula its representative, any other kind one member's (they are all equal)."""
    if question.kind == "expression":
        return group.label
    if question.kind == "short_answer":
        parts = list((question.config or {}).get("parts") or [])
        form = short_answer_form(value, parts)
        if form is None:
            return None
        return json.loads(form.text) if parts else form.text
    return value
