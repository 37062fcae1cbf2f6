"""The JSON endpoints an open exam page talks to: autosave, claim, state, events, previews.

Thin interfaces over ``exams.sittings``: parse, check that the sitting is the student's own
(another student's is 404), call one function, answer. Session authentication enforces CSRF.
Every refusal is a clear JSON error with a ``code`` the page acts on, never a silent drop.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exams.expressions import ExpressionError, parse_expression
from exams.models import Answer, Question, Sitting
from exams.sittings import (
    SaveItem,
    SittingRefused,
    answers_save,
    proctor_event_record,
    sitting_claim,
    sitting_refresh,
)


def client_ip(request: HttpRequest | Request) -> str | None:
    """The address the web server saw (REMOTE_ADDR); proxies must be configured to set it."""
    return request.META.get("REMOTE_ADDR") or None


def own_sitting(request: Request, sitting_id: int) -> Sitting:
    sitting = Sitting.objects.select_related("exam").filter(pk=sitting_id, student_id=request.user.pk).first()
    if sitting is None:
        raise Http404("No such sitting.")
    return sitting


def refused(error: SittingRefused) -> Response:
    return Response({"code": error.code, "detail": error.message}, status=status.HTTP_409_CONFLICT)


def state_payload(sitting: Sitting, now: Any) -> dict[str, Any]:
    return {
        "sitting": sitting.pk,
        "status": sitting.status,
        "deadline": sitting.deadline.isoformat(),
        "server_now": now.isoformat(),
        "last_seq": sitting.last_seq,
    }


class AnswerIn(serializers.Serializer[Any]):
    question = serializers.IntegerField()
    value = serializers.JSONField(allow_null=True)
    flagged = serializers.BooleanField(default=False)
    seq = serializers.IntegerField(min_value=1)


class SaveIn(serializers.Serializer[Any]):
    device = serializers.UUIDField()
    answers = serializers.ListField(child=AnswerIn(), allow_empty=False, max_length=500)


class SaveOutcomeOut(serializers.Serializer[Any]):
    question = serializers.IntegerField()
    seq = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["saved", "stale", "invalid"])
    error = serializers.CharField()


class SaveOut(serializers.Serializer[Any]):
    results = SaveOutcomeOut(many=True)
    last_seq = serializers.IntegerField()
    server_now = serializers.DateTimeField()
    deadline = serializers.DateTimeField()


REFUSAL = inline_serializer("Refusal", {"code": serializers.CharField(), "detail": serializers.CharField()})


class AnswersView(APIView):
    """Autosave: a batch of answers with per-sitting client sequence numbers."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=SaveIn, responses={200: SaveOut, 409: REFUSAL}, operation_id="sitting_answers_save")
    def post(self, request: Request, sitting_id: int) -> Response:
        now = timezone.now()
        incoming = SaveIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        items = [SaveItem(a["question"], a["value"], a["flagged"], a["seq"]) for a in data["answers"]]
        try:
            result = answers_save(
                sitting_id=sitting_id,
                student=request.user,  # type: ignore[arg-type]
                device=data["device"],
                items=items,
                ip=client_ip(request),
                now=now,
            )
        except Sitting.DoesNotExist:
            raise Http404("No such sitting.") from None
        except SittingRefused as error:
            return refused(error)
        return Response(
            {
                "results": [
                    {"question": o.question_id, "seq": o.seq, "status": o.status, "error": o.error}
                    for o in result.outcomes
                ],
                "last_seq": result.last_seq,
                "server_now": now.isoformat(),
                "deadline": result.deadline.isoformat(),
            }
        )


class StateOut(serializers.Serializer[Any]):
    sitting = serializers.IntegerField()
    status = serializers.CharField()
    deadline = serializers.DateTimeField()
    server_now = serializers.DateTimeField()
    last_seq = serializers.IntegerField()
    answers = serializers.DictField(child=serializers.DictField())


class StateView(APIView):
    """The sitting's clock and stored answers, for a page that reloads or reconnects."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: StateOut}, operation_id="sitting_state")
    def get(self, request: Request, sitting_id: int) -> Response:
        now = timezone.now()
        sitting = sitting_refresh(sitting=own_sitting(request, sitting_id), now=now)
        answers = {
            str(question_id): {"value": value, "flagged": flagged, "seq": seq}
            for question_id, value, flagged, seq in Answer.objects.filter(sitting=sitting).values_list(
                "question_id", "value", "flagged", "seq"
            )
        }
        return Response({**state_payload(sitting, now), "answers": answers})


class ClaimIn(serializers.Serializer[Any]):
    device = serializers.UUIDField()


class ClaimView(APIView):
    """The page announces its device id; the newest page holds the sitting."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=ClaimIn, responses={200: StateOut, 409: REFUSAL}, operation_id="sitting_claim")
    def post(self, request: Request, sitting_id: int) -> Response:
        now = timezone.now()
        incoming = ClaimIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        sitting = sitting_refresh(sitting=own_sitting(request, sitting_id), now=now)
        if sitting.status != "in_progress":
            return refused(SittingRefused("closed", "This sitting is closed; answers are final."))
        device: uuid.UUID = incoming.validated_data["device"]
        sitting = sitting_claim(sitting=sitting, device=device, ip=client_ip(request), now=now)
        return Response(state_payload(sitting, now))


class EventIn(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=["focus_loss", "visibility", "paste"])
    detail = serializers.DictField(required=False, default=dict)


class EventsView(APIView):
    """Focus losses, hidden pages and pastes reported by the page (rate-limited)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=EventIn,
        responses={202: inline_serializer("EventAccepted", {"recorded": serializers.BooleanField()})},
        operation_id="sitting_event",
    )
    def post(self, request: Request, sitting_id: int) -> Response:
        now = timezone.now()
        incoming = EventIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        sitting = own_sitting(request, sitting_id)
        recorded = proctor_event_record(
            sitting=sitting,
            kind=incoming.validated_data["kind"],
            detail=incoming.validated_data["detail"],
            ip=client_ip(request),
            now=now,
        )
        return Response({"recorded": recorded}, status=status.HTTP_202_ACCEPTED)


class ExpressionIn(serializers.Serializer[Any]):
    text = serializers.CharField(allow_blank=True, max_length=300, trim_whitespace=False)


class ExpressionPreviewView(APIView):
    """A formula rendered as LaTeX, or a hint on why it does not parse — never on correctness."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ExpressionIn,
        responses={
            200: inline_serializer(
                "ExpressionPreview", {"latex": serializers.CharField(), "error": serializers.CharField()}
            )
        },
        operation_id="sitting_expression_preview",
    )
    def post(self, request: Request, sitting_id: int, question_id: int) -> Response:
        import sympy

        incoming = ExpressionIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        sitting = own_sitting(request, sitting_id)
        question = Question.objects.filter(pk=question_id, exam_id=sitting.exam_id, kind="expression").first()
        if question is None:
            raise Http404("No such question.")
        text = incoming.validated_data["text"]
        if not text.strip():
            return Response({"latex": "", "error": ""})
        try:
            expression = parse_expression(text, question.config.get("variables", []))
        except ExpressionError as error:
            return Response({"latex": "", "error": error.messages[0]})
        return Response({"latex": sympy.latex(expression), "error": ""})
