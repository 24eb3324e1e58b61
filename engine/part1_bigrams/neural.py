"""The neural bigram of lecture 2 (makemore part 1) and exercises E04-E05.

The neural bigram learns the count table as logits: W (V, V), softmax, the mean NLL plus
reg * mean(W**2), full-batch gradient descent. Row indexing W[xs] is the one-hot matmul
(E04) and F.cross_entropy is the explicit softmax + NLL, only safer (E05).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine import data
from engine.lectures import LECTURE_SEED
from engine.messages import msg
from engine.models import ConfigError
from engine.part1_bigrams.ngram import NGramModel, examples

METHODS = ("onehot", "index", "counts")


@dataclass(frozen=True)
class NeuralBigramConfig:
    """Lecture 2's neural bigram: W ~ randn(V, V), lr 50, loss = NLL + reg * mean(W**2).

    method picks how the same loss is computed:
    "onehot": the lecture's cells, one_hot(xs) @ W, exp, normalise, -log p[y] (~90 ms/step);
    "index": E04 + E05, W[xs] and F.cross_entropy (~25 ms/step);
    "counts": the 228,146 terms grouped by bigram, -sum N * log_softmax(W) / sum N (~0.1 ms).
    """

    lr: float = 50.0
    reg: float = 0.01
    seed: int = LECTURE_SEED
    method: str = "index"


class NeuralBigram:
    """Full-batch gradient descent on W, a few steps at a time, keeping the loss history.

    losses[i] (and data_losses[i], the NLL part) is the loss of step i's forward pass,
    computed before step i's update, i.e. after i updates: what the lecture's loop prints.
    """

    def __init__(self, words, stoi, vocab_size: int, config: NeuralBigramConfig):
        if config.method not in METHODS:
            raise ConfigError(msg("method must be one of {methods}.", methods=", ".join(METHODS)))
        if config.reg < 0:
            raise ConfigError(msg("The regularisation strength cannot be negative."))
        self.config, self.vocab_size = config, vocab_size
        X, self.ys = examples(words, 2, stoi)
        self.xs = X[:, 0]  # (N,) previous character
        if len(self.ys) == 0:
            raise ConfigError(msg("No bigrams to train on."))
        self.N = torch.bincount(self.xs * vocab_size + self.ys, minlength=vocab_size**2)
        self.N = self.N.view(vocab_size, vocab_size).float()  # (V, V) for the counts method
        g = torch.Generator().manual_seed(config.seed)
        self.W = torch.randn((vocab_size, vocab_size), generator=g, requires_grad=True)
        self.losses: list[float] = []
        self.data_losses: list[float] = []

    @property
    def steps(self) -> int:
        return len(self.losses)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, data loss) for the current W, as scalar tensors in the autograd graph."""
        W, method = self.W, self.config.method
        if method == "onehot":
            xenc = F.one_hot(self.xs, num_classes=self.vocab_size).float()  # (N, V)
            logits = xenc @ W  # (N, V) log-counts
            counts = logits.exp()
            probs = counts / counts.sum(1, keepdim=True)  # (N, V)
            data_loss = -probs[torch.arange(len(self.ys)), self.ys].log().mean()
        elif method == "index":
            data_loss = F.cross_entropy(W[self.xs], self.ys)
        else:
            data_loss = -(self.N * F.log_softmax(W, dim=1)).sum() / self.N.sum()
        return data_loss + self.config.reg * (W**2).mean(), data_loss

    def step(self, steps: int = 1) -> float:
        """Forward, record, backward, W.data += -lr * W.grad; the last recorded loss."""
        for _ in range(steps):
            loss, data_loss = self.forward()
            self.losses.append(loss.item())
            self.data_losses.append(data_loss.item())
            self.W.grad = None
            loss.backward()
            self.W.data += -self.config.lr * self.W.grad
        return self.losses[-1] if self.losses else math.nan

    @torch.no_grad()
    def loss(self) -> tuple[float, float]:
        """(loss, data loss) of the current W without updating it."""
        loss, data_loss = self.forward()
        return loss.item(), data_loss.item()

    @torch.no_grad()
    def probs(self) -> torch.Tensor:
        """softmax(W) by rows: the learned bigram table, (V, V). Compare with probabilities(N, k)."""
        return F.softmax(self.W, dim=1)

    def model(self) -> NGramModel:
        """A snapshot for sampling with engine.sample."""
        return NGramModel(self.probs(), 2)


def onehot_matches_indexing(W: torch.Tensor, xs: torch.Tensor) -> float:
    """E04: max |one_hot(xs) @ W - W[xs]|; 0.0, since multiplying by a one-hot row picks a row."""
    with torch.no_grad():
        onehot = F.one_hot(xs, num_classes=W.shape[0]).to(W.dtype) @ W  # (N, V)
        return (onehot - W[xs]).abs().max().item()


@dataclass(frozen=True)
class CrossEntropyCheck:
    manual: float  # exp, normalise, -mean log p[y], as in the lecture
    fused: float  # F.cross_entropy

    @property
    def diff(self) -> float:
        return abs(self.manual - self.fused)


def cross_entropy_check(logits: torch.Tensor, ys: torch.Tensor) -> CrossEntropyCheck:
    """E05: the lecture's softmax + NLL against F.cross_entropy on the same logits.

    They agree to float rounding on tame logits. Scale the logits up (e.g. by 100) and
    exp overflows to inf, so the manual loss turns nan or inf, while cross_entropy
    subtracts each row's max first and stays finite; it is also one fused, faster op.
    """
    with torch.no_grad():
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdim=True)
        manual = -probs[torch.arange(len(ys)), ys].log().mean().item()
        fused = F.cross_entropy(logits, ys).item()
    return CrossEntropyCheck(manual, fused)


# ---------------------------------------------------------------------------------------
# the neural bigram as a job for the live page (train_for / step / done / progress)


@dataclass(frozen=True)
class StepsConfig:
    steps: int


class NeuralBigramJob:
    """NeuralBigram with the interface of a Job, for the live page (ui.training).

    It trains in about CHUNKS visible chunks (time-boxed too, for the slow methods), and
    keeps a snapshot of softmax(W) after every chunk so the page can show the table and
    its distance to the counts as training goes on.
    """

    CHUNKS = 30

    def __init__(self, ds: data.Dataset, steps: int, config: NeuralBigramConfig):
        self.model = NeuralBigram(ds.words, ds.stoi, ds.vocab_size, config)
        self.train_config = StepsConfig(steps)
        self.per_chunk = max(1, -(-steps // self.CHUNKS))
        self.seconds = 0.0
        self.snapshots: list[tuple[int, torch.Tensor]] = [(0, self.model.probs())]

    @property
    def step(self) -> int:
        return self.model.steps

    @property
    def done(self) -> bool:
        return self.step >= self.train_config.steps

    def train_for(self, seconds: float) -> int:
        t0 = time.perf_counter()
        taken = 0
        target = min(self.train_config.steps, self.step + self.per_chunk)
        while self.step < target and (taken == 0 or time.perf_counter() - t0 < seconds):
            self.model.step()
            taken += 1
        self.seconds += time.perf_counter() - t0
        if taken:
            self.snapshots.append((self.step, self.model.probs()))
        return taken

    def steps_per_second(self) -> float:
        return self.step / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------------------------------
# E04 / E05: the lecture's random W and the bigrams of one word


def lecture_W(vocab_size: int, seed: int = LECTURE_SEED) -> torch.Tensor:
    """W = torch.randn((V, V), generator=torch.Generator().manual_seed(LECTURE_SEED))."""
    return torch.randn((vocab_size, vocab_size), generator=torch.Generator().manual_seed(seed))


def example_word(ds: data.Dataset, preferred: str = "emma") -> str:
    """The lecture's 'emma' when this vocabulary can spell it, else the dataset's first word."""
    return preferred if all(c in ds.stoi for c in preferred) else ds.words[0]


def word_pairs(word: str, ds: data.Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """xs, ys of the bigrams of '.word.': for emma, xs = . e m m a and ys = e m m a ."""
    ids = [0, *ds.encode(word), 0]
    return torch.tensor(ids[:-1]), torch.tensor(ids[1:])
