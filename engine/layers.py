"""The layers of lectures 4 and 6 (makemore parts 3 and 5), written out as in the videos.

Plain classes, not torch.nn.Module: every tensor is visible, and every layer keeps
its last output in `.out` so the diagnostics can look at activations and gradients.
Random draws take an explicit torch.Generator, so a model is built in the lecture's
RNG consumption order without touching torch's global RNG (shared by every session).
"""

from __future__ import annotations

import torch


class Linear:
    def __init__(self, fan_in, fan_out, bias=True, generator=None):
        self.weight = torch.randn((fan_in, fan_out), generator=generator) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None  # (fan_out,)

    @classmethod
    def from_tensors(cls, weight, bias=None):
        """Wrap tensors drawn elsewhere (the lecture 3 MLP draws and scales them by hand)."""
        layer = cls.__new__(cls)
        layer.weight, layer.bias = weight, bias
        return layer

    def __call__(self, x):
        self.out = x @ self.weight  # (B, fan_in) or (B, T, fan_in) -> (..., fan_out)
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    """Batch normalisation (Ioffe & Szegedy 2015) in the lecture's two flavours.

    flavour "var" (part 3 deep net, part 5): (x - mean) / sqrt(var + eps), unbiased var.
    flavour "std" (part 3 one-layer MLP): gain * (x - mean) / std + bias, no eps.
    For 3-D input (B, T, C) the statistics are over dims (0, 1), the lecture's bug fix;
    `over_time=False` brings the bug back (statistics over dim 0 only).
    """

    def __init__(self, dim, eps=1e-5, momentum=0.1, flavour="var", over_time=True, shape=None):
        self.eps, self.momentum, self.flavour, self.over_time = eps, momentum, flavour, over_time
        self.training = True
        shape = shape or (dim,)
        self.gamma = torch.ones(shape)
        self.beta = torch.zeros(shape)
        self.running_mean = torch.zeros(shape)
        self.running_var = torch.ones(shape)  # the running std for flavour "std"

    def __call__(self, x):
        if self.training:
            dim = (0, 1) if x.ndim == 3 and self.over_time else 0
            xmean = x.mean(dim, keepdim=True)  # (1, C), or (1, 1, C) for (B, T, C) input
            xspread = (
                x.std(dim, keepdim=True) if self.flavour == "std" else x.var(dim, keepdim=True)
            )
        else:
            xmean, xspread = self.running_mean, self.running_var
        if self.flavour == "std":
            self.out = self.gamma * (x - xmean) / xspread + self.beta
        else:
            xhat = (x - xmean) / torch.sqrt(xspread + self.eps)  # x's shape, unit variance
            self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * xmean
                self.running_var = (1 - m) * self.running_var + m * xspread
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Identity:
    """The 'no nonlinearity' case of the diagnostics: a deep net that is one linear map."""

    def __call__(self, x):
        self.out = x
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num_embeddings, embedding_dim, generator=None):
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=generator)

    def __call__(self, IX):
        self.out = self.weight[IX]  # (B, T) -> (B, T, C)
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    """(B, T, C) -> (B, T/n, C*n): concatenate n neighbouring positions (WaveNet's fusion)."""

    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)  # (B, T/n, C*n)
        if x.shape[1] == 1:
            x = x.squeeze(1)  # (B, C*n): the last level feeds a plain Linear
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


class DirectConnections:
    """Bengio et al. 2003's optional direct connections: inner(x) + x @ W.

    The concatenated embeddings reach the logits through a linear map as well as
    through the tanh layer, so the network can start from a linear model.
    """

    def __init__(self, inner: Sequential, weight):
        self.inner, self.weight = inner, weight
        self.layers = inner.layers

    def __call__(self, x):
        self.out = self.inner(x) + x @ self.weight  # (B, V) + (B, fan_in) @ (fan_in, V)
        return self.out

    def parameters(self):
        return [*self.inner.parameters(), self.weight]
