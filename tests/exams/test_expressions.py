"""The formula parser accepts ordinary maths and refuses everything else, cheaply."""

from __future__ import annotations

import time

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from exams.expressions import ExpressionError, parse_expression


def test_parses_the_seed_answer_and_its_equivalents() -> None:
    d = sympy.Symbol("D_C", real=True)
    a = parse_expression("sqrt(2 - 2*D_C)", ["D_C"])
    b = parse_expression("(2*(1 - D_C))^(1/2)", ["D_C"])
    assert a == sympy.sqrt(2 - 2 * d)
    assert sympy.simplify(a - b) == 0


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os').system('true')", "something other than"),
        ("__import__('os')", "Unknown function"),
        ("D_C.__class__", "something other than"),
        ("[1, 2]", "something other than"),
        ("lambda: 1", "something other than"),
        ("open('x')", "Unknown function"),
        ("2 D_C", "does not parse"),
        ("sqrt(1, 2)", "one argument"),
        ("y + 1", "Unknown name 'y'"),
        ("2 ** 1000", "limited"),
        ("((9^64)^64)^64", "too large"),
        ("", "empty"),
        ("1+" * 200 + "1", "longer than"),
        ("D_C < 1", "something other than"),
    ],
)
def test_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError, match=reason):
        parse_expression(text, ["D_C"])


def test_deep_nesting_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError):
        parse_expression("-" * 60 + "1", [])
    assert time.perf_counter() - started < 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_either_parses_or_raises_expression_error(text: str) -> None:
    try:
        result = parse_expression(text, ["x", "D_C"])
    except ExpressionError:
        return
    assert isinstance(result, sympy.Basic)
