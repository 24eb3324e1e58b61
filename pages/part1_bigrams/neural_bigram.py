"""Lesson 1 · The bigram as a one-layer neural network, trained live by gradient descent."""

import altair as alt
import pandas as pd
import streamlit as st
import torch

from engine.lectures import SMOOTHING_K
from engine.part1_bigrams import neural, ngram
from ui import i18n, link_values, present, state, training
from ui.i18n import N_, t, tn
from ui.part1_bigrams import charts
from ui.part1_bigrams import neural as neural_charts
from ui.part1_bigrams import state as bs

st.title(t("Neural bigram"))
st.markdown(
    t(
        r"""
The same model, learned instead of counted. A weight matrix `W` of shape (V, V) starts random
(`torch.randn`, the lecture's seed). For a first character `x`, the row `W[x]` holds V
**logits**, read as log-counts; `exp` makes them positive "counts" and dividing by their sum
turns them into probabilities (together: the **softmax**). The loss is the mean negative
log-probability of the true next characters, over all the bigrams at once (full batch), plus a
small penalty on the size of the weights:

$$\text{loss} = -\frac{1}{N}\sum \log \operatorname{softmax}(W[x_i])_{y_i} \;+\; \lambda\cdot\operatorname{mean}(W^2)$$

Each step computes the gradient of the loss and moves `W` a little against it:
`W.data += -lr * W.grad`. The counts are the best possible table for these words, so the NLL
part of the loss can only approach the count model's NLL, never beat it.
"""
    )
)

ds = state.dataset()
fp, V, itos = ds.fingerprint, ds.vocab_size, ds.itos
settings = present.settings("nb")
LECTURE = neural.NeuralBigramConfig()  # lr 50, λ 0.01
c1, c2, c3, c4 = settings.columns(4)
lr = c1.number_input(
    t("Learning rate"), 0.1, 200.0, LECTURE.lr, 5.0, key="nb_lr", bind="query-params",
    help=t("The lecture uses 50: the full-batch gradient of this convex loss is small and smooth."),
)  # fmt: skip
steps = link_values.whole_number(c2, t("Steps"), 10, 3000, 500, 50, key="nb_steps",
    bind="query-params",
    help=t("Gradient descent steps over all the bigrams (the lecture ran about 100)."),
)  # fmt: skip
reg = c3.select_slider(
    t("Regularisation λ"),
    (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
    value=LECTURE.reg,
    key="nb_reg",
    bind="query-params",
    help=t("The weight of λ·mean(W²) in the loss; the lecture uses 0.01."),
)
METHODS = {
    "counts": N_("grouping equal bigrams (fast)"),
    "index": "W[xs] + F.cross_entropy",
    "onehot": N_("one_hot(xs) @ W, as the lecture"),
}
method = c4.selectbox(
    t("Compute the loss by"),
    neural.METHODS[::-1],
    format_func={m: t(label) for m, label in METHODS.items()}.get,
    key="nb_method",
    bind="query-params",
    help=t(
        "Three ways to compute the very same loss and gradient. The lecture's one-hot "
        "matmul touches all 228,146 examples (~90 ms a step on names); grouping the examples "
        "by bigram needs only the V×V counts (~0.1 ms). The curves are identical."
    ),
)

k = settings.select_slider(
    t("Compare with the count table smoothed by k"),
    bs.KS,
    value=SMOOTHING_K,
    format_func=bs.format_k,
    key="nb_k",
    bind="query-params",
    help=t("Only for the comparison below; it does not change the training."),
)
P_counts = bs.probabilities(fp, 2, k, ds)
floor = bs.nlls(fp, 2, 0.0, ds)["all"]
at_k = bs.nlls(fp, 2, k, ds)["all"]

KEY = "neural_bigram"
SIDE = 400  # pixels per side of the two heatmaps next to each other
config = neural.NeuralBigramConfig(lr=float(lr), reg=float(reg), method=method)
training.controls(
    KEY,
    (fp, config, int(steps)),
    lambda: neural.NeuralBigramJob(ds, int(steps), config),
)


def closest_k(P: torch.Tensor) -> float:
    """The grid k whose smoothed count table is nearest to P (mean absolute difference)."""
    N = bs.counts(fp, 2, ds)
    return min(bs.KS, key=lambda kk: (ngram.probabilities(N, kk) - P).abs().mean().item())


def heatmap(where, P, title, key):
    """A table of probabilities, small enough for two side by side; tooltips, no labels."""
    charts.draw_heatmap(
        where, itos, P, None, "probabilities", key=key, title=title,
        size=SIDE, labels=False, legend="bottom",
    )  # fmt: skip


def render(job):
    if job is None:
        st.info(t("Press **Train** to start from the random W and watch it learn the table."))
        heatmap(st, P_counts, t("Counts smoothed with k = {k:g}", k=k), "nb_counts_only")
        return
    training.progress(job)
    model = job.model
    loss, data_loss = (
        (model.losses[-1], model.data_losses[-1]) if model.steps else model.loss()
    )  # fmt: skip
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(t("Loss"), f"{loss:.4f}", help=t("NLL part + λ·mean(W²), at the last step."))
    m2.metric(t("NLL part"), f"{data_loss:.4f}", help=t("−mean log p of the true next characters."))
    m3.metric(
        t("Count model NLL (k = 0)"),
        f"{floor:.4f}",
        help=t("The raw counts: the lowest NLL any bigram table reaches on these words."),
    )
    m4.metric(
        t("Gap to the counts"),
        f"{data_loss - floor:+.4f}",
        help=t("NLL part minus the count model's NLL; it shrinks towards a floor set by λ."),
    )
    refs = {t("counts, k = 0 (lowest possible)"): floor}
    if k > 0:
        refs[t("counts, k = {k:g}", k=k)] = at_k
    whole, tail = st.columns(2)
    start = model.steps // 5
    for where, first, title, key in (
        (whole, 0, t("Training loss"), "nb_loss"),
        (tail, start, t("Zoom: from step {start:,} on", start=start), "nb_loss_zoom"),
    ):
        curve = neural_charts.loss_frame(model.losses, model.data_losses, first)
        charts.draw(
            where,
            ("neural_loss", *refs.items(), i18n.language()),
            lambda: neural_charts.neural_loss(alt.NamedData("loss"), refs),
            {"loss": curve},
            key=key,
            title=title,
        )
    st.caption(
        t(
            "x: gradient descent step; y: loss in nats per character. Blue: the total loss, "
            "orange: its NLL part (they differ by λ·mean(W²)). Dashed: the count table's NLL on "
            "the same words; green is the raw counts, the lowest NLL any table reaches, so the "
            "orange line approaches it but never crosses it. The right chart leaves out the "
            "first fifth of the run to show how close it gets."
        )
    )
    learned = job.snapshots[-1][1]
    left, right = st.columns(2)
    after = tn("softmax(W) after {n:,} step", "softmax(W) after {n:,} steps", job.step)
    heatmap(left, learned, after, "nb_learned")
    heatmap(right, P_counts, t("Counts smoothed with k = {k:g}", k=k), "nb_counts")
    st.caption(
        t(
            "Both tables: row = first character, column = next character, `.` first, darker "
            "blue = more probable; hover a cell for its value. At step 0 softmax(W) is random "
            "noise; as it trains it takes on the same dark cells as the counts."
        )
    )
    d1, d2 = st.columns([3, 1])
    distances = pd.DataFrame(
        [(s, (P - P_counts).abs().mean().item()) for s, P in job.snapshots],
        columns=["step", "distance"],
    )
    charts.draw(
        d1,
        ("distance", k, i18n.language()),
        lambda: neural_charts.distance_curve(alt.NamedData("distance"), k),
        {"distance": distances},
        key="nb_distance",
    )
    d2.metric(
        t("Max |softmax(W) − counts|"),
        f"{(learned - P_counts).abs().max().item():.4f}",
        help=t("The largest difference between the two tables, in probability."),
    )
    d2.metric(
        t("Closest smoothing k right now"),
        f"{closest_k(learned):g}",
        help=t("The k whose smoothed count table is nearest to softmax(W) (mean |difference|)."),
    )


training.live(KEY, render)

st.subheader(t("How λ plays the role of k"))
st.markdown(
    t(
        """
The penalty λ·mean(W²) pulls every weight towards 0. If all of `W` were 0, every logit in a row
would be equal and softmax would give the **uniform** row 1/V: exactly where a huge smoothing k
sends the count table. So the two knobs do the same job from opposite ends:

* **λ = 0** lets softmax(W) approach the raw counts (k = 0). It gets there slowly, because a pair
  never seen would need a logit of −∞, which no finite number of steps reaches.
* **Larger λ** keeps the weights small and the rows flatter, like a larger k: the training NLL
  stays higher, and no bigram gets probability 0. Train with λ = 0.01, then with 0.1 and 1, and
  watch the closest k grow.
"""
    )
)
