"""The answer-groups page of a question: identical answers, graded at once.

Thin interfaces: each view asks ``accounts.access`` first (the course's instructors and TAs;
anyone else gets 404), then calls one function of ``grading.groups`` and redirects with a
message. Groups are built on request ("Group identical answers", again after more answers are
scored): grouping formulas by symbolic equivalence takes a moment, so a page view never does it.
Each group is shown once, normalised, with a form that grades every member at once; each member
links to its own evaluation page, where it can be graded apart from the group (the rule is in
``grading.groups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import access_answer_group_for_grader, access_question_for_grader, may_edit_rubric
from accounts.models import User
from exams.models import Question
from grading.answers import AnswerDisplay, answer_display
from grading.groups import NEVER_GROUPED, GroupView, StaleGroup, answer_groups_build, answer_groups_view, group_grade
from grading.models import AnswerGroup, AnswerScore, RubricItem
from grading.review import rubric_for
from grading.rubric_forms import GroupGradeForm, form_errors_add
from grading.scoring import format_points

MEMBERS_LISTED = 200  # links shown per group; the rest are counted


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # login_required: never anonymous here


def _answers(count: int) -> str:
    return f"{count} answer{'s' if count != 1 else ''}"


def _evaluation_url(evaluation_id: int) -> str | None:
    """The member's own page (``grading:evaluation``), once that page is installed."""
    from django.urls import NoReverseMatch

    try:
        return reverse("grading:evaluation", args=[evaluation_id])
    except NoReverseMatch:
        return None


@dataclass(frozen=True)
class MemberLink:
    evaluation_id: int
    url: str | None
    points: str  # "" when not graded
    graded_by_group: bool


@dataclass(frozen=True)
class GroupRow:
    view: GroupView
    display: AnswerDisplay
    form: GroupGradeForm
    members: list[MemberLink]
    more: int  # members not listed
    points: str  # the members' points, e.g. "3" or "2, 3"


def _group_form(view: GroupView, items: list[RubricItem], data: object = None) -> GroupGradeForm:
    return GroupGradeForm(
        data,
        rubric_items=items,
        prefix=f"group-{view.group.pk}",
        initial={
            "items": sorted(view.item_ids),
            "adjustment": view.adjustment if view.adjustment is not None else 0,
            "comment": view.comment,
            "state": view.state,
        },
    )


def _page(
    request: HttpRequest,
    question: Question,
    *,
    bound: tuple[int, GroupGradeForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    items = list(rubric_for(question).items.filter(active=True).order_by("position", "pk"))
    choices = list(question.choices.all())
    rows = []
    for view in answer_groups_view(question):
        form = bound[1] if bound is not None and bound[0] == view.group.pk else _group_form(view, items)
        members = [
            MemberLink(
                member.evaluation_id,
                _evaluation_url(member.evaluation_id),
                "" if member.points is None else format_points(member.points),
                member.graded_by_group,
            )
            for member in view.members[:MEMBERS_LISTED]
        ]
        rows.append(
            GroupRow(
                view=view,
                display=answer_display(question, view.value, choices=choices),
                form=form,
                members=members,
                more=max(0, view.size - MEMBERS_LISTED),
                points=", ".join(format_points(points) for points in view.points),
            )
        )
    answered = AnswerScore.objects.filter(question=question, blank=False).count()
    context = {
        "question": question,
        "exam": question.exam,
        "groups": rows,
        "answered": answered,
        "grouped": sum(row.view.size for row in rows),
        "groupable": question.kind not in NEVER_GROUPED,
        "has_items": bool(items),
        "rubric_url": reverse("grading:rubric", args=[question.pk])
        if may_edit_rubric(request.user, question.exam.course_id)
        else None,
        "results_url": reverse("grading:results", args=[question.exam_id]),
    }
    return render(request, "grading/group_list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def answer_groups(request: HttpRequest, question_id: int) -> HttpResponse:
    """The question's groups (GET); group its answers again (POST, ``action=build``)."""
    question = access_question_for_grader(request.user, question_id)
    if question.is_group:
        raise Http404("A group of questions has no answers of its own.")
    if request.method == "GET":
        return _page(request, question)
    if request.POST.get("action") != "build":
        return HttpResponseBadRequest("Unknown action.", content_type="text/plain; charset=utf-8")
    summary = answer_groups_build(question)
    text = (
        f"{summary.groups} group{'s' if summary.groups != 1 else ''} of identical answers hold "
        f"{summary.grouped} of the {_answers(summary.answers)}; {summary.ungrouped} "
        f"{'is' if summary.ungrouped == 1 else 'are'} unlike any other, to grade one by one."
    )
    if summary.out_of_time:
        text += " Comparing formulas took too long, so some equivalent formulas may be in separate groups."
    messages.success(request, text)
    return redirect("grading:groups", question.pk)


@login_required
@require_POST
def answer_group_grade(request: HttpRequest, question_id: int, group_id: int) -> HttpResponse:
    """Grade every answer of the group with one decision."""
    group = access_answer_group_for_grader(request.user, question_id, group_id)
    question = group.question
    items = list(rubric_for(question).items.filter(active=True).order_by("position", "pk"))
    form = GroupGradeForm(request.POST, rubric_items=items, prefix=f"group-{group.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            graded = group_grade(
                group=group,
                grader=_user(request),
                item_ids=list(data["items"]),
                adjustment=data["adjustment"],
                comment=data["comment"],
                now=timezone.now(),
                state=data["state"],
            )
        except StaleGroup as error:
            messages.error(request, str(error))
            return redirect(_group_url(group))
        except ValidationError as error:
            form_errors_add(form, error)
        else:
            messages.success(request, f"Graded the {_answers(graded)} of the group “{_short(group.label)}”.")
            return redirect(_group_url(group))
    return _page(request, question, bound=(group.pk, form), status=400)


def _group_url(group: AnswerGroup) -> str:
    return reverse("grading:groups", args=[group.question_id]) + f"#group-{group.pk}"


def _short(text: str, length: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1] + "…"
