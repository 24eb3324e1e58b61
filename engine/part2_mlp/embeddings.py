"""Looking at a learned embedding table C (lecture 3, makemore part 2).

Each character is a point in n_embd dimensions. With 2-D embeddings the lecture
plots C directly: the vowels cluster, 'q' sits alone. For more dimensions we
project on two chosen axes or on the top two principal components, and list each
character's nearest neighbours by cosine similarity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

VOWELS = set("aeiouáéíóúàèìòùäëïöüâêîôûy")


def project(C: torch.Tensor, dims: tuple[int, int] | None = None) -> torch.Tensor:
    """(V, n_embd) -> (V, 2): two chosen dimensions, or the top two principal components."""
    C = C.detach().float()
    if dims is not None:
        return C[:, list(dims)]
    if C.shape[1] <= 2:
        return F.pad(C, (0, 2 - C.shape[1]))
    centred = C - C.mean(0, keepdim=True)
    _, _, V = torch.linalg.svd(centred, full_matrices=False)  # rows of V: principal directions
    return centred @ V[:2].T


def explained_variance(C: torch.Tensor) -> list[float]:
    """Fraction of the variance along each principal component, largest first."""
    centred = C.detach().float() - C.detach().float().mean(0, keepdim=True)
    s = torch.linalg.svdvals(centred) ** 2
    return (s / s.sum()).tolist()


def nearest(C: torch.Tensor, itos: list[str], k: int = 3) -> dict[str, list[tuple[str, float]]]:
    """Each character's k most similar characters by cosine similarity of their embeddings."""
    Cn = F.normalize(C.detach().float(), dim=1)
    sim = Cn @ Cn.T
    sim.fill_diagonal_(-2)
    k = min(k, len(itos) - 1)
    vals, idx = sim.topk(k, dim=1)
    return {
        itos[i]: [
            (itos[j], round(v, 3)) for j, v in zip(idx[i].tolist(), vals[i].tolist(), strict=True)
        ]
        for i in range(len(itos))
    }


def kind(ch: str) -> str:
    """'vowel', 'consonant', 'end' ('.') or 'other' (space, hyphen, apostrophe...), for colouring."""
    if ch == ".":
        return "end"
    if ch.lower() in VOWELS:
        return "vowel"
    return "consonant" if ch.isalpha() else "other"
