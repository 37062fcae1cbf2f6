from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError

from exams.kinds.base import JSON, ChoiceData, QuestionKind

MAX_STROKES = 200
MAX_POINTS = 20_000


class Sketch(QuestionKind):
    """Draw on labelled axes. Stored as strokes of (x, y) points in axis units; graded by hand."""

    name = "sketch"
    label = "Sketch on axes"
    policies = ("manual",)
    auto_scored = False
    config_fields = ("x_label", "y_label", "x_min", "x_max", "y_min", "y_max")

    def clean_config(self, config: JSON) -> JSON:
        config = super().clean_config(config)
        cleaned: JSON = {
            "x_label": config.get("x_label", "x"),
            "y_label": config.get("y_label", "y"),
        }
        for axis in ("x", "y"):
            low, high = config.get(f"{axis}_min", -5), config.get(f"{axis}_max", 5)
            for value in (low, high):
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    raise ValidationError(f"sketch {axis}_min and {axis}_max are numbers.")
            if low >= high:
                raise ValidationError(f"sketch {axis}_min must be below {axis}_max.")
            cleaned[f"{axis}_min"], cleaned[f"{axis}_max"] = low, high
        if not all(isinstance(cleaned[k], str) for k in ("x_label", "y_label")):
            raise ValidationError("sketch axis labels are text.")
        return cleaned

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        unknown = set(key) - {"description"}
        if unknown or not isinstance(key.get("description", ""), str):
            raise ValidationError("A sketch key is description: what a correct sketch shows (Markdown).")
        return {"description": key["description"]} if key.get("description") else {}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> JSON | None:
        if answer is None:
            return None
        strokes = answer.get("strokes") if isinstance(answer, dict) else None
        if not isinstance(strokes, list) or len(strokes) > MAX_STROKES:
            raise ValidationError(f"A sketch is up to {MAX_STROKES} strokes.")
        total = 0
        cleaned: list[list[list[float]]] = []
        for stroke in strokes:
            if not isinstance(stroke, list):
                raise ValidationError("Each stroke is a list of [x, y] points.")
            points: list[list[float]] = []
            for point in stroke:
                if (
                    not isinstance(point, list)
                    or len(point) != 2
                    or not all(
                        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in point
                    )
                ):
                    raise ValidationError("Each point of a stroke is [x, y] in axis units.")
                points.append([round(float(point[0]), 4), round(float(point[1]), 4)])
            total += len(points)
            if points:
                cleaned.append(points)
        if total > MAX_POINTS:
            raise ValidationError(f"A sketch is up to {MAX_POINTS} points.")
        return {"strokes": cleaned} if cleaned else None

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        return str(key.get("description", ""))
