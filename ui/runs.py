"""The server's training service and run cache, seen from one session.

One engine.serve.service.TrainingService per server holds the worker processes, the run
cache, the slots and the runs in progress; app.py's lifespan starts it with the server
and stops its workers when the server stops. Each session keeps a short list of its own
runs (for the compare page); the runs themselves are shared: the same settings on the
same data give the same run.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

import streamlit as st

from engine import data
from engine.serve.cache import RunCache
from engine.serve.records import job_key
from engine.serve.service import TrainingService, jobs_of
from engine.serve.slots import Limits, default_slots
from ui.i18n import N_
from ui.state import Spinner

SESSION_RUNS = 8  # runs a session keeps for the compare page (older ones stay in the cache)
LEASE = 60.0  # seconds a run waits for its watchers' next tick (a closed tab frees it at once)
ORIGINS = {
    "cache": N_(
        "Served from the run cache: this exact run (data, model, seed, steps) was trained "
        "before on this server, so here it is at once."
    ),
    "live": N_(
        "Another session is training this exact run right now: you are watching the same "
        "run (and it keeps going if they leave)."
    ),
}


@st.cache_resource(show_spinner=Spinner(N_("Starting the training workers…")))
def service() -> TrainingService:
    """The one training service of this server (settings from MAKEMORE_* variables; its
    own worker processes, or the Ray cluster at MAKEMORE_RAY_ADDRESS)."""
    return TrainingService.from_environment(
        RunCache.from_environment(),
        default_slots(),
        limits=Limits.from_environment(),
        lease=LEASE,
    )


def session_id() -> str:
    session = st.session_state.setdefault("session_id", uuid.uuid4().hex)
    _presence(service(), session)
    return session


def _leave(presence: tuple[TrainingService, str]) -> None:
    svc, session = presence
    svc.leave(session)


@st.cache_resource(scope="session", on_release=_leave)
def _presence(_service: TrainingService, session: str) -> tuple[TrainingService, str]:
    """Held while the session is connected: Streamlit releases it when the tab closes, and
    the session stops watching its runs at once (the lease is only the fallback)."""
    return _service, session


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
