"""The clarifications page of an exam, for its course's staff: publish one, and see the ones
published with how many sittings have shown each.

Thin interfaces: ``accounts.access`` first (instructors and TAs of the course; anyone else gets
404), then ``exams.clarifications``. A publication redirects back with a message (POST, then
GET), so a reload never publishes twice.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.access import access_exam_for_clarifications
from accounts.models import User
from exams.clarification_forms import ClarificationForm
from exams.clarifications import clarification_publish, clarifications_overview


@login_required
@require_http_methods(["GET", "POST"])
def exam_clarifications(request: HttpRequest, exam_id: int) -> HttpResponse:
    exam = access_exam_for_clarifications(request.user, exam_id)
    form = ClarificationForm(exam, request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            clarification = clarification_publish(
                exam=exam,
                message=form.cleaned_data["message"],
                question=form.cleaned_data["question"],
                by=cast(User, request.user),  # login_required: never anonymous here
                now=timezone.now(),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            about = f" about {clarification.question.number}" if clarification.question else ""
            messages.success(request, f"Clarification{about} published: open exam pages show it within seconds.")
            return redirect("exams:clarifications", exam.pk)
    return render(
        request,
        "exams/clarifications.html",
        {"exam": exam, "form": form, "rows": clarifications_overview(exam)},
    )
