"""WaveNet (lecture 6): the layer-shape table, the performance log, BatchNorm over time."""

import pytest
import torch

from engine import data
from engine import part5_wavenet as wavenet
from engine.models import WaveNetConfig
from engine.presets import PRESETS
from engine.train import Job
from tests.printed import reads_as


def batch(block_size=8, n=32, seed=0):
    return torch.randint(0, 27, (n, block_size), generator=torch.Generator().manual_seed(seed))


def test_layer_table_is_the_lectures():
    rows = wavenet.layer_table(wavenet.build(WaveNetConfig(), 27), batch())
    assert [r["output shape"] for r in rows] == [
        "(32, 8, 24)",
        "(32, 4, 48)", "(32, 4, 128)", "(32, 4, 128)", "(32, 4, 128)",
        "(32, 2, 256)", "(32, 2, 128)", "(32, 2, 128)", "(32, 2, 128)",
        "(32, 256)", "(32, 128)", "(32, 128)", "(32, 128)",
        "(32, 27)",
    ]  # fmt: skip
    assert [r["layer"] for r in rows[:5]] == [
        "Embedding(27, 24)",
        "FlattenConsecutive(2)",
        "Linear(48, 128, bias=False)",
        "BatchNorm1d(128)",
        "Tanh()",
    ]
    assert rows[-1]["layer"] == "Linear(128, 27)"
    assert sum(r["parameters"] for r in rows) == 76_579
    assert rows[3]["BatchNorm statistics"] == "over dims (0, 1): mean, var (1, 1, 128)"
    assert rows[11]["BatchNorm statistics"] == "over dim 0: mean, var (1, 128)"


def test_the_bug_keeps_statistics_per_position():
    model = wavenet.build(WaveNetConfig(bn_over_time=False), 27)
    rows = wavenet.layer_table(model, batch())
    assert rows[3]["BatchNorm statistics"] == "over dim 0: mean, var (1, 4, 128)"
    assert tuple(model.layers[3].running_mean.shape) == (1, 4, 128)  # what the bug stores
    fixed = wavenet.build(WaveNetConfig(), 27)
    wavenet.layer_table(fixed, batch())
    assert tuple(fixed.layers[3].running_mean.shape) == (1, 1, 128)


def test_performance_log_rebuilds_each_experiment():
    params = [wavenet.build(row.config, 27).num_params() for row in wavenet.PERFORMANCE_LOG]
    assert params == [12_097, 22_097, 22_397, 22_397, 76_579]  # "12K", "22K", "22K", "76K"
    assert [(r.train, r.dev) for r in wavenet.PERFORMANCE_LOG][-1] == (1.769, 1.993)
    assert wavenet.PERFORMANCE_LOG[-1].config == PRESETS["part5-wavenet"].model
    assert not wavenet.PERFORMANCE_LOG[2].config.bn_over_time
    assert wavenet.PERFORMANCE_LOG[3].config.bn_over_time


def test_time_stats_per_position_vs_shared_without_touching_the_model():
    model = wavenet.build(WaveNetConfig(), 27)
    X = batch()
    before = [
        layer.running_mean.clone() for layer in model.layers if hasattr(layer, "running_mean")
    ]
    stats = wavenet.time_stats(model, X, channels=16)
    after = [layer.running_mean for layer in model.layers if hasattr(layer, "running_mean")]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert (stats.batch, stats.positions) == (32, 4)
    assert len(stats.per_position_mean) == 4
    assert len(stats.shared_mean) == 16
    x = model.layers[0].weight[X].view(32, 4, 48) @ model.layers[2].weight
    assert stats.shared_mean == pytest.approx(x[:, :, :16].mean((0, 1)).tolist(), abs=1e-5)
    per_position_average = torch.tensor(stats.per_position_mean).mean(0)
    assert per_position_average.tolist() == pytest.approx(stats.shared_mean, abs=1e-5)
    assert wavenet.time_stats(wavenet.build(wavenet.PERFORMANCE_LOG[1].config, 27), X) is None


@pytest.mark.reproduction
def test_preset_first_minibatch_loss_through_the_pages_job(names):
    """The page's defaults are the part5-wavenet preset: its first loss is the lecture's 3.3167
    (the whole run, 1.7690 / 1.9937, is tests/test_presets_slow.py)."""
    p = PRESETS["part5-wavenet"]
    job = Job(p.model, p.train, data.make_splits(names, 8), names.vocab_size)
    assert reads_as(job.train_step(), "3.3167", units=0.6)
    assert p.expected == (1.7690, 1.9937)
