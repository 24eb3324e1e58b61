"""The learning-rate finder of lecture 3 (makemore part 2).

Train a fresh model for N steps while the learning rate rises exponentially,
lr = 10 ** linspace(-3, 0, N), one minibatch step per rate, and plot the loss
against the exponent. The loss falls, flattens in a valley, then blows up; a
rate from the valley (about 10^-1 for the lecture's MLP) trains fast and stays stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine import models
from engine.data import Splits
from engine.lectures import LECTURE_SEED
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


def sweep(
    config: ModelConfig,
    splits: Splits,
    vocab_size: int,
    lo: float = -3.0,
    hi: float = 0.0,
    steps: int = 1000,
    batch_size: int = 32,
    seed: int = LECTURE_SEED,
    callback=None,
) -> Sweep:
    """One step per learning rate on a fresh model; callback(i) after each step (a progress bar)."""
    if steps < 10:
        raise ConfigError("The sweep needs at least 10 steps.")
    if not lo < hi:
        raise ConfigError("The lowest exponent must be below the highest.")
    g = torch.Generator().manual_seed(seed)
    model = models.build(config, vocab_size, g)
    params = model.parameters()
    lre = torch.linspace(lo, hi, steps)
    losses = []
    for i, lr in enumerate((10**lre).tolist()):
        ix = torch.randint(0, splits.Xtr.shape[0], (batch_size,), generator=g)
        _, loss = model(splits.Xtr[ix], splits.Ytr[ix])
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data += -lr * p.grad
        losses.append(loss.item() if torch.isfinite(loss) else float("inf"))
        if callback:
            callback(i)
    finite = [min(v, 1e6) for v in losses]
    smoothed = smooth(finite, max(3, steps // 20))
    best = min(range(steps), key=smoothed.__getitem__)
    return Sweep(lre.tolist(), losses, smoothed, lre[best].item())
