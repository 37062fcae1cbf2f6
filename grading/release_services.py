"""The release page's and the regrade queue's writes, around ``grading.release``.

``release_publish`` adds the release page's rules to ``grades_release``: an exam that was
never scored has no results to publish, and answers that still wait for a grader are
published only when the instructor confirms it. ``regrade_answer`` is a grader's reply to a
regrade request, with an optional grade change made through ``grading.review`` (audited with
the REGRADE source) in the same transaction, so a refused reply changes no grade.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from exams.models import Exam
from grading.models import Evaluation, GradeEvent, GradeRelease, RegradeRequest
from grading.release import grades_release, regrade_reply
from grading.release_selectors import exam_pending_manual, exam_scored_job
from grading.review import evaluation_for, evaluation_save


def release_publish(
    *, exam: Exam, by: User, now: datetime, regrade_deadline: datetime | None, confirm_pending: bool
) -> GradeRelease:
    """Release the exam's grades, or move the regrade deadline of an earlier release.

    A first release is refused (ValidationError) before a successful scoring job, and while
    answers wait for a grader unless ``confirm_pending``.
    """
    if not GradeRelease.objects.filter(exam=exam).exists():
        if exam_scored_job(exam.pk) is None:
            raise ValidationError("This exam has not been scored yet: score it first, so there are results to release.")
        pending, sittings = exam_pending_manual(exam.pk)
        if pending and not confirm_pending:
            raise ValidationError(
                {
                    "confirm_pending": (
                        f"{pending} answer{'s' if pending != 1 else ''} in {sittings} "
                        f"sitting{'s' if sittings != 1 else ''} still wait for a grader. Confirm to release anyway."
                    )
                }
            )
    return grades_release(exam=exam, by=by, now=now, regrade_deadline=regrade_deadline)


@dataclass(frozen=True)
class GradeChange:
    """What a grader sets on the answer while answering a regrade request."""

    item_ids: Sequence[int]
    adjustment: Decimal
    comment: str
    version: int  # the evaluation's version the grader saw (0 when it had none)

    def changes(self, evaluation: Evaluation) -> bool:
        current = set(evaluation.items.values_list("pk", flat=True))
        return (
            set(self.item_ids) != current
            or self.adjustment != evaluation.adjustment
            or self.comment.strip() != evaluation.comment.strip()
        )


def regrade_answer(
    *, request: RegradeRequest, by: User, reply: str, now: datetime, grade: GradeChange | None
) -> RegradeRequest:
    """Reply to a regrade request, first changing the answer's grade when ``grade`` differs
    from its evaluation. Raises ValidationError (empty reply, answered already, an item of
    another rubric) or ``grading.review.StaleEvaluation``; either way nothing is saved."""
    if not reply.strip():
        raise ValidationError({"reply": "Write a reply the student can read."})
    with transaction.atomic():
        locked = RegradeRequest.objects.select_for_update().select_related("score").get(pk=request.pk)
        if locked.status != RegradeRequest.Status.OPEN:
            raise ValidationError("This request was answered already.")
        if grade is not None:
            evaluation = evaluation_for(locked.score)
            if grade.changes(evaluation):
                evaluation_save(
                    evaluation_id=evaluation.pk,
                    grader=by,
                    item_ids=list(grade.item_ids),
                    adjustment=grade.adjustment,
                    comment=grade.comment.strip(),
                    version=grade.version,
                    now=now,
                    reason=f"Regrade request {locked.pk}: {reply.strip()}",
                    event_source=GradeEvent.Source.REGRADE,
                )
        return regrade_reply(request=locked, by=by, reply=reply, now=now)
