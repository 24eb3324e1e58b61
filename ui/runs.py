"""The server's run cache and training slots, seen from one session.

One engine.runs.Hub per server holds the run cache, the slots and the runs in progress.
Each session keeps a short list of its own runs (for the compare page); the runs
themselves are shared: the same settings on the same data give the same run.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

import streamlit as st

from engine import data
from engine.models import ModelConfig
from engine.serve.cache import RunCache
from engine.serve.hub import Hub
from engine.serve.records import job_key
from engine.serve.slots import Limits, Slots, default_slots
from engine.train import Job, TrainConfig

SESSION_RUNS = 8  # runs a session keeps for the compare page (older ones stay in the cache)
LEASE = 60.0  # seconds a slot waits for its session's next tick (a closed tab frees it at once)
ORIGINS = {
    "cache": "Served from the run cache: this exact run (data, model, seed, steps) was trained "
    "before on this server, so here it is at once.",
    "live": "Another session is training this exact run right now: you are watching the same "
    "run (and it keeps going if they leave).",
}


@st.cache_resource
def hub() -> Hub:
    """The one hub of this server (settings from MAKEMORE_* environment variables)."""
    return Hub(
        RunCache.from_environment(),
        Slots(default_slots(), lease=LEASE),
        Limits.from_environment(),
    )


def session_id() -> str:
    session = st.session_state.setdefault("session_id", uuid.uuid4().hex)
    _presence(hub(), session)
    return session


def _leave(presence: tuple[Hub, str]) -> None:
    hub, session = presence
    hub.slots.leave(session)


@st.cache_resource(scope="session", on_release=_leave)
def _presence(_hub: Hub, session: str) -> tuple[Hub, str]:
    """Held while the session is connected: Streamlit releases it when the tab closes,
    and the session's slots go with it at once (the lease is only the fallback)."""
    return _hub, session


def open_job(
    ds: data.Dataset, config: ModelConfig, train: TrainConfig, splits: data.Splits, device="cpu"
) -> tuple[Job, str]:
    """A lecture model's run from the hub: (job, "cache" | "live" | "new")."""
    return hub().open(ds, config, train, splits, device)


def jobs_of(obj) -> dict[str, Job]:
    """The engine Jobs inside what a page trains: a Job, several in lockstep, a wrapped one."""
    if isinstance(obj, Job):
        return {"": obj}
    if isinstance(inner := getattr(obj, "jobs", None), dict):
        return {label: j for label, j in inner.items() if isinstance(j, Job)}
    if isinstance(inner := getattr(obj, "job", None), Job):
        return {"": inner}
    return {}


def remember(page: str, obj, ds: data.Dataset) -> None:
    """Add a page's finished Jobs to this session's run list (newest last, bounded)."""
    mine = st.session_state.setdefault("runs", OrderedDict())
    for label, job in jobs_of(obj).items():
        key = job_key(job) or uuid.uuid4().hex
        mine.pop(key, None)
        mine[key] = {"label": f"{page} · {label}" if label else page, "job": job, "dataset": ds}
    while len(mine) > SESSION_RUNS:
        mine.popitem(last=False)


def session_runs() -> OrderedDict:
    return st.session_state.setdefault("runs", OrderedDict())
