"""Backprop ninja: lecture 5 (makemore part 4), the backward pass written out by hand.

The network is lecture 4's MLP with BatchNorm (block 3, n_embd 10, n_hidden 64), its
forward pass cut into small steps so that every intermediate tensor has a name. The
backward pass goes back through all of them, one chain-rule line each (exercise 1), and
`cmp` holds each result against autograd's: exact (bit for bit), approximate
(torch.allclose) and the largest difference. Exercises 2 and 3 collapse the cross-entropy
and the BatchNorm backward into one expression each; exercise 4 trains the network with
nothing but the manual backward (n_hidden 200, 200,000 steps), then calibrates BatchNorm
on the whole training set, since it keeps no running statistics.

One deliberate difference from the notebook: it draws bngain and bnbias from torch's
global RNG, which it never seeds, so its loss of 3.3377 cannot be reproduced. Here they
come from a generator of their own (seed + 1), which leaves the weights and the
minibatches on the lecture's generator in the lecture's order.

`MISTAKES` are plausible wrong formulas a student might write, selectable by name, so
the comparison table can be seen catching them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.data import Splits
from engine.models import TANH_GAIN, ConfigError
from engine.train import EVAL_TRAIN_SAMPLE, Run, TrainConfig, validate

LECTURE_SEED = 2147483647
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


# ---------------------------------------------------------------------------------------
# exercise 1: backward through every intermediate


@dataclass(frozen=True)
class Mistake:
    tensor: str  # the first gradient it gets wrong
    title: str
    wrong: str  # the wrong line of code
    why: str


MISTAKES = {
    "mean": Mistake(
        "logprobs",
        "forgot the 1/n of the mean",
        "dlogprobs[range(n), Yb] = -1.0",
        "The loss is the MEAN of n numbers, so each one contributes -1/n, not -1.",
    ),
    "row-sum": Mistake(
        "counts_sum_inv",
        "missing sum over the row",
        "dcounts_sum_inv = counts * dprobs",
        "counts_sum_inv (n, 1) was broadcast across the 27 columns of each row, so its "
        "gradient is the SUM of the 27 contributions; without .sum(1, keepdim=True) the "
        "shape is (n, 27) and every later gradient inherits the error.",
    ),
    "max-branch": Mistake(
        "logits",
        "forgot the branch through logit_maxes",
        "dlogits = dnorm_logits.clone()  # and nothing else",
        "logits also reach the loss through their row maximum. That branch's gradient is "
        "about 1e-9 (the max does not change the loss), so the result is still "
        "approximately right, but no longer exact.",
    ),
    "b2-mean": Mistake(
        "b2",
        "mean over the batch instead of sum",
        "db2 = dlogits.mean(0)",
        "b2 is added to every row of the batch, so its gradient sums the rows; a mean is "
        "n times too small.",
    ),
    "tanh-rounding": Mistake(
        "hpreact",
        "1 − h² rounded differently from torch",
        "dhpreact = (1.0 - h**2) * dh  # in float32",
        "Mathematically right, but torch's tanh backward kernel may round 1 − h² once (a "
        "fused multiply-add) where the plain float32 formula rounds twice, or the other "
        "way round: approximately right, maxdiff around 1e-10, not exact.",
    ),
    "bessel": Mistake(
        "bndiff2",
        "Bessel mismatch: 1/n instead of 1/(n−1)",
        "dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar",
        "The forward pass divides by n − 1 (Bessel's correction), so the backward must "
        "use the same factor.",
    ),
    "one-branch": Mistake(
        "bndiff",
        "forgot bndiff's second branch (through bndiff2)",
        "dbndiff = bnvar_inv * dbnraw  # and no += from bndiff2",
        "bndiff feeds both bnraw and bndiff2; the gradients of both branches must be added.",
    ),
    "assign": Mistake(
        "C",
        "= instead of += into dC (micrograd's bug)",
        "dC[Xb[k, j]] = demb[k, j]",
        "A character that appears several times in the batch gets a gradient from every "
        "appearance; assigning keeps only the last one.",
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


# ---------------------------------------------------------------------------------------
# exercises 2 and 3: the same gradients in one expression each


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


# ---------------------------------------------------------------------------------------
# exercise 4: train with the manual backward only


@dataclass(frozen=True)
class Calibration:
    """BatchNorm's statistics over a set of examples (the notebook has no running stats)."""

    bnmean: torch.Tensor
    bnvar: torch.Tensor


def train_forward(p, Xb):
    """The forward pass of exercise 4, with what its backward needs."""
    emb = p["C"][Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ p["W1"] + p["b1"]
    bnmean = hprebn.mean(0, keepdim=True)
    bnvar = hprebn.var(0, keepdim=True, unbiased=True)
    bnvar_inv = (bnvar + EPS) ** -0.5
    bnraw = (hprebn - bnmean) * bnvar_inv
    hpreact = p["bngain"] * bnraw + p["bnbias"]
    h = torch.tanh(hpreact)
    logits = h @ p["W2"] + p["b2"]
    return {"emb": emb, "embcat": embcat, "bnvar_inv": bnvar_inv, "bnraw": bnraw, "h": h,
            "logits": logits}  # fmt: skip


def train_backward(p, Xb, Yb, t) -> dict[str, torch.Tensor]:
    """The gradients of all 7 parameters, with the one-expression backwards of ex. 2 and 3."""
    n = Xb.shape[0]
    dlogits = cross_entropy_backward(t["logits"], Yb)
    dh = dlogits @ p["W2"].T
    dW2 = t["h"].T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = tanh_backward(t["h"], dh, TANH_ROUNDS_ONCE)
    dbngain = (t["bnraw"] * dhpreact).sum(0, keepdim=True)
    dbnbias = dhpreact.sum(0, keepdim=True)
    dhprebn = batchnorm_backward(dhpreact, p["bngain"], t["bnvar_inv"], t["bnraw"])
    dembcat = dhprebn @ p["W1"].T
    dW1 = t["embcat"].T @ dhprebn
    db1 = dhprebn.sum(0)
    demb = dembcat.view(t["emb"].shape)
    dC = torch.zeros_like(p["C"]).index_add_(0, Xb.reshape(-1), demb.reshape(n * Xb.shape[1], -1))
    return {"C": dC, "W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "bngain": dbngain,
            "bnbias": dbnbias}  # fmt: skip


def parameter_check(p, Xb, Yb) -> list[Comparison]:
    """The notebook's commented-out check loop: manual gradients vs autograd for all 7."""
    with torch.no_grad():
        manual = train_backward(p, Xb, Yb, train_forward(p, Xb))
    q = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    logits = train_forward(q, Xb)["logits"]
    F.cross_entropy(logits, Yb).backward()
    return [cmp(name, manual[name], q[name].grad) for name in PARAMS]


EX4_NET = NinjaConfig(n_hidden=200)
EX4_TRAIN = TrainConfig()  # 200,000 steps of 32, lr 0.1 -> 0.01 at 100,000


class ManualJob(Run):
    """Exercise 4: the lecture's training loop with `loss.backward()` replaced by hand-written
    gradients. A Run, so the live pages train it like any Job."""

    def __init__(
        self,
        splits: Splits,
        vocab_size: int,
        cfg: NinjaConfig = EX4_NET,
        train: TrainConfig = EX4_TRAIN,
    ):
        super().__init__()
        validate(train, len(splits.Ytr))
        if train.batch_size < 2:
            raise ConfigError("BatchNorm needs a batch of at least 2 examples.")
        self.splits, self.config, self.train_config = splits, cfg, train
        self.generator = torch.Generator().manual_seed(train.seed)
        self.batch_generator = self.generator  # init, then minibatches, as the lecture
        self.params = init_params(
            vocab_size, cfg, self.generator, torch.Generator().manual_seed(train.seed + 1)
        )
        self.calibration: Calibration | None = None

    def num_params(self) -> int:
        return sum(p.nelement() for p in self.params.values())

    @torch.no_grad()
    def update(self, Xb, Yb, lr: float) -> torch.Tensor:
        t = train_forward(self.params, Xb)
        loss = F.cross_entropy(t["logits"], Yb)
        grads = train_backward(self.params, Xb, Yb, t)
        for name, p in self.params.items():
            p += -lr * grads[name]
        return loss

    @torch.no_grad()
    def calibrate(self, limit: int | None = None) -> Calibration:
        """BatchNorm's mean and (unbiased) variance over the training set (its first
        `limit` examples for the cheap periodic estimates)."""
        X = self.splits.Xtr if limit is None else self.splits.Xtr[:limit]
        hprebn = self._hprebn(X)
        return Calibration(hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, unbiased=True))

    def _hprebn(self, X):
        p = self.params
        return p["C"][X].flatten(1) @ p["W1"] + p["b1"]  # flatten(1): also for an empty split

    @torch.no_grad()
    def evaluate(self, split: str, cal: Calibration, limit: int | None = None) -> float:
        X, Y = self.splits.split(split)
        if limit is not None:
            X, Y = X[:limit], Y[:limit]
        p = self.params
        hpreact = p["bngain"] * (self._hprebn(X) - cal.bnmean) * (cal.bnvar + EPS) ** -0.5
        h = torch.tanh(hpreact + p["bnbias"])
        return F.cross_entropy(h @ p["W2"] + p["b2"], Y).item()

    def estimate(self) -> dict[str, float]:
        cal = self.calibrate(EVAL_TRAIN_SAMPLE)
        return {
            "train": self.evaluate("train", cal, EVAL_TRAIN_SAMPLE),
            "dev": self.evaluate("dev", cal),
        }

    def finish(self) -> dict[str, float]:
        """Calibrate BatchNorm on the whole training set, then the notebook's split_loss."""
        self.calibration = self.calibrate()
        self.final = {s: self.evaluate(s, self.calibration) for s in ("train", "dev", "test")}
        self.evals.append(
            {"step": self.step, "train": self.final["train"], "dev": self.final["dev"]}
        )
        return self.final

    def check_gradients(self, seed: int = 0) -> list[Comparison]:
        """Manual vs autograd on a fresh batch (its own generator: the run is not disturbed)."""
        g = torch.Generator().manual_seed(seed)
        ix = torch.randint(
            0, self.splits.Xtr.shape[0], (self.train_config.batch_size,), generator=g
        )
        return parameter_check(self.params, self.splits.Xtr[ix], self.splits.Ytr[ix])
