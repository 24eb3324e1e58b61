"""The BatchNorm page's charts (lesson 3): the notebook's BatchNorm widget, batch against
running statistics over training, the calibration scatter and per-neuron bars of E02.

batch_vs_running_spec is redrawn on every training tick: a Vega-Lite spec from a cached
template (charts.template_spec), as in ui.part3_bn.charts; the others are Altair charts.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from engine.part3_bn.batchnorm import BatchNormWidget, Calibration
from ui.charts import template_spec
from ui.i18n import N_, language, t
from ui.part3_bn.charts import BLUE, GRAY, RED, STEADY


def _normal_pdf(mu: float, sigma: float, lo: float, hi: float, n: int = 200) -> pd.DataFrame:
    xs = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    pdf = [math.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi)) for x in xs]
    return pd.DataFrame({"x": xs, "y": pdf})


def batchnorm_widget(w: BatchNormWidget) -> alt.Chart:
    """Cell 22: inputs (blue, y=1) joined to their normalised outputs (red, y=0), with the
    input's Gaussian N(mu, std) in blue and the standard normal N(0, 1) in red."""
    reach = max(6.0, *(abs(v) + 0.5 for v in w.inputs))
    lo, hi = -reach, reach
    inputs, outputs = t("input x"), t("output (x − μ) / σ")
    points = pd.DataFrame(
        [{"x": v, "y": 1.0, "kind": inputs, "i": i} for i, v in enumerate(w.inputs)]
        + [{"x": v, "y": 0.0, "kind": outputs, "i": i} for i, v in enumerate(w.outputs)]
    )
    x = alt.X("x:Q", title=t("value")).scale(domain=[lo, hi], nice=False).axis(tickCount=12)
    y = alt.Y("y:Q", title=None).scale(domain=[-0.05, 1.1]).axis(values=[0, 1])
    colors = alt.Color("kind:N", title=None).scale(domain=[inputs, outputs], range=[BLUE, RED])
    links = alt.Chart(points).mark_line(color=GRAY, opacity=0.4).encode(x=x, y=y, detail="i:N")
    dots = (
        alt.Chart(points)
        .mark_circle(size=120, opacity=1)
        .encode(
            x=x,
            y=y,
            color=colors,
            tooltip=[
                alt.Tooltip("kind:N", title=t("point")),
                alt.Tooltip("x:Q", title=t("value"), format=".2f"),
            ],
        )
    )
    sigma = max(w.std, 1e-6)
    pdf_in = alt.Chart(_normal_pdf(w.mu, sigma, lo, hi)).mark_line(color=BLUE).encode(x=x, y=y)
    pdf_out = alt.Chart(_normal_pdf(0.0, 1.0, lo, hi)).mark_line(color=RED).encode(x=x, y=y)
    return alt.layer(
        pdf_in,
        pdf_out,
        links,
        dots,
        title=t("input mu {mu:.2f} std {std:.2f}", mu=w.mu, std=w.std),
    ).properties(height=300)


TRACE = "batch_vs_running"  # batch_vs_running_spec's dataset
STATS = {"mean": N_("mean"), "std": N_("std")}  # the statistics' names, as shown


def _trace_names(stat: str) -> list[str]:
    """The legend's two series: the batch statistic and its running estimate."""
    shown = t(STATS[stat])
    return [t("batch {stat}", stat=shown), t("running {stat}", stat=shown)]


def batch_vs_running_spec(series: dict[str, list[float]], stat: str) -> dict:
    """One neuron's batch statistic per recorded step (thin, jumpy) and its running
    estimate; a Vega-Lite spec from a cached template (see template_spec)."""
    names = _trace_names(stat)
    n = len(series["step"])
    df = pd.DataFrame(
        {
            "step": series["step"] * 2,
            "value": series[f"batch {stat}"] + series[f"running {stat}"],
            "series": [names[0]] * n + [names[1]] * n,
        }
    )
    return template_spec(
        ("batch_vs_running", language(), stat),
        lambda: _batch_vs_running_layers(stat),
        {TRACE: df},
    )


def _batch_vs_running_layers(stat: str) -> alt.LayerChart:
    names, shown = _trace_names(stat), t(STATS[stat])
    color = alt.Color("series:N", title=None).scale(domain=names, range=["#9ecae1", RED])
    base = alt.Chart(alt.NamedData(TRACE)).encode(
        x=alt.X("step:Q", title=t("step")),
        y=alt.Y("value:Q", title=shown).scale(zero=False).axis(STEADY),
        color=color,
        tooltip=[
            alt.Tooltip("series:N", title=t("series")),
            alt.Tooltip("step:Q", title=t("step")),
            alt.Tooltip("value:Q", title=shown, format=".4f"),
        ],
    )
    batch = base.transform_filter(alt.datum.series == names[0]).mark_line(strokeWidth=1)
    running = base.transform_filter(alt.datum.series == names[1]).mark_line(strokeWidth=2.5)
    title = t("{stat} of the pre-activation", stat=shown)
    return alt.layer(batch, running, title=title).properties(height=240)


def calibration_scatter(cal: Calibration, stat: str) -> alt.Chart:
    """Per neuron: the running estimate (x) against the whole-train-split value (y)."""
    running = cal.running_mean if stat == "mean" else cal.running_std
    calibrated = cal.calibrated_mean if stat == "mean" else cal.calibrated_std
    df = pd.DataFrame({"running": running, "calibrated": calibrated})
    df["neuron"] = range(len(df))
    lo = min(df["running"].min(), df["calibrated"].min())
    hi = max(df["running"].max(), df["calibrated"].max())
    diagonal = pd.DataFrame({"running": [lo, hi], "calibrated": [lo, hi]})
    shown = t(STATS[stat])
    x_title = t("running {stat} (kept during training)", stat=shown)
    y_title = t("whole-split {stat}", stat=shown)
    dots = (
        alt.Chart(df)
        .mark_circle(size=30, color=BLUE, opacity=0.7)
        .encode(
            x=alt.X("running:Q", title=x_title).scale(zero=False),
            y=alt.Y("calibrated:Q", title=y_title).scale(zero=False),
            tooltip=[
                alt.Tooltip("neuron:Q", title=t("neuron")),
                alt.Tooltip("running:Q", title=x_title, format=".4f"),
                alt.Tooltip("calibrated:Q", title=y_title, format=".4f"),
            ],
        )
    )
    line = (
        alt.Chart(diagonal)
        .mark_line(color=GRAY, strokeDash=[4, 4])
        .encode(x="running:Q", y="calibrated:Q")
    )
    title = t("{stat} per neuron", stat=shown)
    return alt.layer(line, dots, title=title).properties(height=300)


def per_neuron_bars(values: list[float], title: str, y_title: str) -> alt.Chart:
    df = pd.DataFrame({"neuron": range(len(values)), "value": values})
    return (
        alt.Chart(df, title=title)
        .mark_bar(color=BLUE)
        .encode(
            x=alt.X("neuron:Q", title=t("hidden neuron")),
            y=alt.Y("value:Q", title=y_title),
            tooltip=[
                alt.Tooltip("neuron:Q", title=t("neuron")),
                alt.Tooltip("value:Q", title=y_title, format=".4f"),
            ],
        )
        .properties(height=220)
    )
