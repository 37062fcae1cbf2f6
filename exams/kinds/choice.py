from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from exams.kinds.base import JSON, ChoiceData, QuestionKind


def _labels(choices: list[ChoiceData]) -> list[str]:
    return [c.label for c in choices]


class SingleChoice(QuestionKind):
    """Exactly one option is correct; the student picks one or none."""

    name = "single_choice"
    label = "Single choice"
    policies = ("all_or_nothing", "negative_marking")
    uses_choices = True

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        correct = [c.label for c in choices if c.is_correct]
        if len(correct) != 1:
            raise ValidationError(
                f"A single_choice question needs exactly one correct choice; {len(correct)} are marked."
            )
        return {}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> str | None:
        if answer is None:
            return None
        if not isinstance(answer, str) or answer not in _labels(choices):
            raise ValidationError(f"Choose one of {', '.join(_labels(choices))}, or leave it blank.")
        return answer

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        return ", ".join(c.label for c in choices if c.is_correct)


class MultipleSelect(QuestionKind):
    """Choose all that apply. The seed deducts per wrong or missing selection."""

    name = "multiple_select"
    label = "Multiple select (choose all that apply)"
    policies = ("per_error_deduction", "all_or_nothing")
    uses_choices = True

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        if not any(c.is_correct for c in choices):
            raise ValidationError("A multiple_select question needs at least one correct choice.")
        return {}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> list[str] | None:
        if answer is None:
            return None
        if not isinstance(answer, list) or not all(isinstance(a, str) for a in answer):
            raise ValidationError("A multiple_select answer is a list of choice labels.")
        valid = _labels(choices)
        unknown = [a for a in answer if a not in valid]
        if unknown:
            raise ValidationError(f"No such choice: {', '.join(unknown)}.")
        chosen = set(answer)
        return [label for label in valid if label in chosen] or None

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        return ", ".join(c.label for c in choices if c.is_correct)
