"""Models, the training job and sampling: shapes, parameter counts and the lecture's first steps."""

import math

import pytest
import torch
import torch.nn.functional as F

from engine import data, models, train
from engine.layers import BatchNorm1d
from engine.lectures import LECTURE_SEED
from engine.models import DeepConfig, MLPConfig, WaveNetConfig
from engine.presets import PRESETS
from engine.sample import generate, sample_words
from engine.train import Job, TrainConfig
from tests.conftest import needs_names
from tests.printed import reads_as

TINY = data.from_text(
    "\n".join(["emma", "olivia", "ava", "isabella", "sophia", "mia"] * 20), "tiny"
)


def build(config, seed=LECTURE_SEED, V=27):
    return models.build(config, V, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("config", "params"),
    [
        (MLPConfig(), 11_897),  # lecture 3
        (MLPConfig(kaiming=True, batchnorm=True), 12_097),  # lecture 4, b1 dropped, BN added
        (DeepConfig(), 47_024),  # lecture 4, deep net
        (WaveNetConfig(), 76_579),  # lecture 6
        (WaveNetConfig(n_embd=10, n_hidden=200, hierarchical=False), 22_097),
    ],
)
def test_parameter_counts_match_the_lectures(config, params):
    assert build(config).num_params() == params


def test_wavenet_layer_shapes_are_the_lectures():
    model = build(WaveNetConfig(), seed=42)
    model(torch.zeros(32, 8, dtype=torch.long))
    shapes = [tuple(layer.out.shape) for layer in model.layers]
    assert shapes[0] == (32, 8, 24)
    assert shapes[1:5] == [(32, 4, 48), (32, 4, 128), (32, 4, 128), (32, 4, 128)]
    assert shapes[5:9] == [(32, 2, 256), (32, 2, 128), (32, 2, 128), (32, 2, 128)]
    assert shapes[9:] == [(32, 256), (32, 128), (32, 128), (32, 128), (32, 27)]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (WaveNetConfig(block_size=6), "power of two"),
        (MLPConfig(n_hidden=0), "n_hidden"),
        (DeepConfig(n_layers=0), "hidden layer"),
    ],
)
def test_impossible_configs_get_a_clear_error(config, message):
    with pytest.raises(models.ConfigError, match=message):
        build(config)


def test_batchnorm_needs_a_batch_of_two():
    splits = data.make_splits(TINY, 3)
    with pytest.raises(models.ConfigError, match="at least 2"):
        Job(MLPConfig(batchnorm=True), TrainConfig(batch_size=1), splits, TINY.vocab_size)


@pytest.mark.reproduction
@needs_names
@pytest.mark.parametrize("name", [n for n, p in PRESETS.items() if p.step0_loss])
def test_presets_first_minibatch_loss_is_the_lectures(names, name):
    """Same seeds in the same RNG order give the lecture's step-0 loss (e.g. 27.8817)."""
    p = PRESETS[name]
    job = Job(p.model, p.train, data.make_splits(names, p.model.block_size), names.vocab_size)
    assert reads_as(job.train_step(), f"{p.step0_loss:.4f}", units=0.6)  # measured: 0.41 units


def test_training_is_deterministic_and_resumable():
    splits = data.make_splits(TINY, 3)
    cfg = TrainConfig(steps=60, eval_every=20)
    one = Job(MLPConfig(n_hidden=20, batchnorm=True, kaiming=True), cfg, splits, TINY.vocab_size)
    one.run()
    two = Job(MLPConfig(n_hidden=20, batchnorm=True, kaiming=True), cfg, splits, TINY.vocab_size)
    while not two.done:  # stop and resume in small time slices
        two.train_for(0.001)
    assert one.lossi == two.lossi
    assert one.final == two.final
    assert [e["step"] for e in one.evals] == [20, 40, 60]
    assert one.final["train"] < 10 ** one.lossi[0]


@pytest.mark.parametrize(
    "config",
    [MLPConfig(), MLPConfig(kaiming=True, batchnorm=True), WaveNetConfig(n_embd=4, n_hidden=16)],
    ids=["mlp", "mlp-bn", "wavenet"],
)
def test_a_split_loss_is_the_mean_cross_entropy_of_every_example(names, config, monkeypatch):
    """One forward pass per distinct context (LossTable) gives torch's cross-entropy over
    every example of the split, in BatchNorm's evaluation mode; the model's mode is kept."""
    monkeypatch.setattr(train, "EVAL_CHUNK", 1000)  # several chunks
    splits = data.make_splits(names, config.block_size)
    job = Job(config, TrainConfig(steps=50, eval_every=0), splits, names.vocab_size)
    job.run()
    X, Y = splits.Xdev, splits.Ydev
    table = train.loss_table(X, Y)
    assert len(table.X) < len(Y)
    assert table.n.sum().item() == len(Y) == table.examples
    assert train.loss_table(X, Y, len(Y)) is table  # a sample of it all: built once
    with torch.no_grad(), models.eval_mode(job.model):
        expected = F.cross_entropy(job.model(X)[0].double(), Y).item()
    assert train.split_loss(job.model, X, Y) == pytest.approx(expected, abs=1e-6)
    assert job.evaluate("dev") == job.final["dev"] == pytest.approx(expected, abs=1e-6)
    assert job.evaluate("train", 500) == train.split_loss(
        job.model, splits.Xtr[:500], splits.Ytr[:500]
    )
    assert all(bn.training for bn in job.model.layers if isinstance(bn, BatchNorm1d))
    assert math.isnan(train.split_loss(job.model, X[:0], Y[:0]))


def test_train_for_respects_its_time_budget():
    job = Job(MLPConfig(), TrainConfig(steps=10**6), data.make_splits(TINY, 3), TINY.vocab_size)
    job.train_for(0.2)
    assert 0 < job.step < 10**6
    assert not job.done
    assert job.final is None
    assert job.seconds < 0.5


def test_learning_rate_decays_at_the_step():
    cfg = TrainConfig(lr=0.1, lr_after=0.01, lr_decay_step=100)
    assert (cfg.lr_at(99), cfg.lr_at(100)) == (0.1, 0.01)


def test_stats_record_update_ratios_for_every_parameter():
    job = Job(DeepConfig(n_layers=2), TrainConfig(steps=5), data.make_splits(TINY, 3), 27, True)
    job.run()
    assert len(job.ud) == 5
    assert len(job.ud[0]) == len(job.params)
    assert all(math.isfinite(v) for v in job.ud[-1])


def test_sampling_is_seeded_and_respects_temperature_and_top_k():
    model = build(MLPConfig(), V=TINY.vocab_size)
    a = sample_words(model, TINY.itos, n=10, seed=1)
    assert a == sample_words(model, TINY.itos, n=10, seed=1)
    assert a != sample_words(model, TINY.itos, n=10, seed=2)
    greedy = generate(model, 5, torch.Generator().manual_seed(0), top_k=1, max_len=20)
    assert all(row == greedy[0] for row in greedy)
    cold = generate(model, 5, torch.Generator().manual_seed(0), temperature=1e-3, max_len=20)
    assert cold == greedy
    with pytest.raises(ValueError, match="temperature"):
        generate(model, 1, torch.Generator(), temperature=0)
