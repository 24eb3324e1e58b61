"""Lesson 1 · Sampling from the count model, and how likely it finds any name you type."""

import math

import pandas as pd
import streamlit as st

from engine import lectures, likelihood
from engine.part1_bigrams import ngram
from engine.sample import sample_words
from ui import link_values, present, state
from ui.i18n import N_, t, tn
from ui.part1_bigrams import charts
from ui.part1_bigrams import state as bs

st.title(t("Sampling & likelihood"))
st.markdown(
    t(
        """
The count table is a **generative** model: start at `.`, draw the next character from that
row's probabilities, move to the row of the character you drew, and stop when you draw `.`
again. The same table also **scores** any word: multiply the probabilities of its steps (or add
their logs). Both use the table counted on **all** words, as the lecture does.
"""
    )
)

ds = state.dataset()
fp, itos = ds.fingerprint, ds.itos
ORDERS = {2: N_("bigram (1 character of context)"), 3: N_("trigram (2)"), 4: N_("4-gram (3)")}
left, right = present.settings("sample").columns(2)
n = left.segmented_control(
    t("Model"),
    [o for o in ORDERS if o in bs.orders(ds.vocab_size)],
    default=2,
    required=True,
    format_func={o: t(label) for o, label in ORDERS.items()}.get,
    key="sample_n",
    bind="query-params",
    help=t(
        "The lecture's model is the bigram. Longer contexts are exercise E01: they fit the "
        "training words better and copy more of them."
    ),
)
k = right.select_slider(
    t("Smoothing k"),
    bs.KS,
    value=lectures.SMOOTHING_K,
    format_func=bs.format_k,
    key="sample_k",
    bind="query-params",
    help=t("Fake counts added to every cell (the lecture: k = 1). See the Smoothing page."),
)
P = bs.probabilities(fp, n, k, ds)
pad = "." * (n - 1)


def sample_ui():
    """n samples with a seed and a temperature, each marked new or already in the data."""
    c1, c2, c3 = present.settings("sample_draw").columns(3)
    count = link_values.whole_number(
        c1,
        t("How many samples"),
        1,
        500,
        20,
        key="sample_count",
        bind="query-params",
    )
    seed = c2.number_input(
        t("Seed"),
        0,
        2**53 - 1,
        lectures.LECTURE_SEED,
        key="sample_seed",
        bind="query-params",
        help=t(
            "torch.Generator().manual_seed(seed): the same seed gives the same samples. "
            "{seed} is the lecture's.",
            seed=lectures.LECTURE_SEED,
        ),
    )
    temperature = c3.slider(
        t("Temperature"),
        0.1,
        3.0,
        1.0,
        0.1,
        key="sample_temp",
        bind="query-params",
        help=t(
            "Each row's probabilities are raised to the power 1/T and renormalised. "
            "T = 1: the table as counted. T < 1: the likely characters get likelier. "
            "T > 1: the distribution flattens towards uniform."
        ),
    )
    words = sample_words(
        ngram.NGramModel(P, n), itos, n=int(count), seed=int(seed), temperature=temperature
    )
    known = set(ds.words)
    is_known = [w in known for w in words]
    novelty = 100 * (len(words) - sum(is_known)) / len(words)
    m1, m2, m3 = st.columns(3)
    m1.metric(
        t("New words"),
        f"{novelty:.0f} %",
        help=t("Samples that are not in the dataset: invented rather than memorised."),
    )
    m2.metric(t("Already in the data"), t("{k} of {n}", k=sum(is_known), n=len(words)))
    m3.metric(t("Mean length"), t("{mean:.1f} chars", mean=sum(map(len, words)) / len(words)))
    scores = ngram.per_word_nll(P, words, n, ds.stoi).tolist()
    table_col, chart_col = st.columns([3, 2])
    table_col.dataframe(
        pd.DataFrame(
            {
                "sample": words,
                "status": [t("in the data") if seen else t("new") for seen in is_known],
                "length": [len(w) for w in words],
                "mean NLL": scores,
            }
        ),
        hide_index=True,
        height="content" if len(words) <= 25 else 600,
        column_config={
            "sample": st.column_config.TextColumn(
                t("sample"), help=t("An empty sample drew '.' at once.")
            ),
            "status": st.column_config.TextColumn(
                t("in the training data?"),
                help=t("'in the data': the sample is one of the words."),
            ),
            "length": st.column_config.NumberColumn(t("length")),
            "mean NLL": st.column_config.NumberColumn(
                t("mean NLL"),
                format="%.3f",
                help=t("Mean −log p of the sample's steps, this model."),
            ),
        },
        key="sample_table",
    )
    chart_col.altair_chart(
        charts.sample_lengths(words, ds.words), width="stretch", key="sample_lengths"
    )
    chart_col.caption(
        t(
            "x: word length; y: share of the words with that length. Grey: the dataset, orange: "
            "these samples. A bigram only knows the previous character, so it cannot count: its "
            "samples end whenever '.' happens to be drawn, and come out too short and too long."
        )
    )
    st.caption(
        t(
            "Each sample starts from '{pad}' and draws one character at a time from the row of "
            "its context until it draws '.'. 'new' samples are invented; 'in the data' ones "
            "happen to reproduce a training word (memorisation). A bigram knows so little that "
            "its samples look barely name-like, and few of them are real names; try the trigram "
            "and 4-gram, or lower the temperature, and watch the share of memorised words grow. "
            "(torch 2.13's sampler draws differently from the lecture's, so the lecture's "
            "`mor.`, `axx.` … do not come back even with its seed.)",
            pad=pad,
        )
    )


def inspect_ui():
    """Any typed name: p and −log p of each step, mean NLL, rank among the dataset's words."""
    typed = st.text_input(
        t("A name"),
        "emma",
        max_chars=64,
        key="inspect_word",
        bind="query-params",
        help=t("The lecture's walk-through is .emma."),
    )
    word = bs.normalise_word(typed, ds.normalization)
    missing = sorted({c for c in word if c not in ds.stoi or c == "."})
    if not word.strip():
        st.info(t("Type a name to see how likely the model finds it."))
    elif missing:
        shown_missing = ", ".join(f"'{charts.show(c)}'" for c in missing)
        reserved = t(" ('.' is reserved for the start and end of a word)")
        st.warning(
            t(
                "This dataset's vocabulary has no {missing}{reserved}, so the model cannot "
                "score this name. Its characters are: {characters}",
                missing=state.md_escape(shown_missing),
                reserved=reserved if "." in missing else "",
                characters=state.md_escape(" ".join(charts.show(c) for c in itos[1:])),
            ),
            icon=":material/warning:",
        )
    else:
        if word != typed:
            st.caption(
                t(
                    "Normalised like the dataset's words: {word}.",
                    word=state.md_escape(repr(word)),
                )
            )
        rows = likelihood.word_logprobs(ngram.NGramModel(P, n), word, ds.stoi)
        rank = bs.word_rank(fp, n, k, word, ds)
        loglik = sum(math.log(r["p"]) if r["p"] > 0 else -math.inf for r in rows)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(
            t("Log-likelihood"),
            f"{loglik:.4f}",
            help=t("Σ log p over the steps: the log of the probability of the whole word."),
        )
        c2.metric(
            t("Mean NLL"),
            f"{rank.nll:.4f}" if math.isfinite(rank.nll) else "∞",
            help=t(
                "−log-likelihood / {steps}: the loss on this one word.",
                steps=tn("{n:,} step", "{n:,} steps", len(rows)),
            ),
        )
        c3.metric(
            t("Rank among {words}", words=tn("{n:,} word", "{n:,} words", rank.total)),
            f"{rank.rank:,}",
            help=t("Words of the dataset ordered by mean NLL: 1 = no word has a lower one."),
        )
        c4.metric(
            t("More likely than"),
            f"{rank.percentile:.1f} %",
            help=t("The share of the dataset's words with a higher mean NLL than this one."),
        )
        st.caption(
            t("{word} is one of the dataset's words.", word=state.md_escape(repr(word)))
            if word in set(ds.words)
            else t("{word} is not in the data.", word=state.md_escape(repr(word)))
        )
        left, right = st.columns([2, 3])
        step = t("step")  # the column's name: the config below shows its own label
        left.dataframe(
            pd.DataFrame(
                {
                    step: [charts.shown(r["context"] + r["next"]) for r in rows],
                    "p": [r["p"] for r in rows],
                    "log p": [math.log(r["p"]) if r["p"] > 0 else -math.inf for r in rows],
                    "−log p": [r["surprisal"] for r in rows],
                }
            ),
            hide_index=True,
            column_config={
                step: st.column_config.TextColumn(
                    t("context → next"),
                    help=t("The last character follows the {k} before it.", k=n - 1),
                ),
                "p": st.column_config.NumberColumn("p", format="%.4f"),
                "log p": st.column_config.NumberColumn("log p", format="%.4f"),
                "−log p": st.column_config.NumberColumn(t("−log p (surprisal)"), format="%.4f"),
            },
            key="inspect_table",
        )
        right.altair_chart(charts.surprisal_bars(rows), width="stretch", key="inspect_bars")
        st.caption(
            t(
                "The word is read as '{pad}{word}.': every step asks the table "
                "for P(next character | the ones before). p is that probability, −log p its "
                "surprisal: 0 for a certain step, large for a surprising one, ∞ (red) for a step "
                "the model thinks impossible (only with k = 0). The mean NLL is the average "
                "surprisal; the rank compares it with every word of the dataset under the same "
                "model.",
                pad=pad,
                word=state.md_escape(word),
            )
        )


TABS = {N_("Sample words"): sample_ui, N_("Likelihood inspector"): inspect_ui}
# lazy tabs: only the open one runs, and ?sampling_tab=… in a link opens the inspector
for tab, render in zip(bs.tabs(list(TABS), key="sampling_tab"), TABS.values(), strict=True):
    if tab.open:
        with tab:
            render()
