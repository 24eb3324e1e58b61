"""The diagnostics of lecture 4 (makemore part 3): look inside a net while it trains.

Cells 15-18 of the notebook plot, for the deep BatchNorm net after 1,001 steps: the
distribution of every tanh layer's output (and how much of it is saturated), the
gradients arriving at those outputs, the weight gradients relative to the weights
(grad:data) and the log10 update:data ratio of every step.

Everything returns small plain structures (floats, lists, pre-binned histograms) ready
for a chart. The statistics describe the LAST TRAINING step: a Job's evaluations run
eval-mode forwards that overwrite every layer's `.out`, so capture() must run right after
job.train_step(); train_and_capture() trains a job to the end that way.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from engine.layers import Identity, Linear, Tanh
from engine.models import Model
from engine.train import Job

SATURATION = 0.97  # |t| above this counts as saturated in the histograms (cell 15)

SATURATION_IMAGE = 0.99  # the video's white/black image of h.abs() > 0.99

UPDATE_GUIDE = -3.0  # "update:data ratios should be ~1e-3": the black line of cell 18


@dataclass(frozen=True)
class Histogram:
    """torch.histogram pre-binned: x = left bin edges (the lecture plots hx[:-1]), y = heights."""

    x: list[float]
    y: list[float]


def histogram(t: torch.Tensor, bins: int = 100, density: bool = True) -> Histogram:
    """Non-finite values (a diverged run) are left out; all of them gives an empty histogram."""
    t = t.detach().float().reshape(-1)
    t = t[t.isfinite()]
    if not len(t):
        return Histogram([], [])
    hy, hx = torch.histogram(t, bins=bins, density=density)
    return Histogram(hx[:-1].tolist(), hy.tolist())


@dataclass(frozen=True)
class ActivationStats:
    layer: int  # the lecture's layer number (2, 5, 8, 11, 14 for the deep net)
    kind: str  # class name, "Tanh"
    mean: float
    std: float
    saturated: float  # % of |t| > 0.97
    hist: Histogram  # 100 bins, density


@dataclass(frozen=True)
class GradientStats:
    layer: int
    kind: str
    mean: float
    std: float
    hist: Histogram


@dataclass(frozen=True)
class WeightGradStats:
    param: int  # index into model.parameters() (0, 1, 4, 7, 10, 13, 16 for the deep net)
    shape: tuple[int, ...]
    mean: float
    std: float
    grad_data: float  # grad.std() / param.std()
    hist: Histogram


@dataclass(frozen=True)
class UpdateRatios:
    """Long format for a line chart: one row {"step", "param", "value"} per point.

    value = log10(std(lr * grad) / std(param)); with many steps each point is the mean of
    `stride` consecutive steps, labelled by the first. Non-finite values are left out.
    """

    rows: list[dict]
    params: list[int]
    stride: int
    guide: float = UPDATE_GUIDE


@dataclass(frozen=True)
class Diagnostics:
    step: int  # steps taken when captured
    activations: list[ActivationStats]
    gradients: list[GradientStats]
    weights: list[WeightGradStats]
    updates: UpdateRatios


def lecture_offset(model: Model) -> int:
    """The lectures 3-4 kept C and the view outside `layers`: number from the first Linear."""
    if model.config.kind == "wavenet":
        return 0
    return next(i for i, layer in enumerate(model.layers) if isinstance(layer, Linear))


def nonlinearity(model: Model) -> type:
    """Tanh, or Identity for the deep net without a nonlinearity."""
    return Tanh if any(isinstance(layer, Tanh) for layer in model.layers) else Identity


def _watched_layers(model: Model) -> list[tuple[int, object]]:
    """The nonlinearity layers except the output, numbered as in the lecture."""
    kind, offset = nonlinearity(model), lecture_offset(model)
    return [
        (i - offset, layer) for i, layer in enumerate(model.layers[:-1]) if isinstance(layer, kind)
    ]


def _check_fresh(model: Model) -> None:
    for _, layer in _watched_layers(model):
        out = getattr(layer, "out", None)
        if out is None or out.grad is None:
            raise ValueError(
                "No training-step gradients at the layer outputs: capture right after "
                "job.train_step() of a Job built with record_stats=True (an evaluation "
                "overwrites every layer's .out)."
            )


def activation_stats(model: Model) -> list[ActivationStats]:
    """Cell 15: the forward activations of the last forward pass."""
    stats = []
    for layer_no, layer in _watched_layers(model):
        t = layer.out.detach()
        stats.append(
            ActivationStats(
                layer_no,
                type(layer).__name__,
                t.mean().item(),
                t.std().item(),
                ((t.abs() > SATURATION).float().mean() * 100).item(),
                histogram(t),
            )
        )
    return stats


def gradient_stats(model: Model) -> list[GradientStats]:
    """Cell 16: the gradients at the same outputs (kept with retain_grad)."""
    stats = []
    for layer_no, layer in _watched_layers(model):
        t = layer.out.grad
        stats.append(
            GradientStats(
                layer_no, type(layer).__name__, t.mean().item(), t.std().item(), histogram(t)
            )
        )
    return stats


def weight_grad_stats(model: Model) -> list[WeightGradStats]:
    """Cell 17: the gradients of the 2-D parameters (C and the weights), and grad:data."""
    stats = []
    for i, p in enumerate(model.parameters()):
        if p.ndim != 2 or p.grad is None:
            continue
        t = p.grad
        stats.append(
            WeightGradStats(
                i,
                tuple(p.shape),
                t.mean().item(),
                t.std().item(),
                (t.std() / p.detach().std()).item(),
                histogram(t),
            )
        )
    return stats


def update_ratios(job: Job, max_points: int = 2000, ud: torch.Tensor | None = None) -> UpdateRatios:
    """Cell 18: job.ud for the 2-D parameters, averaged down to at most max_points steps.

    `ud`: job.ud already as a (steps, n_params) tensor (a live page keeps one up to date).
    """
    params = [i for i, p in enumerate(job.params) if p.ndim == 2]
    if ud is None:
        ud = torch.tensor(job.ud, dtype=torch.float64).reshape(len(job.ud), len(job.params))
    steps = ud.shape[0]
    stride = max(1, math.ceil(steps / max_points))
    n = math.ceil(steps / stride)
    x = torch.full((n * stride, len(params)), math.nan, dtype=torch.float64)
    x[:steps] = ud[:, params]
    x = x.view(n, stride, len(params))  # (points, stride, params)
    finite = x.isfinite()
    counts = finite.sum(1)
    means = (torch.where(finite, x, 0.0).sum(1) / counts.clamp(min=1)).tolist()
    counts = counts.tolist()
    rows = [
        {"step": k * stride, "param": i, "value": means[k][j]}
        for k in range(n)
        for j, i in enumerate(params)
        if counts[k][j]
    ]
    return UpdateRatios(rows, params, stride)


def capture(job: Job, max_points: int = 2000, ud: torch.Tensor | None = None) -> Diagnostics:
    """All four diagnostics of the job's last training step (call right after train_step)."""
    if not job.record_stats:
        raise ValueError("Build the Job with record_stats=True to record the diagnostics.")
    model = job.model
    _check_fresh(model)
    return Diagnostics(
        job.step,
        activation_stats(model),
        gradient_stats(model),
        weight_grad_stats(model),
        update_ratios(job, max_points, ud),
    )


def train_and_capture(job: Job, seconds: float | None = None, callback=None) -> Diagnostics | None:
    """Train to the end (or for a time budget), capture the last step, then job.finish().

    Returns None when the budget ran out first; call again to go on.
    """
    deadline = None if seconds is None else time.perf_counter() + seconds
    while not job.done:
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        job.train_step()
        if callback:
            callback(job)
    diagnostics = capture(job)
    if job.final is None:
        job.finish()
    return diagnostics
