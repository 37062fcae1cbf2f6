"""The review API: the grading queue, evaluations, rubrics, regrade requests and the release.

Thin interfaces over ``grading.review`` (queue, claims, evaluations, rubric edits),
``grading.release`` and ``grading.release_services`` (regrades, release). Every object is
fetched through ``accounts.access``: course staff (instructors and TAs) grade and edit rubrics,
anyone else, a student or another course's TA, finds nothing (404); only the course's
instructors release grades (a TA gets 403). Students reach two endpoints: they ask for a regrade
of their own released sitting, and they list their own requests.

Grading is anonymous. A grader sees "Submission #n", the answer's rank in the question's stable
pseudo-random order (``grading.review.queue_position``), never a name, a NetID or a sitting;
the course's instructors may ask for names with ``?reveal=1`` (``access.may_reveal_names``).

A save from a stale page is refused with 409 ``{"code": "stale", "detail", "current"}``, and
deleting a rubric item that graded answers use needs ``?confirm=1`` (409
``{"code": "needs_confirmation", "detail", "used_by"}`` without it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import access
from accounts.models import User
from exams.api import AUTHENTICATION, query_id
from exams.kinds import get_kind
from exams.models import Answer, Question
from grading.models import Evaluation, GradeEvent, GradeRelease, RegradeRequest, Rubric, RubricItem
from grading.release import regrade_open
from grading.release_services import GradeChange, regrade_answer, release_publish
from grading.review import (
    NeedsConfirmation,
    StaleEvaluation,
    evaluation_for,
    evaluation_next,
    evaluation_release,
    evaluation_save,
    queue_build,
    rubric_for,
    rubric_item_add,
    rubric_item_delete,
    rubric_item_edit,
    rubric_items_reorder,
    rubric_settings_update,
)
from grading.review_selectors import submission_numbers

# --- reads -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentName:
    net_id: str
    full_name: str


@dataclass(frozen=True)
class OpenRegrade:
    id: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class EvaluationRead:
    """An evaluation as a grader reads it: everything but whose answer it is (``student``, only
    when an instructor reveals it)."""

    id: int
    question: int
    question_number: str
    submission: int
    answer: Any
    override: bool
    items: list[int]
    adjustment: Decimal
    comment: str
    points: Decimal | None
    max_points: Decimal
    auto_points: Decimal
    score_points: Decimal
    score_source: str
    explanation: str
    version: int
    graded_by: str | None
    graded_at: datetime | None
    claimed_by: str | None
    claimed_until: datetime | None
    open_regrade: OpenRegrade | None
    student: StudentName | None


def evaluation_read(evaluation_id: int, *, reveal: bool = False) -> EvaluationRead:
    """The evaluation as stored now (with its score, answer and applied items)."""
    evaluation = Evaluation.objects.select_related("question", "score", "graded_by", "claimed_by", "sitting").get(
        pk=evaluation_id
    )
    score, question = evaluation.score, evaluation.question
    answer = (
        Answer.objects.filter(sitting_id=evaluation.sitting_id, question_id=evaluation.question_id)
        .values_list("value", flat=True)
        .first()
    )
    regrade = RegradeRequest.objects.filter(score_id=score.pk, status=RegradeRequest.Status.OPEN).first()
    student = User.objects.get(pk=evaluation.sitting.student_id) if reveal else None
    return EvaluationRead(
        id=evaluation.pk,
        question=question.pk,
        question_number=question.number,
        submission=submission_numbers(question.pk)[evaluation.sitting_id],
        answer=answer,
        override=get_kind(question.kind).auto_scored,
        items=list(evaluation.items.order_by("position", "pk").values_list("pk", flat=True)),
        adjustment=evaluation.adjustment,
        comment=evaluation.comment,
        points=evaluation.points,
        max_points=score.max_points,
        auto_points=score.auto_points,
        score_points=score.points,
        score_source=score.source,
        explanation=score.explanation,
        version=evaluation.version,
        graded_by=evaluation.graded_by.net_id if evaluation.graded_by else None,
        graded_at=evaluation.graded_at,
        claimed_by=evaluation.claimed_by.net_id if evaluation.claimed_by else None,
        claimed_until=evaluation.claimed_until,
        open_regrade=OpenRegrade(regrade.pk, regrade.reason, regrade.created_at) if regrade else None,
        student=StudentName(student.net_id, student.full_name) if student else None,
    )


@dataclass(frozen=True)
class GraderProgress:
    net_id: str
    full_name: str
    graded: int
    claimed: int


@dataclass(frozen=True)
class QueueProgress:
    question: int
    number: str
    total: int
    graded: int
    claimed: int
    waiting: int
    mine: int | None
    graders: list[GraderProgress]


def queue_progress(question: Question, *, grader: User, now: datetime) -> QueueProgress:
    """How far the grading of the question has come: answers in its queue, graded, held by a
    grader's live claim, waiting; per grader; and the answer ``grader`` holds, if any."""
    # The queue: graded answers and those waiting for a grader (an override opened on an
    # automatic score and not saved is in neither).
    evaluations = Evaluation.objects.filter(question=question).filter(
        Q(graded_at__isnull=False) | Q(score__needs_manual=True)
    )
    live = Q(graded_at__isnull=True, claimed_until__gte=now)
    counts = evaluations.aggregate(
        total=Count("pk"), graded=Count("pk", filter=Q(graded_at__isnull=False)), claimed=Count("pk", filter=live)
    )
    graded = Counter(
        dict(
            evaluations.filter(graded_at__isnull=False)
            .values("graded_by")
            .annotate(n=Count("pk"))
            .values_list("graded_by", "n")
        )
    )
    claimed = Counter(
        dict(evaluations.filter(live).values("claimed_by").annotate(n=Count("pk")).values_list("claimed_by", "n"))
    )
    users = User.objects.filter(pk__in=set(graded) | set(claimed)).order_by("net_id")
    mine = evaluations.filter(live, claimed_by=grader).order_by("queue_order").values_list("pk", flat=True).first()
    return QueueProgress(
        question=question.pk,
        number=question.number,
        total=counts["total"],
        graded=counts["graded"],
        claimed=counts["claimed"],
        waiting=counts["total"] - counts["graded"] - counts["claimed"],
        mine=mine,
        graders=[GraderProgress(user.net_id, user.full_name, graded[user.pk], claimed[user.pk]) for user in users],
    )


def rubric_items(rubric: Rubric) -> QuerySet[RubricItem]:
    """The rubric's active items in order, each with how many evaluations apply it (``used_by``)."""
    return rubric.items.filter(active=True).annotate(used_by=Count("evaluations")).order_by("position", "pk")


@dataclass(frozen=True)
class RubricRead:
    question: int
    mode: str
    floor_at_zero: bool
    cap_at_max: bool
    updated_at: datetime
    items: list[RubricItem]


def rubric_read(rubric: Rubric) -> RubricRead:
    rubric.refresh_from_db()
    return RubricRead(
        question=rubric.question_id,
        mode=rubric.mode,
        floor_at_zero=rubric.floor_at_zero,
        cap_at_max=rubric.cap_at_max,
        updated_at=rubric.updated_at,
        items=list(rubric_items(rubric)),
    )


@dataclass(frozen=True)
class RegradeRead:
    """A regrade request as a list row. For the course's staff: the answer's evaluation and
    submission number (and, revealed, the student); for the student who asked: none of those."""

    request: RegradeRequest
    exam: int
    question: int
    question_number: str
    staff: bool
    evaluation: int | None
    submission: int | None
    student: StudentName | None


def regrade_reads(requests: Iterable[RegradeRequest], *, user: User, reveal: bool) -> list[RegradeRead]:
    """Rows for ``requests`` (fetched with ``score__question`` and ``score__sitting__student``)."""
    requests = list(requests)
    staff_courses = {course.pk for course in access.staff_courses(user)}
    staff_rows = [r for r in requests if r.score.question.exam.course_id in staff_courses]
    revealing = (
        {c for c in {r.score.question.exam.course_id for r in staff_rows} if access.may_reveal_names(user, c)}
        if reveal
        else set()
    )
    evaluations = dict(
        Evaluation.objects.filter(score_id__in=[r.score_id for r in staff_rows]).values_list("score_id", "pk")
    )
    numbers = {
        question_id: submission_numbers(question_id) for question_id in {r.score.question_id for r in staff_rows}
    }
    rows = []
    for request in requests:
        score, course_id = request.score, request.score.question.exam.course_id
        staff = course_id in staff_courses
        student = score.sitting.student if staff and course_id in revealing else None
        rows.append(
            RegradeRead(
                request=request,
                exam=score.question.exam_id,
                question=score.question_id,
                question_number=score.question.number,
                staff=staff,
                evaluation=evaluations.get(score.pk) if staff else None,
                submission=numbers[score.question_id][score.sitting_id] if staff else None,
                student=StudentName(student.net_id, student.full_name) if student else None,
            )
        )
    return rows


def _regrade_read(regrade_id: int, *, user: User) -> RegradeRead:
    request = RegradeRequest.objects.select_related(
        "score__question__exam", "score__sitting__student", "replied_by"
    ).get(pk=regrade_id)
    return regrade_reads([request], user=user, reveal=False)[0]


# --- serializers -------------------------------------------------------------------------------------


def _points(**options: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=9, decimal_places=2, **options)


class StudentNameSerializer(serializers.Serializer[StudentName]):
    net_id = serializers.CharField()
    full_name = serializers.CharField()


class OpenRegradeSerializer(serializers.Serializer[OpenRegrade]):
    id = serializers.IntegerField()
    reason = serializers.CharField(help_text="What the student asks to be looked at again.")
    created_at = serializers.DateTimeField()


class EvaluationSerializer(serializers.Serializer[EvaluationRead]):
    id = serializers.IntegerField()
    question = serializers.IntegerField()
    question_number = serializers.CharField()
    submission = serializers.IntegerField(
        help_text="Submission #n: the answer's place in the question's queue order; graders see no name."
    )
    answer = serializers.JSONField(allow_null=True, help_text="The answer as the student saved it; null: blank.")
    override = serializers.BooleanField(
        help_text="An automatically scored kind: items and adjustment apply to the policy's points (auto_points)."
    )
    items = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the rubric items applied.")
    adjustment = _points()
    comment = serializers.CharField(allow_blank=True)
    points = _points(allow_null=True, help_text="The evaluation's points; null until graded.")
    max_points = _points()
    auto_points = _points(help_text="What the question's policy gives the answer.")
    score_points = _points(help_text="The points that count now.")
    score_source = serializers.ChoiceField(choices=["auto", "manual", "override"])
    explanation = serializers.CharField(allow_blank=True, help_text="How the points that count were reached.")
    version = serializers.IntegerField(help_text="Send it back with a change: a stale version is refused (409).")
    graded_by = serializers.CharField(allow_null=True, help_text="The grader's NetID.")
    graded_at = serializers.DateTimeField(allow_null=True)
    claimed_by = serializers.CharField(allow_null=True, help_text="The NetID of the grader holding the answer.")
    claimed_until = serializers.DateTimeField(allow_null=True)
    open_regrade = OpenRegradeSerializer(allow_null=True, help_text="The student's open regrade request, if any.")
    student = StudentNameSerializer(
        allow_null=True, help_text="Whose answer it is: only for the course's instructors, with ?reveal=1."
    )


class EvaluationSaveSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=100, help_text="Ids of the rubric items to apply."
    )
    adjustment = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="Added after the items.")
    comment = serializers.CharField(
        allow_blank=True, max_length=10_000, help_text="The student reads it after release."
    )
    version = serializers.IntegerField(min_value=0, help_text="The version you loaded.")
    reason = serializers.CharField(
        allow_blank=True, max_length=300, required=False, default="", help_text="Kept in the audit."
    )


class EvaluationPatchSerializer(EvaluationSaveSerializer):
    """A change where what is left out keeps its current value; ``version`` is still required."""

    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=100,
        required=False,
        help_text="Ids of the rubric items to apply.",
    )
    adjustment = serializers.DecimalField(
        max_digits=7, decimal_places=2, required=False, help_text="Added after the items."
    )
    comment = serializers.CharField(
        allow_blank=True, max_length=10_000, required=False, help_text="The student reads it after release."
    )


class QueueNextSerializer(serializers.Serializer[Any]):
    skip = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=1000,
        help_text="Evaluation ids you passed over in this round.",
    )


class GraderProgressSerializer(serializers.Serializer[GraderProgress]):
    net_id = serializers.CharField()
    full_name = serializers.CharField()
    graded = serializers.IntegerField()
    claimed = serializers.IntegerField(help_text="Answers the grader holds now.")


class QueueProgressSerializer(serializers.Serializer[QueueProgress]):
    question = serializers.IntegerField()
    number = serializers.CharField()
    total = serializers.IntegerField(help_text="Answers in the question's queue.")
    graded = serializers.IntegerField()
    claimed = serializers.IntegerField(help_text="Ungraded answers held by a grader's live claim.")
    waiting = serializers.IntegerField(help_text="Ungraded answers nobody holds.")
    mine = serializers.IntegerField(allow_null=True, help_text="The evaluation you hold, if any.")
    graders = GraderProgressSerializer(many=True)


class GradeEventSerializer(serializers.ModelSerializer[GradeEvent]):
    actor = serializers.SlugRelatedField[User](slug_field="net_id", read_only=True)
    detail = serializers.JSONField(read_only=True, help_text="Items, adjustment and comment applied.")

    class Meta:
        model = GradeEvent
        fields = ["id", "at", "actor", "source", "old_points", "new_points", "reason", "detail"]
        read_only_fields = fields


class RubricItemSerializer(serializers.ModelSerializer[RubricItem]):
    used_by = serializers.IntegerField(read_only=True, help_text="Evaluations that apply the item.")

    class Meta:
        model = RubricItem
        fields = ["id", "position", "points", "description", "explanation", "shortcut", "used_by"]
        read_only_fields = fields


class RubricItemChangeSerializer(RubricItemSerializer):
    changed = serializers.IntegerField(read_only=True, help_text="Answers whose points the change re-applied.")

    class Meta(RubricItemSerializer.Meta):
        fields = [*RubricItemSerializer.Meta.fields, "changed"]
        read_only_fields = fields


class RubricItemInSerializer(serializers.Serializer[Any]):
    points = serializers.DecimalField(max_digits=7, decimal_places=2, help_text="Negative for a deduction.")
    description = serializers.CharField(max_length=300, help_text="What the grader sees.")
    explanation = serializers.CharField(
        allow_blank=True, required=False, default="", help_text="What the student sees after release (Markdown)."
    )
    shortcut = serializers.CharField(
        allow_blank=True,
        max_length=1,
        required=False,
        default="",
        trim_whitespace=False,
        help_text="One letter or digit; empty: the next free digit.",
    )


class RubricItemPatchSerializer(serializers.Serializer[Any]):
    points = serializers.DecimalField(
        max_digits=7, decimal_places=2, required=False, help_text="A change is re-applied to every answer using it."
    )
    description = serializers.CharField(max_length=300, required=False)
    explanation = serializers.CharField(allow_blank=True, required=False)
    shortcut = serializers.CharField(allow_blank=True, max_length=1, required=False, trim_whitespace=False)


class RubricItemDeletedSerializer(serializers.Serializer[Any]):
    changed = serializers.IntegerField(help_text="Answers that were rescored without the item.")


class RubricSerializer(serializers.Serializer[RubricRead]):
    question = serializers.IntegerField()
    mode = serializers.ChoiceField(
        choices=Rubric.Mode.choices, help_text="deduct: from the maximum down; add: from zero up."
    )
    floor_at_zero = serializers.BooleanField()
    cap_at_max = serializers.BooleanField()
    updated_at = serializers.DateTimeField()
    items = RubricItemSerializer(many=True, help_text="The active items, in order.")


class RubricChangeSerializer(RubricSerializer):
    changed = serializers.IntegerField(help_text="Graded answers whose points the new settings changed.")


class RubricSettingsSerializer(serializers.Serializer[Any]):
    mode = serializers.ChoiceField(choices=Rubric.Mode.choices, required=False)
    floor_at_zero = serializers.BooleanField(required=False)
    cap_at_max = serializers.BooleanField(required=False)


class RubricOrderSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=False,
        max_length=100,
        help_text="Every active item's id, each once, in the new order.",
    )


class RegradeSerializer(serializers.Serializer[RegradeRead]):
    id = serializers.IntegerField(source="request.pk")
    exam = serializers.IntegerField()
    question = serializers.IntegerField()
    question_number = serializers.CharField()
    status = serializers.ChoiceField(choices=RegradeRequest.Status.choices, source="request.status")
    reason = serializers.CharField(source="request.reason")
    created_at = serializers.DateTimeField(source="request.created_at")
    old_points = _points(source="request.old_points", help_text="The points when the student asked.")
    new_points = _points(source="request.new_points", allow_null=True, help_text="The points when answered.")
    reply = serializers.CharField(source="request.reply", allow_blank=True)
    replied_at = serializers.DateTimeField(source="request.replied_at", allow_null=True)
    replied_by = serializers.SerializerMethodField(help_text="Staff only: the NetID of who replied.")
    score = serializers.SerializerMethodField(
        help_text="Staff only: the answer's score, for POST /api/scores/{id}/evaluation/."
    )
    evaluation = serializers.IntegerField(allow_null=True, help_text="Staff only: the answer's evaluation, if any.")
    submission = serializers.IntegerField(allow_null=True, help_text="Staff only: the answer's submission number.")
    student = StudentNameSerializer(
        allow_null=True, help_text="Whose request it is: only for the course's instructors, with ?reveal=1."
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_replied_by(self, row: RegradeRead) -> str | None:
        replied_by = row.request.replied_by
        return replied_by.net_id if row.staff and replied_by else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_score(self, row: RegradeRead) -> int | None:
        return row.request.score_id if row.staff else None


class RegradeOpenSerializer(serializers.Serializer[Any]):
    question = serializers.IntegerField(help_text="The question's id, in your sitting's exam.")
    reason = serializers.CharField(max_length=5000, help_text="What should be looked at again, and why.")


class GradeChangeSerializer(serializers.Serializer[Any]):
    items = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=100)
    adjustment = serializers.DecimalField(max_digits=7, decimal_places=2)
    comment = serializers.CharField(allow_blank=True, max_length=10_000)
    version = serializers.IntegerField(min_value=0, help_text="The evaluation's version you saw (0: none yet).")


class RegradeReplySerializer(serializers.Serializer[Any]):
    reply = serializers.CharField(max_length=5000, help_text="What the student reads.")
    grade = GradeChangeSerializer(
        required=False, help_text="A new grade for the answer, saved with the reply (audited as a regrade)."
    )


class ReleaseSerializer(serializers.Serializer[Any]):
    regrade_deadline = serializers.DateTimeField(
        allow_null=True, required=False, default=None, help_text="Until when students may ask; null: no requests."
    )
    confirm_pending = serializers.BooleanField(
        default=False, help_text="Release although answers still wait for a grader."
    )


class GradeReleaseSerializer(serializers.ModelSerializer[GradeRelease]):
    released_by = serializers.SlugRelatedField[User](slug_field="net_id", read_only=True)

    class Meta:
        model = GradeRelease
        fields = ["exam", "released_at", "released_by", "regrade_deadline"]
        read_only_fields = fields


class GradingRefusalSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="regrade_refused")
    detail = serializers.CharField()


class StaleRefusalSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=["stale"])
    detail = serializers.CharField()
    current = EvaluationSerializer(help_text="The evaluation as it is now.")


class ReplyRefusalSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=["stale", "regrade_refused"])
    detail = serializers.CharField()
    current = EvaluationSerializer(required=False, help_text="With stale: the evaluation as it is now.")


class NeedsConfirmationRefusalSerializer(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=["needs_confirmation"])
    detail = serializers.CharField()
    used_by = serializers.IntegerField(help_text="Graded answers that apply the item.")


# --- helpers -----------------------------------------------------------------------------------------


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # IsAuthenticated lets no anonymous request this far
        raise NotAuthenticated()
    return user


def _flag(request: Request, name: str) -> bool:
    """An optional ``?name=1`` (or true, yes, on), false when absent."""
    raw = request.query_params.get(name, "")
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _invalid(error: DjangoValidationError) -> serializers.ValidationError:
    """A domain function's ValidationError as DRF's 400, by field."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(error.message_dict)
    return serializers.ValidationError({"non_field_errors": error.messages})


def _refusal(code: str, detail: str, **extra: Any) -> Response:
    return Response({"code": code, "detail": detail, **extra}, status=status.HTTP_409_CONFLICT)


def _stale(error: StaleEvaluation) -> Response:
    current = EvaluationSerializer(evaluation_read(error.evaluation.pk)).data
    return _refusal("stale", str(error), current=current)


def _reveal(request: Request, course_id: int) -> bool:
    """Whether to name the student: ``?reveal=1`` from the course's instructor; 403 from anyone else."""
    if not _flag(request, "reveal"):
        return False
    if not access.may_reveal_names(request.user, course_id):
        raise PermissionDenied("Grading is anonymous: only the course's instructors may reveal whose answer it is.")
    return True


def _id(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(name, int, OpenApiParameter.PATH, description=f"The {what}'s id.")


_QUESTION_ID = _id("id", "question")
_EVALUATION_ID = _id("id", "evaluation")
_REVEAL = OpenApiParameter(
    "reveal", bool, description="Name the student (the course's instructors only; 403 for a TA)."
)
_JSON = [JSONParser]


class _ReviewView(APIView):
    authentication_classes = AUTHENTICATION
    parser_classes = _JSON


# --- the queue ---------------------------------------------------------------------------------------


class QueueView(_ReviewView):
    @extend_schema(parameters=[_QUESTION_ID], responses={200: QueueProgressSerializer}, summary="Grading progress")
    def get(self, request: Request, pk: int) -> Response:
        """The question's queue: answers in it, graded, claimed, waiting, and each grader's counts."""
        now = timezone.now()
        question = access.access_question_for_grader(request.user, pk)
        queue_build(question.pk)
        return Response(QueueProgressSerializer(queue_progress(question, grader=_user(request), now=now)).data)


class QueueNextView(_ReviewView):
    @extend_schema(
        parameters=[_QUESTION_ID],
        request=QueueNextSerializer,
        responses={
            200: OpenApiResponse(EvaluationSerializer, description="The answer now claimed for you."),
            204: OpenApiResponse(description="Every answer is graded or held by another grader."),
        },
        summary="Claim the next answer to grade",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Claim the next ungraded answer (your own claim first): two graders never get the same one."""
        now = timezone.now()
        question = access.access_question_for_grader(request.user, pk)
        params = QueueNextSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        evaluation = evaluation_next(
            question_id=question.pk, grader=_user(request), now=now, skip=params.validated_data["skip"]
        )
        if evaluation is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(EvaluationSerializer(evaluation_read(evaluation.pk)).data)


class EvaluationReleaseView(_ReviewView):
    @extend_schema(
        parameters=[_EVALUATION_ID],
        request=None,
        responses={204: OpenApiResponse(description="Your claim, if you held one, is given back.")},
        summary="Give a claimed answer back to the queue",
    )
    def post(self, request: Request, pk: int) -> Response:
        evaluation = access.access_evaluation_for_grader(request.user, pk)
        evaluation_release(evaluation=evaluation, grader=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- evaluations -------------------------------------------------------------------------------------

_SAVE_RESPONSES = {
    200: EvaluationSerializer,
    409: OpenApiResponse(StaleRefusalSerializer, description="Someone saved since you loaded it; nothing saved."),
}


class EvaluationView(_ReviewView):
    @extend_schema(parameters=[_EVALUATION_ID, _REVEAL], responses={200: EvaluationSerializer}, summary="An evaluation")
    def get(self, request: Request, pk: int) -> Response:
        """The answer, its score and the grader's decision, anonymous ("Submission #n")."""
        evaluation = access.access_evaluation_for_grader(request.user, pk)
        reveal = _reveal(request, evaluation.question.exam.course_id)
        return Response(EvaluationSerializer(evaluation_read(evaluation.pk, reveal=reveal)).data)

    @extend_schema(
        parameters=[_EVALUATION_ID],
        request=EvaluationSaveSerializer,
        responses=_SAVE_RESPONSES,
        summary="Grade an answer",
    )
    def put(self, request: Request, pk: int) -> Response:
        """Apply rubric items, an adjustment and a comment; audited, the sitting's total recomputed."""
        return self._save(request, pk, EvaluationSaveSerializer(data=request.data))

    @extend_schema(
        parameters=[_EVALUATION_ID],
        request=EvaluationPatchSerializer,
        responses=_SAVE_RESPONSES,
        summary="Change part of a grade",
    )
    def patch(self, request: Request, pk: int) -> Response:
        """As PUT; what is left out keeps its current value."""
        return self._save(request, pk, EvaluationPatchSerializer(data=request.data))

    def _save(self, request: Request, pk: int, params: EvaluationSaveSerializer) -> Response:
        now = timezone.now()
        evaluation = access.access_evaluation_for_grader(request.user, pk)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        item_ids = data["items"] if "items" in data else list(evaluation.items.values_list("pk", flat=True))
        try:
            saved = evaluation_save(
                evaluation_id=evaluation.pk,
                grader=_user(request),
                item_ids=item_ids,
                adjustment=data.get("adjustment", evaluation.adjustment),
                comment=data.get("comment", evaluation.comment),
                version=data["version"],
                now=now,
                reason=data["reason"],
            )
        except StaleEvaluation as error:
            return _stale(error)
        except DjangoValidationError as error:
            raise _invalid(error) from None
        return Response(EvaluationSerializer(evaluation_read(saved.pk)).data)


class EvaluationEventsView(generics.ListAPIView[GradeEvent]):
    authentication_classes = AUTHENTICATION
    serializer_class = GradeEventSerializer
    queryset = GradeEvent.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet[GradeEvent]:
        evaluation = access.access_evaluation_for_grader(self.request.user, int(self.kwargs["pk"]))
        return GradeEvent.objects.filter(score_id=evaluation.score_id).select_related("actor").order_by("at", "pk")

    @extend_schema(parameters=[_EVALUATION_ID], summary="The answer's grade history")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every change of the answer's points, oldest first: who, when, old, new, why."""
        return super().get(request, *args, **kwargs)


class ScoreEvaluationView(_ReviewView):
    @extend_schema(
        parameters=[_id("id", "score")],
        request=None,
        responses={200: EvaluationSerializer},
        summary="The evaluation of any scored answer",
    )
    def post(self, request: Request, pk: int) -> Response:
        """The answer's evaluation, made if it has none: how an automatic score is overridden."""
        score = access.access_score_for_grader(request.user, pk)
        return Response(EvaluationSerializer(evaluation_read(evaluation_for(score).pk)).data)


# --- rubrics -----------------------------------------------------------------------------------------


class RubricView(_ReviewView):
    @extend_schema(parameters=[_QUESTION_ID], responses={200: RubricSerializer}, summary="The question's rubric")
    def get(self, request: Request, pk: int) -> Response:
        question = access.access_question_for_grader(request.user, pk)
        return Response(RubricSerializer(rubric_read(rubric_for(question))).data)

    @extend_schema(
        parameters=[_QUESTION_ID],
        request=RubricSettingsSerializer,
        responses={200: RubricChangeSerializer},
        summary="Change how the rubric counts",
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Mode, floor at 0, cap at the maximum: re-applied at once to every graded answer (audited)."""
        now = timezone.now()
        question = access.access_question_for_grader(request.user, pk)
        params = RubricSettingsSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        rubric, data = rubric_for(question), params.validated_data
        try:
            changed = rubric_settings_update(
                rubric=rubric,
                mode=data.get("mode", rubric.mode),
                floor_at_zero=data.get("floor_at_zero", rubric.floor_at_zero),
                cap_at_max=data.get("cap_at_max", rubric.cap_at_max),
                actor=_user(request),
                now=now,
            )
        except DjangoValidationError as error:
            raise _invalid(error) from None
        return Response({**RubricSerializer(rubric_read(rubric)).data, "changed": changed})


class RubricItemsView(_ReviewView):
    @extend_schema(
        parameters=[_QUESTION_ID],
        request=RubricItemInSerializer,
        responses={201: RubricItemSerializer},
        summary="Add a rubric item",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Append an item to the rubric; no grade changes until a grader applies it."""
        question = access.access_question_for_grader(request.user, pk)
        params = RubricItemInSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        rubric = rubric_for(question)
        try:
            item = rubric_item_add(rubric=rubric, **params.validated_data)
        except DjangoValidationError as error:
            raise _invalid(error) from None
        return Response(RubricItemSerializer(rubric_items(rubric).get(pk=item.pk)).data, status=status.HTTP_201_CREATED)


class RubricReorderView(_ReviewView):
    @extend_schema(
        parameters=[_QUESTION_ID],
        request=RubricOrderSerializer,
        responses={200: RubricSerializer},
        summary="Put the rubric's items in a new order",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Positions follow the list; shortcuts stay with their items; no grade changes."""
        question = access.access_question_for_grader(request.user, pk)
        params = RubricOrderSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        rubric = rubric_for(question)
        try:
            rubric_items_reorder(rubric=rubric, item_ids=params.validated_data["items"])
        except DjangoValidationError as error:
            raise _invalid(error) from None
        return Response(RubricSerializer(rubric_read(rubric)).data)


class RubricItemView(_ReviewView):
    @extend_schema(
        parameters=[_id("id", "rubric item")],
        request=RubricItemPatchSerializer,
        responses={200: RubricItemChangeSerializer},
        summary="Change a rubric item",
    )
    def patch(self, request: Request, pk: int) -> Response:
        """A change of points is re-applied at once to every answer that uses the item (audited);
        ``changed`` says how many answers' points changed."""
        now = timezone.now()
        item = access.access_rubric_item_for_grader(request.user, pk)
        params = RubricItemPatchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            changed = rubric_item_edit(
                item=item,
                actor=_user(request),
                now=now,
                points=data.get("points", item.points),
                description=data.get("description", item.description),
                explanation=data.get("explanation", item.explanation),
                shortcut=data.get("shortcut", item.shortcut),
            )
        except DjangoValidationError as error:
            raise _invalid(error) from None
        fresh = rubric_items(item.rubric).get(pk=item.pk)
        return Response({**RubricItemSerializer(fresh).data, "changed": changed})

    @extend_schema(
        parameters=[
            _id("id", "rubric item"),
            OpenApiParameter("confirm", bool, description="Required when graded answers use the item."),
        ],
        request=None,
        responses={
            200: RubricItemDeletedSerializer,
            409: OpenApiResponse(
                NeedsConfirmationRefusalSerializer, description="Graded answers use the item: send ?confirm=1."
            ),
        },
        summary="Delete a rubric item",
    )
    def delete(self, request: Request, pk: int) -> Response:
        """Take the item off the rubric; the answers that used it are rescored without it (audited).
        The item stays on record, inactive, so the audit still names it."""
        now = timezone.now()
        item = access.access_rubric_item_for_grader(request.user, pk)
        try:
            changed = rubric_item_delete(item=item, actor=_user(request), now=now, confirmed=_flag(request, "confirm"))
        except NeedsConfirmation as refused:
            return _refusal("needs_confirmation", str(refused), used_by=refused.used_by)
        return Response({"changed": changed})


# --- regrade requests --------------------------------------------------------------------------------


class SittingRegradesView(_ReviewView):
    @extend_schema(
        parameters=[OpenApiParameter("sitting_id", int, OpenApiParameter.PATH, description="Your sitting's id.")],
        request=RegradeOpenSerializer,
        responses={
            201: RegradeSerializer,
            409: OpenApiResponse(
                GradingRefusalSerializer, description="Regrades are closed, or the question has an open request."
            ),
        },
        summary="Ask for a regrade",
    )
    def post(self, request: Request, sitting_id: int) -> Response:
        """A student's request to look at one question of their released sitting again (404 before
        the grades are released)."""
        now = timezone.now()
        sitting = access.access_released_sitting_for_student(request.user, sitting_id)
        params = RegradeOpenSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        score = sitting.scores.filter(question_id=params.validated_data["question"]).first()
        if score is None:
            raise serializers.ValidationError({"question": ["Your sitting has no answer to this question."]})
        try:
            regrade = regrade_open(
                sitting=sitting, score=score, student=_user(request), reason=params.validated_data["reason"], now=now
            )
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                raise _invalid(error) from None
            return _refusal("regrade_refused", " ".join(error.messages))
        return Response(RegradeSerializer(_regrade_read(regrade.pk, user=_user(request))).data, status=201)


class RegradesView(generics.ListAPIView[RegradeRequest]):
    authentication_classes = AUTHENTICATION
    serializer_class = RegradeSerializer  # type: ignore[assignment]  # rows are RegradeRead, built in list()
    queryset = RegradeRequest.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet[RegradeRequest]:
        user = self.request.user
        mine = Q(pk__in=access.regrades_for_grader(user).values("pk")) | Q(
            pk__in=access.regrades_for_student(user).values("pk")
        )
        queryset = RegradeRequest.objects.filter(mine)
        exam_id = query_id(self.request, "exam")
        if exam_id is not None:
            queryset = queryset.filter(score__question__exam_id=exam_id)
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in RegradeRequest.Status.values:
                raise serializers.ValidationError({"status": [f"status is open or answered, not {wanted!r}."]})
            queryset = queryset.filter(status=wanted)
        return queryset.select_related("score__question__exam", "score__sitting__student", "replied_by").order_by(
            "created_at", "pk"
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("exam", int, description="Only this exam's requests."),
            OpenApiParameter("status", str, enum=RegradeRequest.Status.values, description="open or answered."),
            OpenApiParameter(
                "reveal", bool, description="Name the students on the requests of the courses you instruct."
            ),
        ],
        summary="Regrade requests",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Course staff: the requests on their courses' exams, anonymous; students: their own."""
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = regrade_reads(page or [], user=_user(request), reveal=_flag(request, "reveal"))
        return self.get_paginated_response([RegradeSerializer(row).data for row in rows])


class RegradeReplyView(_ReviewView):
    @extend_schema(
        parameters=[_id("id", "regrade request")],
        request=RegradeReplySerializer,
        responses={
            200: RegradeSerializer,
            409: OpenApiResponse(
                ReplyRefusalSerializer,
                description="Answered already (regrade_refused), or the grade changed since you loaded it (stale).",
            ),
        },
        summary="Answer a regrade request",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Reply, and optionally change the grade in the same transaction (audited as a regrade)."""
        now = timezone.now()
        regrade = access.access_regrade_for_grader(request.user, pk)
        params = RegradeReplySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        grade = params.validated_data.get("grade")
        try:
            answered = regrade_answer(
                request=regrade,
                by=_user(request),
                reply=params.validated_data["reply"],
                now=now,
                grade=(
                    GradeChange(
                        item_ids=grade["items"],
                        adjustment=grade["adjustment"],
                        comment=grade["comment"],
                        version=grade["version"],
                    )
                    if grade
                    else None
                ),
            )
        except StaleEvaluation as error:
            return _stale(error)
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                raise _invalid(error) from None
            return _refusal("regrade_refused", " ".join(error.messages))
        return Response(RegradeSerializer(_regrade_read(answered.pk, user=_user(request))).data)


# --- release -----------------------------------------------------------------------------------------


class ExamReleaseView(_ReviewView):
    @extend_schema(
        parameters=[_id("id", "exam")],
        request=ReleaseSerializer,
        responses={200: GradeReleaseSerializer},
        summary="Release the exam's grades",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Publish the grades to the students (or move the regrade deadline of an earlier release).
        The course's instructors only: a TA gets 403."""
        now = timezone.now()
        exam = access.access_exam_for_release(request.user, pk)
        params = ReleaseSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            release = release_publish(
                exam=exam,
                by=_user(request),
                now=now,
                regrade_deadline=params.validated_data["regrade_deadline"],
                confirm_pending=params.validated_data["confirm_pending"],
            )
        except DjangoValidationError as error:
            raise _invalid(error) from None
        return Response(GradeReleaseSerializer(release).data)
