"""The bigram count model against the lecture's numbers and a dictionary count."""

from collections import Counter

import pytest
import torch

from engine import data, likelihood
from engine.part1_bigrams import ngram
from engine.sample import sample_words
from tests.conftest import needs_names


def dict_counts(words):
    return Counter((a, b) for w in words for a, b in zip("." + w, w + ".", strict=True))


def test_count_matrix_agrees_with_a_dictionary_count():
    ds = data.load_builtin("spanish-municipalities")
    N = ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size)
    for (a, b), n in dict_counts(ds.words).items():
        assert N[ds.stoi[a], ds.stoi[b]] == n
    assert N.sum() == sum(len(w) + 1 for w in ds.words)


@pytest.mark.reproduction
@needs_names
def test_names_counts_are_the_lectures(names):
    N = ngram.count_table(names.words, 2, names.stoi, 27)
    assert N.sum() == 228_146
    assert (N > 0).sum() == 627
    assert (N == 0).sum() == 102
    s = names.stoi
    assert (N[s["n"], 0], N[s["a"], 0], N[s["a"], s["n"]], N[0, s["a"]]) == (6763, 6640, 5438, 4410)
    p = ngram.probabilities(N, 0)[0]  # the first-letter distribution of cell 13
    assert p[s["a"]].item() == pytest.approx(0.1377, abs=1e-4)


@pytest.mark.reproduction
@needs_names
def test_names_nll_is_the_lectures(names):
    N = ngram.count_table(names.words, 2, names.stoi, 27)
    assert ngram.nll(ngram.probabilities(N, 0), names.words, 2, names.stoi) == pytest.approx(
        2.4540, abs=5e-5
    )
    assert ngram.nll(ngram.probabilities(N, 1), names.words, 2, names.stoi) == pytest.approx(
        2.4546, abs=5e-5
    )


def test_unseen_bigram_has_infinite_loss_without_smoothing():
    ds = data.from_text("ab\nba\n", "x")
    P0 = ngram.probabilities(ngram.count_table(["ab"], 2, ds.stoi, ds.vocab_size), 0)
    assert ngram.nll(P0, ["ba"], 2, ds.stoi) == float("inf")
    P1 = ngram.probabilities(ngram.count_table(["ab"], 2, ds.stoi, ds.vocab_size), 1)
    assert ngram.nll(P1, ["ba"], 2, ds.stoi) < float("inf")
    torch.testing.assert_close(P1.sum(1), torch.ones(ds.vocab_size))


def test_word_walkthrough_gives_each_bigrams_probability():
    ds = data.from_text("emma\n", "x")
    P = ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 0)
    rows = likelihood.word_logprobs(ngram.NGramModel(P, 2), "emma", ds.stoi)
    assert [r["context"] + r["next"] for r in rows] == [".e", "em", "mm", "ma", "a."]
    assert [r["p"] for r in rows] == pytest.approx([1, 1, 0.5, 0.5, 1])


def test_sampling_the_count_model_only_makes_seen_bigrams():
    ds = data.from_text("anna\nhannah\n", "x")
    P = ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 0)
    seen = dict_counts(ds.words)
    for w in sample_words(ngram.NGramModel(P, 2), ds.itos, n=50, seed=3):
        assert all(pair in seen for pair in zip("." + w, w + ".", strict=True))
