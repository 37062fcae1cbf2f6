from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from exams.kinds.base import JSON, ChoiceData, QuestionKind


class TrueFalse(QuestionKind):
    """True or False, where blank is a real answer (0 points under negative marking)."""

    name = "true_false"
    label = "True / False"
    policies = ("negative_marking", "all_or_nothing")

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        value = key.get("value")
        if not isinstance(value, bool):
            raise ValidationError("A true_false key needs value: true or false.")
        return {"value": value}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> bool | None:
        if answer is None or isinstance(answer, bool):
            return answer
        raise ValidationError("Answer True, False, or leave it blank.")

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        return "True" if key.get("value") else "False"
