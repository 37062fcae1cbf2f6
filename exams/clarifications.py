"""Clarifications: messages from the course staff to everyone sitting an exam, optionally
about one question ("2.4: output = conv_2(x_1)").

- ``clarification_publish`` (a write): who may publish is ``accounts.access``'s rule
  (instructors and TAs of the course); each publication is also a ``ProctorAction``.
- ``clarifications_for`` (a read for every open exam page): the exam's clarifications,
  rendered, kept per process for ``MEMO_SECONDS`` because every open page asks for them every
  few seconds (the pulse, ``exams.sitting_api.pulse_view``).
- ``clarifications_seen`` (a write): the page showed them; idempotent, in bulk.
- ``clarifications_overview`` (a read for the staff page): how many sittings saw each.

Clarifications are never edited or deleted (students may have read them); a correction is
a new clarification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from time import monotonic
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.safestring import SafeString

from accounts.models import User
from exams.markdown import render_markdown
from exams.models import (
    Clarification,
    ClarificationSeen,
    Exam,
    ProctorAction,
    ProctorActionKind,
    Question,
    Sitting,
    SittingStatus,
)

MAX_MESSAGE_LENGTH = 5000
MAX_SEEN_IDS = 200  # in one report from a page


@dataclass(frozen=True)
class ClarificationItem:
    """A clarification as the exam page shows it (no author: students see "the staff")."""

    id: int
    question: int | None
    number: str  # the question's number, "" when about the whole exam
    html: SafeString  # render_markdown's
    published_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "number": self.number,
            "html": self.html,
            "published_at": self.published_at.isoformat(),
        }


# --- publishing ----------------------------------------------------------------------------------


def clarification_publish(
    *, exam: Exam, message: str, question: Question | None, by: User, now: datetime
) -> Clarification:
    """Publish a clarification to every sitting of the exam, and record it as a ProctorAction.

    PermissionDenied unless ``by`` may publish for the exam's course; ValidationError for an
    empty or too long message, or a question of another exam. Publications of one exam are
    serialised (the exam's row is locked), so their ids become visible in increasing order and
    a page that asks for the ones after the last it has never misses one.
    """
    from accounts.access import may_publish_clarification

    if not may_publish_clarification(by, exam.course_id):
        raise PermissionDenied("Only the course's instructors and TAs may publish clarifications.")
    text = message.strip()
    if not text:
        raise ValidationError({"message": "Write the clarification."})
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ValidationError({"message": f"Keep a clarification under {MAX_MESSAGE_LENGTH} characters."})
    if question is not None and question.exam_id != exam.pk:
        raise ValidationError({"question": "That question is not on this exam."})
    with transaction.atomic():
        # NO KEY: sittings and actions that reference the exam (FOR KEY SHARE) are not held up.
        Exam.objects.select_for_update(no_key=True).filter(pk=exam.pk).values_list("pk").get()
        clarification = Clarification.objects.create(
            exam=exam, question=question, message=text, published_by=by, published_at=now
        )
        ProctorAction.objects.create(
            course_id=exam.course_id,
            exam=exam,
            actor=by,
            at=now,
            kind=ProctorActionKind.CLARIFICATION,
            reason=text[:300],
            detail={
                "clarification": clarification.pk,
                "question": question.pk if question else None,
                "number": question.number if question else "",
                "message": text,
            },
        )
        # This process shows it at once (and again after the commit, in case a page reloaded
        # the memo in between); the other processes within MEMO_SECONDS.
        _memo.pop(exam.pk, None)
        transaction.on_commit(lambda: _memo.pop(exam.pk, None))
    return clarification


# --- what the open exam pages read ---------------------------------------------------------------

MEMO_SECONDS = 2.0
MEMO_SIZE = 1000  # exams; when full it starts over
# Per process, by exam: (valid until, the clarifications). A thousand open pages ask every ~7 s;
# this turns their questions into at most one query per exam and process every MEMO_SECONDS.
_memo: dict[int, tuple[float, tuple[ClarificationItem, ...]]] = {}


def _load(exam_id: int) -> tuple[ClarificationItem, ...]:
    rows = (
        Clarification.objects.filter(exam_id=exam_id)
        .order_by("pk")
        .values_list("pk", "question_id", "question__number", "message", "published_at")
    )
    return tuple(
        ClarificationItem(pk, question_id, number or "", render_markdown(message), published_at)
        for pk, question_id, number, message, published_at in rows
    )


def clarifications_for(exam_id: int, since_id: int = 0) -> list[ClarificationItem]:
    """The exam's clarifications with an id above ``since_id``, oldest first; at most
    MEMO_SECONDS old (a publication in this process is seen at once)."""
    found = _memo.get(exam_id)
    if found is None or found[0] <= monotonic():
        items = _load(exam_id)
        if len(_memo) >= MEMO_SIZE:
            _memo.clear()
        _memo[exam_id] = (monotonic() + MEMO_SECONDS, items)
    else:
        items = found[1]
    return [item for item in items if item.id > since_id]


def clarifications_forget() -> None:
    """Drop this process's memo (tests)."""
    _memo.clear()


def clarification_ids_seen(sitting: Sitting) -> set[int]:
    """The clarifications this sitting's pages have shown."""
    return set(ClarificationSeen.objects.filter(sitting=sitting).values_list("clarification_id", flat=True))


def clarifications_seen(*, sitting: Sitting, ids: list[int], now: datetime) -> int:
    """Record that the sitting's page showed these clarifications; ids of another exam's are
    ignored, and so is a repeat (the first time stays). Returns how many ids were the exam's."""
    wanted = {i for i in ids[:MAX_SEEN_IDS] if type(i) is int}
    if not wanted:
        return 0
    known = list(
        Clarification.objects.filter(exam_id=sitting.exam_id, pk__in=wanted).order_by().values_list("pk", flat=True)
    )
    ClarificationSeen.objects.bulk_create(
        [ClarificationSeen(clarification_id=pk, sitting_id=sitting.pk, seen_at=now) for pk in known],
        ignore_conflicts=True,
    )
    return len(known)


# --- the staff page ---------------------------------------------------------------------------------

OPEN_OR_SUBMITTED = (SittingStatus.IN_PROGRESS, SittingStatus.SUBMITTED)


@dataclass(frozen=True)
class ClarificationRow:
    clarification: Clarification
    html: SafeString
    seen: int  # by sittings in progress or submitted
    sittings: int  # in progress or submitted


def clarifications_overview(exam: Exam) -> list[ClarificationRow]:
    """The exam's clarifications, newest first, each with how many of the sittings in progress
    or submitted have shown it."""
    sittings = Sitting.objects.filter(exam=exam, status__in=OPEN_OR_SUBMITTED).count()
    clarifications = (
        Clarification.objects.filter(exam=exam)
        .select_related("question", "published_by")
        .annotate(seen_count=Count("seen", filter=Q(seen__sitting__status__in=OPEN_OR_SUBMITTED)))
        .order_by("-published_at", "-pk")
    )
    return [ClarificationRow(c, render_markdown(c.message), c.seen_count, sittings) for c in clarifications]
