"""The results page of an exam, for its course staff: scoring progress, statistics, charts, downloads.

Thin interfaces: each view asks ``accounts.access`` first (404 outside the user's courses,
403 for a TA asking to start scoring), then calls one domain function (``grading.jobs`` to
start a job, ``grading.exports`` for a download) or reads what a job stored and shapes it
for the template. The statistics are those the last successful job computed
(``GradingJob.statistics``, built by ``grading.results.exam_statistics``); the charts are
SVG drawn by ``grading.charts``, so the page needs no script to show them. The one script,
``static/grading/results.js``, polls the job endpoint while a job runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.access import access_exam_for_staff, can_author_course
from accounts.models import User
from exams.kinds import kind_choices
from exams.models import Exam
from grading.charts import facility_discrimination_svg, histogram_svg, option_bars_svg
from grading.exports import BOM, EXPORT_FORMATS, export_filename, grades_export
from grading.jobs import SCORED_STATUSES, job_request
from grading.models import GradingJob, SittingResult
from grading.tasks import job_launch

DASH = "–"
# "Multiple select (choose all that apply)" → "Multiple select": the table has many columns.
KIND_LABELS = {name: label.split(" (")[0] for name, label in kind_choices()}

# What each exam figure means, in a sentence (shown beside the figures and in tooltips).
EXAM_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("n", "Sittings", "Scored sittings: submitted, or closed at the deadline."),
    ("mean", "Mean", "The average total."),
    ("median", "Median", "Half the sittings scored this total or less."),
    ("sd", "Standard deviation", "How far totals typically lie from the mean."),
    ("min", "Lowest total", "The lowest total."),
    ("max", "Highest total", "The highest total, extra credit included."),
    (
        "skewness",
        "Skewness",
        "Asymmetry of the totals: negative when most totals are high with a tail of low ones, "
        "positive when most are low with a tail of high ones, 0 when symmetric.",
    ),
    (
        "kurtosis",
        "Kurtosis",
        "Weight of the tails compared with a normal distribution (0): positive when there are more "
        "extreme totals than a bell curve has, negative when fewer.",
    ),
    (
        "cic",
        "Coefficient of internal consistency (CIC)",
        "Cronbach's alpha, in percent: how consistently the questions rank the students. "
        "Higher is better; a low value means the totals carry much random noise.",
    ),
    (
        "error_ratio",
        "Error ratio",
        "The share of the spread of totals due to random error, estimated from CIC as √(1 − CIC). Lower is better.",
    ),
    (
        "standard_error",
        "Standard error",
        "The uncertainty of one student's total, in points: SD × √(1 − CIC). Totals closer than about "
        "twice this cannot be told apart with confidence.",
    ),
)

# What each column of the per-question table means.
QUESTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Facility", "The share of the question's marks earned on average: 0% nobody scored, 100% everybody full marks."),
    ("SD", "The spread of the question's points, as a share of its range."),
    (
        "Discrimination index",
        "The correlation, in percent, between the question's points and the rest of the exam: do strong "
        "students do better on it? Negative values suggest a wrong key or a misleading question.",
    ),
    (
        "Discriminative efficiency",
        "The discrimination index as a share of the highest this question's score distribution allows; "
        "below 15% is flagged.",
    ),
    ("Intended weight", "The question's share of the exam's maximum."),
    ("Effective weight", "The question's actual share of the spread of totals."),
    ("Random-guess score", "The points a blind guess earns on average, under the question's policy."),
    ("Blank", "The share of sittings that left the question blank."),
)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str
    explanation: str


@dataclass(frozen=True)
class GridAccuracy:
    answered: int
    rows: list[list[str]]


@dataclass(frozen=True)
class QuestionRow:
    number: str
    kind: str
    max_points: str
    extra_credit: bool
    facility: str
    sd: str
    discrimination_index: str
    discriminative_efficiency: str
    intended_weight: str
    effective_weight: str
    random_guess_score: str
    blank_rate: str
    flags: list[str]
    options_chart: SafeString | None
    grid: GridAccuracy | None


@login_required
@require_GET
def exam_results(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam's results for its staff; instructors also get the "Score all sittings" button."""
    exam = access_exam_for_staff(request.user, exam_id)
    context = _results_context(exam)
    context["can_score"] = can_author_course(request.user, exam.course_id)
    return render(request, "grading/exam_results.html", context)


@login_required
@require_POST
def exam_score(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Start scoring every closed sitting (instructors only); a second press joins the running job."""
    exam = access_exam_for_staff(request.user, exam_id, write=True)
    instructor = cast(User, request.user)  # login_required: never anonymous here
    job, created = job_request(exam=exam, trigger=GradingJob.Trigger.BUTTON, requested_by=instructor)
    if created:
        job_launch(job)
        messages.success(
            request, "Scoring has started. This page follows its progress and shows the results when done."
        )
    else:
        messages.info(
            request,
            f"A scoring job for this exam is already {job.get_status_display().lower()}: "
            "no second one was started. Its progress is shown below.",
        )
    return redirect("grading:results", exam.pk)


@login_required
@require_GET
@never_cache
def exam_job(request: HttpRequest, exam_id: int) -> JsonResponse:
    """``{"job": {...}}``: the exam's latest scoring job, or ``{"job": null}``, for the progress bar."""
    exam = access_exam_for_staff(request.user, exam_id)
    return JsonResponse({"job": _job_json(GradingJob.objects.filter(exam=exam).first())})


@login_required
@require_GET
@never_cache
def exam_export(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The exam's grades as a CSV download: ``?format=csv`` (per question) or ``?format=canvas``."""
    exam = access_exam_for_staff(request.user, exam_id)
    fmt = request.GET.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        return HttpResponseBadRequest(
            f"Unknown format: choose {' or '.join(EXPORT_FORMATS)}.", content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(BOM + grades_export(exam, fmt=fmt), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, export_filename(exam, fmt=fmt))
    return response


# --- shaping what the jobs stored for the page ---------------------------------------------------


def _job_json(job: GradingJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_label": job.get_status_display(),
        "active": job.active,
        "progress_percent": job.progress_percent,
        "chunks_done": job.chunks_done,
        "chunks_total": job.chunks_total,
        "sittings_done": job.sittings_done,
        "sittings_total": job.sittings_total,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _results_context(exam: Exam) -> dict[str, Any]:
    """Everything the page shows: the latest job, the last statistics, counts, charts and tables."""
    job = GradingJob.objects.filter(exam=exam).select_related("requested_by").first()
    scored = (
        GradingJob.objects.filter(exam=exam, status=GradingJob.Status.SUCCEEDED, statistics__isnull=False)
        .order_by("-finished_at", "-pk")
        .first()
    )
    results = SittingResult.objects.filter(exam=exam, sitting__status__in=SCORED_STATUSES)
    counts = results.aggregate(pending=Sum("pending_manual"))
    context: dict[str, Any] = {
        "exam": exam,
        "job": job,
        "scored_job": scored,
        "closed_sittings": exam.sittings.filter(status__in=SCORED_STATUSES).count(),
        "results_count": results.count(),
        "pending_manual": counts["pending"] or 0,
        "pending_sittings": results.filter(pending_manual__gt=0).count(),
        "job_url": reverse("grading:job", args=[exam.pk]),
        "score_url": reverse("grading:score", args=[exam.pk]),
        "export_csv_url": reverse("grading:export", args=[exam.pk]) + "?format=csv",
        "export_canvas_url": reverse("grading:export", args=[exam.pk]) + "?format=canvas",
        "admin_url": reverse("admin:exams_exam_change", args=[exam.pk]),
        "question_columns": QUESTION_COLUMNS,
    }
    statistics = scored.statistics if scored is not None else None
    if statistics and statistics["exam"]["n"]:
        questions = statistics["questions"]
        context.update(
            statistics=statistics,
            figures=_figures(statistics["exam"], max_total=float(statistics["max_total"])),
            max_total=_points(statistics["max_total"]),
            histogram=histogram_svg(statistics["exam"]["histogram"], max_total=float(statistics["max_total"])),
            scatter=facility_discrimination_svg(questions),
            question_rows=[_question_row(question) for question in questions],
            flagged_count=sum(1 for question in questions if question["flags"]),
        )
    return context


def _figures(exam: Mapping[str, Any], *, max_total: float) -> list[Figure]:
    def shown(key: str) -> str:
        value = exam.get(key)
        if value is None:
            return DASH
        if key == "n":
            return str(value)
        if key in ("cic", "error_ratio"):
            return f"{value:.1f}%"
        if key in ("skewness", "kurtosis"):
            return f"{value:.2f}"
        text = f"{value:.2f} points"
        return f"{text} of {max_total:g}" if key == "mean" else text

    return [Figure(key, label, shown(key), explanation) for key, label, explanation in EXAM_FIGURES]


def _question_row(question: Mapping[str, Any]) -> QuestionRow:
    distractors = question.get("distractors")
    grid = question.get("grid")
    return QuestionRow(
        number=str(question["number"]),
        kind=KIND_LABELS.get(question["kind"], question["kind"]),
        max_points=_points(question["max_points"]),
        extra_credit=bool(question.get("extra_credit")),
        facility=_percent(question.get("facility"), scale=100),
        sd=_percent(question.get("sd"), scale=100),
        discrimination_index=_percent(question.get("discrimination_index")),
        discriminative_efficiency=_percent(question.get("discriminative_efficiency")),
        intended_weight=_percent(question.get("intended_weight")),
        effective_weight=_percent(question.get("effective_weight")),
        random_guess_score=DASH
        if question.get("random_guess_score") is None
        else _points(question["random_guess_score"]),
        blank_rate=_percent(question.get("blank_rate"), scale=100),
        flags=[str(flag) for flag in question.get("flags") or []],
        options_chart=(
            option_bars_svg(distractors, number=str(question["number"]), chart_id=f"options-q{question['question_id']}")
            if distractors
            else None
        ),
        grid=_grid_accuracy(grid) if grid else None,
    )


def _grid_accuracy(grid: Mapping[str, Any]) -> GridAccuracy:
    cells: Sequence[float | None] = grid.get("cells") or []
    rows = int(grid.get("rows") or 1)
    columns = max(1, len(cells) // rows) if cells else 1
    table = [
        [_percent(cell, scale=100) for cell in cells[start : start + columns]]
        for start in range(0, len(cells), columns)
    ]
    return GridAccuracy(answered=int(grid.get("answered") or 0), rows=table)


def _percent(value: float | None, *, scale: float = 1.0) -> str:
    return DASH if value is None else f"{value * scale:.1f}%"


def _points(value: float | int) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".")
