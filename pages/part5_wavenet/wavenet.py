"""Lesson 5: WaveNet. A hierarchical MLP over 8 characters, its shapes, its BatchNorm bug, live training."""

import pandas as pd
import streamlit as st
import torch

from engine import data, models
from engine import part5_wavenet as wavenet
from engine.lectures import SAMPLE_SEED
from engine.models import WaveNetConfig
from engine.presets import PRESETS
from engine.sample import sample_words
from engine.train import Job, TrainConfig, eval_interval
from ui import charts, link_values, losses, present, schedule, small_data, state, training
from ui import part2_mlp as mlp
from ui import part5_wavenet as draw
from ui.i18n import t, tn, tr

ss = st.session_state
ds = state.dataset()
PRESET = PRESETS["part5-wavenet"]
KEY = "wavenet"
BLOCKS = [2, 3, 4, 8, 16]


def load(config: WaveNetConfig):
    ss.update(
        wn_block=config.block_size,
        wn_embd=config.n_embd,
        wn_hidden=config.n_hidden,
        wn_hier=config.hierarchical,
        wn_bnfix=config.bn_over_time,
    )


st.title(t("WaveNet: fusing characters pair by pair"), anchor=False)
st.markdown(
    t(
        """
Lecture 6 (makemore part 5) grows lecture 4's MLP in two ways. The context becomes **8**
characters. Instead of concatenating all 8 embeddings and squashing them through one layer
at once, the net fuses them gradually, as WaveNet (van den Oord et al. 2016) does:
`FlattenConsecutive(2)` joins neighbouring pairs, a Linear + BatchNorm + tanh layer
processes each pair, then pairs of pairs, then the last two halves: three levels for 8
characters. The lecture's final net (24-D embeddings, 128 neurons per level, 76,579
parameters) reaches **train 1.7690 / dev 1.9937**; the defaults below are that run
(the `part5-wavenet` preset, torch seed 42).
"""
    )
)

# the lecture's values are the defaults, which links leave out
settings = present.settings("wavenet")
c1, c2, c3 = settings.columns(3)
block = c1.selectbox(
    t("block_size (context length)"),
    BLOCKS,
    BLOCKS.index(PRESET.model.block_size),
    key="wn_block",
    bind="query-params",
    persist_state="session",
    help=t("The hierarchical net fuses pairs, so it needs a power of two."),
)
n_embd = c2.slider(
    t("n_embd (embedding dimensions)"),
    1,
    64,
    PRESET.model.n_embd,
    key="wn_embd",
    bind="query-params",
    persist_state="session",
)
n_hidden = c3.slider(
    t("n_hidden (neurons per level)"),
    1,
    512,
    PRESET.model.n_hidden,
    key="wn_hidden",
    bind="query-params",
    persist_state="session",
)
c1, c2, c3 = settings.columns(3)
hierarchical = c1.toggle(
    t("hierarchical (fuse pairs)"),
    PRESET.model.hierarchical,
    key="wn_hier",
    bind="query-params",
    persist_state="session",
    help=t(
        "FlattenConsecutive(2) levels. Off: the flat net, all block_size embeddings "
        "concatenated at once."
    ),
)
bn_fix = c2.toggle(
    t("BatchNorm statistics over dims (0, 1)"),
    PRESET.model.bn_over_time,
    key="wn_bnfix",
    bind="query-params",
    persist_state="session",
    disabled=not hierarchical,
    help=t(
        "Off: the lecture's bug, statistics over dim 0 only for 3-D input. Only the "
        "hierarchical net feeds BatchNorm 3-D input."
    ),
)
c3.button(
    t("Use the lecture's settings"),
    icon=":material/restart_alt:",
    on_click=load,
    args=(PRESET.model,),
)
config = WaveNetConfig(
    block_size=block,
    n_embd=n_embd,
    n_hidden=n_hidden,
    hierarchical=hierarchical,
    bn_over_time=bn_fix,
)
try:
    models.validate(config, ds.vocab_size)
except models.ConfigError as e:
    st.error(tr(e))
    st.stop()
if not small_data.notice(ds):
    st.stop()
splits = state.splits(ds.fingerprint, block, 1, ds)
fresh = wavenet.build(config, ds.vocab_size)
st.caption(
    t(
        "{params:,} parameters · dataset {name} (V = {V}) · {n:,} training examples of "
        "{block} characters",
        params=fresh.num_params(),
        name=state.md_escape(state.title(ds)),
        V=ds.vocab_size,
        n=len(splits.Ytr),
        block=block,
    )
)

# ---------------------------------------------------------------------------------------
st.header(t("The layers and their shapes"), anchor=False)
g = torch.Generator().manual_seed(wavenet.SEED)
ix = torch.randint(0, len(splits.Ytr), (32,), generator=g)
Xb = splits.Xtr[ix]
table = wavenet.layer_table(fresh, Xb)
COLUMNS = draw.layer_columns()
st.dataframe(
    draw.layer_frame(table),
    hide_index=True,
    height=35 * (len(table) + 1) + 3,
    column_config={
        "#": st.column_config.NumberColumn(width="small"),
        COLUMNS["layer"]: st.column_config.TextColumn(width="medium"),
        COLUMNS["BatchNorm statistics"]: st.column_config.TextColumn(
            width="large",
            help=t("The dims BatchNorm averages over, and its statistics' shape."),
        ),
    },
)
st.caption(
    t(
        "One batch of 32 examples through a freshly initialised net, layer by layer, as the "
        "lecture printed it. Shapes are (B, T, C): B examples in the batch, T groups of "
        "characters still separate, C numbers per group. FlattenConsecutive(2) halves T and "
        "doubles C; the Linear layers work on the last dimension only, the same weights for "
        "every group (like a convolution). When T reaches 1 it is dropped."
    )
)

# ---------------------------------------------------------------------------------------
st.header(t("Why BatchNorm must average over dims (0, 1)"), anchor=False)
st.markdown(
    t(
        """
The lecture's BatchNorm took its mean and variance over dim 0, the batch. With 3-D input
(32, 4, 128) that gives statistics of shape (1, 4, 128): **each of the 4 positions is
normalised on its own**, from 32 numbers, and the running statistics keep 4 separate
sets. But the Linear layer before it applies the same weights at every position, so a
channel means the same thing everywhere: its statistics should be shared, averaged over
dims (0, 1), 128 numbers each, shape (1, 1, 128). Fixing it moved the lecture's 22K-param
net from 1.941 / 2.029 to 1.912 / 2.022 (the performance log below).
"""
    )
)
job = training.job(KEY)
model = job.model if job is not None and job.config == config else fresh
stats = wavenet.time_stats(model, Xb)
if stats is None:
    st.info(
        t(
            "The flat net concatenates all characters first, so its BatchNorm sees 2-D input "
            "(batch, neurons): there is no position dimension and no bug. Switch on "
            "*hierarchical* to see it."
        )
        if not hierarchical
        else t(
            "With a context of {block} characters the first FlattenConsecutive(2) already "
            "joins them all (T = 1 is dropped), so BatchNorm sees 2-D input (batch, neurons): "
            "there is no position dimension and no bug. Choose a context of 4 or more to see it.",
            block=block,
        )
    )
else:
    st.altair_chart(draw.time_stats_chart(stats, "mean", bn_fix), width="stretch", key="wn_mean")
    st.altair_chart(draw.time_stats_chart(stats, "var", bn_fix), width="stretch", key="wn_var")
    used = (
        t(
            "**shared** statistics (black bars, {n} numbers each)",
            n=stats.batch * stats.positions,
        )
        if bn_fix
        else t("**per-position** statistics (dots, {n} numbers each): the bug", n=stats.batch)
    )
    st.caption(
        t(
            "The input of the first BatchNorm layer for the batch above, {when}, first 16 "
            "channels. Dots: each position's own mean and variance (over dim 0, one colour per "
            "pair of characters). Black bars: the same channel over all positions (dims (0, 1)). "
            "With the toggle as it is now, the layer normalises with {used}. The dots scatter "
            "around the bars: fewer numbers per estimate and, early in the context, mostly '.' "
            "padding.",
            when=t("in the net being trained") if model is not fresh else t("at initialisation"),
            used=used,
        )
    )

# ---------------------------------------------------------------------------------------
st.header(t("Train"), anchor=False)
c1, c2, c3, c4 = present.settings("wavenet_train").columns(4)
steps = link_values.whole_number(
    c1,
    t("steps"),
    1,
    400_000,
    PRESET.train.steps,
    step=10_000,
    key="wn_steps",
    bind="query-params",
    persist_state="session",
)
lr = c2.number_input(
    t("learning rate"), 1e-4, 10.0, PRESET.train.lr, format="%.4f", key="wn_lr", bind="query-params",
    persist_state="session",
)  # fmt: skip
decay = schedule.decay_ui(
    c3,
    "wn_decay",
    steps,
    PRESET.train.lr_decay_step / PRESET.train.steps,
    t("÷10 from step"),
    400_000,
)
seed = c4.number_input(
    t("seed"), 0, 2**53 - 1, PRESET.train.seed, key="wn_seed", bind="query-params", persist_state="session",
    help=t("The lecture's torch.manual_seed(42): it draws the weights and the minibatches."),
)  # fmt: skip
train_cfg = TrainConfig(
    steps=steps,
    lr=lr,
    lr_after=lr / 10,
    lr_decay_step=decay,
    seed=seed,
    eval_every=eval_interval(steps),
)
training.controls(
    KEY,
    (ds.fingerprint, config, train_cfg),
    lambda: Job(config, train_cfg, splits, ds.vocab_size),
)


def render(job):
    if job is None:
        st.info(
            t(
                "Press **Train**. The lecture's full run is 200,000 steps, several minutes on "
                "this server; the page stays usable while it trains, and you can stop and resume."
            )
        )
        return
    training.progress(job)
    losses.loss_metrics(
        job,
        st.columns(3),
        t(
            "Every 5% of the run on 20,000 train examples; at the end on the whole split. "
            "BatchNorm uses its running statistics."
        ),
    )
    refs, note = mlp.references_for(
        ds, {t("lecture: dev {loss:.4f}", loss=PRESET.expected[1]): PRESET.expected[1]}
    )
    st.vega_lite_chart(
        charts.loss_curve_spec(job.lossi, job.evals, refs, lecture_bucket=1000, height=340),
        width="stretch",
        key="wn_curve",
    )
    st.caption(
        t(
            "The lecture's smoothed curve: log10 of the minibatch loss averaged over each whole "
            "block of 1,000 steps (blue; it needs 1,000 steps for its first point). Gray: "
            "finer averages of the same losses, for short runs. Orange and red points: train "
            "and dev loss evaluated every 5% of the run and at the end."
        )
        + f" {note} {schedule.decay_note(job.train_config)}"
    )


training.live(KEY, render)

runs = ss.setdefault("wavenet_runs", [])
if job is not None and job.final is not None and not getattr(job, "scored", False):
    job.scored = True
    c = job.config
    runs.append(
        {
            "block": c.block_size,
            "n_embd": c.n_embd,
            "n_hidden": c.n_hidden,
            "hierarchical": c.hierarchical,
            "BN over (0, 1)": c.bn_over_time,
            "params": job.model.num_params(),
            "steps": job.step,
            "train": round(job.final["train"], 4),
            "dev": round(job.final["dev"], 4),
        }
    )

# ---------------------------------------------------------------------------------------
st.header(t("The lecture's performance log"), anchor=False)
log = pd.DataFrame(
    [
        {
            "experiment": tr(row.title),
            "block": row.config.block_size,
            "n_embd": row.config.n_embd,
            "n_hidden": row.config.n_hidden,
            "hierarchical": row.config.hierarchical,
            "BN over (0, 1)": row.config.bn_over_time and row.config.hierarchical,
            "params": wavenet.build(row.config, ds.vocab_size).num_params(),
            "train": row.train,
            "dev": row.dev,
        }
        for row in wavenet.PERFORMANCE_LOG
    ]
)
st.dataframe(draw.shown(log), hide_index=True)
st.caption(
    t(
        "The notebook's markdown log of its experiments, in order (train and dev loss after "
        "200,000 steps on makemore's names; params for the current dataset). Each step changes "
        "one thing. Load a row's settings, train, and compare: your finished runs appear below."
    )
)
c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
pick = c1.selectbox(
    t("Experiment"),
    range(len(wavenet.PERFORMANCE_LOG)),
    format_func=[tr(row.title) for row in wavenet.PERFORMANCE_LOG].__getitem__,
    key="wn_pick",
    bind="query-params",
)
c2.button(
    t("Load its settings"),
    on_click=load,
    args=(wavenet.PERFORMANCE_LOG[pick].config,),
    width="stretch",
)
if runs:
    st.dataframe(draw.shown(pd.DataFrame(runs)), hide_index=True, placeholder="—")
else:
    st.caption(t("No finished runs yet in this session."))

# ---------------------------------------------------------------------------------------
st.header(t("Sampling"), anchor=False)
if job is None:
    st.info(t("Train the net (even briefly) to sample names from it."))
else:
    c1, c2 = st.columns(2)
    n = link_values.whole_number(c1, t("how many"), 1, 200, 20, key="wn_n", bind="query-params")
    sample_seed = c2.number_input(
        t("seed"), 0, 2**53 - 1, SAMPLE_SEED, key="wn_sample_seed", bind="query-params",
        help=t("The lecture sampled unseeded; a seed makes the names repeatable."),
    )  # fmt: skip
    names = sample_words(job.model, ds.itos, n=n, seed=sample_seed)
    train_words = set(data.split_words(ds.words)[0])
    st.dataframe(
        pd.DataFrame(
            {t("sample"): names, t("in the training data"): [w in train_words for w in names]}
        ),
        hide_index=True,
    )
    st.caption(
        t(
            "Names drawn from the net as it is now (after {steps}), character by character "
            "from '{start}' until it produces '.'. BatchNorm uses its running statistics.",
            steps=tn("{n:,} step", "{n:,} steps", job.step),
            start="." * block,
        )
    )
