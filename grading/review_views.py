"""Grading by hand, for a course's instructors and TAs: the exam's grading dashboard, grading a
question answer by answer from its queue, overriding an automatic score, and an answer's page.

Thin interfaces: each view asks ``accounts.access`` first (404 outside the user's courses), then
calls one function of ``grading.review`` (claim the next answer, give it back, save a grade) or
reads through ``grading.review_selectors``, and renders. The clock is read once per request.

Grading is anonymous: no page names the student, except the answer's page for an instructor who
asks (``?reveal=1`` and ``accounts.access.may_reveal_names``). The answer's page is keyboard
first (``static/grading/review.js``); without JavaScript it is a plain form that works the same.

- ``grade/`` claims the next ungraded answer of a question (``evaluation_next``) and redirects to
  its page; ``?skip=`` carries the answers the grader passed over in this round.
- Saving checks the version the page was loaded with: a save from a stale page is refused with the
  grade as it now stands, and the grader's input is shown again, not lost.
- An automatically scored answer is changed by an override: the policy's points are the start,
  the grader adjusts them, and says why.
- ``?regrade=<id>`` (from the regrade queue) saves the change as a regrade and returns to the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import (
    access_evaluation_for_grader,
    access_exam_for_staff,
    access_question_for_grader,
    access_regrade_for_grader,
    access_score_for_grader,
    may_reveal_names,
)
from accounts.models import User
from exams.kinds import get_kind
from exams.markdown import render_markdown
from exams.models import Question
from grading.answers import answer_display
from grading.models import Evaluation, GradeEvent, RegradeRequest
from grading.review import StaleEvaluation, evaluation_for, evaluation_next, evaluation_release, evaluation_save
from grading.review_selectors import (
    RubricShown,
    answer_value,
    evaluation_place,
    grade_history,
    graded_by_hand,
    grading_dashboard,
    policy_explanation,
    prompts_html,
    question_answers,
    rubric_shown,
    ungraded_count,
)
from grading.scoring import format_points

MAX_SKIPPED = 500


def _grader(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required: never anonymous here


def _skipped(text: str) -> list[int]:
    """The ids in ``?skip=3,9,12`` (bad pieces ignored, at most MAX_SKIPPED)."""
    ids = [int(piece) for piece in text.split(",") if piece.strip().isdigit()]
    return list(dict.fromkeys(ids))[:MAX_SKIPPED]


def _with_skip(url: str, skipped: list[int]) -> str:
    return f"{url}?{urlencode({'skip': ','.join(map(str, skipped))})}" if skipped else url


def rubric_editor_url(question_id: int) -> str:
    """The rubric editor of the question (another page; its path if its URL is not installed)."""
    try:
        return reverse("grading:rubric", args=[question_id])
    except NoReverseMatch:
        return f"/grading/questions/{question_id}/rubric/"


# --- the dashboard and a question's answers ---------------------------------------------------------


@login_required
@require_GET
@never_cache
def grading_dashboard_view(request: HttpRequest, exam_id: int) -> HttpResponse:
    """Every question of the exam graded by hand with its progress and graders, and the
    automatically scored ones with their answers to override."""
    exam = access_exam_for_staff(request.user, exam_id)
    dashboard = grading_dashboard(exam, now=timezone.now())
    return render(
        request,
        "grading/review_dashboard.html",
        {
            "exam": exam,
            "dashboard": dashboard,
            "results_url": reverse("grading:results", args=[exam.pk]),
            "by_hand": [(row, rubric_editor_url(row.question.pk)) for row in dashboard.by_hand],
        },
    )


@login_required
@require_GET
@never_cache
def question_answers_view(request: HttpRequest, question_id: int) -> HttpResponse:
    """Every scored answer to the question, anonymous and numbered, each linked to its page."""
    question = access_question_for_grader(request.user, question_id)
    return render(
        request,
        "grading/review_answers.html",
        {
            "exam": question.exam,
            "question": question,
            "by_hand": graded_by_hand(question),
            "rows": question_answers(question),
            "dashboard_url": reverse("grading:grading-dashboard", args=[question.exam_id]),
        },
    )


# --- moving through the queue --------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def grade_next(request: HttpRequest, question_id: int) -> HttpResponse:
    """Claim the next ungraded answer of the question for this grader and go to its page; back to
    the dashboard, saying why, when none is left for them."""
    question = access_question_for_grader(request.user, question_id)
    dashboard = reverse("grading:grading-dashboard", args=[question.exam_id]) + f"#question-{question.pk}"
    if not graded_by_hand(question):
        return HttpResponseRedirect(reverse("grading:question-answers", args=[question.pk]))
    skipped = _skipped(request.GET.get("skip", ""))
    evaluation = evaluation_next(question_id=question.pk, grader=_grader(request), now=timezone.now(), skip=skipped)
    if evaluation is not None:
        return HttpResponseRedirect(_with_skip(reverse("grading:evaluation", args=[evaluation.pk]), skipped))
    waiting = ungraded_count(question.pk)
    if not waiting:
        messages.success(request, f"All answers to question {question.number} are graded.")
    elif skipped:
        messages.info(
            request,
            f"No other answer to question {question.number} is waiting for you: {waiting} still ungraded "
            "are ones you skipped or another grader holds. Grade again to go through the ones you skipped.",
        )
    else:
        messages.info(
            request,
            f"No answer to question {question.number} is free: the {waiting} still ungraded are held by "
            "other graders. Try again in a few minutes.",
        )
    return HttpResponseRedirect(dashboard)


@login_required
@require_POST
def evaluation_skip(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    """Give the answer back to the queue and go to the next one, passing this one over for the round."""
    evaluation = access_evaluation_for_grader(request.user, evaluation_id)
    evaluation_release(evaluation=evaluation, grader=_grader(request))
    skipped = [*_skipped(request.POST.get("skip", "")), evaluation.pk]
    return HttpResponseRedirect(_with_skip(reverse("grading:grade-next", args=[evaluation.question_id]), skipped))


@login_required
@require_GET
def score_evaluation(request: HttpRequest, score_id: int) -> HttpResponse:
    """To the page of any scored answer (its evaluation is made if missing: an override of an
    automatic score starts there)."""
    score = access_score_for_grader(request.user, score_id)
    evaluation = evaluation_for(score)
    return HttpResponseRedirect(reverse("grading:evaluation", args=[evaluation.pk]))


# --- one answer -----------------------------------------------------------------------------------


class EvaluationForm(forms.Form):
    """What the grader decides: rubric items, an adjustment, a comment (and, for an override or a
    change, a reason); ``version`` is the one the page was loaded with."""

    items = forms.TypedMultipleChoiceField(coerce=int, required=False)
    adjustment = forms.DecimalField(max_digits=7, decimal_places=2, required=False)
    comment = forms.CharField(required=False, max_length=5000)
    reason = forms.CharField(required=False, max_length=300)
    version = forms.IntegerField(min_value=0)

    def __init__(self, *args: Any, item_ids: list[int], reason_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = cast(forms.TypedMultipleChoiceField, self.fields["items"])
        items.choices = [(str(pk), str(pk)) for pk in item_ids]
        items.error_messages["invalid_choice"] = "Choose items of this question's rubric; reload if it changed."
        self.fields["adjustment"].error_messages["invalid"] = "The adjustment is a number of points, e.g. -0.5."
        self.reason_required = reason_required

    def clean_comment(self) -> str:
        return str(self.cleaned_data.get("comment") or "").replace("\r\n", "\n")

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data.get("reason") or "").strip()
        if self.reason_required and not reason:
            raise ValidationError("Say why the automatic score is overridden (the audit keeps it).")
        return reason


@dataclass
class Entry:
    """The grader's input as the form shows it (loaded from the evaluation, or as they sent it)."""

    items: set[int]
    adjustment: str
    comment: str
    reason: str
    version: int
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def error_messages(self) -> list[str]:
        return [message for found in self.errors.values() for message in found]

    @classmethod
    def of(cls, evaluation: Evaluation, *, reason: str = "") -> Entry:
        return cls(
            items=set(evaluation.items.values_list("pk", flat=True)),
            adjustment=_decimal_text(evaluation.adjustment),
            comment=evaluation.comment,
            reason=reason,
            version=evaluation.version,
        )

    @classmethod
    def sent(cls, data: Any, *, version: int) -> Entry:
        return cls(
            items={int(value) for value in data.getlist("items") if value.isdigit()},
            adjustment=data.get("adjustment", ""),
            comment=data.get("comment", ""),
            reason=data.get("reason", ""),
            version=version,
        )


@dataclass(frozen=True)
class Stale:
    """The grade as it stands after someone else's save, beside the grader's unsaved input."""

    points: str
    graded_by: str
    graded_at: datetime | None
    items: list[str]
    adjustment: str
    comment: str


def _decimal_text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _open_regrade(request: HttpRequest, evaluation: Evaluation) -> RegradeRequest | None:
    """The regrade request named by ``?regrade=``, if it is one on this answer."""
    value = request.GET.get("regrade", "")
    if not value.isdigit():
        return None
    regrade = access_regrade_for_grader(request.user, int(value))
    return regrade if regrade.score_id == evaluation.score_id else None


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def evaluation_page(request: HttpRequest, evaluation_id: int) -> HttpResponse:
    """One answer with its rubric: GET shows it, POST saves the grader's decision and moves on."""
    evaluation = access_evaluation_for_grader(request.user, evaluation_id)
    question = evaluation.question
    grader = _grader(request)
    now = timezone.now()
    rubric = rubric_shown(question, auto_points=evaluation.score.auto_points)
    skipped = _skipped(request.GET.get("skip", "") or request.POST.get("skip", ""))
    regrade = _open_regrade(request, evaluation)
    if request.method != "POST":
        return _page(request, evaluation, rubric, Entry.of(evaluation), now=now, skipped=skipped, regrade=regrade)

    form = EvaluationForm(request.POST, item_ids=[item.id for item in rubric.items], reason_required=rubric.override)
    if not form.is_valid():
        sent_version = request.POST.get("version", "")
        entry = Entry.sent(request.POST, version=int(sent_version) if sent_version.isdigit() else evaluation.version)
        entry.errors = {name: [str(message) for message in found] for name, found in form.errors.items()}
        return _page(request, evaluation, rubric, entry, now=now, skipped=skipped, regrade=regrade, status=400)
    data = form.cleaned_data
    try:
        saved = evaluation_save(
            evaluation_id=evaluation.pk,
            grader=grader,
            item_ids=data["items"],
            adjustment=data["adjustment"] or Decimal(0),
            comment=data["comment"],
            version=data["version"],
            now=now,
            reason=data["reason"] or (f"Regrade request: {regrade.reason}" if regrade else ""),
            event_source=GradeEvent.Source.REGRADE if regrade else GradeEvent.Source.MANUAL,
        )
    except StaleEvaluation:
        current = evaluation
        current.refresh_from_db()
        current.score.refresh_from_db()
        stale = Stale(
            points="—" if current.points is None else format_points(current.points),
            graded_by=(current.graded_by.full_name or current.graded_by.net_id) if current.graded_by else "",
            graded_at=current.graded_at,
            items=[
                f"{format_points(item.points, signed=True)} {item.description}"
                for item in current.items.order_by("position", "pk")
            ],
            adjustment=_decimal_text(current.adjustment),
            comment=current.comment,
        )
        # The grader's input stays on the page; the version moves on so that saving again is a
        # deliberate replacement of the grade they have now seen.
        entry = Entry.sent(request.POST, version=current.version)
        return _page(
            request, current, rubric, entry, now=now, skipped=skipped, regrade=regrade, stale=stale, status=409
        )
    except ValidationError as error:
        entry = Entry.sent(request.POST, version=data["version"])
        entry.errors = {"items": error.messages}
        return _page(request, evaluation, rubric, entry, now=now, skipped=skipped, regrade=regrade, status=400)

    place = evaluation_place(saved)
    messages.success(
        request,
        f"Saved submission #{place.number} of question {question.number}: "
        f"{format_points(saved.points or 0)} of {format_points(question.points)} points.",
    )
    if regrade is not None:
        return HttpResponseRedirect(reverse("grading:regrades", args=[question.exam_id]) + f"#regrade-{regrade.pk}")
    if rubric.override:
        return HttpResponseRedirect(reverse("grading:question-answers", args=[question.pk]))
    return HttpResponseRedirect(_with_skip(reverse("grading:grade-next", args=[question.pk]), skipped))


def _page(
    request: HttpRequest,
    evaluation: Evaluation,
    rubric: RubricShown,
    entry: Entry,
    *,
    now: datetime,
    skipped: list[int],
    regrade: RegradeRequest | None,
    stale: Stale | None = None,
    status: int = 200,
) -> HttpResponse:
    question: Question = evaluation.question
    exam = question.exam
    place = evaluation_place(evaluation)
    value = answer_value(evaluation)
    can_reveal = may_reveal_names(request.user, exam.course_id)
    student = evaluation.sitting.student if can_reveal and request.GET.get("reveal") == "1" else None
    by_hand = graded_by_hand(question)
    neighbour = "grading:evaluation" if by_hand else "grading:score-evaluation"
    claim_holder = (
        evaluation.claimed_by
        if evaluation.claimed_by_id
        and evaluation.claimed_by_id != request.user.pk
        and evaluation.graded_at is None
        and evaluation.claimed_until
        and evaluation.claimed_until > now
        else None
    )
    key = get_kind(question.kind).describe_key(question.config, question.key, [])
    here = reverse("grading:evaluation", args=[evaluation.pk])
    score = evaluation.score
    return render(
        request,
        "grading/review_evaluation.html",
        {
            "exam": exam,
            "question": question,
            "evaluation": evaluation,
            "score": score,
            "place": place,
            "prompts": prompts_html(question),
            "model_answer_html": render_markdown(key) if key and by_hand else None,
            "solution_html": render_markdown(question.solution) if question.solution.strip() else None,
            "answer": answer_display(question, value),
            "rubric": rubric,
            "rubric_data": rubric.data(),
            "entry": entry,
            "stale": stale,
            "by_hand": by_hand,
            "override": rubric.override,
            "policy_points": format_points(score.auto_points),
            "policy_explanation": policy_explanation(question, value) if rubric.override else "",
            "max_points": format_points(question.points),
            "current_points": None if score.needs_manual else format_points(score.points),
            "graded_by": evaluation.graded_by if evaluation.graded_at else None,
            "claim_holder": claim_holder,
            "events": grade_history(score.pk),
            "student": student,
            "can_reveal": can_reveal,
            "revealed": student is not None,
            "reveal_url": here + "?reveal=1",
            "hide_url": here,
            "regrade": regrade,
            "skip": ",".join(map(str, skipped)),
            "previous_url": reverse(neighbour, args=[place.previous]) if place.previous else None,
            "next_url": reverse(neighbour, args=[place.next]) if place.next else None,
            "action_url": here + (f"?regrade={regrade.pk}" if regrade else ""),
            "skip_url": reverse("grading:evaluation-skip", args=[evaluation.pk]),
            "dashboard_url": reverse("grading:grading-dashboard", args=[exam.pk]),
            "answers_url": reverse("grading:question-answers", args=[question.pk]),
            "rubric_url": rubric_editor_url(question.pk),
            "regrades_url": reverse("grading:regrades", args=[exam.pk]) if regrade else None,
        },
        status=status,
    )
