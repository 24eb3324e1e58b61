"""makemore playground: the router. Pages live in pages/, shared glue in ui/, models in engine/.

`streamlit run app.py` serves `app` below (Streamlit's ASGI App), whose lifespan runs once
when the server starts, before any visitor; every session's script run then executes this
file as __main__: the router. Sections are named after the lecture videos, and every
page's url_path is pinned to the address it has always had, so links shared with a class
keep working.
"""

import asyncio
from contextlib import asynccontextmanager

import streamlit as st

from ui import i18n, link_values, links, navigation, present, runs, state
from ui.i18n import t


@asynccontextmanager
async def lifespan(_app):
    """Once per server: before the first visitor, and when the server stops."""
    navigation.leave_legacy_pages_mode()
    service = await asyncio.to_thread(runs.service)  # the training workers, warm
    await asyncio.to_thread(navigation.import_pages)  # the pages' modules, imported once
    await asyncio.to_thread(state.warm_up)
    yield
    service.close()  # no worker process outlives the server


def page(path: str, title: str, icon: str, url_path: str, **kwargs) -> st.Page:
    return st.Page(path, title=title, icon=f":material/{icon}:", url_path=url_path, **kwargs)


def router() -> None:
    """Every session's script run: the page config, the navigation, the page."""
    st.set_page_config(page_title="makemore playground", page_icon="🔤", layout="wide")
    i18n.choose()  # first: every text below is in the session's language

    nav = st.navigation(
        {
            t("Start"): [page("pages/start/home.py", t("Home"), "home", "home", default=True)],
            t("micrograd · Backpropagation"): [
                page("pages/micrograd/micrograd.py", t("micrograd"), "account_tree", "micrograd"),
            ],
            t("makemore part 1 · Bigrams"): [
                page(
                    "pages/part1_bigrams/counts.py", t("Bigram counts"), "grid_on", "bigram_counts"
                ),
                page("pages/part1_bigrams/smoothing.py", t("Smoothing"), "tune", "smoothing"),
                page(
                    "pages/part1_bigrams/sampling.py",
                    t("Sampling & likelihood"),
                    "casino",
                    "bigram_sampling",
                ),
                page(
                    "pages/part1_bigrams/neural_bigram.py",
                    t("Neural bigram"),
                    "hub",
                    "neural_bigram",
                ),
                page(
                    "pages/part1_bigrams/exercises.py",
                    t("Exercises E01–E05"),
                    "school",
                    "ngram_exercises",
                ),
            ],
            t("makemore part 2 · MLP"): [
                page("pages/part2_mlp/trainer.py", t("MLP trainer"), "model_training", "mlp"),
                page(
                    "pages/part2_mlp/lr_finder.py", t("Learning-rate finder"), "speed", "lr_finder"
                ),
                page(
                    "pages/part2_mlp/embeddings.py",
                    t("Embeddings & samples"),
                    "scatter_plot",
                    "embeddings",
                ),
            ],
            t("makemore part 3 · Activations & BatchNorm"): [
                page(
                    "pages/part3_bn/init.py",
                    t("Init & saturation"),
                    "monitor_heart",
                    "init_explorer",
                ),
                page(
                    "pages/part3_bn/batchnorm.py",
                    t("BatchNorm"),
                    "align_vertical_center",
                    "batchnorm",
                ),
                page(
                    "pages/part3_bn/diagnostics.py", t("Diagnostics"), "query_stats", "diagnostics"
                ),
            ],
            t("makemore part 4 · Backprop ninja"): [
                page("pages/part4_backprop/ninja.py", t("Backprop ninja"), "swords", "backprop"),
            ],
            t("makemore part 5 · WaveNet"): [
                page("pages/part5_wavenet/wavenet.py", t("WaveNet"), "graphic_eq", "wavenet"),
            ],
            t("Beyond the lectures"): [
                page("pages/zoo/zoo.py", t("Model zoo"), "pets", "zoo"),
            ],
            t("Classroom"): [
                page(
                    "pages/classroom/compare.py", t("Compare runs"), "stacked_line_chart", "compare"
                ),
            ],
        },
        expanded=True,
    )
    i18n.follow_link(nav)  # a link written in another language, in this one
    navigation.show(nav)
    state.init()
    links.sync_url()  # a link being opened, or the URL following the session's dataset
    ds = state.dataset()
    st.sidebar.caption(
        t(
            "Dataset: **{name}** · {n:,} words · V = {V}",
            name=state.md_escape(state.source_label(st.session_state.ds_source)),
            n=len(ds.words),
            V=ds.vocab_size,
        )
    )
    present.apply()
    with link_values.watch(), present.charts_scaled():
        nav.run()


# `streamlit run app.py` imports this file once to find `app`, then runs it as __main__
# for every session's script run.
app = st.App("app.py", lifespan=lifespan)

if __name__ == "__main__":
    router()
