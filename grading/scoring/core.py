"""The typed core of scoring: what a scorer reads (``QuestionSpec``) and returns (``Score``).

Nothing here touches the ORM. A ``QuestionSpec`` is built from plain data (see
``QuestionSpec.build``; ``grading.scoring.specs`` builds one from a saved question), so
every policy can be tested, and run in bulk, without a database.

Points are ``Decimal`` to the hundredth, the precision ``Question.points`` has. Policies
compute exactly (``Fraction``) and round once, half away from zero, in ``to_points``: 7 of 9 cells of
a 3-point grid is 2.33.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from exams.kinds import get_kind
from exams.kinds.base import POLICY_PARAMS, ChoiceData

POINTS_QUANTUM = Decimal("0.01")
MINUS = "\u2212"  # a real minus sign reads better than a hyphen in "Wrong: −1"


def to_points(value: Fraction | Decimal | int) -> Decimal:
    """Round an exact number of points to the hundredth, half away from zero (2/3 → 0.67, −1/3 → −0.33)."""
    exact = Fraction(value)
    hundredths, remainder = divmod(abs(exact.numerator) * 100, exact.denominator)
    if 2 * remainder >= exact.denominator:
        hundredths += 1
    return (Decimal(-hundredths if exact < 0 else hundredths) * POINTS_QUANTUM).quantize(POINTS_QUANTUM)


def format_points(value: Decimal | Fraction | int, *, signed: bool = False) -> str:
    """``2``, ``0.5``, ``−1``; with ``signed``, positive values get a plus sign (``+2``)."""
    number = to_points(value).normalize()
    text = f"{abs(number):f}"
    if number < 0:
        return MINUS + text
    if signed and number > 0:
        return "+" + text
    return text


class UnreadableAnswer(ValueError):
    """Stored data that is not an answer to the question; ``score_answer`` scores it 0 with this reason."""


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True, slots=True)
class Score:
    """The result of scoring one answer.

    ``points`` may be negative (negative marking) and is never above ``max_points`` under the
    built-in policies. ``explanation`` is written for the student ("Wrong: −1"). When
    ``needs_manual`` is true, ``points`` is a provisional 0 until a grader decides.
    ``extra_credit`` scores add to a total but not to its maximum.
    """

    points: Decimal
    max_points: Decimal
    explanation: str
    needs_manual: bool = False
    extra_credit: bool = False

    @property
    def is_full(self) -> bool:
        return not self.needs_manual and self.points >= self.max_points


@dataclass(frozen=True, slots=True)
class QuestionSpec:
    """Everything a scorer needs to know about one answerable question, as plain data.

    ``params`` holds every parameter of ``policy`` (defaults filled in by ``build``).
    For choice kinds, ``choice_labels`` lists the options in order and ``correct_labels``
    the key; other kinds keep their key in ``key``. ``question_id`` and ``number`` only
    identify the question for callers; scoring never reads them.
    """

    kind: str
    points: Decimal
    policy: str
    params: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    key: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    choice_labels: tuple[str, ...] = ()
    correct_labels: frozenset[str] = frozenset()
    extra_credit: bool = False
    question_id: int | None = None
    number: str = ""

    @classmethod
    def build(
        cls,
        *,
        kind: str,
        points: Decimal | int | str,
        policy: str = "",
        policy_params: Mapping[str, float | int | str | Decimal] | None = None,
        config: Mapping[str, Any] | None = None,
        key: Mapping[str, Any] | None = None,
        choices: Iterable[ChoiceData] = (),
        extra_credit: bool = False,
        question_id: int | None = None,
        number: str = "",
    ) -> QuestionSpec:
        """A spec from plain data: an empty ``policy`` means the kind's default, and
        parameters missing from ``policy_params`` take the defaults of ``POLICY_PARAMS``.

        Raises ValueError for an unknown kind, a policy the kind does not accept, or a
        parameter the policy lacks.
        """
        try:
            kind_spec = get_kind(kind)
        except KeyError as error:
            raise ValueError(str(error.args[0])) from None
        policy = policy or kind_spec.default_policy
        if policy not in kind_spec.policies:
            raise ValueError(f"A {kind} question is scored by {' or '.join(kind_spec.policies)}, not {policy!r}.")
        given = dict(policy_params or {})
        params: dict[str, Decimal] = {}
        for param in POLICY_PARAMS[policy]:
            params[param.name] = Decimal(str(given.pop(param.name, param.default)))
        if given:
            raise ValueError(f"Policy {policy} takes no parameter {', '.join(sorted(given))}.")
        choice_list = list(choices)
        return cls(
            kind=kind,
            points=to_points(Decimal(str(points))),
            policy=policy,
            params=MappingProxyType(params),
            config=MappingProxyType(dict(config or {})),
            key=MappingProxyType(dict(key or {})),
            choice_labels=tuple(c.label for c in choice_list),
            correct_labels=frozenset(c.label for c in choice_list if c.is_correct),
            extra_credit=extra_credit,
            question_id=question_id,
            number=number,
        )

    def param(self, name: str) -> Decimal:
        """A policy parameter, falling back to its default in ``POLICY_PARAMS``."""
        if name in self.params:
            return self.params[name]
        for param in POLICY_PARAMS.get(self.policy, ()):
            if param.name == name:
                return Decimal(str(param.default))
        raise KeyError(f"Policy {self.policy} has no parameter {name!r}.")

    def score(self, points: Fraction | Decimal | int, explanation: str, *, needs_manual: bool = False) -> Score:
        """A ``Score`` of this question: points rounded to the hundredth, the maximum, the flags."""
        return Score(
            points=to_points(points),
            max_points=self.points,
            explanation=explanation,
            needs_manual=needs_manual,
            extra_credit=self.extra_credit,
        )

    def blank(self, points: Fraction | Decimal | int = 0) -> Score:
        return self.score(points, f"Blank: {format_points(points, signed=True)}")

    def not_an_answer(self, why: str) -> Score:
        """0 points for stored data this question cannot read (never raises: a bulk job goes on)."""
        return self.score(0, f"Not an answer to this question ({why}): 0")
