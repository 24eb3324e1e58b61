"""How likely a model finds one word, character by character (lectures 2 and 3).

The lecture's walk-through of '.emma.': for every step the context, the character
that came next, its probability under the model and its surprisal -log p; the mean
surprisal is the word's negative log-likelihood, the quantity training minimises.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.data import END, build_examples
from engine.sample import device_of


@torch.no_grad()
def word_logprobs(model, word: str, stoi) -> list[dict]:
    """One row per predicted character of word + '.', for any model with makemore's interface."""
    missing = sorted({c for c in word if c not in stoi})
    if missing:
        raise ValueError(f"not in this dataset's vocabulary: {' '.join(missing)}")
    X, Y = build_examples([word], model.block_size, stoi)
    X, Y = X.to(device_of(model)), Y.to(device_of(model))
    model.train(False)
    try:
        logits, _ = model(X)
    finally:
        model.train(True)
    p = F.softmax(logits, dim=1)[torch.arange(len(Y)), Y].tolist()
    itos = {i: s for s, i in stoi.items()}
    chars = [*word, END]
    return [
        {
            "context": "".join(itos[i] for i in X[t].tolist()),
            "next": chars[t],
            "p": p[t],
            "surprisal": -math.log(p[t]) if p[t] > 0 else math.inf,
        }
        for t in range(len(Y))
    ]


def mean_nll(rows: list[dict]) -> float:
    return sum(r["surprisal"] for r in rows) / len(rows)
