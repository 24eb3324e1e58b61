"""The compare page's glue: every run a session can see, as table rows and loss curves."""

from __future__ import annotations

import dataclasses
import math

import altair as alt
import pandas as pd
import streamlit as st

from engine import diagnostics, runs, wavenet
from engine.presets import PRESETS
from engine.train import TrainConfig
from ui import runs as shared
from ui.charts import bucket_means

FAMILIES = {"mlp": "MLP", "deep": "deep MLP", "wavenet": "WaveNet"}


def differences(values: dict, default) -> str:
    """The settings that differ from a config's defaults, e.g. "n_hidden 100, kaiming True"."""
    changed = [
        f"{f.name} {values[f.name]:g}" if isinstance(values.get(f.name), float) else
        f"{f.name} {values[f.name]}"
        for f in dataclasses.fields(default)
        if f.name in values and values[f.name] != getattr(default, f.name)
    ]  # fmt: skip
    return ", ".join(changed) or "defaults"


def model_summary(model: dict) -> str:
    d = dict(model)
    kind = d.pop("kind")
    return f"{FAMILIES[kind]}: {differences(d, runs.CONFIGS[kind]())}"


def training_summary(train: dict) -> str:
    return differences(train, TrainConfig())


def imported() -> dict[str, runs.Record]:
    """The models this session imported, by key."""
    return st.session_state.setdefault("imported", {})


def entries() -> list[dict]:
    """Every run this session can compare: {"label", "from", "meta", "job" | "record" | None}.

    Its own runs first (newest first), then the ones it imported, then the server's cache.
    """
    found, seen = [], set()
    for key, item in reversed(shared.session_runs().items()):
        meta = runs.describe(item["job"], item["dataset"])
        found.append(
            {"label": item["label"], "from": "this session", "meta": meta, "job": item["job"]}
        )
        seen.add(key)
    for key, record in imported().items():
        if key not in seen:
            found.append(
                {"label": "imported", "from": "imported", "meta": record.meta, "record": record}
            )
            seen.add(key)
    for meta in shared.hub().cache.entries():
        if meta["key"] not in seen:
            found.append(
                {"label": FAMILIES[meta["model"]["kind"]], "from": "run cache", "meta": meta}
            )
            seen.add(meta["key"])
    for entry in found:  # unique names for the pickers
        entry["label"] = (
            f"{entry['label']} · {entry['meta']['dataset']} · #{entry['meta']['key'][:6]}"
        )
    return found


def lossi(entry: dict) -> list[float]:
    """The run's log10 minibatch losses (a cached run's are read from the cache)."""
    if "job" in entry:
        return entry["job"].lossi
    record = entry.get("record") or shared.hub().cache.get(entry["meta"]["key"])
    return record.lossi.tolist() if record is not None else []


def lecture_rows() -> list[dict]:
    """The lectures' loss logs: part 3's after 200,000 steps and part 5's performance log."""
    rows = []
    for name, (train, dev) in diagnostics.LECTURE_LOSS_LOG.items():
        p = PRESETS[name]
        rows.append(
            {
                "run": f"lecture log · {p.title}",
                "from": p.lecture,
                "dataset": "names",
                "model": model_summary({"kind": p.model.kind, **dataclasses.asdict(p.model)}),
                "training": training_summary(dataclasses.asdict(p.train)),
                "train": train,
                "dev": dev,
            }
        )
    for row in wavenet.PERFORMANCE_LOG:
        rows.append(
            {
                "run": f"lecture log · {row.title}",
                "from": "Lecture 6 · makemore part 5",
                "dataset": "names",
                "model": model_summary({"kind": "wavenet", **dataclasses.asdict(row.config)}),
                "training": training_summary(dataclasses.asdict(PRESETS["part5-wavenet"].train)),
                "train": row.train,
                "dev": row.dev,
            }
        )
    return rows


def table(found: list[dict], with_lectures: bool) -> pd.DataFrame:
    rows = []
    for entry in found:
        m, final = entry["meta"], entry["meta"]["final"] or {}
        rows.append(
            {
                "run": entry["label"],
                "from": entry["from"],
                "dataset": m["dataset"],
                "model": model_summary(m["model"]),
                "training": training_summary(m["train"]),
                "params": m["params"],
                "steps": m["steps"],
                "train": final.get("train", math.nan),
                "dev": final.get("dev", math.nan),
                "test": final.get("test", math.nan),
                "seconds": m["seconds"],
                "steps/s": m["steps"] / m["seconds"] if m["seconds"] else math.nan,
            }
        )
    if with_lectures:
        rows += lecture_rows()
    return pd.DataFrame(rows, columns=[*table_columns()])


def table_columns() -> dict:
    loss = st.column_config.NumberColumn(format="%.4f")
    return {
        "run": st.column_config.TextColumn(width="medium"),
        "from": None,
        "dataset": None,
        "model": st.column_config.TextColumn(width="medium"),
        "training": None,
        "params": st.column_config.NumberColumn(format="localized"),
        "steps": st.column_config.NumberColumn(format="localized"),
        "train": loss,
        "dev": loss,
        "test": loss,
        "seconds": st.column_config.NumberColumn(format="%.1f"),
        "steps/s": st.column_config.NumberColumn(format="%.0f"),
    }


def curves(series: dict[str, list[float]], height: int = 380) -> alt.Chart:
    """log10 minibatch loss of each run (bucket means), one colour per run."""
    frames = [bucket_means(values).assign(run=label) for label, values in series.items()]
    df = pd.concat(frames) if frames else pd.DataFrame({"step": [], "value": [], "run": []})
    return (
        alt.Chart(df, height=height)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title="log10(minibatch loss), bucket means").scale(zero=False),
            color=alt.Color("run:N", title=None, sort=list(series))
            .scale(scheme="tableau10")
            .legend(orient="bottom", columns=1, labelLimit=600),
            tooltip=[
                "run",
                alt.Tooltip("step:Q", format=",.0f"),
                alt.Tooltip("value:Q", format=".4f"),
            ],
        )
    )
