"""Altair charts of makemore part 1: the bigram table, its rows, one word, the samples.

Every builder takes tensors or plain lists and returns an alt.Chart (or draws one through
a cached template: draw, draw_heatmap). Characters are shown as they are, except a space,
which is drawn as '␣'; '.' (index 0) comes first on every axis. The smoothing curves are
in ui.part1_bigrams.curves.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import torch

from engine.part1_bigrams.ngram import decode_context
from ui import i18n, present, theme
from ui.charts import template_spec
from ui.i18n import N_, t

SPACE = "␣"
CELLS, MARKS = "cells", "marks"  # named datasets of the chart templates
LABELS_UP_TO = 30  # heatmaps with more characters than this get tooltips instead of labels
VALUES = {  # heatmap modes: (column, legend title, text format)
    "counts": ("count", N_("count"), ",d"),
    "probabilities": ("p", N_("P(next|first)"), ".2f"),
    "log-probabilities": ("logp", "log P", ".1f"),
}
MODES = tuple(VALUES)
MODE_LABELS = {
    "counts": N_("counts"),
    "probabilities": N_("probabilities"),
    "log-probabilities": N_("log-probabilities"),
}


def mode_label(mode: str) -> str:
    """A heatmap mode (an option's value, kept in links) as the session reads it."""
    return t(MODE_LABELS[mode])


def mode_labels() -> dict[str, str]:
    """Every mode's label in the session's language: `format_func=mode_labels().get`, a
    lookup that gives the same label wherever Streamlit calls it (AppTest: outside the run)."""
    return {mode: mode_label(mode) for mode in MODES}


def show(ch: str) -> str:
    """A character as drawn on a chart axis or in a table."""
    return SPACE if ch == " " else ch


def shown(text: str) -> str:
    return text.replace(" ", SPACE)


# ---------------------------------------------------------------------------------------
# the bigram table


def bigram_frame(itos, P: torch.Tensor | None = None, N: torch.Tensor | None = None):
    """One row per cell of a (V, V) table: first, next, bigram, and count / p / logp."""
    V = len(itos)
    labels = [show(c) for c in itos]
    df = pd.DataFrame(
        {
            "first": [labels[i] for i in range(V) for _ in range(V)],
            "next": labels * V,
        }
    )
    df["bigram"] = df["first"] + df["next"]
    if N is not None:
        df["count"] = N.reshape(-1).tolist()
    if P is not None:
        p = P.reshape(-1).double()
        df["p"] = p.tolist()
        logp = p.log()
        df["logp"] = logp.where(logp.isfinite(), torch.nan).tolist()  # -inf: never seen
    return df


def heatmap_template(
    itos,
    mode: str = "counts",
    size: int = 700,
    labels: bool | None = None,
    legend: str = "right",
    with_counts: bool = True,
    with_p: bool = True,
    fill: float | None = None,
) -> alt.LayerChart:
    """The heatmap without its data: it reads the named dataset CELLS (a bigram_frame).

    `fill` (presenter mode's zoom): the grid takes the chart's whole width, `size` tall
    (presenter mode scales that), its text as large as the zoom asks and the cells allow;
    else `size` pixels square.

    Nothing in it depends on the numbers (colour domain and text contrast are computed by
    Vega from the data), so the spec can be built once per vocabulary and mode and reused
    while only the data changes, e.g. at every move of the smoothing slider.
    """
    field, legend_title, fmt = VALUES[mode]
    order = [show(c) for c in itos]
    V = len(itos)
    if labels is None:
        labels = V <= LABELS_UP_TO
    tooltip = [
        alt.Tooltip("bigram:N", title=t("bigram")),
        alt.Tooltip("first:N", title=t("first character (row)")),
        alt.Tooltip("next:N", title=t("next character (column)")),
    ]
    if with_counts:
        tooltip.append(alt.Tooltip("count:Q", title=t("count"), format=",d"))
    if with_p:
        tooltip += [
            alt.Tooltip("p:Q", title=t("P(next | first)"), format=".4f"),
            alt.Tooltip("logp:Q", title="log P", format=".3f"),
        ]
    cell = size / V
    font = 11 if cell >= 14 else 9
    # every character labelled while they fit; huge uploaded vocabularies thin them out
    axis = {"labelAngle": 0, "labelFontSize": font, "labelOverlap": cell < 10, "ticks": False}
    base = alt.Chart().encode(
        x=alt.X("next:O", sort=order, title=t("next character (column)")).axis(
            orient="top", **axis
        ),
        y=alt.Y("first:O", sort=order, title=t("first character (row)")).axis(**axis),
        tooltip=tooltip,
    )
    scale = (
        {"scheme": "blues"} if mode == "log-probabilities" else {"scheme": "blues", "domainMin": 0}
    )
    colour = alt.Color(f"{field}:Q", title=t(legend_title)).scale(**scale)
    if legend == "bottom":
        colour = colour.legend(orient="bottom", direction="horizontal", gradientLength=size * 0.6)
    # zero counts and probabilities (log = -inf) are white: pairs never seen
    seen = f"isValid(datum.{field}) && datum.{field} != 0"
    if mode == "log-probabilities":
        seen = f"isValid(datum.{field})"
    zero = base.mark_rect(color="white", stroke="#eeeeee", strokeWidth=0.5)
    layers = [
        zero.transform_filter(f"!({seen})"),
        base.mark_rect().encode(color=colour).transform_filter(seen),
    ]
    if labels:
        # white text on the darkest 45 % of the colour range, dark grey elsewhere
        lo = "datum.bottom" if mode == "log-probabilities" else "0"
        ink = (
            alt.when(f"isValid(datum.{field}) && datum.{field} > {lo} + 0.55 * (datum.top - {lo})")
            .then(alt.value("white"))
            .otherwise(alt.value("#444444"))
        )
        text = base.transform_joinaggregate(top=f"max({field})", bottom=f"min({field})")
        text_size = 9 if cell >= 30 else 8 if cell >= 24 else 7
        if fill:  # as large as the zoom asks and the cell's width (3 characters) allows
            text_size = {"expr": f"max(7, min({text_size * fill:g}, width / {V} / 3))"}
        layers.append(
            text.mark_text(baseline="bottom", fontSize=text_size, dy=-1).encode(
                text="bigram:N", color=ink
            )
        )
        value_text = text.transform_calculate(
            shown=f"isValid(datum.{field}) ? format(datum.{field}, '{fmt}') : '−∞'"
        )
        layers.append(
            value_text.mark_text(baseline="top", fontSize=text_size, dy=1).encode(
                text="shown:N", color=ink
            )
        )
    chart = alt.layer(*layers, data=alt.NamedData(CELLS))
    if fill:
        return chart.properties(width="container", height=size)
    # step sizing: `size` is the grid itself, axes and legend come on top of it
    return chart.properties(width=alt.Step(cell), height=alt.Step(cell))


def heatmap(
    itos,
    P: torch.Tensor | None = None,
    N: torch.Tensor | None = None,
    mode: str = "counts",
    title: str | None = None,
    size: int = 700,
    labels: bool | None = None,
    legend: str = "right",
) -> alt.LayerChart:
    """The lecture's V x V picture: row = first character, column = the next one.

    Cells are coloured by the count, the probability or the log-probability, pale to dark
    blue, and labelled with the bigram and the value when there are at most LABELS_UP_TO
    characters (labels=None); larger vocabularies keep the tooltip only. Cells that are
    zero (count 0, or probability 0 with k = 0, log-probability -inf) are white.
    """
    template = heatmap_template(itos, mode, size, labels, legend, N is not None, P is not None)
    return template.properties(data=bigram_frame(itos, P, N), title=title or "")


def row_bars(itos, first: str, P: torch.Tensor, N: torch.Tensor | None = None) -> alt.Chart:
    """One row of the table: the distribution of the character that follows `first`."""
    i = itos.index(first)
    df = pd.DataFrame({"next": [show(c) for c in itos], "p": P[i].double().tolist()})
    tooltip = [
        alt.Tooltip("next:N", title=t("next character")),
        alt.Tooltip("p:Q", title="p", format=".4f"),
    ]
    if N is not None:
        df["count"] = N[i].tolist()
        tooltip.append(alt.Tooltip("count:Q", title=t("count"), format=",d"))
    return (
        alt.Chart(df, title=t("What follows '{c}': P(next | {c})", c=show(first)))
        .mark_bar()
        .encode(
            x=alt.X("next:O", sort=list(df["next"]), title=t("next character")).axis(
                labelAngle=0, labelOverlap=False
            ),
            y=alt.Y("p:Q", title=t("probability")),
            tooltip=tooltip,
        )
        .properties(height=260)
    )


def top_ngrams(N: torch.Tensor, P: torch.Tensor, n: int, itos, limit: int = 20) -> pd.DataFrame:
    """The most frequent n-grams with their counts and smoothed probabilities; the columns
    t("n-gram"), t("count") and t("P(last | before)"), in the session's language."""
    V = N.shape[1]
    values, flat = N.reshape(-1).topk(min(limit, N.numel()))
    rows = []
    for c, ix in zip(values.tolist(), flat.tolist(), strict=True):
        if c == 0:
            break
        r, j = divmod(ix, V)
        gram = decode_context(r, n, itos) + itos[j]
        rows.append((shown(gram), c, P[r, j].item()))
    return pd.DataFrame(rows, columns=[t("n-gram"), t("count"), t("P(last | before)")])


# ---------------------------------------------------------------------------------------
# charts whose structure is built (and validated by Altair) once, with fresh data each run


def draw(
    where, template_key: tuple, build, datasets: dict, *, key: str, title=None, width="stretch"
):
    """Draw build()'s chart with its named datasets filled in (and its title replaced).

    Building and validating an Altair chart costs tens of milliseconds; the template is
    cached by template_key (everything the chart's structure depends on), so a rerun
    only ships new data: what keeps the smoothing slider well under 100 ms.
    """
    spec = template_spec(template_key, build, datasets)
    if title is not None:
        spec["title"] = title
    where.vega_lite_chart(spec, key=key, width=width)


def draw_heatmap(where, itos, P=None, N=None, mode="counts", *, key: str, title="", **kw):
    """charts.heatmap through a cached template: only the cells' data is rebuilt.
    In presenter mode the grid fills the page's width."""
    fill = present.zoom() if present.active() else None
    args = (tuple(itos), mode, *sorted(kw.items()), N is not None, P is not None, fill)
    args += (i18n.language(),)  # the template holds the axis titles and tooltips
    build = lambda: heatmap_template(  # noqa: E731
        itos, mode, with_counts=N is not None, with_p=P is not None, fill=fill, **kw
    )
    frame = bigram_frame(itos, P, N)
    draw(
        where,
        ("heatmap", *args),
        build,
        {CELLS: frame},
        key=key,
        title=title,
        width="stretch" if fill else "content",
    )


# ---------------------------------------------------------------------------------------
# one word


def surprisal_bars(rows) -> alt.Chart:
    """-log p of each step of '.word.' (rows of engine.likelihood.word_logprobs); inf shown as ∞."""
    df = pd.DataFrame(
        {
            "step": [f"{i + 1}: {shown(r['context'] + r['next'])}" for i, r in enumerate(rows)],
            "p": [r["p"] for r in rows],
            "surprisal": [r["surprisal"] if math.isfinite(r["surprisal"]) else None for r in rows],
        }
    )
    finite = df["surprisal"].dropna()
    top = (finite.max() if len(finite) else 1.0) * 1.15
    df["bar"] = df["surprisal"].fillna(top)
    df["label"] = [
        f"{s:.2f}" if s is not None and math.isfinite(s) else "∞" for s in df["surprisal"]
    ]
    base = alt.Chart(df).encode(
        x=alt.X("step:N", sort=list(df["step"]), title=t("step (context → next character)")).axis(
            labelAngle=0
        ),
        y=alt.Y("bar:Q", title=t("surprisal −log p (nats)")),
        tooltip=[
            alt.Tooltip("step:N", title=t("step")),
            alt.Tooltip("p:Q", title="p", format=".4f"),
            alt.Tooltip("label:N", title="−log p"),
        ],
    )
    bars = base.mark_bar().encode(
        color=alt.condition("datum.label == '∞'", alt.value("#d62728"), alt.value("#4c78a8"))
    )
    text = base.mark_text(baseline="bottom", dy=-2).encode(text="label:N")
    title = t("How surprised the model is at each character")
    return alt.layer(bars, text, title=title).properties(height=280)


def sample_lengths(samples, words) -> alt.Chart:
    """Share of samples and of dataset words of each length: does the model know word length?"""
    rows = []
    series = [t("dataset words"), t("samples")]
    for name, ws in zip(series, (words, samples), strict=True):
        lengths = pd.Series([len(w) for w in ws], dtype="int64")
        share = lengths.value_counts(normalize=True).sort_index()
        rows += [{"length": n, "share": s, "series": name} for n, s in share.items()]
    df = pd.DataFrame(rows, columns=["length", "share", "series"])
    return (
        alt.Chart(df, title=t("Word lengths: samples against the dataset"))
        .mark_line(point=True)
        .encode(
            x=alt.X("length:Q", title=t("characters in the word")).scale(domainMin=0),
            y=alt.Y("share:Q", title=t("share of words")).axis(format="%"),
            color=alt.Color("series:N", title=None, sort=series)
            .scale(domain=series, range=[theme.ALL_WORDS, theme.MINIBATCH])
            .legend(orient="bottom"),
            tooltip=[
                alt.Tooltip("series:N", title=t("series")),
                alt.Tooltip("length:Q", title=t("length")),
                alt.Tooltip("share:Q", title=t("share"), format=".1%"),
            ],
        )
        .properties(height=280)
    )
