"""Exam-day actions of proctors: extensions, accommodations, voiding and reopening a sitting,
the window and the access code.

Each action is one function here: keyword-only, one transaction, ``now`` passed in, and one
``ProctorAction`` row recording who did what, when and why, with the state before and after in
its ``detail``. Refusals are ValidationErrors whose message a proctor can act on. Who may take
which action is decided before the call, by ``accounts.access.access_exam_for_proctor``.

Rules that hold everywhere:
- a student's time only grows, except when an instructor closes the window for everyone;
- a sitting is never deleted: a voided one keeps its answers and is simply not scored
  (``grading.jobs.SCORED_STATUSES``);
- a sitting whose time (with grace) has run out is closed first, exactly as any access would
  close it (``sitting_refresh``), so the outcome never depends on when the beat task last ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.models import Course, Membership, Role, User
from exams import sittings
from exams.models import (
    Accommodation,
    Exam,
    Extension,
    ProctorAction,
    ProctorActionKind,
    Sitting,
    SittingStatus,
)
from exams.sittings import grace, sitting_recompute_deadline, sitting_refresh

REASON_MAX_CHARS = 300  # ProctorAction.reason and Extension.reason
EXTENSION_MAX_MINUTES = 24 * 60
REOPEN_MAX_MINUTES = 24 * 60
MULTIPLIER_MIN = Decimal("1.00")
MULTIPLIER_MAX = Decimal("5.00")
ACCESS_CODE_MAX_CHARS = 40  # Exam.access_code


@dataclass(frozen=True)
class ProctorOutcome:
    """What an action did: its audit row and a sentence for the proctor who took it."""

    action: ProctorAction
    message: str


@dataclass(frozen=True)
class ExtensionGranted(ProctorOutcome):
    extension: Extension
    sitting: Sitting | None  # the student's sitting, if they started


@dataclass(frozen=True)
class AccommodationSet(ProctorOutcome):
    accommodation: Accommodation
    sittings: list[Sitting] = field(default_factory=list)  # the student's running sittings in the course


@dataclass(frozen=True)
class SittingChanged(ProctorOutcome):
    sitting: Sitting


@dataclass(frozen=True)
class ExamChanged(ProctorOutcome):
    exam: Exam
    sittings_changed: int  # running sittings whose deadline moved


# --- helpers ----------------------------------------------------------------------------------


def when(moment: datetime | None, now: datetime) -> str:
    """A time as proctors read it, in the site's time zone: "6:20:00 PM" on the day of ``now``,
    "Tue May 9, 6:20 PM" on another day."""
    if moment is None:
        return "no time"
    local = timezone.localtime(moment)
    if local.date() == timezone.localtime(now).date():
        return date_format(local, "g:i:s A")
    return date_format(local, "D M j, g:i A")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give a reason: it is recorded with your name.")
    if len(reason) > REASON_MAX_CHARS:
        raise ValidationError(f"Keep the reason to {REASON_MAX_CHARS} characters (it has {len(reason)}).")
    return reason


def _name(student: User) -> str:
    return student.full_name or student.net_id


def _check_student(course_id: int, student: User, *, exam: Exam | None = None) -> None:
    """On the course's roster as a student: active, or (for an action on one exam) with a sitting of it."""
    membership = Membership.objects.filter(course_id=course_id, user=student, role=Role.STUDENT).order_by().first()
    if membership is not None and (
        membership.active or (exam is not None and Sitting.objects.filter(exam=exam, student=student).exists())
    ):
        return
    raise ValidationError(f"{_name(student)} is not a student of this course.")


def _audit(
    *,
    course_id: int,
    kind: str,
    reason: str,
    by: User,
    now: datetime,
    detail: dict[str, Any],
    exam: Exam | None = None,
    sitting: Sitting | None = None,
    student: User | None = None,
) -> ProctorAction:
    return ProctorAction.objects.create(
        course_id=course_id,
        exam=exam,
        sitting=sitting,
        student=student,
        actor=by,
        at=now,
        kind=kind,
        reason=reason,
        detail=detail,
    )


def _sitting_state(sitting: Sitting | None) -> dict[str, Any] | None:
    if sitting is None:
        return None
    return {
        "status": sitting.status,
        "deadline": _iso(sitting.deadline),
        "submitted_at": _iso(sitting.submitted_at),
        "closed_by": sitting.closed_by,
    }


def _running(queryset: Any, now: datetime) -> list[Sitting]:
    """The in-progress sittings of ``queryset`` after closing those whose time (with grace) ran out."""
    refreshed = [sitting_refresh(sitting=s, now=now) for s in queryset.filter(status=SittingStatus.IN_PROGRESS)]
    return [s for s in refreshed if s.status == SittingStatus.IN_PROGRESS]


def _window_cap(exam: Exam, accommodation: Accommodation | None) -> datetime | None:
    """The latest a sitting of the exam may run: the window's close, unless the accommodation
    lets the student run past it."""
    if accommodation is not None and accommodation.may_exceed_window:
        return None
    return exam.closes_at


# --- one student ------------------------------------------------------------------------------


def extension_grant(
    *, exam: Exam, student: User, minutes: int, reason: str, by: User, now: datetime
) -> ExtensionGranted:
    """Give the student ``minutes`` more on the exam, with a reason.

    Before the student starts, the extension counts in the deadline fixed at the start
    (``deadline_compute``). On a running sitting the deadline moves at once, and never earlier;
    the window still caps it unless the student's accommodation may run past the window (then
    the message says so). A closed sitting is refused: reopen it instead.
    """
    reason = _reason(reason)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= EXTENSION_MAX_MINUTES:
        raise ValidationError(f"Extend by 1 to {EXTENSION_MAX_MINUTES} minutes.")
    _check_student(exam.course_id, student, exam=exam)
    existing = Sitting.objects.filter(exam=exam, student=student).first()
    if existing is not None:
        sitting_refresh(sitting=existing, now=now)
    name = _name(student)
    with transaction.atomic():
        sitting = Sitting.objects.select_for_update().filter(exam=exam, student=student).first()
        if sitting is not None and sitting.status != SittingStatus.IN_PROGRESS:
            status = SittingStatus(sitting.status).label.lower()
            raise ValidationError(
                f"{name}'s sitting is already closed ({status}): an extension would not change it. "
                "Reopen the sitting to give more time."
            )
        extension = Extension.objects.create(
            exam=exam, student=student, minutes=minutes, reason=reason, granted_by=by, granted_at=now
        )
        total = Extension.objects.filter(exam=exam, student=student).aggregate(total=Sum("minutes"))["total"] or 0
        before = sitting.deadline if sitting is not None else None
        if sitting is None:
            message = (
                f"{name} has {minutes} more minute{'s' if minutes != 1 else ''} on this exam "
                f"({total} in all); they count from the moment {name} starts."
            )
        else:
            sitting = sitting_recompute_deadline(sitting=sitting, now=now)
            # A reopened sitting's deadline was set from the reopening, past the one its
            # extensions give: the minutes then add to the deadline it has.
            accommodation = Accommodation.objects.filter(course_id=exam.course_id, student=student).first()
            cap = _window_cap(sitting.exam, accommodation)  # the exam as it stands now, read under the lock
            reach = before + timedelta(minutes=minutes) if before is not None else sitting.deadline
            if cap is not None:
                reach = min(reach, cap)
            if reach > sitting.deadline:
                sitting.deadline = reach
                sitting.save(update_fields=["deadline"])
            if before is not None and sitting.deadline > before:
                message = (
                    f"{name}'s deadline moved from {when(before, now)} to {when(sitting.deadline, now)}; "
                    "their timer shows it within 30 seconds."
                )
                short = int((before + timedelta(minutes=minutes) - sitting.deadline).total_seconds() // 60)
                if short > 0:
                    message += (
                        f" The exam window closes then, so {short} of the {minutes} minutes do not fit: extend the "
                        "window, or give an accommodation that may run past it."
                    )
            else:
                message = (
                    f"The extension is recorded, but {name}'s deadline stays at {when(sitting.deadline, now)}: "
                    "the exam window closes then. Extend the window, or give an accommodation that may run "
                    "past it, to give more time."
                )
        action = _audit(
            course_id=exam.course_id,
            exam=exam,
            sitting=sitting,
            student=student,
            kind=ProctorActionKind.EXTEND,
            reason=reason,
            by=by,
            now=now,
            detail={
                "summary": f"+{minutes} min",
                "minutes": minutes,
                "extension": extension.pk,
                "before": {"deadline": _iso(before), "extension_minutes": total - minutes},
                "after": {"deadline": _iso(sitting.deadline if sitting else None), "extension_minutes": total},
                "message": message,
            },
        )
    return ExtensionGranted(action=action, message=message, extension=extension, sitting=sitting)


def _multiplier(value: Decimal | str | int | float) -> Decimal:
    try:
        multiplier = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"The time multiplier must be a number such as 1.5, not {value!r}.") from None
    if not MULTIPLIER_MIN <= multiplier <= MULTIPLIER_MAX:
        raise ValidationError(f"The time multiplier must be between {MULTIPLIER_MIN} and {MULTIPLIER_MAX}.")
    return multiplier


def accommodation_set(
    *,
    course: Course,
    student: User,
    multiplier: Decimal | str | int | float,
    may_exceed_window: bool,
    reason: str,
    by: User,
    now: datetime,
) -> AccommodationSet:
    """Set the student's standing accommodation in the course: every exam of the course, sittings
    in progress included, whose deadlines grow at once (up to the window's close unless
    ``may_exceed_window``). A lower multiplier never takes time away from a running sitting: it
    applies from the next start, and the message says so."""
    reason = _reason(reason)
    multiplier = _multiplier(multiplier)
    _check_student(course.pk, student)
    name = _name(student)
    running_qs = Sitting.objects.filter(exam__course=course, student=student).select_related("exam")
    _running(running_qs, now)
    with transaction.atomic():
        current = Accommodation.objects.select_for_update().filter(course=course, student=student).first()
        before = (
            {"time_multiplier": str(current.time_multiplier), "may_exceed_window": current.may_exceed_window}
            if current is not None
            else None
        )
        accommodation, _ = Accommodation.objects.update_or_create(
            course=course,
            student=student,
            defaults={"time_multiplier": multiplier, "may_exceed_window": may_exceed_window, "note": reason},
        )
        changed: list[dict[str, Any]] = []
        running: list[Sitting] = []
        for sitting in (
            running_qs.select_for_update(of=("self",)).filter(status=SittingStatus.IN_PROGRESS).order_by("pk")
        ):
            old = sitting.deadline
            sitting = sitting_recompute_deadline(sitting=sitting, now=now)
            running.append(sitting)
            changed.append(
                {"sitting": sitting.pk, "exam": sitting.exam_id, "before": _iso(old), "after": _iso(sitting.deadline)}
            )
        lowered = current is not None and (
            multiplier < current.time_multiplier or (current.may_exceed_window and not may_exceed_window)
        )
        past_window = ", and may run past the exam window" if may_exceed_window else ""
        parts = [f"{name} now has ×{multiplier.normalize():f} time on every exam of the course{past_window}."]
        for sitting, change in zip(running, changed, strict=True):
            title = sitting.exam.title
            if change["after"] != change["before"]:
                parts.append(f"Their running sitting of {title} now ends at {when(sitting.deadline, now)}.")
            else:
                parts.append(f"Their running sitting of {title} still ends at {when(sitting.deadline, now)}.")
        if lowered and running:
            parts.append(
                "Running sittings keep the time they had; the lower accommodation applies from the next start."
            )
        message = " ".join(parts)
        summary = f"×{multiplier.normalize():f}" + (", past the window" if may_exceed_window else "")
        action = _audit(
            course_id=course.pk,
            student=student,
            kind=ProctorActionKind.ACCOMMODATION,
            reason=reason,
            by=by,
            now=now,
            detail={
                "summary": summary,
                "before": before,
                "after": {"time_multiplier": str(multiplier), "may_exceed_window": may_exceed_window},
                "sittings": changed,
                "message": message,
            },
        )
    return AccommodationSet(action=action, message=message, accommodation=accommodation, sittings=running)


def sitting_void(*, sitting: Sitting, reason: str, by: User, now: datetime) -> SittingChanged:
    """Void the sitting: it keeps every answer but is never scored (a running one closes now).
    An instructor may reopen it later."""
    reason = _reason(reason)
    with transaction.atomic():
        locked = Sitting.objects.select_for_update().select_related("exam", "student").get(pk=sitting.pk)
        name = _name(locked.student)
        if locked.status == SittingStatus.VOIDED:
            raise ValidationError(f"{name}'s sitting is already voided.")
        before = _sitting_state(locked)
        if locked.status == SittingStatus.IN_PROGRESS:
            # Close it as any close does, with the receipt of its answers as they stand.
            sittings.sitting_close(locked, status=SittingStatus.VOIDED, at=now, closed_by="instructor")
        else:
            locked.status = SittingStatus.VOIDED
            locked.save(update_fields=["status"])
        message = f"{name}'s sitting is voided: its answers are kept, and it will not be scored."
        action = _audit(
            course_id=locked.exam.course_id,
            exam=locked.exam,
            sitting=locked,
            student=locked.student,
            kind=ProctorActionKind.VOID,
            reason=reason,
            by=by,
            now=now,
            detail={
                "summary": f"voided (was {SittingStatus(before['status']).label.lower() if before else ''})",
                "before": before,
                "after": _sitting_state(locked),
                "message": message,
            },
        )
    return SittingChanged(action=action, message=message, sitting=locked)


def sitting_reopen(*, sitting: Sitting, minutes: int, reason: str, by: User, now: datetime) -> SittingChanged:
    """Reopen a closed (submitted, expired or voided) sitting for ``minutes`` from now, through
    ``exams.sittings.sitting_reopen`` (which records a proctor event), audited as a ProctorAction.
    A running sitting is refused: its time is extended instead, so that it is never cut."""
    reason = _reason(reason)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= REOPEN_MAX_MINUTES:
        raise ValidationError(f"Reopen for 1 to {REOPEN_MAX_MINUTES} minutes.")
    sitting_refresh(sitting=sitting, now=now)
    with transaction.atomic():
        locked = Sitting.objects.select_for_update().select_related("exam", "student").get(pk=sitting.pk)
        name = _name(locked.student)
        if locked.status == SittingStatus.IN_PROGRESS:
            raise ValidationError(f"{name}'s sitting is still in progress: extend their time instead.")
        before = _sitting_state(locked)
        reopened = sittings.sitting_reopen(sitting=locked, by=by, reason=reason, minutes=minutes, now=now)
        message = (
            f"{name}'s sitting is open again until {when(reopened.deadline, now)}; "
            "they continue from their saved answers."
        )
        action = _audit(
            course_id=locked.exam.course_id,
            exam=locked.exam,
            sitting=reopened,
            student=locked.student,
            kind=ProctorActionKind.REOPEN,
            reason=reason,
            by=by,
            now=now,
            detail={
                "summary": f"reopened for {minutes} min",
                "minutes": minutes,
                "before": before,
                "after": _sitting_state(reopened),
                "message": message,
            },
        )
    return SittingChanged(action=action, message=message, sitting=reopened)


# --- the whole exam ---------------------------------------------------------------------------


def window_extend(*, exam: Exam, closes_at: datetime, reason: str, by: User, now: datetime) -> ExamChanged:
    """Close the window later. Running sittings that the old close cut short get the time the new
    one allows (``sitting_recompute_deadline``: a deadline only grows); closed sittings stay closed."""
    reason = _reason(reason)
    with transaction.atomic():
        locked = Exam.objects.select_for_update().get(pk=exam.pk)
        old = locked.closes_at
        if old is None:
            raise ValidationError("This exam's window has no closing time, so there is nothing to extend.")
        if closes_at <= old:
            raise ValidationError(f"The new closing time must be later than the current one, {when(old, now)}.")
        if closes_at <= now:
            raise ValidationError("The new closing time must be in the future.")
        locked.closes_at = closes_at
        locked.save(update_fields=["closes_at", "updated_at"])
        changed: list[dict[str, Any]] = []
        for sitting in _running(Sitting.objects.filter(exam=locked), now):
            before = sitting.deadline
            sitting = sitting_recompute_deadline(sitting=sitting, now=now)
            if sitting.deadline > before:
                changed.append({"sitting": sitting.pk, "before": _iso(before), "after": _iso(sitting.deadline)})
        message = f"The window now closes at {when(closes_at, now)} (it closed at {when(old, now)})."
        if changed:
            message += (
                f" {len(changed)} running sitting{'s' if len(changed) != 1 else ''} that the old close cut short "
                f"now end{'s' if len(changed) == 1 else ''} later; students' timers show it within 30 seconds."
            )
        if old <= now:
            message += (
                " Students who had not started may start now; closed sittings stay closed (reopen them one by one)."
            )
        action = _audit(
            course_id=locked.course_id,
            exam=locked,
            kind=ProctorActionKind.WINDOW_EXTEND,
            reason=reason,
            by=by,
            now=now,
            detail={
                "summary": f"closes {when(old, now)} → {when(closes_at, now)}",
                "before": {"closes_at": _iso(old)},
                "after": {"closes_at": _iso(closes_at)},
                "sittings": changed,
                "message": message,
            },
        )
    exam.closes_at = locked.closes_at
    return ExamChanged(action=action, message=message, exam=locked, sittings_changed=len(changed))


def window_close(*, exam: Exam, reason: str, by: User, now: datetime) -> ExamChanged:
    """Close the window now, for everyone: nobody starts any more, and running sittings end now.

    The one action that shortens time: each running sitting's deadline becomes ``now``, unless
    the student's accommodation may run past the window (they keep their deadline; the message
    names them). The sittings are then closed as time-ups are, by the lazy close or the beat
    task once the save grace has passed, with every answer saved until then kept."""
    reason = _reason(reason)
    with transaction.atomic():
        locked = Exam.objects.select_for_update().get(pk=exam.pk)
        old = locked.closes_at
        if old is not None and old <= now:
            raise ValidationError(f"The window is already closed (since {when(old, now)}).")
        if locked.opens_at is not None and now < locked.opens_at:
            raise ValidationError(
                f"The window has not opened yet (it opens at {when(locked.opens_at, now)}); change its times in the "
                "exam's settings instead."
            )
        locked.closes_at = now
        locked.save(update_fields=["closes_at", "updated_at"])
        exempt_students = set(
            Accommodation.objects.filter(course_id=locked.course_id, may_exceed_window=True).values_list(
                "student_id", flat=True
            )
        )
        ended: list[dict[str, Any]] = []
        kept: list[Sitting] = []
        running = (
            Sitting.objects.select_for_update(of=("self",))
            .select_related("student")
            .filter(exam=locked, status=SittingStatus.IN_PROGRESS)
            .order_by("pk")
        )
        for sitting in running:
            if sitting.student_id in exempt_students:
                if sitting.deadline > now:
                    kept.append(sitting)
                continue
            if sitting.deadline > now:
                ended.append({"sitting": sitting.pk, "before": _iso(sitting.deadline), "after": _iso(now)})
                sitting.deadline = now
                sitting.save(update_fields=["deadline"])
        seconds = int(grace().total_seconds())
        message = f"The window closed at {when(now, now)}."
        if ended:
            message += (
                f" {len(ended)} running sitting{'s' if len(ended) != 1 else ''} end{'s' if len(ended) == 1 else ''} "
                f"now: answers saved in the next {seconds} seconds (the grace for saves in flight) are kept, "
                "then the sittings close on their own, answers kept."
            )
        else:
            message += " No sitting was running."
        if kept:
            names = ", ".join(f"{_name(s.student)} (until {when(s.deadline, now)})" for s in kept)
            message += (
                f" {len(kept)} student{'s' if len(kept) != 1 else ''} with an accommodation that may run past "
                f"the window keep{'s' if len(kept) == 1 else ''} their time: {names}."
            )
        action = _audit(
            course_id=locked.course_id,
            exam=locked,
            kind=ProctorActionKind.WINDOW_CLOSE,
            reason=reason,
            by=by,
            now=now,
            detail={
                "summary": f"closed at {when(now, now)}; {len(ended)} sitting{'s' if len(ended) != 1 else ''} ended",
                "before": {"closes_at": _iso(old)},
                "after": {"closes_at": _iso(now)},
                "sittings": ended,
                "kept": [{"sitting": s.pk, "deadline": _iso(s.deadline)} for s in kept],
                "message": message,
            },
        )
    exam.closes_at = locked.closes_at
    return ExamChanged(action=action, message=message, exam=locked, sittings_changed=len(ended))


def access_code_change(*, exam: Exam, code: str, reason: str, by: User, now: datetime) -> ExamChanged:
    """Change the code students type to start (empty: no code). Students who already started
    are not asked again."""
    reason = _reason(reason)
    code = (code or "").strip()
    if len(code) > ACCESS_CODE_MAX_CHARS:
        raise ValidationError(f"Keep the access code to {ACCESS_CODE_MAX_CHARS} characters.")
    with transaction.atomic():
        locked = Exam.objects.select_for_update().get(pk=exam.pk)
        old = locked.access_code
        if code == old:
            raise ValidationError(
                "That is the access code already." if code else "The exam has no access code already."
            )
        locked.access_code = code
        locked.save(update_fields=["access_code", "updated_at"])
        if code:
            message = f"The access code is now “{code}”. Students who already started are not asked again."
        else:
            message = "The exam no longer asks for an access code."
        action = _audit(
            course_id=locked.course_id,
            exam=locked,
            kind=ProctorActionKind.ACCESS_CODE,
            reason=reason,
            by=by,
            now=now,
            detail={
                "summary": "code removed" if not code else ("code set" if not old else "code changed"),
                "before": {"access_code": old},
                "after": {"access_code": code},
                "message": message,
            },
        )
    exam.access_code = locked.access_code
    return ExamChanged(action=action, message=message, exam=locked, sittings_changed=0)
