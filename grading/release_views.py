"""Releasing an exam's grades, the student's results, and regrade requests.

Thin interfaces: each view asks ``accounts.access`` first, then calls one domain function
(``grading.release_services``, ``grading.release``) or one read (``grading.release_selectors``),
and renders. The clock is read once per request.

- The release page is the instructors' (a TA gets 403, anyone else 404).
- A student's results exist for them only once the exam's grades are released: before that,
  and for anyone else's sitting, the page is 404 (``access_released_sitting_for_student``).
- The regrade queue is the course staff's; a reply may change the answer's grade (audited as
  a regrade), or the grader changes it on the evaluation page, reached with ``?regrade=``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import (
    access_exam_for_release,
    access_exam_for_staff,
    access_regrade_for_grader,
    access_released_score_for_student,
    access_released_sitting_for_student,
    access_sitting_for_release_preview,
    may_release_grades,
    may_reveal_names,
)
from accounts.models import User
from grading.models import RubricItem
from grading.release import regrade_open
from grading.release_forms import RegradeReplyForm, RegradeRequestForm, ReleaseForm
from grading.release_selectors import (
    RegradeRow,
    evaluation_page_exists,
    regrade_queue,
    release_overview,
    sitting_results,
)
from grading.release_services import regrade_answer, release_publish
from grading.review import StaleEvaluation, evaluation_for


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required: never anonymous here


def _messages(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


# --- the instructors' release page ----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def exam_release(request: HttpRequest, exam_id: int) -> HttpResponse:
    """What students will see, what still waits for a grader, and the release (or, once
    released, the regrade deadline) form."""
    exam = access_exam_for_release(request.user, exam_id)
    now = timezone.now()
    overview = release_overview(exam)
    initial = {"regrade_deadline": overview.release.regrade_deadline} if overview.release else {}
    form = ReleaseForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        released_before = overview.release is not None
        try:
            release_publish(
                exam=exam,
                by=_user(request),
                now=now,
                regrade_deadline=form.cleaned_data["regrade_deadline"],
                confirm_pending=form.cleaned_data["confirm_pending"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if released_before:
                messages.success(request, "The regrade deadline is saved.")
            else:
                messages.success(request, "Grades are released: students can now see their results.")
            return redirect("grading:release", exam.pk)
    return render(
        request,
        "grading/release_exam.html",
        {
            "exam": exam,
            "overview": overview,
            "form": form,
            "now": now,
            "time_zone": timezone.get_current_timezone_name(),
            "results_url": reverse("grading:results", args=[exam.pk]),
            "regrades_url": reverse("grading:regrades", args=[exam.pk]),
            "preview_url": (
                reverse("grading:release-preview", args=[exam.pk, overview.preview_sitting_id])
                if overview.preview_sitting_id
                else None
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def release_preview(request: HttpRequest, exam_id: int, sitting_id: int) -> HttpResponse:
    """One sitting's results page as its student sees it once released, for the instructors."""
    sitting = access_sitting_for_release_preview(request.user, exam_id, sitting_id)
    results = sitting_results(sitting, now=timezone.now(), preview=True)
    return render(request, "grading/release_results.html", {"results": results, "preview": True})


# --- the student's results and regrade requests ---------------------------------------------------


@login_required
@require_GET
def sitting_results_view(request: HttpRequest, sitting_id: int) -> HttpResponse:
    sitting = access_released_sitting_for_student(request.user, sitting_id)
    results = sitting_results(sitting, now=timezone.now())
    return render(request, "grading/release_results.html", {"results": results, "preview": False})


@login_required
@require_POST
def regrade_request(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """A student's regrade request on one question of their released sitting. A refused request
    shows the results page again with the reason and what they typed."""
    sitting = access_released_sitting_for_student(request.user, sitting_id)
    form = RegradeRequestForm(request.POST)
    score_id = form.data.get("score", "")
    if not str(score_id).isdigit():
        return HttpResponseBadRequest("Which question? The form names none.", content_type="text/plain; charset=utf-8")
    score = access_released_score_for_student(request.user, sitting.pk, int(score_id))
    now = timezone.now()
    error = ""
    if form.is_valid():
        try:
            regrade_open(
                sitting=sitting, score=score, student=_user(request), reason=form.cleaned_data["reason"], now=now
            )
        except ValidationError as refusal:
            error = " ".join(_messages(refusal))
        else:
            messages.success(
                request, f"Your regrade request on question {score.question.number} is sent. The reply will show here."
            )
            url = reverse("grading:sitting-results", args=[sitting.pk])
            return HttpResponseRedirect(f"{url}#question-{score.question_id}")
    else:
        error = " ".join(str(message) for found in form.errors.values() for message in found)
    results = sitting_results(sitting, now=now)
    shown = results.question_with_score(score.pk)
    if shown is not None:
        shown.regrade_error = error
        shown.regrade_reason = str(form.data.get("reason", ""))
    return render(request, "grading/release_results.html", {"results": results, "preview": False}, status=400)


# --- the staff's regrade queue --------------------------------------------------------------------


@dataclass(frozen=True)
class RefusedReply:
    """A reply that was not saved, shown again in its row with what the grader entered."""

    request_id: int
    reply: str
    errors: tuple[str, ...]
    item_ids: frozenset[int]
    adjustment: str
    comment: str

    def onto(self, row: RegradeRow) -> RegradeRow:
        if row.request.pk != self.request_id:
            return row
        return replace(
            row,
            reply=self.reply,
            errors=self.errors,
            adjustment=self.adjustment,
            comment=self.comment,
            rubric=[replace(choice, applied=choice.id in self.item_ids) for choice in row.rubric],
        )


def _queue_page(request: HttpRequest, exam_id: int, refused: RefusedReply | None = None) -> HttpResponse:
    exam = access_exam_for_staff(request.user, exam_id)
    rows = regrade_queue(exam, reveal_names=may_reveal_names(request.user, exam.course_id))
    if refused is not None:
        rows = [refused.onto(row) for row in rows]
    return render(
        request,
        "grading/release_regrades.html",
        {
            "exam": exam,
            "rows": rows,
            "open_count": sum(1 for row in rows if row.open),
            "can_release": may_release_grades(request.user, exam.course_id),
            "evaluation_page": evaluation_page_exists(),
            "results_url": reverse("grading:results", args=[exam.pk]),
        },
        status=200 if refused is None else 400,
    )


@login_required
@require_GET
def exam_regrades(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam's regrade requests for its staff: open ones first, each with a reply form."""
    return _queue_page(request, exam_id)


@login_required
@require_POST
def regrade_reply_view(request: HttpRequest, request_id: int) -> HttpResponse:
    """A grader's reply, with the answer's grade as it should end (changed only if it differs)."""
    regrade = access_regrade_for_grader(request.user, request_id)
    exam_id = regrade.score.question.exam_id
    items = list(RubricItem.objects.filter(rubric__question_id=regrade.score.question_id, active=True))
    # A field's errors read "Adjustment: …"; a refusal of the whole reply reads as it is.
    form = RegradeReplyForm(request.POST, rubric_items=items)
    errors: list[str] = []
    if form.is_valid():
        try:
            regrade_answer(
                request=regrade,
                by=_user(request),
                reply=form.cleaned_data["reply"],
                now=timezone.now(),
                grade=form.grade_change(),
            )
        except ValidationError as refusal:
            errors = _messages(refusal)
        except StaleEvaluation as stale:
            errors = [str(stale)]
        else:
            messages.success(request, f"Your reply on question {regrade.score.question.number} is sent to the student.")
            return HttpResponseRedirect(reverse("grading:regrades", args=[exam_id]) + f"#regrade-{regrade.pk}")
    else:
        errors = [
            f"{'' if name == '__all__' else f'{form.fields[name].label}: '}{' '.join(str(m) for m in found)}"
            for name, found in form.errors.items()
        ]
    refused = RefusedReply(
        request_id=regrade.pk,
        reply=request.POST.get("reply", ""),
        errors=tuple(errors),
        item_ids=frozenset(int(value) for value in request.POST.getlist("items") if value.isdigit()),
        adjustment=request.POST.get("adjustment", "0"),
        comment=request.POST.get("comment", ""),
    )
    return _queue_page(request, exam_id, refused)


@login_required
@require_GET
def regrade_grade(request: HttpRequest, request_id: int) -> HttpResponse:
    """To the evaluation page of the request's answer (made if missing), marked as a regrade."""
    regrade = access_regrade_for_grader(request.user, request_id)
    if not evaluation_page_exists():
        raise Http404("The evaluation page is not installed.")
    evaluation = evaluation_for(regrade.score)
    return HttpResponseRedirect(reverse("grading:evaluation", args=[evaluation.pk]) + f"?regrade={regrade.pk}")
