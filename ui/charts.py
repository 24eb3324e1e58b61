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


KIND_COLORS = {"vowel": "#e45756", "consonant": "#4c78a8", "end": "#222222", "other": "#54a24b"}


def embedding_scatter(points: pd.DataFrame, x_title: str, y_title: str, height=420) -> alt.Chart:
    """Each character drawn at its embedding (columns ch, x, y, kind), coloured by kind."""
    points = points.assign(label=points["ch"].replace({" ": "␣"}))
    base = alt.Chart(points).encode(
        x=alt.X("x:Q", title=x_title).scale(zero=False, padding=20),
        y=alt.Y("y:Q", title=y_title).scale(zero=False, padding=20),
        tooltip=[alt.Tooltip("label:N", title="character"), "kind:N", "x:Q", "y:Q"],
    )
    colour = alt.Color(
        "kind:N",
        title="character",
        scale=alt.Scale(domain=list(KIND_COLORS), range=list(KIND_COLORS.values())),
    )
    dots = base.mark_circle(size=420, opacity=0.85).encode(color=colour)
    text = base.mark_text(fontSize=13, fontWeight="bold", color="white").encode(text="label:N")
    return (dots + text).properties(height=height)


def lr_sweep(exponents, losses, smoothed, best_exponent, height=340) -> alt.Chart:
    """Loss after each step of the sweep against log10(learning rate), with the valley marked."""
    df = pd.DataFrame({"exponent": exponents, "each step": losses, "smoothed": smoothed})
    df["each step"] = df["each step"].clip(upper=max(12.0, 2 * df["smoothed"].iloc[0]))
    long = df.melt("exponent", var_name="series", value_name="loss")
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("exponent:Q", title="log10(learning rate)"),
            y=alt.Y("loss:Q", title="minibatch loss").scale(zero=False),
            color=alt.Color("series:N", title=None, scale=alt.Scale(range=["#bbbbbb", "#4c78a8"])),
            strokeWidth=alt.StrokeWidth("series:N", legend=None, scale=alt.Scale(range=[1, 2.5])),
            tooltip=[alt.Tooltip("exponent:Q", format=".2f"), alt.Tooltip("loss:Q", format=".3f")],
        )
    )
    valley = (
        alt.Chart(
            pd.DataFrame(
                {"exponent": [best_exponent], "label": [f"valley: 10^{best_exponent:.2f}"]}
            )
        )
        .mark_rule(color="#e45756", strokeDash=[6, 4], strokeWidth=2)
        .encode(x="exponent:Q", tooltip=["label:N"])
    )
    return (lines + valley).properties(height=height)
