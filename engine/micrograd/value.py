"""micrograd: a scalar autograd engine, as built in lecture 1 of Neural Networks: Zero to Hero.

A Value holds one number (`data`) and, after `backward()`, the derivative of the final
output with respect to it (`grad`). Every operation remembers its inputs and its local
derivatives; `backward()` walks the graph in reverse topological order and applies the
chain rule, adding (`+=`) the contribution of every path, so a value used twice
(`b = a + a`) gets both. The lecture's first version assigned (`=`) instead: pass
`accumulate=False` to bring that bug back.

Neuron / Layer / MLP are the lecture's tiny net (tanh everywhere, sum-of-squares loss),
drawn from an explicit `random.Random(seed)` instead of the global `random` module.

The student's own expressions become Values in engine.expression.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from engine.models import ConfigError


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
            raise ValueError(f"log of {self.data:g}: log needs a positive number")
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
        raise ValueError("a negative number to a fractional power is not a real number")
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


# ---------------------------------------------------------------------------------------
# stepping through backward, for drawing


@dataclass(frozen=True)
class Node:
    name: str  # the label, a constant's value, or t1, t2, ... for unnamed intermediates
    op: str  # "" for leaves
    data: float
    inputs: tuple[int, ...]  # indices into Trace.nodes
    leaf: bool


@dataclass(frozen=True)
class Step:
    node: int | None  # the node whose gradient was just passed on (None: before backward)
    grads: tuple[float, ...]  # every node's grad after this step
    text: str


@dataclass(frozen=True)
class Trace:
    """A graph in topological order and its backward pass, one node at a time."""

    nodes: tuple[Node, ...]
    steps: tuple[Step, ...]
    root: int


def trace_backward(root: Value, accumulate: bool = True) -> Trace:
    """Run backward on a fresh graph (all grads 0) and record every intermediate state."""
    topo = topological_order(root)
    index = {id(v): i for i, v in enumerate(topo)}
    names, k = [], 0
    for v in topo:
        if v.label:
            names.append(v.label)
        elif not v._prev:
            names.append(f"{v.data:g}")
        else:
            k += 1
            names.append(f"t{k}")
    nodes = tuple(
        Node(names[i], v._op, v.data, tuple(index[id(c)] for c in v._prev), not v._prev)
        for i, v in enumerate(topo)
    )
    for v in topo:
        v.grad = 0.0
    steps = [Step(None, tuple(0.0 for _ in topo), "Before backward: every grad is 0.")]
    sign = "+=" if accumulate else "="
    for v in root.backward_steps(accumulate):
        i = index[id(v)]
        lines = [f"{names[i]}.grad = 1 (d{names[i]}/d{names[i]})"] if v is root else []
        lines += [
            f"{names[index[id(c)]]}.grad {sign} {local:.4f} × {v.grad:.4f}"
            f" (∂{names[i]}/∂{names[index[id(c)]]} × {names[i]}.grad)"
            for c, local in v._local
        ]
        steps.append(Step(i, tuple(u.grad for u in topo), "\n".join(lines)))
    return Trace(nodes, tuple(steps), index[id(root)])


# ---------------------------------------------------------------------------------------
# the lecture's example graphs


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


def softmax_nll_torch(logits=SOFTMAX_LOGITS, target=SOFTMAX_TARGET) -> tuple[float, list[float]]:
    """The same in torch (float64): the loss and d loss / d logits."""
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = -torch.log_softmax(x, 0)[target]
    loss.backward()
    return loss.item(), x.grad.tolist()


@dataclass(frozen=True)
class Example:
    """A lecture graph, and the same function as text (for the torch and numerical checks)."""

    title: str
    build: Callable[[], Value]
    text: str
    env: dict[str, float]
    about: str


EXAMPLES = {
    "L": Example(
        "L = (a·b + c)·f, the first graph",
        example_l,
        "(a*b + c)*f",
        {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0},
        "The lecture's first graph. dL/dd = f and dL/df = d; a plus node passes its "
        "gradient through unchanged; a times node multiplies it by the other input.",
    ),
    "neuron": Example(
        "a neuron: o = tanh(x1·w1 + x2·w2 + b)",
        example_neuron,
        "tanh(x1*w1 + x2*w2 + b)",
        {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": NEURON_BIAS},
        "b = 6.8813735870195432 makes n = 0.8814, so o = 0.7071 and do/dn = 1 - o² = 0.5. "
        "x2 = 0, so w2 gets no gradient: it had no effect on o.",
    ),
    "neuron-exp": Example(
        "the same neuron, tanh written out: o = (e − 1)/(e + 1), e = exp(2n)",
        lambda: example_neuron(expanded=True),
        "(exp(2*(x1*w1 + x2*w2 + b)) - 1)/(exp(2*(x1*w1 + x2*w2 + b)) + 1)",
        {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": NEURON_BIAS},
        "Built from exp, +, -, * and **-1 (division) instead of tanh: more nodes, the same "
        "gradients on the leaves. How big an operation is is up to you.",
    ),
    "a+a": Example(
        "b = a + a, the accumulation bug",
        example_a_plus_a,
        "a + a",
        {"a": 3.0},
        "a reaches b along two paths, so db/da = 2. With = instead of += the second "
        "path overwrites the first and a.grad comes out as 1: switch the bug on.",
    ),
    "two-paths": Example(
        "f = (a·b)·(a + b), a and b used twice",
        example_two_paths,
        "(a*b)*(a + b)",
        {"a": -2.0, "b": 3.0},
        "Each variable feeds two nodes; its gradient is the sum over both paths "
        "(a.grad = -3, b.grad = -8). The bug keeps only one path of each.",
    ),
    "softmax": Example(
        "softmax + NLL of four logits (exercise)",
        example_softmax_nll,
        "-log(exp(logit3)/(exp(logit0) + exp(logit1) + exp(logit2) + exp(logit3)))",
        {f"logit{i}": x for i, x in enumerate(SOFTMAX_LOGITS)},
        "The lecture's exercise: logits [0, 3, -2, 1], target 3. The gradient on each "
        "logit is its probability, minus 1 on the target.",
    ),
}


# ---------------------------------------------------------------------------------------
# the lecture's neural net


class Neuron:
    def __init__(self, nin: int, rng: random.Random):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(rng.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return act.tanh()

    def parameters(self):
        return [*self.w, self.b]


class Layer:
    def __init__(self, nin: int, nout: int, rng: random.Random):
        self.neurons = [Neuron(nin, rng) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """MLP(3, [4, 4, 1]): 3 inputs, two hidden layers of 4 tanh neurons, 1 tanh output."""

    def __init__(self, nin: int, nouts: list[int], seed: int = 0):
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [Layer(sizes[i], sizes[i + 1], rng) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


XS = ((2.0, 3.0, -1.0), (3.0, -1.0, 0.5), (0.5, 1.0, 1.0), (1.0, 1.0, -1.0))
YS = (1.0, -1.0, -1.0, 1.0)  # desired targets


def mse_loss(model: MLP, xs=XS, ys=YS) -> tuple[Value, list[Value]]:
    """The lecture's loss: the SUM of squared errors over the four examples."""
    ypred = [model(x) for x in xs]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred, strict=True))
    return loss, ypred


@dataclass(frozen=True)
class MicroTrainConfig:
    steps: int = 20
    lr: float = 0.1
    seed: int = 1337
    zero_grad: bool = True  # False: the lecture's "forgot to zero the grads" bug


class MicroJob:
    """Gradient descent on the four examples, step by step, with the Job interface the live
    pages use (step, done, train_config, seconds, steps_per_second, train_for)."""

    def __init__(self, train: MicroTrainConfig, nouts=(4, 4, 1)):
        if train.steps < 1:
            raise ConfigError("steps must be at least 1.")
        self.train_config = train
        self.model = MLP(3, list(nouts), seed=train.seed)
        self.step = 0
        self.seconds = 0.0
        self.pace: int | None = None  # at most this many steps per train_for (slow motion)
        self.losses: list[float] = []  # losses[k]: the loss after k steps
        self.preds: list[list[float]] = []  # preds[k]: the four predictions after k steps
        self._forward()

    @property
    def done(self) -> bool:
        return self.step >= self.train_config.steps

    def train_step(self) -> float:
        """zero_grad, backward, update; then the forward pass of the next step."""
        t0 = time.perf_counter()
        params = self.model.parameters()
        if self.train_config.zero_grad:
            for p in params:
                p.grad = 0.0
        self._loss.backward()
        for p in params:
            p.data += -self.train_config.lr * p.grad
        self.step += 1
        self._forward()
        self.seconds += time.perf_counter() - t0
        return self.losses[-2]

    def _forward(self) -> None:
        self._loss, ypred = mse_loss(self.model)
        self.losses.append(self._loss.data)
        self.preds.append([p.data for p in ypred])

    def train_for(self, seconds: float) -> int:
        deadline, taken = time.perf_counter() + seconds, 0
        while not self.done and time.perf_counter() < deadline:
            self.train_step()
            taken += 1
            if self.pace is not None and taken >= self.pace:
                break
        return taken

    def steps_per_second(self) -> float:
        return self.step / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class TorchCheck:
    loss: float
    torch_loss: float
    max_pred_diff: float
    max_grad_diff: float
    n_params: int


def torch_check(model: MLP, xs=XS, ys=YS) -> TorchCheck:
    """The same net, loss and backward in torch (float64) with the same weights."""
    model = copy.deepcopy(model)  # leave the caller's gradients alone
    params = model.parameters()
    for p in params:
        p.grad = 0.0
    loss, ypred = mse_loss(model, xs, ys)
    loss.backward()
    weights = [
        (
            torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64),
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64),
        )
        for layer in model.layers
    ]
    for W, b in weights:
        W.requires_grad_(True)
        b.requires_grad_(True)
    x = torch.tensor(xs, dtype=torch.float64)
    for W, b in weights:
        x = torch.tanh(x @ W.T + b)
    tpred = x.view(-1)
    tloss = ((tpred - torch.tensor(ys, dtype=torch.float64)) ** 2).sum()
    tloss.backward()
    tgrads = [g for W, b in weights for g in _neuron_grads(W.grad, b.grad)]
    return TorchCheck(
        loss=loss.data,
        torch_loss=tloss.item(),
        max_pred_diff=max(abs(p.data - t) for p, t in zip(ypred, tpred.tolist(), strict=True)),
        max_grad_diff=max(abs(p.grad - g) for p, g in zip(params, tgrads, strict=True)),
        n_params=len(params),
    )


def _neuron_grads(dW: torch.Tensor, db: torch.Tensor) -> list[float]:
    """In micrograd's parameter order: each neuron's weights, then its bias."""
    return [g for row, bias in zip(dW.tolist(), db.tolist(), strict=True) for g in (*row, bias)]


# ---------------------------------------------------------------------------------------
# exercise: derivatives three ways


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
