"""Many runs, one step: compatible Jobs trained together in one stacked model.

In a class, students train the same lecture architecture with their own seed, learning
rate or number of steps. On a CPU these models are so small that much of a step is
per-operation overhead; runs of the same shapes stacked along a leading run dimension
pay it once per step for all of them (the arithmetic stays: README, Performance). A Stack holds R member Jobs: every parameter as
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
channels, the loss of each run is its own nll_loss. A run trained in a stack is bit for
bit the run trained alone, except where torch's batch norm backward rounds a channel
count that is not a multiple of 8 differently in the stacked layout (the deep net: float
tolerance); tests/test_stacked.py holds both.
"""

from __future__ import annotations

import ctypes
import functools
import os
import time
from pathlib import Path

import torch

from engine import fused
from engine.layers import BatchNorm1d, Embedding, FlattenConsecutive, Identity, Linear, Tanh
from engine.stacked_step import Block, hand_over
from engine.train import Job, _log10

# Off by default: on a two-core server the class load test finished its last run about as
# soon grouped, but with every run live at once the pages' redraws doubled the server's CPU
# and its p95 latency (README, "Compatible runs train together"). MAKEMORE_GROUP=32 turns it on.
DEFAULT_GROUP = 1


BLOCK_BYTES = 512 * 1024  # a block's largest activation where the L2 size is not known
CPU_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")


KEPT_HEAP = 256 * 1024**2  # freed memory a training process keeps (glibc's trim threshold)


@functools.cache
def keep_freed_memory() -> bool:
    """Keep a training process's freed buffers for its next step (glibc; False elsewhere).

    A stacked step allocates and frees activations of hundreds of KB. By default glibc
    maps the biggest afresh and hands freed memory back to the system, so every step takes
    a page fault per 4 KB it touches again: 200 to 770 a step for 32 part-3 MLPs, up to a
    quarter of the step's time. Called once in every worker process."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mapped = mallopt(M_MMAP_THRESHOLD, 32 * 1024**2)  # glibc's largest: above it, mmap
    return bool(mapped and mallopt(M_TRIM_THRESHOLD, KEPT_HEAP))


@functools.cache
def l2_bytes(cache: Path = CPU_CACHE) -> int:
    """One core's L2 cache as Linux reports it (BLOCK_BYTES where it does not)."""
    units = {"K": 1024, "M": 1024**2}
    for index in sorted(cache.glob("index*")):
        try:
            if (index / "level").read_text().strip() != "2":
                continue
            size = (index / "size").read_text().strip()
            return int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
        except (OSError, ValueError):
            break
    return BLOCK_BYTES


def block_size(model, batch_size: int, T: int) -> int:
    """Runs per block: as many as keep the largest activation of the block within one
    core's L2 cache (MAKEMORE_STACK_BYTES overrides). Past that every batched kernel
    reads its operands from further away and a bigger block is slower, not faster."""
    budget = int(os.environ.get("MAKEMORE_STACK_BYTES") or l2_bytes())
    rows, width = batch_size * T, 0
    for layer in model.layers:
        if type(layer) is FlattenConsecutive:
            rows //= layer.n
        elif type(layer) in (Linear, Embedding):
            width = max(width, rows * layer.weight.shape[1])
    return max(1, budget // max(4 * width, 1))


def group_limit() -> int:
    """MAKEMORE_GROUP (default 1: never): at most this many runs trained together."""
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
        self.blocks: list[Block] | None = None
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
        hand_over(job, self._saved)
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
        self.blocks = [Block(jobs[i : i + per], self._saved) for i in range(0, len(jobs), per)]
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
                hand_over(self.jobs[0], self._saved)
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
