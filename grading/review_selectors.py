"""Reads for the grading-by-hand pages (``grading.review_views``): the exam's grading dashboard,
a question's answers, an answer's place in its question's queue, its rubric as the grader sees it
(with the keys that toggle each item), and its grade history.

Nothing here writes; the claims, saves and overrides are ``grading.review``'s. Nothing here names
the student either: the pages are anonymous, and only the view reveals a name, when an
instructor asks.

Submission numbers: an answer is "Submission #n", n its 1-based rank in the queue's order
among all the question's scored answers, blank ones included (``submission_numbers``), so the
number never changes when an evaluation is made later (an override, a regrade); the pages and
the API show the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q

from exams.kinds import KIND_GROUP, get_kind
from exams.markdown import render_markdown
from exams.models import Answer, Exam, Question
from grading.answers import answer_summary
from grading.models import AnswerScore, Evaluation, GradeEvent, Rubric, RubricItem, ScoreSource
from grading.review import GradingContext, queue_position
from grading.scoring import format_points
from grading.scoring.registry import score_answer
from grading.scoring.rubric import RubricRules
from grading.scoring.specs import question_spec

# The keys that toggle items by their place in the rubric: 1 for the first … 0 for the tenth.
ITEM_DIGITS = "1234567890"


def number_order(number: str) -> tuple[int, ...]:
    """3.10 after 3.9, as on the paper (the stored numbers sort as text)."""
    return tuple(int(part) if part.isdigit() else 0 for part in number.split("."))


def graded_by_hand(question: Question) -> bool:
    return not get_kind(question.kind).auto_scored


# --- the dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraderCount:
    name: str
    graded: int


@dataclass(frozen=True)
class HandGradedQuestion:
    """A question graded by hand: ``total`` answers need a grader (non-blank, waiting or graded
    by hand), ``graded`` of them are; ``held`` are claimed by a grader right now."""

    question: Question
    total: int
    graded: int
    held: int
    graders: tuple[GraderCount, ...]
    rubric_items: int

    @property
    def done(self) -> bool:
        return self.graded >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.graded / self.total)


@dataclass(frozen=True)
class AutoScoredQuestion:
    question: Question
    answers: int
    blank: int
    overridden: int


@dataclass(frozen=True)
class GradingDashboard:
    exam: Exam
    scored: bool
    by_hand: tuple[HandGradedQuestion, ...]
    automatic: tuple[AutoScoredQuestion, ...]

    @property
    def remaining(self) -> int:
        return sum(row.total - row.graded for row in self.by_hand)


def grading_dashboard(exam: Exam, *, now: datetime) -> GradingDashboard:
    """The exam's answerable questions with how far their grading has come (a few queries, however
    many answers)."""
    questions = sorted(
        Question.objects.filter(exam=exam).exclude(kind=KIND_GROUP), key=lambda q: number_order(q.number)
    )
    by_question = {
        row["question_id"]: row
        for row in AnswerScore.objects.filter(question__exam=exam)
        .values("question_id")
        .annotate(
            # Named apart from the model's fields, which the filters below read.
            n_answers=Count("pk"),
            n_blank=Count("pk", filter=Q(blank=True)),
            n_total=Count("pk", filter=Q(blank=False) & (Q(needs_manual=True) | Q(source=ScoreSource.MANUAL))),
            n_graded=Count("pk", filter=Q(blank=False, needs_manual=False, source=ScoreSource.MANUAL)),
            n_overridden=Count("pk", filter=Q(source=ScoreSource.OVERRIDE)),
        )
    }
    graders: dict[int, list[GraderCount]] = defaultdict(list)
    for row in (
        Evaluation.objects.filter(question__exam=exam, graded_at__isnull=False, score__blank=False)
        .values("question_id", "graded_by__full_name", "graded_by__net_id")
        .annotate(n=Count("pk"))
        .order_by("question_id", "-n", "graded_by__net_id")
    ):
        name = row["graded_by__full_name"] or row["graded_by__net_id"] or "Unknown"
        graders[row["question_id"]].append(GraderCount(name, row["n"]))
    held = dict(
        Evaluation.objects.filter(question__exam=exam, graded_at__isnull=True, claimed_until__gt=now)
        .values("question_id")
        .annotate(n=Count("pk"))
        .values_list("question_id", "n")
    )
    items = dict(
        RubricItem.objects.filter(rubric__question__exam=exam, active=True)
        .values("rubric__question_id")
        .annotate(n=Count("pk"))
        .values_list("rubric__question_id", "n")
    )
    empty: dict[str, int] = {"n_answers": 0, "n_blank": 0, "n_total": 0, "n_graded": 0, "n_overridden": 0}
    by_hand, automatic = [], []
    for question in questions:
        counts = by_question.get(question.pk, empty)
        if graded_by_hand(question):
            by_hand.append(
                HandGradedQuestion(
                    question=question,
                    total=counts["n_total"],
                    graded=counts["n_graded"],
                    held=held.get(question.pk, 0),
                    graders=tuple(graders[question.pk]),
                    rubric_items=items.get(question.pk, 0),
                )
            )
        else:
            automatic.append(
                AutoScoredQuestion(
                    question=question,
                    answers=counts["n_answers"],
                    blank=counts["n_blank"],
                    overridden=counts["n_overridden"],
                )
            )
    return GradingDashboard(exam=exam, scored=bool(by_question), by_hand=tuple(by_hand), automatic=tuple(automatic))


def ungraded_count(question_id: int) -> int:
    """Answers of the question still waiting for a grader."""
    return AnswerScore.objects.filter(question_id=question_id, needs_manual=True).count()


# --- a question's answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    number: int
    score_id: int
    evaluation_id: int | None
    summary: str
    points: str
    source: str
    source_label: str
    blank: bool
    waiting: bool


def scores_in_order(question_id: int) -> list[tuple[int, int]]:
    """(score id, sitting id) of every scored answer to the question, in queue order."""
    rows = AnswerScore.objects.filter(question_id=question_id).values_list("pk", "sitting_id")
    return sorted(rows, key=lambda row: (queue_position(question_id, row[1]), row[1]))


def question_answers(question: Question) -> list[AnswerRow]:
    """Every scored answer to the question, anonymous, numbered as on its per-answer page."""
    scores = {score.pk: score for score in AnswerScore.objects.filter(question=question)}
    values = dict(Answer.objects.filter(question=question).values_list("sitting_id", "value"))
    evaluations = dict(Evaluation.objects.filter(question=question).values_list("score_id", "pk"))
    choices = list(question.choices.all()) if get_kind(question.kind).uses_choices else []
    ordered = scores_in_order(question.pk)
    if graded_by_hand(question):
        # In the queue's numbering; answers outside it (blank ones) come after, unnumbered.
        queued = [score_id for score_id, _ in ordered if score_id in evaluations]
        numbers = {score_id: number for number, score_id in enumerate(queued, start=1)}
    else:
        numbers = {score_id: number for number, (score_id, _) in enumerate(ordered, start=1)}
    labels = dict(ScoreSource.choices)
    rows = []
    for score_id, sitting_id in ordered:
        score = scores[score_id]
        rows.append(
            AnswerRow(
                number=numbers.get(score_id, 0),
                score_id=score_id,
                evaluation_id=evaluations.get(score_id),
                summary=answer_summary(question, values.get(sitting_id), choices=choices),
                points=format_points(score.points),
                source=score.source,
                source_label=labels.get(score.source, score.source),
                blank=score.blank,
                waiting=score.needs_manual,
            )
        )
    rows.sort(key=lambda row: (row.number == 0, row.number))
    return rows


# --- one answer's page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where an answer stands among its question's: its submission number, of how many, and its
    neighbours in queue order (evaluation ids for a question graded by hand, score ids otherwise)."""

    number: int
    of: int
    previous: int | None
    next: int | None


def submission_numbers(question_id: int) -> dict[int, int]:
    """Sitting id → its submission number on the question: the answer's rank, from 1, among all the
    question's scored answers in the queue's order. Stable: it depends on no grader's action."""
    sitting_ids = AnswerScore.objects.filter(question_id=question_id).values_list("sitting_id", flat=True)
    ordered = sorted(sitting_ids, key=lambda sitting_id: (queue_position(question_id, sitting_id), sitting_id))
    return {sitting_id: number for number, sitting_id in enumerate(ordered, start=1)}


def evaluation_place(evaluation: Evaluation) -> Place:
    """The evaluation's place in its question's queue (see the module's note on numbers)."""
    if graded_by_hand(evaluation.question):
        queue = Evaluation.objects.filter(question_id=evaluation.question_id)
        order, pk = evaluation.queue_order, evaluation.pk
        before = Q(queue_order__lt=order) | Q(queue_order=order, pk__lt=pk)
        after = Q(queue_order__gt=order) | Q(queue_order=order, pk__gt=pk)
        numbers = submission_numbers(evaluation.question_id)
        return Place(
            number=numbers[evaluation.sitting_id],
            of=len(numbers),
            previous=queue.filter(before).order_by("-queue_order", "-pk").values_list("pk", flat=True).first(),
            next=queue.filter(after).order_by("queue_order", "pk").values_list("pk", flat=True).first(),
        )
    ordered = [score_id for score_id, _ in scores_in_order(evaluation.question_id)]
    at = ordered.index(evaluation.score_id)
    return Place(
        number=at + 1,
        of=len(ordered),
        previous=ordered[at - 1] if at > 0 else None,
        next=ordered[at + 1] if at + 1 < len(ordered) else None,
    )


@dataclass(frozen=True)
class ItemShown:
    """A rubric item as the grader toggles it: ``keys`` are the keys that toggle it (its own
    shortcut, and the digit of its place unless another item's shortcut holds that digit)."""

    id: int
    points: Decimal
    points_text: str
    description: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class RubricShown:
    items: tuple[ItemShown, ...]
    rules: RubricRules
    max_points: Decimal
    base: Decimal  # where the points start: the maximum (deduct), 0 (add), or the policy's points
    override: bool

    def data(self) -> dict[str, Any]:
        """What static/grading/review.js needs to show the points live (json_script)."""
        return {
            "base": str(self.base),
            "max": str(self.max_points),
            "floor": self.rules.floor_at_zero,
            "cap": self.rules.cap_at_max,
            "items": [{"id": item.id, "points": str(item.points), "keys": list(item.keys)} for item in self.items],
        }


def item_keys(items: Sequence[RubricItem]) -> list[tuple[str, ...]]:
    """The keys of each item, in order (see ItemShown). A shortcut held twice counts for the first."""
    explicit = [item.shortcut.strip().casefold() for item in items]
    held = {key for key in explicit if key}
    seen: set[str] = set()
    keys = []
    for place, (item, own) in enumerate(zip(items, explicit, strict=True)):
        mine = []
        if own and own not in seen:
            mine.append(own)
            seen.add(own)
        digit = ITEM_DIGITS[place] if place < len(ITEM_DIGITS) else ""
        if digit and digit not in held and digit not in mine:
            mine.append(digit)
        keys.append(tuple(mine))
        del item
    return keys


def rubric_shown(question: Question, *, auto_points: Decimal) -> RubricShown:
    """The question's active rubric items and rules (the model's defaults while it has no rubric)."""
    rubric = Rubric.objects.filter(question=question).first() or Rubric(question=question)
    items = list(RubricItem.objects.filter(rubric=rubric, active=True).order_by("position", "pk")) if rubric.pk else []
    context = GradingContext.of(question, rubric)
    start = question.points if rubric.mode == Rubric.Mode.DEDUCT else Decimal(0)
    base = auto_points if context.override else start
    return RubricShown(
        items=tuple(
            ItemShown(item.pk, item.points, format_points(item.points, signed=True), item.description, keys)
            for item, keys in zip(items, item_keys(items), strict=True)
        ),
        rules=context.rules,
        max_points=question.points,
        base=base,
        override=context.override,
    )


def policy_explanation(question: Question, value: Any) -> str:
    """What the question's policy says of the answer now (for an override: the automatic score)."""
    try:
        return score_answer(question_spec(question), value).explanation
    except ValueError as error:  # a key the kinds would refuse: the author's to fix
        return f"The policy cannot score this answer: {error}"


def prompts_html(question: Question) -> list[tuple[str, Any]]:
    """(number, prompt HTML) of the question and the groups above it that carry its context, outermost first."""
    chain: list[Question] = []
    node: Question | None = question
    while node is not None and len(chain) < 10:
        chain.append(node)
        node = Question.objects.filter(pk=node.parent_id).first() if node.parent_id else None
    return [(q.number, render_markdown(q.prompt)) for q in reversed(chain) if q.prompt.strip()]


def answer_value(evaluation: Evaluation) -> Any:
    return (
        Answer.objects.filter(sitting_id=evaluation.sitting_id, question_id=evaluation.question_id)
        .values_list("value", flat=True)
        .first()
    )


@dataclass(frozen=True)
class EventShown:
    at: datetime
    actor: str
    source: str
    old: str
    new: str
    reason: str


def grade_history(score_id: int) -> list[EventShown]:
    """Every change of the answer's points, oldest first."""
    labels = dict(GradeEvent.Source.choices)
    return [
        EventShown(
            at=event.at,
            actor=event.actor.full_name or event.actor.net_id,
            source=labels.get(event.source, event.source),
            old="—" if event.old_points is None else format_points(event.old_points),
            new=format_points(event.new_points),
            reason=event.reason,
        )
        for event in GradeEvent.objects.filter(score_id=score_id).select_related("actor").order_by("at", "pk")
    ]
