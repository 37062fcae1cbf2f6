"""The authoring REST API: courses, exams, sections, questions with their choices and keys.

Staff only. Every queryset comes from ``accounts.access``, so an object outside the user's
courses is a 404 and lists leave it out; writes need the course's instructor
(``exams.permissions.CourseAuthoring``), and TAs read. Serializers parse and shape; the
rules are ``exams.services``' (``question_validate``, ``question_clean``,
``exam_renumber``, ``exam_duplicate``) and the exam file's (``exams.examfile``).

Exams are never deleted: DELETE answers 405 and ``POST /api/exams/{id}/archive/`` hides
one instead. Sections and questions may be deleted while the exam is unpublished. Once a
student has sat an exam, a write that would change how one of its questions is scored
(kind, key, policy, parameters, a choice's correctness) is 409: keys then change through
``grading.api``'s key-change endpoints (dry run, audit, rescore).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import ProtectedError, QuerySet
from django.urls import reverse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, MethodNotAllowed, NotAuthenticated, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import access
from accounts.models import Course, Role, User
from exams.kinds import KIND_GROUP, ChoiceData
from exams.models import Choice, Exam, Question, Section
from exams.permissions import CourseAuthoring
from exams.selectors import exam_totals
from exams.services import (
    exam_duplicate,
    exam_renumber,
    question_clean,
    question_move_subtree,
    question_place,
    question_validate,
)
from grading.key_lock import key_locked, key_proposal_changes
from grading.keys import KeyProposal

if TYPE_CHECKING:
    from accounts.access import AnyUser

PUBLISHED_PARTS_KEPT = (
    "Students can see this exam, so its sections, questions and choices may carry their answers "
    "and are never removed. Change them instead, or unpublish the exam first."
)


# Token first: a request without valid credentials then gets 401 with "WWW-Authenticate:
# Token", a script's cue, where the session scheme would answer a bare 403. A browser sends
# no Authorization header, so it still gets the session scheme, with CSRF enforced.
AUTHENTICATION = [TokenAuthentication, SessionAuthentication]


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Students' answers refer to this, so it is kept."
    default_code = "conflict"


def _user(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):  # CourseAuthoring lets no anonymous request this far
        raise NotAuthenticated()
    return user


def query_id(request: Request, name: str) -> int | None:
    """An optional ``?name=<id>`` filter, refused clearly when it is not a whole number."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise serializers.ValidationError({name: [f"{name} is an id (a whole number), not {raw!r}."]}) from None


def _query_flag(request: Request, name: str) -> bool:
    """An optional ``?name=true|false`` filter, false when absent."""
    raw = request.query_params.get(name, "false")
    try:
        return bool(serializers.BooleanField().to_internal_value(raw))
    except serializers.ValidationError:
        raise serializers.ValidationError({name: [f"{name} is true or false, not {raw!r}."]}) from None


def _candidate[M: models.Model](model: type[M], instance: M | None, changes: Mapping[str, Any]) -> M:
    """A fresh, unsaved copy of ``instance`` with ``changes`` applied, for model validation.

    A copy, because validating must not touch the instance the view still holds.
    """
    values = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields} if instance else {}
    candidate = model(**values)
    for name, value in changes.items():
        setattr(candidate, name, value)
    return candidate


def _lock_exam(exam_id: int) -> Exam:
    """Lock the exam's row for the rest of the transaction.

    Writes to one exam's tree take turns, so renumbering never races another write into
    a duplicate question number.
    """
    return Exam.objects.select_for_update().get(pk=exam_id)


class _VisibleObjectField[M: models.Model](serializers.PrimaryKeyRelatedField[M]):
    """An id of an object the requesting user may read; any other id does not exist (400)."""

    def __init__(self, *, model: type[M], visible: Callable[[AnyUser], QuerySet[M]], **kwargs: Any) -> None:
        # The full queryset only tells the schema generator the model; lookups use get_queryset.
        super().__init__(queryset=model._default_manager.all(), **kwargs)
        self.visible = visible

    def get_queryset(self) -> QuerySet[M]:
        return self.visible(self.context["request"].user)


# Courses ----------------------------------------------------------------------------------


class CourseSerializer(serializers.ModelSerializer[Course]):
    role = serializers.SerializerMethodField(help_text="Your role in the course (null for site administrators).")

    class Meta:
        model = Course
        fields = ["id", "code", "title", "term", "role"]

    @extend_schema_field(serializers.ChoiceField(choices=[Role.INSTRUCTOR, Role.TA], allow_null=True))
    def get_role(self, course: Course) -> str | None:
        return self.context["roles"].get(course.pk)


class CourseViewSet(viewsets.ReadOnlyModelViewSet[Course]):
    """Courses where you are an instructor or a TA."""

    authentication_classes = AUTHENTICATION
    serializer_class = CourseSerializer

    def get_queryset(self) -> QuerySet[Course]:
        return access.staff_courses(self.request.user).order_by("code")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "roles": access.course_roles(self.request.user)}


# Exams ------------------------------------------------------------------------------------


class SectionTotalSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="section.pk")
    number = serializers.IntegerField(source="section.number")
    title = serializers.CharField(source="section.title")
    points = serializers.DecimalField(max_digits=9, decimal_places=2, help_text="Maximum, extra credit excluded.")
    extra_points = serializers.DecimalField(max_digits=9, decimal_places=2, help_text="Extra credit on offer.")


class ExamTotalsSerializer(serializers.Serializer[Any]):
    points = serializers.DecimalField(max_digits=9, decimal_places=2, help_text="Maximum, extra credit excluded.")
    extra_points = serializers.DecimalField(max_digits=9, decimal_places=2, help_text="Extra credit on offer.")
    sections = SectionTotalSerializer(many=True)


class ExamSerializer(serializers.ModelSerializer[Exam]):
    course = _VisibleObjectField(
        model=Course, visible=access.staff_courses, help_text="Fixed at creation; you must instruct it."
    )
    course_code = serializers.CharField(source="course.code", read_only=True)
    effective_term = serializers.CharField(read_only=True, help_text="The exam's term, or else the course's.")
    created_by = serializers.SlugRelatedField[User](slug_field="net_id", read_only=True)
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Exam
        fields = [
            "id",
            "course",
            "course_code",
            "title",
            "term",
            "effective_term",
            "exam_date",
            "duration_minutes",
            "opens_at",
            "closes_at",
            "instructions",
            "honor_code",
            "access_code",
            "published",
            "archived",
            "created_by",
            "created_at",
            "updated_at",
            "totals",
        ]
        read_only_fields = ["archived", "created_at", "updated_at"]

    @extend_schema_field(ExamTotalsSerializer)
    def get_totals(self, exam: Exam) -> dict[str, Any]:
        return ExamTotalsSerializer(exam_totals(exam)).data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "course" in attrs and attrs["course"].pk != self.instance.course_id:
            raise serializers.ValidationError(
                {"course": "An exam stays in its course; import or duplicate it to start one elsewhere."}
            )
        _candidate(Exam, self.instance, attrs).clean()  # the window rule
        return attrs


class ExamDuplicateSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text='Defaults to "<title> (copy)".'
    )


class _TextOrUploadField(serializers.CharField):
    """Text sent as a form field, or as an uploaded UTF-8 file (``curl -F text=@exam.md``)."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, UploadedFile):
            try:
                data = data.read().decode("utf-8")
            except UnicodeDecodeError:
                raise serializers.ValidationError("The exam file is not UTF-8 text.") from None
        return super().to_internal_value(data)


class ExamImportSerializer(serializers.Serializer[Any]):
    course = _VisibleObjectField(model=Course, visible=access.staff_courses, help_text="A course you instruct.")
    text = _TextOrUploadField(trim_whitespace=False, help_text="The exam file (Markdown), as text or as a file.")


class ExamFileProblemSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(allow_null=True, help_text="1-based line of the exam file, if known.")
    message = serializers.CharField()


EXAM_FILE_ERRORS = inline_serializer(
    "ExamFileErrors", fields={"detail": serializers.CharField(), "errors": ExamFileProblemSerializer(many=True)}
)


class MarkdownRenderer(BaseRenderer):
    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if isinstance(data, str):
            return data.encode(self.charset)
        # An error (401, 403, 404) for a client that asked for Markdown: its message, as text.
        if isinstance(data, dict) and "detail" in data:
            return f"{data['detail']}\n".encode(self.charset)
        return json.dumps(data).encode(self.charset)


_ARCHIVED_PARAM = OpenApiParameter(
    "archived", bool, description="List archived exams instead of current ones (default false)."
)
_COURSE_PARAM = OpenApiParameter("course", int, description="Only this course's exams.")


class ExamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Exam],
):
    """Exams of the courses you teach. Instructors write; TAs read. Never deleted: archived."""

    authentication_classes = AUTHENTICATION
    serializer_class = ExamSerializer
    permission_classes = [CourseAuthoring]

    def get_queryset(self) -> QuerySet[Exam]:
        queryset = access.exams_for_staff(self.request.user).select_related("course", "created_by")
        if self.action == "list":
            course_id = query_id(self.request, "course")
            if course_id is not None:
                queryset = queryset.filter(course_id=course_id)
            queryset = queryset.filter(archived=_query_flag(self.request, "archived"))
        return queryset.order_by("course__code", "-exam_date", "title", "pk")

    @extend_schema(parameters=[_COURSE_PARAM, _ARCHIVED_PARAM])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer[Exam]) -> None:
        user = _user(self.request)
        access.access_course_for_staff(user, serializer.validated_data["course"].pk, write=True)
        serializer.save(created_by=user)

    # The signature is APIView's, which the stubs themselves mark as overriding View's loosely.
    def http_method_not_allowed(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        if request.method == "DELETE":
            raise MethodNotAllowed(
                "DELETE", detail="Exams are never deleted; archive one with POST /api/exams/{id}/archive/."
            )
        return super().http_method_not_allowed(request, *args, **kwargs)

    def _set_archived(self, archived: bool) -> Response:
        exam = self.get_object()
        exam.archived = archived
        exam.save(update_fields=["archived", "updated_at"])
        return Response(self.get_serializer(exam).data)

    @extend_schema(request=None, responses={200: ExamSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request: Request, pk: str | None = None) -> Response:
        """Hide the exam from lists; everything in it is kept."""
        return self._set_archived(True)

    @extend_schema(request=None, responses={200: ExamSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request: Request, pk: str | None = None) -> Response:
        """Bring an archived exam back."""
        return self._set_archived(False)

    @extend_schema(request=ExamDuplicateSerializer, responses={201: ExamSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str | None = None) -> Response:
        """An unpublished copy in the same course: sections, questions, choices, keys, figures."""
        exam = self.get_object()
        params = ExamDuplicateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        copy = exam_duplicate(exam=exam, by=_user(request), title=params.validated_data.get("title", ""))
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The exam file.")})
    @action(detail=True, methods=["get"], renderer_classes=[MarkdownRenderer, JSONRenderer])
    def export(self, request: Request, pk: str | None = None) -> Response:
        """The exam file (Markdown, keys included) that `POST /api/exams/import/` reads back.

        Figures are referenced by relative path; their images are not in the response.
        """
        exam = self.get_object()
        from exams.examfile import exam_export

        filename = f"{exam.course.code}-{slugify(exam.title) or 'exam'}.md"
        return Response(exam_export(exam), headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    @extend_schema(
        request={"multipart/form-data": ExamImportSerializer, "application/json": ExamImportSerializer},
        responses={
            201: ExamSerializer,
            400: OpenApiResponse(EXAM_FILE_ERRORS, description="The exam file's problems, by line."),
        },
        description=(
            "Create an exam from an exam file. Send `course` and `text` as JSON or as multipart form fields; "
            "with multipart, attach each figure as a file whose field name is its path relative to the exam "
            "file, exactly as the file refers to it (e.g. `figures/zom.png`)."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[MultiPartParser, FormParser, JSONParser],
    )
    def import_exam(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, Mapping) else {}
        params = ExamImportSerializer(
            data={"course": data.get("course"), "text": data.get("text")},
            context=self.get_serializer_context(),
        )
        params.is_valid(raise_exception=True)
        user = _user(request)
        course = access.access_course_for_staff(user, params.validated_data["course"].pk, write=True)
        # One byte past the limit is enough for the importer's figure check to refuse a file.
        figures = {
            name: upload.read(settings.FIGURE_MAX_BYTES + 1) for name, upload in request.FILES.items() if name != "text"
        }
        from exams.examfile import ExamFileError, exam_import

        try:
            with transaction.atomic():
                exam = exam_import(text=params.validated_data["text"], course=course, figures=figures or None, by=user)
        except ExamFileError as error:
            problems = [{"line": line, "message": message} for line, message in error.errors]
            return _exam_file_errors(problems)
        except DjangoValidationError as error:
            return _exam_file_errors([{"line": None, "message": message} for message in error.messages])
        return Response(self.get_serializer(exam).data, status=status.HTTP_201_CREATED)


def _exam_file_errors(problems: list[dict[str, Any]]) -> Response:
    count = len(problems)
    detail = f"The exam file has {count} problem{'s' if count != 1 else ''}; nothing was imported."
    return Response({"detail": detail, "errors": problems}, status=status.HTTP_400_BAD_REQUEST)


# Sections ---------------------------------------------------------------------------------


class SectionSerializer(serializers.ModelSerializer[Section]):
    exam = _VisibleObjectField(model=Exam, visible=access.exams_for_staff, help_text="Fixed at creation.")

    class Meta:
        model = Section
        fields = ["id", "exam", "number", "title", "instructions", "recommended_minutes", "floor_at_zero"]
        validators: list[Any] = []  # number's uniqueness is checked in validate(), with a clearer message

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        if instance is not None and "exam" in attrs and attrs["exam"].pk != instance.exam_id:
            raise serializers.ValidationError({"exam": "A section stays in its exam."})
        if instance is None:  # both are required to create one
            exam_id, number = attrs["exam"].pk, attrs["number"]
        else:
            exam_id, number = instance.exam_id, attrs.get("number", instance.number)
        taken = Section.objects.filter(exam_id=exam_id, number=number)
        if instance is not None:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            raise serializers.ValidationError({"number": f"Section {number} already exists in this exam."})
        return attrs

    def update(self, instance: Section, validated_data: dict[str, Any]) -> Section:
        with transaction.atomic():
            exam = _lock_exam(instance.exam_id)
            section = super().update(instance, validated_data)
            exam_renumber(exam)  # question numbers start with the section's
        return section


_EXAM_PARAM = OpenApiParameter("exam", int, description="Only this exam's.")


class SectionViewSet(viewsets.ModelViewSet[Section]):
    """Sections of your courses' exams. Instructors write; TAs read."""

    authentication_classes = AUTHENTICATION
    serializer_class = SectionSerializer
    permission_classes = [CourseAuthoring]

    def get_queryset(self) -> QuerySet[Section]:
        queryset = access.sections_for_staff(self.request.user).select_related("exam")
        exam_id = query_id(self.request, "exam") if self.action == "list" else None
        if exam_id is not None:
            queryset = queryset.filter(exam_id=exam_id)
        return queryset.order_by("exam_id", "number")

    @extend_schema(parameters=[_EXAM_PARAM])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer[Section]) -> None:
        access.access_exam_for_staff(self.request.user, serializer.validated_data["exam"].pk, write=True)
        serializer.save()

    def perform_destroy(self, instance: Section) -> None:
        _delete_part(self.request, instance)


def _delete_part(request: Request, part: Section | Question) -> None:
    """Delete a section or question (with what it contains) and renumber the exam."""
    if not access.can_remove_exam_parts(request.user, part.exam):
        raise PermissionDenied(PUBLISHED_PARTS_KEPT)
    try:
        with transaction.atomic():
            exam = _lock_exam(part.exam_id)
            part.delete()
            exam_renumber(exam)
    except ProtectedError:
        raise Conflict() from None


# Questions --------------------------------------------------------------------------------


class ChoiceSerializer(serializers.ModelSerializer[Choice]):
    class Meta:
        model = Choice
        fields = ["id", "position", "label", "text", "is_correct"]
        read_only_fields = ["id", "position"]
        validators: list[Any] = []  # labels are checked together, by the question's kind


class QuestionSerializer(serializers.ModelSerializer[Question]):
    section = _VisibleObjectField(
        model=Section,
        visible=access.sections_for_staff,
        required=False,
        help_text="Defaults to the parent's section. A question stays in its exam.",
    )
    # DRF takes declared fields off the class, so this "parent" never shadows Field.parent;
    # only the stubs see a clash.
    parent = _VisibleObjectField(  # type: ignore[assignment]
        model=Question,
        visible=access.questions_for_staff,
        required=False,
        allow_null=True,
        help_text="A group question this one belongs to, or null.",
    )
    position = serializers.IntegerField(
        min_value=1, required=False, help_text="Order among its siblings; new questions go last."
    )
    policy = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="Scoring policy; empty for the kind's default. Changing the kind resets it unless sent.",
    )
    policy_params = serializers.DictField(
        required=False, help_text="The policy's parameters; changing the policy resets them unless sent."
    )
    config = serializers.DictField(required=False, help_text="Kind-specific settings.")
    key = serializers.DictField(required=False, help_text="Answer key; choice kinds mark is_correct on choices.")
    choices = ChoiceSerializer(
        many=True,
        required=False,
        help_text="In order. When sent, replaces the question's choices (matched by label); when left out, "
        "they stay as they are.",
    )

    class Meta:
        model = Question
        fields = [
            "id",
            "exam",
            "section",
            "parent",
            "position",
            "number",
            "title",
            "prompt",
            "kind",
            "points",
            "extra_credit",
            "policy",
            "policy_params",
            "config",
            "key",
            "solution",
            "choices",
        ]
        read_only_fields = ["exam", "number"]

    def _current(self, attrs: dict[str, Any], name: str) -> Any:
        if name in attrs:
            return attrs[name]
        if self.instance is not None:
            return getattr(self.instance, name)
        return getattr(Question(), name)  # the model's default

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        parent = self._current(attrs, "parent")
        if "section" in attrs:
            section = attrs["section"]
        elif parent is not None and (instance is None or "parent" in attrs):
            section = parent.section
        elif instance is not None:
            section = instance.section
        else:
            raise serializers.ValidationError({"section": "Give the section (or the parent question) it belongs in."})
        if instance is not None and section.exam_id != instance.exam_id:
            raise serializers.ValidationError({"section": "A question stays in its exam; choose one of its sections."})
        kind = self._current(attrs, "kind")
        # The policy follows the kind, and its parameters follow the policy: a change that
        # does not name them starts from the new kind's (or policy's) defaults.
        kind_changed = instance is not None and kind != instance.kind
        policy = attrs.get("policy", "" if kind_changed else self._current(attrs, "policy"))
        policy_changed = instance is not None and policy != instance.policy
        policy_params = attrs.get("policy_params", {} if policy_changed else self._current(attrs, "policy_params"))
        if instance is not None and kind != KIND_GROUP and instance.children.exists():
            raise serializers.ValidationError(
                {"kind": f"Question {instance.number} has sub-questions, so it stays a group."}
            )
        if "choices" in attrs:
            choices = [ChoiceData(c["label"], c["text"], c.get("is_correct", False)) for c in attrs["choices"]]
        elif instance is not None:
            choices = [ChoiceData(c.label, c.text, c.is_correct) for c in instance.choices.all()]
        else:
            choices = []
        clean = question_validate(
            kind=kind,
            points=self._current(attrs, "points"),
            policy=policy,
            policy_params=policy_params,
            config=self._current(attrs, "config"),
            key=self._current(attrs, "key"),
            choices=choices,
        )
        fields = {name: value for name, value in attrs.items() if name != "choices"}
        fields.update(
            section=section,
            exam=section.exam,
            policy=clean.policy,
            policy_params=clean.policy_params,
            config=clean.config,
            key=clean.key,
        )
        question_clean(_candidate(Question, instance, fields))  # the tree: parent, section, no cycles
        return {**attrs, **fields}

    def create(self, validated_data: dict[str, Any]) -> Question:
        choices = validated_data.pop("choices", [])
        position = validated_data.pop("position", None)
        with transaction.atomic():
            exam = _lock_exam(validated_data["exam"].pk)
            # A unique provisional number until exam_renumber gives it its place in the tree.
            question = Question.objects.create(number=f"~new-{uuid4().hex[:24]}", **validated_data)
            question_place(question=question, position=position)
            _write_choices(question, choices)
            exam_renumber(exam)
        question.refresh_from_db()
        return question

    def update(self, instance: Question, validated_data: dict[str, Any]) -> Question:
        choices = validated_data.pop("choices", None)
        position = validated_data.pop("position", None)
        moved = validated_data["section"].pk != instance.section_id
        regrouped = moved or validated_data.get("parent", instance.parent) != instance.parent
        with transaction.atomic():
            exam = _lock_exam(instance.exam_id)
            question = super().update(instance, validated_data)
            if moved:
                question_move_subtree(question=question)
            if position is not None or regrouped:
                question_place(question=question, position=position)
            if choices is not None:
                _write_choices(question, choices)
            exam_renumber(exam)
        question.refresh_from_db()
        return question


def _write_choices(question: Question, rows: list[dict[str, Any]]) -> None:
    """Make the question's choices exactly ``rows``, in order, keeping rows matched by label."""
    existing = {choice.label: choice for choice in question.choices.all()}
    for position, row in enumerate(rows, start=1):
        choice = existing.pop(row["label"], None) or Choice(question=question, label=row["label"])
        choice.position, choice.text, choice.is_correct = position, row["text"], row.get("is_correct", False)
        choice.save()
    Choice.objects.filter(pk__in=[choice.pk for choice in existing.values()]).delete()


class QuestionViewSet(viewsets.ModelViewSet[Question]):
    """Questions with their choices and answer keys, for your courses' staff only."""

    authentication_classes = AUTHENTICATION
    serializer_class = QuestionSerializer
    permission_classes = [CourseAuthoring]

    def get_queryset(self) -> QuerySet[Question]:
        queryset = (
            access.questions_for_staff(self.request.user)
            .select_related("exam", "section", "parent")
            .prefetch_related("choices")
        )
        if self.action == "list":
            for name in ("exam", "section"):
                value = query_id(self.request, name)
                if value is not None:
                    queryset = queryset.filter(**{f"{name}_id": value})
        return queryset.order_by("exam_id", "section__number", "number", "pk")

    @extend_schema(parameters=[_EXAM_PARAM, OpenApiParameter("section", int, description="Only this section's.")])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer[Question]) -> None:
        access.access_exam_for_staff(self.request.user, serializer.validated_data["exam"].pk, write=True)
        serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer[Question]) -> None:
        rows = serializer.validated_data.get("choices")
        question = serializer.instance
        if rows is not None and question is not None:
            removed = {c.label for c in question.choices.all()} - {row["label"] for row in rows}
            if removed and not access.can_remove_exam_parts(self.request.user, question.exam):
                raise PermissionDenied(PUBLISHED_PARTS_KEPT)
        if question is not None:
            _refuse_locked_key_change(question, serializer.validated_data)
        serializer.save()

    def perform_destroy(self, instance: Question) -> None:
        _delete_part(self.request, instance)


def _refuse_locked_key_change(question: Question, data: Mapping[str, Any]) -> None:
    """409 when students have sat the exam and the write would change how the question is
    scored: that goes through the key-change endpoints (dry run, audit, rescore)."""
    if not key_locked(question.exam_id):
        return
    labels = sorted(c.label for c in question.choices.all())
    if "choices" in data and sorted(row["label"] for row in data["choices"]) != labels:
        raise Conflict(
            f"Students have sat this exam, so the options of question {question.number} stay "
            f"{', '.join(labels) or 'none'}: their answers store those labels. Reword an option's text instead."
        )
    if "choices" in data:
        correct = tuple(row["label"] for row in data["choices"] if row.get("is_correct"))
    else:
        correct = tuple(c.label for c in question.choices.all() if c.is_correct)
    proposal = KeyProposal(data["policy"], data["policy_params"], data["key"], correct)
    changed = key_proposal_changes(question, proposal, kind=data.get("kind", question.kind))
    if "kind" in changed:
        raise Conflict(
            f"Students have sat this exam, so question {question.number} stays a {question.kind} question: "
            "their answers are answers to one."
        )
    if changed:
        preview = reverse("question-key-change-preview", args=[question.pk])
        apply = reverse("question-key-change", args=[question.pk])
        raise Conflict(
            f"Students have sat this exam, so the {', '.join(changed)} of question {question.number} "
            f"change only through a dry run: POST {preview} shows each student's old and new points, "
            f"then POST {apply} applies the change (audited) and rescores that question."
        )
