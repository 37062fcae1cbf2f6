"""Staff pages of the exams app: "preview as student", and Markdown rendering for live previews."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import access_exam_for_staff, is_course_staff
from exams.markdown import render_markdown
from exams.selectors import exam_paper

# Bigger than any prompt; small enough that a preview request stays cheap.
MAX_PREVIEW_CHARS = 100_000


@login_required
@require_GET
def exam_preview(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam exactly as a student will see it, with every answer widget disabled.

    Built from ``exam_paper`` alone, which carries no answer key. Course staff only; for
    anyone else the exam does not exist (404).
    """
    exam = access_exam_for_staff(request.user, exam_id)
    return render(
        request,
        "exams/paper_preview.html",
        {
            "paper": exam_paper(exam),
            "preview": True,
            "admin_url": reverse("admin:exams_exam_change", args=[exam.pk]),
        },
    )


@require_POST
def markdown_preview(request: HttpRequest) -> JsonResponse:
    """``{"html": ...}`` for the posted ``text``, rendered as students will see it.

    For the admin's live preview: course staff only, CSRF-protected like every POST.
    """
    if not is_course_staff(request.user):
        return JsonResponse({"error": "Only course staff may preview."}, status=403)
    text = request.POST.get("text", "")
    if len(text) > MAX_PREVIEW_CHARS:
        return JsonResponse({"error": f"The text is longer than {MAX_PREVIEW_CHARS} characters."}, status=400)
    return JsonResponse({"html": str(render_markdown(text))})
