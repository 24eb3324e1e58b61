"""The lesson-2 MLP shared by its pages: settings widgets, the session's job, references.

The trainer, the embedding viewer and the learning-rate finder all read the same
settings (kept across page switches) and the same per-session job, so training
started on one page keeps ticking on the others.
"""

from __future__ import annotations

import math

import streamlit as st
import torch

from engine import data
from engine.models import MLPConfig
from engine.part1_bigrams import ngram
from engine.train import Job, TrainConfig, eval_interval
from ui import link_values, present, schedule, state, training
from ui.i18n import N_, t

KEY = "mlp"
INITS = {
    N_("Lecture 3: plain randn everywhere"): {},
    N_("Near uniform: W2 × 0.01, b2 × 0"): {"w2_scale": 0.01, "b2_scale": 0.0},
    N_("Kaiming: W1 × (5/3)/√fan_in, b1 × 0.01, W2 × 0.01, b2 × 0"): {
        "kaiming": True,
        "b1_scale": 0.01,
        "w2_scale": 0.01,
        "b2_scale": 0.0,
    },
    N_("Kaiming + BatchNorm (b1 dropped)"): {
        "kaiming": True,
        "w2_scale": 0.01,
        "b2_scale": 0.0,
        "batchnorm": True,
    },
}
NEAR_UNIFORM = list(INITS)[1]
MODEL, TRAIN = MLPConfig(), TrainConfig()  # the lecture's defaults
LIMITS = {"block_size": 16, "n_embd": 64, "n_hidden": 1024, "batch_size": 4096, "steps": 500_000}


def _w(fn, label, key, **kw):
    """A settings widget: kept across page switches and bound to the URL (?n_embd=2&seed=7)."""
    return fn(label, key=key, bind="query-params", persist_state="session", **kw)


def model_ui() -> MLPConfig:
    """The model's knobs with the lecture's defaults (the trainer and the finder share them)."""
    with present.settings("mlp_model"):
        c1, c2, c3 = st.columns(3)
        block_size = _w(
            c1.slider,
            t("block_size (context length)"),
            "block",
            min_value=1,
            max_value=LIMITS["block_size"],
            value=MODEL.block_size,
        )
        n_embd = _w(
            c2.slider,
            t("n_embd (embedding dimensions)"),
            "n_embd",
            min_value=1,
            max_value=LIMITS["n_embd"],
            value=MODEL.n_embd,
        )
        n_hidden = _w(
            c3.slider,
            t("n_hidden (tanh neurons)"),
            "n_hidden",
            min_value=1,
            max_value=LIMITS["n_hidden"],
            value=MODEL.n_hidden,
        )
        c1, c2 = st.columns([2, 1])
        init = _w(
            c1.selectbox,
            t("initialisation"),
            "init",
            options=list(INITS),
            format_func={k: t(k) for k in INITS}.__getitem__,  # in this run's language
            help=t("How the weights are scaled at the start (lecture 4 explores why)."),
        )
        direct = _w(
            c2.toggle,
            t("direct connections (E03)"),
            "direct",
            value=MODEL.direct,
            help=t("Bengio et al. 2003: also connect the embeddings straight to the logits."),
        )
    return MLPConfig(block_size, n_embd, n_hidden, direct=direct, **INITS[init])


def train_ui() -> TrainConfig:
    """The training knobs with the lecture's defaults."""
    with present.settings("mlp_train"):
        c1, c2, c3 = st.columns(3)
        batch_size = _w(
            c1.number_input,
            link_values.ranged(t("batch size"), 1, LIMITS["batch_size"]),
            "batch",
            min_value=1,
            max_value=LIMITS["batch_size"],
            value=TRAIN.batch_size,
        )
        steps = _w(
            c2.number_input,
            link_values.ranged(t("steps"), 1, LIMITS["steps"]),
            "steps",
            min_value=1,
            max_value=LIMITS["steps"],
            value=TRAIN.steps,
            step=1000,
        )
        seed = _w(
            c3.number_input,
            t("seed"),
            "seed",
            min_value=0,
            max_value=2**53 - 1,
            value=TRAIN.seed,
            help=t(
                "Seeds the initial weights and the minibatches: the same seed gives the same run."
            ),
        )
        c1, c2, c3 = st.columns(3)
        lr = _w(
            c1.number_input,
            t("learning rate"),
            "lr",
            min_value=1e-4,
            max_value=10.0,
            value=TRAIN.lr,
            format="%.4f",
            help=t("Try the learning-rate finder page."),
        )
        decay = schedule.decay_ui(
            c2,
            "decay",
            steps,
            TRAIN.lr_decay_step / TRAIN.steps,
            t("decay at step"),
            LIMITS["steps"],
        )
        lr_after = _w(
            c3.number_input,
            t("learning rate after"),
            "lr_after",
            min_value=1e-5,
            max_value=10.0,
            value=TRAIN.lr_after,
            format="%.4f",
        )
    return TrainConfig(
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        lr_after=lr_after,
        lr_decay_step=decay,
        seed=seed,
        eval_every=eval_interval(steps),
    )


def settings_ui() -> tuple[MLPConfig, TrainConfig]:
    """The MLP's knobs with the lecture's defaults; returns the configs they describe."""
    return model_ui(), train_ui()


def devices() -> list[str]:
    """Where training can run: the CPU, and each CUDA device when the server has one."""
    return ["cpu", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]


def device_ui() -> str:
    """A device choice, shown only on a server with a GPU."""
    options = devices()
    if len(options) == 1:
        return "cpu"
    return _w(
        st.selectbox,
        t("device"),
        "device",
        options=options,
        help=t("Same numbers, float tolerance."),
    )


def make_job(ds: data.Dataset, model: MLPConfig, train: TrainConfig, device: str = "cpu") -> Job:
    """The run the settings describe, at step 0 (the service may serve it from the cache)."""
    splits = state.splits(ds.fingerprint, model.block_size, 1, ds)
    return Job(model, train, splits, ds.vocab_size, device=device)


CONFIDENTLY_WRONG = 2.0  # a first loss this many times ln V: the init is the problem


def init_hint(job: Job, ds: data.Dataset) -> None:
    """Say so when the run starts far above a uniform guess (lecture 4's first lesson)."""
    if not job.lossi or not math.isfinite(job.lossi[0]):
        return
    first, uniform = 10 ** job.lossi[0], math.log(ds.vocab_size)
    if first > CONFIDENTLY_WRONG * uniform:
        st.warning(
            t(
                "The first loss was **{first:.1f}**, far above ln V = {uniform:.2f}, the loss of a "
                "uniform guess: this initialisation is **confidently wrong**. Its logits are huge, "
                "so the net is sure of the wrong characters, and its tanh neurons are saturated, "
                "so little gradient flows back; a large net may never recover. makemore part 3 "
                "fixes it: choose *{init}* above, and see the **Init & saturation** page.",
                first=first,
                uniform=uniform,
                init=t(NEAR_UNIFORM),
            ),
            icon=":material/warning:",
        )


def current_job() -> Job | None:
    return training.job(KEY)


@st.cache_data(max_entries=16, show_spinner=False)
def bigram_dev(fingerprint: str, _ds: data.Dataset) -> float:
    """The add-one bigram count model's dev NLL: what the MLP has to beat."""
    return ngram.split_nll(_ds.words, 2, _ds.stoi, _ds.vocab_size, k=1.0)["dev"]


LECTURE_TARGET = 2.2  # exercise E01 on names.txt: beat a dev loss of 2.2


def target(ds: data.Dataset) -> float | None:
    """E01's dev loss to beat: the lecture's 2.2 on names, else this dataset's own bigram
    count model on dev (None without a dev split)."""
    if state.on_lecture_data(ds):
        return LECTURE_TARGET
    dev = bigram_dev(ds.fingerprint, ds)
    return round(dev, 4) if math.isfinite(dev) else None


def e01_goal(ds: data.Dataset, goal: float | None) -> str:
    """Exercise E01's title for this dataset and its target (from target())."""
    if state.on_lecture_data(ds):
        return t("**E01 · Beat a dev loss of {goal}** (the lecture reached about 2.17).", goal=goal)
    if goal is None:
        return t("**E01 · Beat the bigram on dev**: this dataset has no dev split to score it on.")
    return t(
        "**E01 · Beat a dev loss of {goal:.4f}**, the bigram count model's on this dataset "
        "(on names the lecture asks for {target}).",
        goal=goal,
        target=LECTURE_TARGET,
    )


def references(ds: data.Dataset) -> dict[str, float]:
    refs = {t("uniform guess, ln V"): math.log(ds.vocab_size)}
    dev = bigram_dev(ds.fingerprint, ds)
    if math.isfinite(dev):
        refs[t("bigram counts (dev)")] = dev
    return refs


def references_for(ds: data.Dataset, lecture: dict[str, float]) -> tuple[dict[str, float], str]:
    """A loss chart's reference rules and the caption's sentence about them: the lecture's
    own numbers on its dataset, else this dataset's (ln V and the bigram's dev loss)."""
    if state.on_lecture_data(ds):
        return lecture, t("Green dashed rule: the lecture's final dev loss.")
    return references(ds), t(
        "Dashed rules: a uniform guess (ln V) and the bigram count model on dev; the "
        "lecture's final numbers are for makemore's names, so they are left out here."
    )
