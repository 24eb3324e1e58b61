"""ui.export through AppTest: the download buttons of a run and the model uploader."""

from __future__ import annotations

import csv
import io
import pickle
from unittest import mock

import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from engine import data
from engine.models import MLPConfig
from engine.serve.records import FORMAT, Record, snapshot
from engine.train import Job, TrainConfig

CENSUS = data.load_builtin(data.DEFAULT_OFFLINE)
KINDS = ["model", "config", "losses", "samples", "words", "script"]


def trained_job(steps: int = 40) -> Job:
    job = Job(
        MLPConfig(n_hidden=16),
        TrainConfig(steps=steps, eval_every=20),
        data.make_splits(CENSUS, 3),
        CENSUS.vocab_size,
    )
    job.run()
    return job


def stopped_job() -> Job:
    """A run stopped after 10 of its 100 steps."""
    job = Job(MLPConfig(n_hidden=16), TrainConfig(steps=100), data.make_splits(CENSUS, 3), 27)
    for _ in range(10):
        job.train_step()
    return job


def downloads_page(job, dataset, label):
    from engine.serve.records import snapshot
    from ui.export import downloads

    downloads(snapshot(job, dataset), label, dataset)


def import_page():
    import streamlit as st

    from ui.export import import_ui

    st.session_state.setdefault("dataset", "the session's dataset")
    record = import_ui()
    st.session_state.imported = None if record is None else record.meta["key"]


def test_downloads_offer_every_file_under_its_name():
    job = trained_job()
    at = AppTest.from_function(
        downloads_page, kwargs={"job": job, "dataset": CENSUS, "label": "My MLP"}
    )
    with mock.patch.object(st, "download_button", wraps=st.download_button) as button:
        at.run()
    assert not at.exception, at.exception
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == [
        "Model",
        "Config",
        "Loss history",
        "Samples",
        "Word list",
        "PyTorch script",
    ]
    assert [b.key for b in buttons] == [f"export:my-mlp:{kind}" for kind in KINDS]
    names = {
        "model": "my-mlp.pt",
        "config": "my-mlp.json",
        "losses": "my-mlp-losses.csv",
        "samples": "my-mlp-samples.txt",
        "words": "us-census-1990-words.txt",
        "script": "train_my_mlp.py",
    }
    captions = [c.value for c in at.caption]
    for kind, name in names.items():
        assert any(c.startswith(f"`{name}`") for c in captions), (kind, captions)
    assert "python train_my_mlp.py us-census-1990-words.txt" in " ".join(captions)
    # what the buttons hand out when clicked
    files = {call.kwargs["file_name"]: call.kwargs["data"]() for call in button.call_args_list}
    assert list(files) == list(names.values())
    record = Record.from_bytes(files["my-mlp.pt"])
    assert record.meta["final"] == job.final
    assert len(list(csv.reader(io.StringIO(files["my-mlp-losses.csv"])))) == 1 + 40
    assert files["us-census-1990-words.txt"].splitlines() == list(CENSUS.words)
    compile(files["train_my_mlp.py"], "train_my_mlp.py", "exec")
    assert "us-census-1990-words.txt" in files["train_my_mlp.py"]


def test_a_stopped_run_says_so():
    job = stopped_job()
    at = AppTest.from_function(
        downloads_page, kwargs={"job": job, "dataset": CENSUS, "label": "stopped"}
    ).run()
    assert not at.exception, at.exception
    assert any("stopped after 10 of 100 steps" in c.value for c in at.caption)


def upload(at, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="import:file").upload(name, content, "application/octet-stream")
    return at.run()


def torch_file(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


class Anything:
    """An object a weights-only load refuses to build."""


def test_import_reads_an_exported_model():
    record = snapshot(trained_job(), CENSUS)
    at = AppTest.from_function(import_page).run()
    assert at.session_state.imported is None
    upload(at, "my-mlp.pt", record.to_bytes())
    assert not at.exception, at.exception
    assert not at.error
    assert at.session_state.imported == record.key
    assert any("Imported" in c.value and "40 steps" in c.value for c in at.caption)


def test_import_refuses_anything_else_with_an_error():
    at = AppTest.from_function(import_page).run()
    for name, content in [
        ("garbage.pt", b"\x00 this is no model"),
        ("pickled.pt", pickle.dumps({"format": FORMAT, "meta": Anything()})),
        ("object.pt", torch_file({"format": FORMAT, "meta": Anything()})),
        ("other.pt", torch_file({"weight": torch.zeros(3, 3)})),
    ]:
        upload(at, name, content)
        assert not at.exception, at.exception
        assert len(at.error) == 1
        assert at.error[0].value.startswith(f"**{name}** cannot be imported.")
        assert "Traceback" not in at.error[0].value
        assert at.session_state.imported is None
        assert at.session_state.dataset == "the session's dataset"


def test_in_spanish_the_buttons_captions_import_and_refusal_speak_spanish():
    from tests.test_i18n import english_left

    job = stopped_job()
    at = AppTest.from_function(
        downloads_page, kwargs={"job": job, "dataset": CENSUS, "label": "parado"}
    )
    at.session_state["lang"] = "es"
    at.run()
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[:3] == ["Modelo", "Configuración", "Historial de pérdidas"]
    captions = [c.value for c in at.caption]
    assert any("se detuvo tras 10 de 100 pasos" in c for c in captions)
    assert not english_left(labels + captions), english_left(labels + captions)

    at = AppTest.from_function(import_page)
    at.session_state["lang"] = "es"
    upload(at.run(), "my-mlp.pt", snapshot(trained_job(), CENSUS).to_bytes())
    (said,) = [c.value for c in at.caption if c.value.startswith("Importado")]
    assert "entrenado 40 pasos con us-census-1990, validación " in said
    upload(at, "other.pt", torch_file({"weight": torch.zeros(3, 3)}))
    assert at.error[0].value.startswith("**other.pt** no se puede importar.")
    assert not english_left([said, at.error[0].value]), at.error[0].value
