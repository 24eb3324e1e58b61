"""Cached n-gram computations for the makemore part 1 pages (counts, smoothing, E01-E05).

Everything here depends only on the dataset (by fingerprint), the n-gram order n and the
smoothing k, so it is computed once for the whole server and shared. Count tables are
tensors returned by st.cache_resource: read-only, never modify them in place.

The smoothing k lives on a fixed log grid (KS). The train, dev, test and all-words NLL
curves over the whole grid cost about as much as one NLL, so moving the k slider is a
lookup into cached curves, not a recount.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import streamlit as st
import torch

from engine import data
from engine.part1_bigrams import neural, ngram
from ui import i18n
from ui.i18n import N_, t

# k = 0, then 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per decade from 0.001 up to 1000
MANTISSAS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
KS: tuple[float, ...] = (
    0.0,
    *(round(m * 10.0**e, 6) for e in range(-3, 3) for m in MANTISSAS),
    1000.0,
)
# the largest n-gram table the pages build: 45**4 (Spanish 4-grams) fits, a 60-character
# upload's 4-gram table (13M cells, 100 MB of counts) is left out to keep the server light
MAX_CELLS = 8_000_000


def orders(vocab_size: int, smallest: int = 1) -> list[int]:
    """The n-gram orders up to 4 whose (V**(n-1), V) table stays under MAX_CELLS."""
    return [n for n in range(smallest, 5) if vocab_size**n <= MAX_CELLS]


def format_k(k: float) -> str:
    return f"{k:g}"


def shown(value: float, digits: int = 4) -> str:
    """An NLL for a metric or a table: — for an empty split, ∞ for an infinite loss."""
    if math.isnan(value):
        return "—"
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


MODEL_NAMES = {1: N_("unigram"), 2: N_("bigram"), 3: N_("trigram")}


def model_name(n: int) -> str:
    """An n-gram model's name in the session's language: bigram, trigram, 4-gram."""
    return t(MODEL_NAMES[n]) if n in MODEL_NAMES else t("{n}-gram", n=n)


@st.cache_resource(max_entries=16, show_spinner=False)
def split(fingerprint: str, _ds: data.Dataset) -> tuple[tuple[str, ...], ...]:
    """The lecture's 80/10/10 split of the words (random.seed(42), one shuffle), read-only."""
    return tuple(tuple(part) for part in data.split_words(_ds.words))


@st.cache_resource(max_entries=16, show_spinner=False)
def counts(fingerprint: str, n: int, _ds: data.Dataset, on: str = "all") -> torch.Tensor:
    """The (V**(n-1), V) count table over all words or over the train split (read-only)."""
    words = _ds.words if on == "all" else split(fingerprint, _ds)[0]
    return ngram.count_table(words, n, _ds.stoi, _ds.vocab_size)


@st.cache_resource(max_entries=8, show_spinner=False)
def probabilities(fingerprint: str, n: int, k: float, _ds: data.Dataset, on: str = "all"):
    """(N + k) with rows normalised, float32 as in the lecture (read-only)."""
    return ngram.probabilities(counts(fingerprint, n, _ds, on), k)


@dataclass(frozen=True)
class Curves:
    """NLL against every k of KS. train/dev/test: counted on the train split; all: on all words."""

    ks: tuple[float, ...]
    train: tuple[float, ...]
    dev: tuple[float, ...]
    test: tuple[float, ...]
    all: tuple[float, ...]

    def at(self, k: float) -> dict[str, float]:
        i = self.ks.index(k)
        return {
            "train": self.train[i],
            "dev": self.dev[i],
            "test": self.test[i],
            "all": self.all[i],
        }

    @property
    def best_k(self) -> float | None:
        """The k with the lowest dev NLL (None when the dev split is empty)."""
        finite = [(v, k) for k, v in zip(self.ks, self.dev, strict=True) if not math.isnan(v)]
        return min(finite)[1] if finite else None


def curves(fingerprint: str, n: int, ds: data.Dataset) -> Curves:
    """The NLL curves over KS, computed once per dataset and order (a spinner meanwhile)."""
    with st.spinner(t("Computing the NLL for every k…")):  # shows only if it takes 0.5 s
        return _curves(fingerprint, n, ds)


@st.cache_data(max_entries=16, show_spinner=False)
def _curves(fingerprint: str, n: int, _ds: data.Dataset) -> Curves:
    *_, te = split(fingerprint, _ds)
    curve = ngram.smoothing_curve(_ds.words, n, _ds.stoi, _ds.vocab_size, KS)
    test = ngram.nll_curve(counts(fingerprint, n, _ds, "train"), te, n, _ds.stoi, KS)
    everything = ngram.nll_curve(counts(fingerprint, n, _ds), _ds.words, n, _ds.stoi, KS)
    return Curves(KS, curve.train, curve.dev, tuple(test), tuple(everything))


def nlls(fingerprint: str, n: int, k: float, ds: data.Dataset) -> dict[str, float]:
    """train/dev/test (counted on train) and all (counted on all words) NLL at k."""
    if k in KS:
        return curves(fingerprint, n, ds).at(k)
    return _nlls(fingerprint, n, k, ds)


@st.cache_data(max_entries=64, show_spinner=False)
def _nlls(fingerprint: str, n: int, k: float, _ds: data.Dataset) -> dict[str, float]:
    out = ngram.split_nll(_ds.words, n, _ds.stoi, _ds.vocab_size, k)
    out["all"] = ngram.nll(probabilities(fingerprint, n, k, _ds), _ds.words, n, _ds.stoi)
    return out


@st.cache_data(max_entries=16, show_spinner=False)
def unseen_in_train(fingerprint: str, n: int, _ds: data.Dataset) -> list[tuple[str, int]]:
    """n-grams of the dev split that never occur in train, with how often dev has them."""
    _, dev, _ = split(fingerprint, _ds)
    train = counts(fingerprint, n, _ds, "train")
    dev_counts = ngram.count_table(dev, n, _ds.stoi, _ds.vocab_size)
    rows, cols = ((dev_counts > 0) & (train == 0)).nonzero(as_tuple=True)
    found = [
        (ngram.decode_context(r, n, _ds.itos) + _ds.itos[c], int(dev_counts[r, c]))
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True)
    ]
    return sorted(found, key=lambda x: (-x[1], x[0]))


@st.cache_data(max_entries=64, show_spinner=False)
def word_rank(fingerprint: str, n: int, k: float, word: str, _ds: data.Dataset):
    """Where the word's mean NLL falls among the dataset's words (ValueError if unencodable)."""
    P = probabilities(fingerprint, n, k, _ds)
    return ngram.word_rank(P, word, _ds.words, n, _ds.stoi)


def normalise_word(word: str, norm: data.Normalization) -> str:
    """A typed word cleaned the way the dataset's words were (case, accents; never split)."""
    words, _ = data.normalize([word], dataclasses.replace(norm, split_bilingual=False))
    return words[0] if words else word.strip()


# ---------------------------------------------------------------------------------------
# E04 / E05: the lecture's random W and the bigrams of one word


@st.cache_resource(max_entries=8, show_spinner=False)
def bigram_examples(fingerprint: str, _ds: data.Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """xs (N,) first characters and ys (N,) next characters of every bigram (read-only)."""
    X, Y = ngram.examples(_ds.words, 2, _ds.stoi)
    return X[:, 0], Y


@st.cache_data(max_entries=8, show_spinner=False)
def onehot_check(fingerprint: str, _ds: data.Dataset) -> float:
    """E04 over every bigram: max |one_hot(xs) @ W - W[xs]| for the lecture's W (~0.3 s)."""
    xs, _ = bigram_examples(fingerprint, _ds)
    return neural.onehot_matches_indexing(neural.lecture_W(_ds.vocab_size), xs)


@st.cache_data(max_entries=32, show_spinner=False)
def cross_entropy_all(
    fingerprint: str, scale: float, _ds: data.Dataset
) -> neural.CrossEntropyCheck:
    """E05 over every bigram: manual softmax + NLL and F.cross_entropy of scale * W[xs]."""
    xs, ys = bigram_examples(fingerprint, _ds)
    return neural.cross_entropy_check(scale * neural.lecture_W(_ds.vocab_size)[xs], ys)


# ---------------------------------------------------------------------------------------
# tabs in the session's language


def tabs(labels, key: str):
    """st.tabs with `labels` (English, marked with N_) in the session's language, bound to
    the URL. A tab's name is its widget value, so a link's or the session's tab named in
    another language (an English link opened in Spanish, the language switched) is renamed
    first: it opens the same tab."""
    shown = [t(label) for label in labels]
    names = {}
    for label, here in zip(labels, shown, strict=True):
        for lang in i18n.LANGUAGES:
            names[i18n.catalogue(lang).get(label, label)] = here
    value = st.session_state.get(key, st.query_params.get(key))
    if value in names and names[value] != value:
        st.session_state[key] = names[value]  # the widget then writes it into the URL
    return st.tabs(shown, key=key, bind="query-params")
