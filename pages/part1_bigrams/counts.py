"""Lesson 1 · The bigram table: count which character follows which (makemore part 1)."""

import streamlit as st

from engine.lectures import SMOOTHING_K
from ui import present, small_data, state
from ui.part1_bigrams import charts
from ui.part1_bigrams import state as bs

st.title("Bigram counts")
st.markdown(
    """
The simplest language model: look at **one** character and guess the next. Put a `.` before and
after every word (`emma` becomes `.emma.`: `.e`, `em`, `mm`, `ma`, `a.`), count every pair of
neighbours, and you have the **bigram table** `N`: row = the first character, column = the one
that follows it. Dividing every row by its sum turns counts into the probability of each next
character, which is all this model knows.
"""
)

NOUN = {"counts": "count", "probabilities": "probability", "log-probabilities": "log-probability"}
ds = state.dataset()
fp, V, itos = ds.fingerprint, ds.vocab_size, ds.itos
N = bs.counts(fp, 2, ds)

left, right = present.settings("heat").columns([3, 2])
mode = left.segmented_control(
    "Colour the cells by",
    charts.MODES,
    default="counts",
    required=True,
    key="heat_show",
    bind="query-params",
    help="counts: N[i, j] as counted. probabilities: each row of N + k divided by its sum. "
    "log-probabilities: the natural log of those, which is what the loss adds up.",
)
k = right.select_slider(
    "Smoothing k (fake counts added to every cell before normalising)",
    bs.KS,
    value=SMOOTHING_K,
    format_func=bs.format_k,
    key="heat_k",
    bind="query-params",
    help="The lecture uses P = (N + 1) / row sums. With k = 0 a pair never seen has "
    "probability 0. The Smoothing page explores k in depth.",
)
P = bs.probabilities(fp, 2, k, ds)

n_bigrams = int(N.sum())
top = int(N.argmax())
m1, m2, m3, m4 = st.columns(4)
m1.metric("Bigrams counted", f"{n_bigrams:,}", help="Σ (len(word) + 1) over all words.")
m2.metric(
    "Cells never seen",
    f"{int((N == 0).sum()):,} of {V * V:,}",
    help="Pairs with count 0: without smoothing the model says they are impossible.",
)
m3.metric(
    "Most frequent bigram",
    f"{charts.shown(itos[top // V] + itos[top % V])} × {int(N.max()):,}",
)
m4.metric(
    f"NLL over all words (k = {k:g})",
    f"{bs.nlls(fp, 2, k, ds)['all']:.4f}",
    help="Mean of −log P(next | first) over every bigram of every word: the loss of this "
    "table as a model. Lower is better; log(V) means knowing nothing.",
)

charts.draw_heatmap(
    st, itos, P, N, mode, key="bigram_heatmap", title=f"The {V}×{V} bigram table ({mode})"
)
labels_note = (
    "Each cell shows its bigram (top) and its value (bottom)."
    if V <= charts.LABELS_UP_TO
    else f"With {V} characters the cells are too small for labels: hover a cell for its "
    "bigram, count and probability."
)
st.caption(
    f"**How to read it.** Row = first character, column = the character that follows it; `.` "
    f"(start and end of a word) comes first on both axes, and a space is drawn as ␣. The darker "
    f"the blue, the larger the {NOUN[mode]} (white: the smallest). {labels_note} "
    "The row of `.` is how words start, the column of `.` is how they end. "
    + (
        "White cells are pairs never seen: count 0."
        if mode == "counts"
        else "White cells are pairs never seen, which k = 0 leaves at probability 0 (log 0 = −∞)."
        if k == 0
        else f"No cell is white: with k = {k:g} every pair, even one never seen, gets some "
        "probability."
    )
)

st.subheader("One row: what comes next")
row_col, table_col = st.columns([3, 2])
first = row_col.selectbox(
    "First character (a row of the table)",
    itos,
    format_func=lambda c: f"'{charts.show(c)}'" + ("  (start of a word)" if c == "." else ""),
    key="heat_row",
    bind="query-params",
)
row_col.altair_chart(charts.row_bars(itos, first, P, N), width="stretch", key="bigram_row")
i = itos.index(first)
row_col.caption(
    f"Bar height: P(next | '{charts.show(first)}') = (N[{i}, j] + k) / (row sum + k·V), the "
    f"row of the table above divided by its sum {int(N[i].sum()):,} (+ {k:g}·{V}). "
    "Sampling a word picks bars at random with these heights, one character at a time. "
    "Hover a bar for its count."
)
table_col.markdown("**The most frequent bigrams**")
table_col.dataframe(
    charts.top_ngrams(N, P, 2, itos, limit=15),
    hide_index=True,
    height="content",
    column_config={
        "n-gram": st.column_config.TextColumn("bigram"),
        "count": st.column_config.NumberColumn("count", format="%d"),
        "P(last | before)": st.column_config.NumberColumn(
            "P(next | first)", format="%.4f", help=f"With k = {k:g}."
        ),
    },
)
seen = N[N > 0]
once = int((seen <= 2).sum())
table_col.caption(
    f"{small_data.plural(once, 'pair')} of the {small_data.plural(len(seen), 'pair')} seen "
    f"occur once or twice, the most frequent {small_data.plural(int(seen.max()), 'time')}: "
    "the more uneven the counts, the more the table looks like a few dark cells on a pale "
    "background."
)
