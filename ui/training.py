"""Live training on a page without blocking it.

The job lives in st.session_state and advances in time-boxed chunks inside a fragment
that reruns itself a few times a second while training runs (Pattern 1 of the project's
Streamlit notes). Between chunks Streamlit handles clicks, so Stop lands within one tick,
the rest of the page stays usable, and a closed tab simply stops ticking.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable

import pandas as pd
import streamlit as st

from engine.models import ConfigError
from engine.serve.records import job_key
from engine.train import Job
from ui import navigation, present, runs, small_data, state

TICK = 0.3  # seconds between fragment reruns while training
WAIT_TICK = 1.0  # ... while waiting for a training slot
MAX_CHUNK = 1.0  # the longest a tick trains when ticks come late (a loaded server)
CHUNK = 0.2  # seconds of training per rerun


def slot(key: str) -> dict:
    """The per-session training state of one page: the job, whether it runs, and its spec."""
    return st.session_state.setdefault(
        f"training:{key}", {"job": None, "running": False, "spec": None}
    )


def job(key: str) -> Job | None:
    return slot(key)["job"]


def controls(key: str, spec, make_job: Callable) -> None:
    """Train / Stop / Resume / Reset buttons.

    `spec` is anything hashable that identifies the configuration (dataset, model and
    training configs): Train starts a fresh job when it differs from the current job's.
    `make_job()` returns the job, or (job, origin) for a run from the server's hub
    (ui.runs.open_job), which several sessions may share and the run cache may serve.
    """
    s = slot(key)
    session = runs.session_id()

    def set_running(value):
        s.update(running=value, waiting=False, ticked=None)
        if not value and s.get("owner"):
            runs.hub().stopped(s["owner"], session)

    def start():
        set_running(False)  # the previous run, if any, gives its slot back
        try:
            made = make_job()
            if isinstance(made, tuple):  # from the hub: shared by everyone who asks for it
                current, origin = made
                owner = job_key(current)
            else:
                current, origin, owner = made, "new", uuid.uuid4().hex
                models = runs.jobs_of(current).values()
                runs.hub().limits.check(
                    current.train_config.steps,
                    sum(j.model.num_params() for j in models) if models else None,
                )
        except ConfigError as e:
            s["error"] = (str(e), state.dataset().fingerprint)  # shown while that data is open
            return
        s.update(
            job=current,
            running=not current.done,
            spec=spec,
            error=None,
            owner=owner,
            origin=origin,
            dataset=state.dataset(),
            page=navigation.page_title(key),
        )
        if current.done:
            runs.remember(s["page"], current, s["dataset"])

    def reset():
        set_running(False)
        s.update(job=None, spec=None, error=None, owner=None, origin=None)

    current = s["job"]
    stale = current is not None and s["spec"] != spec
    c1, c2, c3, c4 = st.columns(4)
    c1.button(
        "Train",
        key=f"{key}:train",
        icon=":material/play_arrow:",
        type="primary",
        on_click=start,
        disabled=s["running"],
        help="Start a new run with the settings above.",
        width="stretch",
    )
    c2.button(
        "Stop",
        key=f"{key}:stop",
        icon=":material/stop:",
        on_click=set_running,
        args=(False,),
        disabled=not s["running"],
        width="stretch",
    )
    c3.button(
        "Resume",
        key=f"{key}:resume",
        icon=":material/resume:",
        on_click=set_running,
        args=(True,),
        disabled=s["running"] or current is None or current.done or stale,
        help="Continue the stopped run where it left off.",
        width="stretch",
    )
    c4.button(
        "Reset",
        key=f"{key}:reset",
        icon=":material/restart_alt:",
        on_click=reset,
        disabled=current is None,
        width="stretch",
    )
    cache_notice()
    if s.get("error") and s["error"][1] == state.dataset().fingerprint:
        st.error(s["error"][0])
    elif current is not None and not stale and s.get("origin") in runs.ORIGINS:
        st.caption(runs.ORIGINS[s["origin"]])
    elif stale and not s["running"]:
        st.caption("The settings changed since this run started: Train starts a new run with them.")


def cache_notice() -> None:
    """Say once per session that the server's disk cache cannot be written (runs stay in
    memory), as RunCache.unavailable tells it."""
    if (problem := runs.hub().cache.unavailable) and not st.session_state.get("cache_notice"):
        st.session_state["cache_notice"] = True
        st.toast(problem, icon=":material/warning:", duration="long")


def live(key: str, render: Callable[[Job | None], None], chunk: float = CHUNK) -> None:
    """Advance the job while it runs and call render(job) on every tick (and once when idle).

    `chunk`: seconds of training per tick. Every tick also pays for rendering and the
    browser's redraw, so long runs with heavy charts train faster with a longer chunk
    (Stop then takes up to that long).
    """
    s = slot(key)
    tick = (WAIT_TICK if s.get("waiting") else TICK) if s["running"] else None

    @st.fragment(run_every=tick)
    @present.charts_scaled()
    def ticker():
        current = s["job"]
        if s["running"] and current is not None:
            hub, session = runs.hub(), runs.session_id()
            # a busy server ticks late: train longer per tick then, so the slot is not idle
            now = time.monotonic()
            budget = min(max(chunk, (now - (s.get("ticked") or now)) / 4), MAX_CHUNK)
            s["ticked"] = now
            waiting = hub.advance(s["owner"], session, lambda: current.train_for(budget))
            if bool(waiting) != s.get("waiting", False):
                s["waiting"] = bool(waiting)
                st.rerun()  # a full rerun sets the fragment's new tick
            if waiting:  # queued: a light tick, no charts to redraw
                _, queued = hub.slots.counts()
                st.info(
                    f"Waiting for a free training slot: you are number {waiting} of {queued} in "
                    f"the queue. This server trains {hub.slots.n} run{'s' * (hub.slots.n > 1)} "
                    "at once (all busy); yours starts by itself, keep this tab open.",
                    icon=":material/hourglass_top:",
                )
                progress(current)
                return
            if current.done:
                s["running"] = False
                hub.finished(
                    s["owner"], session, list(runs.jobs_of(current).values()), s["dataset"]
                )
                runs.remember(s["page"], current, s["dataset"])
                st.rerun()  # a full rerun drops the timer and re-enables the buttons
        render(current)

    ticker()


def lecture_steps_ui(key: str) -> int:
    """How long to train the lecture's MLP: 1,000 up to its 200,000 steps (the default)."""
    return st.select_slider(
        "Training steps",
        [1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000],
        value=200_000,
        format_func=lambda n: f"{n:,}",
        key=key,
        bind="query-params",
        help="The lecture trains 200,000 steps, learning rate 0.1 then 0.01 for the second half.",
    )


def loss_metrics(job: Job, columns, train_help: str) -> None:
    """Train, dev and test loss in three columns: the latest evaluation, test only at the end.
    A split without words (a tiny dataset) shows — , never nan."""
    last, final = (job.evals[-1] if job.evals else {}), job.final or {}
    c1, c2, c3 = columns
    c1.metric("train loss", small_data.loss(last.get("train")), help=train_help)
    c2.metric(
        "dev loss",
        small_data.loss(last.get("dev")),
        help="The dev split: words the model never trains on.",
    )
    c3.metric("test loss", small_data.loss(final.get("test")), help="Evaluated once, at the end.")


def results_table(jobs: dict[str, Job], logs: dict, step0: bool = False) -> None:
    """Each run's final train and dev loss next to the lecture's loss log {label: (train, dev)}
    (no lecture columns when `logs` is empty: another dataset than the lecture's)."""
    rows = []
    for label, job in jobs.items():
        final, log = job.final or {}, logs.get(label, (math.nan, math.nan))
        row = {"run": label}
        if step0:
            row["step-0 loss"] = 10 ** job.lossi[0] if job.lossi else math.nan
        row |= {"train": final.get("train", math.nan), "dev": final.get("dev", math.nan)}
        if logs:
            row |= {"lecture's log: train": log[0], "lecture's log: dev": log[1]}
        rows.append(row)
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        placeholder="—",
        column_config={
            c: st.column_config.NumberColumn(format="%.4f") for c in rows[0] if c != "run"
        },
    )


def progress(job: Job) -> None:
    """Progress bar with steps/s and the time left."""
    total = job.train_config.steps
    rate = job.steps_per_second()
    if job.done:
        text = f"done: {job.step:,} steps in {job.seconds:.1f} s ({rate:,.0f} steps/s)"
    elif not rate:
        text = f"step {job.step:,} / {total:,}"
    else:
        eta = (total - job.step) / rate if rate else float("nan")
        text = f"step {job.step:,} / {total:,} · {rate:,.0f} steps/s · about {eta:,.0f} s left"
    st.progress(job.step / max(total, 1), text=text)
