"""Home: what the playground is, and the dataset every lesson page trains on."""

import random

import pandas as pd
import streamlit as st

from engine import data
from ui import charts, state

st.title("makemore playground")
st.markdown(
    """
An interactive companion to Andrej Karpathy's *makemore* lectures
(**Neural Networks: Zero to Hero**). Character-level language models read a list of
words and learn to make more of them: first by counting which character follows which
(the bigram model), then with a neural network that looks at several previous characters
(Bengio et al. 2003), and deeper networks whose activations, gradients and BatchNorm
statistics you can watch while they train.

Pick the dataset here. Every lesson page uses it until you change it, and uploading your
own list (one word per line) works the same way: the vocabulary is built from the data,
so accents, ñ, spaces, hyphens and apostrophes just work.
"""
)

ss = st.session_state
ds = state.dataset()
if (why := state.names_available()) is not None:
    st.info(
        "makemore's own names.txt is not available here, so the playground starts on the "
        f"bundled US census names instead. {state.md_escape(why)}",
        icon=":material/cloud_off:",
    )

st.header("Dataset")
options = state.sources()
choice = st.selectbox(
    "Dataset",
    options,
    index=options.index(ss.ds_source),
    format_func=state.source_label,
    help="names.txt is makemore's own dataset; it is downloaded once and cached.",
)
if choice in data.BUILTINS:
    st.caption(data.BUILTINS[choice].description)
base = (
    ss.ds_norm
    if choice == ss.ds_source
    else (data.BUILTINS[choice].normalization if choice in data.BUILTINS else data.Normalization())
)
c1, c2, c3 = st.columns(3)
norm = data.Normalization(
    lowercase=c1.toggle("Lowercase", base.lowercase, help="'Ávila' becomes 'ávila'."),
    strip_accents=c2.toggle(
        "Strip accents", base.strip_accents, help="'ávila' becomes 'avila', 'ñ' becomes 'n'."
    ),
    split_bilingual=c3.toggle(
        "Split bilingual names",
        base.split_bilingual,
        help="'Agurain/Salvatierra' becomes two words.",
    ),
)
if (choice, norm) != (ss.ds_source, ss.ds_norm):
    error = state.select(choice, norm)
    if error:
        current = state.md_escape(state.source_label(ss.ds_source))
        st.error(f"{state.md_escape(error)}\n\nYou are still working on **{current}**.")
    ds = state.dataset()


def on_upload():
    f = ss.home_upload
    if f is None:
        return
    content = f.getvalue()
    try:
        state.uploaded_dataset(content, f.name, data.Normalization())
    except data.DatasetError as e:
        ss.upload_message = ("error", f"{e} Your current dataset is unchanged.")
        return
    ss.uploads[f.name] = content
    state.select(state.UPLOAD_PREFIX + f.name, data.Normalization())
    ss.upload_message = ("success", f"Switched to your upload {f.name}.")


st.file_uploader(
    "Upload your own word list (UTF-8 text, one word per line)",
    key="home_upload",
    on_change=on_upload,
    help="It stays in your session: nobody else sees it.",
)
if msg := ss.pop("upload_message", None):
    (st.error if msg[0] == "error" else st.success)(state.md_escape(msg[1]))

st.subheader(state.source_label(ss.ds_source), anchor=False)
n_words = len(ds.words)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Words", f"{n_words:,}")
m2.metric("Distinct words", f"{len(set(ds.words)):,}")
m3.metric(
    "Vocabulary size V", ds.vocab_size, help="Distinct characters plus '.', the start/end token."
)
m4.metric("Longest word", f"{ds.max_len} chars")
if ds.dropped:
    st.caption(
        "Dropped while reading: " + "; ".join(f"{n:,} × {reason}" for reason, n in ds.dropped)
    )

st.markdown(
    "**Vocabulary.** Index 0 is `.`, which marks both the start and the end of every word; "
    "the other characters follow in sorted order (a space is shown as ␣)."
)
st.code(
    "  ".join(f"{i}:{'␣' if c == ' ' else c}" for i, c in enumerate(ds.itos)),
    language=None,
    wrap_lines=True,
)

left, right = st.columns(2)
left.altair_chart(charts.length_histogram(ds.words), width="stretch")
right.altair_chart(charts.char_frequencies(ds.words, ds.itos), width="stretch")

tr, dev, te = data.split_words(ds.words)
st.markdown(
    f"**The lecture's split.** `random.seed(42)`, shuffle, then 80 / 10 / 10: "
    f"{len(tr):,} train, {len(dev):,} dev and {len(te):,} test words. Models learn from train, "
    "dev picks settings, test is looked at once at the end."
)
st.markdown("**Examples** (20 random words; the first three of the shuffled train split first).")
examples = tr[:3] + random.Random(0).sample(list(ds.words), min(17, n_words))
examples += [""] * (-len(examples) % 4)
st.dataframe(
    pd.DataFrame([examples[i : i + 4] for i in range(0, len(examples), 4)], columns=list("ABCD")),
    hide_index=True,
    column_config={c: st.column_config.TextColumn(label=" ") for c in "ABCD"},
)
