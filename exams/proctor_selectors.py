"""Reads for the proctor page: one row per student of the exam's course, counts, recent actions.

``proctor_board`` shapes the whole page in a constant number of queries, however large the
class: the roster, the sittings with their answer and event counts (subqueries), the IP
addresses seen, accommodations, extensions, and the number of questions. Time left comes from
the server's clock (``now``), never the browser's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateformat import format as date_format

from accounts.models import Membership, Role
from exams.kinds import KIND_GROUP
from exams.models import (
    Accommodation,
    Answer,
    Exam,
    Extension,
    HonorCodeSignature,
    ProctorAction,
    ProctorActionKind,
    ProctorEvent,
    ProctorEventKind,
    Question,
    Sitting,
    SittingStatus,
)
from exams.sittings import grace, window_status

FOCUS_KINDS = (ProctorEventKind.FOCUS_LOSS, ProctorEventKind.VISIBILITY)

# A row's state, as the page shows and counts it.
STATE_LABELS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "time_up": "Time up (closing)",
    "submitted": "Submitted",
    "expired": "Expired",
    "voided": "Voided",
}
# Which count each state adds to: a sitting whose time is up is in progress during the grace
# for saves in flight, and expired after it (the lazy or beat close only makes it official).
COUNTED_AS = {
    "not_started": "not_started",
    "in_progress": "in_progress",
    "time_up": "in_progress",
    "submitted": "submitted",
    "expired": "expired",
    "voided": "voided",
}


def clock(moment: datetime | None) -> str:
    """A time of the exam day in the site's time zone, e.g. "6:20:05 PM"; "" for none."""
    return date_format(timezone.localtime(moment), "g:i:s A") if moment is not None else ""


def duration(seconds: int | None) -> str:
    """1:02:03 or 12:34; "" for none."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(frozen=True)
class ProctorRow:
    """One student as the proctor page shows them."""

    student_id: int
    name: str
    net_id: str
    section: str
    on_roster: bool  # False: dropped from the course, shown because they have a sitting
    sitting_id: int | None
    state: str
    started_at: datetime | None
    deadline: datetime | None
    submitted_at: datetime | None
    last_saved_at: datetime | None
    seconds_left: int | None  # for a sitting in progress; 0 once its time is up
    answered: int
    focus_losses: int
    takeovers: int
    ips: tuple[str, ...]
    multiplier: Decimal | None  # the student's accommodation in the course, if any
    may_exceed_window: bool
    extension_minutes: int

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def time_left(self) -> str:
        return duration(self.seconds_left)

    @property
    def accommodation_label(self) -> str:
        if self.multiplier is None:
            return ""
        label = f"×{self.multiplier.normalize():f}"
        return f"{label}, past window" if self.may_exceed_window else label

    def as_json(self) -> dict[str, Any]:
        return {
            "student": self.student_id,
            "name": self.name,
            "net_id": self.net_id,
            "section": self.section,
            "on_roster": self.on_roster,
            "sitting": self.sitting_id,
            "state": self.state,
            "state_label": self.state_label,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "started": clock(self.started_at),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "deadline_text": clock(self.deadline),
            "seconds_left": self.seconds_left,
            "time_left": self.time_left,
            "last_saved_at": self.last_saved_at.isoformat() if self.last_saved_at else None,
            "last_saved": clock(self.last_saved_at),
            "answered": self.answered,
            "focus_losses": self.focus_losses,
            "takeovers": self.takeovers,
            "ips": list(self.ips),
            "accommodation": self.accommodation_label,
            "extension_minutes": self.extension_minutes,
        }


@dataclass(frozen=True)
class ProctorCounts:
    not_started: int = 0
    in_progress: int = 0
    submitted: int = 0
    expired: int = 0
    voided: int = 0

    @property
    def total(self) -> int:
        return self.not_started + self.in_progress + self.submitted + self.expired + self.voided

    def as_json(self) -> dict[str, int]:
        return {
            "not_started": self.not_started,
            "in_progress": self.in_progress,
            "submitted": self.submitted,
            "expired": self.expired,
            "voided": self.voided,
            "total": self.total,
        }


@dataclass(frozen=True)
class ProctorBoard:
    exam: Exam
    now: datetime
    window: str  # upcoming, open or closed (exams.sittings.window_status)
    questions: int  # questions that take an answer
    counts: ProctorCounts  # of the rows shown (after search and section filter)
    rows: list[ProctorRow]
    sections: list[str]  # every quiz section of the course's students, for the filter
    query: str
    section: str


def _count(queryset: QuerySet[Any]) -> Subquery:
    """A correlated COUNT(*) of ``queryset`` (filtered on OuterRef("pk")), 0 when none."""
    counted = queryset.order_by().values("sitting_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)  # type: ignore[return-value]


def _state(sitting: Sitting | None, now: datetime) -> str:
    if sitting is None:
        return "not_started"
    if sitting.status == SittingStatus.IN_PROGRESS:
        if now <= sitting.deadline:
            return "in_progress"
        return "time_up" if now <= sitting.deadline + grace() else "expired"
    return str(sitting.status)


def proctor_board(
    *, exam: Exam, now: datetime, query: str = "", section: str = "", student_id: int | None = None
) -> ProctorBoard:
    """Every student of the exam's course, started or not (and dropped students who have a
    sitting of it), matching ``query`` (name or NetID, any part) and ``section`` (quiz section,
    exactly; "" for all), ordered by name, with the counts of the rows shown. ``student_id``
    keeps that student's row only."""
    query, section = query.strip(), section.strip()
    has_sitting = Exists(Sitting.objects.filter(exam=exam, student_id=OuterRef("user_id")))
    roster = Membership.objects.filter(course_id=exam.course_id, role=Role.STUDENT).filter(Q(active=True) | has_sitting)
    sections = sorted(set(roster.exclude(quiz_section="").values_list("quiz_section", flat=True)))
    if query:
        roster = roster.filter(Q(user__full_name__icontains=query) | Q(user__net_id__icontains=query))
    if section:
        roster = roster.filter(quiz_section=section)
    if student_id is not None:
        roster = roster.filter(user_id=student_id)
    members = list(
        roster.order_by("user__full_name", "user__net_id").values_list(
            "user_id", "user__full_name", "user__net_id", "quiz_section", "active"
        )
    )
    student_ids = [member[0] for member in members]

    sittings = {
        sitting.student_id: sitting
        for sitting in Sitting.objects.filter(exam=exam, student_id__in=student_ids)
        .annotate(
            answered=_count(Answer.objects.filter(sitting_id=OuterRef("pk"), value__isnull=False)),
            focus_losses=_count(ProctorEvent.objects.filter(sitting_id=OuterRef("pk"), kind__in=FOCUS_KINDS)),
            takeovers=_count(ProctorEvent.objects.filter(sitting_id=OuterRef("pk"), kind=ProctorEventKind.TAKEOVER)),
        )
        .only("student_id", "status", "started_at", "deadline", "submitted_at", "last_saved_at", "start_ip")
    }
    sitting_ids = [started.pk for started in sittings.values()]
    # Every address a sitting was seen from: the start, the honor-code signature, and any event.
    ips: dict[int, set[str]] = defaultdict(set)
    for started in sittings.values():
        if started.start_ip:
            ips[started.pk].add(started.start_ip)
    seen = (
        ProctorEvent.objects.filter(sitting_id__in=sitting_ids, ip__isnull=False)
        .order_by()
        .values_list("sitting_id", "ip")
        .union(
            HonorCodeSignature.objects.filter(sitting_id__in=sitting_ids, ip__isnull=False)
            .order_by()
            .values_list("sitting_id", "ip")
        )
    )
    for sitting_id, ip in seen:
        if ip:
            ips[sitting_id].add(ip)
    accommodations = {
        student_id: (multiplier, may_exceed)
        for student_id, multiplier, may_exceed in Accommodation.objects.filter(
            course_id=exam.course_id, student_id__in=student_ids
        ).values_list("student_id", "time_multiplier", "may_exceed_window")
    }
    extensions = dict(
        Extension.objects.filter(exam=exam, student_id__in=student_ids)
        .order_by()
        .values("student_id")
        .annotate(total=Sum("minutes"))
        .values_list("student_id", "total")
    )
    questions = Question.objects.filter(exam=exam).exclude(kind=KIND_GROUP).count()

    rows: list[ProctorRow] = []
    for student_id, name, net_id, quiz_section, active in members:
        sitting = sittings.get(student_id)
        state = _state(sitting, now)
        seconds_left = None
        if sitting is not None and sitting.status == SittingStatus.IN_PROGRESS:
            seconds_left = max(0, int((sitting.deadline - now).total_seconds()))
        multiplier, may_exceed = accommodations.get(student_id, (None, False))
        rows.append(
            ProctorRow(
                student_id=student_id,
                name=name,
                net_id=net_id,
                section=quiz_section,
                on_roster=active,
                sitting_id=sitting.pk if sitting else None,
                state=state,
                started_at=sitting.started_at if sitting else None,
                deadline=sitting.deadline if sitting else None,
                submitted_at=sitting.submitted_at if sitting else None,
                last_saved_at=sitting.last_saved_at if sitting else None,
                seconds_left=seconds_left,
                answered=getattr(sitting, "answered", 0),
                focus_losses=getattr(sitting, "focus_losses", 0),
                takeovers=getattr(sitting, "takeovers", 0),
                ips=tuple(sorted(ips.get(sitting.pk, ()))) if sitting else (),
                multiplier=multiplier,
                may_exceed_window=may_exceed,
                extension_minutes=extensions.get(student_id) or 0,
            )
        )
    tally = Counter(COUNTED_AS[row.state] for row in rows)
    return ProctorBoard(
        exam=exam,
        now=now,
        window=window_status(exam, now),
        questions=questions,
        counts=ProctorCounts(**tally),
        rows=rows,
        sections=sections,
        query=query,
        section=section,
    )


def proctor_row(*, exam: Exam, student_id: int, now: datetime) -> ProctorRow | None:
    """The one student's row (for their page), or None when they are not on the board."""
    rows = proctor_board(exam=exam, now=now, student_id=student_id).rows
    return rows[0] if rows else None


@dataclass(frozen=True)
class ActionRow:
    """A recent proctor action: who, when, what, why."""

    at: datetime
    actor: str
    kind: str
    kind_label: str
    student: str
    summary: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "at_text": clock(self.at),
            "actor": self.actor,
            "kind": self.kind,
            "kind_label": self.kind_label,
            "student": self.student,
            "summary": self.summary,
            "reason": self.reason,
        }


def proctor_actions(*, exam: Exam, student_id: int | None = None, limit: int = 30) -> list[ActionRow]:
    """The latest proctor actions on the exam, newest first, with the accommodations set in its
    course (they apply to every exam of it); with ``student_id``, that student's only."""
    actions = ProctorAction.objects.filter(
        Q(exam=exam) | Q(exam__isnull=True, course_id=exam.course_id, kind=ProctorActionKind.ACCOMMODATION)
    )
    if student_id is not None:
        actions = actions.filter(student_id=student_id)
    rows = []
    for action in actions.select_related("actor", "student").order_by("-at", "-pk")[:limit]:
        student = action.student
        rows.append(
            ActionRow(
                at=action.at,
                actor=action.actor.full_name or action.actor.net_id,
                kind=action.kind,
                kind_label=action.get_kind_display(),
                student=f"{student.full_name} ({student.net_id})" if student else "",
                summary=str((action.detail or {}).get("summary", "")),
                reason=action.reason,
            )
        )
    return rows
