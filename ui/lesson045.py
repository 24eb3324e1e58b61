"""Drawings for lessons 0, 4 and 5: micrograd graphs (DOT text), the tiny MLP's training,
backprop ninja's comparison table and dlogits image, and WaveNet's curves.

Every function takes plain data from the engine and returns DOT text, an alt.Chart, a
Vega-Lite spec (the live loss curve) or a DataFrame; nothing here computes a model.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from engine.micrograd.trace import Trace
from engine.part4_backprop.manual import Comparison
from engine.part5_wavenet import TimeStats
from ui.charts import block_means, bucket_means, template_spec

CURRENT = "#ffcc80"  # the node passing its gradient on in this step
RECEIVING = "#bbdefb"  # its inputs, whose .grad just changed
OP_FILL = "#f5f5f5"
EXAMPLE_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756"]


# ---------------------------------------------------------------------------------------
# micrograd


def _record(text: str) -> str:
    """Text inside a graphviz record label: escape the characters records treat specially."""
    return "".join("\\" + c if c in '{}|<>"\\' else c for c in text)


def _number(x: float) -> str:
    """4 decimals as in the lecture, but no 300-digit boxes for huge numbers."""
    return f"{x:.4f}" if abs(x) < 1e6 else f"{x:.4g}"


def _depth(trace: Trace) -> int:
    """The number of operations on the longest path from a leaf to the root."""
    depth = [0] * len(trace.nodes)
    for i, node in enumerate(trace.nodes):  # topological order: inputs come first
        depth[i] = max((depth[j] + 1 for j in node.inputs), default=0)
    return max(depth)


WIDE = 8  # deeper graphs are drawn top to bottom, so they stay readable on a screen


def graph_dot(trace: Trace, step: int) -> str:
    """The lecture's draw_dot: one record per Value (name, data, grad), a small node per
    operation; the gradients as they are after `step` steps of backward. Left to right as
    in the lecture, top to bottom for graphs too deep to fit across a page."""
    state = trace.steps[step]
    current = state.node
    receiving = set(trace.nodes[current].inputs) if current is not None else set()
    rankdir = "LR" if _depth(trace) <= WIDE else "TB"
    lines = [
        "digraph G {",
        f'  rankdir={rankdir}; bgcolor="transparent"; nodesep=0.15; ranksep=0.25;',
        '  node [fontname="Helvetica,Arial,sans-serif", fontsize=14];',
        '  edge [color="#888888", arrowsize=0.7];',
    ]
    for i, (node, grad) in enumerate(zip(trace.nodes, state.grads, strict=True)):
        fill = CURRENT if i == current else RECEIVING if i in receiving else "white"
        style = "filled,bold" if i == current else "filled"
        # record fields stack across the flow: one narrow column left to right
        label = f"{_record(node.name)} | data {_number(node.data)} | grad {_number(grad)}"
        lines.append(
            f'  v{i} [shape=record, style="{style}", fillcolor="{fill}", label="{label}"];'
        )
        if node.op:
            lines.append(
                f'  op{i} [label="{_record(node.op)}", shape=circle, style=filled, '
                f'fillcolor="{OP_FILL}", margin=0.02, fontsize=13];'
            )
            lines.append(f"  op{i} -> v{i};")
            for j in node.inputs:
                attrs = ' [color="#e8710a", penwidth=2.5]' if i == current else ""
                lines.append(f"  v{j} -> op{i}{attrs};")
    lines.append("}")
    return "\n".join(lines)


MICRO_LOSS, MICRO_PREDS = "micro_loss", "micro_preds"  # the micrograd charts' datasets


def micro_loss_chart(losses: list[float], height=260) -> dict:
    """The sum-of-squares loss after each step (log scale: it falls over orders of
    magnitude). A Vega-Lite spec from a cached template: the live page redraws it."""
    return template_spec(
        ("micro_loss", height),
        lambda: _micro_loss_layers(height),
        {MICRO_LOSS: pd.DataFrame({"step": range(len(losses)), "loss": losses})},
    )


def _micro_loss_layers(height: int) -> alt.Chart:
    return (
        alt.Chart(alt.NamedData(MICRO_LOSS), title="loss (sum of squared errors)")
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="step").scale(domainMin=0),
            y=alt.Y("loss:Q", title="loss (log scale)").scale(type="log"),
            tooltip=[alt.Tooltip("step:Q"), alt.Tooltip("loss:Q", format=".6f")],
        )
        .properties(height=height)
    )


def micro_predictions_chart(preds: list[list[float]], targets, width=170, height=110) -> dict:
    """One small panel per example: its prediction after every step (solid) heading for its
    target (dashed). A Vega-Lite spec from a cached template: the live page redraws it."""
    names = tuple(f"example {k + 1}: target {t:+g}" for k, t in enumerate(targets))
    df = pd.DataFrame(
        [
            {"step": s, "example": names[k], "prediction": p, "target": targets[k]}
            for s, row in enumerate(preds)
            for k, p in enumerate(row)
        ],
        columns=["step", "example", "prediction", "target"],
    )
    return template_spec(
        ("micro_preds", names, width, height),
        lambda: _micro_prediction_panels(names, width, height),
        {MICRO_PREDS: df},
    )


def _micro_prediction_panels(names, width: int, height: int) -> alt.FacetChart:
    colour = alt.Color("example:N", legend=None).scale(domain=list(names), range=EXAMPLE_COLORS)
    base = alt.Chart(alt.NamedData(MICRO_PREDS))
    lines = base.mark_line(point=alt.OverlayMarkDef(size=15)).encode(
        x=alt.X("step:Q", title="step").scale(domainMin=0),
        y=alt.Y("prediction:Q", title="prediction").scale(domain=[-1.1, 1.1]),
        color=colour,
        tooltip=["example:N", "step:Q", alt.Tooltip("prediction:Q", format=".5f")],
    )
    goals = base.mark_rule(strokeDash=[6, 4], strokeWidth=1.5, color="#555555").encode(y="target:Q")
    return (
        alt.layer(goals, lines)
        .properties(width=width, height=height)
        .facet(facet=alt.Facet("example:N", title=None, sort=list(names)), columns=2)
        .properties(title="predictions vs targets")
    )


def derivative_error_chart(rows: list[dict], chosen: float, height=300) -> alt.Chart:
    """|estimate - exact| against the step h, log-log, one line per method; a rule at the
    chosen h."""
    df = pd.DataFrame(rows)
    df = df[df["error"] > 0]
    x = alt.X("h:Q", title="step h (log scale)").scale(type="log", reverse=True)
    lines = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("error:Q", title="largest |estimate − exact| (log scale)").scale(type="log"),
            color=alt.Color("method:N", title=None).scale(range=EXAMPLE_COLORS[:2]),
            tooltip=[
                "method:N",
                alt.Tooltip("h:Q", format=".0e"),
                alt.Tooltip("error:Q", format=".2e"),
            ],
        )
    )
    rule = alt.Chart(pd.DataFrame({"h": [chosen]})).mark_rule(color="#999999").encode(x=x)
    return (rule + lines).properties(height=height)


# ---------------------------------------------------------------------------------------
# backprop ninja


def cmp_frame(rows: tuple[Comparison, ...]) -> pd.DataFrame:
    """The notebook's cmp lines as a table (plus the shapes, which must match)."""
    return pd.DataFrame(
        [
            {
                "tensor": r.name,
                "shape": str(r.shape),
                "exact": r.exact,
                "approximate": r.approximate,
                "maxdiff": r.maxdiff,
                "your shape": "" if r.manual_shape == r.shape else str(r.manual_shape),
            }
            for r in rows
        ]
    )


APPROXIMATE_ONLY = "#fff3cd"  # right up to rounding, not bit for bit
WRONG = "#f8d7da"


def cmp_table(rows: tuple[Comparison, ...]):
    """cmp_frame with each row coloured: white exact, yellow approximate only, red wrong."""

    def colour(row):
        fill = "" if row["exact"] else APPROXIMATE_ONLY if row["approximate"] else WRONG
        return [f"background-color: {fill}" if fill else ""] * len(row)

    return cmp_frame(rows).style.apply(colour, axis=1).format({"maxdiff": "{:.3e}"})


def dlogits_heatmap(dlogits: list[list[float]], itos: list[str], targets: list[int]) -> alt.Chart:
    """plt.imshow(dlogits, cmap='gray'): rows are the batch's examples, columns the characters.
    Low (negative) is black and high is white, as in matplotlib's gray colour map."""
    labels = [c if c != " " else "␣" for c in itos]
    df = pd.DataFrame(
        [
            {
                "example": i,
                "char": labels[j],
                "dlogits": v,
                "is the label": j == targets[i],
            }
            for i, row in enumerate(dlogits)
            for j, v in enumerate(row)
        ]
    )
    cell = 16
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("char:O", sort=labels, title="character (class)").axis(labelAngle=0),
            y=alt.Y("example:O", title="example in the batch"),
            color=alt.Color("dlogits:Q", title="dlogits").scale(scheme="greys", reverse=True),
            tooltip=[
                "example:O",
                "char:O",
                alt.Tooltip("dlogits:Q", format=".5f"),
                "is the label:N",
            ],
        )
        .properties(width=cell * len(labels), height=cell * len(dlogits))
    )


# ---------------------------------------------------------------------------------------
# WaveNet


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


def time_stats_chart(stats: TimeStats, what: str, over_time: bool, height=220) -> alt.Chart:
    """Per channel: the statistic at each position (dots, the bug) and shared by all
    positions (black bar, the fix). `what` is "mean" or "var"."""
    per = stats.per_position_mean if what == "mean" else stats.per_position_var
    shared = stats.shared_mean if what == "mean" else stats.shared_var
    names = [f"characters {2 * t + 1}–{2 * t + 2}" for t in range(stats.positions)]
    dots = pd.DataFrame(
        [
            {"channel": c, "position": names[t], "value": v}
            for t, row in enumerate(per)
            for c, v in enumerate(row)
        ]
    )
    bars = pd.DataFrame({"channel": range(len(shared)), "value": shared})
    used = 0.9 if not over_time else 0.35
    x = alt.X("channel:O", title="channel (first 16 of the layer's neurons)").axis(labelAngle=0)
    title = "mean" if what == "mean" else "variance"
    points = (
        alt.Chart(dots)
        .mark_circle(size=70, opacity=used)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=title),
            color=alt.Color("position:N", title="per position (dim 0 only)").scale(
                domain=names, scheme="tableau10"
            ),
            tooltip=["position:N", "channel:O", alt.Tooltip("value:Q", format=".4f")],
        )
    )
    ticks = (
        alt.Chart(bars)
        .mark_tick(color="black", thickness=3 if over_time else 1.5, size=30)
        .encode(
            x=x,
            y="value:Q",
            tooltip=["channel:O", alt.Tooltip("value:Q", title=f"shared {title}", format=".4f")],
        )
    )
    return (points + ticks).properties(title=f"{title} of each channel", height=height)
