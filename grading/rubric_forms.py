"""Forms of the rubric and answer-group pages: they parse; the rules (shortcuts, re-applying a
rubric, grading a group) are in ``grading.review`` and ``grading.groups``, whose refusals the
views put beside the field they are about."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from grading.models import Rubric, RubricItem
from grading.scoring import format_points


class RubricSettingsForm(forms.Form):
    mode = forms.ChoiceField(
        label="Count points",
        choices=Rubric.Mode.choices,
        widget=forms.RadioSelect,
    )
    floor_at_zero = forms.BooleanField(label="Never below 0", required=False)
    cap_at_max = forms.BooleanField(label="Never above the question's maximum", required=False)


class RubricItemForm(forms.Form):
    """One item, new or existing. An empty shortcut gets the digit of the item's position."""

    points = forms.DecimalField(
        label="Points",
        max_digits=7,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="Negative for a deduction, e.g. −1.",
    )
    description = forms.CharField(label="Description (graders)", max_length=300)
    explanation = forms.CharField(
        label="Explanation for the student (Markdown, $LaTeX$)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to the student with the item once grades are released.",
    )
    shortcut = forms.CharField(
        label="Shortcut key",
        required=False,
        max_length=1,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": "2"}),
        help_text="One letter or digit. Leave empty for the digit of its position.",
        error_messages={"max_length": "A shortcut is one key: a single letter or digit, such as 1 or m."},
    )

    @classmethod
    def for_item(cls, item: RubricItem, data: Any = None) -> RubricItemForm:
        return cls(
            data,
            prefix=f"item-{item.pk}",
            initial={
                "points": item.points,
                "description": item.description,
                "explanation": item.explanation,
                "shortcut": item.shortcut,
            },
        )


class GroupGradeForm(forms.Form):
    """One decision for every answer of a group."""

    items = forms.TypedMultipleChoiceField(
        label="Rubric items", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    adjustment = forms.DecimalField(
        label="Adjustment",
        max_digits=7,
        decimal_places=2,
        initial=Decimal(0),
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="Points added (or, negative, taken) after the items.",
    )
    comment = forms.CharField(label="Comment to the students", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    state = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, rubric_items: Sequence[RubricItem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedMultipleChoiceField, self.fields["items"])
        field.choices = [
            (item.pk, f"{format_points(item.points, signed=True)} {item.description}") for item in rubric_items
        ]

    def clean_adjustment(self) -> Decimal:
        return self.cleaned_data.get("adjustment") or Decimal(0)


def form_errors_add(form: forms.Form, error: ValidationError) -> None:
    """Put a domain refusal beside the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
