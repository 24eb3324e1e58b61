"""makemore playground: the router. Pages live in pages/, shared glue in ui/, models in engine/."""

import streamlit as st

from ui import present, state

st.set_page_config(page_title="makemore playground", page_icon="🔤", layout="wide")

nav = st.navigation(
    {
        "Start": [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        ],
        "Lesson 0 · micrograd": [
            st.Page("pages/micrograd.py", title="micrograd", icon=":material/account_tree:"),
        ],
        "Lesson 1 · Bigrams": [
            st.Page("pages/bigram_counts.py", title="Bigram counts", icon=":material/grid_on:"),
            st.Page("pages/smoothing.py", title="Smoothing", icon=":material/tune:"),
            st.Page(
                "pages/bigram_sampling.py",
                title="Sampling & likelihood",
                icon=":material/casino:",
            ),
            st.Page("pages/neural_bigram.py", title="Neural bigram", icon=":material/hub:"),
            st.Page(
                "pages/ngram_exercises.py", title="Exercises E01–E05", icon=":material/school:"
            ),
        ],
        "Lesson 2 · MLP": [
            st.Page("pages/mlp.py", title="MLP trainer", icon=":material/model_training:"),
            st.Page("pages/lr_finder.py", title="Learning-rate finder", icon=":material/speed:"),
            st.Page(
                "pages/embeddings.py", title="Embeddings & samples", icon=":material/scatter_plot:"
            ),
        ],
        "Lesson 3 · Activations & BatchNorm": [
            st.Page(
                "pages/init_explorer.py", title="Init & saturation", icon=":material/monitor_heart:"
            ),
            st.Page(
                "pages/batchnorm.py", title="BatchNorm", icon=":material/align_vertical_center:"
            ),
            st.Page("pages/diagnostics.py", title="Diagnostics", icon=":material/query_stats:"),
        ],
        "Lesson 4 · Backprop ninja": [
            st.Page("pages/backprop.py", title="Backprop ninja", icon=":material/swords:"),
        ],
        "Lesson 5 · WaveNet": [
            st.Page("pages/wavenet.py", title="WaveNet", icon=":material/graphic_eq:"),
        ],
        "Classroom": [
            st.Page("pages/compare.py", title="Compare runs", icon=":material/stacked_line_chart:"),
        ],
    },
    expanded=True,
)
ds = state.dataset()
st.sidebar.caption(
    f"Dataset: **{state.md_escape(state.source_label(st.session_state.ds_source))}** · "
    f"{len(ds.words):,} words · V = {ds.vocab_size}"
)
present.apply()
nav.run()
