"""Fair use of a shared server: training slots handed out first come, first served, and limits."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from engine.messages import msg
from engine.models import ConfigError
from engine.serve.estimate import duration


def default_slots() -> int:
    """MAKEMORE_SLOTS: trainings at once on this server (default: the number of cores)."""
    return max(1, int(os.environ.get("MAKEMORE_SLOTS", os.cpu_count() or 1)))


class Slots:
    """At most n trainings at once; the others queue first come, first served.

    A training is an `owner` (a run, which several sessions may drive together) and holds
    its slot as long as some session asks for it again within `lease` seconds: a closed
    tab stops asking, so its slot frees itself. request() answers 0 when the owner holds a
    slot, else its position in the queue (1 is next).
    """

    def __init__(self, n: int, lease: float = 10.0, clock=time.monotonic):
        self.n, self.lease, self.clock = n, lease, clock
        self.holders: dict[str, dict[str, float]] = {}  # owner -> {session: last asked}
        self.queue: OrderedDict[str, dict[str, float]] = OrderedDict()
        self.lock = threading.Lock()

    def request(self, owner: str, session: str) -> int:
        with self.lock:
            now = self.clock()
            if owner in self.holders:
                self.holders[owner][session] = now
            else:
                self.queue.setdefault(owner, {})[session] = now
            self._update(now)
            if owner in self.holders:
                return 0
            return list(self.queue).index(owner) + 1

    def release(self, owner: str, session: str) -> None:
        with self.lock:
            for table in (self.holders, self.queue):
                if owner in table:
                    table[owner].pop(session, None)
            self._update(self.clock())

    def release_all(self, owner: str) -> None:
        """`owner` no longer trains, whoever asked for it."""
        with self.lock:
            self.holders.pop(owner, None)
            self.queue.pop(owner, None)
            self._update(self.clock())

    def leave(self, session: str) -> None:
        """A session is gone (its tab closed): it asks for nothing any more."""
        with self.lock:
            for table in (self.holders, self.queue):
                for sessions in table.values():
                    sessions.pop(session, None)
            self._update(self.clock())

    def _update(self, now: float) -> None:
        for table in (self.holders, self.queue):
            for owner in list(table):
                sessions = table[owner]
                for session, seen in list(sessions.items()):
                    if now - seen > self.lease:
                        del sessions[session]
                if not sessions:
                    del table[owner]
        while self.queue and len(self.holders) < self.n:
            owner, sessions = self.queue.popitem(last=False)
            self.holders[owner] = sessions

    def counts(self) -> tuple[int, int]:
        """(trainings running, trainings waiting)."""
        with self.lock:
            self._update(self.clock())
            return len(self.holders), len(self.queue)


class HubSlots:
    """The service's slots, kept by a shared executor's hub (engine.serve.ray_workers):
    one first-come queue for every server. `workers` calls the hub (`call`, `send`); the
    table is asked again when it is more than `fresh_for` seconds old."""

    def __init__(self, workers, n: int, fresh_for: float):
        self.workers, self.n, self.fresh_for = workers, n, fresh_for
        self._table: tuple[dict, dict] = ({}, {})
        self._fresh = 0.0

    def _changed(self) -> None:
        self._fresh = 0.0

    def request(self, owner: str, session: str) -> int:
        self._changed()
        return self.workers.call("request", owner, session, default=0)

    def release(self, owner: str, session: str) -> None:
        self._changed()
        self.workers.send("release", owner, session)

    def release_all(self, owner: str) -> None:
        self._changed()
        self.workers.send("release_all", owner)

    def leave(self, session: str) -> None:
        self._changed()
        self.workers.send("leave", session)

    def _snapshot(self) -> tuple[dict, dict]:
        """The hub's table, at most fresh_for old; the last one seen while it is away."""
        if time.monotonic() - self._fresh > self.fresh_for:
            table = self.workers.call("table", default=None)
            if table is not None:
                self._table, self._fresh = table, time.monotonic()
        return self._table

    @property
    def holders(self) -> dict:
        return self._snapshot()[0]

    @property
    def queue(self) -> dict:
        return self._snapshot()[1]

    def counts(self) -> tuple[int, int]:
        holders, waiting = self._snapshot()
        return len(holders), len(waiting)


@dataclass(frozen=True)
class Limits:
    """What one run may ask of a shared server (MAKEMORE_MAX_STEPS, MAKEMORE_MAX_PARAMS,
    MAKEMORE_MAX_RUN_MINUTES); runs estimated above `warn_minutes` start with a warning."""

    max_steps: int = 500_000
    max_params: int = 2_000_000
    max_run_minutes: float = 30.0
    warn_minutes: float = 5.0

    @classmethod
    def from_environment(cls) -> Limits:
        return cls(
            int(os.environ.get("MAKEMORE_MAX_STEPS", cls.max_steps)),
            int(os.environ.get("MAKEMORE_MAX_PARAMS", cls.max_params)),
            float(os.environ.get("MAKEMORE_MAX_RUN_MINUTES", cls.max_run_minutes)),
        )

    def check_time(self, seconds: float, what: str) -> None:
        """Refuse a run estimated to take longer than the server allows."""
        if seconds > 60 * self.max_run_minutes:
            raise ConfigError(
                msg(
                    "This run would take about {duration} on this server ({what}); it allows "
                    "{minutes:g} minutes per run. Lower the number of steps, the batch size or "
                    "the size of the model.",
                    duration=duration(seconds),
                    what=what,
                    minutes=self.max_run_minutes,
                )
            )

    def check(self, steps: int, params: int | None) -> None:
        if steps > self.max_steps:
            raise ConfigError(
                msg(
                    "This server allows at most {limit:,} steps per run (asked for {steps:,}); "
                    "the limit is set by whoever runs it.",
                    limit=self.max_steps,
                    steps=steps,
                )
            )
        if params is not None and params > self.max_params:
            raise ConfigError(
                msg(
                    "This model has {params:,} parameters; this server allows at most "
                    "{limit:,} per run.",
                    params=params,
                    limit=self.max_params,
                )
            )
