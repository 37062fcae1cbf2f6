"""Publishing an exam's grades, and the regrade requests that follow.

Before ``grades_release`` a student sees no score, key or rubric anywhere
(``accounts.access.access_released_sitting_for_student`` is the gate). After it, and until
the regrade deadline the instructor sets, a student may ask for a regrade of one question
with a reason; graders answer it (``regrade_reply``), changing the grade through
``grading.review`` when they do, so the change is audited like any other.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from exams.models import Exam, Sitting
from grading.models import AnswerScore, GradeRelease, RegradeRequest


def grades_release(*, exam: Exam, by: User, now: datetime, regrade_deadline: datetime | None) -> GradeRelease:
    """Publish the exam's grades (or move the regrade deadline of a release made before)."""
    if regrade_deadline is not None and regrade_deadline <= now:
        raise ValidationError({"regrade_deadline": "The regrade deadline must be in the future."})
    release, created = GradeRelease.objects.get_or_create(
        exam=exam, defaults={"released_at": now, "released_by": by, "regrade_deadline": regrade_deadline}
    )
    if not created and release.regrade_deadline != regrade_deadline:
        release.regrade_deadline = regrade_deadline
        release.save(update_fields=["regrade_deadline"])
    return release


def regrades_open(exam_id: int, now: datetime) -> bool:
    release = GradeRelease.objects.filter(exam_id=exam_id).first()
    return bool(release and release.regrade_deadline and now < release.regrade_deadline)


def regrade_open(*, sitting: Sitting, score: AnswerScore, student: User, reason: str, now: datetime) -> RegradeRequest:
    """A student's request to regrade one question of their released sitting."""
    if sitting.student_id != student.pk or score.sitting_id != sitting.pk:
        raise PermissionDenied("Only your own answers.")
    if not regrades_open(sitting.exam_id, now):
        raise ValidationError("Regrade requests for this exam are closed.")
    if not reason.strip():
        raise ValidationError({"reason": "Say what should be looked at again, and why."})
    try:
        with transaction.atomic():
            return RegradeRequest.objects.create(
                score=score, student=student, reason=reason.strip(), created_at=now, old_points=score.points
            )
    except IntegrityError:
        raise ValidationError("You already have an open request on this question; wait for its reply.") from None


def regrade_reply(*, request: RegradeRequest, by: User, reply: str, now: datetime) -> RegradeRequest:
    """Answer a request. A grade change is made beforehand through the grading page
    (``evaluation_save`` with the REGRADE source); the request records the points it ends with."""
    if not reply.strip():
        raise ValidationError({"reply": "Write a reply the student can read."})
    with transaction.atomic():
        request = RegradeRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != RegradeRequest.Status.OPEN:
            raise ValidationError("This request was answered already.")
        request.reply = reply.strip()
        request.replied_by = by
        request.replied_at = now
        request.status = RegradeRequest.Status.ANSWERED
        request.new_points = AnswerScore.objects.values_list("points", flat=True).get(pk=request.score_id)
        request.save()
    return request
