"""Export and import of runs (engine.export): files, weights-only import, standalone script.

Every run here is a few hundred steps of a small model on the bundled census names, so
the whole file takes seconds; the standalone scripts run as subprocesses.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import io
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from engine import data, models
from engine.export import files as export
from engine.export import load, script, standalone
from engine.models import ConfigError, DeepConfig, MLPConfig, WaveNetConfig
from engine.sample import sample_words
from engine.serve.records import FORMAT, Record, restore, snapshot
from engine.train import Job, TrainConfig, split_loss

ROOT = Path(__file__).resolve().parents[1]
CENSUS = data.load_builtin(data.DEFAULT_OFFLINE)
STEP = TrainConfig(steps=200, eval_every=50, lr_decay_step=100)

CASES = {  # name: (model, training, shuffles)
    "mlp": (
        MLPConfig(n_hidden=32, w1_scale=0.2, b1_scale=0.01, w2_scale=0.01, b2_scale=0.0),
        STEP,
        4,  # lecture 3's split
    ),
    "mlp-bn-kaiming": (
        MLPConfig(n_hidden=32, kaiming=True, w2_scale=0.01, b2_scale=0.0, batchnorm=True),
        TrainConfig(steps=200, eval_every=50, lr_decay_step=100, batch_seed=42),
        1,
    ),
    "deep": (
        DeepConfig(n_hidden=32, n_layers=3, gain=5 / 3),
        TrainConfig(steps=200, eval_every=0, lr_decay_step=100),
        1,
    ),
    "wavenet": (
        WaveNetConfig(block_size=8, n_embd=8, n_hidden=24),
        TrainConfig(steps=200, eval_every=100, seed=42),
        1,
    ),
    "adamw-cosine": (
        MLPConfig(block_size=4, n_embd=8, n_hidden=48, kaiming=True, b1_scale=0.01, direct=True),
        TrainConfig(
            steps=200,
            batch_size=64,
            lr=3e-3,
            lr_after=1e-4,
            optimizer="adamw",
            weight_decay=0.01,
            schedule="cosine",
            warmup=20,
            eval_every=100,
        ),
        1,
    ),
}
PLAIN = {"argparse", "hashlib", "math", "random", "sys", "torch", "torch.nn.functional"}


@functools.cache
def splits(block_size: int, shuffles: int) -> data.Splits:
    return data.make_splits(CENSUS, block_size, shuffles)


@functools.cache
def trained(name: str) -> Job:
    config, train, shuffles = CASES[name]
    job = Job(config, train, splits(config.block_size, shuffles), CENSUS.vocab_size)
    job.run()
    return job


def record_of(name: str) -> Record:
    return snapshot(trained(name), CENSUS)


# --- export -> import ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mlp", "mlp-bn-kaiming", "deep", "wavenet"])
def test_export_then_import_gives_identical_losses(name):
    job = trained(name)
    raw = export.model_bytes(snapshot(job, CENSUS))
    record = load.check(Record.from_bytes(raw))
    again = restore(record, job.splits)
    for split in ("train", "dev", "test"):
        assert again.evaluate(split) == job.evaluate(split) == job.final[split]
    assert again.final == job.final
    assert again.evals == job.evals
    assert again.step == job.step == 200


@pytest.mark.parametrize("name", ["mlp", "mlp-bn-kaiming", "deep", "wavenet"])
def test_the_imported_model_is_the_trained_one(name):
    """load.load_model (samples, import checks) gives the trained weights, bit for bit."""
    job = trained(name)
    model = load.load_model(Record.from_bytes(export.model_bytes(record_of(name))))
    model.eval()
    with torch.no_grad():
        for split in ("train", "dev", "test"):
            X, Y = job.splits.split(split)
            assert split_loss(model, X, Y) == job.final[split]


class Anything:
    """Any object: a weights-only load refuses to build it."""


def test_bad_files_are_refused():
    record = record_of("mlp")
    wrong_weights = Record(record.meta, record_of("mlp-bn-kaiming").state, record.lossi).to_bytes()
    no_vocabulary = Record(
        {k: v for k, v in record.meta.items() if k != "itos"}, record.state, record.lossi
    ).to_bytes()
    huge = dict(record.meta, model={**record.meta["model"], "n_hidden": 10**6})
    huge_model = Record(huge, record.state, record.lossi).to_bytes()
    strings = dict(record.meta, train={**record.meta["train"], "steps": "many"})
    bad_types = Record(strings, record.state, record.lossi).to_bytes()
    no_splits = Record(dict(record.meta, splits="names"), record.state, record.lossi).to_bytes()
    other = io.BytesIO()
    torch.save({"weight": torch.zeros(3), "bias": torch.ones(2)}, other)
    an_object = io.BytesIO()
    torch.save({"format": FORMAT, "meta": Anything()}, an_object)
    for raw in [
        b"",
        b"not a model at all",
        pickle.dumps(Anything()),
        an_object.getvalue(),
        other.getvalue(),
        wrong_weights,
        no_vocabulary,
        huge_model,
        bad_types,
        no_splits,
    ]:
        with pytest.raises(ConfigError):
            load.check(Record.from_bytes(raw))


EXECUTED: list[str] = []


def ran(message: str) -> None:
    EXECUTED.append(message)


class Payload:
    """A pickle that calls ran() when it is unpickled."""

    def __reduce__(self):
        return (ran, ("the pickle ran code",))


def test_importing_never_runs_code_from_the_file():
    as_torch_file = io.BytesIO()
    torch.save({"format": FORMAT, "meta": Payload()}, as_torch_file)
    for raw in (pickle.dumps({"format": FORMAT, "meta": Payload()}), as_torch_file.getvalue()):
        with pytest.raises(ConfigError):
            Record.from_bytes(raw)
    assert EXECUTED == []
    pickle.loads(pickle.dumps(Payload()))  # the payload does run when unpickled
    assert EXECUTED == ["the pickle ran code"]


# --- the files ---------------------------------------------------------------------------


def test_losses_csv_has_one_row_per_step_and_the_evaluations():
    job = trained("mlp")
    table = pd.read_csv(io.StringIO(export.losses_csv(record_of("mlp"))))
    assert list(table.columns) == list(export.CSV_COLUMNS)
    assert len(table) == job.step == 200
    assert table["step"].tolist() == list(range(1, 201))
    assert table["log10_loss"].tolist() == pytest.approx(job.lossi, abs=1e-6)
    assert table["loss"].tolist() == pytest.approx([10**x for x in job.lossi], rel=1e-6)
    evaluated = table.dropna(subset=["eval_dev"])
    assert evaluated["step"].tolist() == [e["step"] for e in job.evals] == [50, 100, 150, 200]
    assert evaluated["eval_dev"].tolist() == [e["dev"] for e in job.evals]
    assert table["eval_train"].iloc[-1] == job.final["train"]


def test_config_json_says_what_was_trained_and_what_it_reached():
    job = trained("adamw-cosine")
    doc = json.loads(export.config_json(record_of("adamw-cosine")))
    assert doc["dataset"]["name"] == CENSUS.name
    assert doc["dataset"]["fingerprint"] == CENSUS.fingerprint
    assert doc["dataset"]["shuffles"] == 1
    assert doc["model"]["kind"] == "mlp"
    assert doc["model"]["direct"] is True
    assert doc["train"]["optimizer"] == "adamw"
    assert doc["final"] == job.final
    assert doc["params"] == job.model.num_params()
    assert doc["steps"] == 200


def test_samples_text_are_the_engines_samples():
    job = trained("wavenet")
    lines = export.samples_text(record_of("wavenet"), n=10, seed=7).splitlines()
    assert lines[0].startswith("# 10 samples")
    assert "manual_seed(7)" in lines[1]
    assert lines[2:] == sample_words(job.model, CENSUS.itos, n=10, seed=7)


@pytest.mark.parametrize("key", ["us-census-1990", "spanish-municipalities"])
def test_words_text_is_the_dataset(key):
    ds = data.load_builtin(key)
    again = data.from_text(export.words_text(ds), "words.txt", data.Normalization(lowercase=False))
    assert again.words == ds.words
    assert again.fingerprint == ds.fingerprint


def test_filenames():
    names = export.filenames(record_of("mlp"), "MLP run #3 (kaiming)")
    assert names == {
        "model": "mlp-run-3-kaiming.pt",
        "config": "mlp-run-3-kaiming.json",
        "losses": "mlp-run-3-kaiming-losses.csv",
        "samples": "mlp-run-3-kaiming-samples.txt",
        "words": "us-census-1990-words.txt",
        "script": "train_mlp_run_3_kaiming.py",
    }


# --- the standalone script -----------------------------------------------------------------

FAMILY_CONFIGS = [
    MLPConfig(),
    MLPConfig(kaiming=True, batchnorm=True, direct=True, w2_scale=0.01, b2_scale=0.0),
    MLPConfig(block_size=4, n_embd=2, n_hidden=7, w1_scale=0.2, b1_scale=0.01, w2_scale=0.5),
    DeepConfig(),
    DeepConfig(batchnorm=False, nonlinearity="linear", gain=5 / 3, n_layers=2),
    WaveNetConfig(),
    WaveNetConfig(block_size=4, hierarchical=False),
    WaveNetConfig(bn_over_time=False),
]


def imported_modules(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module)
    return found


@pytest.mark.parametrize("config", FAMILY_CONFIGS, ids=repr)
def test_the_template_builds_every_family_with_the_engines_weights(config):
    """The same seed, the same draws: standalone.py's models are engine.models.build's."""
    engine_model = models.build(config, CENSUS.vocab_size, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        script_model = standalone.MODELS[config.kind](
            CENSUS.vocab_size, g, **dataclasses.asdict(config)
        )
    ours, theirs = engine_model.parameters(), script_model.parameters()
    assert [tuple(p.shape) for p in ours] == [tuple(p.shape) for p in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)
    X = splits(config.block_size, 1).Xtr[:64]
    for training in (True, False):  # batch statistics, then the running ones
        engine_model.train(training)
        script_model.train(training)
        assert torch.equal(engine_model(X)[0], script_model(X))


@pytest.mark.parametrize("config", FAMILY_CONFIGS, ids=repr)
def test_the_exported_script_is_plain_pytorch_for_its_family_only(config):
    """Untrained and never run here: it compiles, imports only torch and the stdlib, and
    keeps the code of its own family."""
    train = TrainConfig(steps=10, optimizer="adamw", schedule="cosine", warmup=2)
    job = Job(config, train, splits(config.block_size, 1), CENSUS.vocab_size)
    source = script.standalone_script(snapshot(job, CENSUS))
    compile(source, "train.py", "exec")
    assert imported_modules(source) <= PLAIN
    assert "engine" not in source
    assert "stopped after 0 of 10 steps" in source
    assert "# >>>" not in source
    assert "# <<<" not in source
    kept = {"mlp": "class MLP", "deep": "class DeepMLP", "wavenet": "class WaveNet"}
    for family, definition in kept.items():
        assert (definition in source) == (family == config.kind)
    assert f'family = "{config.kind}"' in source
    assert 'optimizer = "adamw"' in source


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
@pytest.mark.parametrize("name", ["mlp", "deep", "wavenet", "adamw-cosine"])
def test_the_exported_script_is_linted_and_formatted_like_the_repository(tmp_path, name):
    path = tmp_path / "train.py"
    path.write_text(script.standalone_script(record_of(name)), encoding="utf-8")
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        done = subprocess.run(
            ["ruff", *command, "--config", str(ROOT / "pyproject.toml"), str(path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_template_runs_as_it_is(tmp_path):
    """standalone.py is a real script: its own settings train the lecture's MLP."""
    (tmp_path / "words.txt").write_text(export.words_text(CENSUS), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(standalone.__file__), "words.txt", "--steps", "20"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=ONE_THREAD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "11897 parameters" in done.stdout  # the lecture's MLP on 27 characters
    assert re.search(r"^dev \d", done.stdout, re.MULTILINE)


ONE_THREAD = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run_script(tmp_path, source: str, words: str, *args: str):
    (tmp_path / "words.txt").write_text(words, encoding="utf-8")
    (tmp_path / "train.py").write_text(source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "train.py", "words.txt", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=ONE_THREAD,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.mark.reproduction
@pytest.mark.parametrize("name", list(CASES))
def test_the_standalone_script_reproduces_the_run(tmp_path, name):
    job, record = trained(name), record_of(name)
    done = run_script(tmp_path, script.standalone_script(record), export.words_text(CENSUS))
    assert "warning" not in done.stderr
    printed = dict(re.findall(r"^(train|dev|test) (\S+)$", done.stdout, re.MULTILINE))
    for split in ("train", "dev", "test"):
        assert float(printed[split]) == pytest.approx(job.final[split], abs=1e-4)
    assert "the playground: train" in done.stdout
    samples = done.stdout.splitlines()[-export.SAMPLE_COUNT :]
    expected = export.samples_text(record).splitlines()[2:]
    assert sum(a == b for a, b in zip(samples, expected, strict=True)) >= 18


def test_the_script_takes_steps_and_threads(tmp_path):
    source = script.standalone_script(record_of("mlp"))
    done = run_script(tmp_path, source, export.words_text(CENSUS), "--steps", "7", "--threads", "2")
    assert "2 thread(s)" in done.stdout
    assert re.search(r"^      0/      7: ", done.stdout, re.MULTILINE)
    assert "the playground: train" not in done.stdout  # 7 steps are not the run's 200


def test_the_script_warns_about_another_word_list(tmp_path):
    words = "".join(w + "\n" for w in CENSUS.words[:-1])
    done = run_script(tmp_path, script.standalone_script(record_of("mlp")), words, "--steps", "1")
    assert "is not the word list this run was trained on" in done.stderr
