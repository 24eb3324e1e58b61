"""Drawings for backprop ninja (makemore part 4): cmp()'s comparison table and the dlogits
image. The training curve is charts.loss_curve_spec, as on every page.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from engine.part4_backprop.manual import Comparison
from ui.i18n import t


def cmp_frame(rows: tuple[Comparison, ...]) -> pd.DataFrame:
    """The notebook's cmp lines as a table (plus the shapes, which must match); the
    columns are named in the session's language (maxdiff, the notebook's, in every one)."""
    return pd.DataFrame(
        [
            {
                t("tensor"): r.name,
                t("shape"): str(r.shape),
                t("exact"): r.exact,
                t("approximate"): r.approximate,
                "maxdiff": r.maxdiff,
                t("your shape"): "" if r.manual_shape == r.shape else str(r.manual_shape),
            }
            for r in rows
        ]
    )


APPROXIMATE_ONLY = "#fff3cd"  # right up to rounding, not bit for bit

WRONG = "#f8d7da"


def cmp_table(rows: tuple[Comparison, ...]):
    """cmp_frame with each row coloured: white exact, yellow approximate only, red wrong."""

    def colour(row):
        fill = "" if row[t("exact")] else APPROXIMATE_ONLY if row[t("approximate")] else WRONG
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
                "label": t("yes") if j == targets[i] else t("no"),  # the tooltip's words
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
            x=alt.X("char:O", sort=labels, title=t("character (class)")).axis(labelAngle=0),
            y=alt.Y("example:O", title=t("example in the batch")),
            color=alt.Color("dlogits:Q", title="dlogits").scale(scheme="greys", reverse=True),
            tooltip=[
                alt.Tooltip("example:O", title=t("example")),
                alt.Tooltip("char:O", title=t("character")),
                alt.Tooltip("dlogits:Q", title="dlogits", format=".5f"),
                alt.Tooltip("label:N", title=t("is the label")),
            ],
        )
        .properties(width=cell * len(labels), height=cell * len(dlogits))
    )
