"""N-gram count models of lecture 2 (makemore part 1) and its exercises E01-E03.

Counting: the n - 1 previous characters (left-padded with '.', exactly as
data.build_examples pads with block_size = n - 1) select a row of a (V**(n-1), V) table
of counts; add k fake counts (smoothing), normalise the rows, and score the data by its
mean negative log-likelihood (E01: trigram; E02: train/dev/test; E03: tune k on dev).

The bigram is n = 2. The neural bigram, which learns the same table, is in
engine.part1_bigrams.neural.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.data import END, split_words
from engine.lectures import SMOOTHING_K
from engine.messages import msg
from engine.models import ConfigError

MAX_CELLS = 2**25  # V**n table cells: 27**5 (14M) fits, a 100-char vocabulary with n = 4 does not


# ---------------------------------------------------------------------------------------
# counting


def _check(n: int, vocab_size: int) -> None:
    if n < 1:
        raise ConfigError(msg("n must be at least 1 (1 = unigram, 2 = bigram, 3 = trigram)."))
    if vocab_size**n > MAX_CELLS:
        raise ConfigError(
            msg(
                "A {n}-gram table over {V} characters has {V}**{n} = "
                "{cells:,} cells, more than {most:,}. Use a smaller n.",
                n=n,
                V=vocab_size,
                cells=vocab_size**n,
                most=MAX_CELLS,
            )
        )


def _encode(word: str, stoi) -> list[int]:
    missing = sorted({c for c in word if c not in stoi})
    if missing:
        raise ValueError(
            msg(
                "Not in this dataset's vocabulary: {missing}.",
                missing=", ".join(map(repr, missing)),
            )
        )
    return [stoi[c] for c in word]


def examples(words, n: int, stoi) -> tuple[torch.Tensor, torch.Tensor]:
    """X (N, n-1) context ids, Y (N,) next ids: data.build_examples(words, n - 1, stoi), vectorised.

    Each word gives len(w) + 1 examples; contexts before the word's start are '.' (0).
    """
    if n < 1:
        raise ConfigError(msg("n must be at least 1."))
    Y = torch.tensor([stoi[c] for w in words for c in w + END], dtype=torch.long)  # (N,)
    lengths = torch.tensor([len(w) + 1 for w in words], dtype=torch.long)  # (W,)
    starts = lengths.cumsum(0) - lengths
    pos = torch.arange(len(Y)) - torch.repeat_interleave(starts, lengths)  # position in word
    # column 0 is the oldest character: j = n-1 back, ..., the last column 1 back
    cols = [torch.where(pos >= j, Y.roll(j), 0) for j in range(n - 1, 0, -1)]
    X = torch.stack(cols, 1) if cols else torch.zeros((len(Y), 0), dtype=torch.long)
    return X, Y


def context_index(X: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Row of the count table for each context: its ids read as a number in base V. (N,)"""
    powers = vocab_size ** torch.arange(X.shape[1] - 1, -1, -1)  # (n-1,) oldest is most significant
    return (X * powers).sum(1)


def decode_context(index: int, n: int, itos) -> str:
    """The n - 1 characters of table row `index`, e.g. 'em' for a trigram row."""
    V = len(itos)
    ids = []
    for _ in range(n - 1):
        index, ix = divmod(index, V)
        ids.append(ix)
    return "".join(itos[i] for i in reversed(ids))


def _rows_and_targets(words, n: int, stoi, vocab_size: int):
    X, Y = examples(words, n, stoi)
    return context_index(X, vocab_size), Y


def count_table(words, n: int, stoi, vocab_size: int) -> torch.Tensor:
    """N[context, j] = how often character j follows the n - 1 characters of the context.

    (V**(n-1), V) int64; n = 2 is the lecture's bigram matrix N.
    """
    _check(n, vocab_size)
    rows, Y = _rows_and_targets(words, n, stoi, vocab_size)
    counts = torch.bincount(rows * vocab_size + Y, minlength=vocab_size**n)
    return counts.view(vocab_size ** (n - 1), vocab_size)


def probabilities(N: torch.Tensor, k: float = SMOOTHING_K) -> torch.Tensor:
    """Rows of (N + k) normalised to sum to 1, float32 as in the lecture.

    With k = 0 a row that was never seen has no distribution; it is left all zero.
    """
    P = (N + k).float()
    return P / P.sum(1, keepdim=True).clamp_min(1e-30)


def nll(P: torch.Tensor, words, n: int, stoi) -> float:
    """Mean -log P over every example of the words (float64; inf if one has probability 0)."""
    rows, Y = _rows_and_targets(words, n, stoi, P.shape[1])
    return -P[rows, Y].double().log().mean().item()


def perplexity(nll_value: float) -> float:
    """exp(NLL): the model is as unsure as a uniform choice among this many characters."""
    return math.exp(nll_value)


def split_nll(
    words, n: int, stoi, vocab_size: int, k: float = SMOOTHING_K, shuffles: int = 1
) -> dict[str, float]:
    """E02: count on the lecture's train split only, score train, dev and test (nan if empty)."""
    if k < 0:
        raise ConfigError(msg("The smoothing k cannot be negative."))
    tr, dev, te = split_words(words, shuffles=shuffles)
    P = probabilities(count_table(tr, n, stoi, vocab_size), k)
    return {name: nll(P, ws, n, stoi) for name, ws in (("train", tr), ("dev", dev), ("test", te))}


# ---------------------------------------------------------------------------------------
# smoothing curve (E03): count once, then NLL(k) from the gathered counts


def nll_curve(N: torch.Tensor, words, n: int, stoi, ks) -> list[float]:
    """NLL of the words under (N + k) row-normalised, for every k, without building P.

    p = (c + k) / (rowsum + k V) needs only each example's count c and its row's sum, and
    the examples share few distinct (c, rowsum) pairs, so each k costs a few thousand logs.
    Float64 throughout (probabilities() rounds P to float32: they differ by about 1e-7).
    With k = 0 an unseen context has no distribution: p = 0, like probabilities().
    """
    rows, Y = _rows_and_targets(words, n, stoi, N.shape[1])
    return _curve(N, rows, Y, ks)


def _curve(N: torch.Tensor, rows: torch.Tensor, Y: torch.Tensor, ks) -> list[float]:
    ks = torch.tensor([float(k) for k in ks], dtype=torch.float64)  # (K,)
    if (ks < 0).any() or not ks.isfinite().all():
        raise ConfigError(msg("Smoothing values k must be finite and at least 0."))
    V = N.shape[1]
    c = N[rows, Y]  # (E,) count of each example's n-gram
    r = N.sum(1)[rows]  # (E,) count of its context
    base = int(r.max()) + 1 if len(r) else 1
    pairs, weight = torch.unique(c * base + r, return_counts=True)  # (U,) distinct (c, r)
    c, r = (pairs // base).double(), (pairs % base).double()  # (U,)
    num = c + ks[:, None]  # (K, U)
    den = r + ks[:, None] * V  # (K, U)
    p = torch.where(den > 0, num / den.clamp_min(1e-300), 0.0)
    return (-(p.log() * weight).sum(1) / weight.sum()).tolist()


@dataclass(frozen=True)
class SmoothingCurve:
    """Train and dev NLL against the smoothing k, counts from the train split only."""

    n: int
    ks: tuple[float, ...]
    train: tuple[float, ...]
    dev: tuple[float, ...]

    @property
    def best_k(self) -> float:
        """The k with the lowest dev NLL (the first one on a tie): evaluate it once on test."""
        return self.ks[min(range(len(self.ks)), key=lambda i: self.dev[i])]


def smoothing_curve(words, n: int, stoi, vocab_size: int, ks, shuffles: int = 1) -> SmoothingCurve:
    """E03: train NLL only rises with k; dev falls while k fills in unseen n-grams, then rises."""
    _check(n, vocab_size)
    tr, dev, _ = split_words(words, shuffles=shuffles)
    rows, Y = _rows_and_targets(tr, n, stoi, vocab_size)  # count once, reuse for train NLL
    N = torch.bincount(rows * vocab_size + Y, minlength=vocab_size**n).view(-1, vocab_size)
    dev_rows, dev_Y = _rows_and_targets(dev, n, stoi, vocab_size)
    ks = tuple(float(k) for k in ks)
    return SmoothingCurve(
        n, ks, tuple(_curve(N, rows, Y, ks)), tuple(_curve(N, dev_rows, dev_Y, ks))
    )


# ---------------------------------------------------------------------------------------
# one word under the model


def per_word_nll(P: torch.Tensor, words, n: int, stoi) -> torch.Tensor:
    """Mean -log p of each word's len(w) + 1 predictions, (W,) float64."""
    rows, Y = _rows_and_targets(words, n, stoi, P.shape[1])
    logp = P[rows, Y].double().log()  # (E,)
    lengths = torch.tensor([len(w) + 1 for w in words], dtype=torch.long)
    owner = torch.repeat_interleave(torch.arange(len(words)), lengths)  # (E,) word of each
    sums = torch.zeros(len(words), dtype=torch.float64).index_add_(0, owner, logp)
    return -sums / lengths


@dataclass(frozen=True)
class WordRank:
    """Where a word's mean NLL falls among the dataset's words."""

    nll: float
    more_likely: int  # dataset words with a lower mean NLL
    less_likely: int  # dataset words with a higher mean NLL
    total: int

    @property
    def rank(self) -> int:
        """1 = no dataset word is more likely."""
        return self.more_likely + 1

    @property
    def percentile(self) -> float:
        """The word is more likely than this percentage of the dataset's words."""
        return 100.0 * self.less_likely / self.total


def word_rank(P: torch.Tensor, word: str, words, n: int, stoi) -> WordRank:
    _encode(word, stoi)
    value = per_word_nll(P, [word], n, stoi).item()
    others = per_word_nll(P, words, n, stoi)
    more = int((others < value).sum())
    less = int((others > value).sum())
    return WordRank(value, more, less, len(others))


class NGramModel:
    """The n-gram table with makemore's interface, so engine.sample.generate can use it.

    probs() gives the table's rows themselves (engine.likelihood scores a word with them).
    """

    def __init__(self, P: torch.Tensor, n: int):
        self.block_size = n - 1
        self.vocab_size = P.shape[1]
        self.P = P  # (V**(n-1), V)
        self.logP = P.clamp_min(1e-30).log()  # (V**(n-1), V)

    def _rows(self, idx: torch.Tensor) -> torch.Tensor:
        context = idx[:, idx.shape[1] - self.block_size :]  # (B, n-1); all of idx can be longer
        return context_index(context, self.vocab_size)  # (B,)

    def __call__(self, idx, targets=None):
        logits = self.logP[self._rows(idx)]  # (B, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets)
        return logits, loss

    def probs(self, idx: torch.Tensor) -> torch.Tensor:
        """The next-character distribution after each context of idx, (B, V)."""
        return self.P[self._rows(idx)]

    def train(self, mode: bool = True):
        return self
