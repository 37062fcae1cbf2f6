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

import contextlib
import hashlib
import hmac
import ipaddress
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
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


def sitting_close(sitting: Sitting, *, status: str, at: datetime, closed_by: str) -> Sitting:
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
            sitting_close(locked, status=SittingStatus.EXPIRED, at=locked.deadline, closed_by="lazy")
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
                sitting_close(sitting, status=SittingStatus.EXPIRED, at=sitting.deadline, closed_by="beat")
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
    # The first claim (no device holds it yet: the common case, right after the start) is one
    # conditional UPDATE; if another claim got there first, the locked path below sees it.
    if sitting.device is None and Sitting.objects.filter(pk=sitting.pk, device__isnull=True).update(device=device):
        sitting.device = device
        return sitting
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
    """Drop the per-process rules (tests, and anything that must see an edit at once), and
    the exam of each sitting saved to."""
    _rules_memo.clear()
    _sitting_exams.clear()


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


# The exam of each sitting this process has saved to (by sitting and student). A sitting's exam
# and student never change, and every save needs the exam's rules before it writes: this spares
# the save a query. When full it starts over.
SITTING_EXAMS_SIZE = 20_000
_sitting_exams: dict[tuple[int, int], int] = {}


def _sitting_exam_id(sitting_id: int, student_id: int) -> int:
    """The exam of the student's own sitting; Sitting.DoesNotExist for anyone else's."""
    key = (sitting_id, student_id)
    exam_id = _sitting_exams.get(key)
    if exam_id is None:
        exam_id = Sitting.objects.filter(pk=sitting_id, student_id=student_id).values_list("exam_id", flat=True).first()
        if exam_id is None:
            raise Sitting.DoesNotExist
        if len(_sitting_exams) >= SITTING_EXAMS_SIZE:
            _sitting_exams.clear()
        _sitting_exams[key] = exam_id
    return exam_id


@dataclass(frozen=True)
class _SittingState:
    """The sitting as a save found it, before writing anything (its row locked meanwhile)."""

    status: str
    deadline: datetime
    device: uuid.UUID | None
    last_seq: int


def _refusal(state: _SittingState, device: uuid.UUID, now: datetime) -> str | None:
    """The rule that refuses a save into this sitting, or None: time_up, closed, taken_over.
    The PostgreSQL statement of ``_answers_write_postgresql`` writes under the same conditions."""
    if state.status == SittingStatus.IN_PROGRESS and now > state.deadline + grace():
        return "time_up"
    if state.status != SittingStatus.IN_PROGRESS:
        return "closed"
    if state.device != device:
        return "taken_over"
    return None


# (question, value already cleaned) of each valid item, in the batch's order.
_Valid = list[tuple[SaveItem, Any]]


def _answers_write_orm(
    *, sitting_id: int, student_id: int, exam_id: int, device: uuid.UUID, valid: _Valid, now: datetime
) -> tuple[_SittingState | None, list[tuple[int, int]]]:
    """Write the valid items unless the sitting refuses them; returns the sitting's state as
    found (None: not the student's) and the (question, seq) of every item written, in order.
    Any database; a few statements per item."""
    written: list[tuple[int, int]] = []
    with transaction.atomic():
        sitting = (
            Sitting.objects.select_for_update()
            .filter(pk=sitting_id, student_id=student_id, exam_id=exam_id)
            .only("status", "deadline", "device", "last_seq")
            .first()
        )
        if sitting is None:
            return None, written
        state = _SittingState(sitting.status, sitting.deadline, sitting.device, sitting.last_seq)
        if _refusal(state, device, now) is not None:
            return state, written
        revisions: list[AnswerRevision] = []
        for item, value in valid:
            fields = {"value": value, "flagged": item.flagged, "seq": item.seq, "saved_at": now}
            updated = Answer.objects.filter(
                sitting_id=sitting_id, question_id=item.question_id, seq__lt=item.seq
            ).update(**fields)
            if not updated:
                try:
                    with transaction.atomic():
                        Answer.objects.create(sitting_id=sitting_id, question_id=item.question_id, **fields)
                except IntegrityError:
                    # It exists: either a concurrent first save created it (ours may still be
                    # newer) or it holds this sequence number or a newer one (keep it).
                    updated = Answer.objects.filter(
                        sitting_id=sitting_id, question_id=item.question_id, seq__lt=item.seq
                    ).update(**fields)
                    if not updated:
                        continue
            revisions.append(
                AnswerRevision(
                    sitting_id=sitting_id,
                    question_id=item.question_id,
                    value=value,
                    flagged=item.flagged,
                    seq=item.seq,
                    saved_at=now,
                    device=device,
                )
            )
            written.append((item.question_id, item.seq))
        if revisions:
            AnswerRevision.objects.bulk_create(revisions)
            # last_seq only grows.
            Sitting.objects.filter(pk=sitting_id).update(
                last_saved_at=now,
                last_seq=Greatest("last_seq", Value(max(seq for _, seq in written)), output_field=BigIntegerField()),
            )
    return state, written


# One statement, in autocommit: lock the sitting's row and read its state; if it takes saves
# (the conditions of _refusal), upsert each answer unless the stored one has the same or a newer
# seq, append a revision for each answer written, and raise last_seq; return the state as found
# and the questions written. ON CONFLICT … WHERE decides "newer" on the row's latest committed
# version, so concurrent saves of one answer keep the newest; the row lock orders the save
# against a submit or a close, which lock the same row.
_SAVE_SQL = """
WITH sitting AS (
    SELECT id, status, deadline, device, last_seq
    FROM exams_sitting
    WHERE id = %(sitting)s AND student_id = %(student)s AND exam_id = %(exam)s
    FOR NO KEY UPDATE
), writable AS (
    SELECT id FROM sitting
    WHERE status = 'in_progress' AND deadline >= %(deadline_from)s AND device = %(device)s
), incoming AS (
    SELECT * FROM unnest(%(questions)s::bigint[], %(values)s::text[], %(flags)s::boolean[], %(seqs)s::bigint[])
        AS incoming (question_id, value, flagged, seq)
), written AS (
    INSERT INTO exams_answer AS answer (sitting_id, question_id, value, flagged, seq, saved_at)
    SELECT writable.id, incoming.question_id, incoming.value::jsonb, incoming.flagged, incoming.seq, %(now)s
    FROM writable CROSS JOIN incoming
    ON CONFLICT (sitting_id, question_id) DO UPDATE
        SET value = EXCLUDED.value, flagged = EXCLUDED.flagged, seq = EXCLUDED.seq, saved_at = EXCLUDED.saved_at
        WHERE answer.seq < EXCLUDED.seq
    RETURNING answer.question_id, answer.value, answer.flagged, answer.seq
), revisions AS (
    INSERT INTO exams_answerrevision (sitting_id, question_id, value, flagged, seq, saved_at, device)
    SELECT %(sitting)s, question_id, value, flagged, seq, %(now)s, %(device)s FROM written
), raised AS (
    UPDATE exams_sitting
    SET last_saved_at = %(now)s, last_seq = GREATEST(last_seq, (SELECT max(seq) FROM written))
    WHERE id = (SELECT id FROM writable) AND EXISTS (SELECT FROM written)
)
SELECT status, deadline, device, last_seq, ARRAY(SELECT question_id FROM written) FROM sitting
"""


def _answers_write_postgresql(
    *, sitting_id: int, student_id: int, exam_id: int, device: uuid.UUID, valid: _Valid, now: datetime
) -> tuple[_SittingState | None, list[tuple[int, int]]]:
    """``_answers_write_orm`` in one statement per round. A round holds each question once
    (an upsert may touch a row only once): a batch that repeats a question takes more rounds,
    in one transaction, each repeat after the one before it as in the batch."""
    rounds: list[_Valid] = [[]]
    repeats: Counter[int] = Counter()
    for item, value in valid:
        number = repeats[item.question_id]
        repeats[item.question_id] += 1
        if number == len(rounds):
            rounds.append([])
        rounds[number].append((item, value))
    first: _SittingState | None = None
    written: list[tuple[int, int]] = []
    with transaction.atomic() if len(rounds) > 1 else contextlib.nullcontext(), connection.cursor() as cursor:
        for batch in rounds:
            cursor.execute(
                _SAVE_SQL,
                {
                    "sitting": sitting_id,
                    "student": student_id,
                    "exam": exam_id,
                    "device": device,
                    "now": now,
                    "deadline_from": now - grace(),  # now <= deadline + grace
                    "questions": [item.question_id for item, _ in batch],
                    "values": [None if value is None else json.dumps(value) for _, value in batch],
                    "flags": [item.flagged for item, _ in batch],
                    "seqs": [item.seq for item, _ in batch],
                },
            )
            row = cursor.fetchone()
            if row is None:
                return None, []
            if first is None:
                first = _SittingState(*row[:4])
            saved = set(row[4])
            written += [(item.question_id, item.seq) for item, _ in batch if item.question_id in saved]
    return first, written


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
    ProctorEvent) and ``taken_over`` (another device holds the sitting). Each item is then
    ``invalid`` (not stored), ``stale`` (the stored answer has this seq or a newer one: kept)
    or ``saved`` (stored, with a revision); last_seq only grows."""
    exam_id = _sitting_exam_id(sitting_id, student.pk)
    rules = exam_answer_rules(exam_id)
    invalid: dict[int, str] = {}  # index in items → why
    valid: _Valid = []
    for index, item in enumerate(items):
        rule = rules.get(item.question_id)
        if rule is None:
            invalid[index] = "No such question here."
            continue
        try:
            valid.append((item, get_kind(rule.kind).clean_answer(rule.config, item.value, rule.choices)))
        except ValidationError as error:
            invalid[index] = " ".join(error.messages)
    write = _answers_write_postgresql if connection.vendor == "postgresql" else _answers_write_orm
    state, written = write(
        sitting_id=sitting_id, student_id=student.pk, exam_id=exam_id, device=device, valid=valid, now=now
    )
    if state is None:
        _sitting_exams.pop((sitting_id, student.pk), None)
        raise Sitting.DoesNotExist
    refusal = _refusal(state, device, now)
    if refusal == "time_up":
        sitting = sitting_refresh(sitting=Sitting.objects.get(pk=sitting_id), now=now)
        ProctorEvent.objects.create(
            sitting=sitting,
            kind=ProctorEventKind.LATE_SAVE,
            at=now,
            ip=ip,
            detail={"questions": [item.question_id for item in items][:50], "deadline": sitting.deadline.isoformat()},
        )
        raise SittingRefused("time_up", "Time is up: this answer arrived after the deadline and was not saved.")
    if refusal == "closed":
        status = SittingStatus(state.status).label.lower()
        raise SittingRefused("closed", f"This sitting is {status}; answers are final.")
    if refusal == "taken_over":
        raise SittingRefused("taken_over", "This exam was opened in another tab or device; continue there.")
    result = SaveResult(deadline=state.deadline)
    unclaimed = Counter(written)  # each write answers one item, the first of its (question, seq)
    for index, item in enumerate(items):
        if index in invalid:
            result.outcomes.append(SaveOutcome(item.question_id, item.seq, "invalid", invalid[index]))
        elif unclaimed[item.question_id, item.seq]:
            unclaimed[item.question_id, item.seq] -= 1
            result.outcomes.append(SaveOutcome(item.question_id, item.seq, "saved"))
        else:
            result.outcomes.append(SaveOutcome(item.question_id, item.seq, "stale"))
    result.last_seq = max([state.last_seq, *(seq for _, seq in written)])
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
            return sitting_close(locked, status=SittingStatus.EXPIRED, at=locked.deadline, closed_by="lazy")
        return sitting_close(
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
