"""Training on a page: the page submits, a worker process trains, the page watches.

Train builds the page's training (a Job, a race of Jobs in lockstep, ...) and hands it
to the server's training service (ui.runs.service); a worker process trains it as fast as
it can while a fragment of the page reruns a few times a second and draws the training's
replica, which the worker keeps up to date. Stop, Resume and Reset are messages to the
worker; nothing trains in the server process, so a busy page never slows a training.
micrograd's twenty scalar steps are the one exception: `inline=True` trains them right in
the page, where they take milliseconds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import streamlit as st

from engine.models import ConfigError
from engine.serve.estimate import duration
from engine.serve.service import Handle
from engine.train import TrainConfig
from ui import navigation, present, runs, state
from ui.i18n import N_, t, tn, tr

TICK, SLOW_TICK = 0.3, 2.0  # seconds between redraws: an idle server, a busy one
WAIT_TICK = 1.0  # ... while waiting for a training slot
TICKS_PER_WATCHER = 0.06  # how much later each watching session makes everyone's tick
INLINE_CHUNK = 0.1  # seconds of an inline training per tick


class InlineHandle:
    """A training small enough to train inside the page (micrograd), with a Handle's face."""

    def __init__(self, trainable):
        self.trainable, self.state, self.error, self.note = trainable, "running", None, None
        self.start_step, self._wall = trainable.step, 0.0

    @property
    def step(self) -> int:
        return self.trainable.step

    @property
    def active(self) -> bool:
        return self.state == "running"

    def advance(self) -> None:
        t0 = time.monotonic()
        self.trainable.train_for(INLINE_CHUNK)
        self._wall += time.monotonic() - t0
        if self.trainable.done:
            self.state = "done"

    def seconds(self) -> float:
        return self._wall

    def view(self):
        return contextlib.nullcontext(self.trainable)


def slot(key: str) -> dict:
    """The per-session training state of one page: its handle, whether it runs, its spec."""
    return st.session_state.setdefault(
        f"training:{key}", {"handle": None, "running": False, "spec": None}
    )


def handle(key: str) -> Handle | InlineHandle | None:
    return slot(key)["handle"]


def job(key: str):
    """The page's training (its replica in this process), or None before the first Train."""
    h = handle(key)
    return None if h is None else h.trainable


def tick() -> float:
    """Seconds between redraws: longer when many sessions watch trainings at once."""
    return min(SLOW_TICK, max(TICK, runs.service().watchers() * TICKS_PER_WATCHER))


def _let_go(s: dict) -> None:
    """This session no longer watches the slot's training (which stops unless shared)."""
    h = s["handle"]
    if isinstance(h, Handle) and h.active:
        runs.service().stop(h, runs.session_id())
    s["running"] = False


def _start(key: str, spec, make_job: Callable, inline: bool = False, keep: bool = True) -> None:
    """Build the training and hand it to the service (or train it here, inline); `keep`:
    a finished run joins the session's runs on the compare page."""
    s = slot(key)
    _let_go(s)
    try:
        trainable = make_job()
        if inline:
            h, origin = InlineHandle(trainable), "new"
        else:
            h, origin = runs.service().submit(trainable, runs.session_id(), state.dataset())
    except ConfigError as e:
        s.update(
            error=(state.message_of(e), state.dataset().fingerprint), spec=spec
        )  # while that data is open
        return
    s.update(
        handle=h,
        running=h.active,
        spec=spec,
        error=None,
        origin=origin,
        dataset=state.dataset(),
        page=navigation.page_title(key),
        keep=keep,
    )
    if h.state == "done" and keep:
        runs.remember(s["page"], h.trainable, s["dataset"])


def controls(
    key: str, spec, make_job: Callable, inline: bool = False, train_label: str = N_("Train")
) -> None:
    """Train / Stop / Resume / Reset buttons.

    `spec` is anything hashable that identifies the settings (dataset, model and training
    configs); Resume is offered only while they are those of the stopped run. `make_job()`
    builds the training; Train always starts it from step 0, served from the run cache
    when that exact run finished before, shared when another session is training it now.
    """
    s = slot(key)
    session = runs.session_id()
    svc = runs.service()

    def start():
        _start(key, spec, make_job, inline)

    def stop():
        h = s["handle"]
        if isinstance(h, Handle):
            svc.stop(h, session)
        elif h is not None:
            h.state = "stopped"
        s["running"] = False

    def resume():
        h = s["handle"]
        if isinstance(h, Handle):
            svc.resume(h, session)
        else:
            h.state = "running"
        s["running"] = True

    def reset():
        _let_go(s)
        s.update(handle=None, spec=None, error=None, origin=None)

    h = s["handle"]
    stale = h is not None and s["spec"] != spec
    resumable = h is not None and h.state in ("stopped", "stopping") and not stale
    c1, c2, c3, c4 = st.columns(4)
    c1.button(
        t(train_label),
        key=f"{key}:train",
        icon=":material/play_arrow:",
        type="primary",
        on_click=start,
        disabled=s["running"],
        help=t("Start a new run from step 0 with the settings above."),
        width="stretch",
    )
    c2.button(
        t("Stop"),
        key=f"{key}:stop",
        icon=":material/stop:",
        on_click=stop,
        disabled=not s["running"],
        width="stretch",
    )
    c3.button(
        t("Resume"),
        key=f"{key}:resume",
        icon=":material/resume:",
        on_click=resume,
        disabled=s["running"] or not resumable,
        help=t("Continue the stopped run where it left off."),
        width="stretch",
    )
    c4.button(
        t("Reset"),
        key=f"{key}:reset",
        icon=":material/restart_alt:",
        on_click=reset,
        disabled=h is None,
        help=t("Clear this page's run."),
        width="stretch",
    )
    cache_notice()
    if s.get("error") and s["error"][1] == state.dataset().fingerprint:
        st.error(tr(s["error"][0]))
    elif h is not None and h.state == "failed":
        st.error(tr(h.error) if h.error else t("The training failed."), icon=":material/error:")
        st.button(t("Retry"), key=f"{key}:retry", icon=":material/replay:", on_click=start)
    elif h is not None and not stale and h.note and not s["running"]:
        st.caption(tr(h.note))
    elif isinstance(h, Handle) and s["running"] and svc.long(h):
        st.warning(
            t(
                "This run should take about {duration} on this server. It keeps training while "
                "this tab stays open; fewer steps or a smaller batch finish sooner.",
                duration=duration(h.estimate),
            ),
            icon=":material/schedule:",
        )
    elif h is not None and not stale and s.get("origin") in runs.ORIGINS:
        st.caption(t(runs.ORIGINS[s["origin"]]))
    elif stale and not s["running"]:
        st.caption(
            t("The settings changed since this run started: Train starts a new run with them.")
        )


def cache_notice() -> None:
    """Say once per session that the server's disk cache cannot be written (runs stay in
    memory), as RunCache.unavailable tells it, and that the Ray cluster MAKEMORE_RAY_ADDRESS
    names could not be used (trainings run on the server's own workers instead)."""
    svc = runs.service()
    for flag, message in (("cache_notice", svc.cache.unavailable), ("executor_notice", svc.notice)):
        if message and not st.session_state.get(flag):
            st.session_state[flag] = True
            st.toast(tr(message), icon=":material/warning:", duration="long")


def automatic(key: str, spec, make_job: Callable, render: Callable) -> None:
    """A training without buttons: it starts by itself whenever `spec` is new (an import's
    evaluation on the compare page), and render(training) watches it."""
    s = slot(key)
    if s["spec"] != spec and not s["running"]:
        _start(key, spec, make_job, keep=False)
    if s.get("error"):
        st.error(tr(s["error"][0]))
        return
    live(key, render)


def live(key: str, render: Callable) -> None:
    """Watch the page's training: call render(training) on every tick (and once when idle).

    The fragment reruns itself while the training runs, every tick() seconds, and draws the
    replica; the worker trains on whether or not a tick comes on time.
    """
    s = slot(key)
    h = s["handle"]
    queued = isinstance(h, Handle) and h.state == "queued"
    settling = h is not None and h.state == "stopping"  # its checkpoint is on the way
    every = (WAIT_TICK if queued else tick()) if s["running"] or settling else None

    @st.fragment(run_every=every)
    @present.charts_scaled()
    def ticker():
        h = s["handle"]
        if h is not None and (s["running"] or h.state == "stopping"):
            position = 0
            if not isinstance(h, Handle):
                h.advance()
            elif s["running"]:
                position = runs.service().watch(h, runs.session_id())
            if not h.active:  # done, stopped or failed since the last tick
                if s["running"] and h.state == "done" and s.get("keep", True):
                    runs.remember(s["page"], h.trainable, s["dataset"])
                s["running"] = False
                st.rerun()  # a full rerun drops the timer and re-enables the buttons
            if (h.state == "queued") != queued:
                st.rerun()  # from the queue to a worker: a full rerun sets the new tick
            if position:  # queued: a light tick, no charts to redraw
                svc = runs.service()
                _, waiting = svc.counts()
                n = svc.executor.n  # workers; each may train a group of compatible runs
                st.info(
                    tn(
                        "Waiting for a free training slot: you are number {position} of "
                        "{waiting} in the queue. This server trains on {n} worker (all busy); "
                        "yours starts by itself, keep this tab open.",
                        "Waiting for a free training slot: you are number {position} of "
                        "{waiting} in the queue. This server trains on {n} workers (all busy); "
                        "yours starts by itself, keep this tab open.",
                        n,
                        position=position,
                        waiting=waiting,
                    ),
                    icon=":material/hourglass_top:",
                )
                return
        if h is None:
            render(None)
        else:
            with h.view() as trainable:
                render(trainable)

    ticker()


def lecture_steps_ui(key: str) -> int:
    """How long to train the lecture's MLP: 1,000 up to its 200,000 steps (the default)."""
    return st.select_slider(
        t("Training steps"),
        [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000],
        value=TrainConfig().steps,
        format_func=lambda n: f"{n:,}",
        key=key,
        bind="query-params",
        help=t(
            "The lecture trains 200,000 steps, learning rate 0.1 then 0.01 for the second half."
        ),
    )


def _handle_of(trainable) -> Handle | InlineHandle | None:
    for key, value in st.session_state.items():
        if (
            key.startswith("training:")
            and getattr(value.get("handle"), "trainable", None) is trainable
        ):
            return value["handle"]
    return None


PROGRESS_STATES = {
    "stopped": N_(" · stopped"),
    "stopping": N_(" · stopping…"),
    "failed": N_(" · failed"),
}


def progress(job) -> None:
    """Progress bar: steps, steps/s and the time left, in wall-clock time since Train
    (the queue and pauses left out)."""
    total, step = job.train_config.steps, job.step
    h = _handle_of(job)
    state = "done" if job.done else h.state if h is not None else "stopped"
    text = t("step {step:,} / {total:,}", step=step, total=total)
    if state == "done":
        # a run from the cache took its time when it trained first
        seconds = (h.seconds() if h is not None else 0.0) or job.seconds
        taken = step - (h.start_step if h is not None and h.seconds() else 0)
        rate = t(" ({rate:,.0f} steps/s)", rate=taken / seconds) if seconds else ""
        text = t(
            "done: {step:,} steps in {seconds:.1f} s{rate}", step=step, seconds=seconds, rate=rate
        )
    elif state == "queued":
        text += t(" · waiting for a training slot")
    elif state in ("stopped", "stopping", "failed"):
        text += t(PROGRESS_STATES[state])
    elif (seconds := h.seconds()) > 0.5 and (rate := (step - h.start_step) / seconds) > 0:
        text += t(
            " · {rate:,.0f} steps/s · about {duration} left",
            rate=rate,
            duration=duration((total - step) / rate),
        )
    if state == "running" and (others := getattr(h, "together", 0)):
        text += tn(
            " · training together with {n} other run",
            " · training together with {n} other runs",
            others,
        )
    st.progress(min(step / max(total, 1), 1.0), text=text)
