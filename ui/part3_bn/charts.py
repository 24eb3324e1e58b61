"""Chart builders for the pages of lesson 3 (activations, gradients, BatchNorm).

They draw what engine.part3_bn computes: pre-binned histograms (left bin edges, as the
lecture plots hx[:-1]), the white/black saturation image, update:data ratios with the -3
guide, and side-by-side loss curves of runs trained in lockstep (the BatchNorm page's own
charts: ui.part3_bn.batchnorm).

The charts the live pages redraw on every training tick (the `*_spec` builders) are
Vega-Lite specs for st.vega_lite_chart from cached templates (charts.template_spec): their
structure is built and validated once, each tick only fills in the named datasets. The
others, drawn once per rerun, are Altair charts.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from engine.part3_bn.stats import Histogram, UpdateRatios
from ui import theme
from ui.charts import bucket_means, template_spec
from ui.i18n import N_, language, t

SATURATED = "white"  # the video's imshow(h.abs() > 0.99, cmap="gray"): True is white
ACTIVE = "black"
# Charts redrawn on every training tick: a fixed room for the y labels keeps the layout
# from jumping (and from clipping the left edge) as the labels change width.
STEADY = {"minExtent": 50}
BLUE, RED, GRAY = "#1f77b4", "#d62728", "#7f7f7f"  # matplotlib's C0 and C3: the notebook's plots


def _palette(n: int) -> alt.Scale:
    return alt.Scale(scheme="tableau10" if n <= 10 else "tableau20")


def _legend_height(n: int, minimum: int = 280) -> int:
    """Tall enough for a legend of n entries (10 layers or 12 parameters at the extremes)."""
    return max(minimum, 22 * n + 90)


def _empty(title: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": []}), title=title).mark_point()


def _empty_spec(title: str) -> dict:
    return template_spec(("empty", title), lambda: _empty(title), {})


# ---------------------------------------------------------------------------------------
# init explorer


def histogram_bars(
    hist: Histogram, title: str, x_title: str, y_title: str | None = None, color: str = BLUE
) -> alt.Chart:
    """One pre-binned histogram as touching bars from 0 to the count (plt.hist, 50 bins);
    the y axis is the count unless `y_title` says otherwise."""
    y_title = t("count") if y_title is None else y_title
    if not hist.x:
        return _empty(title)
    width = hist.x[1] - hist.x[0] if len(hist.x) > 1 else 1.0
    df = pd.DataFrame({"x": hist.x, "y": hist.y})
    df["x2"] = df["x"] + width
    return (
        alt.Chart(df, title=title)
        .mark_rect(color=color)
        .encode(
            x=alt.X("x:Q", title=x_title).scale(zero=False, nice=False),
            x2="x2:Q",
            y=alt.Y("y:Q", title=y_title),
            y2=alt.datum(0),
            tooltip=[
                alt.Tooltip("x:Q", title=t("bin from"), format=".3f"),
                alt.Tooltip("x2:Q", title=t("bin to"), format=".3f"),
                alt.Tooltip("y:Q", title=y_title, format=",.4g"),
            ],
        )
        .properties(height=240)
    )


def saturation_image(saturated: list[list[int]], cell: int = 5) -> alt.Chart:
    """Examples (rows) x neurons (columns): white where |h| > 0.99, black where tanh is active.
    A column that is white all the way down is a dead neuron."""
    rows, cols = len(saturated), len(saturated[0]) if saturated else 0
    df = pd.DataFrame(
        [
            {"example": i, "neuron": j, "saturated": v}
            for i, row in enumerate(saturated)
            for j, v in enumerate(row)
        ]
    )
    if not len(df):
        return _empty("|h| > 0.99")
    every = max(1, cols // 10)
    return (
        alt.Chart(
            df,
            title=t(
                "|h| > 0.99 for {rows} examples × {cols} neurons (white = saturated)",
                rows=rows,
                cols=cols,
            ),
        )
        .mark_rect()
        .encode(
            x=alt.X("neuron:O", title=t("hidden neuron")).axis(
                values=list(range(0, cols, every)), labelAngle=0
            ),
            y=alt.Y("example:O", title=t("example in the batch")).axis(
                values=list(range(0, rows, max(1, rows // 8)))
            ),
            color=alt.Color("saturated:Q", legend=None).scale(
                domain=[0, 1], range=[ACTIVE, SATURATED]
            ),
            tooltip=[
                alt.Tooltip("example:O", title=t("example")),
                alt.Tooltip("neuron:O", title=t("neuron")),
                alt.Tooltip("saturated:Q", title=t("saturated")),
            ],
        )
        .properties(height=max(120, rows * cell * 2), width="container")
        .configure_view(stroke=GRAY, strokeWidth=1)
    )


# ---------------------------------------------------------------------------------------
# loss curves of runs trained side by side


RUNS, RUN_REFS = "compare_runs", "compare_refs"  # compare_loss_curves_spec's datasets


def compare_loss_curves_spec(
    runs: dict[str, list[float]],
    first: int | None = None,
    references: dict[str, float] | None = None,
    title: str | None = None,
    height: int = 300,
) -> dict:
    """log10 minibatch loss of several runs; `first` = only the first steps, every step
    (where the hockey stick is), else bucket means of the whole run. References {label:
    loss} as dashed rules. A Vega-Lite spec from a cached template (see template_spec)."""
    frames = []
    for label, lossi in runs.items():
        if first is not None:
            part = list(lossi[:first])
            df = pd.DataFrame({"step": range(len(part)), "value": part})
        else:
            df = bucket_means(lossi)
        frames.append(df.assign(run=label))
    df = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({"step": [], "value": [], "run": []})
    )
    refs = pd.DataFrame(
        [{"line": k, "value": math.log10(v)} for k, v in (references or {}).items() if v > 0],
        columns=["line", "value"],
    )
    order, lines, title = tuple(runs), tuple(refs["line"]), title or ""
    return template_spec(
        ("compare_loss_curves", language(), order, first, lines, title, height),
        lambda: _compare_loss_layers(order, bool(lines), title, height),
        {RUNS: df, RUN_REFS: refs} if lines else {RUNS: df},
    )


def _compare_loss_layers(
    order: tuple[str, ...], references: bool, title: str, height: int
) -> alt.LayerChart:
    """The chart of compare_loss_curves_spec: runs in `order` (data RUNS), and the
    references' rules (data RUN_REFS) when there are any."""
    layers = [
        alt.Chart(alt.NamedData(RUNS))
        .mark_line(strokeWidth=1.2, opacity=0.9)
        .encode(
            x=alt.X("step:Q", title=t("step")),
            y=alt.Y("value:Q", title=t("log10(minibatch loss)")).scale(zero=False).axis(STEADY),
            color=alt.Color("run:N", title=None, sort=list(order)).scale(
                domain=list(order), range=list(theme.RUNS[: len(order)])
            ),
            tooltip=[
                alt.Tooltip("run:N", title=t("run")),
                alt.Tooltip("step:Q", title=t("step"), format=",.0f"),
                alt.Tooltip("value:Q", title=t("log10(minibatch loss)"), format=".4f"),
            ],
        )
    ]
    if references:
        layers.append(
            alt.Chart(alt.NamedData(RUN_REFS))
            .mark_rule(color=theme.REFERENCES[0])
            .encode(
                y="value:Q",
                strokeDash=alt.StrokeDash("line:N", title=None).scale(range=[[6, 4]]),
                tooltip=[
                    alt.Tooltip("line:N", title=t("line")),
                    alt.Tooltip("value:Q", title=t("log10(loss)"), format=".4f"),
                ],
            )
        )
    return alt.layer(*layers, title=title).properties(height=height)


# ---------------------------------------------------------------------------------------
# the four diagnostics of cells 15-18


HISTOGRAMS = "histogram_lines"  # histogram_lines_spec's dataset


def histogram_lines_spec(
    series: dict[str, Histogram], title: str, x_title: str, y_title: str | None = None
) -> dict:
    """One step line per layer or parameter from pre-binned histograms (cells 15-17), as a
    Vega-Lite spec from a cached template (see template_spec); y is the density unless
    `y_title` says otherwise."""
    y_title = t("density") if y_title is None else y_title
    xs, ys, names = [], [], []
    for label, h in series.items():
        xs += h.x
        ys += h.y
        names += [label] * len(h.x)
    if not xs:
        return _empty_spec(title)
    order = tuple(series)
    return template_spec(
        ("histogram_lines", language(), order, title, x_title, y_title),
        lambda: _histogram_lines_chart(order, title, x_title, y_title),
        {HISTOGRAMS: pd.DataFrame({"x": xs, "density": ys, "series": names})},
    )


def _histogram_lines_chart(
    order: tuple[str, ...], title: str, x_title: str, y_title: str
) -> alt.Chart:
    return (
        alt.Chart(alt.NamedData(HISTOGRAMS), title=title)
        .mark_line(interpolate="step-after", strokeWidth=1.5)
        .encode(
            x=alt.X("x:Q", title=x_title).axis(format="~g"),
            y=alt.Y("density:Q", title=y_title).axis(STEADY),
            color=alt.Color("series:N", title=None, sort=list(order)).scale(_palette(len(order))),
            tooltip=[
                alt.Tooltip("series:N", title=t("series")),
                alt.Tooltip("x:Q", title=x_title, format=".3~g"),
                alt.Tooltip("density:Q", title=y_title, format=".3~g"),
            ],
        )
        .properties(height=_legend_height(len(order)))
    )


UPDATES, GUIDE = "update_ratios", "update_guide"  # update_ratio_lines_spec's datasets
GUIDE_LABEL = N_("−3: updates ≈ 1/1000 of the data")  # shown as t(GUIDE_LABEL)


def update_ratio_lines_spec(updates: UpdateRatios, labels: dict[int, str]) -> dict:
    """log10(std(lr * grad) / std(param)) per step and 2-D parameter, with the -3 guide; a
    Vega-Lite spec from a cached template (see template_spec)."""
    df = pd.DataFrame.from_records(updates.rows, columns=["step", "param", "value"])
    if not len(df):
        return _empty_spec(t("update:data ratio"))
    df["param"] = df["param"].map(labels)
    order = tuple(labels[i] for i in updates.params)
    step_title = (
        t("step") if updates.stride == 1 else t("step (mean of {n} steps)", n=updates.stride)
    )
    guide = pd.DataFrame({"y": [updates.guide]})
    return template_spec(
        ("update_ratio_lines", language(), order, step_title),
        lambda: _update_ratio_layers(order, step_title),
        {UPDATES: df, GUIDE: guide},
    )


def _update_ratio_layers(order: tuple[str, ...], step_title: str) -> alt.LayerChart:
    lines = (
        alt.Chart(alt.NamedData(UPDATES))
        .mark_line(strokeWidth=1.2)
        .encode(
            x=alt.X("step:Q", title=step_title),
            y=alt.Y("value:Q", title=t("log10(update std / data std)")).axis(STEADY),
            color=alt.Color("param:N", title=None, sort=list(order)).scale(_palette(len(order))),
            tooltip=[
                alt.Tooltip("param:N", title=t("parameter")),
                alt.Tooltip("step:Q", title=step_title),
                alt.Tooltip("value:Q", title=t("log10(update std / data std)"), format=".2f"),
            ],
        )
    )
    rule = alt.Chart(alt.NamedData(GUIDE)).mark_rule(color="black", strokeWidth=2).encode(y="y:Q")
    # the guide's label in the subtitle, not on the plot, where the curves run into it
    title = alt.Title(
        t("update:data ratio over time"),
        subtitle=t("black line: {guide}", guide=t(GUIDE_LABEL)),
    )
    return alt.layer(lines, rule, title=title).properties(height=_legend_height(len(order), 300))
