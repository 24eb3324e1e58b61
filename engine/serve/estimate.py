"""How long a run will take on this server, from what a worker measured when it started.

A step of these small models costs a fixed overhead (dozens of tiny torch calls) plus
time in proportion to the work: parameters × examples in the minibatch. Each worker
times two short runs of a small MLP, one with a small batch and one with a large one,
and the line through them prices any run before it starts: the service refuses what
would take longer than MAKEMORE_MAX_RUN_MINUTES and the page warns about long ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from engine.data import Splits
from engine.models import MLPConfig
from engine.train import Job, TrainConfig


@dataclass(frozen=True)
class Speed:
    """Seconds per step = per_step + per_unit × parameters × batch size."""

    per_step: float = 6e-5  # the defaults: a 2-vCPU AMD EPYC, one thread
    per_unit: float = 2.5e-10

    def seconds(self, params: int, batch: int, steps: int) -> float:
        return steps * (self.per_step + self.per_unit * params * batch)


def _seconds_per_step(batch: int, steps: int) -> tuple[float, int]:
    g = torch.Generator().manual_seed(0)
    X, Y = torch.randint(0, 27, (4096, 3), generator=g), torch.randint(0, 27, (4096,), generator=g)
    splits = Splits(X, Y, X[:1], Y[:1], X[:1], Y[:1])
    train = TrainConfig(steps=steps, batch_size=batch, eval_every=0)
    job = Job(MLPConfig(n_hidden=100), train, splits, 27)
    job.train_step()  # warm up
    t0 = time.perf_counter()
    for _ in range(steps - 1):
        job.train_step()
    return (time.perf_counter() - t0) / (steps - 1), job.model.num_params()


def measure() -> Speed:
    """This machine's Speed, from about a fifth of a second of training."""
    small, params = _seconds_per_step(8, 300)
    large, _ = _seconds_per_step(512, 60)
    # the large batch's whole step counted as work (its fixed overhead is under a tenth):
    # a measure disturbed by other work can only make runs look longer, never shorter (the
    # difference of the two steps could come out near zero and let any run through)
    per_unit = large / (params * 512)
    return Speed(max(small - per_unit * params * 8, 1e-6), per_unit)


def duration(seconds: float) -> str:
    """12 s, 7 min, 3.5 h: a time a person reads at a glance."""
    if seconds < 90:
        return f"{seconds:,.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"
