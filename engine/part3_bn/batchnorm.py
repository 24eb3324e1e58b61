"""BatchNorm in lecture 4 (makemore part 3): batch vs running statistics, calibration, the
widget of cell 22, and folding BatchNorm into the Linear before it (exercise E02).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.data import Splits
from engine.layers import BatchNorm1d, Linear, Sequential
from engine.lectures import LECTURE_SEED
from engine.messages import msg
from engine.models import ConfigError, Model, eval_mode
from engine.train import Job


def _first_batchnorm(model: Model) -> int:
    for i, layer in enumerate(model.layers):
        if isinstance(layer, BatchNorm1d) and i > 0:
            return i
    raise ConfigError(msg("This net has no BatchNorm layer."))


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
        raise ConfigError(msg("The train split is empty: the dataset needs at least a few words."))
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
        with eval_mode(model):
            running = {s: _split_loss(model, splits, s) for s in ("train", "dev")}
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
    with eval_mode(model):
        logits, _ = model(X)
    folded_logits, _ = folded(X)
    return FoldReport(
        folded,
        folds,
        model.num_params(),
        folded.num_params(),
        (logits - folded_logits).abs().max().item() if len(X) else 0.0,
    )
