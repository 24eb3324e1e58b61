"""Lesson 1 · The exercises of makemore part 1 (E01–E05) as interactive tasks."""

import math

import pandas as pd
import streamlit as st
import torch.nn.functional as F

from engine import likelihood
from engine.lectures import SMOOTHING_K
from engine.part1_bigrams import neural, ngram
from ui import present, small_data, state
from ui.i18n import N_, t
from ui.part1_bigrams import charts
from ui.part1_bigrams import curves as curve_charts
from ui.part1_bigrams import neural as neural_charts
from ui.part1_bigrams import state as bs

st.title(t("Exercises: n-grams, splits, tuning, two equivalences"))
st.markdown(
    t(
        "The exercises at the end of the bigram lecture, done with the whole dataset at once. "
        "Every number below is computed live on the dataset you picked on Home."
    )
)

ds = state.dataset()
fp, V, itos = ds.fingerprint, ds.vocab_size, ds.itos
tr, dev, te = bs.split(fp, ds)
small_data.notice(ds, "scores")  # E02 and E03 need the three splits
model_name, shown = bs.model_name, bs.shown


def k_slider(key: str, label: str | None = None) -> float:
    label = t("Smoothing k") if label is None else label
    return present.settings(key).select_slider(label, bs.KS, value=SMOOTHING_K,
        format_func=bs.format_k, key=key, bind="query-params")  # fmt: skip


def orders() -> list[int]:
    """n = 1..4, without tables too large for this vocabulary."""
    return bs.orders(V)


def model_control(label: str, key: str) -> int:
    """The n-gram order to look at, bigram and up (the trigram first)."""
    options = [n for n in orders() if n >= 2]
    names = {n: model_name(n) for n in options}
    return present.settings(key).segmented_control(label, options, default=min(3, options[-1]),
        required=True, format_func=names.get, key=key, bind="query-params")  # fmt: skip


def e01_ngrams_ui():
    """E01: count n-grams for n = 1..4 and compare their NLL."""
    st.markdown(
        t(
            """
**E01. Train a trigram model (two characters predict the third), then any n-gram.** Count how
often each character follows each context of n − 1 characters: a table with V^(n−1) rows.

**Padding convention.** Every word gets **n − 1** `.` in front and **one** `.` at the end, so
every character *and* the end of the word is predicted from exactly n − 1 previous characters,
len(word) + 1 predictions per word for every n. For a trigram, `emma` is read as `..e`, `.em`,
`emm`, `mma`, `ma.`. The convention changes the loss: the lecture's `zip(chs, chs[1:], chs[2:])`
over `.emma.` (a single `.`) never predicts the first letter, the hardest one, and reports a
lower-looking number (on names.txt with k = 1: 2.0931 against 2.2126 here). Only compare losses
computed under the same convention.
"""
        )
    )
    k1 = k_slider("e01_k")
    rows = []
    nll0, nll1 = t("NLL, k = {k:g}", k=0.0), t("NLL, k = {k:g}", k=k1)
    contexts, contexts_seen, seen = t("contexts"), t("contexts seen"), t("n-grams seen")
    for n in orders():
        N = bs.counts(fp, n, ds)
        rows.append(
            {
                "n": n,
                "model": model_name(n),
                contexts: V ** (n - 1),
                contexts_seen: int((N.sum(1) > 0).sum()),
                seen: int((N > 0).sum()),
                nll0: bs.nlls(fp, n, 0.0, ds)["all"],
                nll1: bs.nlls(fp, n, k1, ds)["all"],
            }
        )
    e01_table = pd.DataFrame(rows)  # the table, then its chart: side by side neither fits 1024 px
    st.dataframe(
        e01_table,
        hide_index=True,
        column_config={
            "model": t("model"),
            **{
                c: st.column_config.NumberColumn(format="localized")
                for c in (contexts, contexts_seen, seen)
            },
            nll0: st.column_config.NumberColumn(format="%.4f"),
            nll1: st.column_config.NumberColumn(format="%.4f"),
        },
        key="e01_table",
    )
    st.caption(
        t(
            "Counted on **all** words and scored on the same words, as in the lecture. contexts: "
            "rows of the table (V^(n−1)); contexts seen: rows with at least one count; n-grams "
            "seen: non-zero cells. The NLL falls as n grows: a longer context predicts better, "
            "but on the words it was counted on. E02 checks whether that holds for new words."
        )
    )
    st.altair_chart(
        curve_charts.nll_by_order(e01_table, list(dict.fromkeys([nll0, nll1]))),
        width="stretch",
        key="e01_chart",
    )
    n1 = model_control(t("Look inside the n-gram table"), "e01_n")
    word = neural.example_word(ds)
    P = bs.probabilities(fp, n1, k1, ds)
    left, right = st.columns(2)
    walk = likelihood.word_logprobs(ngram.NGramModel(P, n1), word, ds.stoi)
    left.markdown(
        t("**The walk-through of {word}** (k = {k:g})", word=state.md_escape(repr(word)), k=k1)
    )
    left.dataframe(
        pd.DataFrame(
            {
                t("n-gram"): [charts.shown(r["context"] + r["next"]) for r in walk],
                "p": [r["p"] for r in walk],
                "−log p": [r["surprisal"] for r in walk],
            }
        ),
        hide_index=True,
        column_config={
            "p": st.column_config.NumberColumn(format="%.4f"),
            "−log p": st.column_config.NumberColumn(format="%.4f"),
        },
        key="e01_walk",
    )
    left.caption(
        t(
            "Mean −log p: {nll}. Each row: the {k} characters of context, then the predicted one.",
            nll=shown(likelihood.mean_nll(walk)),
            k=n1 - 1,
        )
    )
    right.markdown(t("**The most frequent n-grams**"))
    right.dataframe(
        charts.top_ngrams(bs.counts(fp, n1, ds), P, n1, itos, limit=12),
        hide_index=True,
        height="content",
        column_config={t("P(last | before)"): st.column_config.NumberColumn(format="%.4f")},
        key="e01_top",
    )
    right.caption(t("P(last | before): the probability of the last character given the others."))


def e02_splits_ui():
    """E02: count on train only, evaluate on train, dev and test."""
    st.markdown(
        t(
            """
**E02. Split the words 80 / 10 / 10 into train, dev and test** (the lecture's
`random.seed(42)`, one shuffle: {train:,} / {dev:,} / {test:,} words), **count on
train only**, and evaluate on all three. Train is what the model saw; dev and test are new words.
""",
            train=len(tr),
            dev=len(dev),
            test=len(te),
        )
    )
    k2 = k_slider("e02_k")
    rows = []
    splits = {s: t(curve_charts.SPLITS[s]) for s in ("train", "dev", "test")}
    for n in orders():
        at = bs.nlls(fp, n, k2, ds)
        gap = at["dev"] - at["train"]
        rows.append(
            {t("model"): model_name(n)}
            | {splits[s]: shown(at[s]) for s in splits}
            | {t("dev − train"): f"{gap:+.4f}" if math.isfinite(gap) else shown(gap)}
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="e02_table")
    st.caption(
        t(
            "NLL per character with k = {k:g}; rows: the n-gram order. — means the split has no "
            "words (a tiny dataset), ∞ that some n-gram of that split never occurs in train while "
            "k = 0. The gap dev − train is **overfitting**: it "
            "grows with n, because longer contexts are seen fewer times and the table memorises "
            "the training words instead of learning what generalises.",
            k=k2,
        )
    )


def e03_tune_k_ui():
    """E03: choose k on dev, then look at test once."""
    st.markdown(
        t(
            """
**E03. Use the dev set to tune the smoothing strength k**, then evaluate the chosen k **once**
on test. Dev is for choosing; test stays untouched until the end, so that its number is an
honest estimate for new words. Choosing k by looking at test would make test just another dev.
"""
        )
    )
    n3 = model_control(t("Model"), "e03_n")
    curves = bs.curves(fp, n3, ds)
    best = curves.best_k
    series = {"train": curves.train, "dev": curves.dev}
    left, right = st.columns(2)
    left.altair_chart(
        curve_charts.smoothing_curves(curves.ks, series, best_k=best),
        width="stretch",
        key="e03_curves",
    )
    right.altair_chart(
        curve_charts.smoothing_curves(curves.ks, series, best_k=best, zoom=True),
        width="stretch",
        key="e03_zoom",
    )
    st.caption(
        t(
            "x: k on a symlog axis (0 at the far left); y: NLL. Orange: train, red: dev; the "
            "dashed line marks the k with the lowest dev NLL; '∞' an infinite loss at k = 0."
        )
    )
    if best is None:
        st.info(t("The dev split is empty for this dataset, so k cannot be tuned on it."))
    else:
        at_best = curves.at(best)
        c1, c2, c3 = st.columns(3)
        c1.metric(t("Best k on dev"), f"{best:g}")
        c2.metric(t("Dev NLL at that k"), shown(at_best["dev"]))
        revealed = st.session_state.setdefault("e03_revealed", {})
        key = (fp, n3)
        if key in revealed:
            c3.metric(
                t("Test NLL at k = {k:g}", k=revealed[key]),
                shown(curves.at(revealed[key])["test"]),
                help=t("Evaluated once, after choosing k on dev."),
            )
        else:
            c3.button(
                t("Evaluate k = {k:g} on test, once", k=best),
                key="e03_reveal",
                type="primary",
                on_click=revealed.__setitem__,
                args=(key, best),
            )
        st.caption(
            t(
                "The test NLL is typically close to the dev NLL: k was chosen on dev, but one "
                "number chosen from a few dozen candidates barely overfits 10 % of the words."
            )
        )


def e04_onehot_ui():
    """E04: one_hot(x) @ W is W[x]."""
    word = neural.example_word(ds)
    xs, _ = neural.word_pairs(word, ds)
    W = neural.lecture_W(V)
    st.markdown(
        t(
            """
**E04. One-hot encoding times W just selects a row of W.** `one_hot(x)` is a row of V zeros with
a single 1 in column x, so `one_hot(x) @ W` adds up the rows of W with weights 0 … 1 … 0: that
is row x, exactly. Indexing `W[xs]` gives the same numbers without building an (N, V) matrix of
zeros and multiplying through it. Below: the inputs of `.{word}.` and
W = `torch.randn(({V}, {V}))` from the lecture's seed.
""",
            word=state.md_escape(word),
            V=V,
        )
    )
    st.altair_chart(
        neural_charts.onehot_image(xs.tolist(), itos), width="stretch", key="e04_onehot"
    )
    st.caption(
        t(
            "The lecture's `plt.imshow(xenc)`: one row per input character of the word, one "
            "column per character of the vocabulary; yellow = 1, purple = 0. Multiplying a row "
            "by W keeps only W's row at the yellow column."
        )
    )
    onehot = F.one_hot(xs, num_classes=V).float() @ W
    picked = W[xs]
    difference = (onehot - picked).abs().max(1).values
    cols = min(5, V)
    st.dataframe(
        pd.DataFrame(
            {
                t("input"): [f"'{charts.show(itos[x])}' (x = {x})" for x in xs.tolist()],
                t("one_hot(x) @ W, first {cols} columns", cols=cols): [
                    "  ".join(f"{v:+.4f}" for v in row[:cols]) for row in onehot.tolist()
                ],
                t("W[x], first {cols} columns", cols=cols): [
                    "  ".join(f"{v:+.4f}" for v in row[:cols]) for row in picked.tolist()
                ],
                t("max |difference| (all V columns)"): difference.tolist(),
            }
        ),
        hide_index=True,
        key="e04_table",
    )
    all_xs, _ = bs.bigram_examples(fp, ds)
    c1, c2 = st.columns(2)
    c1.metric(
        t("max |one_hot @ W − W[xs]| over all {n:,} bigrams", n=len(all_xs)),
        f"{bs.onehot_check(fp, ds):g}",
        help=t("Exactly 0: the same numbers, not just close ones."),
    )
    c2.metric(
        t("Numbers multiplied by the one-hot way"),
        f"{len(all_xs) * V * V:,}",
        help=t(
            "(N, V) @ (V, V): N·V·V multiply-adds, almost all of them by 0. Indexing just "
            "copies N·V numbers."
        ),
    )


def e05_cross_entropy_ui():
    """E05: the manual softmax + NLL against F.cross_entropy."""
    st.markdown(
        t(
            """
**E05. Use F.cross_entropy instead of the manual softmax and NLL.** The lecture computes
`counts = logits.exp()`, `probs = counts / counts.sum(1, keepdims=True)`,
`loss = -probs[range(n), ys].log().mean()`. `F.cross_entropy(logits, ys)` computes the same
number, but it subtracts each row's maximum before exp (which changes nothing mathematically),
so large logits cannot overflow; it is one fused operation, faster and lighter on memory, and
its backward pass is simpler. Scale the logits up and see the manual version break.
"""
        )
    )
    scale = present.settings("e05_scale").select_slider(
        t("Multiply the logits by"),
        (1, 2, 5, 10, 20, 50, 100, 200),
        value=1,
        key="e05_scale",
        bind="query-params",
    )
    word = neural.example_word(ds)
    xs, ys = neural.word_pairs(word, ds)
    W = neural.lecture_W(V)
    few = neural.cross_entropy_check(scale * W[xs], ys)
    all_xs, _ = bs.bigram_examples(fp, ds)
    many = bs.cross_entropy_all(fp, float(scale), ds)

    def exact(value: float, digits: int = 10) -> str:
        """Like Python prints it: nan and inf stay visible (they are the point of E05)."""
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)

    st.dataframe(
        pd.DataFrame(
            {
                t("examples"): [
                    t("the {n} bigrams of .{word}.", n=len(xs), word=word),
                    t("all {n:,} bigrams", n=len(all_xs)),
                ],
                t("manual softmax + NLL"): [exact(few.manual), exact(many.manual)],
                "F.cross_entropy": [exact(few.fused), exact(many.fused)],
                t("|difference|"): [f"{c.diff:.2e}" for c in (few, many)],
            }
        ),
        hide_index=True,
        key="e05_table",
    )
    c1, c2, c3 = st.columns(3)
    on_word = t("On the bigrams of .{word}.", word=word)
    c1.metric(t("Manual loss"), exact(few.manual, 6), help=on_word)
    c2.metric("F.cross_entropy", exact(few.fused, 6), help=on_word)
    c3.metric(t("Difference"), f"{few.diff:.1e}")
    st.caption(
        t(
            "Logits = W[xs] × the factor above, W from the lecture's seed (on names.txt and ×1 "
            "the manual loss of .emma. is the lecture's 3.7693). Agreement to float32 rounding "
            "(~1e-7) at ×1; at ×100 exp(logit) overflows to inf, inf / inf = nan, and the manual "
            "loss turns nan or inf while F.cross_entropy stays finite."
        )
    )


TABS = {
    N_("E01 · n-grams"): e01_ngrams_ui,
    N_("E02 · train / dev / test"): e02_splits_ui,
    N_("E03 · tune k"): e03_tune_k_ui,
    N_("E04 · one-hot"): e04_onehot_ui,
    N_("E05 · cross_entropy"): e05_cross_entropy_ui,
}
# lazy tabs: only the open one runs (and its name is in the URL, so links open it)
for tab, render in zip(bs.tabs(list(TABS), key="exercise"), TABS.values(), strict=True):
    if tab.open:
        with tab:
            render()
