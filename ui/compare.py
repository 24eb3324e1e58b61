"""The compare page's glue: every run a session can see, as table rows and loss curves."""

from __future__ import annotations

import dataclasses
import functools
import math

import altair as alt
import pandas as pd
import streamlit as st
import torch

from engine import data, lectures, models
from engine import part5_wavenet as wavenet
from engine.data import SplitsKey
from engine.export.files import FAMILIES
from engine.presets import PRESETS
from engine.serve.records import CONFIGS, Record, describe, restore, snapshot
from engine.train import Evaluation, TrainConfig
from ui import runs as shared
from ui import state, zoo
from ui.charts import bucket_means
from ui.i18n import N_, t
from ui.losses import headers

NAMES_VOCAB = 27  # names.txt: a-z and "."


def differences(values: dict, default) -> str:
    """The settings that differ from a config's defaults, e.g. "n_hidden 100, kaiming True"."""
    changed = [
        f"{f.name} {values[f.name]:g}" if isinstance(values.get(f.name), float) else
        f"{f.name} {values[f.name]}"
        for f in dataclasses.fields(default)
        if f.name in values and values[f.name] != getattr(default, f.name)
    ]  # fmt: skip
    return ", ".join(changed) or t("defaults")


def model_summary(model: dict) -> str:
    d = dict(model)
    kind = d.pop("kind")
    return f"{t(FAMILIES[kind])}: {differences(d, CONFIGS[kind]())}"


SHOWN_APART = ("seed", "steps", "eval_every")  # columns of their own, or not about the run


def training_summary(train: dict) -> str:
    rest = {k: v for k, v in train.items() if k not in SHOWN_APART}
    return differences(rest, TrainConfig())


def imported() -> dict[str, Record]:
    """The models this session imported, by key."""
    return st.session_state.setdefault("imported", {})


def entries(cached: list[dict]) -> list[dict]:
    """Every run this session can compare: {"label", "from", "meta", "job" | "record" | None}.

    Its own runs first (newest first), then the ones it imported, then those of `cached`
    (the meta of the server's cached runs, RunCache.entries()) that it may see: runs on
    built-in datasets and on word lists it holds itself (state.visible). "label" is the
    pickers' value (English, so links keep it), "shown" how they show it.
    """
    found, seen = [], set()
    for key, item in reversed(shared.session_runs().items()):
        meta = describe(item["job"], item["dataset"])
        found.append({"from": "this session", "meta": meta, **item})
        seen.add(key)
    for key, record in imported().items():
        if key not in seen:
            found.append(
                {"label": "imported", "from": "imported", "meta": record.meta, "record": record}
            )
            seen.add(key)
    for meta in cached:
        if meta["key"] not in seen and state.visible(meta):
            found.append(
                {"label": FAMILIES[meta["model"]["kind"]], "from": "run cache", "meta": meta}
            )
            seen.add(meta["key"])
    for entry in found:  # unique names for the pickers
        entry["what"] = entry["label"]
        title, key = dataset_title(entry["meta"]), entry["meta"]["key"][:6]
        entry["label"] = f"{entry['label']} · {title} · #{key}"
        entry["shown"] = f"{t(entry['what'])} · {t(title)} · #{key}"
    return found


def dataset_title(meta: dict) -> str:
    """A run's dataset as Home names it: a built-in's title, an upload's file name."""
    name = meta["dataset"]
    return data.BUILTINS[name].title if meta.get("builtin") and name in data.BUILTINS else name


def lossi(entry: dict) -> list[float]:
    """The run's log10 minibatch losses (a cached run's are read from the cache)."""
    if "job" in entry:
        return entry["job"].lossi
    record = entry.get("record") or shared.service().cache.get(entry["meta"]["key"])
    return record.lossi.tolist() if record is not None else []


def record(entry: dict) -> Record | None:
    """The entry as a Record, for its downloads (a cached run is read from the cache)."""
    if "job" in entry:
        return snapshot(entry["job"], entry["dataset"])
    return entry.get("record") or shared.service().cache.get(entry["meta"]["key"])


def reevaluation(record: Record, ds) -> Evaluation:
    """An imported model's train/dev/test loss on the open dataset (its own, same
    fingerprint), to be evaluated by a worker."""
    if record.meta["model"]["kind"] == "zoo":  # makemore.py's split
        return Evaluation(restore(record, zoo.splits(ds.fingerprint, ds)))
    made = SplitsKey.parse(record.meta["splits"])
    splits = state.splits(ds.fingerprint, made.block_size, made.shuffles, ds)
    return Evaluation(restore(record, splits))


def lecture_row(title: str, lecture: str, config, train: TrainConfig, losses) -> dict:
    return {
        "run": t("lecture log · {title}", title=t(title)),
        "dataset": t(data.BUILTINS["names"].title),
        "seed": train.seed,
        "steps": train.steps,
        "from": t(lecture),
        "train": losses[0],
        "dev": losses[1],
        "params": lecture_params(config),
        "model": model_summary({"kind": config.kind, **dataclasses.asdict(config)}),
        "training": training_summary(dataclasses.asdict(train)),
    }


@functools.cache
def lecture_params(config) -> int:
    return models.build(config, NAMES_VOCAB, torch.Generator().manual_seed(0)).num_params()


def lecture_rows() -> tuple[dict, ...]:
    """The lectures' loss logs: part 3's after 200,000 steps and part 5's performance log,
    in the session's language."""
    part5 = PRESETS["part5-wavenet"]
    return (
        *(
            lecture_row(PRESETS[name].title, PRESETS[name].lecture, PRESETS[name].model,
                        PRESETS[name].train, losses)
            for name, losses in lectures.LECTURE_LOSS_LOG.items()
        ),
        *(
            lecture_row(row.title, part5.lecture, row.config, part5.train, (row.train, row.dev))
            for row in wavenet.PERFORMANCE_LOG
        ),
    )  # fmt: skip


def table(found: list[dict], with_lectures: bool) -> pd.DataFrame:
    """One row per run: first what it is (page, dataset, seed, steps, origin), then how it
    did, then the details; NaN where a value is missing (shown as —)."""
    rows = []
    for entry in found:
        m, final = entry["meta"], entry["meta"]["final"] or {}
        rows.append(
            {
                "run": t(entry["what"]),
                "dataset": t(dataset_title(m)),
                "seed": m["train"].get("seed"),
                "steps": m["steps"],
                "from": t(ORIGINS[entry["from"]]),
                "train": final.get("train", math.nan),
                "dev": final.get("dev", math.nan),
                "test": final.get("test", math.nan),
                "params": m["params"],
                "model": model_summary(m["model"]),
                "training": training_summary(m["train"]),
                "seconds": m["seconds"],
                "steps/s": m["steps"] / m["seconds"] if m["seconds"] else math.nan,
                "id": f"#{m['key'][:6]}",
            }
        )
    if with_lectures:
        rows += list(lecture_rows())
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return frame.rename(columns=headers(COLUMNS))


SPLITS = {"train": N_("train"), "dev": N_("dev"), "test": N_("test")}  # a split, as shown
ORIGINS = {  # where a run comes from, as the table says it
    "this session": N_("this session"),
    "imported": N_("imported"),
    "run cache": N_("run cache"),
}
COLUMNS = {  # the table's columns, as shown
    "run": N_("run"),
    "dataset": N_("dataset"),
    "seed": N_("seed"),
    "steps": N_("steps"),
    "from": N_("from"),
    "train": N_("train"),
    "dev": N_("dev"),
    "test": N_("test"),
    "params": N_("params"),
    "model": N_("model"),
    "training": N_("training"),
    "seconds": N_("seconds"),
    "steps/s": N_("steps/s"),
    "id": "id",
}


def table_columns() -> dict:
    """How st.dataframe shows the table (missing values: its placeholder, —)."""
    text = st.column_config.TextColumn
    names = headers(COLUMNS)
    long = len(names["train"]) > len("train")  # a long name: room to read it
    loss = st.column_config.NumberColumn(format="%.4f", width="medium" if long else "small")
    count = st.column_config.NumberColumn(format="localized", width="small")
    shown = {
        "run": text(width="medium"),
        "dataset": text(width="medium"),
        "seed": st.column_config.NumberColumn(format="%d", width="small"),
        "steps": count,
        "from": text(width="medium"),
        "train": loss,
        "dev": loss,
        "test": loss,
        "params": count,
        "model": text(width="large"),
        "training": text(width="medium"),
        "seconds": st.column_config.NumberColumn(format="%.1f", width="small"),
        "steps/s": st.column_config.NumberColumn(format="%.0f", width="small"),
        "id": text(width="small"),
    }
    return {names[k]: v for k, v in shown.items()}


def curves(series: dict[str, list[float]], height: int = 380) -> alt.Chart:
    """log10 minibatch loss of each run (bucket means), one colour per run (`series`: the
    runs' names as shown)."""
    frames = [bucket_means(values).assign(run=label) for label, values in series.items()]
    df = pd.concat(frames) if frames else pd.DataFrame({"step": [], "value": [], "run": []})
    return (
        alt.Chart(df, height=height)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X("step:Q", title=t("step")),
            y=alt.Y("value:Q", title=t("log10(loss)")).scale(zero=False),
            color=alt.Color("run:N", title=None, sort=list(series))
            .scale(scheme="tableau10")
            .legend(orient="bottom", columns=1, labelLimit=600),
            tooltip=[
                alt.Tooltip("run:N", title=t("run")),
                alt.Tooltip("step:Q", title=t("step"), format=",.0f"),
                alt.Tooltip("value:Q", title=t("log10(loss)"), format=".4f"),
            ],
        )
    )
