"""The integrity report of an exam, for its course staff: the page and its CSV download.

Thin interfaces: each view asks ``accounts.access`` first (its instructors and TAs; anyone
else gets 404, so the exam's existence does not leak), calls ``grading.integrity.integrity_report``
once, and renders it. The page needs no script.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.access import access_exam_for_staff
from exams.models import SittingStatus
from grading.exports import BOM
from grading.integrity import (
    FLAG_ALPHA,
    PairRow,
    SittingFlags,
    integrity_csv,
    integrity_filename,
    integrity_report,
)

STATUS_LABELS = dict(SittingStatus.choices)
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class SittingLine:
    row: SittingFlags
    status: str
    admin_url: str


@dataclass(frozen=True)
class PairLine:
    row: PairRow
    expected: str
    p_value: str
    adjusted_p_value: str
    first_url: str
    second_url: str


@login_required
@require_GET
@never_cache
def integrity_page(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Both tables of the report, with what their numbers mean."""
    exam = access_exam_for_staff(request.user, exam_id)
    report = integrity_report(exam.pk)
    similarity = report.similarity
    context = {
        "exam": exam,
        "report": report,
        "similarity": similarity,
        "model": similarity.model,
        "sitting_lines": [
            SittingLine(row, STATUS_LABELS.get(row.status, row.status), _sitting_url(row.sitting_id))
            for row in report.sittings
        ],
        "pair_lines": [_pair_line(pair) for pair in similarity.pairs],
        "report_p": probability(similarity.report_p),
        "flag_alpha": f"{FLAG_ALPHA:g}",
        "hidden_pairs": similarity.model.reported_total - len(similarity.pairs),
        "results_url": reverse("grading:results", args=[exam.pk]),
        "csv_url": reverse("grading:integrity-csv", args=[exam.pk]),
    }
    return render(request, "grading/integrity.html", context)


@login_required
@require_GET
@never_cache
def integrity_export(request: HttpRequest, exam_id: int) -> HttpResponse:
    """The report as a CSV download: flagged sittings, then reported pairs (a ``kind`` column)."""
    exam = access_exam_for_staff(request.user, exam_id)
    response = HttpResponse(BOM + integrity_csv(integrity_report(exam.pk)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, integrity_filename(exam))
    return response


def probability(value: float) -> str:
    """0.0527, 0.001, 3.6 × 10⁻⁵: three significant figures, powers of ten below 0.001."""
    if value == 0:
        return "0"
    if value >= 0.001:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{float(mantissa):g} × 10{str(int(exponent)).translate(SUPERSCRIPTS)}"


def _sitting_url(sitting_id: int) -> str:
    return reverse("admin:exams_sitting_change", args=[sitting_id])


def _pair_line(pair: PairRow) -> PairLine:
    return PairLine(
        row=pair,
        expected=f"{pair.expected:.2f}",
        p_value=probability(pair.p_value),
        adjusted_p_value=probability(pair.adjusted_p_value),
        first_url=_sitting_url(pair.first.sitting_id),
        second_url=_sitting_url(pair.second.sitting_id),
    )
