"""The ``symbolic_equivalence`` policy for formula answers, e.g. 3.2's ``sqrt(2 - 2*D_C)``.

Student text is parsed by ``exams.expressions.parse_expression`` (no ``eval``; size, depth
and exponents bounded). Equivalence with the key is then decided in two bounded steps:

1. Sampling. Both formulas are evaluated, to 30 digits, at ``SAMPLE_COUNT`` seeded
   pseudo-random values of the variables: half in [−1, 1] (the seed's ``D_C`` is a cosine
   similarity), the rest in [0, 10] and [−10, 10]. Only points where *both* are finite
   real numbers are compared: outside a formula's real domain (``sqrt`` of a negative,
   ``log`` of 0, a division by 0) there is nothing to compare. One point where they differ
   refutes equivalence.
2. Proof. Otherwise sympy decides: ``simplify(answer − key)`` is 0 (equivalent) or a
   nonzero constant (not). Where simplify cannot tell (it is incomplete:
   ``abs(sqrt(2 - 2*D_C))``), agreement at ``MIN_AGREEING`` or more sampled points is
   accepted, as numeric checkers such as WeBWorK's do.

Each step runs under ``call_with_time_limit`` (see ``timelimit``: SIGALRM in a main
thread, a watched thread elsewhere). If time runs out before anything is decided, the
answer is left to a grader rather than marked wrong. Decided outcomes are cached per pair
of parsed formulas, so a bulk job pays once for each distinct answer.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from exams.expressions import ExpressionError, parse_expression
from grading.scoring.core import MINUS, QuestionSpec, Score, UnreadableAnswer, format_points
from grading.scoring.timelimit import TimeLimitExceeded, call_with_time_limit

SAMPLE_COUNT = 24
SAMPLE_RANGES = ((-1.0, 1.0), (0.0, 10.0), (-1.0, 1.0), (-10.0, 10.0))
SAMPLE_SEED = "examhall-symbolic-equivalence"  # fixed: a rescore gives the same verdict
MIN_AGREEING = 8
DIGITS = 30
# Values are computed to 30 digits, so equal formulas agree far closer than this; the slack
# covers the rare evaluation that cannot reach full precision.
RELATIVE_TOLERANCE = sympy.Float("1e-15")
IMAGINARY_TOLERANCE = sympy.Float("1e-20")
TIME_LIMIT = 2.0  # seconds, for each of the two steps
CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Equivalence:
    """``equivalent`` is None when time ran out before it was decided."""

    equivalent: bool | None
    reason: str
    timed_out: bool = False


def sample_points(variables: Sequence[str], *, count: int = SAMPLE_COUNT) -> list[dict[str, float]]:
    """The values at which formulas over ``variables`` are compared, the same on every call."""
    if not variables:
        return [{}]
    rng = random.Random(f"{SAMPLE_SEED}:{','.join(variables)}")  # noqa: S311 -- sampling, not secrecy
    points = []
    for index in range(count):
        low, high = SAMPLE_RANGES[index % len(SAMPLE_RANGES)]
        points.append({name: round(rng.uniform(low, high), 4) for name in variables})
    return points


def _real_value(expression: sympy.Expr, substitutions: Mapping[Any, Any]) -> sympy.Float | None:
    """The expression's value to ``DIGITS`` digits if it is a finite real number there, else None."""
    try:
        real, imaginary = expression.evalf(DIGITS, subs=substitutions).as_real_imag()
        if not (real.is_number and imaginary.is_number and real.is_finite and imaginary.is_finite):
            return None
        real, imaginary = sympy.Float(real, DIGITS), sympy.Float(imaginary, DIGITS)
    except Exception:  # whatever fails to evaluate has no value here, like sqrt(-1)
        return None
    if abs(imaginary) > IMAGINARY_TOLERANCE * max(1, abs(real)):
        return None
    return real


@dataclass(frozen=True, slots=True)
class _Sampling:
    agreeing: int
    counterexample: dict[str, float] | None


def _sample(answer: sympy.Expr, key: sympy.Expr, variables: Sequence[str]) -> _Sampling:
    symbols = {name: sympy.Symbol(name, real=True) for name in variables}
    agreeing = 0
    for point in sample_points(variables):
        substitutions = {symbols[name]: sympy.Float(value, DIGITS) for name, value in point.items()}
        expected = _real_value(key, substitutions)
        given = _real_value(answer, substitutions) if expected is not None else None
        if expected is None or given is None:
            continue
        if abs(given - expected) > RELATIVE_TOLERANCE * max(1, abs(given), abs(expected)):
            return _Sampling(agreeing, point)
        agreeing += 1
    return _Sampling(agreeing, None)


UNDEFINED = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


def is_undefined(expression: sympy.Expr) -> bool:
    """Whether a parsed formula holds an undefined constant, as ``1/0`` or ``log(0)`` become.

    Such formulas must not be compared: ``zoo + 1`` is ``zoo``, so any two would look equal.
    """
    return bool(expression.has(*UNDEFINED))


def _describe_point(point: Mapping[str, float]) -> str:
    return ", ".join(f"{name} = {value:g}".replace("-", MINUS) for name, value in point.items())


def _simplified_difference_is_zero(answer: sympy.Expr, key: sympy.Expr) -> bool | None:
    """True if sympy proves answer − key is 0, False if it reduces it to a nonzero constant
    (``exp(27) + 1`` against ``exp(27)``), None if a variable remains and it cannot tell."""
    difference = sympy.simplify(answer - key)
    if difference == 0:
        return True
    if difference.is_number and difference.is_zero is False:
        return False
    return None


def decide_equivalence(
    answer: sympy.Expr, key: sympy.Expr, variables: Sequence[str], *, time_limit: float = TIME_LIMIT
) -> Equivalence:
    """Whether two parsed formulas are the same function where both are real (see the module doc)."""
    if answer == key:
        return Equivalence(True, "Equivalent to the key")
    timed_out = False
    try:
        sampling: _Sampling | None = call_with_time_limit(lambda: _sample(answer, key, variables), seconds=time_limit)
    except TimeLimitExceeded:
        sampling, timed_out = None, True
    if sampling is not None and sampling.counterexample is not None:
        where = _describe_point(sampling.counterexample)
        return Equivalence(False, f"Not equivalent to the key (they differ at {where})", timed_out)

    proved: bool | None
    try:
        proved = call_with_time_limit(lambda: _simplified_difference_is_zero(answer, key), seconds=time_limit)
    except TimeLimitExceeded:
        proved, timed_out = None, True
    except Exception:  # a sympy failure proves nothing either way; sampling may still decide
        proved = None
    if proved:
        return Equivalence(True, "Equivalent to the key", timed_out)
    if proved is False:
        return Equivalence(False, "Not equivalent to the key", timed_out)

    # Here sympy could not tell: enough sampled agreement decides, else a grader does.
    free = (answer.free_symbols | key.free_symbols) & {sympy.Symbol(name, real=True) for name in variables}
    needed = MIN_AGREEING if free else 1
    if sampling is not None and sampling.agreeing >= needed:
        return Equivalence(True, "Equivalent to the key", timed_out)
    if sampling is None or timed_out:
        return Equivalence(None, "Could not be checked automatically", timed_out=True)
    return Equivalence(False, "Not equivalent to the key", timed_out)


_cache: OrderedDict[tuple[sympy.Expr, sympy.Expr, tuple[str, ...]], Equivalence] = OrderedDict()
_cache_lock = threading.Lock()


def cached_equivalence(
    answer: sympy.Expr, key: sympy.Expr, variables: Sequence[str], *, time_limit: float = TIME_LIMIT
) -> Equivalence:
    """``decide_equivalence``, remembered for the last ``CACHE_SIZE`` pairs of formulas.

    Parsed formulas compare structurally, so "2-2*D_C" and "2 - 2 * D_C" share an entry.
    An outcome reached while a step timed out depends on the machine's load, so it is not kept.
    """
    entry = (answer, key, tuple(variables))
    with _cache_lock:
        if entry in _cache:
            _cache.move_to_end(entry)
            return _cache[entry]
    outcome = decide_equivalence(answer, key, variables, time_limit=time_limit)
    if not outcome.timed_out:
        with _cache_lock:
            _cache[entry] = outcome
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return outcome


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def symbolic_equivalence(spec: QuestionSpec, answer: Any, *, time_limit: float = TIME_LIMIT) -> Score:
    """Full points for a formula equivalent to ``key["expression"]``; 0 with the parser's
    reason for one that does not parse; left to a grader if it cannot be decided in time.

    Raises ValueError if the key itself does not parse (the kind refuses such keys).
    """
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return spec.blank()
    if not isinstance(answer, str):
        raise UnreadableAnswer("a formula is text")
    variables = list(spec.config.get("variables") or [])
    where = spec.number or "?"
    try:
        key = parse_expression(str(spec.key.get("expression", "")), variables)
    except ExpressionError as error:
        raise ValueError(f"Question {where} has a key that is not a formula: {error.messages[0]}") from None
    if is_undefined(key):
        raise ValueError(f"Question {where} has a key formula that is undefined (a division by zero or log(0)).")
    try:
        given = parse_expression(answer, variables)
    except ExpressionError as error:
        return spec.score(0, f"Not a formula we can read: {error.messages[0]}")
    if is_undefined(given):
        return spec.score(0, "Not a formula we can read: part of it is undefined (a division by zero or log(0))")
    outcome = cached_equivalence(given, key, variables, time_limit=time_limit)
    if outcome.equivalent is None:
        return spec.score(0, f"{outcome.reason}; needs grading by hand", needs_manual=True)
    if outcome.equivalent:
        return spec.score(spec.points, f"{outcome.reason}: {format_points(spec.points, signed=True)}")
    return spec.score(0, f"{outcome.reason}: 0")
