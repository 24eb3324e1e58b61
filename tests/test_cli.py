"""The command line, as a teacher preparing a class would use it."""

import json
import subprocess
import sys

import pytest

from tests.conftest import needs_names


def cli(*args, check=True):
    out = subprocess.run(
        [sys.executable, "-m", "engine", *args], capture_output=True, text=True, timeout=300
    )
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_lists_datasets_and_presets():
    assert "spanish-municipalities" in cli("datasets").stdout
    listing = cli("presets").stdout
    assert "part3-batchnorm" in listing
    assert "2.1057" in listing


@pytest.mark.reproduction
@needs_names
def test_bigram_json_reproduces_the_lecture():
    raw = json.loads(cli("bigram", "--dataset", "names", "--smoothing", "0", "--json").stdout)
    smoothed = json.loads(cli("bigram", "--dataset", "names", "--smoothing", "1", "--json").stdout)
    assert raw["all"] == pytest.approx(2.4540, abs=5e-5)
    assert smoothed["all"] == pytest.approx(2.4546, abs=5e-5)
    assert raw["dev"] == float("inf")  # an unseen bigram without smoothing
    assert {"all", "train", "dev", "test"} <= smoothed.keys()


@pytest.mark.reproduction
@needs_names
def test_train_json_deep_preset_reproduces_the_lecture():
    out = cli("train", "--dataset", "names", "--preset", "part3-deep-bn", "--json")
    result = json.loads(out.stdout)
    assert result["train"] == pytest.approx(2.4003, abs=1e-4)
    assert result["dev"] == pytest.approx(2.3982, abs=1e-4)
    assert (result["steps"], result["params"]) == (1001, 47_024)
    assert {"test", "seconds"} <= result.keys()
    assert "1001/1001" in out.stderr  # the progress bar


def test_train_on_a_file_with_flags(tmp_path):
    f = tmp_path / "pueblos.txt"
    f.write_text("Ávila\nPeñíscola\nA Coruña\nLleida\nOurense\n" * 10, encoding="utf-8")
    out = cli(
        "train", "--file", str(f), "--n-hidden", "16", "--steps", "50", "--json", "--samples", "3"
    )
    result = json.loads(out.stdout)
    assert result["steps"] == 50
    assert len(result["samples"]) == 3


def test_sample_is_seeded():
    args = (
        "sample",
        "--dataset",
        "us-census-1990",
        "--n",
        "5",
        "--seed",
        "7",
        "--temperature",
        "0.8",
    )
    first = cli(*args).stdout.split()
    assert len(first) == 5
    assert first == cli(*args).stdout.split()


@pytest.mark.parametrize(
    "args",
    [
        ("train", "--file", "/no/such/file.txt"),
        ("train", "--dataset", "us-census-1990", "--model", "wavenet", "--block-size", "6"),
        ("train", "--steps", "-5"),
        ("sample", "--temperature", "0"),
        ("train", "--n-hidden", "1000000"),
        ("train", "--lr", "fast"),
        ("train", "--preset", "no-such-preset"),
        ("frobnicate",),
        ("train", "--device", "tpu"),
    ],
)
def test_bad_input_exits_non_zero_with_a_one_line_error(args):
    out = cli(*args, check=False)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith(("error:", "python -m engine"))
