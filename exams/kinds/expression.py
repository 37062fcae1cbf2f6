from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from exams.expressions import clean_variables, parse_expression
from exams.kinds.base import JSON, ChoiceData, QuestionKind

MAX_ANSWER_LENGTH = 300


class Expression(QuestionKind):
    """A formula in the question's variables, scored by symbolic equivalence."""

    name = "expression"
    label = "Expression (formula)"
    policies = ("symbolic_equivalence",)
    config_fields = ("variables",)

    def clean_config(self, config: JSON) -> JSON:
        config = super().clean_config(config)
        variables = config.get("variables", [])
        if not isinstance(variables, list):
            raise ValidationError('expression variables are a list of names, e.g. ["D_C"].')
        return {"variables": clean_variables(variables)}

    def clean_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> JSON:
        if set(key) != {"expression"} or not isinstance(key["expression"], str):
            raise ValidationError("An expression key is expression: the formula, e.g. sqrt(2 - 2*D_C).")
        try:
            parse_expression(key["expression"], config.get("variables", []))
        except ValidationError as error:
            raise ValidationError(f"The key formula is not valid: {error.messages[0]}") from None
        return {"expression": key["expression"].strip()}

    def clean_answer(self, config: JSON, answer: Any, choices: list[ChoiceData]) -> str | None:
        # A formula that does not parse is still saved: the student may be mid-way through
        # typing it. Scoring reports it as unparseable.
        if answer is None or (isinstance(answer, str) and not answer.strip()):
            return None
        if not isinstance(answer, str):
            raise ValidationError("A formula answer is text.")
        if len(answer) > MAX_ANSWER_LENGTH:
            raise ValidationError(f"The formula is longer than {MAX_ANSWER_LENGTH} characters.")
        return answer

    def describe_key(self, config: JSON, key: JSON, choices: list[ChoiceData]) -> str:
        return str(key.get("expression", ""))
