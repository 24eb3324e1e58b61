"""Exercise 4 of lecture 5: train the network with nothing but the manual backward (n_hidden
200, 200,000 steps), then calibrate BatchNorm on the whole training set, since it keeps no
running statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.data import Splits
from engine.messages import msg
from engine.models import ConfigError
from engine.part4_backprop.compact import batchnorm_backward, cross_entropy_backward
from engine.part4_backprop.manual import TANH_ROUNDS_ONCE, Comparison, cmp, tanh_backward
from engine.part4_backprop.net import EPS, PARAMS, NinjaConfig, init_params
from engine.train import EVAL_TRAIN_SAMPLE, Run, TrainConfig, validate


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
            raise ConfigError(msg("BatchNorm needs a batch of at least 2 examples."))
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
        return self.finished(
            {s: self.evaluate(s, self.calibration) for s in ("train", "dev", "test")}
        )

    def check_gradients(self, seed: int = 0) -> list[Comparison]:
        """Manual vs autograd on a fresh batch (its own generator: the run is not disturbed)."""
        g = torch.Generator().manual_seed(seed)
        ix = torch.randint(
            0, self.splits.Xtr.shape[0], (self.train_config.batch_size,), generator=g
        )
        return parameter_check(self.params, self.splits.Xtr[ix], self.splits.Ytr[ix])
