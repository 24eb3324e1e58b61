"""micrograd's Value: a scalar autograd engine, as built in lecture 1 of Neural Networks:
Zero to Hero (karpathy/micrograd's engine.py).

A Value holds one number (`data`) and, after `backward()`, the derivative of the final
output with respect to it (`grad`). Every operation remembers its inputs and its local
derivatives; `backward()` walks the graph in reverse topological order and applies the
chain rule, adding (`+=`) the contribution of every path, so a value used twice
(`b = a + a`) gets both. The lecture's first version assigned (`=`) instead: pass
`accumulate=False` to bring that bug back.

The student's own expressions become Values in engine.micrograd.expression.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from engine.messages import msg


class Value:
    """A scalar and its gradient, remembering how it was computed."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._op = _op
        self.label = label
        self._local: tuple[tuple[Value, float], ...] = ()  # (input, d self / d input)

    def __repr__(self):
        return f"Value(data={self.data:.4f}, grad={self.grad:.4f})"

    def __add__(self, other):
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")
        out._local = ((self, 1.0), (other, 1.0))
        return out

    def __mul__(self, other):
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")
        out._local = ((self, other.data), (other, self.data))
        return out

    def __pow__(self, other):
        if not isinstance(other, int | float):
            raise TypeError("only int/float exponents are supported")
        out = Value(real(self.data**other), (self,), f"**{other:g}")
        out._local = ((self, other * real(self.data ** (other - 1))),)
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")
        out._local = ((self, out.data),)
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(msg("log of {x:g}: log needs a positive number", x=self.data))
        out = Value(math.log(self.data), (self,), "log")
        out._local = ((self, 1.0 / self.data),)
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")
        out._local = ((self, 1.0 - t**2),)
        return out

    def __neg__(self):  # -self
        return self * -1

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __truediv__(self, other):  # self / other
        return self * _as_value(other) ** -1

    def __radd__(self, other):  # other + self
        return self + other

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __rtruediv__(self, other):  # other / self
        return _as_value(other) * self**-1

    def backward(self, accumulate: bool = True) -> None:
        """Fill in .grad of every value this one depends on (d self / d value)."""
        for _ in self.backward_steps(accumulate):
            pass

    def backward_steps(self, accumulate: bool = True) -> Iterator[Value]:
        """backward() one node at a time: yields each node right after it has passed its
        gradient on to its inputs (the first yield is self, after grad = 1)."""
        self.grad = 1.0
        for node in reversed(topological_order(self)):
            for child, local in node._local:
                contribution = local * node.grad  # the chain rule
                child.grad = child.grad + contribution if accumulate else contribution
            if node._local or node is self:
                yield node


def _as_value(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def real(x) -> float:
    if isinstance(x, complex):
        raise ValueError(msg("a negative number to a fractional power is not a real number"))
    return x


def topological_order(root: Value) -> list[Value]:
    """Every value root depends on, each after all of its inputs (the lecture's build_topo)."""
    topo, visited = [], set()
    stack = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            topo.append(v)
        elif id(v) not in visited:
            visited.add(id(v))
            stack.append((v, True))
            stack.extend((child, False) for child in reversed(v._prev))
    return topo
