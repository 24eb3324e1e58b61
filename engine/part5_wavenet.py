"""WaveNet, lecture 6 (makemore part 5): what the lecture printed and explained about it.

The model itself is engine.models.WaveNetConfig (van den Oord et al. 2016's idea of fusing
neighbours pair by pair, FlattenConsecutive(2) at every level). This file adds:

- the table of layer output shapes for one batch, as the lecture printed it in the video;
- the notebook's markdown "performance log", as configs that rebuild each experiment;
- BatchNorm on 3-D input: statistics per position (the lecture's bug, dim 0 only) versus
  shared by all positions (the fix, dims (0, 1)), computed on the input of the first
  BatchNorm layer without touching any layer's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine import models
from engine.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Tanh
from engine.messages import msg
from engine.models import Model, WaveNetConfig

SEED = 42  # the notebook's torch.manual_seed(42)


@dataclass(frozen=True)
class LogRow:
    """One line of the notebook's performance log (cell 14)."""

    title: str
    config: WaveNetConfig
    train: float
    dev: float


PERFORMANCE_LOG = (
    LogRow(
        msg("original (3-character context, 200 hidden neurons)"),
        WaveNetConfig(block_size=3, n_embd=10, n_hidden=200, hierarchical=False),
        2.058,
        2.105,
    ),
    LogRow(
        msg("context: 3 → 8"),
        WaveNetConfig(block_size=8, n_embd=10, n_hidden=200, hierarchical=False),
        1.918,
        2.027,
    ),
    LogRow(
        msg("flat → hierarchical"),
        WaveNetConfig(block_size=8, n_embd=10, n_hidden=68, bn_over_time=False),
        1.941,
        2.029,
    ),
    LogRow(
        msg("fix bug in batchnorm"),
        WaveNetConfig(block_size=8, n_embd=10, n_hidden=68),
        1.912,
        2.022,
    ),
    LogRow(msg("scale up the network: n_embd 24, n_hidden 128"), WaveNetConfig(), 1.769, 1.993),
)


def build(config: WaveNetConfig, vocab_size: int, seed: int = SEED) -> Model:
    return models.build(config, vocab_size, torch.Generator().manual_seed(seed))


def describe(layer, vocab_size: int) -> str:
    """A layer the way the lecture constructs it."""
    if isinstance(layer, Embedding):
        return f"Embedding({vocab_size}, {layer.weight.shape[1]})"
    if isinstance(layer, FlattenConsecutive):
        return f"FlattenConsecutive({layer.n})"
    if isinstance(layer, Linear):
        fan_in, fan_out = layer.weight.shape
        return f"Linear({fan_in}, {fan_out}{', bias=False' if layer.bias is None else ''})"
    if isinstance(layer, BatchNorm1d):
        return f"BatchNorm1d({layer.gamma.shape[-1]})"
    if isinstance(layer, Tanh):
        return "Tanh()"
    return type(layer).__name__


def bn_statistics(in_shape: tuple[int, ...], over_time: bool) -> tuple[tuple[int, ...], str]:
    """The dims a BatchNorm layer averages over for this input, and its statistics' shape."""
    if len(in_shape) == 3 and over_time:
        return (1, 1, in_shape[2]), msg("dims (0, 1)")
    return (1, *in_shape[1:]), msg("dim 0")


@torch.no_grad()
def layer_table(model: Model, X: torch.Tensor) -> list[dict]:
    """One row per layer: what it is, its output shape for the batch X, its parameters and,
    for BatchNorm, the dims its statistics are taken over. Runs a training-mode forward
    pass, so give it a model of its own (build()), not one that is being trained."""
    model(X)
    rows, in_shape = [], tuple(X.shape)
    for i, layer in enumerate(model.layers):
        out = tuple(layer.out.shape)
        row = {
            "#": i,
            "layer": describe(layer, model.layers[0].weight.shape[0]),
            "output shape": str(out),
            "parameters": sum(p.nelement() for p in layer.parameters()),
            "BatchNorm statistics": "",
        }
        if isinstance(layer, BatchNorm1d):
            shape, dims = bn_statistics(in_shape, layer.over_time)
            row["BatchNorm statistics"] = msg(
                "over {dims}: mean, var {shape}", dims=dims, shape=shape
            )
        rows.append(row)
        in_shape = out
    return rows


@dataclass(frozen=True)
class TimeStats:
    """The first BatchNorm layer's input (B, T, C): statistics per position vs shared."""

    per_position_mean: list[list[float]]  # [T][channels]: the bug, over dim 0 (B numbers each)
    per_position_var: list[list[float]]
    shared_mean: list[float]  # [channels]: the fix, over dims (0, 1) (B*T numbers each)
    shared_var: list[float]
    batch: int
    positions: int


def first_batchnorm_input(model: Model, X: torch.Tensor) -> torch.Tensor:
    """The input of the first BatchNorm layer, computed from the weights (no layer is called,
    so no .out and no running statistics change)."""
    x = X
    for layer in model.layers:
        if isinstance(layer, BatchNorm1d):
            return x
        if isinstance(layer, Embedding):
            x = layer.weight[x]
        elif isinstance(layer, FlattenConsecutive):
            B, T, C = x.shape
            x = x.view(B, T // layer.n, C * layer.n)
            x = x.squeeze(1) if x.shape[1] == 1 else x
        elif isinstance(layer, Linear):
            x = x @ layer.weight + (0 if layer.bias is None else layer.bias)
        else:
            raise ValueError(f"unexpected layer before the first BatchNorm: {layer}")
    raise ValueError("the model has no BatchNorm layer")


@torch.no_grad()
def time_stats(model: Model, X: torch.Tensor, channels: int = 16) -> TimeStats | None:
    """None when the first BatchNorm sees 2-D input (the flat net): no time dimension."""
    x = first_batchnorm_input(model, X).detach()
    if x.ndim != 3:
        return None
    x = x[:, :, :channels]
    return TimeStats(
        per_position_mean=x.mean(0).tolist(),
        per_position_var=x.var(0).tolist(),
        shared_mean=x.mean((0, 1)).tolist(),
        shared_var=x.var((0, 1)).tolist(),
        batch=x.shape[0],
        positions=x.shape[1],
    )
