"""Init and saturation: lecture 4 (makemore part 3), before any training.

Why the untrained MLP's loss is 27.88 and not ln 27, why its tanh units sit at ±1, and how
scaling the initial weights (by hand, then by Kaiming's gain 5/3 / sqrt(fan_in)) fixes both.
Then the chosen init and the original are trained side by side.
"""

import math

import streamlit as st

from engine import lectures
from engine.models import TANH_GAIN, ConfigError, MLPConfig
from engine.part3_bn import init, live
from engine.presets import PRESETS
from engine.train import Job, TrainConfig
from ui import losses, present, small_data, state, training
from ui.i18n import N_, t, tr
from ui.part3_bn import charts as dc

ss = st.session_state
ds = state.dataset()
splits = state.splits(ds.fingerprint, 3, 1, ds)
V = ds.vocab_size
FAN_IN = 3 * 10  # block_size x n_embd: what W1 sees
DEAD_BATCH = 1000  # examples for the dead-neuron count
PRESET_NAMES = ["part3-original", "part3-fix-softmax", "part3-fix-tanh", "part3-kaiming"]
SHORT = {
    "part3-original": N_("Original"),
    "part3-fix-softmax": N_("Fix softmax"),
    "part3-fix-tanh": N_("Fix tanh"),
    "part3-kaiming": N_("Kaiming"),
}
TITLES = {  # engine.presets' titles, as shown
    "part3-original": N_("Original init (confidently wrong)"),
    "part3-fix-softmax": N_("Fix softmax confidently wrong"),
    "part3-fix-tanh": N_("Fix tanh layer too saturated"),
    "part3-kaiming": N_("Kaiming init (gain 5/3 / sqrt(fan_in))"),
}
SCALES = {"w1": "w1_scale", "b1": "b1_scale", "w2": "w2_scale", "b2": "b2_scale"}

st.title(t("Init and saturation"))
st.markdown(
    t(
        """
Lecture 4 (makemore part 3) starts from the MLP of lecture 3: embed 3 characters in
10 dimensions, one tanh layer of 200 neurons, then {V} logits. Every weight is drawn from
N(0, 1) and multiplied by a **scale**. Before training, the net knows nothing, so the best
it can honestly do is a uniform guess over the {V} characters: a loss of
**ln {V} = {lnV:.4f}**. Everything on this page is one forward pass over one batch
of 32 examples (the same one the first training step sees): no training, so it updates as
you move a slider.
""",
        V=V,
        lnV=math.log(V),
    )
)

if not small_data.notice(ds):
    st.stop()


# ---------------------------------------------------------------------------------------
# the init: presets and four scales


def apply_preset():
    name = ss.get("init_preset")
    if name is None:
        return
    model = PRESETS[name].model
    for key, field in SCALES.items():
        ss[key] = getattr(model, field)
    ss["kaiming"] = model.kaiming


# The scales are in the URL; the preset buttons show whichever preset they match.
ORIGINAL = PRESETS["part3-original"].model
settings = present.settings("init")
preset_slot = settings.empty()
c1, c2, c3, c4 = settings.columns(4)
w1_slot = c1.empty()  # the slider is disabled when Kaiming is on, so draw the toggle first
kaiming = c1.toggle(
    t("Kaiming W1"),
    ORIGINAL.kaiming,
    key="kaiming",
    bind="query-params",
    help=t(
        "W1 × gain / √fan_in = (5/3) / √{fan_in} = {scale:.4f}. "
        "5/3 is the gain that keeps tanh's output std near 1 (PyTorch's calculate_gain('tanh')).",
        fan_in=FAN_IN,
        scale=TANH_GAIN / FAN_IN**0.5,
    ),
)
scales = {
    key: where.slider(
        t("{name} scale", name=key.replace("w", "W")),
        0.0,
        2.0 if key == "w1" else 1.0,
        getattr(ORIGINAL, field),
        step=0.01,
        key=key,
        bind="query-params",
        disabled=key == "w1" and kaiming,
    )
    for (key, field), where in zip(SCALES.items(), (w1_slot, c2, c3, c4), strict=True)
}
config = MLPConfig(kaiming=kaiming, **{field: scales[key] for key, field in SCALES.items()})
preset = next((n for n in PRESET_NAMES if PRESETS[n].model == config), None)
ss["init_preset"] = preset
preset_slot.segmented_control(
    t("The lecture's inits, in the order the lecture fixes them"),
    PRESET_NAMES,
    format_func={n: t(SHORT[n]) for n in PRESET_NAMES}.__getitem__,
    key="init_preset",
    on_change=apply_preset,
    help=t("Each sets the four scales below as in the notebook's loss log."),
)
w1_text = f"(5/3)/√{FAN_IN} = {TANH_GAIN / FAN_IN**0.5:.3f}" if kaiming else f"{config.w1_scale:g}"
st.caption(
    t(
        "**{title}**: W1 × {w1}, b1 × {b1:g}, W2 × {w2:g}, b2 × {b2:g}.",
        title=t(TITLES[preset]) if preset else t("Your own init"),
        w1=w1_text,
        b1=config.b1_scale,
        w2=config.w2_scale,
        b2=config.b2_scale,
    )
)

try:
    report = init.explore_init(config, splits, V)
    big = init.explore_init(config, splits, V, batch_size=DEAD_BATCH)
except ConfigError as e:
    st.error(tr(e))
    st.stop()

# ---------------------------------------------------------------------------------------
# the loss at init and the logits

st.header(t("The loss at initialisation"), anchor=False)
m = st.columns(4)
m[0].metric(
    t("Initial loss"),
    f"{report.loss:.4f}",
    delta=t("{delta:+.4f} vs ln {V}", delta=report.loss - report.baseline, V=V),
    delta_color="inverse",
    help=t("Cross-entropy of the first minibatch (32 examples) before any training."),
)
m[1].metric(
    t("Uniform baseline ln V"),
    f"{report.baseline:.4f}",
    help=t("−ln(1/{V}): the loss when every character gets probability 1/{V}.", V=V),
)
m[2].metric(t("Spread of the logits (std)"), f"{report.logits_std:.2f}")
m[3].metric(t("Largest |logit|"), f"{report.logits_max:.2f}")
if report.logits_std > 1:
    now = t(
        "Here they are large and spread out (std {std:.2f}), so softmax is "
        "**confidently wrong**: it puts almost all the probability on some random character "
        "and almost none on the right one, and the loss is huge.",
        std=report.logits_std,
    )
else:
    now = t(
        "Here they are small (std {std:.2f}), so softmax gives every "
        "character about the same probability and the loss is close to ln {V}.",
        std=report.logits_std,
        V=V,
    )
st.markdown(
    t(
        """
The logits are `h @ W2 + b2`. {now} With large logits, training's first thousand steps do
little but squash them: that is the **hockey stick** at the start of the loss curve, time
spent undoing a bad init. Make the logits small (W2 × 0.01, b2 × 0) and the loss starts
near ln {V}: the lecture's "fix softmax confidently wrong". Setting W2 to exactly 0 gives
exactly ln {V}, but the lecture keeps a little randomness (0.01) to break symmetry.
""",
        now=now,
        V=V,
    )
)

# ---------------------------------------------------------------------------------------
# the tanh layer

st.header(t("The tanh layer: saturated and dead neurons"), anchor=False)
m = st.columns(3)
m[0].metric(
    t("Saturated |h| > 0.99"),
    f"{report.saturated_fraction:.1%}",
    help=t("Share of the 32 × 200 tanh outputs in the flat tails of tanh."),
)
m[1].metric(
    t("Dead neurons"),
    f"{big.dead} / {big.n_hidden}",
    help=t("Neurons saturated for every one of {n:,} training examples.", n=DEAD_BATCH),
)
m[2].metric(t("Dead in the 32 examples below"), f"{report.dead} / {report.n_hidden}")
left, right = st.columns(2)
left.altair_chart(
    dc.histogram_bars(
        report.hpreact,
        t("pre-activations hpreact = embcat @ W1 + b1"),
        t("hpreact (50 bins)"),
    ),
    width="stretch",
)
right.altair_chart(
    dc.histogram_bars(
        report.h, t("tanh outputs h = tanh(hpreact)"), t("h (50 bins)"), color=dc.RED
    ),
    width="stretch",
)
st.altair_chart(dc.saturation_image(report.saturated), width="stretch")
st.markdown(
    t(
        """
**Left:** how the 32 × 200 pre-activations are spread (counts in 50 bins). **Right:** the
same numbers after tanh. With the original init the pre-activations reach far beyond ±3,
so tanh squashes most of them to almost exactly −1 or +1 (two spikes at the edges).

**The image:** one row per example, one column per hidden neuron; **white** where
|h| > 0.99 (**saturated**: on tanh's flat tail), **black** where the neuron is active.
Backpropagation multiplies the gradient by tanh's slope, 1 − h², which is about 0 in the
white cells: those examples teach that neuron nothing. A column that is white all the way
down is a **dead neuron**: it is saturated for every input, so no gradient ever reaches its
weights. Counted over {n:,} training examples there are **{dead}** here. The fix
is to make the pre-activations smaller: W1 × 0.2 and b1 × 0.01 ("fix tanh"), or better the
principled **Kaiming init**, W1 × (5/3)/√fan_in, which keeps the std of the pre-activations
near the gain whatever the fan-in.
""",
        n=DEAD_BATCH,
        dead=big.dead,
    )
)

# ---------------------------------------------------------------------------------------
# fan-in

st.header(t("Why divide by √fan_in"), anchor=False)
c1, c2, c3 = present.settings("fan_in").columns(3)
fan_in = c1.select_slider(
    "fan_in",
    [1, 3, 10, 30, 100, 300, 1000],
    value=lectures.FAN_IN,
    key="fan_in",
    bind="query-params",
)
scaled = c2.toggle(t("Scale w by 1/√fan_in"), key="fan_scaled", bind="query-params")
gain = c3.radio(
    t("gain"),
    [1.0, TANH_GAIN],
    format_func=lambda g: "1" if g == 1 else "5/3 (tanh)",
    horizontal=True,
    key="fan_gain",
    bind="query-params",
)
demo = init.fan_in_demo(fan_in, scaled=scaled, gain=gain)
m = st.columns(3)
m[0].metric(t("std of x"), f"{demo.x_std:.3f}")
m[1].metric(t("std of y = x @ w"), f"{demo.y_std:.3f}")
m[2].metric(
    t("expected std of y"),
    f"{demo.expected_y_std:.3f}",
    help=t("gain · √fan_in, or gain if scaled"),
)
left, right = st.columns(2)
left.altair_chart(
    dc.histogram_bars(demo.x_hist, t("x: std {std:.2f}", std=demo.x_std), "x", t("density")),
    width="stretch",
)
right.altair_chart(
    dc.histogram_bars(
        demo.y_hist,
        t("y = x @ w: std {std:.2f}", std=demo.y_std),
        "y",
        t("density"),
        color=dc.RED,
    ),
    width="stretch",
)
st.markdown(
    t(
        """
x is 1,000 × fan_in unit Gaussians and w is fan_in × 200 Gaussians (multiplied by the
gain). Each y is a sum of fan_in products, so its std grows like √fan_in: compare the
numbers on the two x-axes (density, 50 bins; blue: x, red: y).
Dividing w by √fan_in keeps y at the scale of the gain: std 1 for a linear layer, **5/3
for tanh**, because tanh squashes and the gain makes up for it (Kaiming He et al. 2015).
"""
    )
)

# ---------------------------------------------------------------------------------------
# train both

st.header(t("Train both: your init against the original"), anchor=False)
steps = training.lecture_steps_ui("init_steps")
st.caption(
    t(
        "Batch 32, learning rate 0.1, then 0.01 for the second half, the lecture's seeds. "
        "Both nets train step for step, so their curves always cover the same steps."
    )
)
runs = {N_("original"): MLPConfig()}  # labels: the run's identity; shown as t(label)
if preset != "part3-original":
    runs = {SHORT.get(preset, N_("your init")): config, **runs}
tc = TrainConfig(steps=steps, lr_decay_step=steps // 2, eval_every=0)


def make_race():
    return live.Lockstep(
        {label: Job(c, tc, splits, V) for label, c in runs.items()},
    )


training.controls("init", (ds.fingerprint, tuple(runs.items()), tc), make_race)
if len(runs) == 1:
    st.caption(t("Pick another init above to train it next to the original."))


def render(race):
    if race is None:
        st.info(t("Click **Train** to watch both nets learn."), icon=":material/play_arrow:")
        return
    training.progress(race)
    if race.trained and not race.done:
        st.caption(t("Trained: now evaluating both nets on the full train, dev and test splits…"))
    lossi = {t(label): job.lossi for label, job in race.jobs.items()}
    refs = {f"ln {V}": math.log(V)}
    left, right = st.columns(2)
    left.vega_lite_chart(  # cached templates with fresh data: cheap on every tick
        dc.compare_loss_curves_spec(
            lossi, first=1000, references=refs, title=t("The first 1,000 steps")
        ),
        width="stretch",
    )
    right.vega_lite_chart(
        dc.compare_loss_curves_spec(lossi, title=t("The whole run (bucket means)")),
        width="stretch",
    )
    presets = {
        label: next((n for n in PRESET_NAMES if PRESETS[n].model == job.config), None)
        for label, job in race.jobs.items()
    }
    logs = {
        t(label): lectures.LECTURE_LOSS_LOG[n]
        for label, n in presets.items()
        if n in lectures.LECTURE_LOSS_LOG
    }
    jobs = {t(label): job for label, job in race.jobs.items()}
    losses.results_table(jobs, logs if state.on_lecture_data(ds) else {}, step0=True)


training.live("init", render)
lecture = (
    t(
        """next to the notebook's "loss log" (empty for inits the lecture did not try). The
lecture's numbers are after 200,000 steps on makemore's names; shorter runs end higher."""
    )
    if state.on_lecture_data(ds)
    else t("(the lecture's loss log is for makemore's names, so it is left out on this dataset).")
)
st.markdown(
    t(
        """
**Left:** every step of the first 1,000 (log10 of the minibatch loss; the dashed line is
ln {V}). The original starts far above and drops steeply: the **hockey stick**. A good init
starts on the dashed line. **Right:** the whole run. **Table:** the loss of the first step,
then train and dev loss on the full splits once the run is done, {lecture} Fixing the init
buys a lower final loss because no steps are wasted on squashing logits and the tanh layer
learns from the start.
""",
        V=V,
        lecture=lecture,
    )
)
if state.on_lecture_data(ds):
    st.markdown(
        t(
            """
On names the lecture printed 2.1245 / 2.1682 for the original and 2.0377 / 2.1070 with
Kaiming. The Kaiming run here lands exactly on the lecture's numbers; the original ends a
little off (about 2.122 / 2.166): its huge first gradients make it sensitive to the last
bits of floating point.
"""
        )
    )
