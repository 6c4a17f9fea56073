"""A playbook's amount formula: checked when the file is loaded, evaluated within tight limits.

The formula is the one expression a playbook file may hold, so it is where a hostile or careless
file could hang or crash a pass: `4000000 ** 4000000` costs half a minute of CPU, `1 << 10000` a
huge integer, `mrr / 0` an exception, `1e400 - 1e400` a NaN that the ledger's decimals refuse. So:
- the syntax is restricted to arithmetic: numbers, the allowed variables, + - * / // % **, unary
  minus, and min/max/round (no comparisons, shifts, strings, lists, attributes or keywords);
- powers take a float base and an exponent of at most `MAX_EXPONENT` (bounded time, and an
  overflow is an error rather than a huge integer);
- `check_formula` evaluates the formula for a range of sample accounts when the file is loaded and
  refuses one that does not give a finite amount for all of them;
- at run time an evaluation that still fails for one account raises `AmountError`, which the
  assessor turns into that one offer being skipped with its reason.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Mapping
from typing import Any

from simpleeval import InvalidExpression, SimpleEval

AMOUNT_VARIABLES = frozenset(
    {
        "mrr",
        "seats_purchased",
        "seats_used",
        "suggested_seats",
        "price_per_seat",
        "offer_monthly_price",
        "plan_rank",
        "score",
    }
)
FUNCTIONS = ("min", "max", "round")
MAX_FORMULA_LENGTH = 500  # characters: a real formula is a few dozen
MAX_EXPONENT = 16
MAX_AMOUNT = 1e12  # a deal above a trillion is a broken formula or a broken record, never a deal

_BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_FORBIDDEN_WORDS = {
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.MatMult: "@",
    ast.Invert: "~",
    ast.Not: "not",
}

# Sample accounts a formula must give a finite amount for: an empty account, a small one, a typical
# one and a large one (every variable at the edge of what a real account has).
SAMPLES: tuple[dict[str, float], ...] = tuple(
    {
        "mrr": mrr,
        "seats_purchased": seats,
        "seats_used": used,
        "suggested_seats": suggested,
        "price_per_seat": (mrr / seats) if seats else 0.0,
        "offer_monthly_price": offer,
        "plan_rank": rank,
        "score": score,
    }
    for mrr, seats, used, suggested, offer, rank, score in (
        (0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0),
        (10.0, 1.0, 1.0, 1.0, 5.0, 0.0, 50.0),
        (1_500.0, 40.0, 38.0, 6.0, 400.0, 1.0, 80.0),
        (1_000_000.0, 10_000.0, 10_000.0, 2_000.0, 50_000.0, 5.0, 100.0),
    )
)


class AmountError(ValueError):
    """A formula gave no usable amount for one account: skip that offer, keep the pass."""


def _power(base: Any, exponent: Any) -> float:
    if abs(exponent) > MAX_EXPONENT:
        raise AmountError(f"exponent {exponent:g} is above the limit of {MAX_EXPONENT}")
    return float(base) ** float(exponent)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AmountError(f"min/max/round take numbers, not {type(value).__name__}")
    return value


def _min(*values: Any) -> float:
    return min(_number(v) for v in values)


def _max(*values: Any) -> float:
    return max(_number(v) for v in values)


def _round(value: Any, digits: Any = None) -> float:
    return round(_number(value)) if digits is None else round(_number(value), int(_number(digits)))


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def problem_in(text: str) -> str | None:
    """Why `text` is not an acceptable amount formula, or None when it is (syntax and names only;
    `check_formula` also evaluates it)."""
    if len(text) > MAX_FORMULA_LENGTH:
        return f"the formula is {len(text):,} characters long; the limit is {MAX_FORMULA_LENGTH}"
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        return f"not a valid expression: {exc.msg}"
    except (RecursionError, MemoryError, ValueError):
        return "not a valid expression: nested too deeply"
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    unknown = names - AMOUNT_VARIABLES - set(FUNCTIONS)
    if unknown:
        return f"unknown variable(s) {sorted(unknown)}; allowed: {sorted(AMOUNT_VARIABLES)}"
    for node in ast.walk(tree):
        problem = _node_problem(node)
        if problem:
            return problem
    return None


def _node_problem(node: ast.AST) -> str | None:
    allowed = "only arithmetic on the allowed variables is permitted"
    if (
        isinstance(node, (ast.Expression, ast.Load, ast.Name))
        or type(node) in _BINARY
        or type(node) in _UNARY
    ):
        return None
    if isinstance(node, ast.BinOp):
        return (
            None
            if type(node.op) in _BINARY
            else f"{allowed} (not '{_FORBIDDEN_WORDS.get(type(node.op), '?')}')"
        )
    if isinstance(node, ast.UnaryOp):
        return (
            None
            if type(node.op) in _UNARY
            else f"{allowed} (not '{_FORBIDDEN_WORDS.get(type(node.op), '?')}')"
        )
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            return f"{allowed} (not the {type(node.value).__name__} {node.value!r})"
        if isinstance(node.value, float) and not math.isfinite(node.value):
            return "a number in the formula is out of range (it reads as infinity)"
        if isinstance(node.value, int) and node.value.bit_length() > 64:
            return "a number in the formula has more than 19 digits"
        return None
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            return f"{allowed}; the only functions are {', '.join(FUNCTIONS)} with plain arguments"
        if not node.args or (node.func.id == "round" and len(node.args) > 2):
            return f"{node.func.id}() needs {'one or two' if node.func.id == 'round' else 'at least one'} argument(s)"
        return None
    if isinstance(node, ast.Compare):
        return f"{allowed}; a comparison gives true/false, not an amount"
    if isinstance(node, ast.BoolOp):
        return f"{allowed}; 'and'/'or' give no amount"
    return f"{allowed} (not {type(node).__name__.lower()})"


class AmountFormula:
    """One playbook's formula, parsed once; `evaluate` gives a finite, bounded amount or raises
    `AmountError`."""

    __slots__ = ("_evaluator", "_parsed", "text")

    def __init__(self, text: str) -> None:
        problem = problem_in(text)
        if problem:
            raise ValueError(problem)
        self.text = text
        self._evaluator = SimpleEval(
            operators=dict(_OPERATORS), functions={"min": _min, "max": _max, "round": _round}
        )
        self._parsed = self._evaluator.parse(text)

    def evaluate(self, names: Mapping[str, float]) -> float:
        self._evaluator.names = names
        try:
            value = self._evaluator.eval(self.text, previously_parsed=self._parsed)
        except AmountError:
            raise
        except (
            ArithmeticError,
            ValueError,
            TypeError,
            RecursionError,
            MemoryError,
            InvalidExpression,
        ) as exc:
            raise AmountError(f"{type(exc).__name__}: {exc}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AmountError(f"gives {type(value).__name__}, not a number")
        try:
            number = float(value)
        except OverflowError:
            raise AmountError("gives a number too large for an amount") from None
        if not math.isfinite(number):
            raise AmountError(f"gives {number}, not a finite number")
        if abs(number) > MAX_AMOUNT:
            raise AmountError(f"gives {number:.3g}, above the limit of {MAX_AMOUNT:.0e} for an amount")
        return value


def check_formula(text: str) -> str:
    """Validate `text` for a playbook file: syntax, names, and a finite amount for every sample
    account. Raises ValueError with the problem (the loader adds file, line and field)."""
    formula = AmountFormula(text)
    for sample in SAMPLES:
        try:
            formula.evaluate(sample)
        except AmountError as exc:
            shown = ", ".join(f"{k}={v:g}" for k, v in sample.items() if k in text)
            raise ValueError(
                f"gives no finite amount for a sample account ({shown or 'any values'}): {exc}"
            ) from None
    return text
