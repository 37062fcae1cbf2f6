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
    return evaluations_create(question_id, needs_manual=True)


def evaluations_create(question_id: int, **scores: Any) -> int:
    """Make, in one statement, an evaluation for each of the question's scored answers that
    match ``scores`` (AnswerScore filters) and have none yet; the count made."""
    missing = list(
        AnswerScore.objects.filter(question_id=question_id, evaluation__isnull=True, **scores).values_list(
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
    """Claim the next ungraded answer of the question for ``grader`` in queue order,
    or None when every answer is graded or held by someone else. ``skip``: evaluation ids
    the grader has passed over in this round."""
    evaluation = _claim(question_id=question_id, grader=grader, now=now, skip=list(skip))
    if evaluation is None:
        # Nothing free: answers may have been scored since the queue was built, by us or by
        # a grader asking at the same moment, so build and look once more.
        queue_build(question_id)
        evaluation = _claim(question_id=question_id, grader=grader, now=now, skip=list(skip))
    return evaluation


def _claim(*, question_id: int, grader: User, now: datetime, skip: list[int]) -> Evaluation | None:
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claimed_by=grader)
    with transaction.atomic():
        evaluation = (
            Evaluation.objects.select_for_update(skip_locked=True, of=("self",))
            # An override opened on an automatic score is not in the queue until saved.
            .filter(free, question_id=question_id, graded_at__isnull=True, score__needs_manual=True)
            .exclude(pk__in=skip)
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
        override = get_kind(question.kind).auto_scored
        # An override starts from the policy's points, which negative marking may put below 0:
        # the floor would raise them without the grader asking, so it does not apply.
        floor = rubric.floor_at_zero and not override
        return cls(
            rules=RubricRules(rubric.mode, floor, rubric.cap_at_max),
            max_points=question.points,
            override=override,
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
            event_source=(
                GradeEvent.Source.OVERRIDE
                if context.override and event_source == GradeEvent.Source.MANUAL
                else event_source
            ),
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
        # The explanation names the items: rewrite it even when the points stay (a reworded item).
        score_rows.append((score_id, outcome.points, outcome.explanation))
        if outcome.points == old:
            continue
        evaluation_rows.append((evaluation_id, outcome.points))
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
    uses it (audited), and a change of its description rewrites their explanations (the points
    stay, so nothing to audit). Returns how many answers' points changed."""
    old_points = item.points
    for field, value in (
        ("points", points),
        ("description", description),
        ("explanation", explanation),
        ("shortcut", shortcut),
    ):
        if value is not None:
            setattr(item, field, value)
    old_description = RubricItem.objects.values_list("description", flat=True).get(pk=item.pk)
    item.full_clean()
    with transaction.atomic():
        item.save()
        if item.points == old_points and item.description == old_description:
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


# --- editing a rubric: adding, reordering, shortcuts, settings (the rubric page) ------------------

# A new item's shortcut, when none is given: the digit of its position (1…9, then 0 for the tenth),
# as on a keyboard's number row; if another item holds it, the first free digit; else none.
SHORTCUT_DIGITS = "1234567890"


def _rubric_locked(rubric: Rubric) -> Rubric:
    """The rubric's row, locked until the transaction ends: edits of one rubric happen one at a time,
    so two editors cannot give two items the same shortcut or the same position."""
    return Rubric.objects.select_for_update().get(pk=rubric.pk)


def rubric_shortcut_clean(*, rubric: Rubric, shortcut: str, position: int, item: RubricItem | None = None) -> str:
    """The shortcut an item of ``rubric`` at ``position`` gets: ``shortcut`` if it is one letter or
    digit not held (in either case) by another active item, else ValidationError; empty gives the
    default digit (see SHORTCUT_DIGITS), or none when all ten digits are taken."""
    taken = {
        key.casefold(): description
        for pk, key, description in rubric.items.filter(active=True)
        .exclude(shortcut="")
        .values_list("pk", "shortcut", "description")
        if item is None or pk != item.pk
    }
    shortcut = shortcut.strip()
    if not shortcut:
        preferred = SHORTCUT_DIGITS[position - 1] if 1 <= position <= len(SHORTCUT_DIGITS) else ""
        if preferred and preferred not in taken:
            return preferred
        return next((digit for digit in SHORTCUT_DIGITS if digit not in taken), "")
    if len(shortcut) != 1 or not shortcut.isalnum():
        raise ValidationError({"shortcut": "A shortcut is one key: a single letter or digit, such as 1 or m."})
    holder = taken.get(shortcut.casefold())
    if holder is not None:
        message = f"“{shortcut}” is already the shortcut of “{holder}”; choose another key or leave it empty."
        raise ValidationError({"shortcut": message})
    return shortcut


def rubric_item_add(
    *, rubric: Rubric, points: Decimal, description: str, explanation: str = "", shortcut: str = ""
) -> RubricItem:
    """Append an item to the rubric (after its last active item). Adding changes no grade: an
    item counts only once a grader applies it. ValidationError names the field at fault."""
    with transaction.atomic():
        rubric = _rubric_locked(rubric)
        last = rubric.items.filter(active=True).order_by("-position").values_list("position", flat=True).first()
        position = (last or 0) + 1
        item = RubricItem(
            rubric=rubric,
            position=position,
            points=points,
            description=description.strip(),
            explanation=explanation.strip(),
            shortcut=rubric_shortcut_clean(rubric=rubric, shortcut=shortcut, position=position),
        )
        item.full_clean()
        item.save()
    return item


def rubric_item_edit(
    *,
    item: RubricItem,
    actor: User,
    now: datetime,
    points: Decimal,
    description: str,
    explanation: str,
    shortcut: str,
) -> int:
    """The rubric page's edit of an item: ``rubric_item_update`` once the shortcut is checked
    against the rubric's other items (empty: the default digit). Returns how many answers' points
    changed (a change of points is re-applied at once, audited)."""
    with transaction.atomic():
        rubric = _rubric_locked(item.rubric)
        item = RubricItem.objects.select_for_update().get(pk=item.pk, rubric=rubric)
        if not item.active:
            raise ValidationError("This item was deleted; reload the rubric.")
        return rubric_item_update(
            item=item,
            actor=actor,
            now=now,
            points=points,
            description=description.strip(),
            explanation=explanation.strip(),
            shortcut=rubric_shortcut_clean(rubric=rubric, shortcut=shortcut, position=item.position, item=item),
        )


def rubric_items_reorder(*, rubric: Rubric, item_ids: Sequence[int]) -> list[RubricItem]:
    """Put the rubric's active items in this order (positions 1, 2, …). ``item_ids`` must name each
    active item exactly once. Shortcuts stay with their items: a grader's keys do not move under
    their fingers. No grade changes (explanations keep the order they were written in)."""
    with transaction.atomic():
        rubric = _rubric_locked(rubric)
        items = {item.pk: item for item in rubric.items.filter(active=True)}
        if len(item_ids) != len(set(item_ids)) or set(item_ids) != set(items):
            raise ValidationError(
                "The new order must list every item of the rubric exactly once; the rubric has changed "
                "since the page was loaded, so reload it and try again."
            )
        ordered = [items[pk] for pk in item_ids]
        for position, item in enumerate(ordered, start=1):
            item.position = position
        RubricItem.objects.bulk_update(ordered, ["position"])
    return ordered


def rubric_item_move(*, item: RubricItem, offset: int) -> list[RubricItem]:
    """Move an active item ``offset`` places (−1: up, +1: down), stopping at either end."""
    with transaction.atomic():
        rubric = _rubric_locked(item.rubric)
        order = list(rubric.items.filter(active=True).order_by("position", "pk").values_list("pk", flat=True))
        if item.pk not in order:
            raise ValidationError("This item was deleted; reload the rubric.")
        index = order.index(item.pk)
        target = max(0, min(len(order) - 1, index + offset))
        order.insert(target, order.pop(index))
        return rubric_items_reorder(rubric=rubric, item_ids=order)


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def rubric_settings_update(
    *, rubric: Rubric, mode: str, floor_at_zero: bool, cap_at_max: bool, actor: User, now: datetime
) -> int:
    """Change how the rubric counts (deductions from the maximum or additions from zero, the
    floor at 0, the cap at the maximum) and re-apply it at once to every graded answer of the
    question (audited, totals recomputed). Returns how many answers' points changed."""
    if mode not in Rubric.Mode.values:
        raise ValidationError({"mode": f"The mode is {' or '.join(Rubric.Mode.values)}, not {mode!r}."})
    with transaction.atomic():
        rubric = _rubric_locked(rubric)
        changes = [
            f"{what} {before} → {after}"
            for what, before, after in (
                ("mode", rubric.mode, mode),
                ("floor at 0", _on_off(rubric.floor_at_zero), _on_off(floor_at_zero)),
                ("cap at the maximum", _on_off(rubric.cap_at_max), _on_off(cap_at_max)),
            )
            if before != after
        ]
        if not changes:
            return 0
        rubric.mode, rubric.floor_at_zero, rubric.cap_at_max = mode, floor_at_zero, cap_at_max
        rubric.save(update_fields=["mode", "floor_at_zero", "cap_at_max", "updated_at"])
        graded = list(
            Evaluation.objects.filter(question_id=rubric.question_id, graded_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        return evaluations_reapply(
            graded,
            actor=actor,
            now=now,
            reason="Rubric settings changed: " + "; ".join(changes),
            event_source=GradeEvent.Source.RUBRIC_EDIT,
        )
