"""Grading by hand: the queue, claims, saving an evaluation, and re-applying a rubric.

Every change of the points that count goes through ``score_apply`` (one answer) or
``evaluations_reapply`` (many at once): the ``AnswerScore`` row takes the new points, a
``GradeEvent`` records who, when, old, new and why, and the sitting's total is recomputed.

The queue of a question holds an ``Evaluation`` per answer that needs a grader (made lazily,
in bulk, by ``queue_build``), in a stable pseudo-random order. ``evaluation_next`` claims the
first one nobody holds, with ``SELECT … FOR UPDATE SKIP LOCKED`` so that two graders asking at
the same moment never get the same answer. ``evaluation_save`` checks the evaluation's
``version``: a save from a page that went stale is refused, never applied over another's.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q

from accounts.models import User
from exams.kinds import get_kind
from exams.models import Question
from grading.bulk import results_recompute, rows_update
from grading.models import (
    AnswerScore,
    Evaluation,
    GradeEvent,
    Rubric,
    RubricItem,
    ScoreSource,
)
from grading.scoring import format_points
from grading.scoring.rubric import AppliedItem, RubricOutcome, RubricRules, rubric_points


class StaleEvaluation(Exception):
    """The evaluation changed since the grader loaded it; their save was not applied."""

    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__(
            f"Someone else changed this grade since you opened it (now {evaluation.points} points). "
            "Reload to see their change; yours was not saved."
        )
        self.evaluation = evaluation


class NeedsConfirmation(Exception):
    """Deleting a rubric item that evaluations use needs the grader's confirmation."""

    def __init__(self, used_by: int) -> None:
        super().__init__(f"{used_by} graded answers use this item; confirm to delete it and rescore them.")
        self.used_by = used_by


def claim_minutes() -> int:
    return int(getattr(settings, "EXAMHALL_CLAIM_MINUTES", 10))


def queue_position(question_id: int, sitting_id: int) -> int:
    """A stable pseudo-random place in the question's queue (the same on every request)."""
    digest = hashlib.blake2b(f"{question_id}:{sitting_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def rubric_for(question: Question) -> Rubric:
    rubric, _ = Rubric.objects.get_or_create(question=question)
    return rubric


def queue_build(question_id: int) -> int:
    """Make the evaluations of answers that wait for a grader and have none yet; the count made."""
    missing = list(
        AnswerScore.objects.filter(question_id=question_id, needs_manual=True, evaluation__isnull=True).values_list(
            "pk", "sitting_id"
        )
    )
    Evaluation.objects.bulk_create(
        [
            Evaluation(
                score_id=score_id,
                sitting_id=sitting_id,
                question_id=question_id,
                queue_order=queue_position(question_id, sitting_id),
            )
            for score_id, sitting_id in missing
        ],
        ignore_conflicts=True,
    )
    return len(missing)


def evaluation_for(score: AnswerScore) -> Evaluation:
    """The evaluation of any scored answer (an override of an automatic score makes one)."""
    evaluation, _ = Evaluation.objects.get_or_create(
        score=score,
        defaults={
            "sitting_id": score.sitting_id,
            "question_id": score.question_id,
            "queue_order": queue_position(score.question_id, score.sitting_id),
        },
    )
    return evaluation


def evaluation_next(*, question_id: int, grader: User, now: datetime, skip: Iterable[int] = ()) -> Evaluation | None:
    """Claim the next ungraded answer of the question for ``grader`` (their own claim first),
    or None when every answer is graded or held by someone else. ``skip``: evaluation ids
    the grader has passed over in this round."""
    queue_build(question_id)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=grader)
    with transaction.atomic():
        evaluation = (
            Evaluation.objects.select_for_update(skip_locked=True)
            .filter(free, question_id=question_id, graded_at__isnull=True)
            .exclude(pk__in=list(skip))
            .order_by("queue_order")
            .first()
        )
        if evaluation is None:
            return None
        evaluation.claimed_by = grader
        evaluation.claimed_until = now + timedelta(minutes=claim_minutes())
        evaluation.save(update_fields=["claimed_by", "claimed_until"])
    return evaluation


def evaluation_release(*, evaluation: Evaluation, grader: User) -> None:
    """Give a claimed answer back to the queue (the grader moved on without saving)."""
    Evaluation.objects.filter(pk=evaluation.pk, claimed_by=grader).update(claimed_by=None, claimed_until=None)


# --- computing and applying points --------------------------------------------------------------


@dataclass(frozen=True)
class GradingContext:
    """What the points of one question's evaluations depend on besides the evaluation itself."""

    rules: RubricRules
    max_points: Decimal
    override: bool  # an automatic kind: the grader adjusts the policy's points

    @classmethod
    def of(cls, question: Question, rubric: Rubric | None = None) -> GradingContext:
        rubric = rubric or rubric_for(question)
        return cls(
            rules=RubricRules(rubric.mode, rubric.floor_at_zero, rubric.cap_at_max),
            max_points=question.points,
            override=get_kind(question.kind).auto_scored,
        )

    def outcome(
        self, *, items: Sequence[AppliedItem], adjustment: Decimal, comment: str, auto_points: Decimal
    ) -> RubricOutcome:
        return rubric_points(
            rules=self.rules,
            max_points=self.max_points,
            items=items,
            adjustment=adjustment,
            comment=comment,
            base=auto_points if self.override else None,
        )

    @property
    def source(self) -> str:
        return ScoreSource.OVERRIDE if self.override else ScoreSource.MANUAL


def score_apply(
    *,
    score: AnswerScore,
    points: Decimal,
    explanation: str,
    source: str,
    actor: User,
    now: datetime,
    event_source: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> GradeEvent:
    """Make ``points`` count for the answer, audit the change, and recompute the sitting's total."""
    old = None if score.needs_manual else score.points
    AnswerScore.objects.filter(pk=score.pk).update(
        points=points, explanation=explanation, source=source, needs_manual=False
    )
    event = GradeEvent.objects.create(
        score=score,
        sitting_id=score.sitting_id,
        question_id=score.question_id,
        actor=actor,
        at=now,
        source=event_source,
        old_points=old,
        new_points=points,
        reason=reason[:300],
        detail=detail or {},
    )
    exam_id = Question.objects.filter(pk=score.question_id).values_list("exam_id", flat=True).get()
    results_recompute(exam_id, [score.sitting_id], now=now)
    return event


def evaluation_save(
    *,
    evaluation_id: int,
    grader: User,
    item_ids: Sequence[int],
    adjustment: Decimal,
    comment: str,
    version: int,
    now: datetime,
    reason: str = "",
    event_source: str = GradeEvent.Source.MANUAL,
) -> Evaluation:
    """Save a grader's decision. StaleEvaluation when ``version`` is not the stored one;
    ValidationError for an item that is not an active item of this question's rubric."""
    with transaction.atomic():
        evaluation = (
            Evaluation.objects.select_for_update(of=("self",)).select_related("score", "question").get(pk=evaluation_id)
        )
        if evaluation.version != version:
            raise StaleEvaluation(evaluation)
        rubric = rubric_for(evaluation.question)
        items = list(RubricItem.objects.filter(pk__in=set(item_ids), rubric=rubric, active=True))
        if len(items) != len(set(item_ids)):
            raise ValidationError({"items": "Choose items of this question's rubric."})
        items.sort(key=lambda item: (item.position, item.pk))
        context = GradingContext.of(evaluation.question, rubric)
        outcome = context.outcome(
            items=[AppliedItem(item.points, item.description) for item in items],
            adjustment=adjustment,
            comment=comment,
            auto_points=evaluation.score.auto_points,
        )
        evaluation.items.set(items)
        evaluation.adjustment = adjustment
        evaluation.comment = comment
        evaluation.points = outcome.points
        evaluation.graded_by = grader
        evaluation.graded_at = now
        evaluation.version += 1
        evaluation.claimed_by = None
        evaluation.claimed_until = None
        evaluation.save()
        score_apply(
            score=evaluation.score,
            points=outcome.points,
            explanation=outcome.explanation,
            source=context.source,
            actor=grader,
            now=now,
            event_source=GradeEvent.Source.OVERRIDE if context.override else event_source,
            reason=reason,
            detail={
                "items": [
                    {"id": item.pk, "points": str(item.points), "description": item.description} for item in items
                ],
                "adjustment": str(adjustment),
                "comment": comment,
            },
        )
    return evaluation


# --- rubric edits re-applied in bulk ----------------------------------------------------------------


def evaluations_reapply(
    evaluation_ids: Sequence[int], *, actor: User, now: datetime, reason: str, event_source: str
) -> int:
    """Recompute graded evaluations from their current items (after a rubric edit), in bulk:
    evaluations, scores and audit rows written by COPY, the sittings' totals recomputed.
    Returns how many answers' points changed."""
    evaluations = list(
        Evaluation.objects.filter(pk__in=list(evaluation_ids), graded_at__isnull=False).values_list(
            "pk", "score_id", "sitting_id", "question_id", "adjustment", "comment", "points", "score__auto_points"
        )
    )
    if not evaluations:
        return 0
    question_ids = {row[3] for row in evaluations}
    contexts = {
        question.pk: GradingContext.of(question, rubric)
        for question in Question.objects.filter(pk__in=question_ids)
        for rubric in [rubric_for(question)]
    }
    applied: dict[int, list[AppliedItem]] = defaultdict(list)
    through = Evaluation.items.through
    for evaluation_id, points, description in (
        through.objects.filter(evaluation_id__in=[row[0] for row in evaluations])
        .order_by("rubricitem__position", "rubricitem_id")
        .values_list("evaluation_id", "rubricitem__points", "rubricitem__description")
    ):
        applied[evaluation_id].append(AppliedItem(points, description))
    evaluation_rows, score_rows, events, sittings = [], [], [], defaultdict(set)
    for evaluation_id, score_id, sitting_id, question_id, adjustment, comment, old, auto_points in evaluations:
        context = contexts[question_id]
        outcome = context.outcome(
            items=applied[evaluation_id], adjustment=adjustment, comment=comment, auto_points=auto_points
        )
        if outcome.points == old:
            continue
        evaluation_rows.append((evaluation_id, outcome.points))
        score_rows.append((score_id, outcome.points, outcome.explanation))
        events.append(
            GradeEvent(
                score_id=score_id,
                sitting_id=sitting_id,
                question_id=question_id,
                actor=actor,
                at=now,
                source=event_source,
                old_points=old,
                new_points=outcome.points,
                reason=reason[:300],
            )
        )
        sittings[question_id].add(sitting_id)
    with transaction.atomic():
        rows_update(
            Evaluation._meta.db_table,
            key="id",
            columns=["points"],
            types=["bigint", "numeric"],
            rows=evaluation_rows,
        )
        Evaluation.objects.filter(pk__in=[row[0] for row in evaluation_rows]).update(version=F("version") + 1)
        rows_update(
            AnswerScore._meta.db_table,
            key="id",
            columns=["points", "explanation"],
            types=["bigint", "numeric", "text"],
            rows=score_rows,
        )
        GradeEvent.objects.bulk_create(events, batch_size=2000)
        exams = dict(Question.objects.filter(pk__in=list(sittings)).values_list("pk", "exam_id"))
        for question_id, sitting_ids in sittings.items():
            results_recompute(exams[question_id], sorted(sitting_ids), now=now)
    return len(events)


def rubric_item_update(
    *,
    item: RubricItem,
    actor: User,
    now: datetime,
    points: Decimal | None = None,
    description: str | None = None,
    explanation: str | None = None,
    shortcut: str | None = None,
) -> int:
    """Change an item; a change of its points is re-applied at once to every evaluation that
    uses it (audited). Returns how many answers' points changed."""
    old_points = item.points
    for field, value in (
        ("points", points),
        ("description", description),
        ("explanation", explanation),
        ("shortcut", shortcut),
    ):
        if value is not None:
            setattr(item, field, value)
    item.full_clean()
    with transaction.atomic():
        item.save()
        if item.points == old_points:
            return 0
        used_by = list(item.evaluations.values_list("pk", flat=True))
        return evaluations_reapply(
            used_by,
            actor=actor,
            now=now,
            reason=(
                f"Rubric item “{item.description}” changed from {format_points(old_points, signed=True)} "
                f"to {format_points(item.points, signed=True)}"
            ),
            event_source=GradeEvent.Source.RUBRIC_EDIT,
        )


def rubric_item_delete(*, item: RubricItem, actor: User, now: datetime, confirmed: bool) -> int:
    """Remove an item from the rubric. When graded answers use it, only with ``confirmed``:
    it is taken off them and they are rescored (audited). The item stays on record, inactive."""
    used_by = list(item.evaluations.values_list("pk", flat=True))
    if used_by and not confirmed:
        raise NeedsConfirmation(len(used_by))
    with transaction.atomic():
        item.active = False
        item.save(update_fields=["active"])
        item.evaluations.clear()
        return evaluations_reapply(
            used_by,
            actor=actor,
            now=now,
            reason=f"Rubric item “{item.description}” ({format_points(item.points, signed=True)}) deleted",
            event_source=GradeEvent.Source.RUBRIC_EDIT,
        )
