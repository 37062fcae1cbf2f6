"""Reads for the release pages: what an instructor checks before releasing, a student's
released results, and the regrade queue.

``sitting_results`` is the only place that puts scores, keys, solutions, rubric explanations
and graders' comments in front of a student. It does not check that the grades are released:
its callers reach it through ``accounts.access.access_released_sitting_for_student`` (or the
instructors' preview), and nothing else calls it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.safestring import SafeString

from exams.kinds import ChoiceData, get_kind
from exams.markdown import render_markdown
from exams.models import Answer, Choice, Exam, Question, Sitting
from exams.selectors import PaperQuestion, exam_paper
from grading.answers import AnswerDisplay, answer_display
from grading.jobs import SCORED_STATUSES
from grading.models import (
    AnswerScore,
    Evaluation,
    GradeRelease,
    GradingJob,
    RegradeRequest,
    RubricItem,
    ScoreSource,
    SittingResult,
)
from grading.release import regrades_open
from grading.scoring import format_points

# --- the release page -----------------------------------------------------------------------------


def exam_scored_job(exam_id: int) -> GradingJob | None:
    """The exam's latest successful scoring of every sitting: without one there are no results."""
    return (
        GradingJob.objects.filter(exam_id=exam_id, kind=GradingJob.Kind.SCORE, status=GradingJob.Status.SUCCEEDED)
        .order_by("-finished_at", "-pk")
        .first()
    )


def exam_pending_manual(exam_id: int) -> tuple[int, int]:
    """(answers still waiting for a grader, sittings they are in) over the scored sittings."""
    counts = SittingResult.objects.filter(exam_id=exam_id, sitting__status__in=SCORED_STATUSES).aggregate(
        answers=Sum("pending_manual"), sittings=Count("pk", filter=Q(pending_manual__gt=0))
    )
    return int(counts["answers"] or 0), int(counts["sittings"] or 0)


@dataclass(frozen=True)
class ReleaseOverview:
    """What the release page shows about an exam."""

    exam: Exam
    release: GradeRelease | None
    scored_job: GradingJob | None
    results_count: int
    pending_answers: int
    pending_sittings: int
    items_without_explanation: int
    questions_with_solution: int
    regrades_open_count: int
    regrades_answered_count: int
    preview_sitting_id: int | None

    @property
    def scored(self) -> bool:
        return self.scored_job is not None


def release_overview(exam: Exam) -> ReleaseOverview:
    pending_answers, pending_sittings = exam_pending_manual(exam.pk)
    results = SittingResult.objects.filter(exam=exam, sitting__status__in=SCORED_STATUSES)
    regrades = RegradeRequest.objects.filter(score__question__exam=exam).aggregate(
        open=Count("pk", filter=Q(status=RegradeRequest.Status.OPEN)),
        answered=Count("pk", filter=Q(status=RegradeRequest.Status.ANSWERED)),
    )
    return ReleaseOverview(
        exam=exam,
        release=GradeRelease.objects.filter(exam=exam).select_related("released_by").first(),
        scored_job=exam_scored_job(exam.pk),
        results_count=results.count(),
        pending_answers=pending_answers,
        pending_sittings=pending_sittings,
        items_without_explanation=RubricItem.objects.filter(
            rubric__question__exam=exam, active=True, explanation=""
        ).count(),
        questions_with_solution=Question.objects.filter(exam=exam).exclude(solution="").count(),
        regrades_open_count=int(regrades["open"] or 0),
        regrades_answered_count=int(regrades["answered"] or 0),
        preview_sitting_id=results.order_by("sitting_id").values_list("sitting_id", flat=True).first(),
    )


# --- a student's released results ------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedRubricItem:
    points: str  # signed, e.g. "−1"
    description: str
    explanation_html: SafeString


@dataclass(frozen=True)
class RegradeView:
    id: int
    status: str
    status_label: str
    reason: str
    created_at: datetime
    reply: str
    replied_at: datetime | None
    old_points: str
    new_points: str | None

    @property
    def open(self) -> bool:
        return self.status == RegradeRequest.Status.OPEN


@dataclass
class ResultQuestion:
    """A question of the paper with, for an answerable one, the student's score and its reasons."""

    paper: PaperQuestion
    children: list[ResultQuestion] = field(default_factory=list)
    score_id: int | None = None
    points: str = ""
    max_points: str = ""
    pending: bool = False  # still waiting for a grader when the grades were released
    blank: bool = False
    explanation: str = ""
    graded_by_hand: bool = False
    items: list[AppliedRubricItem] = field(default_factory=list)
    # The *_html fields hold SafeString (rendered Markdown) when set.
    comment_html: str = ""
    key: str = ""  # an automatic kind's key in words (describe_key)
    model_answer_html: str = ""  # a kind graded by hand: its model answer
    solution_html: str = ""
    answer: AnswerDisplay | None = None  # None for a group
    regrades: list[RegradeView] = field(default_factory=list)
    can_request_regrade: bool = False
    # A refused request, shown again beside its form with what the student typed.
    regrade_error: str = ""
    regrade_reason: str = ""

    @property
    def is_group(self) -> bool:
        return self.paper.is_group

    @property
    def has_open_regrade(self) -> bool:
        return any(regrade.open for regrade in self.regrades)


@dataclass(frozen=True)
class ResultSection:
    number: int
    title: str
    points: str
    max_points: str
    explanation: str
    questions: list[ResultQuestion]


@dataclass(frozen=True)
class SittingResults:
    exam: Exam
    sitting: Sitting
    release: GradeRelease | None
    scored: bool  # False: the sitting has no result (never scored, or voided)
    points: str
    max_points: str
    extra_points: str
    pending_manual: int
    sections: list[ResultSection]
    regrades_open: bool
    regrade_deadline: datetime | None

    def questions(self) -> list[ResultQuestion]:
        """Every question, groups and their children included, in paper order."""

        def walk(nodes: list[ResultQuestion]) -> list[ResultQuestion]:
            return [shown for node in nodes for shown in (node, *walk(node.children))]

        return walk([question for section in self.sections for question in section.questions])

    def question_with_score(self, score_id: int) -> ResultQuestion | None:
        return next((question for question in self.questions() if question.score_id == score_id), None)


def _points(value: Decimal | None) -> str:
    return "" if value is None else format_points(value)


def _regrade_view(request: RegradeRequest) -> RegradeView:
    return RegradeView(
        id=request.pk,
        status=request.status,
        status_label=request.get_status_display(),
        reason=request.reason,
        created_at=request.created_at,
        reply=request.reply,
        replied_at=request.replied_at,
        old_points=format_points(request.old_points),
        new_points=None if request.new_points is None else format_points(request.new_points),
    )


def sitting_results(sitting: Sitting, *, now: datetime, preview: bool = False) -> SittingResults:
    """Everything the student's results page shows, for a released exam (the caller checks that).

    Per answerable question: points of max, the explanation of the score, the rubric items a
    grader applied with their explanations for students, the grader's comment, the key of an
    automatic kind in words, the model answer of a kind graded by hand, the solution, the
    student's own answer, and their regrade requests. With ``preview`` (an instructor looking
    at what the student will see) no regrade can be requested.
    """
    exam = sitting.exam
    release = GradeRelease.objects.filter(exam=exam).first()
    result = SittingResult.objects.filter(sitting=sitting).first()
    paper = exam_paper(exam)
    questions = {question.pk: question for question in Question.objects.filter(exam=exam)}
    choices: dict[int, list[Choice]] = defaultdict(list)
    for choice in Choice.objects.filter(question__exam=exam).order_by("position", "label"):
        choices[choice.question_id].append(choice)
    scores = {score.question_id: score for score in AnswerScore.objects.filter(sitting=sitting)}
    evaluations: dict[int, Evaluation] = {
        evaluation.score_id: evaluation
        for evaluation in Evaluation.objects.filter(sitting=sitting, graded_at__isnull=False).prefetch_related("items")
    }
    answers = dict(Answer.objects.filter(sitting=sitting).values_list("question_id", "value"))
    regrades: dict[int, list[RegradeView]] = defaultdict(list)
    for request in RegradeRequest.objects.filter(score__sitting=sitting, student_id=sitting.student_id):
        regrades[request.score_id].append(_regrade_view(request))
    open_now = not preview and result is not None and regrades_open(exam.pk, now)

    def build(node: PaperQuestion) -> ResultQuestion:
        shown = ResultQuestion(paper=node, children=[build(child) for child in node.children])
        question = questions[node.id]
        if not node.is_group:
            kind = get_kind(question.kind)
            own_choices = choices.get(question.pk, [])
            described = kind.describe_key(
                question.config, question.key, [ChoiceData(c.label, c.text, c.is_correct) for c in own_choices]
            )
            if kind.auto_scored:
                shown.key = described
            elif described:
                shown.model_answer_html = render_markdown(described)
            shown.answer = answer_display(question, answers.get(question.pk), choices=own_choices)
        shown.solution_html = render_markdown(question.solution) if question.solution else ""
        score = scores.get(node.id)
        if score is not None:
            shown.score_id = score.pk
            shown.points = _points(score.points)
            shown.max_points = _points(score.max_points)
            shown.pending = score.needs_manual
            shown.blank = score.blank
            shown.explanation = score.explanation
            shown.graded_by_hand = score.source != ScoreSource.AUTO
            evaluation = evaluations.get(score.pk)
            if evaluation is not None:
                shown.items = [
                    AppliedRubricItem(
                        points=format_points(item.points, signed=True),
                        description=item.description,
                        explanation_html=render_markdown(item.explanation) if item.explanation else SafeString(""),
                    )
                    for item in sorted(evaluation.items.all(), key=lambda item: (item.position, item.pk))
                ]
                shown.comment_html = render_markdown(evaluation.comment) if evaluation.comment else ""
            shown.regrades = regrades.get(score.pk, [])
            shown.can_request_regrade = open_now and not shown.has_open_regrade
        return shown

    by_number = {int(part["section"]): part for part in (result.sections if result else [])}
    sections = []
    for paper_section in paper.sections:
        part = by_number.get(paper_section.number, {})
        sections.append(
            ResultSection(
                number=paper_section.number,
                title=paper_section.title,
                points=_points(Decimal(part["points"])) if "points" in part else "",
                max_points=_points(Decimal(part["max_points"])) if "max_points" in part else "",
                explanation=str(part.get("explanation", "")),
                questions=[build(question) for question in paper_section.questions],
            )
        )
    return SittingResults(
        exam=exam,
        sitting=sitting,
        release=release,
        scored=result is not None,
        points=_points(result.points) if result else "",
        max_points=_points(result.max_points) if result else "",
        extra_points=_points(result.extra_points) if result and result.extra_points else "",
        pending_manual=result.pending_manual if result else 0,
        sections=sections,
        regrades_open=open_now,
        regrade_deadline=release.regrade_deadline if release else None,
    )


def results_released(exam_id: int) -> bool:
    """Whether the exam's grades are released (its students may open their results)."""
    return GradeRelease.objects.filter(exam_id=exam_id).exists()


# --- the regrade queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RubricChoice:
    id: int
    points: str
    description: str
    applied: bool


@dataclass(frozen=True)
class RegradeRow:
    """A regrade request as the queue shows it; ``reply`` and ``errors`` re-show a refused reply."""

    request: RegradeRequest
    question_number: str
    question_id: int
    student_label: str
    points: str
    max_points: str
    explanation: str
    evaluation_id: int | None
    evaluation_version: int
    grade_url: str | None
    rubric: list[RubricChoice]
    adjustment: str
    comment: str
    automatic: bool  # an automatically scored kind: items and adjustment apply to the policy's points
    auto_points: str
    reply: str = ""
    errors: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.request.status == RegradeRequest.Status.OPEN


def evaluation_page_exists() -> bool:
    """Whether the evaluation page (``grading:evaluation``) is installed."""
    from django.urls import NoReverseMatch, reverse

    try:
        reverse("grading:evaluation", args=[1])
    except NoReverseMatch:
        return False
    return True


def regrade_queue(exam: Exam, *, reveal_names: bool) -> list[RegradeRow]:
    """The exam's regrade requests, open ones first (oldest first), then the answered ones
    (latest reply first). Reads only: an answer's evaluation is made when a grader acts on it."""
    from django.urls import reverse

    requests = list(
        RegradeRequest.objects.filter(score__question__exam=exam).select_related(
            "score__question", "score__sitting__student", "replied_by"
        )
    )
    open_requests = sorted((r for r in requests if r.status == RegradeRequest.Status.OPEN), key=_by_created)
    answered = sorted((r for r in requests if r.status != RegradeRequest.Status.OPEN), key=_by_reply, reverse=True)
    evaluations = {e.score_id: e for e in Evaluation.objects.filter(score__in=[r.score_id for r in requests])}
    applied: dict[int, set[int]] = defaultdict(set)
    for evaluation_id, item_id in Evaluation.items.through.objects.filter(
        evaluation_id__in=[e.pk for e in evaluations.values()]
    ).values_list("evaluation_id", "rubricitem_id"):
        applied[evaluation_id].add(item_id)
    items: dict[int, list[RubricItem]] = defaultdict(list)
    for item in RubricItem.objects.filter(
        rubric__question_id__in={r.score.question_id for r in open_requests}, active=True
    ).select_related("rubric"):
        items[item.rubric.question_id].append(item)
    with_page = evaluation_page_exists()
    rows = []
    for request in open_requests + answered:
        score = request.score
        evaluation = evaluations.get(score.pk)
        chosen = applied[evaluation.pk] if evaluation else set()
        student = score.sitting.student
        rows.append(
            RegradeRow(
                request=request,
                question_number=score.question.number,
                question_id=score.question_id,
                student_label=(
                    f"{student.full_name} ({student.net_id})" if reveal_names else f"Sitting {score.sitting_id}"
                ),
                points=format_points(score.points),
                max_points=format_points(score.max_points),
                explanation=score.explanation,
                evaluation_id=evaluation.pk if evaluation else None,
                evaluation_version=evaluation.version if evaluation else 0,
                grade_url=reverse("grading:regrade-grade", args=[request.pk]) if with_page else None,
                rubric=[
                    RubricChoice(item.pk, format_points(item.points, signed=True), item.description, item.pk in chosen)
                    for item in items.get(score.question_id, [])
                ],
                adjustment=f"{evaluation.adjustment.normalize():f}" if evaluation else "0",
                comment=evaluation.comment if evaluation else "",
                automatic=get_kind(score.question.kind).auto_scored,
                auto_points=format_points(score.auto_points),
            )
        )
    return rows


def _by_created(request: RegradeRequest) -> tuple[datetime, int]:
    return request.created_at, request.pk


def _by_reply(request: RegradeRequest) -> tuple[datetime, int]:
    return request.replied_at or request.created_at, request.pk
