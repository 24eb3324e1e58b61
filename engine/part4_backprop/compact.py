"""Exercises 2 and 3 of lecture 5: the cross-entropy and the BatchNorm backward collapsed
into one expression each (and BatchNorm's forward in one line).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.part4_backprop.net import EPS


def cross_entropy_backward(logits: torch.Tensor, Yb: torch.Tensor) -> torch.Tensor:
    """d loss / d logits = (softmax(logits) - one_hot(Yb)) / n."""
    n = logits.shape[0]
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    return dlogits


def batchnorm_backward(dhpreact, bngain, bnvar_inv, bnraw) -> torch.Tensor:
    """d loss / d hprebn through the whole BatchNorm layer (Bessel-corrected variance)."""
    n = dhpreact.shape[0]
    return (
        bngain
        * bnvar_inv
        / n
        * (n * dhpreact - dhpreact.sum(0) - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))
    )


def batchnorm_forward(hprebn, bngain, bnbias) -> torch.Tensor:
    """The BatchNorm layer in one line, as exercise 3 writes it."""
    return (
        bngain
        * (hprebn - hprebn.mean(0, keepdim=True))
        / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + EPS)
        + bnbias
    )
