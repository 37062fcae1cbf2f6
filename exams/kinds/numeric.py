from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError

from exams.kinds.base import JSON, ChoiceData, QuestionKind

MODES = ("absolute", "relative")


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{what} must be a finite number, not {value!r}.")
    return float(value)


class Numeric(QuestionKind):
    """A number, accepted within an absolute or relative tolerance of the key."""

    name = "numeric"
    label = "Numeric"
    policies = ("numeric_tolerance",)
    config_fields = ("unit",)

    def clean_config(self, config: JSON) -> JSON:
        config = super().clean_config(config)
        unit = config.get("unit", "")
        if not isinstance(unit, str) or len(unit) > 20:
            raise ValidationError('numeric unit is short text, e.g. "ms".')
        return {"unit": unit} if unit else {}

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        unknown = set(key) - {"value", "tolerance", "mode"}
        if unknown or "value" not in key:
            raise ValidationError("A numeric key is value, with optional tolerance and mode (absolute or relative).")
        value = _finite(key["value"], "The key's value")
        tolerance = _finite(key.get("tolerance", 0), "The tolerance")
        if tolerance < 0:
            raise ValidationError("The tolerance cannot be negative.")
        mode = key.get("mode", "absolute")
        if mode not in MODES:
            raise ValidationError(f"The tolerance mode is absolute or relative, not {mode!r}.")
        return {"value": value, "tolerance": tolerance, "mode": mode}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> float | None:
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            return None
        if isinstance(answer, str):
            try:
                answer = float(answer.strip().replace(",", ""))
            except ValueError:
                raise ValidationError(f"{answer!r} is not a number.") from None
        return _finite(answer, "The answer")

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        tol = key.get("tolerance", 0)
        unit = f" {config['unit']}" if config.get("unit") else ""
        if not tol:
            return f"{key.get('value'):g}{unit}"
        spread = f"{tol:g}{unit}" if key.get("mode") == "absolute" else f"{tol * 100:g}%"
        return f"{key.get('value'):g}{unit} ± {spread}"
