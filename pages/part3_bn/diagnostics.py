"""Diagnostics: lecture 4 (makemore part 3), looking inside a deep net while it trains.

The "PyTorchified" deep MLP with adjustable depth, width, gain, BatchNorm, learning rate
and last-layer scale; the notebook's four views (cells 15-18) redrawn live from the last
training step; and exercise E01, all weights and biases initialised to zero.
"""

import math

import pandas as pd
import streamlit as st

from engine import lectures
from engine.models import TANH_GAIN, DeepConfig
from engine.part3_bn import live, zero_init
from engine.presets import PRESETS
from engine.train import Job, TrainConfig
from ui import charts, link_values, present, small_data, state, training
from ui.i18n import N_, t, tn
from ui.part3_bn import charts as dc

ss = st.session_state
ds = state.dataset()
splits = state.splits(ds.fingerprint, 3, 1, ds)
V = ds.vocab_size
LECTURE = PRESETS["part3-deep-bn"]

# scenario: (depth, width, gain, batchnorm, nonlinearity, lr, last_scale)
SCENARIOS = {
    N_("Lecture default: BatchNorm, gain 1"): (5, 100, 1.0, True, "tanh", 0.1, 0.1),
    N_("No BatchNorm, Kaiming gain 5/3"): (5, 100, TANH_GAIN, False, "tanh", 0.1, 0.1),
    N_("No BatchNorm, gain 0.5 (too small)"): (5, 100, 0.5, False, "tanh", 0.1, 0.1),
    N_("No BatchNorm, gain 3 (too big)"): (5, 100, 3.0, False, "tanh", 0.1, 0.1),
    N_("Fully linear (no tanh)"): (5, 100, 1.0, False, "linear", 0.1, 0.1),
    N_("Learning rate too low (0.001)"): (5, 100, TANH_GAIN, False, "tanh", 0.001, 0.1),
    N_("Learning rate too high (1.0)"): (5, 100, TANH_GAIN, False, "tanh", 1.0, 0.1),
}
KEYS = ("depth", "width", "gain", "bn", "act", "diag_lr", "last_scale")  # also the URL's names
DEFAULT = SCENARIOS["Lecture default: BatchNorm, gain 1"]
GAINS = [0.1, 0.25, 0.5, 0.75, 1.0, 1.25, TANH_GAIN, 2.0, 2.5, 3.0]
LRS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]


def fmt_gain(g):
    return "5/3" if g == TANH_GAIN else f"{g:g}"


def apply_scenario():
    name = ss.get("diag_scenario")
    if name is not None:
        for key, value in zip(KEYS, SCENARIOS[name], strict=True):
            ss[key] = value


st.title(t("Diagnostics: activations, gradients, updates"))
st.markdown(
    t(
        """
The second half of lecture 4 builds a deep MLP out of PyTorch-like layers:
embedding C ({V} × 10), then *depth* blocks of [Linear, BatchNorm, Tanh] of *width*
neurons, then the output Linear (and BatchNorm). Each Linear starts as randn / √fan_in times
the **gain**; the last layer is scaled down (**last-layer scale**) so the first predictions
are not confidently wrong. While it trains, four views show whether the net is healthy:
are activations neither vanishing nor saturated, do gradients reach every layer at a
similar scale, and is each update about 1/1000 of its parameter? The lecture's default
(five hidden layers of 100, BatchNorm, gain 1, 1,001 steps) reproduces the notebook's
saved plots and numbers on makemore's names.
""",
        V=V,
    )
)
if not small_data.notice(ds):
    st.stop()

# ---------------------------------------------------------------------------------------
# the net

# Every control is in the URL; the scenario menu shows whichever scenario they match.
settings = present.settings("diag")
scenario_slot = settings.empty()
c1, c2, c3, c4 = settings.columns(4)
depth = c1.slider(t("Hidden layers"), 1, 10, DEFAULT[0], key="depth", bind="query-params")
width = c2.select_slider(
    t("Width (neurons per layer)"), [10, 25, 50, 100, 200, 300, 400], DEFAULT[1], key="width",
    bind="query-params",
)  # fmt: skip
gain = c3.select_slider(
    t("Gain of the hidden weights"), GAINS, DEFAULT[2], key="gain", format_func=fmt_gain,
    bind="query-params",
    help=t("Every hidden Linear weight is randn / √fan_in × gain; 5/3 is Kaiming's for tanh."),
)  # fmt: skip
last = c4.select_slider(
    t("Last-layer scale"), [0.01, 0.1, 0.3, 1.0], DEFAULT[6], key="last_scale",
    bind="query-params",
    help=t("Multiplies the last BatchNorm's γ (or, without BatchNorm, the last weight)."),
)  # fmt: skip
c1, c2, c3, c4 = settings.columns(4)
batchnorm = c1.toggle("BatchNorm", DEFAULT[3], key="bn", bind="query-params")
nonlin = c2.radio(
    t("Nonlinearity"), ["tanh", "linear"], key="act", horizontal=True, bind="query-params",
    format_func={"tanh": "tanh", "linear": t("none (linear)")}.__getitem__,
)  # fmt: skip
lr = c3.select_slider(
    t("Learning rate"), LRS, DEFAULT[5], key="diag_lr", format_func=lambda v: f"{v:g}",
    bind="query-params",
)  # fmt: skip
steps = link_values.whole_number(c4, t("Steps"), 1, 10_000, 1_001, step=100, key="diag_steps",
    bind="query-params",
    help=t("The lecture stops after 1,001 steps (its loop breaks at i >= 1000)."),
)  # fmt: skip
chosen = (depth, width, gain, batchnorm, nonlin, lr, last)
ss["diag_scenario"] = next((n for n, v in SCENARIOS.items() if v == chosen), None)
scenario_slot.selectbox(
    t("Scenario"),
    list(SCENARIOS),
    format_func={n: t(n) for n in SCENARIOS}.__getitem__,
    key="diag_scenario",
    on_change=apply_scenario,
    index=None,
    placeholder=t("Your own settings"),
    help=t("Sets the controls below to one of the lecture's experiments."),
)
config = DeepConfig(n_hidden=width, n_layers=depth, batchnorm=batchnorm, gain=gain, last_scale=last, nonlinearity=nonlin)  # fmt: skip
tc = TrainConfig(steps=int(steps), lr=lr, lr_after=lr / 10, lr_decay_step=150_000, eval_every=0)
layers = ["Linear", *(["BatchNorm"] * batchnorm), "Tanh" if nonlin == "tanh" else t("nothing")]
lecture_run = config == LECTURE.model and tc == LECTURE.train and state.on_lecture_data(ds)
st.caption(
    t(
        "{depth} × [{layers}] of {width}, batch 32, learning rate {lr:g}, {steps}",
        depth=depth,
        layers=", ".join(layers),
        width=width,
        lr=lr,
        steps=tn("{n:,} step", "{n:,} steps", int(steps)),
    )
    + (t(" — exactly the lecture's run.") if lecture_run else ".")
)


def make_job():
    return live.LiveDiagnostics(Job(config, tc, splits, V, record_stats=True))


training.controls("diag", (ds.fingerprint, config, tc), make_job)


def render(run):
    if run is None:
        st.info(
            t(
                "Click **Train**: the four views appear after the first steps and follow the "
                "training live."
            ),
            icon=":material/play_arrow:",
        )
        return
    training.progress(run)
    if run.job.done and not run.done:
        st.caption(t("Trained: now evaluating the train, dev and test splits…"))
    d = run.diagnostics
    if d is None:
        return
    if not math.isfinite(run.lossi[-1]):
        st.error(
            t("The loss is no longer a number (it diverged): lower the learning rate or the gain.")
        )
    m = st.columns(3)
    m[0].metric(
        t("minibatch loss"), f"{10 ** run.lossi[-1]:.4f}", help=t("at step {step:,}", step=d.step)
    )
    if run.final:
        m[1].metric(
            t("train loss"),
            small_data.loss(run.final["train"]),
            help=t("the whole train split"),
        )
        m[2].metric(t("dev loss"), small_data.loss(run.final["dev"]), help=t("the whole dev split"))
        if lecture_run:
            train, dev = lectures.LECTURE_LOSS_LOG["part3-deep-bn"]
            st.caption(
                t(
                    "The lecture printed train {train:.4f}, dev {dev:.4f} (cell 19).",
                    train=train,
                    dev=dev,
                )
            )
    kind = d.activations[0].kind if d.activations else "Tanh"
    name = "Tanh" if kind == "Tanh" else t("linear")
    if kind != "Tanh":
        st.caption(
            t(
                "No tanh: the views show the outputs of the hidden Linear (or BatchNorm) layers, "
                "and *saturated* only counts |t| > 0.97; nothing saturates in a linear net."
            )
        )

    st.subheader(t("1 · Forward activations"), anchor=False)
    st.vega_lite_chart(  # cached templates with fresh data: cheap on every tick
        dc.histogram_lines_spec(
            {t("layer {layer} ({kind})", layer=a.layer, kind=kind): a.hist for a in d.activations},
            t("activation distribution"),
            t("{name} output", name=name),
        ),
        width="stretch",
    )
    st.code(
        "\n".join(
            f"layer {a.layer} ({a.kind:>10}): mean {a.mean:+.2f}, std {a.std:.2f}, "
            f"saturated: {a.saturated:.2f}%"
            for a in d.activations
        ),
        language=None,
    )
    st.subheader(t("2 · Gradients at those outputs"), anchor=False)
    st.vega_lite_chart(
        dc.histogram_lines_spec(
            {t("layer {layer} ({kind})", layer=g.layer, kind=kind): g.hist for g in d.gradients},
            t("gradient distribution"),
            t("gradient of the loss w.r.t. the {name} output", name=name),
        ),
        width="stretch",
    )
    st.code(
        "\n".join(
            f"layer {g.layer} ({g.kind:>10}): mean {g.mean:+f}, std {g.std:e}" for g in d.gradients
        ),
        language=None,
    )
    st.subheader(t("3 · Weight gradients and grad:data"), anchor=False)
    st.vega_lite_chart(
        dc.histogram_lines_spec(
            {f"{w.param} {w.shape}": w.hist for w in d.weights},
            t("weights gradient distribution"),
            t("gradient of a 2-D parameter"),
        ),
        width="stretch",
    )
    st.code(
        "\n".join(
            f"weight {w.shape!s:>10} | mean {w.mean:+f} | std {w.std:e} | "
            f"grad:data ratio {w.grad_data:e}"
            for w in d.weights
        ),
        language=None,
    )
    st.subheader(t("4 · Update:data ratio over time"), anchor=False)
    labels = {w.param: t("param {param} {shape}", param=w.param, shape=w.shape) for w in d.weights}
    st.vega_lite_chart(dc.update_ratio_lines_spec(d.updates, labels), width="stretch")


training.live("diag", render)

st.markdown(
    t(
        """
**How to read them** (all from the last training step, as in the notebook's cells 15–18):

1. **Activations:** the distribution (density, 100 bins) of each hidden layer's tanh
   output, one colour per layer, numbered as in the lecture (2, 5, 8, …). *Saturated* is the
   share of |t| > 0.97: tanh's flat tails, where gradients die. Healthy: similar curves in
   every layer, std around 0.6–0.7, a few % saturated. Without BatchNorm a small gain
   shrinks the activations layer by layer towards 0; a big gain piles them up at ±1.
2. **Gradients** arriving at the same outputs. Healthy: the same spread in every layer; if
   later layers' gradients are much larger or smaller than earlier ones', the net is
   shrinking or exploding its signal.
3. **Weight gradients** of every 2-D parameter (C and the Linear weights), with the
   **grad:data ratio** std(grad) / std(weight): how big a step would be relative to the
   weight. The last layer often stands out (≈10× the others in the lecture).
4. **Update:data ratio**, log10(std(lr · grad) / std(param)) after every step, one line per
   2-D parameter. The black line at **−3** marks updates of about 1/1000 of the parameter,
   the lecture's rule of thumb: far below it (−5) the learning rate is too low and nothing
   moves; far above it (−1) the updates are too big.

Try the scenarios: the **fully linear** net keeps its activations in range with gain 1,
but it is just one big linear map, however deep; **too low a learning rate** drops every
update line to about −4.5; **too high** a rate lifts them to −1.5 and the tanh layers
saturate.
"""
    )
)

# ---------------------------------------------------------------------------------------
# exercise E01

st.header(t("Exercise E01: initialise everything to zero"), anchor=False)
st.markdown(
    t(
        """
Set every weight and bias of the net above to zero (C too, unless you keep it random),
train, and see which parameters ever receive a gradient.
"""
    )
)
c1, c2, c3 = present.settings("diag_e01").columns(3)
zero_embedding = c1.toggle(t("Zero the embedding C too"), True, key="zero_c", bind="query-params")
zero_bn = c2.toggle(
    t("Zero BatchNorm's γ and β too"), False, key="zero_bn", bind="query-params",
    disabled=not batchnorm,
)  # fmt: skip
e01_steps = link_values.whole_number(
    c3,
    t("Steps"),
    1,
    2_000,
    300,
    step=100,
    key="zero_steps",
    bind="query-params",
)


def make_zero_run():
    return zero_init.ZeroInitRun(
        config, splits, V, int(e01_steps), zero_embedding, zero_bn and batchnorm
    )


training.controls(
    "e01", (ds.fingerprint, config, int(e01_steps), zero_embedding, zero_bn), make_zero_run
)


def render_zero(run):
    if run is None:
        st.info(t("Click **Train** to train the all-zero net."), icon=":material/play_arrow:")
        return
    training.progress(run)
    if not run.done:
        return
    report = run.report()
    refs = {t("unigram loss"): report.unigram_loss, f"ln {V}": math.log(V)}
    st.vega_lite_chart(charts.loss_curve_spec(report.lossi, references=refs), width="stretch")
    m = st.columns(3)
    m[0].metric(t("train loss after training"), f"{report.train_loss:.4f}")
    m[1].metric(t("unigram loss"), f"{report.unigram_loss:.4f}")
    m[2].metric(
        t("parameters that learn"),
        t("{n} of {total}", n=len(report.learning), total=len(report.params)),
    )
    if report.diverged:
        st.error(t("The loss is nan: BatchNorm divided 0 by 0 (all its inputs are equal)."))
    elif report.learning:
        st.markdown(
            t(
                "Gets a gradient: {names}",
                names=", ".join(f"**{name}**" for name in report.learning),
            )
        )
    st.caption(t("Parameters that learn first, then all the others in order."))
    grad, moved = t("max |grad|"), t("moved (max |Δ|)")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    t("param"): p.param,
                    t("layer"): p.layer,
                    t("name"): p.name,
                    t("shape"): str(p.shape),
                    t("gets gradient"): p.learns,
                    grad: p.max_abs_grad,
                    moved: p.moved,
                }
                for p in sorted(report.params, key=lambda p: not p.learns)
            ]
        ),
        hide_index=True,
        column_config={
            grad: st.column_config.NumberColumn(format="%.2e"),
            moved: st.column_config.NumberColumn(format="%.2e"),
        },
    )


training.live("e01", render_zero)
st.markdown(
    t(
        """
**Why only the output bias learns.** With every weight zero, every Linear outputs just its
bias, which is zero, so every hidden activation is tanh(0) = 0 (and BatchNorm has nothing
to normalise). A weight's gradient is the layer's input transposed times the gradient
coming back, `x.T @ dout`, and that input is 0 for every layer after the first, and the
looked-up rows of C, which are 0 as well. The gradient flowing back through a Linear is
`dout @ W.T`, and W is 0, so nothing reaches the layers below either. The only parameter
that sees the loss directly is the last bias (the last BatchNorm's β): it learns the
frequency of each next character, so the net ends as a **unigram model** whose loss
approaches the unigram line from above and never beats it. Keeping C random (or
BatchNorm's γ at 1) does not help: the gradient that would reach the first Linear must pass
back through the zero weights above it. Random init is what breaks this symmetry.
"""
    )
)
