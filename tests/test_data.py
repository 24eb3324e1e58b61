"""Datasets: the lecture's vocabulary and split, the built-ins, uploads and names.txt lookup."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine import data, wordfile
from tests.conftest import needs_names


def test_vocabulary_is_dot_then_sorted_characters():
    ds = data.from_text("emma\nolivia\nava\n", "tiny")
    assert ds.itos == [".", "a", "e", "i", "l", "m", "o", "v"]
    assert ds.stoi["."] == 0
    assert ds.vocab_size == 8
    assert ds.decode(ds.encode("olivia")) == "olivia"


def test_examples_are_left_padded_contexts_ending_in_dot():
    ds = data.from_text("emma\n", "tiny")
    X, Y = data.build_examples(ds.words, 3, ds.stoi)
    contexts = ["".join(ds.itos[i] for i in row) for row in X.tolist()]
    assert contexts == ["...", "..e", ".em", "emm", "mma"]
    assert ds.decode(Y.tolist()) == "emma."


@needs_names
def test_names_split_is_the_lectures(names):
    assert len(names.words) == 32_033
    assert names.vocab_size == 27
    tr, dev, te = data.split_words(names.words)
    assert tr[:3] == ["yuheng", "diondre", "xavien"]
    assert (len(tr), len(dev), len(te)) == (25_626, 3_203, 3_204)
    assert data.make_splits(names, 3).sizes() == (182_625, 22_655, 22_866)
    assert data.make_splits(names, 8).sizes() == (182_625, 22_655, 22_866)
    # lecture 3's notebook ran its shuffle cell four times
    assert data.make_splits(names, 3, shuffles=4).sizes() == (182_441, 22_902, 22_803)


def test_spanish_municipalities_keep_accents_spaces_and_split_bilingual_names():
    ds = data.load_builtin("spanish-municipalities")
    assert ds.normalization.split_bilingual
    assert {"agurain", "salvatierra", "el ballestero", "l'alfàs del pi"} <= set(ds.words)
    assert {"ñ", "á", "ü", " ", "-", "'"} <= set(ds.chars)
    assert 40 <= ds.vocab_size <= 50
    unsplit = data.load_builtin("spanish-municipalities", data.Normalization())
    assert "agurain/salvatierra" in unsplit.words
    assert len(unsplit.words) == 8_133 < len(ds.words)
    plain = data.load_builtin("spanish-municipalities", data.Normalization(strip_accents=True))
    assert "l'alfas del pi" in plain.words
    assert "ñ" not in plain.chars
    cased = data.load_builtin("spanish-municipalities", data.Normalization(lowercase=False))
    assert "Agurain/Salvatierra" in cased.words


def test_census_names_are_the_offline_default():
    ds = data.load_builtin(data.DEFAULT_OFFLINE)
    assert len(ds.words) == 5_163
    assert ds.vocab_size == 27
    assert {"mary", "james", "john"} <= set(ds.words)


def test_fingerprint_follows_content_and_normalisation():
    a = data.from_text("José\nMaría\n", "a")
    assert a.fingerprint == data.from_text("josé\nmaría\n", "other name").fingerprint
    stripped = data.from_text("José\nMaría\n", "a", data.Normalization(strip_accents=True))
    assert stripped.words == ("jose", "maria")
    assert stripped.fingerprint != a.fingerprint


def test_upload_with_accents_bom_crlf_and_blank_lines():
    ds = wordfile.from_bytes("\ufeffÁvila\r\n\r\n  Peñíscola \r\nA Coruña\n".encode(), "mine.txt")
    assert ds.words == ("ávila", "peñíscola", "a coruña")
    assert dict(ds.dropped) == {"empty line": 1}


def test_bad_uploads_raise_a_clear_error():
    with pytest.raises(data.DatasetError, match="binary"):
        wordfile.from_bytes(b"\x00\x01\x02", "x.bin")
    with pytest.raises(data.DatasetError, match="empty"):
        wordfile.from_bytes(b"\n \n", "blank.txt")


def test_words_containing_the_end_token_are_dropped_and_counted():
    ds = data.from_text("st. louis\nparis\n", "x")
    assert ds.words == ("paris",)
    assert "reserved" in ds.dropped[0][0]


def test_names_txt_is_looked_up_in_the_data_dir_then_downloaded_once(tmp_path, monkeypatch):
    monkeypatch.setenv("MAKEMORE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MAKEMORE_OFFLINE", raising=False)
    calls = []

    def fake_urlopen(url, timeout):
        calls.append((url, timeout))
        return io.BytesIO(b"emma\nolivia\n")

    monkeypatch.setattr(data.urllib.request, "urlopen", fake_urlopen)
    assert data.load_builtin("names").words == ("emma", "olivia")
    assert (tmp_path / "names.txt").read_bytes() == b"emma\nolivia\n"
    data.load_builtin("names")
    assert len(calls) == 1
    assert calls[0][1] <= 10


def test_offline_names_txt_says_so_plainly(tmp_path, monkeypatch):
    monkeypatch.setenv("MAKEMORE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MAKEMORE_OFFLINE", raising=False)

    def no_network(url, timeout):
        raise OSError("Name or service not known")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    with pytest.raises(data.DatasetError, match="could not be downloaded"):
        data.load_builtin("names")
    assert not (tmp_path / "names.txt").exists()
    monkeypatch.setenv("MAKEMORE_OFFLINE", "1")
    with pytest.raises(data.DatasetError, match="switched off"):
        data.names_txt()


def test_engine_import_uses_one_thread_unless_overridden():
    code = "import engine, torch; print(torch.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k != "MAKEMORE_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "1"
    env["MAKEMORE_THREADS"] = "2"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "2"


def test_the_app_loads_torch_after_engine_set_one_thread_for_every_thread():
    """OpenMP and MKL read their thread counts once, when torch loads; Streamlit's script
    threads only get one thread if engine set the variables before anything loaded torch."""
    code = (
        "import os, sys\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' and 'torch' not in sys.modules:\n"
        "            print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'))\n"
        "sys.meta_path.insert(0, Watch())\n"
        "import app\n"
    )
    skip = ("MAKEMORE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k not in skip}
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
    )
    assert out.stdout.splitlines()[0] == "1 1", out.stderr


def test_examples_are_int64_tensors_even_when_empty():
    X, Y = data.build_examples(["ab"], 2, {".": 0, "a": 1, "b": 2})
    assert X.dtype == Y.dtype == torch.long
    X, Y = data.build_examples([], 2, {".": 0})
    assert X.shape == (0, 2)
    assert Y.dtype == torch.long


def test_a_splits_key_is_its_text_and_back():
    ds = data.from_text("emma\nava\n", "tiny")
    splits = data.make_splits(ds, 4, 3)
    key = data.SplitsKey.parse(splits.key)
    assert key == data.SplitsKey(ds.fingerprint, 4, 3)
    assert str(key) == splits.key
    for text in ("", "names", "fp:3", "fp:x:1", "fp:3:-1"):
        assert data.SplitsKey.parse(text) is None
