"""Export and import on a page: download buttons for a run's files, and a model uploader.

The files themselves come from engine.export; this module only lays them out. Every
download is generated when its button is clicked (a callable, on_click="ignore"), so
rendering the buttons costs nothing and clicking one does not rerun the page.
"""

from __future__ import annotations

import streamlit as st

from engine.data import Dataset
from engine.export import files as export
from engine.export import load, script
from engine.models import ConfigError
from engine.serve.records import Record
from ui.i18n import t, tn, tr
from ui.state import message_of

MAX_UPLOAD_MB = 32  # the biggest model a server allows (2M parameters) takes about 8 MB


def downloads(
    record: Record, label: str, dataset: Dataset | None = None, key: str | None = None
) -> None:
    """Download buttons for a run (snapshot of a finished or stopped Job, a cached or an
    imported record), with file names taken from `label`. The word list needs the run's
    dataset: without it (another dataset is open) that button is left out and says why.
    """
    key = key or f"export:{export.slug(label)}"
    if dataset is not None and dataset.fingerprint != record.meta["fingerprint"]:
        dataset = None
    names = export.filenames(record, label)
    script_caption = t(
        "a standalone PyTorch script that retrains this run and prints its losses: {command}",
        command=f"`python {names['script']} {names['words']}`",
    )
    items = [
        (
            "model",
            t("Model"),
            ":material/deployed_code:",
            lambda: export.model_bytes(record),
            "application/octet-stream",
            t(
                "weights, config and loss history in one weights-only torch file "
                "(`torch.load(..., weights_only=True)`); import it again to compare"
            ),
        ),
        (
            "config",
            t("Config"),
            ":material/data_object:",
            lambda: export.config_json(record),
            "application/json",
            t("dataset, model and training settings, final losses, parameters, steps, seconds"),
        ),
        (
            "losses",
            t("Loss history"),
            ":material/show_chart:",
            lambda: export.losses_csv(record),
            "text/csv",
            t(
                "one row per step: the minibatch loss (log10 and plain) and, every so often, "
                "the train/dev evaluation"
            ),
        ),
        (
            "samples",
            t("Samples"),
            ":material/text_snippet:",
            lambda: export.samples_text(record),
            "text/plain",
            t(
                "{n} words drawn with seed {seed}, temperature 1",
                n=export.SAMPLE_COUNT,
                seed=export.SAMPLE_SEED,
            ),
        ),
        (
            "words",
            t("Word list"),
            ":material/list:",
            lambda: export.words_text(dataset),
            "text/plain",
            tn(
                "the {n:,} word after normalisation, one per line: the script's input",
                "the {n:,} words after normalisation, one per line: the script's input",
                len(dataset.words),
            ),
        )
        if dataset is not None
        else None,
        (
            "script",
            t("PyTorch script"),
            ":material/code:",
            lambda: script.standalone_script(record, names["words"], names["script"]),
            "text/x-python",
            script_caption,
        ),
    ]
    if record.meta["final"] is None:
        st.caption(
            t(
                "This run stopped after {steps:,} of {total:,} steps: the files describe it as it "
                "is now, the script trains all the steps.",
                steps=record.meta["steps"],
                total=record.meta["train"]["steps"],
            )
        )
    if dataset is None:
        st.caption(
            t(
                "Its word list is the dataset **{dataset}**: open that dataset "
                "(same normalisation) to download it for the script.",
                dataset=record.meta["dataset"],
            )
        )
    for i, (name, title, icon, make, mime, caption) in enumerate(filter(None, items)):
        if i % 3 == 0:
            columns = st.columns(3)  # rows of three, so each row's captions line up
        with columns[i % 3]:
            st.download_button(
                title,
                data=make,
                file_name=names[name],
                mime=mime,
                key=f"{key}:{name}",
                icon=icon,
                on_click="ignore",
                width="stretch",
            )
            st.caption(f"`{names[name]}` · {caption}")


def read_model(raw: bytes) -> Record:
    """An exported model file as a Record; ConfigError for anything else (never unpickled)."""
    if len(raw) > MAX_UPLOAD_MB * 2**20:
        raise ConfigError(
            t("This file is larger than {mb} MB: not a playground model.", mb=MAX_UPLOAD_MB)
        )
    return load.check(Record.from_bytes(raw))


def describe(record: Record) -> str:
    """One line about an imported run: family, data, steps, losses."""
    meta = record.meta
    final = meta["final"]
    losses = t(", dev {loss:.4f}", loss=final["dev"]) if final else t(" (stopped early)")
    return t(
        "{family} with {params:,} parameters, trained {steps} on {dataset}{losses}",
        family=tr(export.FAMILIES[meta["model"]["kind"]]),
        params=meta["params"],
        steps=tn("{n:,} step", "{n:,} steps", meta["steps"]),
        dataset=meta["dataset"],
        losses=losses,
    )


def import_ui(key: str = "import") -> Record | None:
    """A file uploader for a model exported by downloads(); the Record, or None.

    Anything that is not a playground model file (another torch file, a pickle, garbage)
    is refused with an st.error; nothing in it is ever unpickled.
    """
    upload = st.file_uploader(
        t("Import a model exported from makemore playground (.pt)"),
        type=["pt"],
        key=f"{key}:file",
        help=t(
            "The **Model** download of a run: weights, config and loss history. "
            "It is read with torch.load(weights_only=True): tensors and numbers only, no code."
        ),
    )
    if upload is None:
        return None
    try:
        record = read_model(upload.getvalue())
    except ConfigError as e:
        st.error(
            t(
                "**{name}** cannot be imported. {error} Export a model with the "
                "**Model** button under a run, then upload that file.",
                name=upload.name,
                error=tr(message_of(e)),
            ),
            icon=":material/error:",
        )
        return None
    st.caption(t("Imported **{name}**: {run}.", name=upload.name, run=describe(record)))
    return record
