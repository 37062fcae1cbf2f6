"""What every question kind provides. One module per kind subclasses ``QuestionKind``.

A kind owns its config schema, its answer-key schema and its answer schema, and names the
scoring policies it accepts; the policies themselves are pure functions in
``grading.scoring``. Every ``clean_*`` method returns a normalised copy or raises
``django.core.exceptions.ValidationError`` with a message an instructor can act on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import ValidationError

JSON = dict[str, Any]


@dataclass(frozen=True)
class ChoiceData:
    """A choice as the kinds see it, independent of the ORM."""

    label: str
    text: str
    is_correct: bool


@dataclass(frozen=True)
class PolicyParam:
    name: str
    default: float
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


# Parameters of each named scoring policy, with their defaults. The policies themselves
# (grading.scoring) read the same names.
POLICY_PARAMS: dict[str, tuple[PolicyParam, ...]] = {
    "negative_marking": (
        PolicyParam("wrong", -1, maximum=0, help="points for a wrong answer (≤ 0)"),
        PolicyParam("blank", 0, help="points for no answer"),
    ),
    "all_or_nothing": (),
    "per_error_deduction": (PolicyParam("deduction", 2, minimum=0, help="points lost per wrong or missing selection"),),
    "numeric_tolerance": (),
    "symbolic_equivalence": (),
    "per_cell": (),
    "all_cells": (),
    "manual": (),
}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{what} must be a number, not {value!r}.")
    return float(value)


def clean_policy_params(policy: str, params: JSON) -> JSON:
    spec = {p.name: p for p in POLICY_PARAMS[policy]}
    unknown = sorted(set(params) - set(spec))
    if unknown:
        allowed = ", ".join(spec) or "none"
        raise ValidationError(f"Policy {policy} takes no parameter {', '.join(unknown)} (it takes: {allowed}).")
    cleaned: JSON = {}
    for name, p in spec.items():
        value = _number(params.get(name, p.default), f"{policy}.{name}")
        if p.minimum is not None and value < p.minimum:
            raise ValidationError(f"{policy}.{name} must be at least {p.minimum:g} ({p.help}).")
        if p.maximum is not None and value > p.maximum:
            raise ValidationError(f"{policy}.{name} must be at most {p.maximum:g} ({p.help}).")
        cleaned[name] = int(value) if value.is_integer() else value
    return cleaned


class QuestionKind(ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    policies: ClassVar[tuple[str, ...]]
    uses_choices: ClassVar[bool] = False
    auto_scored: ClassVar[bool] = True
    config_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def default_policy(self) -> str:
        return self.policies[0]

    @property
    def widget_template(self) -> str:
        return f"exams/widgets/{self.name}.html"

    def clean_policy(self, policy: str, params: JSON) -> tuple[str, JSON]:
        policy = policy or self.default_policy
        if policy not in self.policies:
            raise ValidationError(f"A {self.name} question is scored by {' or '.join(self.policies)}, not {policy!r}.")
        return policy, clean_policy_params(policy, params or {})

    def clean_config(self, config: JSON) -> JSON:
        unknown = sorted(set(config) - set(self.config_fields))
        if unknown:
            allowed = ", ".join(self.config_fields) or "none"
            raise ValidationError(f"A {self.name} question has no setting {', '.join(unknown)} (settings: {allowed}).")
        return dict(config)

    def clean_choices(self, choices: list[ChoiceData]) -> None:
        if self.uses_choices:
            if len(choices) < 2:
                raise ValidationError(f"A {self.name} question needs at least two choices.")
            labels = [c.label for c in choices]
            if len(set(labels)) != len(labels):
                raise ValidationError(f"Choice labels must be unique; got {', '.join(labels)}.")
        elif choices:
            raise ValidationError(f"A {self.name} question has no choices; remove them.")

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        """The normalised answer key. Choice kinds keep their key on the choices."""
        return dict(key)

    @abstractmethod
    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> Any:
        """A student's answer, normalised; ``None`` is a blank answer for every kind."""

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        """A one-line human summary of the key, for instructors and for released results."""
        return ""


def require_keys(obj: JSON, names: tuple[str, ...], what: str) -> None:
    missing = [n for n in names if n not in obj]
    if missing:
        raise ValidationError(f"{what} is missing {', '.join(missing)}.")
