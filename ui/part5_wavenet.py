"""Drawings for the WaveNet lesson (makemore part 5): BatchNorm's statistics per position
vs shared over positions. The training curve is charts.loss_curve_spec.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from engine.part5_wavenet import TimeStats


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
