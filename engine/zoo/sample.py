"""Sampling from a zoo model as makemore.py does, and its three piles of samples.

Start from '.', feed the whole sequence so far, draw the next character from the last
position's logits (divided by the temperature, optionally cut to the top k), at most
block_size - 1 characters; a word ends at its first '.'. makemore.py then sorts the words
into those in the training set, those in the test set and new ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.lectures import SAMPLE_SEED


@torch.no_grad()
def generate(model, n: int, generator: torch.Generator, temperature: float = 1.0, top_k: int | None = None) -> list[list[int]]:  # fmt: skip
    if temperature <= 0:
        raise ValueError("temperature must be positive.")
    device = model.parameters()[0].device
    idx = torch.zeros((n, 1), dtype=torch.long, device=device)
    for _ in range(model.block_size - 1):
        logits, _ = model(idx)
        logits = logits[:, -1, :] / temperature  # (n, V)
        if top_k is not None and top_k < logits.shape[1]:
            kth = torch.topk(logits, top_k).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
        probs = F.softmax(logits, dim=-1).cpu()  # drawn with the CPU generator everywhere
        nxt = torch.multinomial(probs, 1, generator=generator).to(device)  # (n, 1)
        idx = torch.cat([idx, nxt], dim=1)
        if (idx[:, 1:] == 0).any(dim=1).all():
            break
    rows = idx[:, 1:].tolist()
    return [row[: row.index(0)] if 0 in row else row for row in rows]


def sample_words(model, itos, n: int = 20, seed: int = SAMPLE_SEED, temperature: float = 1.0, top_k: int | None = None) -> list[str]:  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    return ["".join(itos[i] for i in row) for row in generate(model, n, g, temperature, top_k)]


def sort_samples(words, train: set[str], test: set[str]) -> dict[str, list[str]]:
    """makemore.py's piles: in train, in test (and not in train), new."""
    piles = {"in train": [], "in test": [], "new": []}
    for w in words:
        piles["in train" if w in train else "in test" if w in test else "new"].append(w)
    return piles
