"""Streamlit glue for the model zoo page: makemore.py's split per dataset, the session's
zoo runs, and the charts (several runs' curves, attention heatmaps, recurrent states)."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from engine import data, models
from engine.presets import PRESETS
from engine.zoo import data as zoo_data
from engine.zoo.models import TITLES
from ui import part2_mlp as mlp
from ui import runs, state
from ui.charts import bucket_means, labelled, template_spec
from ui.i18n import t, tr

SESSION_RUNS = 8  # finished zoo runs a session keeps for the overlay and the table
LECTURE_MODELS = ("part3-batchnorm", "part5-wavenet", "fast-wavenet")


@st.cache_resource(max_entries=16, show_spinner=False)
def _splits(fingerprint: str, _ds: data.Dataset) -> data.Splits:
    """makemore.py's train/test split of a dataset as sequences (shared, read-only)."""
    return zoo_data.make_splits(_ds)


def splits(fingerprint: str, ds: data.Dataset) -> data.Splits:
    """_splits with a spinner in the session's language while it is built."""
    with st.spinner(t("Building the words' sequences…")):
        return _splits(fingerprint, ds)


@st.cache_resource(max_entries=16, show_spinner=False)
def word_sets(fingerprint: str, _ds: data.Dataset) -> tuple[set[str], set[str]]:
    return zoo_data.split_words_of(_ds)


def label(job) -> str:
    """A run's name in the overlay and the table: family, sizes, steps (in the session's
    language: the session keeps its runs by it)."""
    c = job.config
    if c.family == "transformer":
        sizes = t(
            "{n_layer} layers × {n_head} heads, embd {n_embd}, ",
            n_layer=c.n_layer,
            n_head=c.n_head,
            n_embd=c.n_embd,
        )
    else:
        sizes = "" if c.family == "bigram" else f"embd {c.n_embd}/{c.n_embd2}, "
    return t("{family} ({sizes}{n:,} steps)", family=tr(TITLES[c.family]), sizes=sizes, n=job.step)


def finished_runs(ds: data.Dataset) -> dict[str, object]:
    """This session's finished zoo runs on this dataset, by label (oldest first)."""
    mine = st.session_state.setdefault("zoo_runs", {})
    return {lab: job for lab, job in mine.items() if job.dataset_fingerprint == ds.fingerprint}


def keep(job, ds: data.Dataset) -> None:
    """Add a finished run to the session's zoo runs (bounded, newest last)."""
    mine = st.session_state.setdefault("zoo_runs", {})
    job.dataset_fingerprint = ds.fingerprint
    lab = label(job)
    mine.pop(lab, None)
    mine[lab] = job
    while len(mine) > SESSION_RUNS:
        mine.pop(next(iter(mine)))


def overlay_spec(curves: dict[str, list[float]], height: int = 340) -> dict:
    """Several runs' log10 minibatch loss (bucket means), one colour per run."""
    labels = tuple(curves)

    def build():
        colour = alt.Color(
            "series:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0, columns=2)
        ).scale(domain=list(labels), scheme="tableau10")
        layers = [
            alt.Chart(alt.NamedData(f"run_{i}"))
            .mark_line(strokeWidth=2)
            .encode(
                x=alt.X("step:Q", title=t("step")),
                y=alt.Y("value:Q", title=t("log10(loss)")).scale(zero=False),
                color=colour,
                tooltip=[
                    alt.Tooltip("series:N", title=t("run")),
                    alt.Tooltip("step:Q", title=t("step"), format=",.0f"),
                    alt.Tooltip("value:Q", title=t("log10(loss)"), format=".4f"),
                ],
            )
            for i in range(len(labels))
        ]
        return alt.layer(*layers).properties(height=height).interactive(bind_y=False)

    return template_spec(
        ("zoo_overlay", labels, height),
        build,
        {
            f"run_{i}": labelled(lab, bucket_means(v, 300))
            for i, (lab, v) in enumerate(curves.items())
        },
    )


def lecture_rows(ds: data.Dataset) -> list[dict]:
    """The lecture models' best numbers on this data: the presets' published losses on
    makemore's names, this session's finished lecture-page runs on this dataset, and the
    bigram count model (its dev loss) anywhere."""
    rows = []
    lectures = t("lecture's 80/10/10, dev")
    if state.on_lecture_data(ds):
        for name in LECTURE_MODELS:
            p = PRESETS[name]
            train, dev = p.expected or (math.nan, p.target_dev or math.nan)
            rows.append({"model": f"{tr(p.lecture)}: {p.name} ({tr(p.title)})", "params": models.count_params(p.model, ds.vocab_size), "train": train, "test": dev, "split": lectures})  # fmt: skip
    for run in runs.session_runs().values():
        job, run_ds = run["job"], run["dataset"]
        if run_ds.fingerprint != ds.fingerprint or job.final is None or job.config.kind == "zoo":
            continue
        rows.append({"model": t("your run: {label}", label=t(run["label"])), "params": job.model.num_params(), "train": job.final["train"], "test": job.final["dev"], "split": lectures})  # fmt: skip
    bigram = mlp.bigram_dev(ds.fingerprint, ds)
    if math.isfinite(bigram):
        rows.append({"model": t("bigram counts, smoothing 1 (part 1)"), "params": ds.vocab_size**2, "train": math.nan, "test": bigram, "split": lectures})  # fmt: skip
    rows.append({"model": t("uniform guess, ln V"), "params": 0, "train": math.log(ds.vocab_size), "test": math.log(ds.vocab_size), "split": t("any")})  # fmt: skip
    return rows


def positions(ds: data.Dataset, word: str) -> list[str]:
    """Axis labels for '.' + word: position and character, so repeated letters stay apart."""
    return [f"{t} {c}" for t, c in enumerate([".", *list(word)])]


ALL_LAYERS_UP_TO = 16  # heatmaps (layers x heads) drawn at once; more: one layer at a time


def attention_chart(layers: dict, ds: data.Dataset, word: str) -> alt.Chart:
    """One heatmap per layer (rows) and head (columns) of {layer number: (heads, T, T)}:
    row = the position that reads, column = the position it reads from; a row sums to 1.
    A single layer's heads wrap four to a row."""
    names = positions(ds, word)
    rows = [
        {
            "layer": t("layer {n}", n=li),
            "head": t("head {n}", n=h + 1),
            "reads": names[q],
            "from": names[k],
            "weight": float(att[h, q, k]),
        }
        for li, att in layers.items()
        for h in range(att.shape[0])
        for q in range(att.shape[1])
        for k in range(att.shape[2])
        if k <= q
    ]
    size = max(6, min(28, 360 // max(1, len(names))))
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_rect()
        .encode(
            x=alt.X("from:N", sort=names, title=t("reads from")).axis(labelAngle=-60),
            y=alt.Y("reads:N", sort=names, title=t("reads")),
            color=alt.Color("weight:Q", title=t("attention")).scale(scheme="blues", domain=[0, 1]),
            tooltip=[
                alt.Tooltip("layer:N", title=t("layer")),
                alt.Tooltip("head:N", title=t("head")),
                alt.Tooltip("reads:N", title=t("reads")),
                alt.Tooltip("from:N", title=t("reads from")),
                alt.Tooltip("weight:Q", title=t("attention"), format=".3f"),
            ],
        )
        .properties(width=size * len(names), height=size * len(names))
    )
    if len(layers) == 1:
        heads = [t("head {n}", n=h + 1) for h in range(next(iter(layers.values())).shape[0])]
        return chart.facet(facet=alt.Facet("head:N", title=None, sort=heads), columns=4)
    return chart.facet(row=alt.Row("layer:N", title=None), column=alt.Column("head:N", title=None))


def state_chart(values, ds: data.Dataset, word: str, title: str, gate: bool = False) -> alt.Chart:
    """A (positions, units) heatmap: each column is the state after reading one character."""
    names = positions(ds, word)
    rows = [
        {"after": names[t], "unit": u, "value": float(values[t, u])}
        for t in range(values.shape[0])
        for u in range(values.shape[1])
    ]
    scale = (
        alt.Scale(scheme="viridis", domain=[0, 1])
        if gate
        else alt.Scale(scheme="redblue", domain=[-1, 1], reverse=True)
    )
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_rect()
        .encode(
            x=alt.X("after:N", sort=names, title=t("after reading")).axis(labelAngle=-60),
            y=alt.Y("unit:O", title=t("unit")).axis(labels=values.shape[1] <= 64),
            color=alt.Color("value:Q", title="z" if gate else "h").scale(scale),
            tooltip=[
                alt.Tooltip("after:N", title=t("after reading")),
                alt.Tooltip("unit:O", title=t("unit")),
                alt.Tooltip("value:Q", title="z" if gate else "h", format=".3f"),
            ],
        )
        .properties(title=title, height={"step": max(2, min(8, 320 // values.shape[1]))})
    )
