"""The rubric page of a question: its settings and its items, for the course's graders.

Thin interfaces: each view asks ``accounts.access`` first (instructors and TAs of the course
edit rubrics; anyone else gets 404), then calls one function of ``grading.review`` and
redirects with a message saying what changed, how many graded answers included. One POST URL
takes every change of the page, told apart by its ``action`` field: ``settings``, ``add``,
``edit``, ``move`` and ``delete``. Deleting an item that graded answers use leads to a
confirmation page that says how many; only its POST deletes such an item.

``static/grading/rubric.js`` enhances the up/down buttons: it posts them with ``Accept:
application/json`` (answered with the new order) and moves the item in place, keeping the focus.
Without it, every button is a plain form and the page reloads at the moved item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods

from accounts.access import access_question_for_rubric_editor, access_rubric_item_for_editor
from accounts.models import User
from exams.kinds import get_kind
from exams.markdown import render_markdown
from exams.models import Question
from grading.models import Evaluation, Rubric, RubricItem
from grading.review import (
    NeedsConfirmation,
    rubric_for,
    rubric_item_add,
    rubric_item_delete,
    rubric_item_edit,
    rubric_item_move,
    rubric_settings_update,
)
from grading.rubric_forms import RubricItemForm, RubricSettingsForm, form_errors_add
from grading.scoring import format_points


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required: never anonymous here


def _answers(count: int) -> str:
    return f"{count} graded answer{'s' if count != 1 else ''}"


def _rubric_url(question: Question, item: RubricItem | None = None) -> str:
    url = reverse("grading:rubric", args=[question.pk])
    return f"{url}#item-{item.pk}" if item is not None else url


@dataclass(frozen=True)
class ItemRow:
    item: RubricItem
    form: RubricItemForm
    used_by: int  # graded answers that carry the item
    explanation_html: SafeString
    first: bool
    last: bool
    open: bool  # its edit form is shown open (it holds errors)


def _page(
    request: HttpRequest,
    question: Question,
    rubric: Rubric,
    *,
    settings_form: RubricSettingsForm | None = None,
    add_form: RubricItemForm | None = None,
    bound_item: tuple[int, RubricItemForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    items = list(rubric.items.filter(active=True).order_by("position", "pk"))
    usage = {
        row["rubricitem_id"]: row["used"]
        for row in Evaluation.items.through.objects.filter(
            rubricitem__rubric=rubric, evaluation__graded_at__isnull=False
        )
        .values("rubricitem_id")
        .annotate(used=Count("id"))
    }
    rows = []
    for index, item in enumerate(items):
        bound = bound_item is not None and bound_item[0] == item.pk
        rows.append(
            ItemRow(
                item=item,
                form=bound_item[1] if bound_item is not None and bound else RubricItemForm.for_item(item),
                used_by=usage.get(item.pk, 0),
                explanation_html=render_markdown(item.explanation),
                first=index == 0,
                last=index == len(items) - 1,
                open=bound,
            )
        )
    context: dict[str, Any] = {
        "question": question,
        "exam": question.exam,
        "rubric": rubric,
        "override": get_kind(question.kind).auto_scored,
        "max_points": format_points(question.points),
        "prompt_html": render_markdown(question.prompt),
        "items": rows,
        "graded": Evaluation.objects.filter(question=question, graded_at__isnull=False).count(),
        "settings_form": settings_form
        or RubricSettingsForm(
            initial={"mode": rubric.mode, "floor_at_zero": rubric.floor_at_zero, "cap_at_max": rubric.cap_at_max}
        ),
        "add_form": add_form or RubricItemForm(prefix="new"),
        "groups_url": reverse("grading:groups", args=[question.pk]),
        "results_url": reverse("grading:results", args=[question.exam_id]),
    }
    return render(request, "grading/rubric_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rubric_edit(request: HttpRequest, question_id: int) -> HttpResponse:
    """The rubric page (GET), and every change made on it (POST, by ``action``)."""
    question = access_question_for_rubric_editor(request.user, question_id)
    rubric = rubric_for(question)
    if request.method == "GET":
        return _page(request, question, rubric)
    handler = ACTIONS.get(request.POST.get("action", ""))
    if handler is None:
        return HttpResponseBadRequest(
            "Unknown action: the form must say settings, add, edit, move or delete.",
            content_type="text/plain; charset=utf-8",
        )
    return handler(request, question, rubric)


def _settings(request: HttpRequest, question: Question, rubric: Rubric) -> HttpResponse:
    form = RubricSettingsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            changed = rubric_settings_update(
                rubric=rubric,
                mode=data["mode"],
                floor_at_zero=data["floor_at_zero"],
                cap_at_max=data["cap_at_max"],
                actor=_user(request),
                now=timezone.now(),
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(
                request,
                f"Settings saved and re-applied to every graded answer: {_answers(changed)} changed points.",
            )
            return redirect(_rubric_url(question))
    return _page(request, question, rubric, settings_form=form, status=400)


def _add(request: HttpRequest, question: Question, rubric: Rubric) -> HttpResponse:
    form = RubricItemForm(request.POST, prefix="new")
    if form.is_valid():
        data = form.cleaned_data
        try:
            item = rubric_item_add(
                rubric=rubric,
                points=data["points"],
                description=data["description"],
                explanation=data["explanation"],
                shortcut=data["shortcut"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            key = f" (shortcut {item.shortcut})" if item.shortcut else " (no shortcut: all ten digits are taken)"
            messages.success(request, f"Added “{item.description}”, {format_points(item.points, signed=True)}{key}.")
            return redirect(_rubric_url(question, item))
    return _page(request, question, rubric, add_form=form, status=400)


def _item(request: HttpRequest, question: Question) -> RubricItem:
    try:
        item_id = int(request.POST.get("item", ""))
    except ValueError:
        item_id = 0
    return access_rubric_item_for_editor(request.user, question.pk, item_id)


def _edit(request: HttpRequest, question: Question, rubric: Rubric) -> HttpResponse:
    item = _item(request, question)
    form = RubricItemForm.for_item(item, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        old_points = item.points
        try:
            changed = rubric_item_edit(
                item=item,
                actor=_user(request),
                now=timezone.now(),
                points=data["points"],
                description=data["description"],
                explanation=data["explanation"],
                shortcut=data["shortcut"],
            )
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            item.refresh_from_db()
            text = f"Saved “{item.description}”."
            if item.points != old_points:
                text += (
                    f" Its points went from {format_points(old_points, signed=True)} to "
                    f"{format_points(item.points, signed=True)} and were re-applied at once: "
                    f"{_answers(changed)} changed points."
                )
            messages.success(request, text)
            return redirect(_rubric_url(question, item))
    return _page(request, question, rubric, bound_item=(item.pk, form), status=400)


def _move(request: HttpRequest, question: Question, rubric: Rubric) -> HttpResponse:
    item = _item(request, question)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponseBadRequest("Move up or down.", content_type="text/plain; charset=utf-8")
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        order = rubric_item_move(item=item, offset=-1 if direction == "up" else 1)
    except ValidationError as error:
        if wants_json:
            return JsonResponse({"error": " ".join(error.messages)}, status=409)
        messages.error(request, " ".join(error.messages))
        return redirect(_rubric_url(question))
    if wants_json:
        return JsonResponse({"order": [entry.pk for entry in order]})
    return redirect(_rubric_url(question, item))


def _delete(request: HttpRequest, question: Question, rubric: Rubric) -> HttpResponse:
    item = _item(request, question)
    try:
        rubric_item_delete(item=item, actor=_user(request), now=timezone.now(), confirmed=False)
    except NeedsConfirmation:
        return redirect("grading:rubric-item-delete", question.pk, item.pk)
    messages.success(request, f"Deleted “{item.description}”. No graded answer used it.")
    return redirect(_rubric_url(question))


ACTIONS: dict[str, Callable[[HttpRequest, Question, Rubric], HttpResponse]] = {
    "settings": _settings,
    "add": _add,
    "edit": _edit,
    "move": _move,
    "delete": _delete,
}


@login_required
@require_http_methods(["GET", "POST"])
def rubric_item_delete_confirm(request: HttpRequest, question_id: int, item_id: int) -> HttpResponse:
    """Ask before deleting an item that graded answers use (GET); delete it and rescore them (POST)."""
    item = access_rubric_item_for_editor(request.user, question_id, item_id)
    question = item.rubric.question
    if request.method == "POST":
        used_by = item.evaluations.count()
        changed = rubric_item_delete(item=item, actor=_user(request), now=timezone.now(), confirmed=True)
        messages.success(
            request,
            f"Deleted “{item.description}”: taken off {_answers(used_by)}, which were rescored; "
            f"{changed} changed points.",
        )
        return redirect(_rubric_url(question))
    return render(
        request,
        "grading/rubric_item_delete.html",
        {
            "question": question,
            "exam": question.exam,
            "item": item,
            "used_by": item.evaluations.count(),
            "rubric_url": _rubric_url(question, item),
        },
    )
