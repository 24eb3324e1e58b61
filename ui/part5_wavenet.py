"""Drawings for the WaveNet lesson (makemore part 5): BatchNorm's statistics per position
vs shared over positions. The training curve is charts.loss_curve_spec.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from engine.part5_wavenet import TimeStats
from ui.i18n import N_, t, tr

LAYER_COLUMNS = {  # wavenet.layer_table's columns, as shown
    "#": "#",
    "layer": N_("layer"),
    "output shape": N_("output shape"),
    "parameters": N_("parameters"),
    "BatchNorm statistics": N_("BatchNorm statistics"),
}
LOG_COLUMNS = {  # the performance log's and the finished runs' columns, as shown
    "experiment": N_("experiment"),
    "hierarchical": N_("hierarchical"),
    "BN over (0, 1)": N_("BN over (0, 1)"),
    "params": N_("params"),
    "steps": N_("steps"),
    "train": N_("train"),
    "dev": N_("dev"),
}


def layer_columns() -> dict[str, str]:
    return {k: t(v) for k, v in LAYER_COLUMNS.items()}


def layer_frame(rows: list[dict]) -> pd.DataFrame:
    """wavenet.layer_table's rows in the session's language."""
    shown = [{**row, "BatchNorm statistics": tr(row["BatchNorm statistics"])} for row in rows]
    return pd.DataFrame(shown).rename(columns=layer_columns())  # tr before pandas: str only


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """The performance log or the finished runs, columns named in the session's language."""
    return df.rename(columns={k: t(v) for k, v in LOG_COLUMNS.items()})


def time_stats_chart(stats: TimeStats, what: str, over_time: bool, height=220) -> alt.Chart:
    """Per channel: the statistic at each position (dots, the bug) and shared by all
    positions (black bar, the fix). `what` is "mean" or "var"."""
    per = stats.per_position_mean if what == "mean" else stats.per_position_var
    shared = stats.shared_mean if what == "mean" else stats.shared_var
    names = [t("characters {a}–{b}", a=2 * i + 1, b=2 * i + 2) for i in range(stats.positions)]
    dots = pd.DataFrame(
        [
            {"channel": c, "position": names[t], "value": v}
            for t, row in enumerate(per)
            for c, v in enumerate(row)
        ]
    )
    bars = pd.DataFrame({"channel": range(len(shared)), "value": shared})
    used = 0.9 if not over_time else 0.35
    x = alt.X("channel:O", title=t("channel (first 16 of the layer's neurons)")).axis(labelAngle=0)
    title = t("mean") if what == "mean" else t("variance")
    points = (
        alt.Chart(dots)
        .mark_circle(size=70, opacity=used)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=title),
            color=alt.Color("position:N", title=t("per position (dim 0 only)")).scale(
                domain=names, scheme="tableau10"
            ),
            tooltip=[
                alt.Tooltip("position:N", title=t("position")),
                alt.Tooltip("channel:O", title=t("channel")),
                alt.Tooltip("value:Q", title=title, format=".4f"),
            ],
        )
    )
    ticks = (
        alt.Chart(bars)
        .mark_tick(color="black", thickness=3 if over_time else 1.5, size=30)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=title),
            tooltip=[
                alt.Tooltip("channel:O", title=t("channel")),
                alt.Tooltip(
                    "value:Q", title=t("shared {statistic}", statistic=title), format=".4f"
                ),
            ],
        )
    )
    heading = t("mean of each channel") if what == "mean" else t("variance of each channel")
    return (points + ticks).properties(title=heading, height=height)
