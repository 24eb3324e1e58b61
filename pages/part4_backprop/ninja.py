"""Lesson 4: backprop ninja. The part-4 network's backward pass by hand, checked against autograd."""

import inspect

import pandas as pd
import streamlit as st

from engine.lectures import LECTURE_SEED, PART4_EX4_ACHIEVED, PART4_EX4_LOSS
from engine.part4_backprop.check import check
from engine.part4_backprop.job import EX4_NET, EX4_TRAIN, ManualJob
from engine.part4_backprop.manual import MISTAKES, TANH_ROUNDS_ONCE, manual_backward
from engine.part4_backprop.net import NinjaConfig, forward, lecture_batch
from engine.train import TrainConfig, eval_interval
from ui import charts, link_values, losses, present, schedule, small_data, state, training
from ui import part2_mlp as mlp
from ui import part4_backprop as draw
from ui.i18n import N_, t, tr

ds = state.dataset()
splits = state.splits(ds.fingerprint, 3, 1, ds)

st.title(t("Backprop ninja: the backward pass by hand"), anchor=False)
st.markdown(
    t(
        """
Lecture 5 (makemore part 4) takes lecture 4's network (embedding C, Linear, **BatchNorm**,
tanh, Linear, cross-entropy) and throws `loss.backward()` away. The forward pass is cut into
small steps so every intermediate tensor has a name, and the gradient of the loss with
respect to each of them is written out by hand, from the loss back to the embedding table.
Each result is held against the gradient autograd computed, with the notebook's `cmp`.

The check network: context 3, 10-D embeddings, 64 hidden neurons, one batch of 32 examples
from {name} (V = {V}). Its biases and BatchNorm gains start
deliberately non-zero, so a wrong formula cannot hide behind a zero. One difference from the
notebook: bngain and bnbias come from a generator of their own (seed + 1) rather than
torch's unseeded global one, so the same seed always gives the same numbers.
""",
        name=state.md_escape(state.title(ds)),
        V=ds.vocab_size,
    )
)
if not small_data.notice(ds):
    st.stop()
with st.expander(t("The forward pass, chunked into named steps")):
    st.code(inspect.getsource(forward), language="python")

# ---------------------------------------------------------------------------------------
st.header(t("Exercise 1 · every intermediate tensor"), anchor=False)
c1, c2 = st.columns([1, 2])
seed = c1.number_input(
    t("seed"),
    0,
    2**53 - 1,
    LECTURE_SEED,
    key="ninja_seed",
    bind="query-params",
    help=t(
        "Seeds the weights and the minibatch (in the notebook's order). Change it for "
        "another network and batch: the table should stay exact."
    ),
)
mistake = c2.selectbox(
    t("Break one formula on purpose"),
    [None, *MISTAKES],
    format_func={  # made now, in this session's language (a test formats outside the run)
        None: t("none: the correct backward pass"),
        **{k: f"d{m.tensor}: {tr(m.title)}" for k, m in MISTAKES.items()},
    }.get,
    key="ninja_mistake",
    bind="query-params",
    help=t("Swap in a plausible wrong line and watch the table catch it."),
)
params, Xb, Yb = lecture_batch(splits, ds.vocab_size, seed)
report = check(params, Xb, Yb, mistake)

m1, m2, m3 = st.columns(3)
m1.metric(t("loss of the chunked forward pass"), f"{report.loss:.4f}")
m2.metric(
    t("|F.cross_entropy − chunked|"),
    f"{report.cross_entropy_diff:.2e}",
    help=t("The two compute the same number in a different order; float32 rounding differs."),
)
exact = sum(r.exact for r in report.rows)
m3.metric(t("exact gradients"), f"{exact} / {len(report.rows)}")

bad = [r for r in report.rows if not r.exact]
if not bad:
    st.success(
        t(
            "All 26 gradients are **exact**: bit for bit the numbers autograd computed, in the "
            "order the notebook checks them (from the loss back to C)."
        )
    )
else:
    first = bad[0]
    if mistake is not None:
        m = MISTAKES[mistake]
        st.error(
            t(
                "cmp catches it: the first gradient that is not exact is **d{name}** "
                "(approximately right: {approximate}, maxdiff {maxdiff:.3g}). {n} of 26 "
                "gradients differ, because everything computed from a wrong gradient is wrong "
                "too.",
                name=first.name,
                approximate=t("yes") if first.approximate else t("no"),
                maxdiff=first.maxdiff,
                n=len(bad),
            )
            + f"\n\n{tr(m.why)}"
        )
        st.code(m.wrong, language="python")
    else:
        st.warning(
            t(
                "{n} gradients are not bit-exact on this machine (first: d{name}); see the "
                "approximate column.",
                n=len(bad),
                name=first.name,
            )
        )
st.dataframe(
    draw.cmp_table(report.rows),
    hide_index=True,
    column_config={
        t("exact"): st.column_config.CheckboxColumn(
            help=t("torch.all(dt == t.grad): every bit equal")
        ),
        t("approximate"): st.column_config.CheckboxColumn(
            help=t("torch.allclose(dt, t.grad): within rtol 1e-5, atol 1e-8")
        ),
        "maxdiff": st.column_config.Column(
            help=t("(dt − t.grad).abs().max(): the largest difference")
        ),
        t("your shape"): st.column_config.TextColumn(
            help=t("Filled in only when the hand-written gradient has the wrong shape.")
        ),
    },
    height=35 * 27 + 3,
)
rounding = (
    t(
        "One subtlety: on this machine torch's tanh backward rounds 1 − h² once (a fused "
        "multiply-add), so the exact formula computes it in float64 and rounds once; the "
        "plain float32 formula is only approximately right (pick it in the list above)."
    )
    if TANH_ROUNDS_ONCE
    else t(
        "One subtlety: on this machine torch's tanh backward rounds 1 − h² twice, like the "
        "plain float32 formula; rounding it once is only approximately right (pick it in the "
        "list above)."
    )
)
st.caption(
    t(
        "One row per tensor, in the notebook's order; white rows are exact, yellow rows only "
        "approximately right, red rows wrong. **exact**: the hand-written gradient equals "
        "autograd's bit for bit. **approximate**: equal up to float32 rounding "
        "(torch.allclose). **maxdiff**: the largest absolute difference. The shapes must match "
        "too, which the notebook's cmp does not check."
    )
    + " "
    + rounding
)
with st.expander(t("The hand-written backward pass (engine/part4_backprop/manual.py)")):
    st.code(inspect.getsource(manual_backward), language="python")

# ---------------------------------------------------------------------------------------
st.header(t("Exercise 2 · cross-entropy backward in one expression"), anchor=False)
st.code(
    "dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n",
    language="python",
)
ce = report.cross_entropy
c1, c2 = st.columns(2)
c1.metric(t("maxdiff against autograd"), f"{ce.maxdiff:.2e}")
c2.metric(t("approximate"), t("yes") if ce.approximate else t("no"), help="torch.allclose")
n = len(report.Yb)
row0, label0 = report.probs[0], int(report.Yb[0])
st.markdown(
    t(
        """
The gradient on a logit is its probability, minus 1 on the correct character, divided by
n = {n}: the loss pulls the correct logit up and pushes every other one down, each in
proportion to how much probability it took. Example 0's label is
'{label}': p = {p:.4f}, so n·dlogits there is
{p_minus_1:.4f}. Every row of dlogits sums to zero
(row 0: {row_sum:.2e}).
""",
        n=n,
        label=state.md_escape(ds.itos[label0]),
        p=row0[label0],
        p_minus_1=row0[label0] - 1,
        row_sum=float(report.dlogits[0].sum()),
    )
)
c1, c2 = st.columns([3, 2])
c1.altair_chart(
    draw.dlogits_heatmap(report.dlogits.tolist(), ds.itos, report.Yb.tolist()),
    key="ninja_dlogits",
)
c2.caption(
    t(
        "The notebook's `imshow(dlogits, cmap='gray')`: one row per example of the batch, one "
        "column per character. Black is the most negative value: the correct character of each "
        "row, (p − 1)/n. Everything else is a small positive p/n, light gray; a lighter cell is "
        "a character the net wrongly finds likely. Hover over a cell for its value."
    )
)

# ---------------------------------------------------------------------------------------
st.header(t("Exercise 3 · BatchNorm backward in one expression"), anchor=False)
st.code(
    "dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0)\n"
    "                                - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))",
    language="python",
)
bn = report.batchnorm
c1, c2, c3 = st.columns(3)
c1.metric(t("maxdiff against autograd"), f"{bn.maxdiff:.2e}")
c2.metric(t("approximate"), t("yes") if bn.approximate else t("no"), help="torch.allclose")
c3.metric(
    t("forward: one line vs chunked"),
    f"{report.batchnorm_forward_diff:.2e}",
    help="max |bngain·(x − mean)/√(var + eps) + bnbias − hpreact|",
)
st.markdown(
    t(
        "Worked out on paper: the mean and the variance depend on every example of the batch, "
        "so each example's gradient also collects a share from all the others. The n/(n − 1) "
        "comes from Bessel's correction in the forward pass."
    )
)

# ---------------------------------------------------------------------------------------
st.header(t("Exercise 4 · train with the manual backward only"), anchor=False)
st.markdown(
    t(
        """
The lecture's training loop with `loss.backward()` replaced by the hand-written gradients
(using the one-expression backwards of exercises 2 and 3): 200 hidden neurons, 200,000 steps
of 32 examples, learning rate 0.1, then 0.01 from step 100,000. This network keeps no
running statistics, so after training BatchNorm is **calibrated**: its mean and variance are
measured once over the whole training set, and the losses below use them.
"""
    )
)
c1, c2, c3, c4 = present.settings("ninja_train").columns(4)
steps = link_values.whole_number(
    c1,
    t("steps"),
    1,
    400_000,
    EX4_TRAIN.steps,
    step=10_000,
    key="ninja_steps",
    bind="query-params",
    persist_state="session",
)
n_hidden = link_values.whole_number(
    c2,
    "n_hidden",
    2,
    1024,
    EX4_NET.n_hidden,
    key="ninja_hidden",
    bind="query-params",
    persist_state="session",
)
lr = c3.number_input(
    t("learning rate (÷10 halfway)"),
    1e-4,
    10.0,
    EX4_TRAIN.lr,
    format="%.4f",
    key="ninja_lr",
    bind="query-params",
    persist_state="session",
)
train_seed = c4.number_input(
    t("seed"),
    0,
    2**53 - 1,
    EX4_TRAIN.seed,
    key="ninja_train_seed",
    bind="query-params",
    persist_state="session",
)
train_cfg = TrainConfig(
    steps=steps,
    lr=lr,
    lr_after=lr / 10,
    lr_decay_step=steps // 2,
    seed=train_seed,
    eval_every=eval_interval(steps),
)
net = NinjaConfig(n_hidden=n_hidden)
training.controls(
    "ninja",
    (ds.fingerprint, net, train_cfg),
    lambda: ManualJob(splits, ds.vocab_size, net, train_cfg),
)
LECTURE = PART4_EX4_LOSS


def render(job):
    if job is None:
        st.info(
            t(
                "Press **Train**. The full run takes two to three minutes; the page stays "
                "usable while it trains, and you can stop and resume."
            )
        )
        return
    training.progress(job)
    losses.loss_metrics(
        job,
        st.columns(3),
        t(
            "Every 5% of the run: on 20,000 train examples, BatchNorm calibrated on them. "
            "At the end: the whole split, calibrated on the whole training set."
        ),
    )
    refs, note = mlp.references_for(
        ds, {t("lecture: dev {loss:.4f}", loss=LECTURE["dev"]): LECTURE["dev"]}
    )
    st.vega_lite_chart(  # a cached template with fresh data: cheap on every tick
        charts.loss_curve_spec(job.lossi, job.evals, refs, lecture_bucket=1000, height=340),
        width="stretch",
        key="ninja_curve",
    )
    st.caption(
        t(
            "log10 of the minibatch loss. Blue: the mean of each whole block of 1,000 steps, as "
            "lecture 6 plots it (the first point needs 1,000 steps); gray: finer averages of "
            "the same losses. Orange and red points: train and dev loss, evaluated every 5% of "
            "the run and at the end."
        )
        + f" {note} {schedule.decay_note(job.train_config)}"
    )


training.live("ninja", render)
if state.on_lecture_data(ds):
    HEADERS = losses.headers({"run": N_("run"), "train": N_("train"), "dev": N_("dev")})
    st.dataframe(
        pd.DataFrame(
            [
                {"run": t("lecture (notebook output)"), **LECTURE},
                {"run": t("lecture ('I achieved', comment)"), **PART4_EX4_ACHIEVED},
            ]
        ).rename(columns=HEADERS),
        hide_index=True,
        column_config={HEADERS["train"]: st.column_config.NumberColumn(format="%.4f"),
                       HEADERS["dev"]: st.column_config.NumberColumn(format="%.4f")},
    )  # fmt: skip
    st.caption(
        t(
            "The lecture's results for comparison. They cannot be matched to the digit: the "
            "notebook drew bngain and bnbias from an unseeded generator. This page's default "
            "run ends at about train 2.07, dev 2.11."
        )
    )
job = training.job("ninja")


def check_now():
    st.session_state["ninja_checked"] = (job, job.step, tuple(job.check_gradients()))


if job is not None:
    st.button(t("Check the 7 parameter gradients against autograd now"), on_click=check_now)
    checked = st.session_state.get("ninja_checked")
    if checked is not None and checked[0] is job:
        st.dataframe(draw.cmp_table(checked[2]), hide_index=True)
        st.caption(
            t(
                "The notebook's commented-out check loop, with the weights after step {step:,} "
                "and a fresh batch: the one-expression backwards are approximately right "
                "(maxdiff around 1e-8), not bit for bit.",
                step=checked[1],
            )
        )
