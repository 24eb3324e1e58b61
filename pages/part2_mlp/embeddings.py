"""Lesson 2: look inside the trained MLP: its embeddings, its samples, its likelihoods."""

import math

import pandas as pd
import streamlit as st

from engine import data, likelihood
from engine.lectures import SAMPLE_SEED
from engine.part1_bigrams import ngram
from engine.part2_mlp import embeddings
from engine.sample import sample_words
from ui import charts, link_values, present, state, training
from ui import part2_mlp as mlp
from ui.i18n import N_, t, tr

st.title(t("Embeddings & samples"), anchor=False)
st.markdown(
    t(
        """
What did the MLP learn? Its first layer, the embedding table **C**, gives every character a
point in `n_embd` dimensions. Characters that play similar roles in words end up close
together. Below: that map, each character's nearest neighbours, names sampled from the
model, and how likely it finds any name you type, next to the bigram count model.
"""
    )
)
ds = state.dataset()
with st.expander(t("The MLP's settings (shared with the trainer: change them there and train)")):
    settings = mlp.settings_ui()
job = mlp.current_job()
if job is None or job.step == 0:
    st.info(t("No MLP has been trained in this session yet. Start one on the trainer page."))
    st.page_link(
        "pages/part2_mlp/trainer.py", label=t("MLP trainer"), icon=":material/model_training:"
    )
    st.stop()
if training.slot(mlp.KEY)["spec"][0] != ds.fingerprint:
    st.warning(
        t("The MLP of this session was trained on another dataset: train it again on this one.")
    )
    st.page_link(
        "pages/part2_mlp/trainer.py", label=t("MLP trainer"), icon=":material/model_training:"
    )
    st.stop()
itos = ds.itos
if tuple(training.slot(mlp.KEY)["spec"][1:3]) != settings:
    st.caption(
        t(
            "The settings above have changed since this model was trained: train again on the "
            "trainer page to see their model here."
        )
    )

st.header(t("The embedding table C"), anchor=False)
PCA, CHOSEN = N_("top two principal components"), N_("two chosen dimensions")  # the URL's values
n_embd = job.model.config.n_embd
view = "dims"
dims = (0, min(1, n_embd - 1))
if n_embd > 2:
    c1, c2, c3 = present.settings("embeddings_view").columns([2, 1, 1])
    view = c1.radio(
        t("Show"),
        [PCA, CHOSEN],
        format_func={PCA: t(PCA), CHOSEN: t(CHOSEN)}.__getitem__,
        horizontal=True,
        key="emb_view",
        bind="query-params",
    )
    if view == CHOSEN:
        dims = (
            c2.selectbox(
                t("x axis: dimension"), range(n_embd), index=0, key="emb_x", bind="query-params"
            ),
            c3.selectbox(
                t("y axis: dimension"), range(n_embd), index=1, key="emb_y", bind="query-params"
            ),
        )


def render(job):
    training.progress(job)
    C = job.model.layers[0].weight.detach()
    pca = view == PCA
    xy = embeddings.project(C, None if pca else dims)
    points = pd.DataFrame(
        {
            "ch": itos,
            "x": xy[:, 0].tolist(),
            "y": xy[:, 1].tolist(),
            "kind": [embeddings.kind(c) for c in itos],
        }
    )
    if pca:
        share = embeddings.explained_variance(C)
        titles = (
            t("PC 1 ({share:.0%} of the variance)", share=share[0]),
            t("PC 2 ({share:.0%})", share=share[1]),
        )
    else:
        titles = (t("dimension {d}", d=dims[0]), t("dimension {d}", d=dims[1]))
    st.vega_lite_chart(  # a cached template with fresh data: cheap on every tick
        charts.embedding_scatter_spec(points, *titles, height=480),
        width="stretch",
        key="emb_scatter",
    )
    st.caption(
        t(
            "One dot per character: red vowels, blue consonants, black '.', the start/end token, "
            "green anything else (space ␣, hyphen, apostrophe). Hover for coordinates. With more "
            "than two dimensions a flat picture loses information: the principal components keep "
            "as much of the spread as two axes can."
        )
    )
    near = embeddings.nearest(C, itos, k=3)
    table = pd.DataFrame(
        [
            {
                t("character"): c.replace(" ", "␣"),
                **{
                    f"#{i + 1}": f"{n.replace(' ', '␣')}  ({s:+.2f})"
                    for i, (n, s) in enumerate(near[c])
                },
            }
            for c in itos
        ]
    )
    st.markdown(
        t("**Nearest characters** by cosine similarity of their embeddings (1 = same direction).")
    )
    st.dataframe(table, hide_index=True, height=250, width="stretch")
    accents = [(c, base) for c in itos if (base := data.strip_accents(c)) != c and base in itos]
    if accents:
        rank = {
            c: [n for n, _ in embeddings.nearest(C, itos, k=len(itos) - 1)[c]] for c, _ in accents
        }
        st.markdown(
            t(
                "**Accented letters and their plain letter.** Does the model learn that *á* "
                "behaves like *a*? Rank 1 means the plain letter is its nearest neighbour."
            )
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        t("accented"): c,
                        t("plain"): b,
                        t("rank of the plain letter"): rank[c].index(b) + 1,
                    }
                    for c, b in accents
                ]
            ),
            hide_index=True,
        )


training.live(mlp.KEY, render)

st.header(t("Sampling"), anchor=False)
c1, c2, c3, c4 = present.settings("embeddings_sampling").columns(4)
n = link_values.whole_number(c1, t("how many"), 1, 200, 20, key="emb_n", bind="query-params")
temperature = c2.slider(
    t("temperature"), 0.1, 2.0, 1.0, 0.05, key="emb_temp", bind="query-params",
    help=t("Below 1: safer, more common names. Above 1: wilder."),
)  # fmt: skip
seed = c3.number_input(t("seed"), 0, 2**53 - 1, SAMPLE_SEED, key="emb_seed", bind="query-params")
top_k = c4.number_input(
    t("top-k (0 = off)"), 0, ds.vocab_size, 0, key="emb_top_k", bind="query-params",
    help=t("Only draw from the k most likely characters."),
)  # fmt: skip
samples = sample_words(
    job.model, itos, n=n, seed=seed, temperature=temperature, top_k=top_k or None
)
train_words, dev_words, test_words = (set(s) for s in data.split_words(ds.words))


TRAIN_WORD = N_("in the training data")


def origin(w):
    if w in train_words:
        return TRAIN_WORD
    return N_("in dev/test (never trained on)") if w in dev_words | test_words else N_("new")


where = [origin(w) for w in samples]
novelty = sum(w != TRAIN_WORD for w in where) / len(where) if where else math.nan
st.metric(t("novelty"), f"{novelty:.0%}", help=t("Samples that are not copies of a training word."))
st.dataframe(
    pd.DataFrame({t("sample"): samples, t("where"): [t(w) for w in where]}),
    hide_index=True,
    width="stretch",
)
st.caption(
    t(
        "Each row is one name drawn character by character from the model's probabilities, "
        "starting from '.' and stopping at the next '.'. A model that only memorised its data "
        "would have novelty near 0%."
    )
)

st.header(t("Likelihood of a name: MLP vs bigram"), anchor=False)
word = st.text_input(t("a name"), "emma", max_chars=64, key="emb_word", bind="query-params").strip()
if word:
    P = ngram.probabilities(
        ngram.count_table(data.split_words(ds.words)[0], 2, ds.stoi, ds.vocab_size), 1
    )
    try:
        ours = likelihood.word_logprobs(job.model, word, ds.stoi)
        theirs = likelihood.word_logprobs(ngram.NGramModel(P, 2), word, ds.stoi)
    except ValueError as e:
        st.warning(t("That name has characters this model has never seen ({e}).", e=tr(e)))
    else:
        table = pd.DataFrame(
            {
                t("context"): [r["context"] for r in ours],
                t("next"): [r["next"] for r in ours],
                "p (MLP)": [r["p"] for r in ours],
                "−log p (MLP)": [r["surprisal"] for r in ours],
                t("p (bigram)"): [r["p"] for r in theirs],
                t("−log p (bigram)"): [r["surprisal"] for r in theirs],
            }
        )
        m1, m2 = st.columns(2)
        m1.metric(t("MLP: mean −log p"), f"{likelihood.mean_nll(ours):.4f}")
        m2.metric(t("bigram (k = 1): mean −log p"), f"{likelihood.mean_nll(theirs):.4f}")
        st.dataframe(table.style.format(precision=4), hide_index=True, width="stretch")
        st.caption(
            t(
                "Each row predicts one character from the ones before it (the MLP sees "
                "`block_size` of them, the bigram only the last). Surprisal −log p is 0 for a "
                "certain character and {lnV:.2f} (= ln V) for a uniform guess; the mean is the "
                "name's loss.",
                lnV=math.log(ds.vocab_size),
            )
        )
