"""The JSON endpoints an open exam page talks to: autosave, claim, state, events, previews, and
the pulse (deadline and clarifications) with its report of the clarifications shown.

Thin interfaces over ``exams.sittings`` and ``exams.clarifications``: parse, check that the
sitting is the student's own (another student's is 404), call one function, answer. Session
authentication enforces CSRF (DRF's for the APIViews, CsrfViewMiddleware for the plain views
below). Every refusal is a
clear JSON error with a ``code`` the page acts on, never a silent drop.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, cast

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from exams.clarifications import MAX_SEEN_IDS, clarifications_for, clarifications_seen
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


def own_sitting(request: HttpRequest | Request, sitting_id: int) -> Sitting:
    sitting = Sitting.objects.filter(pk=sitting_id, student_id=request.user.pk).first()
    if sitting is None:
        raise Http404("No such sitting.")
    return sitting


def state_payload(sitting: Sitting, now: Any) -> dict[str, Any]:
    return {
        "sitting": sitting.pk,
        "status": sitting.status,
        "deadline": sitting.deadline.isoformat(),
        "server_now": now.isoformat(),
        "last_seq": sitting.last_seq,
    }


# --- plain views --------------------------------------------------------------------------------
#
# Every open exam page autosaves every few seconds, and a whole room claims its sittings within
# a minute. For these two endpoints DRF's request wrapping, second CSRF check, content
# negotiation, serializers and renderer were about a quarter of the CPU of a save
# (docs/benchmarks.md), so they are plain Django views that keep DRF's contract: a session
# (CsrfViewMiddleware checks the token, as for any form), a JSON body, the same serializers for
# anything but the page's own spelling (so the same 400s), ``{"detail"}`` on errors, and an
# APIView class that documents each in the schema.


def _detail(message: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status_code)


def _refused_json(error: SittingRefused) -> JsonResponse:
    return JsonResponse({"code": error.code, "detail": error.message}, status=status.HTTP_409_CONFLICT)


def _strict_constant(name: str) -> None:
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")


def _json_post(request: HttpRequest) -> Any:
    """The JSON body of a logged-in student's POST, or the JsonResponse that refuses it as
    DRF would have (403 without a session, 415 not JSON, 400 not parseable)."""
    if not request.user.is_authenticated:
        return _detail("Authentication credentials were not provided.", status.HTTP_403_FORBIDDEN)
    if request.content_type != "application/json":
        return _detail(
            f'Unsupported media type "{request.content_type}" in request.', status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
        )
    if not request.body:
        return {}
    try:
        return json.loads(request.body, parse_constant=_strict_constant)
    except ValueError as error:
        return _detail(f"JSON parse error - {error}", status.HTTP_400_BAD_REQUEST)


def _canonical_device(payload: Any) -> uuid.UUID | None:
    """``payload["device"]`` when it is a UUID string, read as ``serializers.UUIDField`` does."""
    device = payload.get("device") if isinstance(payload, dict) else None
    if not isinstance(device, str):
        return None
    try:
        return uuid.UUID(hex=device)
    except ValueError:
        return None


def documents(view: Callable[..., HttpResponse], schema: type[APIView]) -> None:
    """Let drf-spectacular describe the plain ``view`` by the APIView ``schema``: the schema
    generator takes any URL callback with ``cls`` (and ``initkwargs``) for an APIView's."""
    view.cls = schema  # type: ignore[attr-defined]
    view.initkwargs = {}  # type: ignore[attr-defined]


class AnswerIn(serializers.Serializer[Any]):
    question = serializers.IntegerField()
    value = serializers.JSONField(allow_null=True)
    flagged = serializers.BooleanField(default=False)
    seq = serializers.IntegerField(min_value=1)


MAX_ANSWERS = 500  # in one save


class SaveIn(serializers.Serializer[Any]):
    device = serializers.UUIDField()
    answers = serializers.ListField(child=AnswerIn(), allow_empty=False, max_length=MAX_ANSWERS)


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


def _canonical_save(payload: Any) -> tuple[uuid.UUID, list[SaveItem]] | None:
    """The body of a save in the page's own spelling (the device as a string; each answer with
    integer question and seq, a boolean flagged or none, and a value), read without a
    serializer; None for anything else, which ``SaveIn`` then reads, with its errors. Whatever
    this accepts, SaveIn accepts the same way."""
    device = _canonical_device(payload)
    answers = payload.get("answers") if device is not None else None
    if device is None or not isinstance(answers, list) or not 0 < len(answers) <= MAX_ANSWERS:
        return None
    items = []
    for answer in answers:
        if not isinstance(answer, dict) or "value" not in answer:
            return None
        question, seq, flagged = answer.get("question"), answer.get("seq"), answer.get("flagged", False)
        if type(question) is not int or type(seq) is not int or seq < 1 or type(flagged) is not bool:
            return None
        items.append(SaveItem(question, answer["value"], flagged, seq))
    return device, items


@require_POST
def answers_save_view(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """Autosave: a batch of answers with per-sitting client sequence numbers (``AnswersView``
    documents it)."""
    now = timezone.now()
    payload = _json_post(request)
    if isinstance(payload, JsonResponse):
        return payload
    parsed = _canonical_save(payload)
    if parsed is None:
        incoming = SaveIn(data=payload)
        if not incoming.is_valid():
            return JsonResponse(incoming.errors, status=status.HTTP_400_BAD_REQUEST)
        data = incoming.validated_data
        parsed = data["device"], [SaveItem(a["question"], a["value"], a["flagged"], a["seq"]) for a in data["answers"]]
    device, items = parsed
    try:
        result = answers_save(
            sitting_id=sitting_id,
            student=cast(User, request.user),
            device=device,
            items=items,
            ip=client_ip(request),
            now=now,
        )
    except Sitting.DoesNotExist:
        return _detail("No such sitting.", status.HTTP_404_NOT_FOUND)
    except SittingRefused as error:
        return _refused_json(error)
    return JsonResponse(
        {
            "results": [
                {"question": o.question_id, "seq": o.seq, "status": o.status, "error": o.error} for o in result.outcomes
            ],
            "last_seq": result.last_seq,
            "server_now": now.isoformat(),
            "deadline": result.deadline.isoformat(),
        }
    )


# The schema of answers_save_view, which serves the URL (see ``documents``).
class AnswersView(APIView):
    """Autosave: a batch of answers with per-sitting client sequence numbers."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=SaveIn, responses={200: SaveOut, 409: REFUSAL}, operation_id="sitting_answers_save")
    def post(self, request: Request, sitting_id: int) -> HttpResponse:
        # Never routed (the URL calls answers_save_view); should it be, it answers the same.
        return answers_save_view(request._request, sitting_id)


documents(answers_save_view, AnswersView)


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


@require_POST
def claim_view(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """The page announces its device id; the newest page holds the sitting (``ClaimView``
    documents it)."""
    now = timezone.now()
    payload = _json_post(request)
    if isinstance(payload, JsonResponse):
        return payload
    device = _canonical_device(payload)
    if device is None:
        incoming = ClaimIn(data=payload)
        if not incoming.is_valid():
            return JsonResponse(incoming.errors, status=status.HTTP_400_BAD_REQUEST)
        device = incoming.validated_data["device"]
    try:
        sitting = sitting_refresh(sitting=own_sitting(request, sitting_id), now=now)
    except Http404:
        return _detail("No such sitting.", status.HTTP_404_NOT_FOUND)
    if sitting.status != "in_progress":
        return _refused_json(SittingRefused("closed", "This sitting is closed; answers are final."))
    sitting = sitting_claim(sitting=sitting, device=device, ip=client_ip(request), now=now)
    return JsonResponse(state_payload(sitting, now))


# The schema of claim_view, which serves the URL (see ``documents``).
class ClaimView(APIView):
    """The page announces its device id; the newest page holds the sitting."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(request=ClaimIn, responses={200: StateOut, 409: REFUSAL}, operation_id="sitting_claim")
    def post(self, request: Request, sitting_id: int) -> HttpResponse:
        # Never routed (the URL calls claim_view); should it be, it answers the same.
        return claim_view(request._request, sitting_id)


documents(claim_view, ClaimView)


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


# --- the pulse: what reaches an open page without the student typing ------------------------------
#
# Every open exam page asks every ~7 s (static/exams/pulse.js): a thousand pages are ~140
# requests/s, so it is a plain view like the autosave, and costs about what an autosave does: the
# user (AuthenticationMiddleware), one SELECT of the sitting, and the clarifications from the
# per-process memo (one query per exam and process every couple of seconds).


class PulseOut(serializers.Serializer[Any]):
    status = serializers.CharField()
    deadline = serializers.DateTimeField()
    server_now = serializers.DateTimeField()
    clarifications = inline_serializer(
        "PulseClarification",
        {
            "id": serializers.IntegerField(),
            "question": serializers.IntegerField(allow_null=True),
            "number": serializers.CharField(),
            "html": serializers.CharField(),
            "published_at": serializers.DateTimeField(),
        },
        many=True,
    )


@require_GET
def pulse_view(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """The sitting's status and deadline, and the clarifications after ``since`` (``PulseView``
    documents it). A sitting past deadline + grace is closed here, as on any access."""
    now = timezone.now()
    if not request.user.is_authenticated:
        return _detail("Authentication credentials were not provided.", status.HTTP_403_FORBIDDEN)
    since = request.GET.get("since", "0")
    if not (since.isascii() and since.isdigit()) or len(since) > 18:
        return JsonResponse({"since": ["A valid integer is required."]}, status=status.HTTP_400_BAD_REQUEST)
    sitting = (
        Sitting.objects.filter(pk=sitting_id, student_id=request.user.pk).only("exam_id", "status", "deadline").first()
    )
    if sitting is None:
        return _detail("No such sitting.", status.HTTP_404_NOT_FOUND)
    sitting = sitting_refresh(sitting=sitting, now=now)
    response = JsonResponse(
        {
            "status": sitting.status,
            "deadline": sitting.deadline.isoformat(),
            "server_now": now.isoformat(),
            "clarifications": [item.as_json() for item in clarifications_for(sitting.exam_id, int(since))],
        }
    )
    response["Cache-Control"] = "no-store"
    return response


# The schema of pulse_view, which serves the URL (see ``documents``).
class PulseView(APIView):
    """The sitting's status and deadline, and the clarifications after ``since``: what an open
    exam page learns every few seconds even when the student types nothing."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since", int, description="The id of the last clarification the page has (0: none).", default=0
            )
        ],
        responses={200: PulseOut},
        operation_id="sitting_pulse",
    )
    def get(self, request: Request, sitting_id: int) -> HttpResponse:
        # Never routed (the URL calls pulse_view); should it be, it answers the same.
        return pulse_view(request._request, sitting_id)


documents(pulse_view, PulseView)


class SeenIn(serializers.Serializer[Any]):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=MAX_SEEN_IDS)


def _canonical_seen(payload: Any) -> list[int] | None:
    """``{"ids": [1, 2]}`` as the page sends it, read without a serializer; None for anything
    else, which ``SeenIn`` then reads, with its errors."""
    ids = payload.get("ids") if isinstance(payload, dict) else None
    if not isinstance(ids, list) or len(ids) > MAX_SEEN_IDS:
        return None
    if not all(type(i) is int and i > 0 for i in ids):
        return None
    return ids


@require_POST
def clarifications_seen_view(request: HttpRequest, sitting_id: int) -> HttpResponse:
    """The page showed these clarifications (``ClarificationsSeenView`` documents it)."""
    now = timezone.now()
    payload = _json_post(request)
    if isinstance(payload, JsonResponse):
        return payload
    ids = _canonical_seen(payload)
    if ids is None:
        incoming = SeenIn(data=payload)
        if not incoming.is_valid():
            return JsonResponse(incoming.errors, status=status.HTTP_400_BAD_REQUEST)
        ids = incoming.validated_data["ids"]
    sitting = Sitting.objects.filter(pk=sitting_id, student_id=request.user.pk).only("exam_id").first()
    if sitting is None:
        return _detail("No such sitting.", status.HTTP_404_NOT_FOUND)
    return JsonResponse({"recorded": clarifications_seen(sitting=sitting, ids=ids, now=now)})


# The schema of clarifications_seen_view, which serves the URL (see ``documents``).
class ClarificationsSeenView(APIView):
    """The page showed these clarifications: recorded once per sitting (a repeat changes nothing)."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        request=SeenIn,
        responses={200: inline_serializer("ClarificationsSeen", {"recorded": serializers.IntegerField()})},
        operation_id="sitting_clarifications_seen",
    )
    def post(self, request: Request, sitting_id: int) -> HttpResponse:
        # Never routed (the URL calls clarifications_seen_view); should it be, it answers the same.
        return clarifications_seen_view(request._request, sitting_id)


documents(clarifications_seen_view, ClarificationsSeenView)
