"""The lecture's example graphs (lecture 1, micrograd): L = (a·b + c)·f, the neuron, the
a + a accumulation bug, two paths, and softmax + NLL from the exercises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.messages import msg
from engine.micrograd.value import Value


def example_l() -> Value:
    """The first graph: L = (a·b + c)·f."""
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return L


NEURON_BIAS = 6.8813735870195432  # makes n = 0.8814, so o = tanh(n) = 0.7071


def example_neuron(expanded: bool = False) -> Value:
    """One neuron o = tanh(x1·w1 + x2·w2 + b); `expanded` writes tanh with exp and /."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(NEURON_BIAS, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    if expanded:
        e = (2 * n).exp()
        e.label = "e"
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.label = "o"
    return o


def example_a_plus_a() -> Value:
    """b = a + a: a reaches b along two paths, so db/da = 2, but only if grads add up."""
    a = Value(3.0, label="a")
    b = a + a
    b.label = "b"
    return b


def example_two_paths() -> Value:
    """f = (a·b)·(a + b): a and b are both used twice."""
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d = a * b
    d.label = "d"
    e = a + b
    e.label = "e"
    f = d * e
    f.label = "f"
    return f


SOFTMAX_LOGITS = (0.0, 3.0, -2.0, 1.0)

SOFTMAX_TARGET = 3


def example_softmax_nll(logits=SOFTMAX_LOGITS, target=SOFTMAX_TARGET) -> Value:
    """The lecture's exercise: softmax of four logits, then -log of the target's probability."""
    xs = [Value(x, label=f"logit{i}") for i, x in enumerate(logits)]
    counts = [x.exp() for x in xs]
    denominator = sum(counts)
    probs = [c / denominator for c in counts]
    loss = -probs[target].log()
    loss.label = "loss"
    return loss


@dataclass(frozen=True)
class Example:
    """A lecture graph, and the same function as text (for the torch and numerical checks)."""

    title: str  # title and about: engine.messages.msg, shown in the session's language
    build: Callable[[], Value]
    text: str
    env: dict[str, float]
    about: str


EXAMPLES = {
    "L": Example(
        msg("L = (a·b + c)·f, the first graph"),
        example_l,
        "(a*b + c)*f",
        {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0},
        msg(
            "The lecture's first graph. dL/dd = f and dL/df = d; a plus node passes its "
            "gradient through unchanged; a times node multiplies it by the other input."
        ),
    ),
    "neuron": Example(
        msg("a neuron: o = tanh(x1·w1 + x2·w2 + b)"),
        example_neuron,
        "tanh(x1*w1 + x2*w2 + b)",
        {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": NEURON_BIAS},
        msg(
            "b = 6.8813735870195432 makes n = 0.8814, so o = 0.7071 and do/dn = 1 - o² = 0.5. "
            "x2 = 0, so w2 gets no gradient: it had no effect on o."
        ),
    ),
    "neuron-exp": Example(
        msg("the same neuron, tanh written out: o = (e − 1)/(e + 1), e = exp(2n)"),
        lambda: example_neuron(expanded=True),
        "(exp(2*(x1*w1 + x2*w2 + b)) - 1)/(exp(2*(x1*w1 + x2*w2 + b)) + 1)",
        {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": NEURON_BIAS},
        msg(
            "Built from exp, +, -, * and **-1 (division) instead of tanh: more nodes, the same "
            "gradients on the leaves. How big an operation is is up to you."
        ),
    ),
    "a+a": Example(
        msg("b = a + a, the accumulation bug"),
        example_a_plus_a,
        "a + a",
        {"a": 3.0},
        msg(
            "a reaches b along two paths, so db/da = 2. With = instead of += the second "
            "path overwrites the first and a.grad comes out as 1: switch the bug on."
        ),
    ),
    "two-paths": Example(
        msg("f = (a·b)·(a + b), a and b used twice"),
        example_two_paths,
        "(a*b)*(a + b)",
        {"a": -2.0, "b": 3.0},
        msg(
            "Each variable feeds two nodes; its gradient is the sum over both paths "
            "(a.grad = -3, b.grad = -8). The bug keeps only one path of each."
        ),
    ),
    "softmax": Example(
        msg("softmax + NLL of four logits (exercise)"),
        example_softmax_nll,
        "-log(exp(logit3)/(exp(logit0) + exp(logit1) + exp(logit2) + exp(logit3)))",
        {f"logit{i}": x for i, x in enumerate(SOFTMAX_LOGITS)},
        msg(
            "The lecture's exercise: logits [0, 3, -2, 1], target 3. The gradient on each "
            "logit is its probability, minus 1 on the target."
        ),
    ),
}
