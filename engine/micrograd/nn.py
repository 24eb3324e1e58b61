"""Neuron / Layer / MLP: the lecture's tiny net on micrograd Values (karpathy/micrograd's
nn.py): tanh everywhere and the sum-of-squares loss on the lecture's four examples, drawn
from an explicit `random.Random(seed)` instead of the global `random` module.
"""

from __future__ import annotations

import random

from engine.micrograd.value import Value


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
