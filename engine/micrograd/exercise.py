"""The micrograd exercise: the derivatives of one function three ways (by hand, one-sided
and symmetric finite differences).
"""

from __future__ import annotations

import math
from collections.abc import Callable


def exercise_f(a: float, b: float, c: float) -> float:
    return -(a**3) + math.sin(3 * b) - 1.0 / c + b**2.5 - a**0.5


EXERCISE_POINT = (2.0, 3.0, 4.0)


def exercise_analytic(a: float, b: float, c: float) -> list[float]:
    """df/da, df/db, df/dc worked out by hand."""
    return [-3 * a**2 - 0.5 * a**-0.5, 3 * math.cos(3 * b) + 2.5 * b**1.5, 1.0 / c**2]


def numerical_gradient(f: Callable[..., float], point, h: float, symmetric: bool) -> list[float]:
    """(f(x + h) - f(x)) / h, or the symmetric (f(x + h) - f(x - h)) / 2h, per coordinate."""
    grads = []
    for i in range(len(point)):
        up = [*point]
        up[i] += h
        if symmetric:
            down = [*point]
            down[i] -= h
            grads.append((f(*up) - f(*down)) / (2 * h))
        else:
            grads.append((f(*up) - f(*point)) / h)
    return grads
