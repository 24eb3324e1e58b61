"""Backprop ninja: lecture 5 (makemore part 4), the backward pass written out by hand.

The network is lecture 4's MLP with BatchNorm (block 3, n_embd 10, n_hidden 64), its
forward pass cut into small steps so that every intermediate tensor has a name; autograd
gives the .grad of all 26 checked tensors for the manual backward to be held against.

One deliberate difference from the notebook: it draws bngain and bnbias from torch's
global RNG, which it never seeds, so its loss of 3.3377 cannot be reproduced. Here they
come from a generator of their own (seed + 1), which leaves the weights and the
minibatches on the lecture's generator in the lecture's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.data import Splits
from engine.lectures import LECTURE_SEED
from engine.models import TANH_GAIN

EPS = 1e-5  # added to the BatchNorm variance


@dataclass(frozen=True)
class NinjaConfig:
    block_size: int = 3
    n_embd: int = 10
    n_hidden: int = 64  # 64 for the checks, 200 for exercise 4


PARAMS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")

# the 26 tensors of exercise 1, in the order the notebook checks them
CHECKED = (
    "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits",
    "logit_maxes", "logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw",
    "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1", "b1",
    "emb", "C",
)  # fmt: skip

# the intermediate tensors whose .grad autograd keeps for us (retain_grad)
RETAINED = tuple(name for name in CHECKED if name not in PARAMS)


def init_params(
    vocab_size: int, cfg: NinjaConfig, generator: torch.Generator, bn_generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """The notebook's init: deliberately non-zero biases and gains so that a wrong backward
    formula cannot hide behind a zero."""
    g, fan_in = generator, cfg.n_embd * cfg.block_size
    C = torch.randn((vocab_size, cfg.n_embd), generator=g)
    W1 = torch.randn((fan_in, cfg.n_hidden), generator=g) * TANH_GAIN / fan_in**0.5
    b1 = torch.randn(cfg.n_hidden, generator=g) * 0.1  # useless with BatchNorm; kept for fun
    W2 = torch.randn((cfg.n_hidden, vocab_size), generator=g) * 0.1
    b2 = torch.randn(vocab_size, generator=g) * 0.1
    bngain = torch.randn((1, cfg.n_hidden), generator=bn_generator) * 0.1 + 1.0
    bnbias = torch.randn((1, cfg.n_hidden), generator=bn_generator) * 0.1
    return {"C": C, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "bngain": bngain, "bnbias": bnbias}


def lecture_batch(
    splits: Splits,
    vocab_size: int,
    seed: int = LECTURE_SEED,
    batch_size: int = 32,
    cfg: NinjaConfig = NinjaConfig(),
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Parameters and one minibatch, drawn as in the notebook's cells 8 and 9."""  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    params = init_params(vocab_size, cfg, g, torch.Generator().manual_seed(seed + 1))
    ix = torch.randint(0, splits.Xtr.shape[0], (batch_size,), generator=g)
    return params, splits.Xtr[ix], splits.Ytr[ix]


def forward(p: dict[str, torch.Tensor], Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The notebook's forward pass, "chunkated" into small steps; returns every tensor."""
    n = Xb.shape[0]
    emb = p["C"][Xb]  # (n, block_size, n_embd): embed the characters
    embcat = emb.view(emb.shape[0], -1)  # (n, block_size * n_embd): concatenate
    # Linear layer 1
    hprebn = embcat @ p["W1"] + p["b1"]  # (n, n_hidden)
    # BatchNorm layer
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)  # (1, n_hidden)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * bndiff2.sum(0, keepdim=True)  # Bessel's correction: n - 1
    bnvar_inv = (bnvar + EPS) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = p["bngain"] * bnraw + p["bnbias"]
    # non-linearity
    h = torch.tanh(hpreact)
    # Linear layer 2
    logits = h @ p["W2"] + p["b2"]  # (n, vocab_size)
    # cross entropy, as F.cross_entropy(logits, Yb) computes it
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes  # subtract the max for numerical stability
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdim=True)
    counts_sum_inv = counts_sum**-1  # (1.0 / counts_sum) would not be bit-exact below
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    return {k: v for k, v in locals().items() if k not in ("p", "Xb", "Yb")}


def autograd(p: dict[str, torch.Tensor], Xb, Yb) -> tuple[dict, dict[str, torch.Tensor]]:
    """The forward pass with autograd on: its tensors and the .grad of all 26 checked ones."""
    p = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    t = forward(p, Xb, Yb)
    for name in RETAINED:
        t[name].retain_grad()
    t["loss"].backward()
    grads = {name: (p[name] if name in PARAMS else t[name]).grad for name in CHECKED}
    return {k: v.detach() for k, v in t.items() if isinstance(v, torch.Tensor)}, grads
