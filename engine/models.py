"""The makemore models of lectures 3 to 6, built from engine.layers.

Each family has a frozen config (hashable by value, so the app can cache on it) and is
built in its lecture's RNG consumption order from an explicit generator. All models
share makemore's interface: `model(idx, targets=None) -> (logits, loss)`.
"""

from __future__ import annotations

import functools
import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.layers import (
    BatchNorm1d,
    DirectConnections,
    Embedding,
    FlattenConsecutive,
    Identity,
    Linear,
    Sequential,
    Tanh,
)
from engine.messages import msg

TANH_GAIN = 5 / 3


class ConfigError(ValueError):
    """An impossible model or training configuration; the message is meant for the user."""


@dataclass(frozen=True)
class MLPConfig:
    """Bengio et al. 2003 as in lectures 3 and 4: embed, concatenate, one tanh layer, logits.

    The scales multiply plain randn draws, as in the lecture's "loss log": the original init
    is all 1.0; `kaiming` replaces w1_scale by (5/3)/sqrt(fan_in). `batchnorm` adds the
    part-3 BatchNorm (std without eps, momentum 0.001) and drops b1, which it makes redundant.
    `direct` adds the paper's direct connections from the embeddings to the logits.
    """

    block_size: int = 3
    n_embd: int = 10
    n_hidden: int = 200
    w1_scale: float = 1.0
    kaiming: bool = False
    b1_scale: float = 1.0
    w2_scale: float = 1.0
    b2_scale: float = 1.0
    batchnorm: bool = False
    direct: bool = False  # Bengio's direct input-to-output connections (drawn last, x 0.01)

    kind = "mlp"


@dataclass(frozen=True)
class DeepConfig:
    """The "PyTorchified" deep MLP of lecture 4's second half, used for the diagnostics.

    n_layers hidden blocks of [Linear, BatchNorm1d?, Tanh], then Linear (+ BatchNorm1d).
    `gain` multiplies every hidden Linear weight after its 1/sqrt(fan_in) init;
    `last_scale` makes the output less confident (last BN gamma, or last weight without BN).
    """

    block_size: int = 3
    n_embd: int = 10
    n_hidden: int = 100
    n_layers: int = 5
    batchnorm: bool = True
    gain: float = 1.0
    last_scale: float = 0.1
    nonlinearity: str = "tanh"  # or "linear"

    kind = "deep"


@dataclass(frozen=True)
class WaveNetConfig:
    """Lecture 6 (makemore part 5): fuse pairs of neighbours level by level (van den Oord 2016).

    hierarchical=False is the flat net: all block_size embeddings concatenated at once.
    bn_over_time=False brings back the lecture's BatchNorm bug for 3-D activations.
    """

    block_size: int = 8
    n_embd: int = 24
    n_hidden: int = 128
    hierarchical: bool = True
    bn_over_time: bool = True
    last_scale: float = 0.1

    kind = "wavenet"


ModelConfig = MLPConfig | DeepConfig | WaveNetConfig


class Model:
    """A Sequential of lecture layers with makemore's interface."""

    def __init__(self, net: Sequential, config: ModelConfig):
        self.net, self.config = net, config
        self.block_size = config.block_size
        for p in self.parameters():
            p.requires_grad = True

    @property
    def layers(self):
        return self.net.layers

    def __call__(self, idx, targets=None):
        logits = self.net(idx)  # (B, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    def parameters(self):
        return self.net.parameters()

    def to(self, device) -> Model:
        """Move every tensor of every layer (parameters and BatchNorm buffers) to a device.

        Models are always built on the CPU from the CPU generator, then moved: the initial
        weights are the same numbers on every device.
        """
        with torch.no_grad():
            for layer in walk(self.layers):
                for name, t in vars(layer).items():
                    if isinstance(t, torch.Tensor) and name != "out":
                        setattr(layer, name, t.to(device).requires_grad_(t.requires_grad))
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Every tensor of every layer (parameters and BatchNorm buffers), by "index.name"."""
        return {
            f"{i}.{name}": t.detach().clone()
            for i, layer in enumerate(walk(self.layers))
            for name, t in vars(layer).items()
            if isinstance(t, torch.Tensor) and name != "out"
        }

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> Model:
        """Copy the tensors of state_dict() into this model, which must have the same shapes.

        BatchNorm's running statistics take the batch statistics' shape once trained, (1, C)
        or (1, T, C), where a fresh model has (C,): those are taken as saved.
        """
        mine = self.state_dict()
        if mine.keys() != state.keys():
            raise ConfigError(msg("These weights belong to a different architecture."))
        for name, t in state.items():
            running = name.endswith(("running_mean", "running_var"))
            if t.shape != mine[name].shape and not (
                running and t.ndim <= 3 and t.shape[-1:] == mine[name].shape[-1:]
            ):
                raise ConfigError(
                    msg(
                        "Weight {name} has shape {shape}, not {expected}.",
                        name=name,
                        shape=str(tuple(t.shape)),
                        expected=str(tuple(mine[name].shape)),
                    )
                )
        with torch.no_grad():
            for i, layer in enumerate(walk(self.layers)):
                for name, t in vars(layer).items():
                    if isinstance(t, torch.Tensor) and name != "out":
                        saved = state[f"{i}.{name}"]
                        if saved.shape == t.shape:
                            t.copy_(saved)
                        else:  # a running statistic
                            setattr(layer, name, saved.to(t.device, t.dtype, copy=True))
        return self

    def num_params(self) -> int:
        return sum(p.nelement() for p in self.parameters())

    def train(self, mode: bool = True):
        for layer in walk(self.layers):
            if isinstance(layer, BatchNorm1d):
                layer.training = mode
        return self

    def eval(self):
        return self.train(False)


@contextmanager
def eval_mode(model):
    """Run the block in evaluation mode (BatchNorm with its running statistics); every
    BatchNorm gets back the mode it had. For any model with makemore's interface: a count
    model has no mode to change."""
    bns = [layer for layer in walk(getattr(model, "layers", ())) if isinstance(layer, BatchNorm1d)]
    modes = [bn.training for bn in bns]
    model.train(False)
    try:
        yield model
    finally:
        for bn, mode in zip(bns, modes, strict=True):
            bn.training = mode


def walk(layers):
    """Every layer, including those nested inside DirectConnections."""
    for layer in layers:
        yield layer
        yield from walk(getattr(layer, "layers", []))


def validate(config: ModelConfig, vocab_size: int) -> None:
    """Raise ConfigError for configurations that cannot be built."""
    for name in ("block_size", "n_embd", "n_hidden"):
        if getattr(config, name) < 1:
            raise ConfigError(msg("{name} must be at least 1.", name=name))
    if vocab_size < 2:
        raise ConfigError(msg("The vocabulary needs at least one character besides '.'."))
    if isinstance(config, DeepConfig):
        if config.n_layers < 1:
            raise ConfigError(msg("The deep net needs at least one hidden layer."))
        if config.nonlinearity not in ("tanh", "linear"):
            raise ConfigError(msg("nonlinearity must be 'tanh' or 'linear'."))
    bs = config.block_size
    if isinstance(config, WaveNetConfig) and config.hierarchical and (bs < 2 or bs & (bs - 1)):
        raise ConfigError(
            msg(
                "The hierarchical WaveNet fuses pairs, so block_size must be a power of two "
                "(2, 4, 8, 16…), not {bs}.",
                bs=bs,
            )
        )


def build(config: ModelConfig, vocab_size: int, generator: torch.Generator) -> Model:
    validate(config, vocab_size)
    builder = {"mlp": _mlp, "deep": _deep, "wavenet": _wavenet}[config.kind]
    with torch.no_grad():
        return Model(Sequential(builder(config, vocab_size, generator)), config)


@functools.lru_cache(maxsize=256)
def count_params(config: ModelConfig, vocab_size: int) -> int:
    """The number of parameters of build(config, vocab_size, ...), built once per config
    (a page shows it on every rerun). Raises ConfigError as build() does."""
    return build(config, vocab_size, torch.Generator()).num_params()


def _mlp(c: MLPConfig, V: int, g):
    fan_in = c.n_embd * c.block_size
    C = Embedding(V, c.n_embd, generator=g)  # (V, n_embd)
    W1 = torch.randn((fan_in, c.n_hidden), generator=g)  # (block_size * n_embd, n_hidden)
    W1 = W1 * TANH_GAIN / fan_in**0.5 if c.kaiming else _scaled(W1, c.w1_scale)
    b1 = None if c.batchnorm else _scaled(torch.randn(c.n_hidden, generator=g), c.b1_scale)
    W2 = _scaled(torch.randn((c.n_hidden, V), generator=g), c.w2_scale)  # (n_hidden, V)
    b2 = _scaled(torch.randn(V, generator=g), c.b2_scale)
    hidden = [Linear.from_tensors(W1, b1)]
    if c.batchnorm:
        hidden.append(BatchNorm1d(c.n_hidden, momentum=0.001, flavour="std", shape=(1, c.n_hidden)))
    hidden += [Tanh(), Linear.from_tensors(W2, b2)]
    if c.direct:  # drawn after the lecture's tensors, so the other draws stay the lecture's
        W3 = torch.randn((fan_in, V), generator=g) * 0.01
        hidden = [DirectConnections(Sequential(hidden), W3)]
    # (B, block_size) -> (B, block_size, n_embd) -> (B, fan_in) -> (B, n_hidden) -> (B, V)
    return [C, FlattenConsecutive(c.block_size), *hidden]


def _scaled(t, scale):
    return t if scale == 1.0 else t * scale


def _deep(c: DeepConfig, V: int, g):
    act = Tanh if c.nonlinearity == "tanh" else Identity
    bias = not c.batchnorm
    layers = [Embedding(V, c.n_embd, generator=g)]  # (B, T) -> (B, T, n_embd)
    fan_in = c.n_embd * c.block_size
    layers.append(FlattenConsecutive(c.block_size))  # -> (B, T * n_embd)
    for _ in range(c.n_layers):
        layers.append(Linear(fan_in, c.n_hidden, bias=bias, generator=g))
        if c.batchnorm:
            layers.append(BatchNorm1d(c.n_hidden))
        layers.append(act())
        fan_in = c.n_hidden
    layers.append(Linear(fan_in, V, bias=bias, generator=g))
    if c.batchnorm:
        layers.append(BatchNorm1d(V))
        layers[-1].gamma *= c.last_scale
    else:
        layers[-1].weight *= c.last_scale
    for layer in layers[:-1]:
        if isinstance(layer, Linear):
            layer.weight *= c.gain
    return layers


def _wavenet(c: WaveNetConfig, V: int, g):
    layers = [Embedding(V, c.n_embd, generator=g)]
    fuse = 2 if c.hierarchical else c.block_size
    levels = int(math.log2(c.block_size)) if c.hierarchical else 1
    fan_in = c.n_embd
    for _ in range(levels):
        layers += [  # (B, T, C) -> (B, T / fuse, C * fuse) -> (B, T / fuse, n_hidden)
            FlattenConsecutive(fuse),
            Linear(fan_in * fuse, c.n_hidden, bias=False, generator=g),
            BatchNorm1d(c.n_hidden, over_time=c.bn_over_time),
            Tanh(),
        ]
        fan_in = c.n_hidden
    layers.append(Linear(c.n_hidden, V, generator=g))  # the last level is (B, n_hidden): -> (B, V)
    layers[-1].weight *= c.last_scale
    return layers
