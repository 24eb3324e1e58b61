"""Engine tools of lesson 2: the learning-rate sweep, embedding projections, likelihoods."""

import math

import pytest
import torch

from engine import data, likelihood, models
from engine.lectures import LECTURE_SEED
from engine.models import MLPConfig
from engine.part1_bigrams import ngram
from engine.part2_mlp import embeddings, lr_finder

TINY = data.from_text(
    "\n".join(["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia"] * 30), "t"
)


def test_sweep_takes_one_step_per_rate_on_a_log_grid():
    splits = data.make_splits(TINY, 3)
    sw = lr_finder.sweep(MLPConfig(w2_scale=0.01, b2_scale=0.0), splits, TINY.vocab_size, steps=200)
    assert len(sw.losses) == len(sw.exponents) == 200
    assert sw.exponents[0] == pytest.approx(-3)
    assert sw.exponents[-1] == pytest.approx(0)
    assert -3 <= sw.best_exponent <= 0
    assert sw.suggested_lr == pytest.approx(10**sw.best_exponent)
    # the valley is lower than the start: small rates barely move the loss
    i = sw.exponents.index(sw.best_exponent)
    assert sw.smoothed[i] < sw.smoothed[0]


def test_sweep_rejects_impossible_ranges():
    splits = data.make_splits(TINY, 3)
    with pytest.raises(models.ConfigError):
        lr_finder.sweep(MLPConfig(), splits, TINY.vocab_size, lo=0, hi=-3)
    with pytest.raises(models.ConfigError):
        lr_finder.sweep(MLPConfig(), splits, TINY.vocab_size, steps=3)


def test_smooth_is_a_centred_moving_average():
    assert lr_finder.smooth([0, 0, 3, 0, 0], 3) == pytest.approx([0, 1, 1, 1, 0])


def test_pca_projection_is_the_top_two_covariance_eigenvectors_up_to_sign():
    C = torch.randn(27, 10, generator=torch.Generator().manual_seed(0))
    xy = embeddings.project(C)
    centred = C - C.mean(0)
    _, vecs = torch.linalg.eigh(centred.T @ centred)  # eigenvalues ascending
    ref = centred @ vecs[:, [-1, -2]]
    for k in range(2):
        assert torch.allclose(xy[:, k].abs(), ref[:, k].abs(), atol=1e-4)
    assert sum(embeddings.explained_variance(C)) == pytest.approx(1.0)
    assert torch.equal(embeddings.project(C, (3, 7)), C[:, [3, 7]])
    two = torch.randn(5, 2)
    assert torch.equal(embeddings.project(two), two)


def test_nearest_characters_by_cosine_similarity():
    C = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    near = embeddings.nearest(C, [".", "a", "b", "c"], k=2)
    assert near["."][0][0] == "a"
    assert near["c"][-1][0] in {"a", "b"}
    assert near["a"][0][1] == pytest.approx(0.9 / math.hypot(0.9, 0.1), abs=1e-3)


def test_character_kinds_for_colouring():
    assert [embeddings.kind(c) for c in [".", "a", "á", "b", "ñ", " ", "'"]] == [
        "end", "vowel", "vowel", "consonant", "consonant", "other", "other",
    ]  # fmt: skip


def test_word_logprobs_of_the_bigram_model_are_the_count_table():
    ds = data.from_text("emma\nanna\n", "x")
    P = ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 1)
    rows = likelihood.word_logprobs(ngram.NGramModel(P, 2), "emma", ds.stoi)
    pairs = [".e", "em", "mm", "ma", "a."]
    assert [r["context"] + r["next"] for r in rows] == pairs
    assert [r["p"] for r in rows] == [P[ds.stoi[a], ds.stoi[b]].item() for a, b in pairs]
    assert likelihood.mean_nll(rows) == pytest.approx(
        sum(-math.log(r["p"]) for r in rows) / len(pairs)
    )
    with pytest.raises(ValueError, match="vocabulary"):
        likelihood.word_logprobs(ngram.NGramModel(P, 2), "zoe", ds.stoi)


def test_direct_connections_add_a_linear_path_and_keep_the_lecture_draws():
    g = lambda: torch.Generator().manual_seed(LECTURE_SEED)  # noqa: E731
    plain, direct = (
        models.build(MLPConfig(), 27, g()),
        models.build(MLPConfig(direct=True), 27, g()),
    )
    assert direct.num_params() == plain.num_params() + 30 * 27
    for p, q in zip(plain.parameters(), direct.parameters(), strict=False):
        assert torch.equal(p, q)  # the lecture's tensors are drawn first, unchanged
    x = torch.randint(0, 27, (4, 3))
    direct.layers[2].weight.data.zero_()
    assert torch.allclose(direct(x)[0], plain(x)[0])
