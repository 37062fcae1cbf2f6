"""Changing an answer key (or a scoring policy) after students sat the exam.

The instructor proposes a change; ``key_change_preview`` scores every closed sitting's
answer to that question under the proposal, without writing anything, and lists each
student's old → new points (the dry run). ``key_change_apply`` then saves the key, records a
``KeyChange`` (who, when, why, the old and the new key) and queues a rescore of that
question only. Points a grader set by hand are kept: the dry run says so row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from exams.kinds import KIND_GROUP, ChoiceData
from exams.models import Question, Sitting
from exams.services import question_validate
from grading.bulk import AnswerScorer, answers_read
from grading.jobs import SCORED_STATUSES, job_request
from grading.models import AnswerScore, GradingJob, KeyChange, ScoreSource
from grading.scoring import QuestionSpec
from grading.scoring.specs import exam_specs


@dataclass(frozen=True)
class KeyProposal:
    """A question's scoring rules: its policy and parameters, its key, and (for the choice
    kinds) the labels of the correct choices."""

    policy: str
    policy_params: dict[str, Any]
    key: dict[str, Any]
    correct_choices: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "policy_params": self.policy_params,
            "key": self.key,
            "correct_choices": list(self.correct_choices),
        }


@dataclass(frozen=True)
class DryRunRow:
    sitting_id: int
    student_name: str
    net_id: str
    old_points: Decimal | None  # None: never scored yet
    new_points: Decimal
    explanation: str
    kept_by_grader: bool  # a grader's points stay; the policy's new figure is shown for reference

    @property
    def changed(self) -> bool:
        return not self.kept_by_grader and self.old_points != self.new_points


@dataclass(frozen=True)
class DryRun:
    question: Question
    proposal: KeyProposal
    rows: list[DryRunRow]

    @property
    def changed(self) -> list[DryRunRow]:
        return [row for row in self.rows if row.changed]

    @property
    def mean_change(self) -> Decimal:
        deltas = [row.new_points - (row.old_points or 0) for row in self.changed]
        return (sum(deltas, Decimal(0)) / len(self.rows)).quantize(Decimal("0.01")) if self.rows else Decimal(0)


def key_current(question: Question) -> KeyProposal:
    return KeyProposal(
        policy=question.policy,
        policy_params=dict(question.policy_params),
        key=dict(question.key),
        correct_choices=tuple(c.label for c in question.choices.order_by("position", "label") if c.is_correct),
    )


def key_proposal_clean(question: Question, proposal: KeyProposal) -> KeyProposal:
    """The proposal validated as the kind validates any key (ValidationError by field)."""
    if question.kind == KIND_GROUP:
        raise ValidationError("A group has no answer key.")
    choices = _proposed_choices(question, proposal)
    unknown = set(proposal.correct_choices) - {c.label for c in choices}
    if unknown:
        raise ValidationError({"choices": f"There is no choice {', '.join(sorted(unknown))}."})
    clean = question_validate(
        kind=question.kind,
        points=question.points,
        policy=proposal.policy,
        policy_params=proposal.policy_params,
        config=question.config,
        key=proposal.key,
        choices=choices if choices else None,
    )
    return KeyProposal(clean.policy, clean.policy_params, clean.key, proposal.correct_choices)


def _proposed_choices(question: Question, proposal: KeyProposal) -> list[ChoiceData]:
    """The question's choices, in order, with the proposal's correct ones marked."""
    return [
        ChoiceData(label=c.label, text=c.text, is_correct=c.label in proposal.correct_choices)
        for c in question.choices.order_by("position", "label")
    ]


def _proposed_spec(question: Question, proposal: KeyProposal) -> QuestionSpec:
    current = next(
        spec
        for section in exam_specs(question.exam_id)
        for spec in section.questions
        if spec.question_id == question.pk
    )
    choices = _proposed_choices(question, proposal)
    return QuestionSpec.build(
        kind=question.kind,
        points=question.points,
        policy=proposal.policy,
        policy_params=proposal.policy_params,
        config=question.config,
        key=proposal.key,
        choices=choices,
        extra_credit=current.extra_credit,
        question_id=question.pk,
        number=question.number,
    )


def key_change_preview(question: Question, proposal: KeyProposal) -> DryRun:
    """Every closed sitting's old and new points on this question under the proposal. Writes nothing."""
    proposal = key_proposal_clean(question, proposal)
    spec = _proposed_spec(question, proposal)
    sittings = list(
        Sitting.objects.filter(exam_id=question.exam_id, status__in=SCORED_STATUSES)
        .select_related("student")
        .order_by("student__full_name", "student__net_id")
    )
    ids = [s.pk for s in sittings]
    answers = answers_read(ids, [question.pk])
    stored = {
        sitting_id: (points, source)
        for sitting_id, points, source in AnswerScore.objects.filter(question=question, sitting_id__in=ids).values_list(
            "sitting_id", "points", "source"
        )
    }
    scorer = AnswerScorer()
    rows = []
    for sitting in sittings:
        score = scorer(spec, answers.get((sitting.pk, question.pk))).score
        old = stored.get(sitting.pk)
        rows.append(
            DryRunRow(
                sitting_id=sitting.pk,
                student_name=sitting.student.full_name,
                net_id=sitting.student.net_id,
                old_points=old[0] if old else None,
                new_points=score.points,
                explanation=score.explanation,
                kept_by_grader=bool(old and old[1] != ScoreSource.AUTO),
            )
        )
    return DryRun(question, proposal, rows)


def key_change_apply(
    question: Question, proposal: KeyProposal, *, by: User, reason: str, now: datetime
) -> tuple[KeyChange, GradingJob]:
    """Save the new key, audit it, and queue the rescore of this question (launched on commit)."""
    from grading.tasks import job_launch

    if not reason.strip():
        raise ValidationError({"reason": "Say why the key changes; students may ask."})
    dry_run = key_change_preview(question, proposal)
    proposal = dry_run.proposal
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        old = key_current(question)
        question.policy = proposal.policy
        question.policy_params = proposal.policy_params
        question.key = proposal.key
        question.save(update_fields=["policy", "policy_params", "key"])
        for choice in question.choices.all():
            correct = choice.label in proposal.correct_choices
            if choice.is_correct != correct:
                choice.is_correct = correct
                choice.save(update_fields=["is_correct"])
        job, created = job_request(
            exam=question.exam, trigger=GradingJob.Trigger.KEY_CHANGE, requested_by=by, question=question
        )
        if not created:
            raise ValidationError(
                f"A rescore of {question.number} is still running (job {job.pk}); change the key when it ends."
            )
        change = KeyChange.objects.create(
            exam_id=question.exam_id,
            question=question,
            changed_by=by,
            changed_at=now,
            reason=reason.strip()[:300],
            old=old.as_json(),
            new=proposal.as_json(),
            affected=len(dry_run.changed),
            job=job,
        )
        job_launch(job)
    return change, job
