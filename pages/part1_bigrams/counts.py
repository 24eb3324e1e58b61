"""Lesson 1 · The bigram table: count which character follows which (makemore part 1)."""

import streamlit as st

from engine.lectures import SMOOTHING_K
from ui import present, state
from ui.i18n import N_, t, tn
from ui.part1_bigrams import charts
from ui.part1_bigrams import state as bs

st.title(t("Bigram counts"))
st.markdown(
    t(
        """
The simplest language model: look at **one** character and guess the next. Put a `.` before and
after every word (`emma` becomes `.emma.`: `.e`, `em`, `mm`, `ma`, `a.`), count every pair of
neighbours, and you have the **bigram table** `N`: row = the first character, column = the one
that follows it. Dividing every row by its sum turns counts into the probability of each next
character, which is all this model knows.
"""
    )
)

NOUN = {
    "counts": N_("count"),
    "probabilities": N_("probability"),
    "log-probabilities": N_("log-probability"),
}
ds = state.dataset()
fp, V, itos = ds.fingerprint, ds.vocab_size, ds.itos
N = bs.counts(fp, 2, ds)

left, right = present.settings("heat").columns([3, 2])
mode = left.segmented_control(
    t("Colour the cells by"),
    charts.MODES,
    default="counts",
    required=True,
    format_func=charts.mode_labels().get,
    key="heat_show",
    bind="query-params",
    help=t(
        "counts: N[i, j] as counted. probabilities: each row of N + k divided by its sum. "
        "log-probabilities: the natural log of those, which is what the loss adds up."
    ),
)
k = right.select_slider(
    t("Smoothing k (fake counts added to every cell before normalising)"),
    bs.KS,
    value=SMOOTHING_K,
    format_func=bs.format_k,
    key="heat_k",
    bind="query-params",
    help=t(
        "The lecture uses P = (N + 1) / row sums. With k = 0 a pair never seen has "
        "probability 0. The Smoothing page explores k in depth."
    ),
)
P = bs.probabilities(fp, 2, k, ds)

n_bigrams = int(N.sum())
top = int(N.argmax())
m1, m2, m3, m4 = st.columns(4)
m1.metric(t("Bigrams counted"), f"{n_bigrams:,}", help=t("Σ (len(word) + 1) over all words."))
m2.metric(
    t("Cells never seen"),
    t("{seen:,} of {cells:,}", seen=int((N == 0).sum()), cells=V * V),
    help=t("Pairs with count 0: without smoothing the model says they are impossible."),
)
m3.metric(
    t("Most frequent bigram"),
    f"{charts.shown(itos[top // V] + itos[top % V])} × {int(N.max()):,}",
)
m4.metric(
    t("NLL over all words (k = {k:g})", k=k),
    f"{bs.nlls(fp, 2, k, ds)['all']:.4f}",
    help=t(
        "Mean of −log P(next | first) over every bigram of every word: the loss of this "
        "table as a model. Lower is better; log(V) means knowing nothing."
    ),
)

charts.draw_heatmap(
    st,
    itos,
    P,
    N,
    mode,
    key="bigram_heatmap",
    title=t("The {V}×{V} bigram table ({mode})", V=V, mode=charts.mode_label(mode)),
)
labels_note = (
    t("Each cell shows its bigram (top) and its value (bottom).")
    if V <= charts.LABELS_UP_TO
    else t(
        "With {V} characters the cells are too small for labels: hover a cell for its "
        "bigram, count and probability.",
        V=V,
    )
)
white = (
    t("White cells are pairs never seen: count 0.")
    if mode == "counts"
    else t("White cells are pairs never seen, which k = 0 leaves at probability 0 (log 0 = −∞).")
    if k == 0
    else t(
        "No cell is white: with k = {k:g} every pair, even one never seen, gets some probability.",
        k=k,
    )
)
st.caption(
    t(
        "**How to read it.** Row = first character, column = the character that follows it; `.` "
        "(start and end of a word) comes first on both axes, and a space is drawn as ␣. The darker "
        "the blue, the larger the {noun} (white: the smallest). {labels_note} "
        "The row of `.` is how words start, the column of `.` is how they end. {white}",
        noun=t(NOUN[mode]),
        labels_note=labels_note,
        white=white,
    )
)

st.subheader(t("One row: what comes next"))
row_col, table_col = st.columns([3, 2])
first = row_col.selectbox(
    t("First character (a row of the table)"),
    itos,
    format_func={
        c: f"'{charts.show(c)}'" + (t("  (start of a word)") if c == "." else "") for c in itos
    }.get,
    key="heat_row",
    bind="query-params",
)
row_col.altair_chart(charts.row_bars(itos, first, P, N), width="stretch", key="bigram_row")
i = itos.index(first)
row_col.caption(
    t(
        "Bar height: P(next | '{first}') = (N[{i}, j] + k) / (row sum + k·V), the "
        "row of the table above divided by its sum {total:,} (+ {k:g}·{V}). "
        "Sampling a word picks bars at random with these heights, one character at a time. "
        "Hover a bar for its count.",
        first=charts.show(first),
        i=i,
        total=int(N[i].sum()),
        k=k,
        V=V,
    )
)
table_col.markdown(t("**The most frequent bigrams**"))
table_col.dataframe(
    charts.top_ngrams(N, P, 2, itos, limit=15),
    hide_index=True,
    height="content",
    column_config={
        t("n-gram"): st.column_config.TextColumn(t("bigram")),
        t("count"): st.column_config.NumberColumn(t("count"), format="%d"),
        t("P(last | before)"): st.column_config.NumberColumn(
            t("P(next | first)"), format="%.4f", help=t("With k = {k:g}.", k=k)
        ),
    },
)
seen = N[N > 0]
once = int((seen <= 2).sum())
table_col.caption(
    t(
        "{once} of the {seen} seen occur once or twice, the most frequent {most}: "
        "the more uneven the counts, the more the table looks like a few dark cells on a pale "
        "background.",
        once=tn("{n:,} pair", "{n:,} pairs", once),
        seen=tn("{n:,} pair", "{n:,} pairs", len(seen)),
        most=tn("{n:,} time", "{n:,} times", int(seen.max())),
    )
)
