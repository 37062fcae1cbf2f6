from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from exams.kinds.base import JSON, ChoiceData, QuestionKind

PART_RE = re.compile(r"^[a-z]$")
DEFAULT_MAX_LENGTH = 5000


class ShortAnswer(QuestionKind):
    """Free text in Markdown with $LaTeX$, optionally in parts (a), (b), graded by hand."""

    name = "short_answer"
    label = "Short answer"
    policies = ("manual",)
    auto_scored = False
    config_fields = ("parts", "max_length")

    def clean_config(self, config: JSON) -> JSON:
        config = super().clean_config(config)
        parts = config.get("parts", [])
        if not isinstance(parts, list) or not all(isinstance(p, str) and PART_RE.match(p) for p in parts):
            raise ValidationError('short_answer parts are single lowercase letters, e.g. ["a", "b"].')
        if len(set(parts)) != len(parts):
            raise ValidationError("short_answer parts must not repeat.")
        max_length = config.get("max_length", DEFAULT_MAX_LENGTH)
        if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 50_000:
            raise ValidationError("short_answer max_length is a whole number from 1 to 50000.")
        cleaned: JSON = {}
        if parts:
            cleaned["parts"] = parts
        if max_length != DEFAULT_MAX_LENGTH:
            cleaned["max_length"] = max_length
        return cleaned

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        unknown = set(key) - {"model_answer"}
        if unknown:
            raise ValidationError("A short_answer key has only model_answer (Markdown).")
        model = key.get("model_answer", "")
        if not isinstance(model, str):
            raise ValidationError("A short_answer model_answer is text.")
        return {"model_answer": model} if model else {}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> Any:
        if answer is None:
            return None
        limit = config.get("max_length", DEFAULT_MAX_LENGTH)
        parts = config.get("parts")
        if parts:
            if not isinstance(answer, dict) or not set(answer) <= set(parts):
                raise ValidationError(f"Answer each part ({', '.join(parts)}) separately.")
            texts = {p: answer.get(p, "") for p in parts}
        else:
            if not isinstance(answer, str):
                raise ValidationError("A short answer is text.")
            texts = {"": answer}
        for part, text in texts.items():
            if not isinstance(text, str):
                raise ValidationError("A short answer is text.")
            if len(text) > limit:
                where = f"Part ({part})" if part else "The answer"
                raise ValidationError(f"{where} is {len(text)} characters; the limit is {limit}.")
        if all(not t.strip() for t in texts.values()):
            return None
        return texts if parts else texts[""]

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        return str(key.get("model_answer", ""))
