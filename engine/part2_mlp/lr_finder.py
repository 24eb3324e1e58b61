"""The learning-rate finder of lecture 3 (makemore part 2).

Train a fresh model for N steps while the learning rate rises exponentially,
lr = 10 ** linspace(-3, 0, N), one minibatch step per rate, and plot the loss
against the exponent. The loss falls, flattens in a valley, then blows up; a
rate from the valley (about 10^-1 for the lecture's MLP) trains fast and stays stable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from engine import models
from engine.data import Splits
from engine.lectures import LECTURE_SEED
from engine.messages import msg
from engine.models import ConfigError, ModelConfig


@dataclass(frozen=True)
class Sweep:
    exponents: list[float]
    losses: list[float]
    smoothed: list[float]
    best_exponent: float  # the valley: lowest smoothed loss before the blow-up

    @property
    def suggested_lr(self) -> float:
        return 10**self.best_exponent


def smooth(values: list[float], window: int) -> list[float]:
    """Centred moving average (shorter windows at the ends)."""
    t = torch.tensor(values, dtype=torch.float64)
    cs = torch.cat([torch.zeros(1, dtype=torch.float64), t.cumsum(0)])
    half = window // 2
    idx = torch.arange(len(values))
    lo, hi = (idx - half).clamp(min=0), (idx + half + 1).clamp(max=len(values))
    return ((cs[hi] - cs[lo]) / (hi - lo)).tolist()


@dataclass(frozen=True)
class SweepConfig:
    steps: int = 1000  # one per learning rate
    lo: float = -3.0  # the exponents of the first and last rates
    hi: float = 0.0
    batch_size: int = 32
    seed: int = LECTURE_SEED


class SweepJob:
    """The sweep as a training of its own (engine.serve's Trainable): one step per rate."""

    def __init__(self, config: ModelConfig, splits: Splits, vocab_size: int, sweep: SweepConfig):
        if sweep.steps < 10:
            raise ConfigError(msg("The sweep needs at least 10 steps."))
        if not sweep.lo < sweep.hi:
            raise ConfigError(msg("The lowest exponent must be below the highest."))
        if len(splits.Ytr) < 1:
            raise ConfigError(
                msg("The train split is empty: the dataset needs at least a few words.")
            )
        self.train_config, self.splits = sweep, splits
        self.generator = torch.Generator().manual_seed(sweep.seed)
        self.model = models.build(config, vocab_size, self.generator)
        lre = torch.linspace(sweep.lo, sweep.hi, sweep.steps)
        self.exponents, self.rates = lre.tolist(), (10**lre).tolist()
        self.losses: list[float] = []
        self.step, self.seconds = 0, 0.0

    @property
    def done(self) -> bool:
        return self.step >= self.train_config.steps

    def train_step(self) -> float:
        t0 = time.perf_counter()
        cfg, Xtr, Ytr = self.train_config, self.splits.Xtr, self.splits.Ytr
        lr = self.rates[self.step]
        ix = torch.randint(0, Xtr.shape[0], (cfg.batch_size,), generator=self.generator)
        _, loss = self.model(Xtr[ix], Ytr[ix])
        params = self.model.parameters()
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data += -lr * p.grad
        self.losses.append(loss.item() if torch.isfinite(loss) else float("inf"))
        self.step += 1
        self.seconds += time.perf_counter() - t0
        return self.losses[-1]

    def train_for(self, seconds: float) -> int:
        deadline, taken = time.perf_counter() + seconds, 0
        while not self.done and time.perf_counter() < deadline:
            self.train_step()
            taken += 1
        return taken

    def result(self) -> Sweep:
        """The losses against the exponents, smoothed, and the valley (call when done)."""
        finite = [min(v, 1e6) for v in self.losses]
        smoothed = smooth(finite, max(3, len(finite) // 20))
        best = min(range(len(smoothed)), key=smoothed.__getitem__)
        return Sweep(self.exponents, self.losses, smoothed, self.exponents[best])


def sweep(
    config: ModelConfig,
    splits: Splits,
    vocab_size: int,
    lo: float = -3.0,
    hi: float = 0.0,
    steps: int = 1000,
    batch_size: int = 32,
    seed: int = LECTURE_SEED,
) -> Sweep:
    """One step per learning rate on a fresh model, start to end."""
    job = SweepJob(config, splits, vocab_size, SweepConfig(steps, lo, hi, batch_size, seed))
    while not job.done:
        job.train_step()
    return job.result()
