"""The model zoo: makemore.py's families, its data handling and its numbers.

makemore.py's own numbers were recorded from side runs of it (engine.zoo.peer,
scripts/zoo_side_by_side.py) as plain numbers; this suite never imports its code.
"""

import json
import pickle
import subprocess
import sys

import pytest
import torch

from engine import data
from engine.models import ConfigError
from engine.serve.records import Record, restore, run_key, snapshot
from engine.zoo import data as zoo_data
from engine.zoo import sample as zoo_sample
from engine.zoo import views
from engine.zoo.job import ZooJob, makemore_train
from engine.zoo.models import FAMILIES, ZooConfig, build, count_params, validate
from tests.conftest import needs_names

TINY = data.from_text(
    "\n".join(["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "zoe"] * 30), "t"
)

# makemore.py's "model #params" at its defaults on names (V = 27, block size 16)
MAKEMORE_PARAMS = {
    "bigram": 729,
    "mlp": 69_147,
    "rnn": 11_803,
    "gru": 28_315,
    "bow": 12_827,
    "transformer": 204_544,
}
# its first three minibatch losses with seed 3407 on names (train_step of its loop)
MAKEMORE_LOSSES = {
    "bigram": (3.295837, 3.295446, 3.295072),
    "mlp": (3.371656, 3.210865, 3.078552),
    "rnn": (3.345554, 3.306230, 3.290854),
    "gru": (3.308203, 3.300338, 3.303965),
    "bow": (4.163482, 4.069748, 3.995915),
    "transformer": (3.512280, 3.407831, 3.407191),
}


def makemore_formula(family, V, T, C=64, C2=64, L=4):
    """makemore.py's modules' sizes, written out module by module."""
    linear = lambda i, o, bias=True: i * o + (o if bias else 0)  # noqa: E731
    if family == "bigram":
        return V * V
    if family == "mlp":
        return (V + 1) * C + linear(T * C, C2) + linear(C2, V)
    if family in ("rnn", "gru"):
        cells = 1 if family == "rnn" else 3
        return C2 + V * C + cells * linear(C + C2, C2) + linear(C2, V)
    if family == "bow":
        return V * C + T * C + linear(C, C2) + linear(C2, C) + linear(C, V)
    block = 2 * C + linear(C, 3 * C) + linear(C, C) + 2 * C + linear(C, 4 * C) + linear(4 * C, C)
    return V * C + T * C + L * block + 2 * C + linear(C, V, bias=False)


@pytest.mark.parametrize("family", FAMILIES)
def test_parameter_counts_are_makemores(family):
    assert count_params(ZooConfig(family=family), 27) == MAKEMORE_PARAMS[family]
    for V, T, C, C2, L, H in [(27, 16, 64, 64, 4, 4), (45, 45, 32, 48, 2, 8), (5, 3, 8, 4, 1, 1)]:
        cfg = ZooConfig(family=family, block_size=T, n_embd=C, n_embd2=C2, n_layer=L, n_head=H)
        built = build(cfg, V, torch.Generator().manual_seed(0)).num_params()
        assert built == count_params(cfg, V) == makemore_formula(family, V, T, C, C2, L)


def test_makemores_split_and_sequences():
    train, test = zoo_data.split_words(list(TINY.words))
    assert len(test) == zoo_data.test_size(len(TINY.words)) == 24  # 10 % of 240
    assert zoo_data.test_size(32_033) == 1000
    assert sorted(train + test) == sorted(TINY.words)
    X, Y = zoo_data.sequences(["ava", "mia"], TINY.stoi, 5)
    ava = TINY.encode("ava")
    assert X[0].tolist() == [0, *ava, 0]
    assert Y[0].tolist() == [*ava, 0, -1]  # the end token, then nothing to predict
    splits = zoo_data.make_splits(TINY)
    assert splits.Xtr.shape[1] == zoo_data.block_size(TINY) == 9  # "isabella" + start
    assert splits.Xdev is splits.Xte  # makemore.py has no dev set


@needs_names
@pytest.mark.parametrize("family", FAMILIES)
def test_first_losses_equal_makemores_for_the_same_seed(names, family):
    """Same split, same weights, same minibatches: makemore.py's first three losses."""
    job = ZooJob(ZooConfig(family=family), makemore_train(3), zoo_data.make_splits(names), 27)
    assert job.step0_loss() == pytest.approx(MAKEMORE_LOSSES[family][0], abs=2e-6)
    losses = [job.train_step() for _ in range(3)]
    assert losses == pytest.approx(MAKEMORE_LOSSES[family], abs=2e-5)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (ZooConfig(n_embd=30, n_head=4), "divisible by n_head"),
        (ZooConfig(block_size=66), "block_size must be between 1 and 65"),
        (ZooConfig(n_layer=0), "n_layer must be between"),
        (ZooConfig(family="lstm"), "Unknown family"),
    ],
)
def test_bad_sizes_get_a_clear_message(cfg, message):
    with pytest.raises(ConfigError, match=message):
        validate(cfg, 27)


def test_block_size_shorter_than_the_longest_word_is_refused():
    with pytest.raises(ConfigError, match="too short for this dataset"):
        ZooJob(ZooConfig(block_size=4), makemore_train(1), zoo_data.make_splits(TINY), 27)


def small(family, steps=40):
    cfg = ZooConfig(family=family, block_size=9, n_layer=2, n_head=2, n_embd=16, n_embd2=16)
    return ZooJob(cfg, makemore_train(steps, eval_every=20), zoo_data.make_splits(TINY), TINY.vocab_size)  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_learns_and_travels(family):
    job = small(family)
    start = job.evaluate("train")
    job.train_for(60)
    assert job.done
    assert job.final["train"] < start
    assert job.final["dev"] == job.final["test"]
    assert [e["step"] for e in job.evals] == [20, 40]
    again = pickle.loads(pickle.dumps(job))  # the training service pickles it
    assert again.evaluate("test") == pytest.approx(job.final["test"])


def test_run_cache_record_restores_a_zoo_job():
    job = small("gru", steps=5)
    job.run()
    record = Record.from_bytes(snapshot(job, TINY).to_bytes())
    assert record.key == run_key(job.splits.key, job.config, job.train_config)
    back = restore(record, job.splits)
    assert isinstance(back, ZooJob)
    assert back.config == job.config
    assert back.evaluate("test") == pytest.approx(job.final["test"], abs=1e-6)


def test_samples_are_seeded_and_sorted_as_makemore_sorts_them():
    job = small("transformer", steps=5)
    words = zoo_sample.sample_words(job.model, TINY.itos, 30, seed=1)
    assert words == zoo_sample.sample_words(job.model, TINY.itos, 30, seed=1)
    assert all(len(w) <= job.config.block_size - 1 for w in words)
    piles = zoo_sample.sort_samples(["emma", "zoe", "xyz"], {"emma"}, {"zoe", "emma"})
    assert piles == {"in train": ["emma"], "in test": ["zoe"], "new": ["xyz"]}


def test_views_attention_rows_sum_to_one_and_gates_lie_in_0_1():
    tr = small("transformer", steps=2)
    att = views.attention(tr.model, TINY, "emma")
    assert len(att) == 2
    assert att[0].shape == (2, 5, 5)
    assert torch.allclose(att[1].sum(-1), torch.ones(2, 5))
    assert float(att[0][0].triu(1).abs().max()) == 0  # no position looks ahead
    gru = small("gru", steps=2)
    states = views.recurrent(gru.model, TINY, "ava")
    assert states["hidden"].shape == (4, 16)
    assert states["update"].shape == (4, 16)
    assert float(states["update"].min()) > 0
    assert float(states["update"].max()) < 1
    assert views.recurrent(small("rnn", 1).model, TINY, "ava")["update"] is None


def test_cli_trains_a_family_with_json(tmp_path):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(TINY.words))
    run = [sys.executable, "-m", "engine", "train", "--file", str(words), "--type", "rnn"]
    out = subprocess.run([*run, "--steps", "20", "--json", "--quiet"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["params"] == count_params(ZooConfig("rnn", block_size=9), TINY.vocab_size)
    assert {"train", "test", "steps"} <= summary.keys()
    assert summary["steps"] == 20
    again = subprocess.run([*run, "--steps", "20", "--json", "--quiet"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert "run cache" in again.stderr
    assert json.loads(again.stdout)["test"] == summary["test"]
    bad = subprocess.run([*run, "--n-embd", "30", "--type", "transformer"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 1
    assert "divisible by n_head" in bad.stderr


def test_export_import_and_the_standalone_script_of_a_zoo_run(tmp_path):
    from engine.export import files, load, script

    job = small("gru", steps=30)
    job.run()
    record = load.check(Record.from_bytes(snapshot(job, TINY).to_bytes()))
    assert "makemore.py's" in json.loads(files.config_json(record))["dataset"]["split"]
    assert files.losses_csv(record).count("\n") == 31  # header + 30 steps
    assert len(files.samples_text(record, n=5).splitlines()) == 2 + 5
    source = script.standalone_script(record, "words.txt", "train_gru.py")
    assert 'family = "gru"' in source
    assert "class Recurrent" in source
    assert "class Transformer" not in source
    (tmp_path / "train_gru.py").write_text(source)
    (tmp_path / "words.txt").write_text(files.words_text(TINY))
    out = subprocess.run([sys.executable, "train_gru.py", "words.txt"], cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    printed = dict(line.split()[:2] for line in out.stdout.splitlines() if line.startswith(("train ", "test ")))  # fmt: skip
    assert float(printed["train"]) == pytest.approx(job.final["train"], abs=1e-5)
    assert float(printed["test"]) == pytest.approx(job.final["test"], abs=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_standalone_families_start_from_the_zoos_weights(family, monkeypatch):
    """Each family of the exported script builds the zoo's model: same parameters, same
    first loss on the same batch."""
    from engine.export import standalone_zoo

    cfg = ZooConfig(family=family, block_size=9, n_layer=2, n_head=2, n_embd=16, n_embd2=12)
    mine = build(cfg, TINY.vocab_size, torch.Generator().manual_seed(5))
    monkeypatch.setattr(standalone_zoo, "family", family)
    sizes = {k: v for k, v in cfg.__dict__.items() if k != "family"}
    theirs = standalone_zoo.MODELS[family](TINY.vocab_size, torch.Generator().manual_seed(5), **sizes)  # fmt: skip
    assert [p.shape for p in theirs.parameters()] == [p.shape for p in mine.parameters()]
    X, Y = zoo_data.make_splits(TINY).Xtr[:16], zoo_data.make_splits(TINY).Ytr[:16]
    with torch.no_grad():
        assert standalone_zoo.split_loss(theirs, X, Y) == pytest.approx(mine(X, Y)[1].item(), abs=1e-5)  # fmt: skip


def test_the_service_prices_a_zoo_step_by_its_positions():
    from engine.serve.estimate import Speed
    from engine.serve.service import TrainingService

    job = small("transformer", steps=100)
    assert job.examples_per_step == 32 * 9
    service = TrainingService.__new__(TrainingService)  # only its estimate, no workers
    service.speed = Speed(per_step=0.0, per_unit=1e-9)
    assert service.estimate(job) == pytest.approx(100 * 1e-9 * job.model.num_params() * 32 * 9)
