"""Forms of the proctor pages: they parse; the rules are in ``exams.proctoring``, whose
refusals the views put beside the form they are about."""

from __future__ import annotations

from django import forms

from exams.proctoring import (
    ACCESS_CODE_MAX_CHARS,
    EXTENSION_MAX_MINUTES,
    MULTIPLIER_MAX,
    MULTIPLIER_MIN,
    REASON_MAX_CHARS,
    REOPEN_MAX_MINUTES,
)

# What <input type="datetime-local"> sends and shows: local time of the site, to the minute.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def reason_field(help_text: str = "Recorded with your name and the time.") -> forms.CharField:
    return forms.CharField(
        label="Reason",
        max_length=REASON_MAX_CHARS,
        error_messages={"required": "Give a reason: it is recorded with your name."},
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
        help_text=help_text,
    )


class ExtensionForm(forms.Form):
    minutes = forms.IntegerField(
        label="Extra minutes",
        min_value=1,
        max_value=EXTENSION_MAX_MINUTES,
        initial=10,
        widget=forms.NumberInput(attrs={"class": "form-control w-auto"}),
    )
    reason = reason_field()


class AccommodationForm(forms.Form):
    time_multiplier = forms.DecimalField(
        label="Time multiplier",
        min_value=MULTIPLIER_MIN,
        max_value=MULTIPLIER_MAX,
        max_digits=4,
        decimal_places=2,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "form-control w-auto", "step": "0.05", "list": "multipliers"}),
        help_text="1 for none; 1.5 for time and a half; 2 for double time. Applies to every exam of the course.",
    )
    may_exceed_window = forms.BooleanField(
        label="The extra time may run past the exam window's close",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    reason = reason_field()


class VoidForm(forms.Form):
    reason = reason_field()
    confirm = forms.BooleanField(
        label="I understand: the sitting keeps its answers but will not be scored",
        error_messages={"required": "Tick the box to confirm that the sitting will not be scored."},
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class ReopenForm(forms.Form):
    minutes = forms.IntegerField(
        label="Minutes from now",
        min_value=1,
        max_value=REOPEN_MAX_MINUTES,
        initial=10,
        widget=forms.NumberInput(attrs={"class": "form-control w-auto"}),
        help_text="The new deadline is now plus these minutes.",
    )
    reason = reason_field()


class WindowExtendForm(forms.Form):
    closes_at = forms.DateTimeField(
        label="New closing time",
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control w-auto"}, format=DATETIME_LOCAL
        ),
        help_text="In the site's time zone; later than the current close.",
    )
    reason = reason_field()


class WindowCloseForm(forms.Form):
    reason = reason_field()
    confirm = forms.BooleanField(
        label="I understand: running sittings end now, for everyone",
        error_messages={"required": "Tick the box to confirm that running sittings end now."},
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label="New access code",
        max_length=ACCESS_CODE_MAX_CHARS,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control w-auto", "autocomplete": "off"}),
        help_text="Leave empty for no code.",
    )
    reason = reason_field()
