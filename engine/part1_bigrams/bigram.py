"""The bigram count model of lecture 2 (makemore part 1).

Count how often each character follows each other one, add k "fake counts" to every
cell (smoothing), normalise the rows into next-character distributions, and measure
the model by the mean negative log-likelihood of the data.
"""

from __future__ import annotations

import itertools
import math

import torch


def bigrams(words, stoi):
    """Index pairs (first, second) of every bigram of '.word.'; there are sum(len(w) + 1)."""
    firsts, seconds = [], []
    for w in words:
        ids = [0, *(stoi[c] for c in w), 0]
        firsts += ids[:-1]
        seconds += ids[1:]
    return torch.tensor(firsts, dtype=torch.long), torch.tensor(seconds, dtype=torch.long)


def count_matrix(words, stoi, vocab_size: int) -> torch.Tensor:
    """N[i, j] = how often character j follows character i, (V, V) int64."""
    a, b = bigrams(words, stoi)
    return torch.bincount(a * vocab_size + b, minlength=vocab_size**2).view(vocab_size, vocab_size)


def nll(P: torch.Tensor, words, stoi) -> float:
    """Mean -log P over every bigram of the words (float64; inf if one has probability 0)."""
    a, b = bigrams(words, stoi)
    return -P[a, b].double().log().mean().item()


def word_logprobs(P: torch.Tensor, word: str, stoi) -> list[tuple[str, float, float]]:
    """The lecture's walk-through of one word: (bigram, p, -log p) for each step of '.word.'."""
    ids = [0, *(stoi[c] for c in word), 0]
    itos = {i: s for s, i in stoi.items()}
    rows = []
    for i, j in itertools.pairwise(ids):
        p = P[i, j].item()
        rows.append((itos[i] + itos[j], p, -math.log(p) if p > 0 else math.inf))
    return rows


class BigramModel:
    """The count table with makemore's interface, so samplers treat it like any model."""

    block_size = 1

    def __init__(self, P: torch.Tensor):
        self.logP = P.clamp_min(1e-30).log()

    def __call__(self, idx, targets=None):
        logits = self.logP[idx[:, -1]]  # (B, V)
        loss = None
        if targets is not None:
            loss = torch.nn.functional.cross_entropy(logits, targets)
        return logits, loss

    def train(self, mode: bool = True):
        return self
