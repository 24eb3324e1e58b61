"""Altair chart builders shared by the pages. Each takes plain data and returns an alt.Chart."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

from engine.history import LossHistory
from ui import theme
from ui.i18n import N_, language, t


def length_histogram(words) -> alt.Chart:
    """How many words have each length (in characters)."""
    counts = Counter(len(w) for w in words)
    df = pd.DataFrame({"length": list(counts), "words": list(counts.values())})
    return (
        alt.Chart(df, title=t("Word lengths"))
        .mark_bar()
        .encode(
            x=alt.X("length:O", title=t("characters in the word")),
            y=alt.Y("words:Q", title=t("number of words")),
            tooltip=[
                alt.Tooltip("length:O", title=t("length")),
                alt.Tooltip("words:Q", title=t("number of words")),
            ],
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
        alt.Chart(df, title=t("Characters (vocabulary order, '.' = end of word)"))
        .mark_bar()
        .encode(
            x=alt.X("label:N", sort=list(df["label"]), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("count:Q", title=t("occurrences")),
            tooltip=[
                alt.Tooltip("label:N", title=t("character")),
                alt.Tooltip("count:Q", title=t("occurrences")),
            ],
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


def labelled(label: str, df: pd.DataFrame) -> pa.Table:
    """A curve's numeric columns (step, value) with its legend label in a column "series",
    as the Arrow table Streamlit ships: a live chart's every tick skips pandas' string column
    and its conversion (2 ms for 1,000 points; this, 0.06 ms), the label sent once."""
    columns = {c: df[c].to_numpy(dtype=np.float64) for c in df.columns}
    codes = np.zeros(len(df), np.int8)
    return pa.table({**columns, "series": pa.DictionaryArray.from_arrays(codes, [label])})


def block_means(values, size: int) -> pd.DataFrame:
    """Means of each whole block of `size` values (a partial last block is left out), at the
    block's centre: plot(torch.tensor(lossi).view(-1, size).mean(1))."""
    whole = len(values) // size
    if whole == 0:
        return pd.DataFrame({"step": np.zeros(0), "value": np.zeros(0)})
    sums = prefix_sums(values)
    ends = np.arange(1, whole + 1) * size
    return pd.DataFrame({"step": ends - size / 2, "value": (sums[ends] - sums[ends - size]) / size})


_TEMPLATES: dict[tuple, dict] = {}
_TEMPLATES_MAX = 128


def template_spec(key: tuple, build: Callable[[], alt.TopLevelMixin], datasets: dict) -> dict:
    """A Vega-Lite spec for st.vega_lite_chart: build() (a chart whose data are
    alt.NamedData) is built and validated once per key, each call only fills in the named
    datasets (DataFrames). Building and validating an Altair chart costs tens of
    milliseconds; a live page redraws its charts several times a second. A template's
    texts are in the session's language, so the language is part of its key."""
    key = (language(), *key)
    spec = _TEMPLATES.get(key)
    if spec is None:
        spec = build().to_dict()
        spec.pop("config", None)  # Altair's default view size; Streamlit sizes the chart
        if len(_TEMPLATES) >= _TEMPLATES_MAX:
            _TEMPLATES.clear()
        _TEMPLATES[key] = spec
    return {**spec, "datasets": {**spec.get("datasets", {}), **datasets}}


def forget_templates() -> None:
    """Drop every cached template: the bench's measure of a tick that rebuilds its chart."""
    _TEMPLATES.clear()


def loss_curve_spec(
    lossi,
    evals=(),
    references=None,
    *,
    lecture_bucket: int | None = None,
    height=320,
    dev_label: str = "dev",
) -> dict:
    """A run's loss curve, log10 of the minibatch loss against the step: bucket means of
    lossi (at most 1,000 points), the periodic train and dev evaluations as points, and
    references {label: loss} as dashed rules (ln V, the bigram's loss, a lecture's number).
    `dev_label` names the evaluations' held-out split ("test" for makemore.py's split).

    lecture_bucket=1000 draws the lecture's plot(torch.tensor(lossi).view(-1, 1000).mean(1))
    instead: the means of whole 1,000-step blocks, finer bucket means in gray behind them.
    A Vega-Lite spec from a cached template (template_spec): live pages redraw it every
    tick, and only the data is new (bucket means from the history's running sums).
    """
    if lecture_bucket:
        series = {  # label -> (colour, style, DataFrame with step and value)
            t("minibatch loss, finer means"): (theme.FINER, "finer", bucket_means(lossi, 400)),
            t("mean of each {n:,} steps (lecture)", n=lecture_bucket): (
                theme.MINIBATCH,
                "curve",
                block_means(lossi, lecture_bucket),
            ),
        }
    else:
        series = {t("minibatch loss"): (theme.MINIBATCH, "curve", bucket_means(lossi))}
    for split, shown in (("dev", dev_label), ("train", "train")):  # train on top
        steps, values = [e["step"] for e in evals], [math.log10(e[split]) for e in evals]
        label = t(EVALUATED[shown]) if shown in EVALUATED else f"{shown} loss (evaluated)"
        series[label] = (
            theme.SPLITS[shown],
            split,
            pd.DataFrame({"step": steps, "value": values}),
        )
    for i, (label, v) in enumerate((references or {}).items()):
        colour = theme.REFERENCES[i % len(theme.REFERENCES)]
        series[label] = (colour, "reference", pd.DataFrame({"value": [math.log10(v)]}))
    series = {label: s for label, s in series.items() if len(s[2])}
    shape = tuple((label, colour, style) for label, (colour, style, _) in series.items())
    return template_spec(
        ("loss_curve", shape, height),
        lambda: _loss_layers(shape, height),
        {f"loss_{i}": labelled(label, df) for i, (label, (*_, df)) in enumerate(series.items())},
    )


EVALUATED = {  # an evaluation's legend label, by split
    "train": N_("train loss (evaluated)"),
    "dev": N_("dev loss (evaluated)"),
    "test": N_("test loss (evaluated)"),
}


def _loss_layers(shape, height) -> alt.TopLevelMixin:
    """The chart of loss_curve_spec for series [(label, colour, style)], data loss_0, ..."""
    if not shape:
        return alt.Chart(pd.DataFrame({"step": [], "value": []})).mark_line()
    colour = alt.Color(
        "series:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=0, columns=3)
    ).scale(domain=[label for label, *_ in shape], range=[c for _, c, _ in shape])
    x = alt.X("step:Q", title=t("step"))
    y = alt.Y("value:Q", title=t("log10(loss)")).scale(zero=False)
    tooltip = [
        alt.Tooltip("series:N", title=t("curve")),
        alt.Tooltip("step:Q", title=t("step"), format=",.0f"),
        alt.Tooltip("value:Q", title=t("log10(loss)"), format=".4f"),
    ]
    layers = []
    for i, (*_, style) in enumerate(shape):
        base = alt.Chart(alt.NamedData(f"loss_{i}"))
        if style in ("finer", "curve"):
            mark = base.mark_line(strokeWidth=1 if style == "finer" else 2)
            layers.append(mark.encode(x=x, y=y, color=colour, tooltip=tooltip))
        elif style == "reference":
            mark = base.mark_rule(strokeDash=[6, 4], strokeWidth=1.5)
            layers.append(mark.encode(y=y, color=colour, tooltip=tooltip[::2]))
        else:  # evaluations: dev dashed with squares, train solid with circles on top
            mark = base.mark_line(
                point=alt.OverlayMarkDef(shape="square" if style == "dev" else "circle", size=40),
                strokeDash=[5, 3] if style == "dev" else [1, 0],
                strokeWidth=2 if style == "dev" else 1.5,
            )
            layers.append(mark.encode(x=x, y=y, color=colour, tooltip=tooltip))
    return alt.layer(*layers).properties(height=height).interactive(bind_y=False)


KIND_COLORS = {"vowel": "#e45756", "consonant": "#4c78a8", "end": "#222222", "other": "#54a24b"}
KIND_LABELS = {  # the legend's names for the kinds of character
    "vowel": N_("vowel"),
    "consonant": N_("consonant"),
    "end": N_("end"),
    "other": N_("other"),
}


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
    kinds = {k: t(v) for k, v in KIND_LABELS.items()}
    return points.assign(
        label=points["ch"].replace({" ": "␣"}), kind=[kinds.get(k, k) for k in points["kind"]]
    )


def _embedding_layers(points, x_title: str, y_title: str, height: int) -> alt.LayerChart:
    base = alt.Chart(points).encode(
        x=alt.X("x:Q", title=x_title).scale(zero=False, padding=20),
        y=alt.Y("y:Q", title=y_title).scale(zero=False, padding=20),
        tooltip=[
            alt.Tooltip("label:N", title=t("character")),
            alt.Tooltip("kind:N", title=t("kind")),
            alt.Tooltip("x:Q", title=x_title),
            alt.Tooltip("y:Q", title=y_title),
        ],
    )
    colour = alt.Color(
        "kind:N",
        title=t("character"),
        scale=alt.Scale(
            domain=[t(KIND_LABELS[k]) for k in KIND_COLORS], range=list(KIND_COLORS.values())
        ),
    )
    dots = base.mark_circle(size=420, opacity=0.85).encode(color=colour)
    text = base.mark_text(fontSize=13, fontWeight="bold", color="white").encode(text="label:N")
    return (dots + text).properties(height=height)


def lr_sweep(exponents, losses, smoothed, best_exponent, height=340) -> alt.Chart:
    """Loss after each step of the sweep against log10(learning rate), with the valley marked."""
    each, smooth = t("each step"), t("smoothed")
    df = pd.DataFrame({"exponent": exponents, each: losses, smooth: smoothed})
    df[each] = df[each].clip(upper=max(12.0, 2 * df[smooth].iloc[0]))
    long = df.melt("exponent", var_name="series", value_name="loss")
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("exponent:Q", title=t("log10(learning rate)")),
            y=alt.Y("loss:Q", title=t("minibatch loss")).scale(zero=False),
            color=alt.Color(
                "series:N", title=None, scale=alt.Scale(range=[theme.FINER, theme.MINIBATCH])
            ),
            strokeWidth=alt.StrokeWidth("series:N", legend=None, scale=alt.Scale(range=[1, 2.5])),
            tooltip=[
                alt.Tooltip("exponent:Q", title=t("log10(learning rate)"), format=".2f"),
                alt.Tooltip("loss:Q", title=t("minibatch loss"), format=".3f"),
            ],
        )
    )
    valley = (
        alt.Chart(
            pd.DataFrame(
                {"exponent": [best_exponent], "label": [t("valley: 10^{e:.2f}", e=best_exponent)]}
            )
        )
        .mark_rule(color=theme.REFERENCES[0], strokeDash=[6, 4], strokeWidth=2)
        .encode(x="exponent:Q", tooltip=[alt.Tooltip("label:N", title=t("valley"))])
    )
    return (lines + valley).properties(height=height)
