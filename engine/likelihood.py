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
from engine.messages import msg
from engine.models import eval_mode
from engine.sample import device_of


@torch.no_grad()
def word_logprobs(model, word: str, stoi) -> list[dict]:
    """One row per predicted character of word + '.', for any model with makemore's interface."""
    missing = sorted({c for c in word if c not in stoi})
    if missing:
        raise ValueError(
            msg(
                "Not in this dataset's vocabulary: {chars}.",
                chars=", ".join(map(repr, missing)),
            )
        )
    X, Y = build_examples([word], model.block_size, stoi)
    X, Y = X.to(device_of(model)), Y.to(device_of(model))
    p = next_char_probs(model, X)[torch.arange(len(Y)), Y].tolist()
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


def next_char_probs(model, X: torch.Tensor) -> torch.Tensor:
    """The model's distribution of the character after each context of X, (N, V).

    A count model (engine.part1_bigrams.ngram.NGramModel) gives the rows of its table as
    they are, so an n-gram it never saw has p = 0 and -log p = inf, as in the lecture; a
    net gives softmax(logits) of an eval-mode forward.
    """
    table = getattr(model, "probs", None)
    if table is not None:
        return table(X)
    with eval_mode(model):
        logits, _ = model(X)
    return F.softmax(logits, dim=1)


def mean_nll(rows: list[dict]) -> float:
    return sum(r["surprisal"] for r in rows) / len(rows)
