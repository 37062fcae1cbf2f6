"""The student's pages of sitting an exam: lobby (cover page), exam page, review, submit, receipt.

Thin interfaces: check access through ``accounts.access``, call one function of
``exams.sittings`` (the rules) or ``exams.selectors`` (the reads), render. The clock is read
once per request. A student reaches only their own sittings; anyone else's is 404, and so is
every sitting page for course staff, who sit no exam.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import access_exam_lobby, access_sitting_for_student, may_see_released_results
from accounts.models import User
from exams.clarifications import ClarificationItem, clarification_ids_seen, clarifications_for
from exams.models import HonorCodeSignature, Sitting, SittingStatus
from exams.selectors import (
    exam_content_version,
    exam_cover,
    exam_navigator_html,
    exam_paper_html,
    sitting_answers,
    sitting_progress,
)
from exams.sitting_api import client_ip
from exams.sittings import (
    CLOSED,
    SittingRefused,
    receipt_display,
    sitting_for,
    sitting_refresh,
    sitting_start,
    sitting_submit,
    window_status,
)

# How each way of closing a sitting reads on the receipt (Sitting.closed_by).
CLOSED_BY = {
    "student": "You submitted it.",
    "timer": "It was submitted for you when the time ran out.",
    "beat": "It was closed at the deadline, with the answers saved by then.",
    "lazy": "It was closed at the deadline, with the answers saved by then.",
    "instructor": "Your instructor closed it.",
}


def _student(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required: never anonymous here


def _time_left(deadline: datetime, now: datetime) -> str:
    """H:MM:SS until the deadline (0:00:00 once past), for pages shown before any script runs."""
    seconds = max(0, int((deadline - now).total_seconds()))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@login_required
@require_http_methods(["GET", "POST"])
def sitting_lobby(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The cover page; signing it (POST) starts the student's sitting.

    Students of the course see a published, non-archived exam; its staff see the cover with
    a link to the preview and no start form; anyone else gets 404. A refused start
    (``SittingRefused``) re-displays the form with the reason, keeping the typed name. A
    start that succeeds only redirects, so the cover is built only for a page that shows it.
    """
    exam, staff = access_exam_lobby(request.user, exam_id)
    student = _student(request)
    now = timezone.now()

    def page(**context: Any) -> HttpResponse:
        context.update(exam=exam, paper=exam_cover(exam), preview=False, now=now)
        return render(request, "exams/sitting_lobby.html", context)

    if staff:
        return page(staff=True, preview_url=reverse("exams:preview", args=[exam.pk]))

    if request.method == "POST":
        typed_name = request.POST.get("signature", "")
        try:
            started = sitting_start(
                exam=exam,
                student=student,
                typed_name=typed_name,
                access_code=request.POST.get("access_code", ""),
                ip=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                now=now,
            )
        except SittingRefused as refusal:
            return page(
                student=student,
                signing=True,
                typed_name=typed_name,
                refusal=refusal,
                window=window_status(exam, now),
            )
        return redirect("exams:sit", started.pk)

    sitting = sitting_for(exam, student)
    context: dict[str, Any] = {}
    if sitting is not None:
        sitting = sitting_refresh(sitting=sitting, now=now)
        context["sitting"] = sitting
        context["signature"] = HonorCodeSignature.objects.filter(sitting=sitting).first()
        context["time_left"] = _time_left(sitting.deadline, now)
    return page(**context, student=student, signing=sitting is None, window=window_status(exam, now))


def _sitting_config(sitting: Sitting, now: datetime) -> dict[str, Any]:
    """What the exam page's script needs, passed with json_script (the DOM contract)."""
    pk = sitting.pk
    return {
        "sitting": pk,
        "exam": sitting.exam_id,
        "deadline": sitting.deadline.isoformat(),
        "server_now": now.isoformat(),
        "grace_seconds": settings.EXAMHALL_SAVE_GRACE_SECONDS,
        "last_seq": sitting.last_seq,
        "status": sitting.status,
        "urls": {
            "state": reverse("sitting-state", args=[pk]),
            "answers": reverse("sitting-answers", args=[pk]),
            "claim": reverse("sitting-claim", args=[pk]),
            "events": reverse("sitting-events", args=[pk]),
            "review": reverse("exams:review", args=[pk]),
            "submit": reverse("exams:submit", args=[pk]),
            "receipt": reverse("exams:receipt", args=[pk]),
            # The script substitutes the question id for the 0.
            "expression_preview": reverse("sitting-expression-preview", args=[pk, 0]),
        },
    }


def _pulse_config(sitting: Sitting, clarifications: list[ClarificationItem]) -> dict[str, Any]:
    """What the exam page's pulse (static/exams/pulse.js) starts from: its URLs, and the
    clarifications already published (shown at once), each saying whether this sitting's pages
    have shown it before (then it is not announced as new)."""
    seen = clarification_ids_seen(sitting) if clarifications else set()
    return {
        "urls": {
            "pulse": reverse("sitting-pulse", args=[sitting.pk]),
            "seen": reverse("sitting-clarifications-seen", args=[sitting.pk]),
        },
        "clarifications": [{**item.as_json(), "seen": item.id in seen} for item in clarifications],
    }


@login_required
@require_GET
@ensure_csrf_cookie  # the page's script sends the CSRF token from the cookie with every save
def sitting_exam(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """The exam page: the cached navigator and paper with live widgets (one check of the
    exam's content version for both), inside the per-student header and data.

    A sitting whose time (with grace) ran out is closed here first; a closed one redirects to
    its receipt. Stored answers reach the page as JSON only (the script fills the widgets). The
    clarifications published so far are on the page; later ones arrive with the pulse.
    """
    now = timezone.now()
    sitting = sitting_refresh(sitting=access_sitting_for_student(request.user, sitting_id), now=now)
    if sitting.status in CLOSED:
        return redirect("exams:receipt", sitting.pk)
    exam = sitting.exam
    version = exam_content_version(exam.pk)
    clarifications = clarifications_for(exam.pk)
    return render(
        request,
        "exams/sitting_exam.html",
        {
            "exam": exam,
            "sitting": sitting,
            "navigator_html": exam_navigator_html(exam.pk, version=version),
            "paper_html": exam_paper_html(exam, version=version),
            "time_left": _time_left(sitting.deadline, now),
            "config": _sitting_config(sitting, now),
            "answers": sitting_answers(sitting),
            "clarifications": clarifications,
            "pulse": _pulse_config(sitting, clarifications),
        },
    )


@login_required
@require_GET
def sitting_review(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """Before submitting: the blank and the flagged questions, and a confirmation form."""
    now = timezone.now()
    sitting = sitting_refresh(sitting=access_sitting_for_student(request.user, sitting_id), now=now)
    if sitting.status in CLOSED:
        return redirect("exams:receipt", sitting.pk)
    return render(
        request,
        "exams/sitting_review.html",
        {
            "exam": sitting.exam,
            "sitting": sitting,
            "progress": sitting_progress(sitting),
            "exam_url": reverse("exams:sit", args=[sitting.pk]),
            "time_left": _time_left(sitting.deadline, now),
        },
    )


def _wants_json(request: HttpRequest) -> bool:
    # A form post from a browser prefers HTML (its Accept lists */* last); the page's
    # script asks for application/json explicitly.
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


@login_required
@require_POST
def sitting_submit_view(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """Submit the sitting, then go to the receipt.

    The review page's form posts here (closed by the student). The exam page's script posts
    here at the deadline with ``Accept: application/json`` (closed by the timer) and gets
    ``{"receipt_url": ...}``. Submitting a closed sitting changes nothing and answers the same.
    """
    now = timezone.now()
    sitting = access_sitting_for_student(request.user, sitting_id)
    as_json = _wants_json(request)
    sitting = sitting_submit(
        sitting=sitting, student=_student(request), now=now, closed_by="timer" if as_json else "student"
    )
    receipt_url = reverse("exams:receipt", args=[sitting.pk])
    if as_json:
        return JsonResponse({"receipt_url": receipt_url, "status": sitting.status})
    return HttpResponseRedirect(receipt_url)


@login_required
@require_GET
def sitting_receipt(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """The receipt of a closed sitting, for as long as the student wants to see it.

    An open sitting has no receipt yet: it redirects to the exam page.
    """
    now = timezone.now()
    sitting = sitting_refresh(sitting=access_sitting_for_student(request.user, sitting_id), now=now)
    if sitting.status not in CLOSED:
        return redirect("exams:sit", sitting.pk)
    return render(
        request,
        "exams/sitting_receipt.html",
        {
            "exam": sitting.exam,
            "sitting": sitting,
            "progress": sitting_progress(sitting),
            "expired": sitting.status == SittingStatus.EXPIRED,
            "closed_by": CLOSED_BY.get(sitting.closed_by, ""),
            "receipt_short": receipt_display(sitting.receipt_code),
            "results_url": (
                reverse("grading:sitting-results", args=[sitting.pk])
                if may_see_released_results(request.user, sitting)
                else None
            ),
        },
    )
