"""The zoo's layers, written out as the lectures write theirs (engine/layers.py).

Plain classes; each keeps its last output in `.out`, and the attention and the recurrent
cells keep what the page's views draw (attention weights, hidden states, update gates).
Weights are drawn as torch.nn draws its defaults, in makemore.py's order, from an
explicit generator: a Linear's weight and bias uniform in ±1/sqrt(fan_in) (drawn as
(fan_out, fan_in), then transposed for x @ W), embeddings standard normal, LayerNorm
ones and zeros. So a model built from the seed that makemore.py uses starts from the
same numbers.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.layers import Embedding, Linear, Tanh

__all__ = ["GELU", "Block", "CausalSelfAttention", "Embedding", "LayerNorm", "Tanh", "linear"]


def linear(fan_in: int, fan_out: int, generator, bias: bool = True) -> Linear:
    """A lecture Linear with torch.nn.Linear's default init (Kaiming uniform, a = sqrt(5))."""
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
    bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)  # = 1 / sqrt(fan_in)
    W = torch.empty((fan_out, fan_in)).uniform_(-bound, bound, generator=generator)
    b = None
    if bias:
        b = torch.empty(fan_out).uniform_(
            -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=generator
        )
    return Linear.from_tensors(W.T.contiguous(), b)  # (fan_in, fan_out)


class LayerNorm:
    """Ba et al. 2016: normalise each position's features to mean 0, variance 1, then scale."""

    def __init__(self, dim, eps=1e-5):
        self.eps = eps
        self.weight = torch.ones(dim)
        self.bias = torch.zeros(dim)

    def __call__(self, x):
        self.out = F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)
        return self.out

    def parameters(self):
        return [self.weight, self.bias]


class GELU:
    """GPT-2's GELU, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as one torch call."""

    def __call__(self, x):
        self.out = F.gelu(x, approximate="tanh")
        return self.out

    def parameters(self):
        return []


class CausalSelfAttention:
    """n_head heads of masked self-attention, then a projection (Vaswani et al. 2017).

    Each position makes a query, a key and a value (one Linear for all three, all heads);
    a head's attention weights are softmax(q k^T / sqrt(head size)) over the positions up
    to its own (the mask), and its output the weighted sum of the values. `keep=True`
    keeps the weights in `.att` (B, n_head, T, T) for the attention view.
    """

    def __init__(self, n_embd, n_head, generator):
        self.n_head = n_head
        self.c_attn = linear(n_embd, 3 * n_embd, generator)  # queries, keys, values
        self.c_proj = linear(n_embd, n_embd, generator)
        self.keep = False

    def __call__(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)  # each (B, T, C)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        if self.keep:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            att = F.softmax(att.masked_fill(future, float("-inf")), dim=-1)
            self.att = att
            y = att @ v  # (B, nh, T, hs)
        else:  # the same function in one fused kernel
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).reshape(B, T, C)  # the heads side by side again
        self.out = self.c_proj(y)
        return self.out

    def parameters(self):
        return self.c_attn.parameters() + self.c_proj.parameters()


class Block:
    """A Transformer block: x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x))."""

    def __init__(self, n_embd, n_head, generator):
        self.ln_1 = LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, generator)
        self.ln_2 = LayerNorm(n_embd)
        self.c_fc = linear(n_embd, 4 * n_embd, generator)
        self.gelu = GELU()
        self.c_proj = linear(4 * n_embd, n_embd, generator)

    def __call__(self, x):
        x = x + self.attn(self.ln_1(x))
        self.out = x + self.c_proj(self.gelu(self.c_fc(self.ln_2(x))))
        return self.out

    def parameters(self):
        return [
            *self.ln_1.parameters(),
            *self.attn.parameters(),
            *self.ln_2.parameters(),
            *self.c_fc.parameters(),
            *self.c_proj.parameters(),
        ]
