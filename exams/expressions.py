"""A safe parser for formula answers such as ``sqrt(2 - 2*D_C)``.

Student text is never handed to ``eval`` or to sympy's ``parse_expr`` (which evaluates).
It is parsed by Python's ``ast`` in ``eval`` mode and then walked node by node: only
numbers, the question's variables, a few named constants, the four operations, powers
and a fixed list of functions are accepted, and the size of the input, the depth of the
tree and the exponents are bounded, so a hostile answer costs no more than a small one.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Iterable

import sympy
from django.core.exceptions import ValidationError

MAX_LENGTH = 300
MAX_NODES = 120
MAX_DEPTH = 30
MAX_EXPONENT = 64
VARIABLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")

FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "sqrt": sympy.sqrt,
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "abs": sympy.Abs,
}
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


class ExpressionError(ValidationError):
    """The text is not a formula we accept; the message says why, never whether it is right."""


def clean_variables(names: Iterable[object]) -> list[str]:
    result: list[str] = []
    for name in names:
        if not isinstance(name, str) or not VARIABLE_RE.match(name):
            raise ValidationError(f"{name!r} is not a variable name (a letter, then letters, digits or _).")
        if name in FUNCTIONS or name in CONSTANTS:
            raise ValidationError(f"{name!r} is a reserved name and cannot be a variable.")
        result.append(name)
    return result


def parse_expression(text: str, variables: Iterable[str]) -> sympy.Expr:
    """Parse ``text`` into a sympy expression over ``variables``, or raise ExpressionError."""
    source = (text or "").strip()
    if not source:
        raise ExpressionError("The formula is empty.")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"The formula is longer than {MAX_LENGTH} characters.")
    source = source.replace("^", "**").replace("·", "*").replace("−", "-").replace("×", "*")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise ExpressionError(
            "This formula does not parse. Write products with * (2*x), powers with ^, and close every bracket."
        ) from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ExpressionError("The formula is too long to check.")
    symbols = {name: sympy.Symbol(name, real=True) for name in variables}
    return _build(tree.body, symbols, 0)


def _too_large(base: sympy.Expr, exponent: sympy.Expr) -> bool:
    """Whether base**exponent would have more than ~300 digits (sympy would compute it)."""
    try:
        magnitude = abs(complex(base))
        return magnitude > 1 and math.log10(magnitude) * abs(float(exponent)) > 300
    except (OverflowError, TypeError, ValueError):
        return True


def _build(node: ast.AST, symbols: dict[str, sympy.Symbol], depth: int) -> sympy.Expr:
    if depth > MAX_DEPTH:
        raise ExpressionError("The formula is nested too deeply.")
    depth += 1
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return sympy.Rational(str(node.value)) if isinstance(node.value, float) else sympy.Integer(node.value)
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        known = ", ".join(sorted(symbols)) or "none"
        raise ExpressionError(f"Unknown name {node.id!r}. The variables here are: {known}.")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _build(node.operand, symbols, depth)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow):
            base = _build(node.left, symbols, depth)
            exponent = _build(node.right, symbols, depth)
            if exponent.is_number and abs(float(exponent)) > MAX_EXPONENT:
                raise ExpressionError(f"Exponents are limited to ±{MAX_EXPONENT}.")
            if base.is_number and exponent.is_number and _too_large(base, exponent):
                raise ExpressionError("A number in this formula is too large.")
            return sympy.Pow(base, exponent)
        operation = _BINARY.get(type(node.op))
        if operation is None:
            raise ExpressionError("Only + - * / and ^ are allowed.")
        return operation(_build(node.left, symbols, depth), _build(node.right, symbols, depth))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = FUNCTIONS.get(node.func.id)
        if function is None:
            raise ExpressionError(f"Unknown function {node.func.id!r}. Allowed: {', '.join(FUNCTIONS)}.")
        if len(node.args) != 1:
            raise ExpressionError(f"{node.func.id} takes one argument.")
        return function(_build(node.args[0], symbols, depth))
    raise ExpressionError("This formula uses something other than numbers, variables, operations and functions.")
