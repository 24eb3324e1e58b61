"""Beyond the lectures: makemore.py's model zoo (bigram, MLP, RNN, GRU, bag of words,
Transformer) trained live on any word list, side by side with the lectures' models."""

import math

import pandas as pd
import streamlit as st

from engine.lectures import SAMPLE_SEED
from engine.models import ConfigError
from engine.zoo import data as zoo_data
from engine.zoo import sample as zoo_sample
from engine.zoo import views
from engine.zoo.job import ZooJob, makemore_train
from engine.zoo.models import (  # fmt: skip
    FAMILIES,
    MAX_BLOCK,
    MAX_EMBD,
    MAX_HEAD,
    MAX_LAYER,
    TITLES,
    ZooConfig,
    count_params,
    validate,
)
from ui import charts, link_values, present, small_data, state, training
from ui import zoo as draw
from ui.i18n import N_, t, tn, tr

ss = st.session_state
ds = state.dataset()
KEY = "zoo"
DEFAULT = ZooConfig()
LONGEST = zoo_data.block_size(ds)
PILES = {"in train": N_("in train"), "in test": N_("in test")}  # and the new words


def pile(what: str, n: int) -> str:
    """A pile of samples' title: in train, in test, new word(s)."""
    return tn("new word", "new words", n) if what == "new" else t(PILES[what])


st.title(t("Model zoo: makemore.py's six families"), anchor=False)
st.markdown(
    t(
        """
The lectures' companion program, `makemore.py`, trains six kinds of model on any word list.
The lectures built the first two; here are all six, written in the lectures' plain style,
with makemore.py's defaults and its way with data: **one word per sequence**, '.' then the
word, and at every position the model predicts the next character ('.' after the last).
The **bigram** is a table; the **MLP** reads the previous `block_size` characters (a
<BLANK> token before the word's start); the **RNN** and **GRU** carry a state along the
word; the **bag of words** averages everything so far; the **Transformer** (GPT-2) lets
each position *attend* to the earlier ones. Same seed as makemore.py (3407): the same split
(a test set of min(1,000, 10 %) of the words), the same first weights, the same minibatches.
"""
    )
)

settings = present.settings("zoo")
c1, c2, c3 = settings.columns(3)
family = c1.selectbox(
    t("family"),
    FAMILIES,
    FAMILIES.index(DEFAULT.family),
    format_func={f: tr(TITLES[f]) for f in FAMILIES}.get,  # made now: in this session's language
    key="zoo_family",
    bind="query-params",
    persist_state="session",
)
block = link_values.whole_number(
    c2,
    t("block_size (positions per word)"),
    1,
    MAX_BLOCK,
    LONGEST,
    key="zoo_block",
    bind="query-params",
    persist_state="session",
    help=t(
        "makemore.py's: the longest word + 1 = {longest} on this dataset. Shorter cannot "
        "hold the longest word; at most {most}.",
        longest=LONGEST,
        most=MAX_BLOCK,
    ),
)
steps = link_values.whole_number(
    c3, t("steps"), 1, 100_000, 3000, step=500, key="zoo_steps", bind="query-params",
    persist_state="session", help=t("makemore.py trains until stopped; 3,000 steps compare with it."),
)  # fmt: skip
c1, c2, c3, c4 = settings.columns(4)
n_layer = c1.number_input(
    t("n_layer (blocks)"), 1, MAX_LAYER, DEFAULT.n_layer, key="zoo_layer", bind="query-params",
    persist_state="session", disabled=family != "transformer",
)  # fmt: skip
n_head = c2.number_input(
    t("n_head (heads)"), 1, MAX_HEAD, DEFAULT.n_head, key="zoo_head", bind="query-params",
    persist_state="session", disabled=family != "transformer",
    help=t("Each head gets n_embd / n_head features, so n_embd must be divisible by it."),
)  # fmt: skip
n_embd = c3.number_input(
    "n_embd", 1, MAX_EMBD, DEFAULT.n_embd, key="zoo_embd", bind="query-params",
    persist_state="session", disabled=family == "bigram", help=t("The embedding size."),
)  # fmt: skip
n_embd2 = c4.number_input(
    "n_embd2", 1, MAX_EMBD, DEFAULT.n_embd2, key="zoo_embd2", bind="query-params",
    persist_state="session", disabled=family in ("bigram", "transformer"),
    help=t("The MLP's hidden layer, the RNN's or GRU's state, the bag of words' MLP."),
)  # fmt: skip
config = ZooConfig(family, block, n_layer, n_head, n_embd, n_embd2)
try:
    validate(config, ds.vocab_size)
    if block < LONGEST:
        raise ConfigError(
            t(
                "block_size {block} is too short for this dataset: its longest word has "
                "{chars} characters, so each sequence needs {longest} positions ('.' + the "
                "word). makemore.py uses exactly that.",
                block=block,
                chars=LONGEST - 1,
                longest=LONGEST,
            )
        )
except ConfigError as e:
    st.error(tr(e), icon=":material/error:")
    st.stop()
splits = draw.splits(ds.fingerprint, ds)
n_train, n_test = len(splits.Ytr), len(splits.Yte)
st.caption(
    t(
        "{params:,} parameters · dataset {name} (V = {V}) · makemore.py's split: {n_train:,} "
        "training words, {n_test:,} test words · AdamW, learning rate 5e-4, weight decay 0.01, "
        "batch 32 words, seed 3407",
        params=count_params(config, ds.vocab_size),
        name=state.md_escape(state.title(ds)),
        V=ds.vocab_size,
        n_train=n_train,
        n_test=n_test,
    )
)
if not n_test:
    st.warning(t("Fewer than 10 words: makemore.py's test set (10 %) is empty, so there is no test loss."))  # fmt: skip

train_cfg = makemore_train(steps)
training.controls(
    KEY,
    (ds.fingerprint, config, train_cfg),
    lambda: ZooJob(config, train_cfg, splits, ds.vocab_size),
)


def render(job):
    if job is None:
        st.info(
            t(
                "Press **Train**: the defaults train makemore.py's Transformer for 3,000 steps "
                "(about a minute on one core). Then pick another family and train it too: the "
                "curves below overlay every finished run."
            )
        )
        return
    training.progress(job)
    last, final = (job.evals[-1] if job.evals else {}), job.final or {}
    c1, c2 = st.columns(2)
    c1.metric(t("train loss"), small_data.loss(final.get("train", last.get("train"))),
              help=t("Every 500 steps on 2,000 training words; at the end on all of them."))  # fmt: skip
    c2.metric(t("test loss"), small_data.loss(final.get("test", last.get("dev"))),
              help=t("makemore.py's test set (it has no dev set): every 500 steps and at the end."))  # fmt: skip
    st.vega_lite_chart(
        charts.loss_curve_spec(
            job.lossi,
            job.evals,
            {t("uniform guess, ln V"): math.log(ds.vocab_size)},
            height=300,
            dev_label="test",
        ),
        width="stretch",
        key="zoo_curve",
    )
    st.caption(
        t(
            "Blue: log10 of the minibatch loss (bucket means). Orange: the train loss (2,000 "
            "words); purple: the test loss, evaluated every 500 steps as makemore.py does (its "
            "test set plays the dev set's part). Green: a uniform guess."
        )
    )


training.live(KEY, render)

job = training.job(KEY)
if job is not None and job.final is not None and not getattr(job, "kept", False):
    job.kept = True
    draw.keep(job, ds)

# ---------------------------------------------------------------------------------------
st.header(t("The families side by side"), anchor=False)
done = draw.finished_runs(ds)
if done:
    st.vega_lite_chart(
        draw.overlay_spec({lab: j.lossi for lab, j in done.items()}), width="stretch", key="zoo_overlay"
    )  # fmt: skip
    st.caption(t("Every finished run of this session on this dataset: log10 of the minibatch loss (bucket means)."))  # fmt: skip
else:
    st.caption(t("Finished runs appear here, their curves overlaid: train a few families."))
rows = [
    {
        "model": t("zoo: {label}", label=lab),
        "params": j.model.num_params(),
        "train": j.final["train"],
        "test": j.final["test"],
        "split": t("makemore.py's, test"),
    }
    for lab, j in done.items()
] + draw.lecture_rows(ds)
COLUMNS = {  # the table's columns, as shown
    "model": N_("model"),
    "params": N_("params"),
    "train": N_("train"),
    "test": N_("test / dev"),
    "split": N_("split"),
}
st.dataframe(
    pd.DataFrame(rows, columns=list(COLUMNS)).rename(columns={k: t(v) for k, v in COLUMNS.items()}),
    hide_index=True,
    placeholder="—",
    column_config={
        t(COLUMNS["train"]): st.column_config.NumberColumn(format="%.4f"),
        t(COLUMNS["test"]): st.column_config.NumberColumn(format="%.4f"),
        t(COLUMNS["params"]): st.column_config.NumberColumn(format="%d"),
    },
)
st.caption(
    t(
        "Loss per character (mean negative log-likelihood), lower is better. The zoo's runs use "
        "makemore.py's split and its test set; the lectures' models their own 80/10/10 split "
        "and its dev set: the same words, other samples of them, so compare to about ±0.02."
    )
    + (
        " " + t("The lecture rows are the lectures' published numbers.")
        if state.on_lecture_data(ds)
        else ""
    )
)

# ---------------------------------------------------------------------------------------
st.header(t("Samples"), anchor=False)
if job is None:
    st.info(t("Train a model (even briefly) to sample from it."))
else:
    c1, c2 = st.columns(2)
    n = link_values.whole_number(c1, t("how many"), 1, 200, 30, key="zoo_n", bind="query-params")
    seed = c2.number_input(t("seed"), 0, 2**53 - 1, SAMPLE_SEED, key="zoo_sample_seed", bind="query-params")  # fmt: skip
    words = zoo_sample.sample_words(job.model, ds.itos, n, seed)
    piles = zoo_sample.sort_samples(words, *draw.word_sets(ds.fingerprint, ds))
    for col, (what, words_in) in zip(st.columns(3), piles.items(), strict=True):
        col.markdown(f"**{len(words_in)} {pile(what, len(words_in))}**")
        col.dataframe(pd.DataFrame({pile(what, len(words_in)): words_in}), hide_index=True, placeholder="—")  # fmt: skip
    st.caption(
        t(
            "As makemore.py prints them: drawn from the {family} as it is now ({steps}), then "
            "sorted into words of the training set, of the test set, and new ones.",
            family=tr(TITLES[job.config.family]),
            steps=tn("{n:,} step", "{n:,} steps", job.step),
        )
    )

# ---------------------------------------------------------------------------------------
st.header(t("Inside the model"), anchor=False)
if job is None or job.config.family not in ("transformer", "rnn", "gru"):
    st.info(
        t("Train a Transformer to see its attention, or an RNN or GRU to see its hidden state.")
    )
else:
    word = st.text_input(t("a word"), "emma" if "emma" in ds.words else ds.words[0], key="zoo_word", bind="query-params")  # fmt: skip
    try:
        if job.config.family == "transformer":
            layers = dict(enumerate(views.attention(job.model, ds, word), start=1))
            c = job.config
            if c.n_layer * c.n_head > draw.ALL_LAYERS_UP_TO:  # too many squares: one layer
                pick = st.selectbox(t("layer"), list(layers), key="zoo_att_layer")
                layers = {pick: layers[pick]}
            st.altair_chart(draw.attention_chart(layers, ds, word), key="zoo_attention")
            st.caption(
                t(
                    "Each square: one head of one layer (a row of squares per layer, up to "
                    "{most} squares; more: pick the layer). Row t ('reads') is the position "
                    "that predicts character t + 1; its colours are how much it reads from each "
                    "position up to its own (they sum to 1; nothing to the right: the mask).",
                    most=draw.ALL_LAYERS_UP_TO,
                )
            )
        else:
            states = views.recurrent(job.model, ds, word)
            st.altair_chart(draw.state_chart(states["hidden"], ds, word, t("hidden state h")), width="stretch", key="zoo_hidden")  # fmt: skip
            if states["update"] is not None:
                st.altair_chart(draw.state_chart(states["update"], ds, word, t("update gate z"), gate=True), width="stretch", key="zoo_gate")  # fmt: skip
            st.caption(
                t(
                    "Each column is the state after reading one more character (red positive, "
                    "blue negative). The GRU's update gate z says, unit by unit, how much of the "
                    "state that character rewrites: near 0 keeps the old value, near 1 takes the "
                    "new one."
                )
            )
    except ConfigError as e:
        st.error(tr(e))
