"""The sitting side: starting, saving, submitting and closing a student's attempt.

Every state change of a sitting is one function here, transactional, with ``now`` passed
in (the clock is read once by the caller). Views, the autosave API, the beat task and the
admin call these; none of them changes a sitting on its own.

Rules that hold everywhere:
- one sitting per student per exam (a database constraint; concurrent starts converge);
- the deadline is fixed by the server at start (``deadline_compute``), and only grows;
- a save is accepted only from the device that holds the sitting, before deadline + grace,
  and only when its sequence number is newer than the stored answer's: a replayed or
  out-of-order save never overwrites a newer answer;
- a submitted or expired sitting is never reopened except by ``sitting_reopen`` (audited).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Sum, Value
from django.db.models.functions import Greatest

from accounts.models import Membership, Role, User
from exams.kinds import KIND_GROUP, ChoiceData, get_kind
from exams.models import (
    Accommodation,
    Answer,
    AnswerRevision,
    Exam,
    Extension,
    HonorCodeSignature,
    ProctorEvent,
    ProctorEventKind,
    Question,
    Sitting,
    SittingStatus,
)

CLOSED = (SittingStatus.SUBMITTED, SittingStatus.EXPIRED, SittingStatus.VOIDED)


class SittingRefused(PermissionDenied):
    """A start, save or submit that the rules refuse; ``code`` names the rule for the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- the deadline rule ------------------------------------------------------------------


def deadline_compute(
    *,
    started_at: datetime,
    duration_minutes: int,
    multiplier: Decimal = Decimal(1),
    extension_minutes: int = 0,
    closes_at: datetime | None = None,
    may_exceed_window: bool = False,
) -> datetime:
    """start + duration × accommodation multiplier + extensions, capped by the window's close
    unless the accommodation allows running past it. Whole seconds, rounded down."""
    seconds = int(Decimal(duration_minutes * 60) * multiplier) + extension_minutes * 60
    deadline = started_at + timedelta(seconds=seconds)
    if closes_at is not None and not may_exceed_window:
        deadline = min(deadline, closes_at)
    return deadline


def _deadline_for(exam: Exam, student_id: int, started_at: datetime) -> datetime:
    accommodation = Accommodation.objects.filter(course_id=exam.course_id, student_id=student_id).first()
    extension = Extension.objects.filter(exam=exam, student_id=student_id).aggregate(total=Sum("minutes"))["total"]
    return deadline_compute(
        started_at=started_at,
        duration_minutes=exam.duration_minutes,
        multiplier=accommodation.time_multiplier if accommodation else Decimal(1),
        extension_minutes=extension or 0,
        closes_at=exam.closes_at,
        may_exceed_window=bool(accommodation and accommodation.may_exceed_window),
    )


def grace() -> timedelta:
    return timedelta(seconds=settings.EXAMHALL_SAVE_GRACE_SECONDS)


# --- starting -------------------------------------------------------------------------------


def name_matches(typed: str, full_name: str) -> bool:
    """The honor-code signature matches the roster name, ignoring case and spacing."""

    def squash(text: str) -> str:
        return "".join(text.split()).casefold()

    return bool(squash(typed)) and squash(typed) == squash(full_name)


def window_status(exam: Exam, now: datetime) -> str:
    """upcoming, open or closed, for an exam's window at ``now``."""
    if exam.opens_at and now < exam.opens_at:
        return "upcoming"
    if exam.closes_at and now >= exam.closes_at:
        return "closed"
    return "open"


def _access_code_attempts_key(exam: Exam, student: User) -> str:
    return f"access-code-attempts:{exam.pk}:{student.pk}"


def _check_access_code(exam: Exam, student: User, code: str) -> None:
    if not exam.access_code:
        return
    key = _access_code_attempts_key(exam, student)
    attempts = cache.get(key, 0)
    if attempts >= settings.EXAMHALL_ACCESS_CODE_ATTEMPTS:
        minutes = max(1, settings.EXAMHALL_ACCESS_CODE_WINDOW // 60)
        raise SittingRefused(
            "access_code_locked",
            f"Too many wrong access codes. Wait {minutes} minute{'s' if minutes != 1 else ''} or ask a proctor.",
        )
    if not hmac.compare_digest(code.strip().encode(), exam.access_code.strip().encode()):
        cache.set(key, attempts + 1, timeout=settings.EXAMHALL_ACCESS_CODE_WINDOW)
        raise SittingRefused("access_code_wrong", "That access code is not right. Ask your proctor for it.")
    cache.delete(key)


def _check_network(exam: Exam, ip: str | None) -> None:
    networks = exam.networks()
    if not networks:
        return
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        address = None
    if address is None or not any(address in network for network in networks):
        raise SittingRefused(
            "network",
            f"This exam can only be started from the exam room's network; your address is {ip or 'unknown'}.",
        )


def sitting_for(exam: Exam, student: User) -> Sitting | None:
    return Sitting.objects.filter(exam=exam, student=student).first()


def sitting_start(
    *,
    exam: Exam,
    student: User,
    typed_name: str,
    access_code: str = "",
    ip: str | None,
    user_agent: str,
    now: datetime,
) -> Sitting:
    """Start the student's sitting, or return the one they already have.

    Refusals (SittingRefused) name their rule: not_published, not_enrolled, window, signature,
    access_code_wrong, access_code_locked, network. Concurrent starts create one sitting.
    """
    existing = sitting_for(exam, student)
    if existing is not None:
        return sitting_refresh(sitting=existing, now=now)
    if not exam.published or exam.archived:
        raise SittingRefused("not_published", "This exam is not open to students.")
    if not Membership.objects.filter(course_id=exam.course_id, user=student, role=Role.STUDENT, active=True).exists():
        raise SittingRefused("not_enrolled", "You are not on this course's roster.")
    status = window_status(exam, now)
    if status == "upcoming":
        raise SittingRefused("window", f"This exam opens at {exam.opens_at:%a %b %d, %H:%M}.")
    if status == "closed":
        raise SittingRefused("window", "This exam's window has closed.")
    if not name_matches(typed_name, student.full_name):
        raise SittingRefused(
            "signature", f"Sign the honor code by typing your full name as on the roster: {student.full_name}."
        )
    _check_network(exam, ip)
    _check_access_code(exam, student, access_code)
    try:
        with transaction.atomic():
            sitting = Sitting.objects.create(
                exam=exam,
                student=student,
                started_at=now,
                deadline=_deadline_for(exam, student.pk, now),
                start_ip=ip,
            )
            HonorCodeSignature.objects.create(
                sitting=sitting,
                typed_name=typed_name.strip(),
                statement=exam.honor_code,
                signed_at=now,
                ip=ip,
                user_agent=user_agent[:500],
            )
    except IntegrityError:
        # Another request started it first (a double click, a second tab): use that one.
        sitting = Sitting.objects.get(exam=exam, student=student)
    return sitting


# --- lazy closing, deadline changes ---------------------------------------------------------


def _answers_digest(sitting: Sitting) -> str:
    answers = {
        str(question_id): value
        for question_id, value in Answer.objects.filter(sitting=sitting).values_list("question_id", "value")
    }
    signed = HonorCodeSignature.objects.filter(sitting=sitting).values_list("signed_at", flat=True).first()
    payload = json.dumps(
        {"sitting": sitting.pk, "signed_at": signed.isoformat() if signed else "", "answers": answers},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _close(sitting: Sitting, *, status: str, at: datetime, closed_by: str) -> Sitting:
    """Close an in-progress sitting (the row is locked by the caller)."""
    sitting.status = status
    sitting.submitted_at = at
    sitting.closed_by = closed_by
    sitting.receipt_code = _answers_digest(sitting)
    sitting.save(update_fields=["status", "submitted_at", "closed_by", "receipt_code"])
    return sitting


def sitting_refresh(*, sitting: Sitting, now: datetime) -> Sitting:
    """Close the sitting if its time (with grace) ran out: the lazy close on any access."""
    if sitting.status != SittingStatus.IN_PROGRESS or now <= sitting.deadline + grace():
        return sitting
    with transaction.atomic():
        locked = Sitting.objects.select_for_update().get(pk=sitting.pk)
        if locked.status == SittingStatus.IN_PROGRESS and now > locked.deadline + grace():
            _close(locked, status=SittingStatus.EXPIRED, at=locked.deadline, closed_by="lazy")
    sitting.refresh_from_db()
    return sitting


def sittings_close_expired(*, now: datetime) -> int:
    """Close every in-progress sitting whose deadline + grace has passed; returns how many."""
    closed = 0
    due = Sitting.objects.filter(status=SittingStatus.IN_PROGRESS, deadline__lt=now - grace()).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        with transaction.atomic():
            sitting = Sitting.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if sitting and sitting.status == SittingStatus.IN_PROGRESS and now > sitting.deadline + grace():
                _close(sitting, status=SittingStatus.EXPIRED, at=sitting.deadline, closed_by="beat")
                closed += 1
    return closed


def sitting_recompute_deadline(*, sitting: Sitting, now: datetime) -> Sitting:
    """After an accommodation or extension changes: the deadline only ever grows."""
    with transaction.atomic():
        locked = Sitting.objects.select_for_update().get(pk=sitting.pk)
        if locked.status != SittingStatus.IN_PROGRESS:
            return locked
        deadline = _deadline_for(locked.exam, locked.student_id, locked.started_at)
        if deadline > locked.deadline:
            locked.deadline = deadline
            locked.save(update_fields=["deadline"])
    return locked


def sitting_reopen(*, sitting: Sitting, by: User, reason: str, minutes: int, now: datetime) -> Sitting:
    """Reopen a closed sitting for ``minutes`` more, by an instructor, with a reason (audited)."""
    from accounts.access import can_author_course

    if not can_author_course(by, sitting.exam.course_id):
        raise SittingRefused("forbidden", "Only the course's instructors may reopen a sitting.")
    if not reason.strip():
        raise ValidationError("Give a reason for reopening the sitting.")
    if minutes < 1:
        raise ValidationError("Reopen for at least one minute.")
    with transaction.atomic():
        locked = Sitting.objects.select_for_update().get(pk=sitting.pk)
        if locked.status == SittingStatus.IN_PROGRESS:
            # Reopening sets a new deadline; on an open sitting that could cut the student's time.
            raise SittingRefused("open", "This sitting is still open; give an extension instead.")
        before = {"status": locked.status, "deadline": locked.deadline.isoformat()}
        locked.status = SittingStatus.IN_PROGRESS
        locked.deadline = now + timedelta(minutes=minutes)
        locked.submitted_at = None
        locked.closed_by = ""
        locked.save(update_fields=["status", "deadline", "submitted_at", "closed_by"])
        ProctorEvent.objects.create(
            sitting=locked,
            kind=ProctorEventKind.REOPENED,
            at=now,
            actor=by,
            detail={"reason": reason.strip(), "minutes": minutes, "before": before},
        )
    return locked


# --- devices --------------------------------------------------------------------------------


def sitting_claim(*, sitting: Sitting, device: uuid.UUID, ip: str | None, now: datetime) -> Sitting:
    """The page on ``device`` takes the sitting; an older page on another device turns read-only."""
    with transaction.atomic():
        locked = Sitting.objects.select_for_update().get(pk=sitting.pk)
        if locked.device != device:
            if locked.device is not None:
                ProctorEvent.objects.create(
                    sitting=locked,
                    kind=ProctorEventKind.TAKEOVER,
                    at=now,
                    ip=ip,
                    detail={"from": str(locked.device), "to": str(device)},
                )
            locked.device = device
            locked.save(update_fields=["device"])
    return locked


# --- saving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionRules:
    kind: str
    config: dict[str, Any]
    choices: list[ChoiceData]


RULES_TTL_SECONDS = 60
# Per process: every save needs the rules, and a lookup in this dict costs far less than a
# round trip to a shared cache and unpickling them. Each process rebuilds them (two queries)
# at most once a minute per exam.
_rules_memo: dict[int, tuple[float, dict[int, QuestionRules]]] = {}


def exam_answer_rules(exam_id: int) -> dict[int, QuestionRules]:
    """What each answerable question accepts (no keys). Every save needs it, so it is kept
    for a minute: an edit to the exam during a sitting reaches validation within that time."""
    memo = _rules_memo.get(exam_id)
    if memo is not None and memo[0] > time.monotonic():
        return memo[1]
    choices: dict[int, list[ChoiceData]] = {}
    for question_id, label, text in (
        Question.objects.filter(exam_id=exam_id)
        .exclude(kind=KIND_GROUP)
        .order_by("pk", "choices__position", "choices__label")
        .values_list("choices__question_id", "choices__label", "choices__text")
    ):
        if question_id is not None:
            choices.setdefault(question_id, []).append(ChoiceData(label, text, False))
    rules = {
        pk: QuestionRules(kind, config, choices.get(pk, []))
        for pk, kind, config in Question.objects.filter(exam_id=exam_id)
        .exclude(kind=KIND_GROUP)
        .values_list("pk", "kind", "config")
    }
    _rules_memo[exam_id] = (time.monotonic() + RULES_TTL_SECONDS, rules)
    return rules


def exam_answer_rules_forget() -> None:
    """Drop the per-process rules (tests, and anything that must see an edit at once)."""
    _rules_memo.clear()


@dataclass
class SaveItem:
    question_id: int
    value: Any
    flagged: bool
    seq: int


@dataclass
class SaveOutcome:
    question_id: int
    seq: int
    status: str  # "saved", "stale" (a newer answer is stored) or "invalid"
    error: str = ""


@dataclass
class SaveResult:
    deadline: datetime  # the sitting's deadline as this save saw it; the page's countdown follows it
    outcomes: list[SaveOutcome] = field(default_factory=list)
    last_seq: int = 0


def answers_save(
    *,
    sitting_id: int,
    student: User,
    device: uuid.UUID,
    items: list[SaveItem],
    ip: str | None,
    now: datetime,
) -> SaveResult:
    """Store a batch of autosaved answers. Refusals raise SittingRefused:
    ``closed`` (submitted, expired or voided), ``time_up`` (after deadline + grace; logged as a
    ProctorEvent) and ``taken_over`` (another device holds the sitting)."""
    sitting = Sitting.objects.filter(pk=sitting_id, student=student).first()
    if sitting is None:
        raise Sitting.DoesNotExist
    if sitting.status == SittingStatus.IN_PROGRESS and now > sitting.deadline + grace():
        sitting = sitting_refresh(sitting=sitting, now=now)
        ProctorEvent.objects.create(
            sitting=sitting,
            kind=ProctorEventKind.LATE_SAVE,
            at=now,
            ip=ip,
            detail={"questions": [item.question_id for item in items][:50], "deadline": sitting.deadline.isoformat()},
        )
        raise SittingRefused("time_up", "Time is up: this answer arrived after the deadline and was not saved.")
    if sitting.status != SittingStatus.IN_PROGRESS:
        raise SittingRefused("closed", f"This sitting is {sitting.get_status_display().lower()}; answers are final.")
    if sitting.device != device:
        raise SittingRefused("taken_over", "This exam was opened in another tab or device; continue there.")
    rules = exam_answer_rules(sitting.exam_id)
    result = SaveResult(deadline=sitting.deadline)
    revisions: list[AnswerRevision] = []
    with transaction.atomic():
        for item in items:
            rule = rules.get(item.question_id)
            if rule is None:
                result.outcomes.append(SaveOutcome(item.question_id, item.seq, "invalid", "No such question here."))
                continue
            try:
                value = get_kind(rule.kind).clean_answer(rule.config, item.value, rule.choices)
            except ValidationError as error:
                result.outcomes.append(SaveOutcome(item.question_id, item.seq, "invalid", " ".join(error.messages)))
                continue
            fields = {"value": value, "flagged": item.flagged, "seq": item.seq, "saved_at": now}
            updated = Answer.objects.filter(sitting=sitting, question_id=item.question_id, seq__lt=item.seq).update(
                **fields
            )
            if not updated:
                try:
                    with transaction.atomic():
                        Answer.objects.create(sitting=sitting, question_id=item.question_id, **fields)
                except IntegrityError:
                    # It exists: either a concurrent first save created it (ours may still be
                    # newer) or it holds this sequence number or a newer one (keep it).
                    updated = Answer.objects.filter(
                        sitting=sitting, question_id=item.question_id, seq__lt=item.seq
                    ).update(**fields)
                    if not updated:
                        result.outcomes.append(SaveOutcome(item.question_id, item.seq, "stale"))
                        continue
            revisions.append(
                AnswerRevision(
                    sitting=sitting,
                    question_id=item.question_id,
                    value=value,
                    flagged=item.flagged,
                    seq=item.seq,
                    saved_at=now,
                    device=device,
                )
            )
            result.outcomes.append(SaveOutcome(item.question_id, item.seq, "saved"))
        if revisions:
            AnswerRevision.objects.bulk_create(revisions)
            top = max(r.seq for r in revisions)
            # One UPDATE for both (a save is ~10 round trips; each one counts): last_seq only grows.
            Sitting.objects.filter(pk=sitting.pk).update(
                last_saved_at=now, last_seq=Greatest("last_seq", Value(top), output_field=BigIntegerField())
            )
    result.last_seq = max([sitting.last_seq, *(o.seq for o in result.outcomes if o.status == "saved")])
    return result


# --- submitting ------------------------------------------------------------------------------


def sitting_submit(*, sitting: Sitting, student: User, now: datetime, closed_by: str = "student") -> Sitting:
    """Submit the sitting. After deadline + grace it is closed as expired instead (same answers)."""
    if sitting.student_id != student.pk:
        raise Sitting.DoesNotExist
    with transaction.atomic():
        locked = Sitting.objects.select_for_update().get(pk=sitting.pk)
        if locked.status != SittingStatus.IN_PROGRESS:
            return locked
        if now > locked.deadline + grace():
            return _close(locked, status=SittingStatus.EXPIRED, at=locked.deadline, closed_by="lazy")
        return _close(
            locked, status=SittingStatus.SUBMITTED, at=min(now, locked.deadline + grace()), closed_by=closed_by
        )


def receipt_display(code: str) -> str:
    """The receipt code as a student copies it: 16 hex digits in groups of four."""
    short = code[:16].upper()
    return "-".join(short[i : i + 4] for i in range(0, len(short), 4))


# --- proctor events from the page -------------------------------------------------------------

PAGE_EVENT_KINDS = {ProctorEventKind.FOCUS_LOSS, ProctorEventKind.VISIBILITY, ProctorEventKind.PASTE}


def proctor_event_record(*, sitting: Sitting, kind: str, detail: dict[str, Any], ip: str | None, now: datetime) -> bool:
    """Record a page-reported event (focus loss, hidden page, paste), rate-limited per sitting.

    Returns False when the limit dropped it. Only in-progress sittings record events."""
    if kind not in PAGE_EVENT_KINDS:
        raise ValidationError(f"Unknown event kind {kind!r}.")
    if sitting.status != SittingStatus.IN_PROGRESS:
        return False
    key = f"proctor-events:{sitting.pk}:{now:%Y%m%d%H%M}"
    cache.add(key, 0, timeout=120)
    if cache.incr(key) > settings.EXAMHALL_PROCTOR_EVENTS_PER_MINUTE:
        return False
    compact = {k: v for k, v in detail.items() if isinstance(v, str | int | float | bool)}
    ProctorEvent.objects.create(sitting=sitting, kind=kind, at=now, ip=ip, detail=dict(list(compact.items())[:10]))
    return True
