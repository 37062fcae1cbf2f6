"""Forms of the release pages: they parse; the rules are in ``grading.release`` and
``grading.release_services``, whose refusals the views put beside the field they are about."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms

from grading.models import RubricItem
from grading.release_services import GradeChange

# What <input type="datetime-local"> sends and shows: local time of the site, to the minute.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class ReleaseForm(forms.Form):
    regrade_deadline = forms.DateTimeField(
        label="Regrade requests until",
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control w-auto", "aria-describedby": "deadline-help"},
            format=DATETIME_LOCAL,
        ),
        help_text="In the site's time zone. Leave empty to accept no regrade requests.",
    )
    confirm_pending = forms.BooleanField(
        label="Release anyway, with the answers that still wait for a grader shown as not graded yet",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class RegradeRequestForm(forms.Form):
    score = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label="What should be looked at again, and why?",
        max_length=5000,
        error_messages={"required": "Say what should be looked at again, and why."},
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class RegradeReplyForm(forms.Form):
    """The reply to a regrade request and, for an open one, the answer's grade as it should end."""

    reply = forms.CharField(
        label="Reply to the student",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a reply the student can read."},
    )
    items = forms.TypedMultipleChoiceField(
        label="Rubric items applied", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    adjustment = forms.DecimalField(label="Adjustment", max_digits=7, decimal_places=2, initial=Decimal(0))
    comment = forms.CharField(label="Comment to the student", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args: Any, rubric_items: list[RubricItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedMultipleChoiceField, self.fields["items"])
        field.choices = [(item.pk, f"{item.points:+} {item.description}") for item in rubric_items]

    def clean_comment(self) -> str:
        # Browsers send a textarea's lines with CRLF; the comment is stored with LF.
        return str(self.cleaned_data.get("comment") or "").replace("\r\n", "\n")

    def grade_change(self) -> GradeChange:
        data = self.cleaned_data
        return GradeChange(
            item_ids=list(data["items"]),
            adjustment=data["adjustment"],
            comment=data["comment"],
            version=data["version"],
        )
