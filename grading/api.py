"""The scoring API: trigger a scoring job and follow it, read the statistics, change a key.

Thin interfaces over ``grading.jobs`` and ``grading.keys``. Staff only: the exam, question
or job is fetched through ``accounts.access`` (another course's is 404) and every write
needs the course's instructor (a TA gets 403).

A key change is two calls, as in the admin: ``POST /api/questions/{id}/key-change/preview/``
scores every submitted answer under the proposal and saves nothing (the dry run), then
``POST /api/questions/{id}/key-change/`` applies it: the key is saved, the change audited
(``KeyChange``) and that question alone rescored by a job.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from accounts.models import User
from exams.api import AUTHENTICATION, Conflict
from exams.kinds import KIND_GROUP, get_kind
from exams.models import Exam, Question
from grading.jobs import job_request
from grading.key_lock import dry_run_digest, key_errors_by_field, key_proposal_changes
from grading.keys import DryRun, KeyProposal, key_change_apply, key_change_preview, key_current, key_proposal_clean
from grading.models import GradingJob, KeyChange
from grading.tasks import job_launch


def _points(**options: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=9, decimal_places=2, **options)


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # IsAuthenticated lets no anonymous request this far
        raise NotAuthenticated()
    return user


# Serializers ------------------------------------------------------------------------------


class GradingJobSerializer(serializers.ModelSerializer[GradingJob]):
    requested_by = serializers.SlugRelatedField[User](slug_field="net_id", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True, help_text="0 to 100, by chunks scored.")

    class Meta:
        model = GradingJob
        fields = [
            "id",
            "exam",
            "kind",
            "question",
            "trigger",
            "requested_by",
            "status",
            "progress_percent",
            "chunks_total",
            "chunks_done",
            "sittings_total",
            "sittings_done",
            "answers_scored",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class KeyProposalSerializer(serializers.Serializer[Any]):
    """A proposed key; a field left out keeps the question's current value."""

    policy = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="One of the kind's policies; empty for its default. A new policy starts from its "
        "default parameters unless policy_params is sent.",
    )
    policy_params = serializers.DictField(required=False, help_text="The policy's parameters.")
    key = serializers.DictField(
        required=False, help_text='The kind\'s key, e.g. {"value": true}; {} for the choice kinds.'
    )
    correct_choices = serializers.ListField(
        child=serializers.CharField(max_length=8),
        required=False,
        help_text="Choice kinds: the labels of every correct choice.",
    )

    def proposal(self, question: Question) -> KeyProposal:
        data = self.validated_data
        current = key_current(question)
        default = get_kind(question.kind).default_policy
        policy = data.get("policy", current.policy)
        new_policy = (policy or default) != (current.policy or default)
        return KeyProposal(
            policy=policy,
            policy_params=data.get("policy_params", {} if new_policy else current.policy_params),
            key=data.get("key", current.key),
            correct_choices=tuple(data.get("correct_choices", current.correct_choices)),
        )


class KeyChangeApplySerializer(KeyProposalSerializer):
    reason = serializers.CharField(max_length=300, help_text="Why the key changes; kept with your name.")
    digest = serializers.CharField(
        max_length=64,
        required=False,
        help_text="The digest of the dry run you checked: the change is refused (409) if the scores "
        "it would change are no longer those.",
    )


class AnswerKeySerializer(serializers.Serializer[Any]):
    policy = serializers.CharField()
    policy_params = serializers.DictField()
    key = serializers.DictField()
    correct_choices = serializers.ListField(child=serializers.CharField())


class DryRunRowSerializer(serializers.Serializer[Any]):
    sitting = serializers.IntegerField(source="sitting_id")
    net_id = serializers.CharField()
    student_name = serializers.CharField()
    old_points = _points(allow_null=True, help_text="Null: not scored yet.")
    new_points = _points(help_text="What the proposal gives.")
    changed = serializers.BooleanField(help_text="The student's points would change.")
    kept_by_grader = serializers.BooleanField(help_text="Points a grader set by hand: kept, whatever the key.")
    explanation = serializers.CharField()


class DryRunSerializer(serializers.Serializer[Any]):
    question = serializers.IntegerField(source="question.pk")
    number = serializers.CharField(source="question.number")
    proposal = AnswerKeySerializer(help_text="The proposal as the kind normalised it.")
    students = serializers.SerializerMethodField(help_text="Submitted sittings scored in the dry run.")
    affected = serializers.SerializerMethodField(help_text="Students whose points would change.")
    mean_change = _points(help_text="Mean change in points, over all students.")
    digest = serializers.SerializerMethodField(help_text="Send it with the change to apply exactly this dry run.")
    rows = DryRunRowSerializer(many=True, help_text="Every student, by name.")

    def get_students(self, dry_run: DryRun) -> int:
        return len(dry_run.rows)

    def get_affected(self, dry_run: DryRun) -> int:
        return len(dry_run.changed)

    def get_digest(self, dry_run: DryRun) -> str:
        return dry_run_digest(dry_run)


class KeyChangeSerializer(serializers.ModelSerializer[KeyChange]):
    question_number = serializers.CharField(source="question.number", read_only=True)
    changed_by = serializers.SlugRelatedField[User](slug_field="net_id", read_only=True)
    old = AnswerKeySerializer(read_only=True)
    new = AnswerKeySerializer(read_only=True)

    class Meta:
        model = KeyChange
        fields = [
            "id",
            "exam",
            "question",
            "question_number",
            "changed_by",
            "changed_at",
            "reason",
            "old",
            "new",
            "affected",
            "job",
        ]
        read_only_fields = fields


class ExamStatisticsSerializer(serializers.Serializer[Any]):
    exam = serializers.IntegerField(source="exam_id")
    job = serializers.IntegerField(source="pk", help_text="The scoring job that computed them.")
    computed_at = serializers.DateTimeField(source="finished_at")
    statistics = serializers.JSONField(
        help_text="exam (n, mean, median, sd, skewness, kurtosis, cic, error ratio, standard error, "
        "histogram…), max_total, and questions (facility, discrimination, distractors…)."
    )


# Views ------------------------------------------------------------------------------------


class _QuestionKeyView(generics.GenericAPIView[Question]):
    authentication_classes = AUTHENTICATION
    parser_classes = [JSONParser]  # keys and parameters are JSON objects
    queryset = Question.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet[Question]:
        return access.questions_for_staff(self.request.user).select_related("exam")

    def question_for_change(self) -> Question:
        """The question, 404 outside the user's courses, 403 for a TA; a group has no key (400)."""
        question = self.get_object()
        access.access_exam_for_staff(self.request.user, question.exam_id, write=True)
        if question.kind == KIND_GROUP:
            raise serializers.ValidationError({"non_field_errors": ["A group has no answer key."]})
        return question

    def dry_run(self, question: Question, proposal: KeyProposal) -> DryRun:
        """The dry run of a proposal that changes something, or 400 with the reasons by field."""
        try:
            clean = key_proposal_clean(question, proposal)
            if not key_proposal_changes(question, clean):
                raise ValidationError("This is the question's current key: there is nothing to change.")
            return key_change_preview(question, clean)
        except ValidationError as error:
            raise _refused(question, proposal, error) from None


def _refused(question: Question, proposal: KeyProposal, error: ValidationError) -> serializers.ValidationError:
    by_field = key_errors_by_field(question, proposal, error)
    return serializers.ValidationError({name or "non_field_errors": messages for name, messages in by_field.items()})


_QUESTION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The question's id.")
_EXAM_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The exam's id.")


class KeyChangePreviewView(_QuestionKeyView):
    serializer_class = KeyProposalSerializer

    @extend_schema(
        parameters=[_QUESTION_ID],
        request=KeyProposalSerializer,
        responses={200: DryRunSerializer},
        summary="Dry run of a key change",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Every submitted sitting's old and new points on the question under the proposed key.
        Saves nothing."""
        question = self.question_for_change()
        params = KeyProposalSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return Response(DryRunSerializer(self.dry_run(question, params.proposal(question))).data)


class KeyChangeView(_QuestionKeyView):
    serializer_class = KeyChangeApplySerializer

    @extend_schema(
        parameters=[_QUESTION_ID],
        request=KeyChangeApplySerializer,
        responses={201: KeyChangeSerializer, 409: OpenApiResponse(description="The dry run is out of date.")},
        summary="Change the answer key and rescore the question",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Save the key, record the change (who, when, why, old and new) and queue a rescore of
        this question only; the response's ``job`` is that rescore (``GET /api/grading-jobs/{id}/``)."""
        question = self.question_for_change()
        params = KeyChangeApplySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        proposal = params.proposal(question)
        dry_run = self.dry_run(question, proposal)
        digest = params.validated_data.get("digest")
        if digest and digest != dry_run_digest(dry_run):
            raise Conflict("The scores have changed since that dry run; run it again and check it.")
        try:
            change, _job = key_change_apply(
                question,
                dry_run.proposal,
                by=_user(request),
                reason=params.validated_data["reason"],
                now=timezone.now(),
            )
        except ValidationError as error:
            raise _refused(question, proposal, error) from None
        return Response(KeyChangeSerializer(change).data, status=status.HTTP_201_CREATED)


class _ExamView(generics.GenericAPIView[Any]):
    authentication_classes = AUTHENTICATION
    queryset = Exam.objects.none()  # for the schema; requests use access.access_exam_for_staff

    def exam(self, *, write: bool = False) -> Exam:
        """The exam of the URL: 404 outside the user's courses, 403 for a TA asking to write."""
        return access.access_exam_for_staff(self.request.user, int(self.kwargs["pk"]), write=write)


class ExamKeyChangesView(generics.ListAPIView[KeyChange]):
    authentication_classes = AUTHENTICATION
    serializer_class = KeyChangeSerializer
    queryset = KeyChange.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet[KeyChange]:
        exam = access.access_exam_for_staff(self.request.user, int(self.kwargs["pk"]))
        return KeyChange.objects.filter(exam=exam).select_related("question", "changed_by").order_by("-changed_at")

    @extend_schema(parameters=[_EXAM_ID], summary="The exam's answer-key changes")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every audited key change of the exam's questions, newest first."""
        return super().get(request, *args, **kwargs)


class ExamScoreView(_ExamView):
    serializer_class = GradingJobSerializer

    @extend_schema(
        parameters=[_EXAM_ID],
        request=None,
        responses={
            202: OpenApiResponse(GradingJobSerializer, description="A new job, queued."),
            200: OpenApiResponse(GradingJobSerializer, description="The job already queued or running."),
        },
        summary="Score every submitted sitting",
    )
    def post(self, request: Request, pk: int) -> Response:
        """Ask for a scoring job; while one is queued or running, that one is returned."""
        exam = self.exam(write=True)
        job, created = job_request(exam=exam, trigger=GradingJob.Trigger.API, requested_by=_user(request))
        if created:
            job_launch(job)
        return Response(
            GradingJobSerializer(job).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )


class ExamStatisticsView(_ExamView):
    serializer_class = ExamStatisticsSerializer

    @extend_schema(
        parameters=[_EXAM_ID],
        responses={200: ExamStatisticsSerializer, 404: OpenApiResponse(description="Not scored yet.")},
        summary="The exam's latest statistics",
    )
    def get(self, request: Request, pk: int) -> Response:
        """The statistics of the exam's latest succeeded scoring job."""
        exam = self.exam()
        job = (
            GradingJob.objects.filter(exam=exam, status=GradingJob.Status.SUCCEEDED, statistics__isnull=False)
            .order_by("-finished_at", "-pk")
            .first()
        )
        if job is None:
            raise NotFound(f"Exam {exam.pk} has no finished scoring job yet: POST /api/exams/{exam.pk}/score/.")
        return Response(ExamStatisticsSerializer(job).data)


class GradingJobView(generics.RetrieveAPIView[GradingJob]):
    """A scoring or rescore job: its status and progress."""

    authentication_classes = AUTHENTICATION
    serializer_class = GradingJobSerializer
    queryset = GradingJob.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet[GradingJob]:
        return GradingJob.objects.filter(exam__in=access.exams_for_staff(self.request.user)).select_related(
            "requested_by"
        )

    @extend_schema(parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The job's id.")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A scoring or rescore job: its status and progress (404 outside your courses)."""
        return super().get(request, *args, **kwargs)
