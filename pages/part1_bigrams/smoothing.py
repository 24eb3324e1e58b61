"""Lesson 1 · Smoothing: add k fake counts to every cell and watch train, dev and test NLL."""

import math

import streamlit as st

from engine.lectures import SMOOTHING_K
from ui import present, small_data, state
from ui.i18n import N_, t, tn
from ui.part1_bigrams import charts
from ui.part1_bigrams import curves as curve_charts
from ui.part1_bigrams import state as bs

st.title(t("Smoothing"))
st.markdown(
    t(
        """
A bigram that never occurs in the training words gets count 0, so probability 0, so a loss of
−log 0 = **∞** the first time it shows up in new words. **Smoothing** adds `k` *fake counts* to
every cell before normalising each row: P(next | first) = (N + k) / (row sum + k·V). Small `k`
trusts the counts, large `k` pulls every row towards the uniform 1/V. Here the table is counted
on the lecture's **train** split (80 % of the words, `random.seed(42)`) and scored on all three
splits, so you can see what `k` does to words the model has never seen.
"""
    )
)

ds = state.dataset()
fp, V = ds.fingerprint, ds.vocab_size
k = present.settings("smooth").select_slider(
    t("Smoothing k (log scale: 0, then 0.001 … 1000)"),
    bs.KS,
    value=SMOOTHING_K,
    format_func=bs.format_k,
    key="smooth_k",
    bind="query-params",
    help=t("The lecture's default is k = 1 ('add-one smoothing')."),
)
curves = bs.curves(fp, 2, ds)
at = curves.at(k)


shown = bs.shown


HELP = {
    "train": N_("Mean −log P over the train words' bigrams: the words the table was counted on."),
    "dev": N_("The same on the dev words (10 %): never counted, used to choose k."),
    "test": N_("The same on the test words (10 %): look at it once, after choosing k."),
    "all": N_(
        "Counted on ALL words and scored on all of them, as in the lecture "
        "(names.txt: 2.4540 with k = 0, 2.4546 with k = 1)."
    ),
}
LABEL = {  # the metrics' labels: NLL, then perplexity
    "train": (N_("Train NLL"), N_("Train perplexity")),
    "dev": (N_("Dev NLL"), N_("Dev perplexity")),
    "test": (N_("Test NLL"), N_("Test perplexity")),
    "all": (N_("All words (lecture) NLL"), N_("All words (lecture) perplexity")),
}
for row, fmt in enumerate((lambda v: shown(v), lambda v: shown(math.exp(v), 2))):
    for col, name in zip(st.columns(4), LABEL, strict=True):
        col.metric(
            t(LABEL[name][row]),
            fmt(at[name]),
            help=t(HELP[name])
            if row == 0
            else t("exp(NLL): as unsure as a uniform choice among this many characters."),
        )
st.caption(
    t(
        "NLL = mean negative log-likelihood per character in nats (lower is better; knowing "
        "nothing gives log {V} = {logV:.4f}). Perplexity = exp(NLL).",
        V=V,
        logV=math.log(V),
    )
)

if small_data.notice(ds, "scores") and math.isinf(at["dev"]):
    unseen = bs.unseen_in_train(fp, 2, ds)
    examples = ", ".join(f"{charts.shown(g)} ({c}×)" for g, c in unseen[:12])
    st.error(
        t(
            "**k = 0 makes the dev loss infinite.** {bigrams} of the dev words never occur in "
            "the train words, for example {examples}. Their count is 0, "
            "so P = 0 and −log P = ∞, and one infinite term makes the mean infinite: the model "
            "declares a perfectly good word impossible. That is why smoothing exists: any k > 0 "
            "gives every bigram some probability.",
            bigrams=tn("{n:,} bigram", "{n:,} bigrams", len(unseen)),
            examples=state.md_escape(examples),
        ),
        icon=":material/all_inclusive:",
    )

best = curves.best_k
left, right = st.columns(2)
curve_charts.draw_curves(left, fp, 2, curves, k, zoom=False, key="smooth_curves")
curve_charts.draw_curves(right, fp, 2, curves, k, zoom=True, key="smooth_zoom")
st.caption(
    t(
        "x: the smoothing k on a symlog axis (k = 0 at the far left, then one tick per decade). "
        "y: NLL. Orange: train, red: dev. The solid black line is the current k, the dashed one "
        "the k with the lowest dev NLL{best}. '∞' marks an infinite loss. The train NLL only "
        "rises with k: fake counts move the "
        "table away from the training counts, which are the best fit to the training words. The "
        "dev NLL first falls (unseen pairs stop being impossible) and then rises (the table is "
        "flattened towards uniform): a U. The right chart zooms in on its bottom.",
        best=f" (k = {best:g})" if best is not None else "",
    )
)

st.subheader(t("The table at this k"))
mode = st.segmented_control(
    t("Colour the cells by"),
    ("probabilities", "log-probabilities"),
    default="log-probabilities",
    required=True,
    format_func=charts.mode_labels().get,
    key="smooth_show",
    bind="query-params",
)
N = bs.counts(fp, 2, ds, "train")
P = bs.probabilities(fp, 2, k, ds, "train")
charts.draw_heatmap(
    st,
    ds.itos,
    P,
    N,
    mode,
    key="smooth_heatmap",
    title=t("P = (N + {k:g}) / row sums, train split", k=k),
)
white = t("White cells have probability 0 (log 0 = −∞): pairs never seen in train. ")
st.caption(
    t(
        "The bigram table counted on the train words, smoothed with the k above: row = first "
        "character, column = next character, `.` first, ␣ = space. Darker blue = more likely. "
        "{white}Move k up and watch the pale cells fill in and every row fade towards the "
        "uniform 1/{V} = {uniform:.3f}; log-probabilities show it best.",
        white=white if k == 0 else "",
        V=V,
        uniform=1 / V,
    )
    + ("" if V <= charts.LABELS_UP_TO else t(" Hover a cell for its bigram and values."))
)
