"""Lesson 2: the learning-rate finder."""

import streamlit as st

from engine.part2_mlp import lr_finder
from ui import charts, present, small_data, state, training
from ui import part2_mlp as mlp
from ui.i18n import t

st.title(t("Learning-rate finder"), anchor=False)
st.markdown(
    t(
        """
How big should each step be? Lecture 3's trick: take a fresh network and, for 1,000 steps,
raise the learning rate exponentially from 10⁻³ to 10⁰ (one minibatch step at each rate),
then plot the loss against the exponent. At first the steps are too small to matter, then
the loss falls fast, then it flattens in a **valley**, and finally the steps are so large
that the loss shoots up. A rate in the valley (the lecture picked 10⁻¹ = 0.1) is fast and
still stable.

The sweep uses the model settings of the **MLP trainer** page (context, sizes, initialisation).
"""
    )
)
ds = state.dataset()
if not small_data.notice(ds, uses_dev=False):  # the sweep trains on the train split only
    st.stop()
with st.expander(t("The model (shared with the MLP trainer)")):
    model_cfg = mlp.model_ui()
with present.settings("lr_finder"):
    c1, c2, c3 = st.columns(3)
    lo, hi = c1.slider(
        t("exponent range"), -6.0, 1.0, (-3.0, 0.0), 0.5, key="lrf_range", bind="query-params"
    )
    steps = c2.number_input(
        t("steps (one per rate)"), 10, 5000, 1000, 100, key="lrf_steps", bind="query-params"
    )
    batch_size = c3.number_input(t("batch size"), 2, 1024, 32, key="lrf_batch", bind="query-params")

splits = state.splits(ds.fingerprint, model_cfg.block_size, 1, ds)
sweep_cfg = lr_finder.SweepConfig(steps, lo, hi, batch_size)
training.controls(
    "lr_finder",
    (ds.fingerprint, model_cfg, sweep_cfg),
    lambda: lr_finder.SweepJob(model_cfg, splits, ds.vocab_size, sweep_cfg),
    train_label=t("Run the sweep"),
)


def render(job):
    if job is None:
        st.info(t("Press **Run the sweep**: 1,000 steps take about a second."))
        return
    training.progress(job)
    if not job.done:
        return
    sweep = job.result()
    st.altair_chart(
        charts.lr_sweep(sweep.exponents, sweep.losses, sweep.smoothed, sweep.best_exponent),
        width="stretch",
    )
    st.caption(
        t(
            "Grey: the loss of each single step (noisy: each is one minibatch). Blue: a moving "
            "average. Red: the valley, the lowest point of the average before the loss blows up. "
            "Losses above the chart's top were clipped so the valley stays readable."
        )
    )
    c1, c2 = st.columns(2)
    c1.metric(
        t("suggested learning rate"),
        f"{sweep.suggested_lr:.3g}",
        help=t("10 to the power of the valley's exponent."),
    )
    c1.button(
        t("Use {lr:.3g} in the MLP trainer", lr=sweep.suggested_lr),
        icon=":material/check:",
        on_click=lambda: st.session_state.update(lr=float(f"{sweep.suggested_lr:.3g}")),
    )
    c2.markdown(
        t(
            "The valley is a rule of thumb, not an answer: the lecture chose 0.1, just before the "
            "valley's floor, and decayed it tenfold late in training."
        )
    )


training.live("lr_finder", render)
st.page_link(
    "pages/part2_mlp/trainer.py",
    label=t("Back to the MLP trainer"),
    icon=":material/model_training:",
)
