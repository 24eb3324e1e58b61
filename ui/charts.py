"""Altair chart builders shared by the pages. Each takes plain data and returns an alt.Chart."""

from __future__ import annotations

import math
from collections import Counter

import altair as alt
import pandas as pd


def length_histogram(words) -> alt.Chart:
    """How many words have each length (in characters)."""
    counts = Counter(len(w) for w in words)
    df = pd.DataFrame({"length": list(counts), "words": list(counts.values())})
    return (
        alt.Chart(df, title="Word lengths")
        .mark_bar()
        .encode(
            x=alt.X("length:O", title="characters in the word"),
            y=alt.Y("words:Q", title="number of words"),
            tooltip=["length", "words"],
        )
        .properties(height=260)
    )


def char_frequencies(words, itos) -> alt.Chart:
    """How often each character of the vocabulary appears, '.' counted once per word end."""
    counts = Counter("".join(words))
    counts["."] = len(words)
    df = pd.DataFrame({"char": itos, "count": [counts[c] for c in itos]})
    df["label"] = df["char"].replace({" ": "␣"})
    return (
        alt.Chart(df, title="Characters (vocabulary order, '.' = end of word)")
        .mark_bar()
        .encode(
            x=alt.X("label:N", sort=list(df["label"]), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("count:Q", title="occurrences"),
            tooltip=[alt.Tooltip("label:N", title="character"), "count"],
        )
        .properties(height=260)
    )


def bucket_means(values, max_points: int = 1000) -> pd.DataFrame:
    """Average consecutive values in equal buckets (the lecture's view(-1, 1000).mean(1))."""
    n = len(values)
    size = max(1, -(-n // max_points))
    s = pd.Series(values, dtype="float64")
    means = s.groupby(s.index // size).mean()
    return pd.DataFrame({"step": means.index * size + (size - 1) / 2, "value": means.values})


def loss_curve(lossi, evals=(), references=None, height=320) -> alt.Chart:
    """log10 of the minibatch loss per step (bucket means for long runs), periodic train/dev
    evaluations as points, and horizontal reference lines {label: loss}."""
    curve = bucket_means(lossi).assign(series="minibatch loss")
    layers = []
    if len(curve):
        layers.append(
            alt.Chart(curve)
            .mark_line(strokeWidth=1.5)
            .encode(
                x=alt.X("step:Q", title="step"),
                y=alt.Y("value:Q", title="log10(loss)").scale(zero=False),
                color=alt.Color("series:N", title=None),
                tooltip=[
                    alt.Tooltip("step:Q", format=",.0f"),
                    alt.Tooltip("value:Q", format=".4f"),
                ],
            )
        )
    points = pd.DataFrame(
        [
            {"step": e["step"], "series": f"{split} (evaluated)", "value": math.log10(e[split])}
            for e in evals
            for split in ("train", "dev")
        ]
    )
    if len(points):
        layers.append(
            alt.Chart(points)
            .mark_line(point=True, strokeDash=[4, 2])
            .encode(x="step:Q", y="value:Q", color="series:N", tooltip=["series", "step", "value"])
        )
    refs = pd.DataFrame(
        [{"series": label, "value": math.log10(v)} for label, v in (references or {}).items()]
    )
    if len(refs):
        layers.append(
            alt.Chart(refs)
            .mark_rule(strokeDash=[6, 4], strokeWidth=1)
            .encode(y="value:Q", color="series:N", tooltip=["series", "value"])
        )
    if not layers:
        return alt.Chart(pd.DataFrame({"step": [], "value": []})).mark_line()
    return alt.layer(*layers).properties(height=height).interactive(bind_y=False)
