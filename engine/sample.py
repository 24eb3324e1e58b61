"""Sampling names from any model with makemore's interface (lectures 2, 3 and makemore.py).

Start from a context of '.' tokens, turn the last logits into a distribution
(divided by the temperature, optionally cut to the top k), draw the next character
with an explicit generator, slide the context, stop at '.'.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.lectures import SAMPLE_SEED
from engine.models import eval_mode


def device_of(model) -> torch.device:
    """Where a model's tensors live (count-table models live on the CPU)."""
    params = getattr(model, "parameters", None)
    return params()[0].device if params else torch.device("cpu")


@torch.no_grad()
def generate(
    model,
    n: int,
    generator: torch.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    max_len: int = 64,
) -> list[list[int]]:
    """n samples drawn side by side; each is a list of character ids without the final '.'."""
    if temperature <= 0:
        raise ValueError("temperature must be positive.")
    device = device_of(model)
    with eval_mode(model):
        context = torch.zeros((n, model.block_size), dtype=torch.long, device=device)
        out = torch.zeros((n, 0), dtype=torch.long, device=device)
        finished = torch.zeros(n, dtype=torch.bool, device=device)
        for _ in range(max_len):
            logits, _ = model(context)
            logits = logits / temperature  # (n, V)
            if top_k is not None and top_k < logits.shape[1]:
                kth = torch.topk(logits, top_k).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = F.softmax(logits, dim=1).cpu()  # drawn with the CPU generator everywhere
            ix = torch.multinomial(probs, 1, generator=generator).to(device)  # (n, 1)
            ix[finished] = 0
            out = torch.cat([out, ix], dim=1)
            finished |= ix[:, 0] == 0
            if finished.all():
                break
            context = torch.cat([context[:, 1:], ix], dim=1)
    return [row[: row.index(0)] if 0 in row else row for row in out.tolist()]


def sample_words(model, itos, n=20, seed=SAMPLE_SEED, temperature=1.0, top_k=None) -> list[str]:
    g = torch.Generator().manual_seed(seed)
    rows = generate(model, n, g, temperature=temperature, top_k=top_k)
    return ["".join(itos[i] for i in row) for row in rows]
