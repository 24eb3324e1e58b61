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
import torch.nn.functional as F

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
    """Non-finite values (a diverged run) are left out; all of them gives an empty histogram."""
    t = t.detach().float().reshape(-1)
    t = t[t.isfinite()]
    if not len(t):
        return Histogram([], [])
    hy, hx = torch.histogram(t, bins=bins, density=density)
    return Histogram(hx[:-1].tolist(), hy.tolist())


class _JobProxy:
    """Looks like the Job it wraps (step, done, train_config, lossi, ...) for the live pages.

    It trains in time-boxed chunks, then evaluates a chunk at a time; subclasses record
    what they need in _after_step (every step) and _after_chunk (after each chunk).
    """

    job: Job
    evaluation: ChunkedEvaluation

    def __getattr__(self, name):
        if name == "job":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.job, name)

    @property
    def done(self) -> bool:
        """Trained and evaluated."""
        return self.job.done and self.evaluation.done

    def train_for(self, seconds: float) -> int:
        job, deadline, taken = self.job, time.perf_counter() + seconds, 0
        while not job.done and time.perf_counter() < deadline:
            job.train_step()
            self._after_step(job)
            taken += 1
        if taken:
            self._after_chunk()
        if job.done and not self.evaluation.done:
            self.evaluation.run_for(deadline - time.perf_counter())
        return taken

    def _after_step(self, job: Job) -> None:
        pass

    def _after_chunk(self) -> None:
        pass


EVAL_CHUNK = 2048  # examples per forward pass of a chunked evaluation


class ChunkedEvaluation:
    """A Job's finish() (train, dev and test loss with BatchNorm's running statistics), a
    chunk of examples at a time: a live page never blocks for long, and a deep, wide net
    never holds the activations of a whole split (10 layers of 400 over 182,625 examples
    would be gigabytes). With train and dev among the splits, it sets job.final and adds
    the last evaluation when all is done, as finish() would."""

    def __init__(self, job: Job, splits=("train", "dev", "test")):
        self.job, self.todo = job, list(splits)
        self.offset, self.total, self.losses = 0, 0.0, {}

    @property
    def done(self) -> bool:
        return not self.todo

    @torch.no_grad()
    def run_for(self, seconds: float) -> None:
        """Evaluate at least one chunk, then more until the time budget is spent."""
        deadline, model = time.perf_counter() + seconds, self.job.model
        model.eval()
        try:
            while self.todo:
                X, Y = self.job.splits.split(self.todo[0])
                if self.offset < len(Y):
                    end = self.offset + EVAL_CHUNK
                    logits, _ = model(X[self.offset : end])
                    self.total += F.cross_entropy(logits, Y[self.offset : end], reduction="sum")
                    self.offset = end
                if self.offset >= len(Y):
                    self.losses[self.todo.pop(0)] = (
                        float(self.total / len(Y)) if len(Y) else math.nan
                    )
                    self.offset, self.total = 0, 0.0
                if time.perf_counter() >= deadline:
                    break
        finally:
            model.train()
        job = self.job
        if self.done and job.final is None and {"train", "dev"} <= set(self.losses):
            job.final = self.losses
            job.evals.append(
                {"step": job.step, "train": job.final["train"], "dev": job.final["dev"]}
            )


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


class LiveDiagnostics(_JobProxy):
    """A Job (built with record_stats=True) for a live page: train_for() keeps the diagnostics
    of the last training step of every chunk in .diagnostics, captured before any evaluation
    runs, and evaluates the splits in chunks once training is done. The update ratios are
    averaged down to max_points steps (1,001: every step of the lecture's run)."""

    def __init__(self, job: Job, max_points: int = 1001):
        if not job.record_stats:
            raise ValueError("Build the Job with record_stats=True to record the diagnostics.")
        self.job, self.max_points = job, max_points
        self.diagnostics: Diagnostics | None = None
        self.evaluation = ChunkedEvaluation(job)
        self._ud = torch.zeros((0, len(job.params)), dtype=torch.float64)  # job.ud so far

    def _after_chunk(self) -> None:
        job = self.job
        new = torch.tensor(job.ud[len(self._ud) :], dtype=torch.float64)
        self._ud = torch.cat([self._ud, new.reshape(-1, len(job.params))])
        self.diagnostics = capture(job, self.max_points, self._ud)


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
    if not len(splits.Ytr):
        raise ConfigError("The train split is empty: the dataset needs at least a few words.")
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


# The "loss log" of the notebook (cell 11, markdown) and cell 19: (train, dev) after training.
LECTURE_LOSS_LOG = {
    "part3-original": (2.1245384216308594, 2.168196439743042),
    "part3-fix-softmax": (2.07, 2.13),
    "part3-fix-tanh": (2.0355966091156006, 2.1026785373687744),
    "part3-kaiming": (2.0376641750335693, 2.106989622116089),
    "part3-batchnorm": (2.0668270587921143, 2.104844808578491),
    "part3-deep-bn": (2.4002976417541504, 2.3982467651367188),
}


class Lockstep:
    """Several jobs trained step for step, so side-by-side curves always cover the same steps.

    It has a Job's interface for the live pages (train_for, step, done, train_config, ...).
    hooks[label](job) runs right after each training step of that job, e.g. a BatchNormTrace.
    """

    def __init__(self, jobs: dict[str, Job], hooks: dict | None = None):
        if len({job.train_config.steps for job in jobs.values()}) != 1:
            raise ValueError("Jobs trained in lockstep need the same number of steps.")
        self.jobs, self.hooks = jobs, hooks or {}
        self.train_config = next(iter(jobs.values())).train_config
        self.evaluations = [ChunkedEvaluation(job) for job in jobs.values()]

    @property
    def step(self) -> int:
        return min(job.step for job in self.jobs.values())

    @property
    def trained(self) -> bool:
        return all(job.done for job in self.jobs.values())

    @property
    def done(self) -> bool:
        """Trained and evaluated."""
        return self.trained and all(e.done for e in self.evaluations)

    @property
    def seconds(self) -> float:
        return sum(job.seconds for job in self.jobs.values())

    def steps_per_second(self) -> float:
        """Steps of every job per second."""
        return self.step / self.seconds if self.seconds else 0.0

    def train_for(self, seconds: float) -> int:
        deadline, taken = time.perf_counter() + seconds, 0
        while not self.trained and time.perf_counter() < deadline:
            for label, job in self.jobs.items():
                if not job.done:
                    job.train_step()
                    if label in self.hooks:
                        self.hooks[label](job)
            taken += 1
        for evaluation in self.evaluations:
            if self.trained and not evaluation.done:
                evaluation.run_for(deadline - time.perf_counter())
        return taken


# ---------------------------------------------------------------------------------------
# BatchNorm: batch vs running statistics, calibration, the widget of cell 22 and folding
# it away (exercise E02)


def _first_batchnorm(model: Model) -> int:
    for i, layer in enumerate(model.layers):
        if isinstance(layer, BatchNorm1d) and i > 0:
            return i
    raise ConfigError("This net has no BatchNorm layer.")


def _spread_as_std(bn: BatchNorm1d, spread: torch.Tensor) -> torch.Tensor:
    """The running "var" of the lecture's classes as a std (flavour "std" keeps the std)."""
    return spread if bn.flavour == "std" else spread.sqrt()


class BatchNormTrace:
    """The first BatchNorm layer's batch mean and std of every neuron, next to its running
    estimates, recorded during training at (at most) max_points evenly spaced steps.

    The batch statistics jump around with every minibatch; the running ones (momentum 0.001
    in lecture 4's MLP) average them slowly and are what evaluation uses.
    """

    def __init__(self, job: Job, max_points: int = 1000):
        self.index = _first_batchnorm(job.model)
        self.stride = max(1, math.ceil(job.train_config.steps / max_points))
        self.steps: list[int] = []
        self.batch_mean: list[torch.Tensor] = []  # each (n_hidden,)
        self.batch_std: list[torch.Tensor] = []
        self.running_mean: list[torch.Tensor] = []
        self.running_std: list[torch.Tensor] = []

    @torch.no_grad()
    def record(self, job: Job) -> None:
        """Call right after job.train_step()."""
        step = job.step - 1  # the step just taken
        if step % self.stride or (job.evals and job.evals[-1]["step"] == job.step):
            return  # not on the grid, or an evaluation has overwritten the layers' .out
        bn = job.model.layers[self.index]
        x = job.model.layers[self.index - 1].out  # the BatchNorm's input, hpreact (B, n_hidden)
        self.steps.append(step)
        self.batch_mean.append(x.mean(0).detach().clone())
        self.batch_std.append(x.std(0).detach().clone())
        self.running_mean.append(bn.running_mean.reshape(-1).clone())
        self.running_std.append(_spread_as_std(bn, bn.running_var).reshape(-1).clone())

    def neuron(self, j: int) -> dict[str, list[float]]:
        """One neuron's series: {"step", "batch mean", "running mean", "batch std", "running std"}."""
        series = {"step": list(self.steps)}
        for name, values in [
            ("batch mean", self.batch_mean),
            ("running mean", self.running_mean),
            ("batch std", self.batch_std),
            ("running std", self.running_std),
        ]:
            series[name] = [v[j].item() for v in values]
        return series


@dataclass(frozen=True)
class Calibration:
    """Evaluation with BatchNorm's running statistics against a calibration pass over the whole
    train split (lecture 4, cell 9), for the first BatchNorm layer's neurons and the losses."""

    running: dict[str, float]  # {"train", "dev"} losses with the running statistics
    calibrated: dict[str, float]  # the same with the whole-train-split statistics
    running_mean: list[float]  # per neuron of the first BatchNorm layer
    calibrated_mean: list[float]
    running_std: list[float]
    calibrated_std: list[float]


def _split_loss(model: Model, splits: Splits, split: str) -> float:
    X, Y = splits.split(split)
    return model(X, Y)[1].item() if len(Y) else math.nan  # a tiny dataset's dev can be empty


@torch.no_grad()
def calibrate_batchnorm(
    model: Model, splits: Splits, running: dict[str, float] | None = None
) -> Calibration:
    """Forward the whole train split layer by layer; each BatchNorm (of a copy) gets the mean
    and spread of all of its inputs as running statistics, as in cell 9. Then evaluate both.

    `running`: the train and dev losses with the running statistics if already known (a
    finished Job's .final), which saves a forward pass over the train split.
    """
    if not len(splits.Ytr):
        raise ConfigError("The train split is empty: the dataset needs at least a few words.")
    first = _first_batchnorm(model)
    layers = [copy.copy(layer) for layer in model.layers]  # own .out and stats, shared weights
    x = splits.Xtr
    for layer in layers:
        if isinstance(layer, BatchNorm1d):
            dim = (0, 1) if x.ndim == 3 and layer.over_time else 0
            spread = x.std(dim) if layer.flavour == "std" else x.var(dim)
            layer.running_mean = x.mean(dim).reshape(layer.gamma.shape)
            layer.running_var = spread.reshape(layer.gamma.shape)
            layer.training = False
        x = layer(x)
    calibrated = Model(Sequential(layers), model.config).eval()
    calibrated_losses = {
        "train": F.cross_entropy(x, splits.Ytr).item(),  # x: the calibrated train logits
        "dev": _split_loss(calibrated, splits, "dev"),
    }
    if running is None:
        bns = [layer for layer in model.layers if isinstance(layer, BatchNorm1d)]
        modes = [bn.training for bn in bns]
        model.eval()
        try:
            running = {s: _split_loss(model, splits, s) for s in ("train", "dev")}
        finally:
            for bn, mode in zip(bns, modes, strict=True):
                bn.training = mode
    bn, cal = model.layers[first], layers[first]
    return Calibration(
        {"train": running["train"], "dev": running["dev"]},
        calibrated_losses,
        bn.running_mean.reshape(-1).tolist(),
        cal.running_mean.reshape(-1).tolist(),
        _spread_as_std(bn, bn.running_var).reshape(-1).tolist(),
        _spread_as_std(cal, cal.running_var).reshape(-1).tolist(),
    )


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


def batchnorm_scale(bn: BatchNorm1d) -> torch.Tensor:
    """gamma / spread per neuron: what eval-mode BatchNorm multiplies each neuron by."""
    if bn.flavour == "std":
        spread = bn.running_var.reshape(-1)
    else:
        spread = torch.sqrt(bn.running_var.reshape(-1) + bn.eps)
    return bn.gamma.reshape(-1) / spread


@torch.no_grad()
def fold_linear_bn(linear: Linear, bn: BatchNorm1d) -> Linear:
    """A Linear equal to bn(linear(x)) in eval mode: the running statistics are constants.

    bn(z) = gamma * (z - running_mean) / spread + beta, with spread = sqrt(running_var + eps)
    (or the running std, flavour "std"), so with s = gamma / spread:
    W' = W * s (scales each output column) and b' = (b - running_mean) * s + beta.
    """
    s = batchnorm_scale(bn)  # (fan_out,)
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
        (logits - folded_logits).abs().max().item() if len(X) else 0.0,
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


class ZeroInitRun(_JobProxy):
    """Exercise E01 as a job that trains in chunks (for a live page): see zero_init_experiment.

    It has a Job's interface (train_for, step, done, ...) and report() when done.
    """

    def __init__(
        self,
        config: ModelConfig,
        splits: Splits,
        vocab_size: int,
        steps: int = 300,
        zero_embedding: bool = True,
        zero_batchnorm: bool = False,
    ):
        if steps < 1:
            raise ConfigError("Train for at least one step.")
        cfg = TrainConfig(steps=steps, eval_every=0)
        # record_stats: autograd's step, which leaves every parameter's .grad to look at
        self.job = job = Job(config, cfg, splits, vocab_size, record_stats=True)
        self.splits, self.vocab_size = splits, vocab_size
        with torch.no_grad():
            for layer in job.model.layers:
                skip = (isinstance(layer, BatchNorm1d) and not zero_batchnorm) or (
                    isinstance(layer, Embedding) and not zero_embedding
                )
                for p in [] if skip else layer.parameters():
                    p.zero_()
        self.init = [p.detach().clone() for p in job.params]
        self.max_grad = [torch.zeros(()) for _ in job.params]  # torch.maximum keeps a nan
        self.evaluation = ChunkedEvaluation(job, ("train",))
        self._report: ZeroInitReport | None = None

    def _after_step(self, job: Job) -> None:
        self.max_grad = [
            torch.maximum(m, p.grad.abs().max())
            for m, p in zip(self.max_grad, job.params, strict=True)
        ]

    def report(self) -> ZeroInitReport:
        """Which parameters got a gradient, and the loss the net ends at (call when done)."""
        if self._report is not None:
            return self._report
        while not self.done:
            self.train_for(math.inf)
        job, report = self.job, []
        for i, ((layer_no, name), p, p0, m) in enumerate(
            zip(_param_names(job.model), job.params, self.init, self.max_grad, strict=True)
        ):
            report.append(
                ParamLearning(
                    i,
                    layer_no,
                    name,
                    tuple(p.shape),
                    bool(m.isfinite() and m > 0),
                    m.item(),
                    p.grad.std().item() if p.grad is not None and p.grad.numel() > 1 else math.nan,
                    (p.detach() - p0).abs().max().item(),
                )
            )
        train_loss = self.evaluation.losses["train"]
        self._report = ZeroInitReport(
            report,
            job.lossi,
            train_loss,
            unigram_loss(self.splits, self.vocab_size),
            not math.isfinite(train_loss),
            [f"param {r.param}: layer {r.layer} {r.name}" for r in report if r.learns],
        )
        return self._report


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
    run = ZeroInitRun(config, splits, vocab_size, steps, zero_embedding, zero_batchnorm)
    run.train_for(math.inf)
    return run.report()


def unigram_loss(splits: Splits, vocab_size: int) -> float:
    """The train loss of the unigram model, the entropy of the next-character frequencies."""
    p = torch.bincount(splits.Ytr, minlength=vocab_size).double() / len(splits.Ytr)
    p = p[p > 0]
    return -(p * p.log()).sum().item()
