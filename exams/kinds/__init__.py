"""The registry of question kinds. Adding a kind: one module here, one widget template."""

from __future__ import annotations

from exams.kinds.base import POLICY_PARAMS, ChoiceData, QuestionKind
from exams.kinds.choice import MultipleSelect, SingleChoice
from exams.kinds.expression import Expression
from exams.kinds.grid import Grid
from exams.kinds.numeric import Numeric
from exams.kinds.short_answer import ShortAnswer
from exams.kinds.sketch import Sketch
from exams.kinds.true_false import TrueFalse

KIND_GROUP = "group"  # a parent that carries shared context and has no answer of its own

KINDS: dict[str, QuestionKind] = {
    kind.name: kind
    for kind in (
        TrueFalse(),
        SingleChoice(),
        MultipleSelect(),
        ShortAnswer(),
        Numeric(),
        Expression(),
        Grid(),
        Sketch(),
    )
}


def get_kind(name: str) -> QuestionKind:
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"Unknown question kind {name!r}; kinds are {', '.join(KINDS)}.") from None


def kind_choices() -> list[tuple[str, str]]:
    return [(KIND_GROUP, "Group (shared context, no answer)")] + [(k.name, k.label) for k in KINDS.values()]


__all__ = ["KINDS", "KIND_GROUP", "POLICY_PARAMS", "ChoiceData", "QuestionKind", "get_kind", "kind_choices"]
