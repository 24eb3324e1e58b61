"""A faster training step: forward and backward written out by hand, no autograd.

Lecture 5 (makemore part 4, "backprop ninja") derives every gradient of these networks
by hand; used for training, that saves autograd's bookkeeping and lets each layer use the
cheapest torch call that computes the same function (torch's batch norm kernel for the
lecture's BatchNorm, torch.tanh, in-place adds for every update, 2-D activations). Why
each choice keeps the lecture's numbers: docs/architecture.md, "The fused training step".

The gradients are the same functions autograd computes; only their floating-point
rounding differs (tests/test_fused.py holds them to float tolerance). Any model built
from the lecture layers is supported; anything else trains through autograd.
"""

from __future__ import annotations

import math

import torch

from engine.layers import BatchNorm1d, Embedding, FlattenConsecutive, Identity, Linear, Tanh

_bn_backward = torch.ops.aten.native_batch_norm_backward.default
_tanh_backward = torch.ops.aten.tanh_backward.default
_MASK = [True, True, True]
_nll = torch._C._nn.nll_loss_nd  # F.nll_loss without its Python checks
RECENTRE_EVERY = 1000  # steps between new shifts of a "var" BatchNorm's input
_cache: dict = {}  # small constant tensors, by device, shape and value


def _constant(device, shape: tuple, value: float) -> torch.Tensor:
    """A cached tensor full of `value`; 0-dim for shape (): torch multiplies by it without
    converting a Python number each call."""
    key = (device, shape, value)
    t = _cache.get(key)
    if t is None:
        if len(_cache) > 1000:  # a cosine schedule makes a new -lr/B every step
            _cache.clear()
        t = _cache[key] = torch.full(shape, value, device=device)
    return t


def _t(layer):
    """The layer's weight, transposed (a view, so it follows in-place updates)."""
    W = layer.weight
    cached = getattr(layer, "_fused_wt", None)
    if cached is None or cached[0] is not W:
        cached = layer._fused_wt = (W, W.t())
    return cached[1]


# --- where the gradients go: into the parameters (SGD) or into a list (optimizers) -------


class _Update:
    """Plain SGD: the incoming gradients are already scaled by -lr, so p += grad."""

    __slots__ = ("deltas", "params")

    def __init__(self):
        self.params, self.deltas = [], []

    def mm(self, W, a, b):  # W += a @ b
        W.addmm_(a, b)

    def add(self, p, g):
        self.params.append(p)
        self.deltas.append(g)

    def bias(self, b, d2):  # b += the column sums of d2
        b.addmv_(d2.t(), _constant(d2.device, (d2.shape[0],), 1.0))

    def rows(self, C, idx, d):  # C[idx] += d, summing repeated rows
        C.index_add_(0, idx, d)

    def finish(self):
        if self.params:
            torch._foreach_add_(self.params, self.deltas)


class _Collect:
    """The gradients themselves, [(param, grad)], for a torch optimizer or a test."""

    __slots__ = ("grads",)

    def __init__(self):
        self.grads = []

    def mm(self, W, a, b):
        self.grads.append((W, torch.mm(a, b)))

    def add(self, p, g):
        self.grads.append((p, g))

    def bias(self, b, d2):
        self.grads.append((b, d2.sum(0)))

    def rows(self, C, idx, d):
        self.grads.append((C, torch.zeros_like(C).index_add_(0, idx, d)))

    def finish(self):
        pass


# --- forward: same function as engine.layers, keeping what the backward needs ------------
#
# Every rule: (layer, x2, B, T) -> (y2, T after, cache), x2 and y2 of shape (B * T, features).


def _embedding(layer, idx, B, T):
    flat = idx.view(-1) if idx.is_contiguous() else idx.reshape(-1)  # (B, T) -> (B * T,)
    return layer.weight.index_select(0, flat), T, flat  # (B * T, n_embd)


def _flatten(layer, x2, B, T):
    T2 = T // layer.n  # the lecture squeezes a length-1 time dimension away
    return x2.view(B * T2, x2.shape[1] * layer.n), T2, x2.shape  # (B * T/n, C * n)


def _linear(layer, x2, B, T):
    W, b = layer.weight, layer.bias
    y2 = torch.mm(x2, W) if b is None else torch.addmm(b, x2, W)  # (B * T, fan_out)
    return y2, T, x2


def _bn_constants(bn, x2, B, T):
    """What a BatchNorm step needs besides the data, for one batch layout (cached)."""
    key = (B, T, x2.shape[1], x2.device)
    consts = bn.__dict__.setdefault("_fused_consts", {}).get(key)
    if consts is None:
        C = x2.shape[1]
        buggy = T != 1 and not bn.over_time
        if T == 1:
            stat = (1, C)
        elif not buggy:  # statistics over batch and time: one per channel
            stat = (1, 1, C)
        else:  # the lecture's bug: statistics over the batch only, per position and channel
            stat = (1, T, C)
        n = B if buggy else B * T
        std = bn.flavour == "std"  # no eps; the running statistic is the (unbiased) std
        eps = 0.0 if std else bn.eps * (n - 1) / n
        c = _constant(x2.device, (), math.sqrt((n - 1) / n))  # biased -> unbiased spread
        consts = bn._fused_consts[key] = (stat, buggy, std, eps, c)
    return consts


class _Running:
    """A "var" BatchNorm's running statistics, flat, for the kernel to update in place.

    The kernel sees the input less `shift` (one example, renewed every RECENTRE_EVERY
    steps), so it keeps the running mean of the shifted input, `shifted`; the layer's
    running_mean is shifted + shift, written after every step.
    """

    __slots__ = ("age", "mean", "mean_flat", "shift", "shifted", "var", "var_flat", "version")

    def __init__(self, bn, x2, stat):
        if bn.running_mean.shape != stat:  # the first step broadcasts the initial statistics
            target = torch.broadcast_shapes(bn.running_mean.shape, stat)
            bn.running_mean = bn.running_mean.expand(target)
            bn.running_var = bn.running_var.expand(target)
        bn.running_mean = self.mean = bn.running_mean.contiguous()
        bn.running_var = self.var = bn.running_var.contiguous()
        self.mean_flat, self.var_flat = self.mean.view(-1), self.var.view(-1)
        self.shift = x2[0].clone()
        self.shifted = self.mean_flat - self.shift
        self.version, self.age = self.mean._version, 0

    def current(self, bn, x2) -> bool:
        """Still the layer's statistics (nobody replaced or wrote them) and shift?"""
        return (
            self.age < RECENTRE_EVERY
            and bn.running_mean is self.mean
            and bn.running_var is self.var
            and self.mean._version == self.version
            and self.shift.shape[0] == x2.shape[1]
        )


def _batchnorm(bn, x2, B, T):
    stat, buggy, std, eps, c = _bn_constants(bn, x2, B, T)
    C = x2.shape[1]
    if buggy:  # rows of whole examples
        x2 = x2.view(B, T * C)
    gamma, beta = bn.gamma, bn.beta
    if gamma.numel() != x2.shape[1]:  # gamma shared by every position of the buggy layout
        gamma, beta = gamma.reshape(-1).repeat(T), beta.reshape(-1).repeat(T)
    w = torch.mul(gamma, c)  # torch's weight: the lecture's gamma c
    if w.dim() != 1:
        w, beta = w.view(-1), beta.view(-1)
    # torch's kernel sums in plain float32: shifted by one example first, its statistics
    # are as accurate as torch.mean and torch.var even where |mean| >> std
    if std:
        shift = x2[0]
        xc = x2 - shift
        out, mean, invstd = torch.native_batch_norm(xc, w, beta, None, None, True, 0.0, eps)
        _lerp_running_std(bn, stat, torch.add(mean, shift), torch.mul(invstd, c).reciprocal_())
    else:
        r = bn.__dict__.get("_fused_running")
        if r is None or not r.current(bn, x2):
            r = bn._fused_running = _Running(bn, x2, stat)
        xc = x2 - r.shift
        out, mean, invstd = torch.native_batch_norm(
            xc, w, beta, r.shifted, r.var_flat, True, bn.momentum, eps
        )
        torch.add(r.shifted, r.shift, out=r.mean_flat)
        r.version, r.age = r.mean._version, r.age + 1
    if buggy:  # back to rows of single positions
        out = out.view(B * T, C)
    return out, T, (xc, w, mean, invstd, eps, c, B, T)


def _lerp_running_std(bn, stat, mean, std):
    """The "std" flavour's running statistics: (1 - m) * running + m * batch."""
    rm, rv = bn.running_mean, bn.running_var
    if rm.shape != stat:  # the first step broadcasts the initial running statistics
        target = torch.broadcast_shapes(rm.shape, stat)
        rm, rv = rm.expand(target), rv.expand(target)
    m = bn.momentum
    bn.running_mean = torch.lerp(rm, mean.view(rm.shape), m)
    bn.running_var = torch.lerp(rv, std.view(rv.shape), m)


def _tanh(layer, x2, B, T):
    y2 = torch.tanh(x2)
    return y2, T, y2


def _identity(layer, x2, B, T):
    return x2, T, None


# --- backward: dL/d(input) from dL/d(output), both 2-D; parameter gradients go to `sink` --


def _embedding_back(layer, flat, d2, sink):
    sink.rows(layer.weight, flat, d2)


def _flatten_back(layer, shape, d2, sink):
    return d2.view(shape)  # d2: always a fresh, contiguous gradient


def _linear_back(layer, x2, d2, sink):
    W = layer.weight
    dx = torch.mm(d2, _t(layer))  # before W changes
    sink.mm(W, x2.t(), d2)
    if layer.bias is not None:
        sink.bias(layer.bias, d2)
    return dx


def _batchnorm_back(bn, cache, d2, sink):
    xc, w, mean, invstd, eps, c, B, T = cache
    buggy = xc.shape[0] != d2.shape[0]
    if buggy:
        d2 = d2.view(xc.shape)
    dx, dw, db = _bn_backward(d2, xc, w, None, None, mean, invstd, True, eps, _MASK)
    C = bn.gamma.numel()
    if buggy:  # gamma and beta shared by every position
        dw, db, dx = dw.view(-1, C).sum(0), db.view(-1, C).sum(0), dx.view(B * T, C)
    dw.mul_(c)
    if bn.gamma.dim() != 1:  # the part-3 MLP's (1, C) gamma and beta
        dw, db = dw.view(bn.gamma.shape), db.view(bn.beta.shape)
    sink.add(bn.gamma, dw)
    sink.add(bn.beta, db)
    return dx


def _tanh_back(layer, y2, d2, sink):
    return _tanh_backward(d2, y2)


def _identity_back(layer, cache, d2, sink):
    return d2


RULES = {
    Embedding: (_embedding, _embedding_back),
    FlattenConsecutive: (_flatten, _flatten_back),
    Linear: (_linear, _linear_back),
    BatchNorm1d: (_batchnorm, _batchnorm_back),
    Tanh: (_tanh, _tanh_back),
    Identity: (_identity, _identity_back),
}


def supports(model) -> bool:
    layers = model.layers
    return (
        bool(layers) and isinstance(layers[0], Embedding) and all(type(l) in RULES for l in layers)
    )


def _plan(model):
    """[(layer, forward, backward)] for the model's layers, looked up once per model."""
    layers = model.layers
    cached = model.__dict__.get("_fused_plan")
    if cached is None or cached[0] is not layers or len(cached[1]) != len(layers):
        cached = (layers, [(layer, *RULES[type(layer)]) for layer in layers])
        model._fused_plan = cached
    return cached[1]


def _step(model, Xb, Yb, sink, scale):
    """Forward, cross-entropy, and backward into `sink` with dlogits scaled by `scale`."""
    grad_enabled = torch.is_grad_enabled()
    torch._C._set_grad_enabled(False)  # torch.no_grad(), without its context manager's cost
    try:
        return _step_no_grad(model, Xb, Yb, sink, scale)
    finally:
        torch._C._set_grad_enabled(grad_enabled)


def _step_no_grad(model, Xb, Yb, sink, scale):
    plan = _plan(model)
    B, T = Xb.shape
    caches, x = [], Xb
    for layer, forward, _ in plan:
        x, T, cache = forward(layer, x, B, T)
        layer.out = x
        caches.append(cache)
    logprobs = torch.log_softmax(x, 1)  # x: the logits, (B, V)
    loss = _nll(logprobs, Yb, None, 1, -100)
    # cross-entropy backward in one expression (lecture 5, exercise 2): softmax - one_hot
    dx = logprobs.exp_().scatter_add_(1, Yb.view(-1, 1), _constant(Xb.device, (B, 1), -1.0))
    if scale is None:
        dx.div_(B)
    else:
        dx.mul_(_constant(Xb.device, (), scale))
    for (layer, _, backward), cache in zip(reversed(plan), reversed(caches), strict=True):
        dx = backward(layer, cache, dx, sink)
    sink.finish()
    return loss


def sgd_step(model, Xb, Yb, lr: float) -> torch.Tensor:
    """One step of the lecture loop (forward, backward, p.data += -lr * grad); returns the loss."""
    return _step(model, Xb, Yb, _Update(), -lr / Xb.shape[0])


def gradients(model, Xb, Yb):
    """(loss, [(param, grad)]): the minibatch loss and the gradient of every parameter."""
    sink = _Collect()
    loss = _step(model, Xb, Yb, sink, None)
    return loss, sink.grads


def set_grads(model, Xb, Yb) -> torch.Tensor:
    """Fill every parameter's .grad by hand (for a torch optimizer); returns the loss."""
    loss, grads = gradients(model, Xb, Yb)
    for p, g in grads:
        p.grad = g
    return loss
