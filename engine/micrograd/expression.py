"""Expressions typed by students, turned into micrograd graphs safely (lecture 1).

`parse` reads the text with Python's `ast` module and accepts only numbers, names,
+ - * / **, unary minus and calls to tanh/exp/log, checking node by node; nothing is ever
passed to eval(). The same checked tree then runs in three arithmetics: micrograd Values
(the graph to draw), plain floats (numerical slopes) and torch float64 (the gradients to
compare against).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import torch

from engine.messages import msg
from engine.micrograd.value import Value, real


class ExpressionError(ValueError):
    """An expression that cannot be drawn; the message is meant for the student."""


FUNCTIONS = ("tanh", "exp", "log")
MAX_LENGTH = 200
MAX_NODES = 60  # values in the graph: more would not fit on a screen
MAX_NAMES = 8
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_HINTS = {
    ast.BitXor: msg("use ** for powers (a**2), not ^"),
    ast.FloorDiv: msg("use / for division"),
    ast.Mod: msg("% is not one of the lecture's operations"),
    ast.MatMult: msg("@ is for matrices; Values are scalars"),
}


@dataclass(frozen=True)
class Expression:
    text: str
    tree: ast.expr
    names: tuple[str, ...]  # variables, in order of first appearance


def parse(text: str) -> Expression:
    """Check the text against the whitelist; raise ExpressionError with a readable reason."""
    text = text.strip()
    if not text:
        raise ExpressionError(msg("Type an expression, for example tanh(a*b + c)."))
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            msg("That is too long to draw: keep it under {n} characters.", n=MAX_LENGTH)
        )
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as e:
        where = msg(" at column {column}", column=e.offset) if e.offset else ""
        raise ExpressionError(
            msg(
                "That is not a valid expression ({why}{where}). "
                "Write products with *, e.g. 2*a rather than 2a.",
                why=e.msg,
                where=where,
            )
        ) from None
    names: list[str] = []
    _check(tree, names)
    if len(names) > MAX_NAMES:
        raise ExpressionError(msg("Use at most {n} different variables.", n=MAX_NAMES))
    size = sum(isinstance(n, ast.BinOp | ast.Call | ast.UnaryOp) for n in ast.walk(tree))
    if size > MAX_NODES // 2:
        raise ExpressionError(
            msg(
                "That graph would have too many nodes to read: use at most {n} operations.",
                n=MAX_NODES // 2,
            )
        )
    return Expression(text, tree, tuple(names))


def _check(node: ast.AST, names: list[str]) -> None:
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            hint = _HINTS.get(type(node.op), msg("it is not one of + - * / **"))
            raise ExpressionError(msg("Operator not allowed: {hint}.", hint=hint))
        _check(node.left, names)
        if isinstance(node.op, ast.Pow):
            if _number(node.right) is None:
                raise ExpressionError(
                    msg(
                        "The exponent must be a number, as in the lecture's __pow__ (a**2, "
                        "a**-1, a**0.5): write exp(b*log(a)) for a variable power."
                    )
                )
        else:
            _check(node.right, names)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExpressionError(msg("Only unary minus (and plus) are allowed."))
        _check(node.operand, names)
    elif isinstance(node, ast.Constant):
        if _number(node) is None:
            raise ExpressionError(
                msg("Only numbers are allowed as constants, not {value}.", value=repr(node.value))
            )
    elif isinstance(node, ast.Name):
        if node.id in FUNCTIONS:
            raise ExpressionError(
                msg("{name} is a function: call it, as in {name}(x).", name=node.id)
            )
        if node.id not in names:
            names.append(node.id)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError(
                msg("The only functions are {functions}.", functions=", ".join(FUNCTIONS))
            )
        if len(node.args) != 1 or node.keywords:
            raise ExpressionError(msg("{name} takes exactly one argument.", name=node.func.id))
        _check(node.args[0], names)
    else:
        raise ExpressionError(
            msg(
                "Only numbers, variable names, + - * / **, unary minus and {functions} are allowed.",
                functions=", ".join(FUNCTIONS),
            )
        )


def _number(node: ast.AST) -> float | None:
    """The value of a numeric literal (or a negated one), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        x = _number(node.operand)
        return None if x is None else (-x if isinstance(node.op, ast.USub) else x)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and math.isfinite(node.value)
        and abs(node.value) < 1e12
    ):
        return float(node.value)
    return None


class Backend:
    """How an expression's leaves and functions become objects that support + - * / **."""

    def leaf(self, name: str, x: float):
        raise NotImplementedError

    def const(self, x: float):
        raise NotImplementedError

    def call(self, fn: str, x):
        raise NotImplementedError


class ValueBackend(Backend):
    def __init__(self):
        self.leaves: dict[str, Value] = {}

    def leaf(self, name, x):
        if name not in self.leaves:  # one node per variable, however often it is used
            self.leaves[name] = Value(x, label=name)
        return self.leaves[name]

    def const(self, x):
        return Value(x)

    def call(self, fn, x):
        return getattr(x, fn)()


class FloatBackend(Backend):
    def leaf(self, name, x):
        return x

    def const(self, x):
        return x

    def call(self, fn, x):
        return getattr(math, fn)(x)


class TorchBackend(Backend):
    def __init__(self):
        self.leaves: dict[str, torch.Tensor] = {}

    def leaf(self, name, x):
        if name not in self.leaves:
            self.leaves[name] = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        return self.leaves[name]

    def const(self, x):
        return torch.tensor(x, dtype=torch.float64)

    def call(self, fn, x):
        return getattr(torch, fn)(x)


def evaluate(expr: Expression, env: dict[str, float], backend: Backend):
    """The expression's value in the backend's arithmetic. Raises ExpressionError on
    division by zero, overflow, log of a non-positive number and the like."""
    try:
        out = _eval(expr.tree, env, backend)
    except ZeroDivisionError:
        raise ExpressionError(msg("Division by zero at these values.")) from None
    except OverflowError:
        raise ExpressionError(msg("A number overflowed at these values (too large).")) from None
    except ValueError as e:
        why = e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e)
        raise ExpressionError(msg("Undefined at these values: {why}.", why=why)) from None
    if isinstance(out, Value):
        data = out.data
    elif isinstance(out, torch.Tensor):
        data = out.item()
    else:
        data = float(out)
    if not math.isfinite(data):
        raise ExpressionError(msg("The result is not a finite number at these values."))
    return out


def _eval(node, env, backend):
    if (x := _number(node)) is not None:
        return backend.const(x)
    if isinstance(node, ast.Name):
        return backend.leaf(node.id, float(env[node.id]))
    if isinstance(node, ast.UnaryOp):
        x = _eval(node.operand, env, backend)
        return -x if isinstance(node.op, ast.USub) else x
    if isinstance(node, ast.Call):
        return backend.call(node.func.id, _eval(node.args[0], env, backend))
    left = _eval(node.left, env, backend)
    if isinstance(node.op, ast.Pow):
        exponent = _number(node.right)
        return (
            backend.const(real(float(left) ** exponent))
            if isinstance(left, float)
            else left**exponent
        )
    right = _eval(node.right, env, backend)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / right


NUMERICAL_H = 1e-6


@dataclass(frozen=True)
class Reference:
    """What micrograd's gradients are checked against: torch (float64) and the slope."""

    value: float
    grads: dict[str, tuple[float, float]]  # variable -> (torch grad, numerical slope)


def reference_gradients(expr: Expression, env: dict[str, float]) -> Reference:
    """d(expression)/d(variable) by torch autograd in float64 and by the symmetric
    difference (f(x + h) - f(x - h)) / 2h with h = 1e-6 (nan where x - h or x + h falls
    outside the expression's domain)."""
    tb = TorchBackend()
    out = evaluate(expr, env, tb)
    if out.requires_grad:
        out.backward()
    grads = {}
    for name in expr.names:
        t = tb.leaves[name]
        try:
            up = evaluate(expr, {**env, name: env[name] + NUMERICAL_H}, FloatBackend())
            down = evaluate(expr, {**env, name: env[name] - NUMERICAL_H}, FloatBackend())
            slope = (float(up) - float(down)) / (2 * NUMERICAL_H)
        except ExpressionError:
            slope = math.nan
        grads[name] = (0.0 if t.grad is None else t.grad.item(), slope)
    return Reference(out.item(), grads)


def build_graph(expr: Expression, env: dict[str, float]) -> Value:
    """The expression as a graph of Values (the root is labelled 'out')."""
    out = evaluate(expr, env, ValueBackend())
    out.label = out.label or "out"
    return out
