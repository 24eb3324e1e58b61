"""Lesson 2: train Bengio et al.'s MLP live, with the lecture's settings as defaults."""

import math

import pandas as pd
import streamlit as st

from engine import models
from engine.part2_mlp import embeddings
from ui import charts, losses, schedule, small_data, state, training
from ui import part2_mlp as mlp
from ui.i18n import N_, t, tn, tr

st.title(t("MLP language model"), anchor=False)
st.markdown(
    t(
        """
Lecture 3 (makemore part 2) follows **Bengio et al. 2003**. To predict the next character,
look up each of the previous `block_size` characters in an embedding table **C**
(`n_embd` numbers per character), concatenate them, pass them through a layer of
`n_hidden` **tanh** neurons, and turn the result into one score (logit) per character;
softmax makes them probabilities. Training nudges every parameter against the gradient of
the loss (the mean negative log-likelihood) on random minibatches of 32 examples.

The defaults are the lecture's: context 3, 10-D embeddings, 200 neurons, 200,000 steps,
learning rate 0.1 dropped to 0.01 halfway. Train, watch the curve, stop and resume any time.
"""
    )
)

ds = state.dataset()
model_cfg, train_cfg = mlp.settings_ui()
try:
    n_params = models.count_params(model_cfg, ds.vocab_size)
except models.ConfigError as e:
    st.error(tr(e))
    st.stop()
st.caption(
    t(
        "{n_params:,} parameters · dataset {name} (V = {V}) · {steps} of {examples} · "
        "learning rate {lr:g}, then {lr_after:g} from step {decay:,}",
        n_params=n_params,
        name=state.md_escape(state.title(ds)),
        V=ds.vocab_size,
        steps=tn("{n:,} step", "{n:,} steps", train_cfg.steps),
        examples=tn("{n:,} example", "{n:,} examples", train_cfg.batch_size),
        lr=train_cfg.lr,
        lr_after=train_cfg.lr_after,
        decay=train_cfg.lr_decay_step,
    )
)
device = mlp.device_ui()
if not small_data.notice(ds):
    st.stop()
training.controls(
    mlp.KEY,
    (ds.fingerprint, model_cfg, train_cfg, device),
    lambda: mlp.make_job(ds, model_cfg, train_cfg, device),
)


def render(job):
    if job is None:
        st.info(
            t("Press **Train** to start. The loss curve and the embeddings update as it learns.")
        )
        return
    training.progress(job)
    mlp.init_hint(job, ds)
    recent = job.lossi[-100:]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        t("minibatch loss (last 100 steps)"),
        f"{sum(10**v for v in recent) / len(recent):.4f}" if recent else "–",
    )
    losses.loss_metrics(
        job,
        (m2, m3, m4),
        t(
            "Evaluated every 5% of the run (on 20,000 train examples), and on the whole split "
            "at the end."
        ),
    )
    st.vega_lite_chart(  # a cached template with fresh data: cheap on every tick
        charts.loss_curve_spec(job.lossi, job.evals, mlp.references(ds)),
        width="stretch",
        key="mlp_curve",
    )
    st.caption(
        t(
            "Blue: log10 of the minibatch loss, averaged over buckets of steps (each minibatch is "
            "a noisy estimate). Orange and red lines with points (dev dashed): train and dev loss "
            "evaluated every so often and on the whole splits at the end. Horizontal dashed rules "
            "(the legend's references): the loss of a uniform guess (ln V) and of the bigram "
            "count model on dev."
        )
        + " "
        + schedule.decay_note(job.train_config)
    )
    C = job.model.layers[0].weight
    xy = embeddings.project(C)
    points = pd.DataFrame(
        {
            "ch": ds.itos,
            "x": xy[:, 0].tolist(),
            "y": xy[:, 1].tolist(),
            "kind": [embeddings.kind(c) for c in ds.itos],
        }
    )
    title = (
        (t("dim 0"), t("dim 1"))
        if C.shape[1] <= 2
        else (t("principal component 1"), t("principal component 2"))
    )
    st.vega_lite_chart(
        charts.embedding_scatter_spec(points, *title, height=360), width="stretch", key="mlp_emb"
    )
    st.caption(
        t(
            "The embedding table C, one dot per character (for more than 2 dimensions, its top "
            "two principal components). Characters used alike drift together; the vowels usually "
            "form a group. More views on the **Embeddings & samples** page."
        )
    )


training.live(mlp.KEY, render)

# --- scoreboard (exercise E01) --------------------------------------------------------------
SCOREBOARD = {  # the scoreboard's columns, as shown
    "dataset": N_("dataset"),
    "block": N_("block"),
    "init": N_("init"),
    "direct": N_("direct"),
    "batch": N_("batch"),
    "steps": N_("steps"),
    "params": N_("params"),
    "train": N_("train"),
    "dev": N_("dev"),
    "seconds": N_("seconds"),
    "target": N_("target"),
    "beats it": N_("beats it"),
}
runs = st.session_state.setdefault("mlp_runs", [])
job = mlp.current_job()
goal = mlp.target(ds)
if job is not None and job.final is not None and not getattr(job, "scored", False):
    job.scored = True
    c, tc = job.config, job.train_config
    runs.append(
        {
            "dataset": state.title(ds),
            "block": c.block_size,
            "n_embd": c.n_embd,
            "n_hidden": c.n_hidden,
            "init": next(
                k for k, v in mlp.INITS.items() if all(getattr(c, a) == b for a, b in v.items())
            ),
            "direct": c.direct,
            "batch": tc.batch_size,
            "steps": job.step,
            "lr": f"{tc.lr:g} → {tc.lr_after:g} @ {tc.lr_decay_step:,}",
            "params": job.model.num_params(),
            "train": round(job.final["train"], 4),
            "dev": round(job.final["dev"], 4),
            "seconds": round(job.seconds, 1),
            "target": goal,
            "beats it": None if goal is None else job.final["dev"] < goal,
        }
    )

st.header(t("Exercises"), anchor=False)
st.markdown(
    t(
        """
{goal} Every finished run of this session lands in the scoreboard below. Try a longer
context, more embedding dimensions, more neurons, a bigger batch or a different
learning-rate schedule.

**E02 · The loss of a perfectly uniform guess** is ln V = ln {V} =
**{lnV:.4f}**, drawn as a rule on the curve. The plain randn init starts far
above it (around 27 on names): the network is confidently wrong. Choose
*{init}* to start near it; the **Init & saturation** page shows why.

**E03 · Direct connections** from Bengio et al. 2003: switch them on above and compare
the dev loss with and without.
""",
        goal=mlp.e01_goal(ds, goal),
        V=ds.vocab_size,
        lnV=math.log(ds.vocab_size),
        init=t(mlp.NEAR_UNIFORM),
    )
)
st.button(
    t("Use the near-uniform init"),
    icon=":material/balance:",
    on_click=lambda: st.session_state.update(init=mlp.NEAR_UNIFORM),
)
if runs:
    board = pd.DataFrame(runs).assign(init=lambda df: df["init"].map(t))
    board = board.rename(columns=lambda c: t(SCOREBOARD[c]) if c in SCOREBOARD else c)
    st.dataframe(board, hide_index=True, width="stretch", placeholder="—")
else:
    st.caption(t("No finished runs yet in this session."))
