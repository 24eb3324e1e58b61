"""The video's init explorer and fan-in demo (lecture 4, makemore part 3).

Why the step-0 loss is 27.88 and not ln 27 (confidently wrong logits), saturated tanh
units and dead neurons at init, and why y = x @ w grows like sqrt(fan_in) unless w is
scaled: the reasoning behind Kaiming init.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine import models
from engine.data import Splits
from engine.lectures import FAN_IN, LECTURE_SEED
from engine.messages import msg
from engine.models import ConfigError, ModelConfig
from engine.part3_bn.stats import SATURATION_IMAGE, Histogram, histogram, nonlinearity


@dataclass(frozen=True)
class InitReport:
    """One forward pass at init: how far the loss is from uniform and how saturated tanh is."""

    loss: float
    baseline: float  # ln(vocab_size): the loss of uniform predictions
    logits_std: float
    logits_max: float  # max |logit|
    hpreact: Histogram  # pre-activations of the first tanh layer, 50 bins, counts
    h: Histogram  # its output
    saturated: list[list[int]]  # (batch, n_hidden) 1 where |h| > 0.99: white in the video
    saturated_fraction: float
    dead: int  # neurons saturated for every example of the batch
    n_hidden: int


@torch.no_grad()
def explore_init(
    config: ModelConfig,
    splits: Splits,
    vocab_size: int,
    batch_size: int = 32,
    seed: int = LECTURE_SEED,
    batch_seed: int | None = None,
) -> InitReport:
    """Build the model as a Job would and run its first minibatch (same draws, same loss).

    For MLPConfig and DeepConfig; the histograms and the image show the first tanh layer.
    """
    if getattr(config, "batchnorm", True) and batch_size < 2:
        raise ConfigError(msg("BatchNorm needs a batch of at least 2 examples."))
    if not len(splits.Ytr):
        raise ConfigError(msg("The train split is empty: the dataset needs at least a few words."))
    g = torch.Generator().manual_seed(seed)
    model = models.build(config, vocab_size, g)
    gb = g if batch_seed is None else torch.Generator().manual_seed(batch_seed)
    ix = torch.randint(0, splits.Xtr.shape[0], (batch_size,), generator=gb)
    logits, loss = model(splits.Xtr[ix], splits.Ytr[ix])
    kind = nonlinearity(model)
    first = next(i for i, layer in enumerate(model.layers) if isinstance(layer, kind))
    hpreact, h = model.layers[first - 1].out, model.layers[first].out  # (B, n_hidden)
    white = h.abs() > SATURATION_IMAGE
    return InitReport(
        loss.item(),
        math.log(vocab_size),
        logits.std().item(),
        logits.abs().max().item(),
        histogram(hpreact, bins=50, density=False),
        histogram(h, bins=50, density=False),
        white.int().tolist(),
        white.float().mean().item(),
        int(white.all(0).sum()),
        h.shape[1],
    )


@dataclass(frozen=True)
class FanInDemo:
    fan_in: int
    x_std: float
    y_std: float
    expected_y_std: float  # gain if w is scaled by gain/sqrt(fan_in), else gain*sqrt(fan_in)
    x_hist: Histogram  # 50 bins, density
    y_hist: Histogram


def fan_in_demo(
    fan_in: int = FAN_IN,
    scaled: bool = False,
    gain: float = 1.0,
    n: int = 1000,
    fan_out: int = 200,
    seed: int = LECTURE_SEED,
) -> FanInDemo:
    """y = x @ w for unit Gaussians: y's std grows like sqrt(fan_in) unless w is scaled."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, fan_in), generator=g)
    w = torch.randn((fan_in, fan_out), generator=g) * gain
    if scaled:
        w = w / fan_in**0.5
    y = x @ w  # (n, fan_out)
    expected = gain if scaled else gain * fan_in**0.5
    return FanInDemo(
        fan_in,
        x.std().item(),
        y.std().item(),
        expected,
        histogram(x, bins=50),
        histogram(y, bins=50),
    )
