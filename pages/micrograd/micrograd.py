"""Lesson 0: micrograd. Computation graphs stepped through backward, a tiny MLP trained live."""

import math

import pandas as pd
import streamlit as st

from engine.micrograd import expression as ex
from engine.micrograd.examples import EXAMPLES, example_softmax_nll
from engine.micrograd.exercise import (
    EXERCISE_POINT,
    exercise_analytic,
    exercise_f,
    numerical_gradient,
)
from engine.micrograd.job import MicroJob, MicroTrainConfig
from engine.micrograd.nn import XS, YS
from engine.micrograd.torch_check import softmax_nll_torch, torch_check
from engine.micrograd.trace import trace_backward
from engine.micrograd.value import topological_order
from ui import link_values, present, state, training
from ui import micrograd as draw
from ui.i18n import N_, t, tr

state.init()  # this page needs no dataset, but a first visit by deep link needs the router
ss = st.session_state
OWN = "own"

st.title(t("micrograd: backpropagation, one number at a time"), anchor=False)
st.markdown(
    t(
        """
Lecture 1 builds **micrograd**, an autograd engine for single numbers. A `Value` keeps its
number (**data**) and remembers which Values and which operation made it. After the last
Value is computed, `backward()` visits the graph from the end to the start and fills in each
Value's **grad**: how much the final output changes when that Value is nudged, d out / d value.
Every operation knows only its *local* derivative; the chain rule multiplies it by the
gradient arriving from above, and a Value used in several places **adds up** (`+=`) what
each path sends it.
"""
    )
)

# ---------------------------------------------------------------------------------------
st.header(t("A graph, stepped through backward"), anchor=False)

choices = [*EXAMPLES, OWN]
example = st.selectbox(
    t("Graph"),
    choices,
    format_func=(
        {k: tr(e.title) for k, e in EXAMPLES.items()} | {OWN: t("your own expression")}
    ).get,
    key="mg_example",
    bind="query-params",
    persist_state="session",
)
bug = st.toggle(
    t("The lecture's bug: `=` instead of `+=` in backward"),
    key="mg_bug",
    bind="query-params",
    persist_state="session",
    help=t(
        "The first version assigned each gradient instead of adding it, so a Value used "
        "twice kept only the last path's gradient. Compare a.grad with torch's below."
    ),
)


def own_expression():
    """The expression box and one number box per variable; (expression, values) or None."""
    text = st.text_input(
        t("Expression"),
        value="tanh(a*b + c) - a**2/b",
        key="mg_text",
        bind="query-params",
        persist_state="session",
        max_chars=ex.MAX_LENGTH,
        help=t(
            "Numbers, variable names, + - * / ** (with a number as exponent), unary minus, "
            "tanh(), exp() and log(). Python syntax: write 2*a, not 2a."
        ),
    )
    try:
        expr = ex.parse(text)
    except ex.ExpressionError as e:
        st.error(tr(e))
        return None
    defaults = {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}
    cols = st.columns(max(4, len(expr.names)))
    env = {
        name: cols[i].number_input(
            name,
            value=defaults.get(name, 1.0),
            step=0.5,
            format="%.4f",
            key=f"mg_var_{name}",
            bind="query-params",
        )
        for i, name in enumerate(expr.names)
    }
    return expr, env


if example == OWN:
    parsed = own_expression()
    if parsed is None:
        st.stop()
    expr, env = parsed
    try:
        root = ex.build_graph(expr, env)
        reference = ex.reference_gradients(expr, env)
    except ex.ExpressionError as e:
        st.error(tr(e))
        st.stop()
    about = t("Your expression: `{text}`.", text=expr.text)
else:
    chosen = EXAMPLES[example]
    root, expr, env = chosen.build(), ex.parse(chosen.text), chosen.env
    reference = ex.reference_gradients(expr, env)
    about = tr(chosen.about)

trace = trace_backward(root, accumulate=not bug)
last = len(trace.steps) - 1
step_key = f"mg_step:{example}:{expr.text}:{bug}"
ss.setdefault(step_key, last)


def move(delta):
    ss[step_key] = min(max(ss[step_key] + delta, 0), last)


st.caption(about)
c1, c2, c3 = st.columns([1, 1, 6], vertical_alignment="bottom")
c1.button(t("◀ back"), on_click=move, args=(-1,), width="stretch", key="mg_back")
c2.button(t("step ▶"), on_click=move, args=(1,), width="stretch", key="mg_next")
step = c3.slider(
    t("backward step"),
    0,
    last,
    key=step_key,
    help=t(
        "0: before backward, every grad 0. Each step, one Value passes its gradient on "
        "to its inputs. The last step is the finished backward pass."
    ),
)
st.graphviz_chart(draw.graph_dot(trace, step))
st.caption(
    t(
        "Each box is a Value: its name (an unnamed intermediate gets t1, t2, …; a constant "
        "shows its number), its **data** and its **grad** so far. Round nodes are operations; "
        "arrows run forward, from inputs to result. **Orange**: the Value passing its gradient "
        "on in this step (orange arrows: to which inputs). **Blue**: the inputs whose grad just "
        "changed. White: not touched in this step."
    )
)
st.code(tr(trace.steps[step].text), language=None)

leaves = {n.name: i for i, n in enumerate(trace.nodes) if n.leaf and n.name in env}
final = trace.steps[-1].grads
rows = []
for name in expr.names:
    torch_grad, slope = reference.grads[name]
    ours = final[leaves[name]]
    rows.append(
        {
            "variable": name,
            "data": env[name],
            "micrograd grad": ours,
            "torch grad (float64)": torch_grad,
            "numerical slope": slope,
            "micrograd = torch": math.isclose(ours, torch_grad, rel_tol=1e-9, abs_tol=1e-12),
        }
    )
st.markdown(
    t(
        "**Checked against torch.** The output is {ours:.6f} in micrograd "
        "and {torch:.6f} in torch. The gradients on the variables after the whole "
        "backward pass:",
        ours=trace.nodes[trace.root].data,
        torch=reference.value,
    )
)
digits = {"format": "%.8f"}
st.dataframe(
    pd.DataFrame(rows),
    hide_index=True,
    column_config={
        "variable": t("variable"),
        "data": st.column_config.NumberColumn("data", format="%.4f"),
        "micrograd grad": st.column_config.NumberColumn(t("micrograd grad"), **digits),
        "torch grad (float64)": st.column_config.NumberColumn(t("torch grad (float64)"), **digits),
        "numerical slope": st.column_config.NumberColumn(t("numerical slope"), **digits),
        "micrograd = torch": "micrograd = torch",
    },
)
st.caption(
    t(
        "torch grad: the same function written in torch, float64, `.backward()`. Numerical "
        "slope: (f(x + h) − f(x − h)) / 2h with h = {h:g}, the lecture's way of "
        "checking a derivative without any calculus.",
        h=ex.NUMERICAL_H,
    )
)
if bug and not all(r["micrograd = torch"] for r in rows):
    st.warning(
        t(
            "With the bug, some gradients disagree with torch: a Value used more than once kept "
            "only the gradient of the last path that reached it."
        )
    )

# ---------------------------------------------------------------------------------------
st.header(t("A tiny neural net, trained live"), anchor=False)
st.markdown(
    t(
        """
The lecture's `MLP(3, [4, 4, 1])`: 3 inputs, two layers of 4 tanh neurons and one tanh
output, 41 parameters, every weight and bias drawn uniformly from [−1, 1]. Four examples
should map to the targets 1, −1, −1, 1. The loss is the **sum** of squared errors. Each step:
forward pass, zero the grads, `loss.backward()`, then nudge every parameter by
−learning rate × grad. The lecture ran 20 steps with learning rate 0.1.
"""
    )
)
TRAIN = MicroTrainConfig()  # the lecture's 20 steps of 0.1
c1, c2, c3 = present.settings("mg_train").columns(3)
SESSION = {"bind": "query-params", "persist_state": "session"}  # every setting: in links, kept
steps = link_values.whole_number(c1, t("steps"), 1, 2000, TRAIN.steps, key="mg_steps", **SESSION)
lr = c2.select_slider(t("learning rate"), [0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0],
    value=TRAIN.lr, key="mg_lr", **SESSION)  # fmt: skip
seed = c3.number_input(t("seed"), 0, 2**31 - 1, TRAIN.seed, key="mg_seed", **SESSION, help=t(
    "The lecture's weights came from Python's unseeded random module; here "
    "random.Random(seed) draws them, so a seed gives the same net every time."))  # fmt: skip
c1, c2 = st.columns(2)
slow = c1.toggle(t("slow motion: one step per tick"), value=True, key="mg_slow",
    bind="query-params",
    help=t("About three steps a second, to watch it happen. Off: as fast as it goes."))  # fmt: skip
forget = c2.toggle(t("forget to zero the grads (the lecture's other bug)"),
    value=not TRAIN.zero_grad, key="mg_forget", **SESSION,
    help=t("Without p.grad = 0 before backward, every step adds to the old gradients."))  # fmt: skip
config = MicroTrainConfig(steps=steps, lr=lr, seed=seed, zero_grad=not forget)
training.controls("micrograd", config, lambda: MicroJob(config), inline=True)
job = training.job("micrograd")
if job is not None:
    job.pace = 1 if slow else None


def render(job):
    if job is None:
        st.info(t("Press **Train** to run gradient descent on the four examples."))
        return
    training.progress(job)
    check = torch_check(job.model)
    m1, m2, m3 = st.columns(3)
    m1.metric(
        t("loss"), f"{job.losses[-1]:.6f}", help=t("Sum of squared errors after the last step.")
    )
    m2.metric(
        t("torch's loss, same weights"),
        f"{check.torch_loss:.6f}",
        help=t("The same net rebuilt in torch (float64) with micrograd's weights."),
    )
    m3.metric(
        t("largest gradient difference"),
        f"{check.max_grad_diff:.1e}",
        help=t("max |micrograd grad − torch grad| over all {n} parameters.", n=check.n_params),
    )
    c1, c2 = st.columns(2)
    c1.vega_lite_chart(draw.micro_loss_chart(job.losses), width="stretch", key="mg_loss")
    c2.vega_lite_chart(draw.micro_predictions_chart(job.preds, YS), width="stretch", key="mg_preds")
    st.caption(
        t(
            "Left: the loss after each step (step 0: the untrained net), on a log scale. Right: "
            "one panel per example, its prediction after each step (solid, one colour per "
            "example) moving towards its target (dashed). tanh keeps predictions inside "
            "(−1, 1), so they approach ±1 without reaching it."
        )
    )
    st.dataframe(
        pd.DataFrame(
            {
                "inputs": [str(list(x)) for x in XS],
                "target": YS,
                "prediction": job.preds[-1],
            }
        ),
        hide_index=True,
        column_config={
            "inputs": t("inputs"),
            "target": st.column_config.NumberColumn(t("target")),
            "prediction": st.column_config.NumberColumn(t("prediction"), format="%.6f"),
        },
    )


training.live("micrograd", render)

# ---------------------------------------------------------------------------------------
st.header(t("Exercises"), anchor=False)
st.markdown(
    t(
        """
**1 · A derivative three ways.** f(a, b, c) = −a³ + sin(3b) − 1/c + b^2.5 − a^0.5 at
(a, b, c) = (2, 3, 4): by hand (calculus), by the forward difference (f(x + h) − f(x)) / h
and by the symmetric difference (f(x + h) − f(x − h)) / 2h.
"""
    )
)
exponent = st.select_slider(
    t("step h"),
    list(range(-1, -13, -1)),
    value=-6,
    format_func=lambda k: f"1e{k}",
    key="mg_h",
    bind="query-params",
)
h = 10.0**exponent
point = EXERCISE_POINT
exact = exercise_analytic(*point)
forward = numerical_gradient(exercise_f, point, h, symmetric=False)
symmetric = numerical_gradient(exercise_f, point, h, symmetric=True)
METHODS = {"forward": N_("forward difference"), "symmetric": N_("symmetric difference")}
by_hand, *differences = (t("by hand"), *map(t, METHODS.values()))
st.dataframe(
    pd.DataFrame(
        {
            t("partial"): ["df/da", "df/db", "df/dc"],
            by_hand: exact,
            differences[0]: forward,
            differences[1]: symmetric,
        }
    ),
    hide_index=True,
    column_config={
        k: st.column_config.NumberColumn(format="%.10f") for k in (by_hand, *differences)
    },
)
errors = [
    {
        "h": 10.0**k,
        "method": t(METHODS[method]),
        "error": max(
            abs(est - ex)
            for est, ex in zip(
                numerical_gradient(exercise_f, point, 10.0**k, sym), exact, strict=True
            )
        ),
    }
    for k in range(-1, -13, -1)
    for method, sym in (("forward", False), ("symmetric", True))
]
st.altair_chart(draw.derivative_error_chart(errors, chosen=h), width="stretch", key="mg_errors")
st.caption(
    t(
        "How far the estimates are from the exact derivatives as h shrinks (to the right; both "
        "axes logarithmic): the largest error of the three partials, for each method. The gray "
        "rule marks the h chosen above. The error first falls, like h for the forward "
        "difference and like h² for the symmetric one, then rises again once f(x + h) − f(x) "
        "loses its digits to floating-point rounding."
    )
)

st.markdown(
    t(
        """
**2 · Softmax and the negative log-likelihood in micrograd.** The missing operations (exp,
log, `**`, /, −, and the reversed `+`/`*` that `sum()` needs) make softmax possible; the
loss of logits [0, 3, −2, 1] with target 3, against torch in double precision. Its graph
is one of the examples at the top of the page.
"""
    )
)
loss = example_softmax_nll()
loss.backward()
logits = sorted(
    (v for v in topological_order(loss) if v.label.startswith("logit")), key=lambda v: v.label
)
torch_loss, torch_grads = softmax_nll_torch()
st.dataframe(
    pd.DataFrame(
        {
            "": [t("loss"), *(v.label for v in logits)],
            "micrograd": [loss.data, *(v.grad for v in logits)],
            "torch (float64)": [torch_loss, *torch_grads],
        }
    ),
    hide_index=True,
    column_config={
        k: st.column_config.NumberColumn(format="%.15f") for k in ("micrograd", "torch (float64)")
    },
)
