"""Home: what the playground is, and the dataset every lesson page trains on."""

import random

import pandas as pd
import streamlit as st

from engine import data
from ui import charts, present, small_data, state
from ui.i18n import t, tn, tr

st.title(t("makemore playground"))
st.markdown(
    t(
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
)

with st.expander(t("Share a run, or put it on a projector"), icon=":material/co_present:"):
    st.markdown(
        t(
            """
**Every page's address is a link to what you see.** The dataset and every setting (sliders,
seeds, model and training settings, the open tab) are in the URL, for example
`/mlp?data=spanish-municipalities&n_embd=2&seed=7`. Put it on the board: every student who
opens it gets the same dataset, the same settings and, after **Train**, the same numbers.
Settings at their defaults are left out. A link that names an unknown dataset says so and
keeps yours.

**Your uploads are private.** An uploaded word list, and every run on it, stays in your
session: nobody else can list, download or open it. To give it to the class, press
**Share this word list with the class** under it: the link then carries a random token
(`?data=upload:…`, 128 bits, not derived from the words), and whoever opens that link on
this server gets the list and sees its runs (the server keeps the 16 most recently used
shared lists until it restarts). Exported files never carry the token.

**Presenter mode** for a projector: add `present=1` to any page's link. The sidebar and the
toolbar disappear and everything is drawn 1.3× larger (`zoom=150` for 1.5×, 100–250).
`hide=` takes a comma-separated list of what else to hide:
`settings` (the settings widgets; the link's values still apply), `captions` (the notes
under the charts) or `text` (every paragraph and caption). Example:
`/smoothing?smooth_k=10&present=1&hide=settings,captions`. Remove `present=1` to get the
navigation back.
"""
        )
    )

ss = st.session_state
ds = state.dataset()
if (why := state.names_available()) is not None:
    st.info(
        t(
            "makemore's own names.txt is not available here, so the playground starts on the "
            "bundled US census names instead. {why}",
            why=state.md_escape(tr(why)),
        ),
        icon=":material/cloud_off:",
    )

st.header(t("Dataset"))


def switch(source: str, norm: data.Normalization) -> None:
    """Widget callback: try the new dataset; on failure keep the current one and say why."""
    ss.dataset_error = state.select(source, norm)


def on_source():
    source = ss.home_source
    default = (
        data.BUILTINS[source].normalization if source in data.BUILTINS else data.Normalization()
    )
    switch(source, default)


def on_norm():
    switch(ss.ds_source, data.Normalization(ss.home_lower, ss.home_strip, ss.home_split))


# The widgets always show the session's actual dataset, whatever changed it.
ss.home_source = ss.ds_source
ss.home_lower, ss.home_strip, ss.home_split = (
    ss.ds_norm.lowercase,
    ss.ds_norm.strip_accents,
    ss.ds_norm.split_bilingual,
)
st.selectbox(
    t("Dataset"),
    state.sources(),
    key="home_source",
    # the labels in this run's language, looked up (AppTest formats outside the run too)
    format_func={source: state.source_label(source) for source in state.sources()}.get,
    on_change=on_source,
    help=t("names.txt is makemore's own dataset; it is downloaded once and cached."),
)
if ss.ds_source in data.BUILTINS:
    st.caption(tr(data.BUILTINS[ss.ds_source].description))
c1, c2, c3 = st.columns(3)
c1.toggle(t("Lowercase"), key="home_lower", on_change=on_norm, help=t("'Ávila' becomes 'ávila'."))
c2.toggle(
    t("Strip accents"),
    key="home_strip",
    on_change=on_norm,
    help=t("'ávila' becomes 'avila', 'ñ' becomes 'n'."),
)
c3.toggle(
    t("Split bilingual names"),
    key="home_split",
    on_change=on_norm,
    help=t("'Agurain/Salvatierra' becomes two words."),
)
if error := ss.pop("dataset_error", None):
    current = state.md_escape(state.source_label(ss.ds_source))
    st.error(
        t(
            "{error}\n\nYou are still working on **{current}**.",
            error=state.md_escape(tr(error)),
            current=current,
        )
    )
ds = state.dataset()


def use_upload(name: str, content: bytes, column: int) -> None:
    state.add_upload(name, content, column)
    ss.dataset_error = state.select(state.UPLOAD_PREFIX + name, data.Normalization())


st.subheader(t("Your own word list"), anchor=False)
f = st.file_uploader(
    t("Upload a text file (one word per line) or a csv/tsv with a column of words"),
    key="home_upload",
    max_upload_size=2,
    help=t(
        "UTF-8, UTF-16 or Windows-1252; any line ends. It stays in your session: nobody else "
        "sees it or its runs until you share it with the class."
    ),
)
if f is not None:
    content = f.getvalue()
    try:
        preview = state.read_upload(content, f.name)
        if preview.kind == "csv":
            column = st.selectbox(
                t("column with the words"),
                range(len(preview.columns)),
                index=preview.column,
                format_func=[tr(c) for c in preview.columns].__getitem__,
                key=f"home_column:{f.name}",
            )
            preview = state.read_upload(content, f.name, column)
        candidate = state.uploaded_dataset(content, f.name, data.Normalization(), preview.column)
    except data.DatasetError as e:
        st.error(
            t("{error} Your current dataset is unchanged.", error=state.md_escape(tr(e))),
            icon=":material/error:",
        )
    else:
        working = ss.ds_source == state.UPLOAD_PREFIX + f.name and ss.uploads.get(f.name) == (
            content,
            preview.column,
        )
        name = state.md_escape(f.name)
        if preview.kind == "csv":
            what = t(
                "csv column {column}", column=state.md_escape(tr(preview.columns[preview.column]))
            )
        else:
            what = t("one word per line")
        st.markdown(
            t(
                "**Preview of {name}** ({encoding}, {what}, lower-cased).",
                name=name,
                encoding=preview.encoding,
                what=what,
            )
            + ("" if working else t(" Nothing changes until you switch to it."))
        )
        p1, p2, p3, p4 = st.columns(4)
        p1.metric(t("words kept"), f"{len(candidate.words):,}")
        p2.metric(
            t("of which repeats"),
            f"{candidate.duplicates:,}",
            help=t("Kept: a repeated word is seen more often."),
        )
        p3.metric(t("dropped"), f"{sum(n for _, n in candidate.dropped):,}")
        p4.metric(t("vocabulary size V"), candidate.vocab_size)
        for reason, n in candidate.dropped:
            st.caption(t("dropped {n:,} × {reason}", n=n, reason=state.md_escape(tr(reason))))
        if not working:  # the dataset's own notice below says it once it is in use
            small_data.notice(candidate, "home")
        st.dataframe(pd.DataFrame({t("first words kept"): candidate.words[:10]}), hide_index=True)
        if working:
            st.success(t("You are working on {name}.", name=name), icon=":material/check:")
        else:
            st.button(
                t("Switch to {name}", name=name),
                key="home_switch",
                icon=":material/swap_horiz:",
                type="primary",
                on_click=use_upload,
                args=(f.name, content, preview.column),
            )
if ss.ds_source.startswith(state.UPLOAD_PREFIX):
    present.share_upload_ui(ss.ds_source.removeprefix(state.UPLOAD_PREFIX))

st.subheader(state.source_label(ss.ds_source), anchor=False)
n_words = len(ds.words)
m1, m2, m3, m4 = st.columns(4)
m1.metric(t("Words"), f"{n_words:,}")
m2.metric(t("Distinct words"), f"{len(set(ds.words)):,}")
m3.metric(
    t("Vocabulary size V"),
    ds.vocab_size,
    help=t("Distinct characters plus '.', the start/end token."),
)
m4.metric(t("Longest word"), tn("{n} char", "{n} chars", ds.max_len))
if ds.dropped:
    st.caption(
        t(
            "Dropped while reading: {reasons}",
            reasons="; ".join(
                t("{n:,} × {reason}", n=n, reason=tr(reason)) for reason, n in ds.dropped
            ),
        )
    )

st.markdown(
    t(
        "**Vocabulary.** Index 0 is `.`, which marks both the start and the end of every word; "
        "the other characters follow in sorted order (a space is shown as ␣)."
    )
)
st.code(
    "  ".join(f"{i}:{'␣' if c == ' ' else c}" for i, c in enumerate(ds.itos)),
    language=None,
    wrap_lines=True,
)

left, right = st.columns(2)  # built once per dataset (every student opens Home)
lengths = charts.template_spec(
    ("lengths", ds.fingerprint), lambda: charts.length_histogram(ds.words), {}
)
chars = charts.template_spec(
    ("chars", ds.fingerprint), lambda: charts.char_frequencies(ds.words, ds.itos), {}
)
left.vega_lite_chart(lengths, width="stretch")
right.vega_lite_chart(chars, width="stretch")

train_words, dev, te = data.split_words(ds.words)
st.markdown(
    t(
        "**The lecture's split.** `random.seed(42)`, shuffle, then 80 / 10 / 10: "
        "{train:,} train, {dev:,} dev and {test}. "
        "Models learn from train, dev picks settings, test is looked at once at the end.",
        train=len(train_words),
        dev=len(dev),
        test=tn("{n:,} test word", "{n:,} test words", len(te)),
    )
)
small_data.notice(ds, "home")
examples = train_words[:3] + random.Random(0).sample(list(ds.words), min(17, n_words))
st.markdown(
    t(
        "**Examples** ({words}): the first of the shuffled train split, then words picked at "
        "random.",
        words=tn("{n:,} word", "{n:,} words", len(examples)),
    )
)
st.code("\u00a0·  ".join(examples), language=None, wrap_lines=True)  # "·" ends a line
