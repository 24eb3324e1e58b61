"""Drawings for the micrograd lesson: the graph stepped through backward (DOT text), the tiny
MLP's loss and predictions, and the exercise's finite-difference errors.

Every function takes plain data from the engine and returns DOT text, an alt.Chart or a
Vega-Lite spec (the live charts); nothing here computes a model.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from engine.micrograd.trace import Trace
from ui import i18n
from ui.charts import template_spec
from ui.i18n import t

CURRENT = "#ffcc80"  # the node passing its gradient on in this step

RECEIVING = "#bbdefb"  # its inputs, whose .grad just changed

OP_FILL = "#f5f5f5"

EXAMPLE_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756"]


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
        ("micro_loss", height, i18n.language()),
        lambda: _micro_loss_layers(height),
        {MICRO_LOSS: pd.DataFrame({"step": range(len(losses)), "loss": losses})},
    )


def _micro_loss_layers(height: int) -> alt.Chart:
    return (
        alt.Chart(alt.NamedData(MICRO_LOSS), title=t("loss (sum of squared errors)"))
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title=t("step")).scale(domainMin=0),
            y=alt.Y("loss:Q", title=t("loss (log scale)")).scale(type="log"),
            tooltip=[
                alt.Tooltip("step:Q", title=t("step")),
                alt.Tooltip("loss:Q", title=t("loss"), format=".6f"),
            ],
        )
        .properties(height=height)
    )


def micro_predictions_chart(preds: list[list[float]], targets, width=170, height=110) -> dict:
    """One small panel per example: its prediction after every step (solid) heading for its
    target (dashed). A Vega-Lite spec from a cached template: the live page redraws it."""
    names = tuple(
        t("example {k}: target {target:+g}", k=k + 1, target=y) for k, y in enumerate(targets)
    )
    df = pd.DataFrame(
        [
            {"step": s, "example": names[k], "prediction": p, "target": targets[k]}
            for s, row in enumerate(preds)
            for k, p in enumerate(row)
        ],
        columns=["step", "example", "prediction", "target"],
    )
    return template_spec(
        ("micro_preds", names, width, height, i18n.language()),
        lambda: _micro_prediction_panels(names, width, height),
        {MICRO_PREDS: df},
    )


def _micro_prediction_panels(names, width: int, height: int) -> alt.FacetChart:
    colour = alt.Color("example:N", legend=None).scale(domain=list(names), range=EXAMPLE_COLORS)
    base = alt.Chart(alt.NamedData(MICRO_PREDS))
    lines = base.mark_line(point=alt.OverlayMarkDef(size=15)).encode(
        x=alt.X("step:Q", title=t("step")).scale(domainMin=0),
        y=alt.Y("prediction:Q", title=t("prediction")).scale(domain=[-1.1, 1.1]),
        color=colour,
        tooltip=[
            alt.Tooltip("example:N", title=t("example")),
            alt.Tooltip("step:Q", title=t("step")),
            alt.Tooltip("prediction:Q", title=t("prediction"), format=".5f"),
        ],
    )
    goals = base.mark_rule(strokeDash=[6, 4], strokeWidth=1.5, color="#555555").encode(y="target:Q")
    return (
        alt.layer(goals, lines)
        .properties(width=width, height=height)
        .facet(facet=alt.Facet("example:N", title=None, sort=list(names)), columns=2)
        .properties(title=t("predictions vs targets"))
    )


def derivative_error_chart(rows: list[dict], chosen: float, height=300) -> alt.Chart:
    """|estimate - exact| against the step h, log-log, one line per method; a rule at the
    chosen h."""
    df = pd.DataFrame(rows)
    df = df[df["error"] > 0]
    # every tick in one notation, powers of ten: 1e-1 … 1e-7, not "0.000001" next to "1e-7"
    x = alt.X("h:Q", title=t("step h (log scale)")).scale(type="log", reverse=True)
    x = x.axis(format=".0e")
    lines = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("error:Q", title=t("largest |estimate − exact| (log scale)"))
            .scale(type="log")
            .axis(format=".0e"),
            color=alt.Color("method:N", title=None).scale(range=EXAMPLE_COLORS[:2]),
            tooltip=[
                alt.Tooltip("method:N", title=t("method")),
                alt.Tooltip("h:Q", title="h", format=".0e"),
                alt.Tooltip("error:Q", title=t("error"), format=".2e"),
            ],
        )
    )
    rule = alt.Chart(pd.DataFrame({"h": [chosen]})).mark_rule(color="#999999").encode(x=x)
    return (rule + lines).properties(height=height)
