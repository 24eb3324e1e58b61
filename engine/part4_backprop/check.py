"""Exercises 1-3 of lecture 5 on one batch, every gradient held against autograd."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.part4_backprop.compact import (
    batchnorm_backward,
    batchnorm_forward,
    cross_entropy_backward,
)
from engine.part4_backprop.manual import (
    TANH_ROUNDS_ONCE,
    Comparison,
    cmp,
    manual_backward,
    tanh_backward,
)
from engine.part4_backprop.net import CHECKED, autograd


@dataclass(frozen=True)
class NinjaReport:
    loss: float
    cross_entropy_diff: float  # |F.cross_entropy - chunked loss|
    rows: tuple[Comparison, ...]  # exercise 1, the 26 tensors
    cross_entropy: Comparison  # exercise 2, logits
    batchnorm: Comparison  # exercise 3, hprebn
    batchnorm_forward_diff: float  # max |fused BN forward - chunked hpreact|
    dlogits: torch.Tensor  # (n, V), from exercise 2
    probs: torch.Tensor  # (n, V)
    Yb: torch.Tensor


def check(p: dict[str, torch.Tensor], Xb, Yb, mistake: str | None = None) -> NinjaReport:
    """Exercises 1-3 on one batch, every gradient held against autograd."""
    t, grads = autograd(p, Xb, Yb)
    with torch.no_grad():
        manual = manual_backward(t, p, Xb, Yb, mistake)
        rows = tuple(cmp(name, manual[name], grads[name]) for name in CHECKED)
        dlogits = cross_entropy_backward(t["logits"], Yb)
        dhpreact = tanh_backward(t["h"], grads["h"], TANH_ROUNDS_ONCE)
        dhprebn = batchnorm_backward(dhpreact, p["bngain"], t["bnvar_inv"], t["bnraw"])
        fused = batchnorm_forward(t["hprebn"], p["bngain"], p["bnbias"])
        ce = F.cross_entropy(t["logits"], Yb).item()
    return NinjaReport(
        loss=t["loss"].item(),
        cross_entropy_diff=abs(ce - t["loss"].item()),
        rows=rows,
        cross_entropy=cmp("logits", dlogits, grads["logits"]),
        batchnorm=cmp("hprebn", dhprebn, grads["hprebn"]),
        batchnorm_forward_diff=(fused - t["hpreact"]).abs().max().item(),
        dlogits=dlogits,
        probs=t["probs"],
        Yb=Yb,
    )
