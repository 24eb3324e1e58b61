"""The batched step of engine.stacked: engine.fused's forward and hand-written backward
extended to a leading run dimension, for a block of runs.

Every parameter is one [R, ...] tensor; activations flow as (R, rows, features). Each
kernel is the one the solo fused step calls, per run: torch.bmm / baddbmm round each
run's matrix as torch.mm does; a bias update is each run's own addmv (as fused's);
BatchNorm is torch's batch norm kernel over the runs side by side as
channels, (rows, R * channels), each run shifted by its own example as fused shifts it;
each run's loss is its own nll_loss (a mean over [R, B] would sum in another order).
"""

from __future__ import annotations

import math

import torch

from engine import fused
from engine.fused import _constant
from engine.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Tanh

_bn_backward = torch.ops.aten.native_batch_norm_backward.default
_tanh_backward = torch.ops.aten.tanh_backward.grad_input
_MASK = [True, True, True]
_nll = torch.ops.aten.nll_loss_forward.output


def _bn_layout(bn, B, T, C):
    """(rows, channels, stat shape, buggy, eps, c) of a BatchNorm on (B * T, C) input, as
    engine.fused lays it out for one run."""
    buggy = T != 1 and not bn.over_time
    stat = (1, C) if T == 1 else (1, T, C) if buggy else (1, 1, C)
    n = B if buggy else B * T
    eps = 0.0 if bn.flavour == "std" else bn.eps * (n - 1) / n
    rows, ch = (B, T * C) if buggy else (B * T, C)
    return rows, ch, stat, buggy, eps, math.sqrt((n - 1) / n)


class _BN:
    """One BatchNorm layer's stacked state: gamma and beta [R, ...], the running
    statistics as [R, channels] ("var": the running mean of the shifted input and each
    run's shift, renewed every fused.RECENTRE_EVERY of its steps, as engine.fused keeps them)."""

    def __init__(self, layers, B, T, C):
        bn = layers[0]
        self.flavour, self.momentum = bn.flavour, bn.momentum
        self.rows, self.ch, self.stat, self.buggy, self.eps, c = _bn_layout(bn, B, T, C)
        self.c = _constant(torch.device("cpu"), (), c)
        self.C, self.T, self.B = C, T, B
        R = len(layers)
        self.gamma = torch.stack([l.gamma.detach() for l in layers])  # [R, *gamma.shape]
        self.beta = torch.stack([l.beta.detach() for l in layers])
        self.mean = torch.stack([self._flat(l.running_mean) for l in layers])  # [R, ch]
        self.var = torch.stack([self._flat(l.running_var) for l in layers])
        self.shift = torch.zeros(R, self.ch)
        self.shifted = torch.zeros(R, self.ch)
        self.age = [fused.RECENTRE_EVERY] * R  # a new shift at each run's first step here

    def _flat(self, t):
        t = t.detach()
        if t.shape != self.stat:
            t = t.expand(torch.broadcast_shapes(t.shape, self.stat))
        return t.reshape(self.ch)

    def gammas(self):
        """gamma and beta as the kernel's per-channel weight (gamma c) and bias, [R * ch]."""
        R = self.gamma.shape[0]
        g, b = self.gamma.view(R, -1), self.beta.view(R, -1)
        if g.shape[1] != self.ch:  # the lecture's bug: gamma shared by every position
            g = g.unsqueeze(1).expand(R, self.T, self.C).reshape(R, self.ch)
            b = b.unsqueeze(1).expand(R, self.T, self.C).reshape(R, self.ch)
        return torch.mul(g, self.c).view(-1), b.reshape(-1)

    def write_back(self, r, layer):
        """Run r's parameters and running statistics into its own layer."""
        layer.gamma.copy_(self.gamma[r])
        layer.beta.copy_(self.beta[r])
        for name, src in (("running_mean", self.mean[r]), ("running_var", self.var[r])):
            t = getattr(layer, name)
            if t.shape == self.stat:
                t.copy_(src.view(self.stat))
            else:  # the first step gives the statistics the batch statistics' shape
                setattr(layer, name, src.view(self.stat).clone())


def _solo_shift(bn):
    """(shift, shifted, age) of engine.fused's running statistics of a "var" BatchNorm
    trained alone until now, or None."""
    r = bn.__dict__.get("_fused_running")
    if (
        bn.flavour == "std"
        or r is None
        or r.age >= fused.RECENTRE_EVERY
        or bn.running_mean is not r.mean
        or bn.running_var is not r.var
        or r.mean._version != r.version
    ):
        return None
    return r.shift, r.shifted, r.age


def hand_over(job, saved: dict) -> None:
    """A run that goes on alone keeps its BatchNorm shifts: engine.fused's _Running."""
    for i, bn in enumerate(job.model.layers):
        kept = saved.pop((id(job), i), None)
        if kept is None or type(bn) is not BatchNorm1d:
            continue
        r = fused._Running.__new__(fused._Running)
        r.mean, r.var = bn.running_mean, bn.running_var
        r.mean_flat, r.var_flat = r.mean.view(-1), r.var.view(-1)
        shift, shifted, r.age = kept
        r.shift, r.shifted = shift.clone(), shifted.clone()
        r.version = r.mean._version
        bn._fused_running = r


class Block:
    """The stacked tensors of up to a block of runs and their batched step."""

    def __init__(self, jobs: list, saved: dict):
        self.jobs = jobs
        first = jobs[0]
        self.B = first.train_config.batch_size
        B, T = self.B, first.splits.Xtr.shape[1]
        self.layers = []  # (kind, state) per layer
        per_run = [j.model.layers for j in jobs]
        for i, layer in enumerate(first.model.layers):
            column = [layers[i] for layers in per_run]
            t = type(layer)
            if t is Embedding:
                W = torch.stack([l.weight.detach() for l in column])
                self.layers.append(("embedding", W))
                C = W.shape[2]
            elif t is FlattenConsecutive:
                self.layers.append(("flatten", layer.n))
                T, C = T // layer.n, C * layer.n
            elif t is Linear:
                W = torch.stack([l.weight.detach() for l in column])
                b = None if layer.bias is None else torch.stack([l.bias.detach() for l in column])
                b = None if b is None else b.unsqueeze(1)  # [R, 1, fan_out]
                self.layers.append(("linear", (W, b, None if b is None else [v[0] for v in b])))
                C = W.shape[2]
            elif t is BatchNorm1d:
                state = _BN(column, B, T, C)
                for r, job in enumerate(jobs):  # a run's shift and age, kept across restacks
                    kept = saved.get((id(job), i)) or _solo_shift(column[r])
                    if kept is not None:
                        state.shift[r], state.shifted[r], state.age[r] = kept
                self.layers.append(("batchnorm", state))
            elif t is Tanh:
                self.layers.append(("tanh", None))
            else:
                self.layers.append(("identity", None))
        R = len(jobs)
        self.offsets = (torch.arange(R) * first.model.layers[0].weight.shape[0]).view(R, 1, 1)
        # The step's buffers, written in place every step, and their per-run views made once:
        # a step otherwise spends a Python call on each run's slice of each of them.
        self.ix = torch.empty(R * self.B, dtype=torch.long)  # each run's minibatch indices
        self.ix_runs = list(self.ix.view(R, self.B))
        self.Y = torch.empty(R * self.B, dtype=torch.long)
        self.logprobs = self.nll_runs = None  # (R * B, V) and each run's nll_loss arguments
        self.losses = torch.empty(R)
        self.grads: dict[int, torch.Tensor] = {}  # layer -> its input gradient's buffer
        self.views: dict[int, tuple] = {}  # layer -> (buffer, its runs' transposed views)
        self._scale_key = self._scale = None

    def sync(self, which=None) -> None:
        """Copy the block's current values into the members' own tensors (all, or `which`)."""
        with torch.no_grad():
            for r, job in enumerate(self.jobs):
                if which is not None and job is not which:
                    continue
                for (kind, state), layer in zip(self.layers, job.model.layers, strict=True):
                    if kind == "embedding":
                        layer.weight.copy_(state[r])
                    elif kind == "linear":
                        W, b, _ = state
                        layer.weight.copy_(W[r])
                        if b is not None:
                            layer.bias.copy_(b[r, 0])
                    elif kind == "batchnorm":
                        state.write_back(r, layer)

    def save(self, saved: dict) -> None:
        """Each run's BatchNorm shifts and ages, for the next blocks it trains in."""
        for r, job in enumerate(self.jobs):
            for i, (kind, state) in enumerate(self.layers):
                if kind == "batchnorm" and state.age[r] < fused.RECENTRE_EVERY:
                    saved[id(job), i] = (
                        state.shift[r].clone(),
                        state.shifted[r].clone(),
                        state.age[r],
                    )

    def _scale_for(self, lrs: list[float]) -> torch.Tensor:
        key = tuple(lrs)
        if key != self._scale_key:
            B = self.B
            self._scale = torch.tensor([-lr / B for lr in lrs]).view(-1, 1, 1)
            self._scale_key = key
        return self._scale

    def _draw(self, splits):
        """Each run's minibatch from its own generator, as Run.train_step draws it: the
        kernel of its torch.randint(0, n, (B,)), on the run's slice of the indices."""
        Xtr, n, B = splits.Xtr, splits.Xtr.shape[0], self.B
        for job, ix in zip(self.jobs, self.ix_runs, strict=True):
            ix.random_(0, n, generator=job.batch_generator)
        torch.index_select(splits.Ytr, 0, self.ix, out=self.Y)
        return Xtr.index_select(0, self.ix).view(len(self.jobs), B, -1), self.Y

    def _buffer(self, i: int, like: torch.Tensor) -> torch.Tensor:
        """Layer i's input-gradient buffer, the shape of `like`."""
        t = self.grads.get(i)
        if t is None or t.shape != like.shape:
            t = self.grads[i] = torch.empty_like(like)
        return t

    def _runs_t(self, i: int, d: torch.Tensor) -> list:
        """[d[r].t() for each run], made once while d is the same buffer."""
        kept = self.views.get(i)
        same = kept is not None and kept[0].data_ptr() == d.data_ptr()
        if not (same and kept[0].shape == d.shape and kept[0].stride() == d.stride()):
            kept = self.views[i] = (d, [m.t() for m in d])  # kept[0] holds d's storage
        return kept[1]

    def step(self, splits, collect=None) -> torch.Tensor:
        """One step of every run of the block ([R] losses); with `collect`, the gradients
        instead (SGD's update left out)."""
        X, Y = self._draw(splits)
        if collect is not None:
            return self._forward_backward(X, Y, None, collect)
        scale = self._scale_for([j.train_config.lr_at(j.step) for j in self.jobs])
        return self._forward_backward(X, Y, scale)

    def _forward_backward(self, idx, Y, scale, collect=None):
        """Forward, cross-entropy and backward for every run at once; [R] losses.

        idx (R, B, T), Y (R * B,); scale (R, 1, 1) multiplies the softmax - one_hot of
        every run (-lr / B: SGD in place), or None: gradients into `collect`."""
        R, B, T = idx.shape
        caches = []
        x = None
        for kind, state in self.layers:
            if kind == "embedding":
                flat = (idx + self.offsets).view(-1)
                W = state
                x = W.view(-1, W.shape[2]).index_select(0, flat).view(R, B * T, W.shape[2])
                caches.append(flat)
            elif kind == "flatten":
                T2 = T // state
                caches.append(x.shape)
                x = x.view(R, B * T2, x.shape[2] * state)
                T = T2
            elif kind == "linear":
                W, b, _ = state
                y = torch.bmm(x, W) if b is None else torch.baddbmm(b, x, W)
                caches.append(x)
                x = y
            elif kind == "batchnorm":
                x, cache = self._bn_forward(state, x)
                caches.append(cache)
            elif kind == "tanh":
                x = torch.tanh(x)
                caches.append(x)
            else:
                caches.append(None)
        V = x.shape[2]
        if self.logprobs is None:
            self.logprobs, weights = torch.empty(R * B, V), torch.empty(R)
            self.nll_runs = [
                (lp, y, self.losses[r], weights[r])
                for r, (lp, y) in enumerate(
                    zip(self.logprobs.view(R, B, V), self.Y.view(R, B), strict=True)
                )
            ]
        logprobs = torch._log_softmax(x.view(R * B, V), 1, False, out=self.logprobs)
        for lp, y, loss, weight in self.nll_runs:  # each run's own mean, as alone
            _nll(lp, y, None, 1, -100, output=loss, total_weight=weight)
        losses = self.losses.clone()
        d = logprobs.exp_().scatter_add_(1, Y.view(-1, 1), _constant(Y.device, (R * B, 1), -1.0))
        d = d.view(R, B, V)
        if scale is None:
            d.div_(B)
        else:
            d.mul_(scale)
        updates = ([], [])  # BatchNorm's gammas and betas and their deltas: one foreach add
        for i, ((kind, state), cache) in enumerate(
            zip(reversed(self.layers), reversed(caches), strict=True)
        ):
            if kind == "embedding":
                W = state
                E = W.shape[2]
                if collect is None:
                    W.view(-1, E).index_add_(0, cache, d.reshape(-1, E))
                else:
                    collect.append(
                        torch.zeros_like(W)
                        .view(-1, E)
                        .index_add_(0, cache, d.reshape(-1, E))
                        .view(W.shape)
                    )
            elif kind == "flatten":
                d = d.view(cache)
            elif kind == "linear":
                W, b, biases = state
                dx = torch.bmm(d, W.transpose(1, 2))  # before W changes
                if collect is None:
                    W.baddbmm_(cache.transpose(1, 2), d)
                    if b is not None:  # each run's own addmv, as fused's: an addmv over
                        # every run's columns rounds a row by its place in the matrix (MKL
                        # on AVX-512)
                        ones = _constant(d.device, (d.shape[1],), 1.0)
                        for bias, dr in zip(biases, self._runs_t(i, d), strict=True):
                            bias.addmv_(dr, ones)
                else:
                    if b is not None:
                        collect.append(d.sum(1))
                    collect.append(torch.bmm(cache.transpose(1, 2), d))
                d = dx
            elif kind == "batchnorm":
                d, dw, db = self._bn_backward(state, cache, d)
                if collect is None:
                    updates[0].extend((state.gamma, state.beta))
                    updates[1].extend((dw.view(state.gamma.shape), db.view(state.beta.shape)))
                else:
                    collect.append(db.view(state.beta.shape))
                    collect.append(dw.view(state.gamma.shape))
            elif kind == "tanh":
                d = _tanh_backward(d, cache, grad_input=self._buffer(i, d))
        if updates[0]:
            torch._foreach_add_(updates[0], updates[1])
        return losses

    def _bn_forward(self, s: _BN, x):
        R, rows, ch = x.shape[0], s.rows, s.ch
        x3 = x.view(R, rows, ch)
        w, beta = s.gammas()
        xc = torch.empty(rows, R, ch)
        if s.flavour == "std":
            shift = x3[:, 0]  # [R, ch]: each run's first example
            torch.sub(x3.transpose(0, 1), shift, out=xc)
            xc2 = xc.view(rows, R * ch)
            out, mean, invstd = torch.native_batch_norm(xc2, w, beta, None, None, True, 0.0, s.eps)
            batch_mean = torch.add(mean.view(R, ch), shift)
            batch_std = torch.mul(invstd, s.c).reciprocal_().view(R, ch)
            s.mean.lerp_(batch_mean, s.momentum)
            s.var.lerp_(batch_std, s.momentum)
        else:
            for r, age in enumerate(s.age):
                if age >= fused.RECENTRE_EVERY:  # engine.fused's new _Running for this run
                    s.shift[r] = x3[r, 0]
                    s.shifted[r] = s.mean[r] - s.shift[r]
                    s.age[r] = 0
            torch.sub(x3.transpose(0, 1), s.shift, out=xc)
            xc2 = xc.view(rows, R * ch)
            shifted, var = s.shifted.view(-1), s.var.view(-1)
            out, mean, invstd = torch.native_batch_norm(
                xc2, w, beta, shifted, var, True, s.momentum, s.eps
            )
            torch.add(s.shifted, s.shift, out=s.mean)
            s.age = [a + 1 for a in s.age]
        y = out.view(rows, R, ch).transpose(0, 1).contiguous().view(x.shape)
        return y, (xc2, w, mean, invstd)

    def _bn_backward(self, s: _BN, cache, d):
        xc2, w, mean, invstd = cache
        R, rows, ch = d.shape[0], s.rows, s.ch
        dt = torch.empty(rows, R, ch)
        dt.copy_(d.view(R, rows, ch).transpose(0, 1))
        dx, dw, db = _bn_backward(
            dt.view(rows, R * ch), xc2, w, None, None, mean, invstd, True, s.eps, _MASK
        )
        dx = dx.view(rows, R, ch).transpose(0, 1).contiguous().view(d.shape)
        if s.buggy:  # gamma and beta shared by every position
            dw = dw.view(R, s.T, s.C).sum(1)
            db = db.view(R, s.T, s.C).sum(1)
        dw.mul_(s.c)
        return dx, dw, db
