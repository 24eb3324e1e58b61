"""What the zoo page draws inside a model for one typed word (no training, no grad).

- attention: each Transformer layer's and head's attention weights over the characters,
  '.' first: row t is what position t (predicting character t + 1) reads from.
- recurrent: the RNN's or GRU's hidden state after each character, and the GRU's update
  gate z (how much of the state each character rewrites).
"""

from __future__ import annotations

import torch

from engine.data import Dataset
from engine.messages import msg
from engine.models import ConfigError


def encode(model, ds: Dataset, word: str) -> torch.Tensor:
    """'.' + the word's characters as a (1, T) batch; ConfigError for what it cannot read."""
    unknown = sorted({c for c in word if c not in ds.stoi or c == "."})
    if unknown:
        raise ConfigError(
            msg("Not in this dataset's vocabulary: {chars}.", chars=" ".join(map(repr, unknown)))
        )
    if len(word) + 1 > model.block_size:
        raise ConfigError(
            msg("The model reads at most {n} characters after '.'.", n=model.block_size - 1)
        )
    return torch.tensor([[0, *ds.encode(word)]], dtype=torch.long)


@torch.no_grad()
def attention(model, ds: Dataset, word: str) -> list[torch.Tensor]:
    """One (n_head, T, T) tensor per layer for the word ('.' + word, T = len(word) + 1)."""
    idx = encode(model, ds, word)
    model.keep_attention(True)
    try:
        model(idx)
        return [block.attn.att[0].clone() for block in model.blocks]
    finally:
        model.keep_attention(False)


@torch.no_grad()
def recurrent(model, ds: Dataset, word: str) -> dict:
    """hidden (T, n_embd2): the state after reading each of '.' + word; update likewise
    (the GRU's z), None for the plain RNN."""
    model.keep = True
    try:
        model(encode(model, ds, word))
    finally:
        model.keep = False
    update = model.update
    return {
        "hidden": model.hidden[0].clone(),
        "update": None if update is None else update[0].clone(),
    }
