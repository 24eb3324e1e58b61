"""BatchNorm: lecture 4 (makemore part 3), the one-layer MLP with and without BatchNorm.

Both nets train side by side; the BatchNorm net's batch statistics are watched against its
running estimates, its evaluation with those estimates is compared with a calibration pass
over the whole train split, the notebook's widget shows what normalising a batch does, and
exercise E02 folds the BatchNorm into the Linear layer before it.
"""

import math

import pandas as pd
import streamlit as st

from engine import lectures
from engine.models import ConfigError
from engine.part3_bn import batchnorm, live
from engine.presets import PRESETS
from engine.train import Job, TrainConfig
from ui import losses, small_data, state, training
from ui.i18n import N_, t, tr
from ui.part3_bn import batchnorm as bnc
from ui.part3_bn import charts as dc

ds = state.dataset()
splits = state.splits(ds.fingerprint, 3, 1, ds)
V = ds.vocab_size
WITH, WITHOUT = N_("with BatchNorm"), N_("without BatchNorm")  # shown as t(label)
CONFIGS = {WITH: PRESETS["part3-batchnorm"].model, WITHOUT: PRESETS["part3-kaiming"].model}
LOG = {WITH: "part3-batchnorm", WITHOUT: "part3-kaiming"}
N_HIDDEN = CONFIGS[WITH].n_hidden
lecture = state.on_lecture_data(ds)  # the lecture's numbers are about names.txt only

st.title("BatchNorm")
FORMULA = r"$$\text{hpreact} = \gamma \cdot \frac{\text{hpreact} - \mu_\text{batch}}{\sigma_\text{batch}} + \beta$$"
st.markdown(
    "\n"
    + t(
        """Fixing the init by hand works for one layer but gets hopeless in deep nets. **Batch
normalisation** (Ioffe & Szegedy 2015) simply *makes* the pre-activations unit Gaussian:
for every neuron, subtract the batch's mean and divide by its std, then let the net scale
and shift the result with two learned parameters, the gain γ (`bngain`) and the bias β
(`bnbias`):"""
    )
    + "\n\n"
    + FORMULA
    + "\n\n"
    + t(
        """Below, the lecture's MLP (Kaiming init, 200 tanh neurons) with a BatchNorm layer before the
tanh, next to the same net without it. The BatchNorm net drops `b1`: subtracting the mean
would cancel it anyway, and β does its job."""
    )
    + "\n"
)
if not small_data.notice(ds):
    st.stop()

# ---------------------------------------------------------------------------------------
# side by side

st.header(t("With and without BatchNorm"), anchor=False)
steps = training.lecture_steps_ui("bn_steps")
tc = TrainConfig(steps=steps, lr_decay_step=steps // 2, eval_every=0)


def make_race():
    jobs = {label: Job(c, tc, splits, V) for label, c in CONFIGS.items()}
    trace = batchnorm.BatchNormTrace(jobs[WITH])
    race = live.Lockstep(jobs, hooks={WITH: trace.record})
    race.trace = trace  # goes with this run: a new Train starts a new trace
    return race


training.controls("bn", (ds.fingerprint, tc), make_race)
neuron = st.slider(
    t("Neuron to watch (of the BatchNorm layer's 200)"),
    0,
    N_HIDDEN - 1,
    0,
    key="neuron",
    bind="query-params",
    help=t("Which hidden neuron the batch-vs-running charts below follow."),
)


def render(race):
    if race is None:
        st.info(t("Click **Train** to train both nets side by side."), icon=":material/play_arrow:")
        return
    training.progress(race)
    if race.trained and not race.done:
        st.caption(t("Trained: now evaluating both nets on the full train, dev and test splits…"))
    lossi = {t(label): job.lossi for label, job in race.jobs.items()}
    left, right = st.columns(2)
    left.vega_lite_chart(  # cached templates with fresh data: cheap on every tick
        dc.compare_loss_curves_spec(lossi, title=t("log10 minibatch loss (bucket means)")),
        width="stretch",
    )
    right.vega_lite_chart(
        dc.compare_loss_curves_spec(
            lossi,
            first=1000,
            references={f"ln {V}": math.log(V)},
            title=t("The first 1,000 steps"),
        ),
        width="stretch",
    )
    logs = {t(label): lectures.LECTURE_LOSS_LOG[LOG[label]] for label in race.jobs}
    jobs = {t(label): job for label, job in race.jobs.items()}
    losses.results_table(jobs, logs if state.on_lecture_data(ds) else {})
    st.subheader(t("Batch statistics against the running statistics"), anchor=False)
    series = race.trace.neuron(neuron)
    if not series["step"]:
        return
    left, right = st.columns(2)
    left.vega_lite_chart(bnc.batch_vs_running_spec(series, "mean"), width="stretch")
    right.vega_lite_chart(bnc.batch_vs_running_spec(series, "std"), width="stretch")


training.live("bn", render)
st.markdown(
    t(
        """
**Loss curves:** log10 of the minibatch loss of both nets at the same steps. Both start
near ln {V} (the Kaiming init already fixed the hockey stick). For this shallow net BatchNorm
barely changes the final loss (**table**, full splits once training is done, next to the
notebook's loss log after 200,000 steps): its value is that deep nets train at all.

**Batch against running statistics** (light blue against red, one neuron, 1,000
evenly spaced steps at most): the mean and std of the neuron's pre-activation over each
minibatch of 32 jump from batch to batch: every example's output depends on which other
examples happen to share its batch. This jitter acts as a regulariser. To use the net on a
single example, BatchNorm keeps **running** estimates,
`running = 0.999 · running + 0.001 · batch` (momentum 0.001 in this lecture), a slow
average that evaluation uses instead of batch statistics.
""",
        V=V,
    )
)

# ---------------------------------------------------------------------------------------
# running statistics vs calibration

st.header(t("Evaluate: running statistics or a calibration pass"), anchor=False)
st.markdown(
    t(
        """
After training, the notebook computes the mean and std of every neuron over the **whole
train split** in one pass (cell 9), the exact statistics the running estimates try to
track. Evaluating with either should give nearly the same loss.
"""
    )
)
s = training.slot("bn")
race = training.job("bn")
if race is None:
    st.caption(t("Train above first (a few thousand steps will do)."))
else:
    bn_job = race.jobs[WITH]
    key = (id(bn_job), bn_job.step)

    def calibrate():
        known = bn_job.final if bn_job.done else None
        s["calibration"] = (key, batchnorm.calibrate_batchnorm(bn_job.model, splits, known))

    st.button(
        t("Calibrate on the whole train split"),
        key="bn:calibrate",
        icon=":material/straighten:",
        on_click=calibrate,
        disabled=s["running"],
        help=t("One forward pass over every training example (a second or two)."),
    )
    if s["running"]:
        st.caption(t("Stop (or wait for) the training to calibrate."))
    cal_key, cal = s.get("calibration") or (None, None)
    if cal is not None:
        if cal_key != key:
            st.caption(t("From an earlier step of the run: calibrate again to update."))
        train, dev = t("train"), t("dev")  # the columns, as shown
        st.dataframe(
            pd.DataFrame(
                {
                    t("BatchNorm statistics"): [
                        t("running (kept during training)"),
                        t("calibrated"),
                    ],
                    train: [cal.running["train"], cal.calibrated["train"]],
                    dev: [cal.running["dev"], cal.calibrated["dev"]],
                }
            ),
            hide_index=True,
            column_config={c: st.column_config.NumberColumn(format="%.4f") for c in (train, dev)},
        )
        left, right = st.columns(2)
        left.altair_chart(bnc.calibration_scatter(cal, "mean"), width="stretch")
        right.altair_chart(bnc.calibration_scatter(cal, "std"), width="stretch")
        st.markdown(
            t(
                """
Each dot is one of the {n} neurons: its running estimate (x) against its value
over the whole train split (y). On the dashed diagonal they agree. Early in training the
running estimates lag behind (they forget with momentum 0.001, so over about 1,000 steps);
after a full run they sit on the diagonal and the two rows of the table agree to about
three decimals{lecture}.
""",
                n=N_HIDDEN,
                lecture=t(" (lecture: 2.0674 / 2.1057 with the running statistics)")
                if lecture
                else "",
            )
        )

# ---------------------------------------------------------------------------------------
# the widget

st.header(t("The BatchNorm widget"), anchor=False)
x0 = st.slider(
    t("x0: the first of five inputs"), -30.0, 30.0, 0.0, step=0.5, key="x0", bind="query-params",
    help=t(
        "The other four are randn(5) · 5 with the seed {seed} + 1, as in the notebook.",
        seed=lectures.LECTURE_SEED,
    ),
)  # fmt: skip
widget = batchnorm.batchnorm_widget(x0)
m = st.columns(2)
m[0].metric(t("batch mean μ"), f"{widget.mu:.2f}")
m[1].metric(t("batch std σ"), f"{widget.std:.2f}")
st.altair_chart(bnc.batchnorm_widget(widget), width="stretch")
st.markdown(
    t(
        """
A batch of five numbers: **blue dots** (top) are the inputs, **red dots** (bottom) the
same numbers normalised, (x − μ) / σ; a gray line joins each input to its output. The blue
curve is the Gaussian with the batch's μ and σ, the red curve the standard normal N(0, 1)
that BatchNorm maps it onto. Drag x0: whatever the inputs, the outputs keep mean 0 and std
1, and moving one input moves **every** output, because they share μ and σ.
"""
    )
)

# ---------------------------------------------------------------------------------------
# exercise E02

st.header(t("Exercise E02: fold BatchNorm into the Linear layer"), anchor=False)
st.markdown(
    t(
        r"""
At evaluation BatchNorm uses fixed running statistics, so it is just a per-neuron scale
and shift, which the Linear layer before it can absorb. With
$s = \gamma / \sigma_\text{running}$ (each column $j$ of $W$ scaled by $s_j$):
"""
    )
)
st.latex(r"W' = W \cdot s, \qquad b' = (b - \mu_\text{running}) \cdot s + \beta")
st.markdown(
    t(
        "Then erase the BatchNorm layer: one operation less at inference, the same outputs. "
        "(The BatchNorm net has no b1, so b = 0.)"
    )
)
if race is None:
    st.caption(t("Train above first: folding uses the running statistics training collects."))
else:
    bn_job = race.jobs[WITH]
    try:
        fold = batchnorm.fold_batchnorm(bn_job.model, splits.Xdev)
    except ConfigError as e:
        st.error(tr(e))
        st.stop()
    i, j = fold.folds[0]
    linear = fold.model.layers[i]
    bn = bn_job.model.layers[j]
    scale = batchnorm.batchnorm_scale(bn).tolist()
    m = st.columns(3)
    m[0].metric(
        t("max |Δ logits| on dev"),
        f"{fold.max_abs_diff:.2e}",
        help=t(
            "Over all {n:,} dev examples, eval mode: float32 rounding only.", n=len(splits.Xdev)
        ),
    )
    m[1].metric(t("parameters before"), f"{fold.n_params_before:,}")
    m[2].metric(t("parameters after"), f"{fold.n_params_after:,}")
    st.caption(
        t(
            "Folded the run at step {step:,}: W′ is {shape} and b′ has {n} entries; γ and β "
            "({gone} parameters) are gone.",
            step=bn_job.step,
            shape=tuple(linear.weight.shape),
            n=linear.bias.numel(),
            gone=2 * N_HIDDEN,
        )
    )
    left, right = st.columns(2)
    left.altair_chart(
        bnc.per_neuron_bars(scale, t("scale s = γ / running std per neuron"), "s"),
        width="stretch",
    )
    right.altair_chart(
        bnc.per_neuron_bars(linear.bias.tolist(), t("new bias b′ per neuron"), "b′"),
        width="stretch",
    )
    st.markdown(
        t("The first rows and columns of the new W′ (rows: the 30 inputs, columns: neurons):")
    )
    neurons = [t("neuron {c}", c=c) for c in range(10)]  # the columns, as shown
    st.dataframe(
        pd.DataFrame(linear.weight[:6, :10].tolist(), columns=neurons),
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in neurons},
    )
    st.markdown(
        t(
            """
The folded net has no BatchNorm layer, yet its logits on all dev examples differ from the
BatchNorm net's (in eval mode) by at most **{diff:.1e}**: the rounding of
float32. That is the check of the exercise: the eval-mode forward pass is unchanged.
""",
            diff=fold.max_abs_diff,
        )
    )
