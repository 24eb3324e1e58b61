"""The smoothing curves of makemore part 1 (E02-E03): NLL against the smoothing k on a
symlog axis, with the current and the best k marked, and the NLL of each n-gram order.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from ui import i18n, theme
from ui.i18n import N_, t
from ui.part1_bigrams.charts import MARKS, draw

SPLITS = {"train": N_("train"), "dev": N_("dev"), "test": N_("test")}  # the legend's labels


def _k_axis_values(ks) -> list[float]:
    """0, then one tick per decade from 0.01 (0.001 would sit on top of 0)."""
    top = max(ks)
    return [0, *(10.0**e for e in range(-2, 4) if 10.0**e <= top)]


def _k_label_expr() -> str:
    return "datum.value >= 1 ? format(datum.value, ',d') : format(datum.value, '~g')"


def marks_frame(k: float | None, best_k: float | None) -> pd.DataFrame:
    """The vertical rules of smoothing_curves: the current k and the best k on dev."""
    rows = []
    if k is not None:
        rows.append({"k": k, "what": t("current k")})
    if best_k is not None:
        rows.append({"k": best_k, "what": t("best k on dev = {k:g}", k=best_k)})
    return pd.DataFrame(rows, columns=["k", "what"])


def smoothing_curves(
    ks,
    series: dict[str, list[float]],
    k: float | None = None,
    best_k: float | None = None,
    zoom: bool = False,
    height: int = 320,
    marks: alt.NamedData | None = None,
) -> alt.LayerChart:
    """NLL against k on a symlog axis (k = 0 sits at the left, then one tick per decade).

    Infinite values (k = 0 with an n-gram never seen in train) are drawn as '∞' markers
    at the top. zoom=True narrows the y axis to the region around the dev minimum. The
    rules (solid: current k, dashed: best k on dev) read marks_frame(k, best_k), or the
    named dataset `marks` in a template whose current k is supplied at render time.
    """
    rows = [
        {"k": kk, "split": t(SPLITS.get(name, name)), "nll": v}
        for name, values in series.items()
        for kk, v in zip(ks, values, strict=True)
        if not math.isnan(v)
    ]
    df = pd.DataFrame(rows, columns=["k", "split", "nll"])
    finite = df[df["nll"].map(math.isfinite)]
    lo, hi = (finite["nll"].min(), finite["nll"].max()) if len(finite) else (0.0, 1.0)
    if zoom and len(finite):
        small = finite[finite["k"] > 0].groupby("split")["nll"].first()  # at the smallest k
        lo = finite[finite["k"] <= 10]["nll"].min()
        hi = max(small.max(), lo + 1e-3)
    pad = (hi - lo) * 0.08 or 0.01
    domain = [lo - pad, hi + pad]
    infinite = df[~df["nll"].map(math.isfinite)].assign(nll=domain[1], label="∞")
    x = alt.X("k:Q", title=t("smoothing k (fake counts added to every cell)")).scale(
        type="symlog", constant=0.001, domain=[0, max(ks)]
    )
    x = x.axis(values=_k_axis_values(ks), labelExpr=_k_label_expr(), grid=True, labelOverlap=False)
    names = [t(SPLITS.get(s, s)) for s in series]
    color = alt.Color("split:N", title=None, sort=names).scale(
        domain=names, range=[theme.SPLITS.get(s, theme.REFERENCES[-1]) for s in series]
    )
    color = color.legend(orient="bottom", direction="vertical")  # two legends side by side fit
    lines = (
        alt.Chart(finite)
        .mark_line(point=alt.OverlayMarkDef(size=12), clip=True)
        .encode(
            x=x,
            y=alt.Y("nll:Q", title=t("NLL (nats per character)")).scale(domain=domain, zero=False),
            color=color,
            tooltip=[
                alt.Tooltip("split:N", title=t("split")),
                alt.Tooltip("k:Q", title="k", format="~g"),
                alt.Tooltip("nll:Q", format=".4f", title="NLL"),
            ],
        )
    )
    layers = [lines]
    if len(infinite):
        layers.append(
            alt.Chart(infinite)
            .mark_text(fontSize=18, fontWeight="bold", dx=8, align="left")
            .encode(
                x="k:Q",
                y="nll:Q",
                text="label:N",
                color=color,
                tooltip=[alt.Tooltip("split", title=t("split")), alt.Tooltip("k", title="k")],
            )
        )
    current = k is not None or marks is not None
    whats = list(marks_frame(0.0 if current else None, best_k)["what"])
    if whats:
        dashes = [[1, 0] if w == t("current k") else [5, 4] for w in whats]
        rules = alt.Chart(marks_frame(k, best_k) if marks is None else marks).encode(
            x="k:Q",
            strokeDash=alt.StrokeDash("what:N", title=None, sort=whats)
            .scale(domain=whats, range=dashes)
            .legend(orient="bottom", direction="vertical"),
            tooltip=[
                alt.Tooltip("what:N", title=t("what")),
                alt.Tooltip("k:Q", title="k", format="~g"),
            ],
        )
        layers.append(rules.mark_rule(color="black", strokeWidth=1.5))
    title = t("Zoom: around the dev minimum") if zoom else t("NLL against the smoothing k")
    return alt.layer(*layers, title=title).properties(height=height)


def draw_curves(where, fingerprint: str, n: int, curves, k: float, zoom: bool, *, key: str):
    """charts.smoothing_curves of train and dev through a cached template: only k moves."""
    best = curves.best_k
    build = lambda: smoothing_curves(  # noqa: E731
        curves.ks,
        {"train": curves.train, "dev": curves.dev},
        best_k=best,
        zoom=zoom,
        marks=alt.NamedData(MARKS),
    )
    marks = marks_frame(k, best)
    template = ("curves", fingerprint, n, zoom, i18n.language())
    draw(where, template, build, {MARKS: marks}, key=key)


def nll_by_order(table: pd.DataFrame, columns: list[str]) -> alt.Chart:
    """The NLL of each n-gram order (rows of `table`), one line per column (a smoothing k)."""
    df = table.melt(id_vars=["model"], value_vars=columns, var_name="smoothing", value_name="nll")
    df = df[df["nll"].map(math.isfinite)]
    return (
        alt.Chart(df, title=alt.Title(t("NLL on all words, by context length"), anchor="start"))
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(
            x=alt.X("model:N", sort=list(table["model"]), title=None).axis(labelAngle=0),
            y=alt.Y("nll:Q", title=t("NLL (nats per character)"))
            .scale(zero=False, nice=True)
            .axis(tickCount=6, format=".2f"),
            color=alt.Color("smoothing:N", title=None, sort=columns)
            .scale(domain=columns, range=list(theme.RUNS[: len(columns)]))
            .legend(orient="bottom"),
            tooltip=[
                alt.Tooltip("model:N", title=t("model")),
                alt.Tooltip("smoothing:N", title=t("smoothing")),
                alt.Tooltip("nll:Q", title="NLL", format=".4f"),
            ],
        )
        .properties(height=340, padding={"top": 12, "left": 5, "right": 5, "bottom": 5})
    )
