"""The diagnostics of lecture 4 (makemore part 3): look inside a net while it trains.

Cells 15-18 of the notebook plot, for the deep BatchNorm net after 1,001 steps: the
distribution of every tanh layer's output (and how much of it is saturated), the
gradients arriving at those outputs, the weight gradients relative to the weights
(grad:data) and the log10 update:data ratio of every step. The video adds the init
explorer (why the step-0 loss is 27.88 and not ln 27, saturated tanh units, dead
neurons), the fan-in demo behind Kaiming init, and the BatchNorm widget; the lecture's
exercises ask for zero init (E01) and folding BatchNorm into the Linear before it (E02).

Everything returns small plain structures (floats, lists, pre-binned histograms) ready
for a chart. The statistics describe the LAST TRAINING step: a Job's evaluations run
eval-mode forwards that overwrite every layer's `.out`, so capture() must run right after
job.train_step(); train_and_capture() trains a job to the end that way.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch

from engine import models
from engine.data import Splits
from engine.layers import BatchNorm1d, Embedding, Identity, Linear, Sequential, Tanh
from engine.models import ConfigError, Model, ModelConfig
from engine.train import Job, TrainConfig

SATURATION = 0.97  # |t| above this counts as saturated in the histograms (cell 15)
SATURATION_IMAGE = 0.99  # the video's white/black image of h.abs() > 0.99
UPDATE_GUIDE = -3.0  # "update:data ratios should be ~1e-3": the black line of cell 18
LECTURE_SEED = 2147483647


@dataclass(frozen=True)
class Histogram:
    """torch.histogram pre-binned: x = left bin edges (the lecture plots hx[:-1]), y = heights."""

    x: list[float]
    y: list[float]


def histogram(t: torch.Tensor, bins: int = 100, density: bool = True) -> Histogram:
    hy, hx = torch.histogram(t.detach().float().reshape(-1), bins=bins, density=density)
    return Histogram(hx[:-1].tolist(), hy.tolist())


# ---------------------------------------------------------------------------------------
# cells 15-18: activations, gradients, weight gradients, update:data ratios


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


def _nonlinearity(model: Model) -> type:
    """Tanh, or Identity for the deep net without a nonlinearity."""
    return Tanh if any(isinstance(layer, Tanh) for layer in model.layers) else Identity


def _watched_layers(model: Model) -> list[tuple[int, object]]:
    """The nonlinearity layers except the output, numbered as in the lecture."""
    kind, offset = _nonlinearity(model), lecture_offset(model)
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


def update_ratios(job: Job, max_points: int = 2000) -> UpdateRatios:
    """Cell 18: job.ud for the 2-D parameters, averaged down to at most max_points steps."""
    params = [i for i, p in enumerate(job.params) if p.ndim == 2]
    ud = torch.tensor(job.ud, dtype=torch.float64).reshape(len(job.ud), len(job.params))
    stride = max(1, math.ceil(len(job.ud) / max_points))
    rows = []
    for start in range(0, len(job.ud), stride):
        chunk = ud[start : start + stride]
        for i in params:
            values = chunk[:, i]
            values = values[values.isfinite()]
            if len(values):
                rows.append({"step": start, "param": i, "value": values.mean().item()})
    return UpdateRatios(rows, params, stride)


def capture(job: Job, max_points: int = 2000) -> Diagnostics:
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
        update_ratios(job, max_points),
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


# ---------------------------------------------------------------------------------------
# the video's init explorer and fan-in demo


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
        raise ConfigError("BatchNorm needs a batch of at least 2 examples.")
    g = torch.Generator().manual_seed(seed)
    model = models.build(config, vocab_size, g)
    gb = g if batch_seed is None else torch.Generator().manual_seed(batch_seed)
    ix = torch.randint(0, splits.Xtr.shape[0], (batch_size,), generator=gb)
    logits, loss = model(splits.Xtr[ix], splits.Ytr[ix])
    kind = _nonlinearity(model)
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
    fan_in: int = 10,
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


# ---------------------------------------------------------------------------------------
# BatchNorm: the widget of cell 22 and folding it away (exercise E02)


@dataclass(frozen=True)
class BatchNormWidget:
    inputs: list[float]  # blue dots at y=1
    outputs: list[float]  # red dots at y=0
    mu: float
    std: float


def batchnorm_widget(x0: float, seed: int = LECTURE_SEED + 1) -> BatchNormWidget:
    """Five inputs randn(5)*5, the first one set by the slider, normalised by mean and std."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(5, generator=g) * 5
    x[0] = x0  # override the 0th example with the slider
    mu, sig = x.mean(), x.std()
    y = (x - mu) / sig
    return BatchNormWidget(x.tolist(), y.tolist(), mu.item(), sig.item())


@torch.no_grad()
def fold_linear_bn(linear: Linear, bn: BatchNorm1d) -> Linear:
    """A Linear equal to bn(linear(x)) in eval mode: the running statistics are constants.

    bn(z) = gamma * (z - running_mean) / spread + beta, with spread = sqrt(running_var + eps)
    (or the running std, flavour "std"), so with s = gamma / spread:
    W' = W * s (scales each output column) and b' = (b - running_mean) * s + beta.
    """
    if bn.flavour == "std":
        spread = bn.running_var.reshape(-1)
    else:
        spread = torch.sqrt(bn.running_var.reshape(-1) + bn.eps)
    s = bn.gamma.reshape(-1) / spread  # (fan_out,)
    b = torch.zeros_like(s) if linear.bias is None else linear.bias.reshape(-1)
    weight = linear.weight * s  # (fan_in, fan_out)
    bias = (b - bn.running_mean.reshape(-1)) * s + bn.beta.reshape(-1)
    return Linear.from_tensors(weight.clone(), bias.clone())


@dataclass(frozen=True, eq=False)
class FoldReport:
    model: Model  # the same net with every Linear+BatchNorm1d pair replaced by one Linear
    folds: list[tuple[int, int]]  # (linear, batchnorm) positions in the original model.layers
    n_params_before: int
    n_params_after: int
    max_abs_diff: float  # max |logits - folded logits| in eval mode on the given inputs


@torch.no_grad()
def fold_batchnorm(model: Model, X: torch.Tensor) -> FoldReport:
    """Exercise E02: erase each BatchNorm1d that follows a Linear and compare eval forwards."""
    layers, new, folds = model.layers, [], []
    for i, layer in enumerate(layers):
        if isinstance(layer, BatchNorm1d) and i > 0 and isinstance(layers[i - 1], Linear):
            new[-1] = fold_linear_bn(layers[i - 1], layer)
            folds.append((i - 1, i))
        else:
            new.append(copy.copy(layer))  # shares the tensors, keeps its own .out
    folded = Model(Sequential(new), model.config).eval()
    bns = [layer for layer in layers if isinstance(layer, BatchNorm1d)]
    modes = [bn.training for bn in bns]
    model.eval()
    try:
        logits, _ = model(X)
    finally:
        for bn, mode in zip(bns, modes, strict=True):
            bn.training = mode
    folded_logits, _ = folded(X)
    return FoldReport(
        folded,
        folds,
        model.num_params(),
        folded.num_params(),
        (logits - folded_logits).abs().max().item(),
    )


# ---------------------------------------------------------------------------------------
# exercise E01: initialise every weight and bias to zero


@dataclass(frozen=True)
class ParamLearning:
    param: int
    layer: int  # lecture numbering; -1 for the embedding table C kept outside `layers`
    name: str  # "C", "Linear.weight", "BatchNorm1d.beta", ...
    shape: tuple[int, ...]
    learns: bool  # got a finite, non-zero gradient at some step
    max_abs_grad: float  # over all steps (nan once the loss is nan)
    final_grad_std: float
    moved: float  # max |param - init|


@dataclass(frozen=True)
class ZeroInitReport:
    params: list[ParamLearning]
    lossi: list[float]  # log10 minibatch loss per step
    train_loss: float  # full train split at the end (eval mode)
    unigram_loss: float  # the limit when only the output bias learns
    diverged: bool  # the loss became nan (BatchNorm without eps divides 0 by 0)
    learning: list[str]  # e.g. ["param 18: layer 16 BatchNorm1d.beta"]


def _param_names(model: Model) -> list[tuple[int, str]]:
    offset, names = lecture_offset(model), []
    for i, layer in enumerate(model.layers):
        kind = type(layer).__name__
        if isinstance(layer, Embedding):
            names.append((-1 if offset else i, "C"))
            continue
        attrs = ("gamma", "beta") if isinstance(layer, BatchNorm1d) else ("weight", "bias")
        names += [(i - offset, f"{kind}.{attr}") for attr in attrs[: len(layer.parameters())]]
    return names


def zero_init_experiment(
    config: ModelConfig,
    splits: Splits,
    vocab_size: int,
    steps: int = 300,
    zero_embedding: bool = True,
    zero_batchnorm: bool = False,
) -> ZeroInitReport:
    """Exercise E01: train from all-zero weights and biases; which parameters ever learn?

    C counts as a weight unless zero_embedding=False; BatchNorm's gamma/beta keep their
    ones/zeros unless zero_batchnorm=True. What happens: every hidden h = tanh(0) = 0, so
    each weight gradient h.T @ dout is 0, and every weight W = 0 passes back dout @ W.T = 0.
    Only the output bias (b2, or the last BatchNorm's beta) sees the loss: it learns the
    unigram distribution and the net stays a unigram model. With the lecture-3 BatchNorm
    (std, no eps) the zero pre-activations give 0/0 and the loss is nan from step 0.
    """
    if steps < 1:
        raise ConfigError("Train for at least one step.")
    job = Job(config, TrainConfig(steps=steps, eval_every=0), splits, vocab_size)
    with torch.no_grad():
        for layer in job.model.layers:
            skip = (isinstance(layer, BatchNorm1d) and not zero_batchnorm) or (
                isinstance(layer, Embedding) and not zero_embedding
            )
            for p in [] if skip else layer.parameters():
                p.zero_()
    init = [p.detach().clone() for p in job.params]
    max_grad = [torch.zeros(()) for _ in job.params]  # torch.maximum keeps a nan
    while not job.done:
        job.train_step()
        max_grad = [
            torch.maximum(m, p.grad.abs().max()) for m, p in zip(max_grad, job.params, strict=True)
        ]
    report = []
    for i, ((layer_no, name), p, p0, m) in enumerate(
        zip(_param_names(job.model), job.params, init, max_grad, strict=True)
    ):
        report.append(
            ParamLearning(
                i,
                layer_no,
                name,
                tuple(p.shape),
                bool(m.isfinite() and m > 0),
                m.item(),
                p.grad.std().item() if p.grad.numel() > 1 else float("nan"),
                (p.detach() - p0).abs().max().item(),
            )
        )
    train_loss = job.evaluate("train")
    return ZeroInitReport(
        report,
        job.lossi,
        train_loss,
        unigram_loss(splits, vocab_size),
        not math.isfinite(train_loss),
        [f"param {r.param}: layer {r.layer} {r.name}" for r in report if r.learns],
    )


def unigram_loss(splits: Splits, vocab_size: int) -> float:
    """The train loss of the unigram model, the entropy of the next-character frequencies."""
    p = torch.bincount(splits.Ytr, minlength=vocab_size).double() / len(splits.Ytr)
    p = p[p > 0]
    return -(p * p.log()).sum().item()
