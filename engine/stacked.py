"""Many runs, one step: compatible Jobs trained together in one stacked model.

In a class, students train the same lecture architecture with their own seed, learning
rate or number of steps. On a CPU these models are so small that a step is mostly
per-operation overhead; runs of the same shapes stacked along a leading run dimension
pay it once per step for all of them. A Stack holds R member Jobs: every parameter as
one [R, ...] tensor, one batched forward and the hand-written backward of engine.fused
extended to the run dimension (torch.bmm / baddbmm), per-run learning rates as an
[R, 1, 1] scale of the cross-entropy gradient, BatchNorm statistics per run.

Each member stays a whole Job: it draws its minibatch from its own generator (the
indices it would draw alone), and its step, loss history and evaluations are updated
as if it trained alone. Its tensors are its own (never views of the stack, which would
pickle the whole stack); sync() copies the stack's current values into them, and a
member is synced before it is evaluated or leaves. Runs join (with whatever they have
trained so far) and leave (finished or stopped) at any step.

Every kernel is the one the solo fused step calls, per run: a batched matmul rounds each
run's matrix as torch.mm does, torch's batch norm kernel sees the runs side by side as
channels, the loss of each run is its own nll_loss. A run trained in a stack is, on the
CPUs measured, bit for bit the run trained alone (tests/test_stacked.py).
"""

from __future__ import annotations

import math
import os
import time

import torch

from engine import fused
from engine.fused import RECENTRE_EVERY, _constant
from engine.layers import BatchNorm1d, Embedding, FlattenConsecutive, Identity, Linear, Tanh
from engine.train import Job, _log10

DEFAULT_GROUP = 32
BLOCK_BYTES = 512 * 1024  # a block's largest activation: about one core's L2 cache
_bn_backward = torch.ops.aten.native_batch_norm_backward.default
_tanh_backward = torch.ops.aten.tanh_backward.default
_MASK = [True, True, True]
_nll = torch._C._nn.nll_loss_nd


def group_limit() -> int:
    """MAKEMORE_GROUP (default 32): at most this many runs trained together; 1: never."""
    return max(1, int(os.environ.get("MAKEMORE_GROUP", str(DEFAULT_GROUP))))


def _layer_signature(layer):
    t = type(layer)
    shapes = tuple(tuple(p.shape) for p in layer.parameters())
    if t is BatchNorm1d:
        return (t.__name__, shapes, layer.flavour, layer.eps, layer.momentum, layer.over_time)
    if t is FlattenConsecutive:
        return (t.__name__, layer.n)
    if t is Linear:
        return (t.__name__, shapes, layer.bias is None)
    return (t.__name__, shapes)


STACKABLE = (Embedding, FlattenConsecutive, Linear, BatchNorm1d, Tanh, Identity)


def group_key(trainable) -> tuple | None:
    """What must be equal for runs to train together: everything that shapes the tensors
    (the layers and their sizes, which fix the family, block size and BatchNorm), the batch
    size, the optimizer and the data (the splits' key: dataset fingerprint, block size,
    shuffles). None: it trains alone (another Trainable, AdamW, autograd statistics...).
    Seeds, learning rates, their decay step, steps and evaluation interval may differ."""
    if type(trainable) is not Job:
        return None
    job = trainable
    if not job.fused or job.optimizer is not None or job.record_stats or job.done:
        return None
    if str(job.device) != "cpu" or not job.splits.key:
        return None
    layers = job.model.layers
    if not fused.supports(job.model) or any(type(l) not in STACKABLE for l in layers):
        return None
    if any(getattr(l, "training", True) is False for l in layers):
        return None
    return (
        "sgd",
        job.splits.key,
        job.train_config.batch_size,
        tuple(_layer_signature(l) for l in layers),
    )


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
    run's shift, renewed every RECENTRE_EVERY of its steps, as engine.fused keeps them)."""

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
        self.age = [RECENTRE_EVERY] * R  # a new shift at each run's first step here

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


def block_size(model, batch_size: int, T: int) -> int:
    """Runs per block: as many as keep the largest activation of the block within
    BLOCK_BYTES (about a core's L2 cache; MAKEMORE_STACK_BYTES). Past that every batched
    kernel reads its operands from further away and a bigger block is slower, not faster."""
    budget = int(os.environ.get("MAKEMORE_STACK_BYTES", BLOCK_BYTES))
    rows, width = batch_size * T, 0
    for layer in model.layers:
        if type(layer) is FlattenConsecutive:
            rows //= layer.n
        elif type(layer) in (Linear, Embedding):
            width = max(width, rows * layer.weight.shape[1])
    return max(1, budget // max(4 * width, 1))


def _solo_shift(bn):
    """(shift, shifted, age) of engine.fused's running statistics of a "var" BatchNorm
    trained alone until now, or None."""
    r = bn.__dict__.get("_fused_running")
    if (
        bn.flavour == "std"
        or r is None
        or r.age >= RECENTRE_EVERY
        or bn.running_mean is not r.mean
        or bn.running_var is not r.var
        or r.mean._version != r.version
    ):
        return None
    return r.shift, r.shifted, r.age


def _hand_over(job, saved: dict) -> None:
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


class _Block:
    """The stacked tensors of up to a block of runs and their batched step."""

    def __init__(self, jobs: list[Job], saved: dict):
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
                self.layers.append(("linear", (W, None if b is None else b.unsqueeze(1))))
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
        self._ones = {}
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
                        W, b = state
                        layer.weight.copy_(W[r])
                        if b is not None:
                            layer.bias.copy_(b[r, 0])
                    elif kind == "batchnorm":
                        state.write_back(r, layer)

    def save(self, saved: dict) -> None:
        """Each run's BatchNorm shifts and ages, for the next blocks it trains in."""
        for r, job in enumerate(self.jobs):
            for i, (kind, state) in enumerate(self.layers):
                if kind == "batchnorm" and state.age[r] < RECENTRE_EVERY:
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
        """Each run's minibatch from its own generator, as Run.train_step draws it."""
        Xtr, Ytr = splits.Xtr, splits.Ytr
        n, B = Xtr.shape[0], self.B
        ix = torch.cat([torch.randint(0, n, (B,), generator=j.batch_generator) for j in self.jobs])
        return Xtr.index_select(0, ix).view(len(self.jobs), B, -1), Ytr.index_select(0, ix)

    def step(self, splits, collect=None) -> torch.Tensor:
        """One step of every run of the block ([R] losses); with `collect`, the gradients
        instead (SGD's update left out)."""
        X, Y = self._draw(splits)
        if collect is not None:
            return self._forward_backward(X, Y, None, collect)
        scale = self._scale_for([j.train_config.lr_at(j.step) for j in self.jobs])
        return self._forward_backward(X, Y, scale)

    def _ones_row(self, N):
        t = self._ones.get(N)
        if t is None:
            t = self._ones[N] = torch.ones(N)
        return t

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
                W, b = state
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
        logprobs = torch.log_softmax(x.view(R * B, V), 1)
        losses = torch.stack(
            [
                _nll(logprobs[r * B : (r + 1) * B], Y[r * B : (r + 1) * B], None, 1, -100)
                for r in range(R)
            ]
        )
        d = logprobs.exp_().scatter_add_(1, Y.view(-1, 1), _constant(Y.device, (R * B, 1), -1.0))
        d = d.view(R, B, V)
        if scale is None:
            d.div_(B)
        else:
            d.mul_(scale)
        updates = ([], [])  # BatchNorm's gammas and betas and their deltas: one foreach add
        for (kind, state), cache in zip(reversed(self.layers), reversed(caches), strict=True):
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
                W, b = state
                dx = torch.bmm(d, W.transpose(1, 2))  # before W changes
                if collect is None:
                    W.baddbmm_(cache.transpose(1, 2), d)
                    if b is not None:  # one addmv over every run's columns: fused's rounding
                        N, F = d.shape[1], d.shape[2]
                        dt = torch.empty(N, R, F)
                        dt.copy_(d.transpose(0, 1))
                        b.view(-1).addmv_(dt.view(N, R * F).t(), self._ones_row(N))
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
                d = _tanh_backward(d, cache)
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
                if age >= RECENTRE_EVERY:  # engine.fused's new _Running for this run
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


class Stack:
    """R compatible Jobs trained together, one batched step for all of them (in blocks of
    runs that fit the cache, block_size()).

    Members join and leave between steps; `train_for` trains until a time budget is spent
    and hands each finished member its final evaluation, as Run.train_for does alone.
    """

    def __init__(self, jobs=()):
        self.jobs: list[Job] = []
        self.key: tuple | None = None
        self.seconds = 0.0
        self.blocks: list[_Block] | None = None
        self._saved: dict = {}
        for job in jobs:
            self.join(job)

    def __len__(self) -> int:
        return len(self.jobs)

    @property
    def done(self) -> bool:
        return all(j.done for j in self.jobs)

    def accepts(self, job) -> bool:
        key = group_key(job)
        return key is not None and (self.key is None or key == self.key)

    def join(self, job: Job) -> None:
        """Add a run (fresh or part-trained); it takes its next step with the others."""
        key = group_key(job)
        if key is None or (self.key is not None and key != self.key):
            raise ValueError("This run cannot train together with the others.")
        self._unbuild()
        self.key = key
        self.jobs.append(job)

    def leave(self, job: Job) -> Job:
        """Take a run out; its own tensors then hold everything it trained."""
        self._unbuild()
        self.jobs.remove(job)
        _hand_over(job, self._saved)
        if not self.jobs:
            self.key = None
        return job

    def _build(self) -> None:
        jobs = self.jobs
        first = jobs[0]
        self.splits = first.splits
        size = block_size(first.model, first.train_config.batch_size, first.splits.Xtr.shape[1])
        n = -(-len(jobs) // size)  # blocks of equal size
        per = -(-len(jobs) // n)
        self.blocks = [_Block(jobs[i : i + per], self._saved) for i in range(0, len(jobs), per)]
        self._saved = {}

    def _unbuild(self) -> None:
        if self.blocks is None:
            return
        for block in self.blocks:
            block.sync()
            block.save(self._saved)
        self.blocks = None

    def sync(self, which=None) -> None:
        """Copy the stack's current values into the members' own tensors (all, or `which`)."""
        for block in self.blocks or ():
            if which is None or which in block.jobs:
                block.sync(which)

    def gradients(self) -> tuple[list[float], list[list[torch.Tensor]]]:
        """(losses, grads): each member's minibatch loss and gradients for its next
        minibatch (drawn from its generator), in model.parameters() order; trains nothing."""
        if self.blocks is None:
            self._build()
        losses, grads = [], []
        with torch.no_grad():
            for block in self.blocks:
                collect: list[torch.Tensor] = []
                losses += block.step(self.splits, collect).tolist()
                collect.reverse()  # collected from the last layer down
                grads += [[g[r] for g in collect] for r in range(len(block.jobs))]
        return losses, grads

    def train_step(self) -> list[float]:
        """One step of every member; each one's minibatch loss."""
        if len(self.jobs) == 1 and self.blocks is None:  # alone: the solo step is faster
            if self._saved:
                _hand_over(self.jobs[0], self._saved)
            return [self.jobs[0].train_step()]
        t0 = time.perf_counter()
        if self.blocks is None:
            self._build()
        grad_enabled = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)  # torch.no_grad(), without its context manager's cost
        try:
            values = [v for block in self.blocks for v in block.step(self.splits).tolist()]
        finally:
            torch._C._set_grad_enabled(grad_enabled)
        jobs = [j for block in self.blocks for j in block.jobs]
        elapsed = time.perf_counter() - t0
        self.seconds += elapsed
        share = elapsed / len(jobs)
        for job, value in zip(jobs, values, strict=True):
            job.lossi.append(_log10(value))
            job.step += 1
            job.seconds += share
            every = job.train_config.eval_every
            if every and job.step % every == 0 and not job.done:
                self.sync(job)
                job.evals.append({"step": job.step, **job.estimate()})
        return values

    def finished(self) -> list[Job]:
        """Members that are done leave, with their final evaluation."""
        out = [j for j in self.jobs if j.done]
        for job in out:
            self.leave(job)
            if job.final is None:
                job.finish()
        return out

    def train_for(self, seconds: float) -> int:
        """Train every member until the budget is spent or all are done; members that finish
        leave with their final evaluation. Returns the group steps taken. The members'
        tensors are synced at the end."""
        deadline = time.perf_counter() + seconds
        taken = 0
        while self.jobs and time.perf_counter() < deadline:
            if any(j.done for j in self.jobs):
                self.finished()
                continue
            self.train_step()
            taken += 1
        self.finished()
        self.sync()
        return taken

    def run(self) -> list[Job]:
        """Train every member to its end."""
        jobs = list(self.jobs)
        while self.jobs:
            self.train_for(60.0)
        return jobs
