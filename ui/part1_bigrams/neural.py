"""Altair charts of the neural bigram (makemore part 1): its loss against the count
model's, its distance to the counts, and the one-hot inputs of exercise E04.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from ui import theme
from ui.i18n import N_, t
from ui.part1_bigrams.charts import show

LOSS_SERIES = (N_("loss = NLL + λ·mean(W²)"), N_("NLL part"))  # shown: t(name)


def loss_frame(losses, data_losses, start: int = 0) -> pd.DataFrame:
    """Loss and its NLL part per step from `start` on, at most ~1000 points per line."""
    every = max(1, (len(losses) - start) // 1000)
    steps = list(range(start, len(losses), every))
    return pd.DataFrame(
        {
            "step": steps * 2,
            "loss": [losses[i] for i in steps] + [data_losses[i] for i in steps],
            "series": [t(LOSS_SERIES[0])] * len(steps) + [t(LOSS_SERIES[1])] * len(steps),
        }
    )


def neural_loss(
    curve: pd.DataFrame | alt.NamedData,
    references: dict[str, float],
    title: str | None = None,
) -> alt.LayerChart:
    """Loss per step (curve: a loss_frame) with the count model's NLLs as dashed lines;
    `references`' names as the legend shows them. title: "Training loss" unless given."""
    refs = pd.DataFrame({"series": list(references), "loss": list(references.values())})
    names = [*map(t, LOSS_SERIES), *references]
    palette = [theme.MINIBATCH, theme.TRAIN, *theme.REFERENCES]  # the NLL: on the train words
    color = alt.Color("series:N", title=None, sort=names).scale(
        domain=names, range=palette[: len(names)]
    )
    color = color.legend(orient="bottom", columns=2, labelLimit=400)
    y = alt.Y("loss:Q", title=t("loss (nats per character)")).scale(zero=False)
    lines = (
        alt.Chart(curve)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title=t("gradient descent step")),
            y=y,
            color=color,
            tooltip=[
                alt.Tooltip("series:N", title=t("series")),
                alt.Tooltip("step:Q", title=t("step")),
                alt.Tooltip("loss:Q", title=t("loss"), format=".5f"),
            ],
        )
    )
    rules = (
        alt.Chart(refs)
        .mark_rule(strokeDash=[6, 4], strokeWidth=1.5)
        .encode(
            y=alt.Y("loss:Q", title=t("loss (nats per character)")),
            color=color,
            tooltip=[
                alt.Tooltip("series:N", title=t("series")),
                alt.Tooltip("loss:Q", title=t("loss"), format=".5f"),
            ],
        )
    )
    title = t("Training loss") if title is None else title
    return alt.layer(lines, rules, title=title).properties(height=340)


def distance_curve(distances: pd.DataFrame | alt.NamedData, k: float) -> alt.Chart:
    """Mean |softmax(W) − P_k| over the table (columns step, distance), after each chunk."""
    return (
        alt.Chart(distances, title=t("Mean |softmax(W) − counts with k = {k:g}|", k=k))
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title=t("gradient descent step")),
            y=alt.Y("distance:Q", title=t("mean absolute difference")).scale(zero=True),
            tooltip=[
                alt.Tooltip("step:Q", title=t("step")),
                alt.Tooltip("distance:Q", title=t("distance"), format=".5f"),
            ],
        )
        .properties(height=260)
    )


def onehot_image(xs, itos) -> alt.Chart:
    """The lecture's plt.imshow(xenc): one row per input, a 1 in the column of its character."""
    V = len(itos)
    labels = [show(c) for c in itos]
    rows = [
        {"input": f"{r}: '{labels[x]}'", "column": labels[j], "value": int(j == x)}
        for r, x in enumerate(xs)
        for j in range(V)
    ]
    df = pd.DataFrame(rows)
    return (
        alt.Chart(df, title=t("one_hot(xs): a single 1 per row, in the column of the character"))
        .mark_rect()
        .encode(
            x=alt.X("column:O", sort=labels, title=t("column (character index)")).axis(
                labelAngle=0
            ),
            y=alt.Y("input:O", sort=list(dict.fromkeys(df["input"])), title=t("example")).axis(
                labelOverlap=False
            ),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="viridis"), legend=None),
            tooltip=[
                alt.Tooltip("input", title=t("input")),
                alt.Tooltip("column", title=t("column")),
                alt.Tooltip("value", title=t("value")),
            ],
        )
        .properties(height=alt.Step(24))
    )
