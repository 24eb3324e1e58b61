"""makemore.py's six model families over whole words, in the lectures' plain style.

Every family reads a (B, T) batch of character ids and returns (B, T, V) logits: the
prediction of the next character at every position. The loss is the mean cross-entropy
over the positions that have a target (targets of -1 are ignored).

- bigram: a V x V table of logits, zeros at first (makemore.py's flavour: the lectures'
  neural bigram starts from random weights and trains with SGD).
- mlp: Bengio et al. 2003 over the block_size previous characters, where the positions
  before the word's start are a <BLANK> token of their own (index V), not '.' padding.
- rnn: a vanilla recurrence h_t = tanh([x_t, h_{t-1}] W + b) from a learned start state.
- gru: the gated recurrence of Cho et al. 2014 (reset gate r, update gate z).
- bow: a causal bag of words: each position averages the embeddings up to itself, then
  one tanh MLP block.
- transformer: GPT-2 (Radford et al. 2019): n_layer blocks of masked multi-head
  self-attention and a GELU MLP, pre-LayerNorm, residual connections.

The weights are drawn in makemore.py's order (engine.zoo.layers), so a model built from
the same generator state starts from makemore.py's numbers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.messages import msg
from engine.models import ConfigError
from engine.zoo.data import IGNORE
from engine.zoo.layers import Block, Embedding, LayerNorm, linear

FAMILIES = ("transformer", "bow", "gru", "rnn", "mlp", "bigram")
TITLES = {
    "transformer": "Transformer (GPT-2)",
    "bow": msg("bag of words"),
    "gru": "GRU",
    "rnn": "RNN",
    "mlp": msg("MLP (makemore.py's)"),
    "bigram": msg("bigram (makemore.py's)"),
}
MAX_BLOCK = 65  # the longest word a dataset allows (engine.data.MAX_WORD_LEN) + 1
MAX_LAYER, MAX_HEAD, MAX_EMBD = 12, 16, 512


@dataclass(frozen=True)
class ZooConfig:
    """makemore.py's ModelConfig: which family and its sizes (its defaults)."""

    family: str = "transformer"
    block_size: int = 16  # the longest word + 1; names.txt's words have at most 15 letters
    n_layer: int = 4  # Transformer blocks
    n_head: int = 4  # attention heads per block
    n_embd: int = 64  # embedding size (all but the bigram)
    n_embd2: int = 64  # hidden size of the MLP, the RNN/GRU state, the bag of words' MLP

    kind = "zoo"


def validate(c: ZooConfig, vocab_size: int) -> None:
    """Raise ConfigError, with a message for the student, for what cannot be built."""
    if c.family not in FAMILIES:
        raise ConfigError(
            msg(
                "Unknown family '{family}'. Choose one of: {choices}.",
                family=c.family,
                choices=", ".join(FAMILIES),
            )
        )
    if vocab_size < 2:
        raise ConfigError(msg("The vocabulary needs at least one character besides '.'."))
    if not 1 <= c.block_size <= MAX_BLOCK:
        raise ConfigError(
            msg(
                "block_size must be between 1 and {hi} (the longest word allowed + 1), "
                "not {block}.",
                hi=MAX_BLOCK,
                block=c.block_size,
            )
        )
    limits = (("n_layer", MAX_LAYER), ("n_head", MAX_HEAD), ("n_embd", MAX_EMBD), ("n_embd2", MAX_EMBD))  # fmt: skip
    for name, hi in limits:
        if not 1 <= getattr(c, name) <= hi:
            raise ConfigError(
                msg(
                    "{name} must be between 1 and {hi}, not {n}.",
                    name=name,
                    hi=hi,
                    n=getattr(c, name),
                )
            )
    if c.family == "transformer" and c.n_embd % c.n_head:
        raise ConfigError(
            msg(
                "n_embd ({n_embd}) must be divisible by n_head ({n_head}): each head gets "
                "n_embd / n_head features. Try n_embd = {suggested}.",
                n_embd=c.n_embd,
                n_head=c.n_head,
                suggested=c.n_head * max(1, round(c.n_embd / c.n_head)),
            )
        )


class ZooModel:
    """makemore's interface, `model(idx, targets=None) -> (logits, loss)`, for the zoo."""

    config: ZooConfig
    layers: tuple = ()  # no BatchNorm anywhere: eval_mode has nothing to switch

    def __init__(self, config: ZooConfig):
        self.config, self.block_size = config, config.block_size
        for p in self.parameters():
            p.requires_grad = True

    def logits(self, idx):
        raise NotImplementedError

    def __call__(self, idx, targets=None):
        logits = self.logits(idx)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.view(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE
            )
        return logits, loss

    def parameters(self) -> list[torch.Tensor]:
        raise NotImplementedError

    def num_params(self) -> int:
        return sum(p.nelement() for p in self.parameters())

    def train(self, mode: bool = True):
        return self

    def eval(self):
        return self

    def to(self, device) -> ZooModel:
        with torch.no_grad():
            for p in self.parameters():
                p.data = p.data.to(device)
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The parameters in order, by index (the family and sizes say what they are)."""
        return {str(i): p.detach().clone() for i, p in enumerate(self.parameters())}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> ZooModel:
        mine = self.state_dict()
        if mine.keys() != state.keys():
            raise ConfigError(msg("These weights belong to a different architecture."))
        for name, t in state.items():
            if t.shape != mine[name].shape:
                raise ConfigError(
                    msg(
                        "Weight {name} has shape {shape}, not {expected}.",
                        name=name,
                        shape=tuple(t.shape),
                        expected=tuple(mine[name].shape),
                    )
                )
        with torch.no_grad():
            for i, p in enumerate(self.parameters()):
                p.copy_(state[str(i)])
        return self


class Bigram(ZooModel):
    def __init__(self, c: ZooConfig, V: int, g):
        self.table = torch.zeros((V, V))  # logits of the next character given this one
        super().__init__(c)

    def logits(self, idx):
        return self.table[idx]  # (B, T) -> (B, T, V)

    def parameters(self):
        return [self.table]


class MLP(ZooModel):
    def __init__(self, c: ZooConfig, V: int, g):
        self.blank = V  # the token of the positions before the word's start
        self.wte = Embedding(V + 1, c.n_embd, generator=g)
        self.hidden = linear(c.block_size * c.n_embd, c.n_embd2, g)
        self.head = linear(c.n_embd2, V, g)
        super().__init__(c)

    def logits(self, idx):
        B, T = idx.shape
        pad = torch.full((B, self.block_size), self.blank, dtype=idx.dtype, device=idx.device)
        padded = torch.cat([pad, idx], dim=1)  # (B, block_size + T)
        # the k-th previous character of every position, k = 0 (itself) .. block_size - 1
        embs = [
            self.wte(padded[:, self.block_size - k : self.block_size - k + T])
            for k in range(self.block_size)
        ]
        x = torch.cat(embs, dim=-1)  # (B, T, block_size * n_embd)
        return self.head(torch.tanh(self.hidden(x)))

    def parameters(self):
        return [*self.wte.parameters(), *self.hidden.parameters(), *self.head.parameters()]


class Recurrent(ZooModel):
    """rnn and gru: one cell applied position by position, the state carried along.

    The cell's Linear layers read [x_t, h_{t-1}]; the x_t half of every product is computed
    for all positions at once before the loop (the same sums, in fewer calls).
    With `keep` set (the views), `.hidden` keeps the states (B, T, n_embd2) and `.update`
    the GRU's update gates z.
    """

    keep = False

    def __init__(self, c: ZooConfig, V: int, g):
        self.start = torch.zeros((1, c.n_embd2))  # the learned state before the first character
        self.wte = Embedding(V, c.n_embd, generator=g)
        fan_in = c.n_embd + c.n_embd2
        if c.family == "rnn":
            self.xh_to_h = linear(fan_in, c.n_embd2, g)
        else:  # drawn in makemore.py's order: update gate, reset gate, candidate
            self.xh_to_z = linear(fan_in, c.n_embd2, g)
            self.xh_to_r = linear(fan_in, c.n_embd2, g)
            self.xh_to_hbar = linear(fan_in, c.n_embd2, g)
        self.head = linear(c.n_embd2, V, g)
        super().__init__(c)

    def cells(self):
        if self.config.family == "rnn":
            return [self.xh_to_h]
        return [self.xh_to_z, self.xh_to_r, self.xh_to_hbar]

    def logits(self, idx):
        B, T = idx.shape
        C = self.config.n_embd
        emb = self.wte(idx)  # (B, T, n_embd)
        h = self.start.expand(B, -1)  # (B, n_embd2)
        # every cell's input part for all positions: (B, T, n_embd) @ (n_embd, n_embd2) + b
        xs = [emb @ lin.weight[:C] + lin.bias for lin in self.cells()]
        hiddens, updates = [], []
        for t in range(T):
            if self.config.family == "rnn":
                h = torch.tanh(xs[0][:, t] + h @ self.xh_to_h.weight[C:])
            else:
                z = torch.sigmoid(xs[0][:, t] + h @ self.xh_to_z.weight[C:])  # update gate
                r = torch.sigmoid(xs[1][:, t] + h @ self.xh_to_r.weight[C:])  # reset gate
                hbar = torch.tanh(xs[2][:, t] + (r * h) @ self.xh_to_hbar.weight[C:])
                h = (1 - z) * h + z * hbar  # keep (1 - z) of the old state, take z of the new
                updates.append(z)
            hiddens.append(h)
        hidden = torch.stack(hiddens, 1)  # (B, T, n_embd2)
        if self.keep:
            self.hidden = hidden.detach()
            self.update = torch.stack(updates, 1).detach() if updates else None
        return self.head(hidden)

    def parameters(self):
        cells = [p for lin in self.cells() for p in lin.parameters()]
        return [self.start, *self.wte.parameters(), *cells, *self.head.parameters()]


class BoW(ZooModel):
    def __init__(self, c: ZooConfig, V: int, g):
        self.wte = Embedding(V, c.n_embd, generator=g)
        self.wpe = Embedding(c.block_size, c.n_embd, generator=g)
        self.c_fc = linear(c.n_embd, c.n_embd2, g)
        self.c_proj = linear(c.n_embd2, c.n_embd, g)
        self.head = linear(c.n_embd, V, g)
        super().__init__(c)

    def logits(self, idx):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe.weight[:T]  # (B, T, n_embd)
        # position t averages positions 0..t: attention whose scores are all equal
        avg = torch.ones(T, T, device=idx.device).tril()
        avg = avg / avg.sum(1, keepdim=True)  # (T, T), rows sum to 1
        x = x + avg @ x
        x = x + self.c_proj(torch.tanh(self.c_fc(x)))
        return self.head(x)

    def parameters(self):
        return [
            *self.wte.parameters(),
            *self.wpe.parameters(),
            *self.c_fc.parameters(),
            *self.c_proj.parameters(),
            *self.head.parameters(),
        ]


class Transformer(ZooModel):
    def __init__(self, c: ZooConfig, V: int, g):
        self.wte = Embedding(V, c.n_embd, generator=g)  # token embeddings
        self.wpe = Embedding(c.block_size, c.n_embd, generator=g)  # position embeddings
        self.blocks = [Block(c.n_embd, c.n_head, g) for _ in range(c.n_layer)]
        self.ln_f = LayerNorm(c.n_embd)
        self.head = linear(c.n_embd, V, g, bias=False)
        super().__init__(c)

    def keep_attention(self, keep: bool = True) -> None:
        for block in self.blocks:
            block.attn.keep = keep

    def logits(self, idx):
        T = idx.shape[1]
        if self.block_size < T:
            raise ConfigError(
                msg("The Transformer reads at most {n} characters.", n=self.block_size)
            )
        x = self.wte(idx) + self.wpe.weight[:T]  # (B, T, n_embd)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def parameters(self):
        return [
            *self.wte.parameters(),
            *self.wpe.parameters(),
            *(p for block in self.blocks for p in block.parameters()),
            *self.ln_f.parameters(),
            *self.head.parameters(),
        ]


CLASSES = {
    "bigram": Bigram,
    "mlp": MLP,
    "rnn": Recurrent,
    "gru": Recurrent,
    "bow": BoW,
    "transformer": Transformer,
}


def build(config: ZooConfig, vocab_size: int, generator: torch.Generator) -> ZooModel:
    validate(config, vocab_size)
    with torch.no_grad():
        return CLASSES[config.family](config, vocab_size, generator)


@functools.lru_cache(maxsize=256)
def count_params(config: ZooConfig, vocab_size: int) -> int:
    """The parameters of build(config, vocab_size), by formula (no model is built)."""
    validate(config, vocab_size)
    V, T, C, C2, L = vocab_size, config.block_size, config.n_embd, config.n_embd2, config.n_layer
    cell = (C + C2) * C2 + C2  # one Linear of [x_t, h_{t-1}] -> n_embd2
    return {
        "bigram": V * V,
        "mlp": (V + 1) * C + (T * C * C2 + C2) + (C2 * V + V),
        "rnn": C2 + V * C + cell + (C2 * V + V),
        "gru": C2 + V * C + 3 * cell + (C2 * V + V),
        "bow": V * C + T * C + (C * C2 + C2) + (C2 * C + C) + (C * V + V),
        # per block: 2 LayerNorms, qkv and projection, the 4x MLP
        "transformer": V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C + C * V,
    }[config.family]
