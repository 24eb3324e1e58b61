"""Altair chart builders shared by the pages. Each takes plain data and returns an alt.Chart."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd

from engine.history import LossHistory


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


# --- loss histories: bucket means of a growing lossi -------------------------------------


def prefix_sums(values) -> np.ndarray:
    """[0, v0, v0 + v1, ...] as float64. A run's LossHistory keeps them up to date as it grows
    (what a live page's every tick needs); any other list is summed here."""
    if isinstance(values, LossHistory):
        return values.prefix_sums().numpy()
    return np.concatenate(([0.0], np.cumsum(np.asarray(values, dtype=np.float64))))


def bucket_arrays(values, max_points: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(step, mean) of consecutive equal buckets of `values`, at most max_points of them
    (the lecture's view(-1, 1000).mean(1)); the last bucket may be shorter."""
    n = len(values)
    size = max(1, -(-n // max_points))
    if size == 1:
        return np.arange(n, dtype=np.float64), np.asarray(values, dtype=np.float64)
    sums = prefix_sums(values)
    starts = np.arange(0, n, size)
    ends = np.minimum(starts + size, n)
    means = (sums[ends] - sums[starts]) / (ends - starts)
    return starts + (size - 1) / 2, means


def bucket_means(values, max_points: int = 1000) -> pd.DataFrame:
    """Average consecutive values in equal buckets (the lecture's view(-1, 1000).mean(1))."""
    step, value = bucket_arrays(values, max_points)
    return pd.DataFrame({"step": step, "value": value})


def block_means(values, size: int) -> pd.DataFrame:
    """Means of each whole block of `size` values (a partial last block is left out), at the
    block's centre: plot(torch.tensor(lossi).view(-1, size).mean(1))."""
    whole = len(values) // size
    if whole == 0:
        return pd.DataFrame({"step": np.zeros(0), "value": np.zeros(0)})
    sums = prefix_sums(values)
    ends = np.arange(1, whole + 1) * size
    return pd.DataFrame({"step": ends - size / 2, "value": (sums[ends] - sums[ends - size]) / size})


CURVE, EVALS, REFS = "loss_curve", "loss_evals", "loss_refs"  # the template's datasets


def _loss_frames(lossi, evals=(), references=None) -> dict[str, pd.DataFrame]:
    step, value = bucket_arrays(lossi)
    curve = pd.DataFrame({"step": step, "value": value, "series": "minibatch loss"})
    points = pd.DataFrame(
        [
            {"step": e["step"], "series": f"{split} (evaluated)", "value": math.log10(e[split])}
            for e in evals
            for split in ("train", "dev")
        ],
        columns=["step", "series", "value"],
    )
    refs = pd.DataFrame(
        [{"series": label, "value": math.log10(v)} for label, v in (references or {}).items()],
        columns=["series", "value"],
    )
    return {CURVE: curve, EVALS: points, REFS: refs}


SERIES_COLORS = {
    "minibatch loss": "#4c78a8",
    "train (evaluated)": "#f58518",
    "dev (evaluated)": "#e45756",
}
REFERENCE_COLORS = ["#54a24b", "#9d755d", "#b279a2", "#72b7b2"]  # none of the series' colours


def _loss_layers(curve, points, refs) -> list:
    """Blue curve, orange/red evaluations, references in colours of their own. The colour
    scales are independent (the references' labels vary); the series' one is spelled out so
    the curve's legend covers the evaluations too."""
    series = alt.Color("series:N", title=None).scale(
        domain=list(SERIES_COLORS), range=list(SERIES_COLORS.values())
    )
    return [
        alt.Chart(curve)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title="log10(loss)").scale(zero=False),
            color=series,
            tooltip=[
                alt.Tooltip("step:Q", format=",.0f"),
                alt.Tooltip("value:Q", format=".4f"),
            ],
        ),
        alt.Chart(points)
        .mark_line(point=True, strokeDash=[4, 2])
        .encode(
            x="step:Q",
            y="value:Q",
            color=series.legend(None),
            tooltip=["series:N", "step:Q", "value:Q"],
        ),
        alt.Chart(refs)
        .mark_rule(strokeDash=[6, 4], strokeWidth=1.5)
        .encode(
            y="value:Q",
            color=alt.Color("series:N", title="references").scale(range=REFERENCE_COLORS),
            tooltip=["series:N", "value:Q"],
        ),
    ]


def loss_curve(lossi, evals=(), references=None, height=320) -> alt.Chart:
    """log10 of the minibatch loss per step (bucket means for long runs), periodic train/dev
    evaluations as points, and horizontal reference lines {label: loss}."""
    frames = _loss_frames(lossi, evals, references)
    layers = [
        layer
        for layer, df in zip(_loss_layers(*frames.values()), frames.values(), strict=True)
        if len(df)
    ]
    if not layers:
        return alt.Chart(pd.DataFrame({"step": [], "value": []})).mark_line()
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(height=height)
        .interactive(bind_y=False)
    )


_TEMPLATES: dict[tuple, dict] = {}
_TEMPLATES_MAX = 128


def template_spec(key: tuple, build: Callable[[], alt.TopLevelMixin], datasets: dict) -> dict:
    """A Vega-Lite spec for st.vega_lite_chart: build() (a chart whose data are
    alt.NamedData) is built and validated once per key, each call only fills in the named
    datasets (DataFrames). Building and validating an Altair chart costs tens of
    milliseconds; a live page redraws its charts several times a second."""
    spec = _TEMPLATES.get(key)
    if spec is None:
        spec = build().to_dict()
        spec.pop("config", None)  # Altair's default view size; Streamlit sizes the chart
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
        _TEMPLATES[key] = spec
    return {**spec, "datasets": {**spec.get("datasets", {}), **datasets}}


def _loss_template(height: int) -> alt.TopLevelMixin:
    layers = _loss_layers(alt.NamedData(CURVE), alt.NamedData(EVALS), alt.NamedData(REFS))
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(height=height)
        .interactive(bind_y=False)
    )


def loss_curve_spec(lossi, evals=(), references=None, height=320) -> dict:
    """loss_curve as a Vega-Lite spec for st.vega_lite_chart: the chart's structure is built
    and validated once, each call only computes its data (new bucket means only for what
    was appended since the last call). What a live page should redraw every tick."""
    return template_spec(
        ("loss_curve", height),
        lambda: _loss_template(height),
        _loss_frames(lossi, evals, references),
    )


# The WaveNet and backprop pages' curve: the lecture's 1,000-step means.
LOSS_COLORS = {  # role -> colour, the same on every page of these lessons
    "finer": "#c7c7c7",
    "smooth": "#4c78a8",
    "train": "#f58518",
    "dev": "#e45756",
    "reference": "#54a24b",
}


def smoothed_loss(lossi, evals=(), references=None, bucket=1000, height=340) -> dict:
    """The lecture's plot(torch.tensor(lossi).view(-1, 1000).mean(1)): mean log10 loss over
    whole 1,000-step buckets; finer bucket means in gray behind it, evaluations as points,
    references {label: loss} as dashed rules. A Vega-Lite spec for st.vega_lite_chart from
    a cached template (charts.template_spec): the live pages redraw it on every tick."""
    series = {  # label -> (role, DataFrame with step and value)
        "minibatch loss, finer means": ("finer", bucket_means(lossi, max_points=400)),
        f"mean of each {bucket:,} steps (lecture)": ("smooth", block_means(lossi, bucket)),
    }
    for split in ("dev", "train"):  # train drawn last, on top
        series[f"{split} loss (evaluated)"] = (
            split,
            pd.DataFrame(
                {"step": [e["step"] for e in evals], "value": [math.log10(e[split]) for e in evals]}
            ),
        )
    for label, v in (references or {}).items():
        series[label] = ("reference", pd.DataFrame({"value": [math.log10(v)]}))
    series = {k: v for k, v in series.items() if len(v[1])}
    shape = tuple((label, role) for label, (role, _) in series.items())
    return template_spec(
        ("smoothed_loss", shape, height),
        lambda: _smoothed_layers(shape, height),
        {
            f"smoothed_{i}": df.assign(series=label)
            for i, (label, (_, df)) in enumerate(series.items())
        },
    )


def _smoothed_layers(shape, height) -> alt.TopLevelMixin:
    """The chart of smoothed_loss for series [(label, role)], data named smoothed_0, ..."""
    if not shape:
        return alt.Chart(pd.DataFrame({"step": [], "value": []})).mark_line()
    colour = alt.Color(
        "series:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0, columns=3)
    ).scale(domain=[label for label, _ in shape], range=[LOSS_COLORS[role] for _, role in shape])
    x = alt.X("step:Q", title="step")
    y = alt.Y("value:Q", title="log10(loss)").scale(zero=False)
    tooltip = [
        "series:N",
        alt.Tooltip("step:Q", format=",.0f"),
        alt.Tooltip("value:Q", format=".4f"),
    ]
    layers = []
    for i, (_, role) in enumerate(shape):
        base = alt.Chart(alt.NamedData(f"smoothed_{i}"))
        if role in ("finer", "smooth"):
            mark = base.mark_line(strokeWidth=1 if role == "finer" else 2.5)
            layers.append(mark.encode(x=x, y=y, color=colour, tooltip=tooltip))
        elif role == "reference":
            mark = base.mark_rule(strokeDash=[6, 4], strokeWidth=1.5)
            layers.append(mark.encode(y=y, color=colour, tooltip=["series:N", "value:Q"]))
        else:  # evaluations: dev dashed with squares, train solid with circles on top
            mark = base.mark_line(
                point=alt.OverlayMarkDef(shape="square" if role == "dev" else "circle", size=40),
                strokeDash=[5, 3] if role == "dev" else [1, 0],
                strokeWidth=2 if role == "dev" else 1.5,
            )
            layers.append(mark.encode(x=x, y=y, color=colour, tooltip=tooltip))
    return alt.layer(*layers).properties(height=height)


KIND_COLORS = {"vowel": "#e45756", "consonant": "#4c78a8", "end": "#222222", "other": "#54a24b"}


POINTS = "embedding_points"


def embedding_scatter_spec(points: pd.DataFrame, x_title: str, y_title: str, height=420) -> dict:
    """Each character drawn at its embedding (columns ch, x, y, kind), coloured by kind: a
    Vega-Lite spec from a cached template (see template_spec)."""
    return template_spec(
        ("embedding_scatter", x_title, y_title, height),
        lambda: _embedding_layers(alt.NamedData(POINTS), x_title, y_title, height),
        {POINTS: _labelled(points)},
    )


def _labelled(points: pd.DataFrame) -> pd.DataFrame:
    return points.assign(label=points["ch"].replace({" ": "␣"}))


def _embedding_layers(points, x_title: str, y_title: str, height: int) -> alt.LayerChart:
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
