"""Exercise 1 of lecture 5: backward through every intermediate of the chunked forward pass,
one chain-rule line each, and `cmp`, which holds each result against autograd's: exact
(bit for bit), approximate (torch.allclose) and the largest difference.

`MISTAKES` are plausible wrong formulas a student might write, selectable by name, so
the comparison table can be seen catching them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.messages import msg
from engine.part4_backprop.net import CHECKED, EPS


@dataclass(frozen=True)
class Mistake:
    tensor: str  # the first gradient it gets wrong
    title: str
    wrong: str  # the wrong line of code
    why: str


MISTAKES = {
    "mean": Mistake(
        "logprobs",
        msg("forgot the 1/n of the mean"),
        "dlogprobs[range(n), Yb] = -1.0",
        msg("The loss is the MEAN of n numbers, so each one contributes -1/n, not -1."),
    ),
    "row-sum": Mistake(
        "counts_sum_inv",
        msg("missing sum over the row"),
        "dcounts_sum_inv = counts * dprobs",
        msg(
            "counts_sum_inv (n, 1) was broadcast across the 27 columns of each row, so its "
            "gradient is the SUM of the 27 contributions; without .sum(1, keepdim=True) the "
            "shape is (n, 27) and every later gradient inherits the error."
        ),
    ),
    "max-branch": Mistake(
        "logits",
        msg("forgot the branch through logit_maxes"),
        "dlogits = dnorm_logits.clone()  # and nothing else",
        msg(
            "logits also reach the loss through their row maximum. That branch's gradient is "
            "about 1e-9 (the max does not change the loss), so the result is still "
            "approximately right, but no longer exact."
        ),
    ),
    "b2-mean": Mistake(
        "b2",
        msg("mean over the batch instead of sum"),
        "db2 = dlogits.mean(0)",
        msg(
            "b2 is added to every row of the batch, so its gradient sums the rows; a mean is "
            "n times too small."
        ),
    ),
    "tanh-rounding": Mistake(
        "hpreact",
        msg("1 − h² rounded differently from torch"),
        "dhpreact = (1.0 - h**2) * dh  # in float32",
        msg(
            "Mathematically right, but torch's tanh backward kernel may round 1 − h² once (a "
            "fused multiply-add) where the plain float32 formula rounds twice, or the other "
            "way round: approximately right, maxdiff around 1e-10, not exact."
        ),
    ),
    "bessel": Mistake(
        "bndiff2",
        msg("Bessel mismatch: 1/n instead of 1/(n−1)"),
        "dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar",
        msg(
            "The forward pass divides by n − 1 (Bessel's correction), so the backward must "
            "use the same factor."
        ),
    ),
    "one-branch": Mistake(
        "bndiff",
        msg("forgot bndiff's second branch (through bndiff2)"),
        "dbndiff = bnvar_inv * dbnraw  # and no += from bndiff2",
        msg("bndiff feeds both bnraw and bndiff2; the gradients of both branches must be added."),
    ),
    "assign": Mistake(
        "C",
        msg("= instead of += into dC (micrograd's bug)"),
        "dC[Xb[k, j]] = demb[k, j]",
        msg(
            "A character that appears several times in the batch gets a gradient from every "
            "appearance; assigning keeps only the last one."
        ),
    ),
}


def _tanh_rounds_once() -> bool:
    """Does torch's tanh backward round 1 - h² once (fused multiply-add) on this machine?"""
    x = torch.linspace(-2, 2, 513, requires_grad=True)
    y = torch.tanh(x)
    gy = torch.linspace(0.1, 1.0, 513)
    y.backward(gy)
    h = y.detach()
    return torch.equal(x.grad, (1.0 - h.double() ** 2).float() * gy)


TANH_ROUNDS_ONCE = _tanh_rounds_once()


def tanh_backward(h: torch.Tensor, dh: torch.Tensor, rounds_once: bool) -> torch.Tensor:
    """(1 - h²) · dh. Computed in float64, 1 - h² is exact and rounds once to float32."""
    one_minus_h2 = (1.0 - h.double() ** 2).float() if rounds_once else 1.0 - h**2
    return one_minus_h2 * dh


def manual_backward(
    t: dict, p: dict[str, torch.Tensor], Xb, Yb, mistake: str | None = None
) -> dict[str, torch.Tensor]:
    """Exercise 1: the gradient of the loss with respect to all 26 tensors, by hand.

    `t` holds the forward pass's tensors; `mistake` (a key of MISTAKES) swaps in one wrong
    line. Variable names follow the notebook: dX is d loss / d X.
    """
    if mistake is not None and mistake not in MISTAKES:
        raise ValueError(f"Unknown mistake '{mistake}'. Choose one of: {', '.join(MISTAKES)}.")
    n = Xb.shape[0]
    logprobs, probs, counts, counts_sum, counts_sum_inv = (
        t[k] for k in ("logprobs", "probs", "counts", "counts_sum", "counts_sum_inv")
    )
    logits, h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, embcat, emb = (
        t[k]
        for k in (
            "logits", "h", "hpreact", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff",
            "hprebn", "embcat", "emb",
        )
    )  # fmt: skip
    C, W1, W2, bngain = p["C"], p["W1"], p["W2"], p["bngain"]

    # cross entropy
    dlogprobs = torch.zeros_like(logprobs)
    dlogprobs[range(n), Yb] = -1.0 if mistake == "mean" else -1.0 / n
    dprobs = (1.0 / probs) * dlogprobs
    dcounts_sum_inv = counts * dprobs
    if mistake != "row-sum":
        dcounts_sum_inv = dcounts_sum_inv.sum(1, keepdim=True)
    dcounts = counts_sum_inv * dprobs
    dcounts_sum = (-(counts_sum**-2)) * dcounts_sum_inv
    dcounts = dcounts + torch.ones_like(counts) * dcounts_sum
    dnorm_logits = counts * dcounts
    dlogits = dnorm_logits.clone()
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    if mistake != "max-branch":
        dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
    # Linear layer 2
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.mean(0) if mistake == "b2-mean" else dlogits.sum(0)
    # tanh
    rounds_once = TANH_ROUNDS_ONCE
    if mistake == "tanh-rounding":
        rounds_once = not rounds_once  # the other rounding
    dhpreact = tanh_backward(h, dh, rounds_once)
    # BatchNorm
    dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
    dbnraw = bngain * dhpreact
    dbnbias = dhpreact.sum(0, keepdim=True)
    dbndiff = bnvar_inv * dbnraw
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    dbnvar = (-0.5 * (bnvar + EPS) ** -1.5) * dbnvar_inv
    bessel = 1.0 / n if mistake == "bessel" else 1.0 / (n - 1)
    dbndiff2 = bessel * torch.ones_like(bndiff2) * dbnvar
    if mistake != "one-branch":
        dbndiff += (2 * bndiff) * dbndiff2
    dhprebn = dbndiff.clone()
    dbnmeani = (-dbndiff).sum(0, keepdim=True)
    dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
    # Linear layer 1
    dembcat = dhprebn @ W1.T
    dW1 = embcat.T @ dhprebn
    db1 = dhprebn.sum(0)
    # embedding: route each row of demb back to the row of C it was looked up from
    demb = dembcat.view(emb.shape)
    if mistake == "assign":
        dC = torch.zeros_like(C)
        for k in range(Xb.shape[0]):
            for j in range(Xb.shape[1]):
                dC[Xb[k, j]] = demb[k, j]
    else:  # the notebook's double loop with +=, as one index_add_ (same order, same bits)
        dC = torch.zeros_like(C).index_add_(0, Xb.reshape(-1), demb.reshape(-1, C.shape[1]))
    grads = locals()
    return {name: grads[f"d{name}"] for name in CHECKED}


@dataclass(frozen=True)
class Comparison:
    """One line of the notebook's cmp(): exact, approximate, maxdiff (and the shapes)."""

    name: str
    shape: tuple[int, ...]
    exact: bool
    approximate: bool
    maxdiff: float
    manual_shape: tuple[int, ...]


def cmp(name: str, dt: torch.Tensor, t_grad: torch.Tensor) -> Comparison:
    """exact: bit-for-bit equal; approximate: torch.allclose (rtol 1e-5, atol 1e-8).

    Unlike the notebook's cmp, the shapes must match too: a (64,) gradient for a (1, 64)
    tensor would otherwise pass by broadcasting.
    """
    same_shape = dt.shape == t_grad.shape
    try:
        diff = (dt - t_grad).abs().max().item()
    except RuntimeError:  # shapes that do not even broadcast
        diff = float("nan")
    return Comparison(
        name,
        tuple(t_grad.shape),
        same_shape and bool(torch.all(dt == t_grad)),
        same_shape and torch.allclose(dt, t_grad),
        diff,
        tuple(dt.shape),
    )
