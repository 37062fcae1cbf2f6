"""The admin's "Change the answer key" form: one question's policy, parameters, key and reason.

Only the fields of the question's kind are offered: checkboxes of the correct choices for
the choice kinds, a True/False select for true_false, the key's JSON (with the kind's worked
example) for the others. The rules are the kind's, through ``grading.keys``; this form
parses, and puts each refusal beside the field it is about.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from exams.forms import KIND_EXAMPLES, TRUE_FALSE_CHOICES
from exams.kinds import POLICY_PARAMS, get_kind
from exams.models import Question
from grading.key_lock import key_errors_by_field
from grading.keys import KeyProposal, key_current

JSON_ATTRS = {"rows": 3, "class": "vLargeTextField json-field"}


def _policy_help(policies: tuple[str, ...]) -> SafeString:
    def line(policy: str) -> str:
        params = POLICY_PARAMS[policy]
        if not params:
            return "no parameters"
        return "; ".join(f"{p.name}: {p.help} (default {p.default:g})" for p in params)

    items = format_html_join("", "<li><strong>{}</strong>: {}</li>", ((p, line(p)) for p in policies))
    return format_html('As JSON; {{}} uses the defaults.<ul class="kind-help">{}</ul>', items)


def _as_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"The {what} is a JSON object, such as {{}}.")
    return value


class KeyChangeForm(forms.Form):
    """A proposed key for ``question``; ``proposal()`` once valid. Starts from the current key."""

    policy = forms.ChoiceField(help_text="How answers to this question are scored.")
    policy_params = forms.JSONField(
        label="Policy parameters", required=False, widget=forms.Textarea(attrs={"rows": 2, **JSON_ATTRS})
    )
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "class": "vLargeTextField"}),
        help_text="Recorded with your name and the old and new key; students may ask why their score changed.",
    )

    def __init__(self, *args: Any, question: Question, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.question = question
        kind = get_kind(question.kind)
        current = key_current(question)
        policy = cast(forms.ChoiceField, self.fields["policy"])
        policy.choices = [(name, name.replace("_", " ")) for name in kind.policies]
        self.fields["policy_params"].help_text = _policy_help(kind.policies)
        self.initial.update(policy=current.policy or kind.default_policy, policy_params=current.policy_params)
        choices = list(question.choices.order_by("position", "label"))
        if kind.uses_choices:
            self.fields["correct_choices"] = forms.MultipleChoiceField(
                label="Correct choices",
                choices=[(c.label, f"{c.label}. {c.text}") for c in choices],
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text="Tick every right choice (exactly one for a single choice question).",
            )
            self.initial["correct_choices"] = list(current.correct_choices)
        elif kind.name == "true_false":
            self.fields["true_false_key"] = forms.TypedChoiceField(
                label="True/False key",
                choices=TRUE_FALSE_CHOICES,
                coerce=lambda value: value == "true",
                empty_value=None,
                help_text="The right answer.",
            )
            value = current.key.get("value")
            self.initial["true_false_key"] = "" if not isinstance(value, bool) else "true" if value else "false"
        else:
            example = KIND_EXAMPLES[kind.name]
            self.fields["key"] = forms.JSONField(
                label="Answer key",
                widget=forms.Textarea(attrs=JSON_ATTRS),
                help_text=format_html(
                    "As JSON. For example: <code>{}</code> {}",
                    json.dumps(example.key, ensure_ascii=False),
                    example.key_note,
                ),
            )
            self.initial["key"] = current.key
        self.order_fields(["policy", "policy_params", "correct_choices", "true_false_key", "key", "reason"])

    def clean_policy_params(self) -> dict[str, Any]:
        return _as_object(self.cleaned_data.get("policy_params") or {}, "policy's parameters")

    def clean_key(self) -> dict[str, Any]:
        return _as_object(self.cleaned_data.get("key"), "answer key")

    def proposal(self) -> KeyProposal:
        data = self.cleaned_data
        key = {"value": data["true_false_key"]} if "true_false_key" in self.fields else data.get("key", {})
        return KeyProposal(
            policy=data["policy"],
            policy_params=data["policy_params"],
            key=key,
            correct_choices=tuple(data.get("correct_choices", ())),
        )

    def add_key_errors(self, proposal: KeyProposal, error: ValidationError) -> None:
        """Show the kind's refusal of ``proposal`` beside the fields it is about."""
        for name, messages in key_errors_by_field(self.question, proposal, error).items():
            if name == "key" and "true_false_key" in self.fields:
                name = "true_false_key"
            self.add_error(name if name in self.fields else None, messages)
