"""Training a zoo model as makemore.py trains it: AdamW on random minibatches of words.

makemore.py seeds torch's global generator once and everything follows from it: the
split's permutation, the weights (in the order its modules are built), then its
DataLoader's two seeds (one for its worker processes, one for its sampler), and the
sampler's minibatch indices in chunks of 32 from a generator of their own. A ZooJob
replays that order on an explicit generator, so with the same seed it starts from
makemore.py's weights and draws makemore.py's minibatches; only the floating-point
rounding of the arithmetic differs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.data import Splits
from engine.messages import msg
from engine.models import ConfigError
from engine.train import Job, Run, TrainConfig, validate
from engine.zoo.data import IGNORE, SEED
from engine.zoo.models import ZooConfig, build

EVAL_WORDS = 512  # words per forward pass of an evaluation
ESTIMATE_TRAIN_WORDS = 2000  # periodic evaluations estimate the train loss on this many words
MAX_STEPS = 10_000_000


def makemore_train(steps: int = 3000, **overrides) -> TrainConfig:
    """makemore.py's optimisation: AdamW, lr 5e-4 throughout, weight decay 0.01, betas
    (0.9, 0.99), batch 32, seed 3407; evaluated every 500 steps as makemore.py does."""
    settings = {
        "steps": steps,
        "batch_size": 32,
        "lr": 5e-4,
        "lr_after": 5e-4,
        "lr_decay_step": MAX_STEPS,
        "seed": SEED,
        "eval_every": 500,
        "optimizer": "adamw",
        "weight_decay": 0.01,
    }
    return TrainConfig(**{**settings, **overrides})


def draw_seed(g: torch.Generator) -> int:
    """One int64 seed, drawn as makemore.py's DataLoader draws its seeds (a 0-d random_())."""
    return int(torch.empty((), dtype=torch.int64).random_(generator=g).item())


class ZooJob(Job):
    """One zoo run: a Job (the service, the run cache and the pages treat it as one) whose
    model is a zoo family, trained by autograd and AdamW on whole words."""

    def __init__(self, config: ZooConfig, train: TrainConfig, splits: Splits, vocab_size: int, device: str = "cpu"):  # fmt: skip
        Run.__init__(self)
        validate(train, len(splits.Ytr))
        if train.optimizer != "adamw":
            raise ConfigError(msg("The zoo trains with makemore.py's AdamW only."))
        if config.block_size < splits.Xtr.shape[1]:
            raise ConfigError(
                msg(
                    "block_size {block} is too short for this dataset: its longest word needs "
                    "{n} positions (the word and the start token).",
                    block=config.block_size,
                    n=splits.Xtr.shape[1],
                )
            )
        self.config, self.train_config, self.device = config, train, device
        self.splits = splits.to(device)
        self.vocab_size = vocab_size
        g = torch.Generator().manual_seed(train.seed)  # CPU: the same draws everywhere
        torch.randperm(self.n_words, generator=g)  # makemore.py draws its split first
        self.generator = g
        self.model = build(config, vocab_size, g).to(device)
        self.params = self.model.parameters()
        draw_seed(g)  # the DataLoader's seed for its worker processes
        self.batch_generator = torch.Generator().manual_seed(draw_seed(g))  # its sampler's
        self.optimizer = torch.optim.AdamW(
            self.params,
            lr=train.lr,
            betas=(0.9, 0.99),
            eps=1e-8,
            weight_decay=train.weight_decay,
            fused=str(device).startswith(("cpu", "cuda")) or None,
        )
        self.record_stats, self.fused, self.ud = False, False, []

    @property
    def examples_per_step(self) -> int:
        """What a step costs, for the service's estimate: every position of every word."""
        return self.train_config.batch_size * self.config.block_size

    @property
    def n_words(self) -> int:
        """All words of the dataset: train + test (dev is the test set)."""
        return len(self.splits.Ytr) + len(self.splits.Yte)

    @torch.no_grad()
    def evaluate(self, split: str, limit: int | None = None) -> float:
        """The mean loss per predicted character over a split (its first `limit` words)."""
        X, Y = self.splits.split(split)
        if limit is not None:
            X, Y = X[:limit], Y[:limit]
        total, count = 0.0, 0
        for i in range(0, len(Y), EVAL_WORDS):
            logits, _ = self.model(X[i : i + EVAL_WORDS])
            y = Y[i : i + EVAL_WORDS].reshape(-1)
            total += F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y, ignore_index=IGNORE, reduction="sum"
            ).item()
            count += int((y != IGNORE).sum())
        return total / count if count else math.nan

    def estimate(self) -> dict[str, float]:
        return {"train": self.evaluate("train", ESTIMATE_TRAIN_WORDS), "dev": self.evaluate("dev")}

    def finish(self) -> dict[str, float]:
        train, test = self.evaluate("train"), self.evaluate("test")
        return self.finished({"train": train, "dev": test, "test": test})

    def step0_loss(self) -> float:
        """The loss of the first minibatch at the initial weights, without training on it."""
        ix = torch.randint(
            0,
            len(self.splits.Ytr),
            (self.train_config.batch_size,),
            generator=self.batch_generator.clone_state(),
        )
        with torch.no_grad():
            _, loss = self.model(self.splits.Xtr[ix], self.splits.Ytr[ix])
        return loss.item()
