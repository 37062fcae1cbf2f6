"""The proctor page of an exam, its rows as JSON, and the exam-day actions (issue 6).

Thin interfaces: each view asks ``accounts.access`` first (404 outside the user's courses and
for students; 403 for a TA asking for an instructors' action), parses one form, calls one
function of ``exams.proctoring`` (writes) or ``exams.proctor_selectors`` (reads), and renders.
The clock is read once per request. Every write is a POST with CSRF; on success it redirects
with the action's message, on a refusal it shows the page again with the message beside the
form (status 400).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import (
    access_exam_for_proctor,
    access_student_for_proctor,
    proctor_actions_allowed,
)
from accounts.models import User
from exams import proctoring
from exams.models import Accommodation, Exam, Extension, ProctorActionKind, Sitting
from exams.proctor_forms import (
    AccessCodeForm,
    AccommodationForm,
    ExtensionForm,
    ReopenForm,
    VoidForm,
    WindowCloseForm,
    WindowExtendForm,
)
from exams.proctor_selectors import ProctorBoard, proctor_actions, proctor_board, proctor_row

POLL_SECONDS = 4  # the page polls its rows this often while visible (the brief: every 3-5 s)

# Each form has its prefix: several share a page, and their fields must not share ids.
EXAM_FORMS: dict[str, type[forms.Form]] = {
    "window_extend": WindowExtendForm,
    "window_close": WindowCloseForm,
    "access_code": AccessCodeForm,
}
STUDENT_FORMS: dict[str, type[forms.Form]] = {
    "extend": ExtensionForm,
    "accommodation": AccommodationForm,
    "void": VoidForm,
    "reopen": ReopenForm,
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required: never anonymous here


def _board(request: HttpRequest, exam: Exam) -> ProctorBoard:
    return proctor_board(
        exam=exam, now=timezone.now(), query=request.GET.get("q", ""), section=request.GET.get("section", "")
    )


def _student_url(exam: Exam, student_id: int) -> str:
    return reverse("exams:proctor_student", args=[exam.pk, student_id])


# --- the page and its rows ----------------------------------------------------------------------


def _proctor_page(
    request: HttpRequest, exam: Exam, *, bound: dict[str, forms.Form] | None = None, status: int = 200
) -> HttpResponse:
    board = _board(request, exam)
    allowed = proctor_actions_allowed(request.user, exam.course_id)
    initial: dict[str, dict[str, Any]] = {
        "window_extend": {"closes_at": timezone.localtime(exam.closes_at) if exam.closes_at else None},
        "access_code": {"code": exam.access_code},
    }
    exam_forms = {
        name: (bound or {}).get(name) or form_class(prefix=name, initial=initial.get(name))
        for name, form_class in EXAM_FORMS.items()
    }
    rows_url = reverse("exams:proctor_rows", args=[exam.pk])
    return render(
        request,
        "exams/proctor_page.html",
        {
            "exam": exam,
            "board": board,
            "rows": [(row, _student_url(exam, row.student_id)) for row in board.rows],
            "actions": proctor_actions(exam=exam),
            "allowed": allowed,
            "forms": exam_forms,
            "admin_url": reverse("admin:exams_exam_change", args=[exam.pk]),
            "page_config": {"rows_url": rows_url, "poll_seconds": POLL_SECONDS},
        },
        status=status,
    )


@login_required
@require_GET
@never_cache
def proctor_page(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Who is sitting the exam now: counts, a row per student, the exam-day actions."""
    exam = access_exam_for_proctor(request.user, exam_id)
    return _proctor_page(request, exam)


@login_required
@require_GET
@never_cache
def proctor_rows(request: HttpRequest, exam_id: int) -> JsonResponse:
    """What the page polls: counts, rows (with the same ``q`` and ``section`` as the page) and
    the recent actions, as of the server's clock."""
    exam = access_exam_for_proctor(request.user, exam_id)
    board = _board(request, exam)
    return JsonResponse(
        {
            "now": board.now.isoformat(),
            "window": board.window,
            "closes_at": exam.closes_at.isoformat() if exam.closes_at else None,
            "questions": board.questions,
            "counts": board.counts.as_json(),
            "rows": [{**row.as_json(), "url": _student_url(exam, row.student_id)} for row in board.rows],
            "actions": [action.as_json() for action in proctor_actions(exam=exam)],
        }
    )


# --- one student ------------------------------------------------------------------------------------


def _student_page(
    request: HttpRequest,
    exam: Exam,
    student: User,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    accommodation = Accommodation.objects.filter(course_id=exam.course_id, student=student).first()
    initial: dict[str, dict[str, Any]] = {
        "accommodation": (
            {"time_multiplier": accommodation.time_multiplier, "may_exceed_window": accommodation.may_exceed_window}
            if accommodation
            else {}
        ),
    }
    student_forms = {
        name: (bound or {}).get(name) or form_class(prefix=name, initial=initial.get(name))
        for name, form_class in STUDENT_FORMS.items()
    }
    return render(
        request,
        "exams/proctor_student.html",
        {
            "exam": exam,
            "student": student,
            "row": proctor_row(exam=exam, student_id=student.pk, now=now),
            "accommodation": accommodation,
            "extensions": Extension.objects.filter(exam=exam, student=student)
            .select_related("granted_by")
            .order_by("-granted_at", "-pk"),
            "actions": proctor_actions(exam=exam, student_id=student.pk, limit=100),
            "allowed": proctor_actions_allowed(request.user, exam.course_id),
            "forms": student_forms,
            "proctor_url": reverse("exams:proctor", args=[exam.pk]),
        },
        status=status,
    )


@login_required
@require_GET
@never_cache
def proctor_student(request: HttpRequest, exam_id: int, student_id: int) -> HttpResponse:
    """One student's sitting, history of actions, and the forms to act on it."""
    exam = access_exam_for_proctor(request.user, exam_id)
    student = access_student_for_proctor(request.user, exam, student_id)
    return _student_page(request, exam, student)


def _student_action(request: HttpRequest, exam_id: int, student_id: int, kind: str) -> HttpResponse:
    """Parse the ``kind`` form, call its service; redirect to the student's page, or show it again
    with the form's errors."""
    exam = access_exam_for_proctor(request.user, exam_id, action=kind)
    student = access_student_for_proctor(request.user, exam, student_id)
    form = STUDENT_FORMS[kind](request.POST, prefix=kind)
    if form.is_valid():
        data = form.cleaned_data
        by, now = _user(request), timezone.now()
        try:
            outcome = _student_service(kind, exam=exam, student=student, data=data, by=by, now=now)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, outcome.message)
            return HttpResponseRedirect(_student_url(exam, student.pk))
    return _student_page(request, exam, student, bound={kind: form}, status=400)


def _sitting_of(exam: Exam, student: User) -> Sitting:
    sitting = Sitting.objects.filter(exam=exam, student=student).first()
    if sitting is None:
        raise ValidationError(f"{student.full_name or student.net_id} has not started this exam.")
    return sitting


def _student_service(
    kind: str, *, exam: Exam, student: User, data: dict[str, Any], by: User, now: Any
) -> proctoring.ProctorOutcome:
    reason = data["reason"]
    if kind == ProctorActionKind.EXTEND:
        return proctoring.extension_grant(
            exam=exam, student=student, minutes=data["minutes"], reason=reason, by=by, now=now
        )
    if kind == ProctorActionKind.ACCOMMODATION:
        return proctoring.accommodation_set(
            course=exam.course,
            student=student,
            multiplier=data["time_multiplier"],
            may_exceed_window=data["may_exceed_window"],
            reason=reason,
            by=by,
            now=now,
        )
    if kind == ProctorActionKind.VOID:
        return proctoring.sitting_void(sitting=_sitting_of(exam, student), reason=reason, by=by, now=now)
    return proctoring.sitting_reopen(
        sitting=_sitting_of(exam, student), minutes=data["minutes"], reason=reason, by=by, now=now
    )


@login_required
@require_POST
def proctor_extend(request: HttpRequest, exam_id: int, student_id: int) -> HttpResponse:
    """Give one student more minutes (instructors and TAs)."""
    return _student_action(request, exam_id, student_id, ProctorActionKind.EXTEND)


@login_required
@require_POST
def proctor_accommodation(request: HttpRequest, exam_id: int, student_id: int) -> HttpResponse:
    """Set one student's accommodation in the course (instructors)."""
    return _student_action(request, exam_id, student_id, ProctorActionKind.ACCOMMODATION)


@login_required
@require_POST
def proctor_void(request: HttpRequest, exam_id: int, student_id: int) -> HttpResponse:
    """Void one student's sitting (instructors)."""
    return _student_action(request, exam_id, student_id, ProctorActionKind.VOID)


@login_required
@require_POST
def proctor_reopen(request: HttpRequest, exam_id: int, student_id: int) -> HttpResponse:
    """Reopen one student's closed sitting (instructors)."""
    return _student_action(request, exam_id, student_id, ProctorActionKind.REOPEN)


# --- the whole exam ---------------------------------------------------------------------------------


def _exam_action(request: HttpRequest, exam_id: int, kind: str) -> HttpResponse:
    exam = access_exam_for_proctor(request.user, exam_id, action=kind)
    form = EXAM_FORMS[kind](request.POST, prefix=kind)
    if form.is_valid():
        data = form.cleaned_data
        by, now = _user(request), timezone.now()
        try:
            if kind == ProctorActionKind.WINDOW_EXTEND:
                outcome = proctoring.window_extend(
                    exam=exam, closes_at=data["closes_at"], reason=data["reason"], by=by, now=now
                )
            elif kind == ProctorActionKind.WINDOW_CLOSE:
                outcome = proctoring.window_close(exam=exam, reason=data["reason"], by=by, now=now)
            else:
                outcome = proctoring.access_code_change(
                    exam=exam, code=data["code"], reason=data["reason"], by=by, now=now
                )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, outcome.message)
            return HttpResponseRedirect(reverse("exams:proctor", args=[exam.pk]))
    return _proctor_page(request, exam, bound={kind: form}, status=400)


@login_required
@require_POST
def proctor_window_extend(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Close the exam's window later (instructors)."""
    return _exam_action(request, exam_id, ProctorActionKind.WINDOW_EXTEND)


@login_required
@require_POST
def proctor_window_close(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Close the exam's window now, ending running sittings (instructors)."""
    return _exam_action(request, exam_id, ProctorActionKind.WINDOW_CLOSE)


@login_required
@require_POST
def proctor_access_code(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Change the exam's access code (instructors)."""
    return _exam_action(request, exam_id, ProctorActionKind.ACCESS_CODE)
