"""The training service: one per server. Pages submit trainings and watch; workers train.

A page builds a training (anything with the Trainable interface: a Job, several Jobs in
lockstep, the backprop ninja's manual loop ...) and submits it. The service answers with
a Handle: the training's replica in this process, kept up to date from the worker's
patches, plus its state (queued, running, stopping, stopped, done, failed) and place in
the queue. Trainings wait in the slots' first-come queue; each slot is a worker. The
run cache serves a finished run at once, and a run another session is training right now
is shared, not trained twice. A run nobody watches any more (its tabs closed) is stopped.

One thread of the service (the dispatcher) reads what the workers send, starts queued
runs on idle workers and replaces workers that died; pages never wait for it.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

from engine.data import Dataset
from engine.messages import msg
from engine.models import ConfigError
from engine.serve import groups, portable
from engine.serve.cache import RunCache
from engine.serve.estimate import Speed
from engine.serve.records import job_key, restore, snapshot
from engine.serve.slots import Limits, Slots
from engine.train import Job

PATCH_EVERY = 0.3  # seconds between a worker's patches: the fastest a page redraws
INBOX = 16  # patches kept for the next view() before the dispatcher applies them itself
RECONCILE_EVERY = 0.1  # seconds between the dispatcher's looks at slots and workers
LOST = msg(
    "The training process stopped unexpectedly (it may have run out of memory). "
    "Retry starts the run again."
)
UNWATCHED = msg("Stopped: nobody was watching it any more (its tabs were closed).")


@runtime_checkable
class Trainable(Protocol):
    """What a worker trains: steps taken so far, whether it is finished, and a time-boxed
    train_for. `train_config.steps` is the goal the progress bar measures."""

    step: int

    @property
    def done(self) -> bool: ...

    def train_for(self, seconds: float) -> int: ...


def jobs_of(trainable) -> dict[str, Job]:
    """The engine Jobs inside a training: a Job, several in lockstep, a wrapped one."""
    if isinstance(trainable, Job):
        return {"": trainable}
    if isinstance(inner := getattr(trainable, "jobs", None), dict):
        return {label: j for label, j in inner.items() if isinstance(j, Job)}
    if isinstance(inner := getattr(trainable, "job", None), Job):
        return {"": inner}
    return {}


def default_queue() -> int:
    """MAKEMORE_QUEUE (default 100): trainings that may wait for a slot."""
    return max(1, int(os.environ.get("MAKEMORE_QUEUE", "100")))


class Handle:
    """A training as the pages see it. Read the replica inside `with handle.view() as t:`."""

    def __init__(self, run_id: str, trainable, key: str | None, dataset: Dataset | None):
        self.id, self.trainable, self.key, self.dataset = run_id, trainable, key, dataset
        self.state = "queued"
        self.error: str | None = None
        self.note: str | None = None  # why it stopped, when not by a Stop
        self.resume_wanted = False  # Resume pressed while it was still stopping
        self.refs: dict = {}
        self.blob: bytes | None = None  # what a worker starts from: the training, pickled
        self.watchers: set[str] = set()
        self.wall = 0.0  # seconds spent running (queue and pauses excluded)
        self.since: float | None = None  # when it last started running
        self.step = self.start_step = getattr(trainable, "step", 0)
        self.estimate = 0.0  # seconds it should take on this server
        self.together = 0  # other runs its worker trains in one Stack with it (its patches)
        self.owned = True  # False: another server's run, watched here (a shared executor)
        self.lock = threading.RLock()
        self._inbox: deque[bytes] = deque()

    # --- read by the pages ------------------------------------------------------------

    @contextmanager
    def view(self):
        """The replica, up to date and not changing while the caller looks at it."""
        with self.lock:
            self._drain()
            yield self.trainable

    @property
    def active(self) -> bool:
        """Queued, training or on its way to stop: the worker may still send news."""
        return self.state in ("queued", "running", "stopping")

    def seconds(self) -> float:
        """Wall-clock time spent training, pauses and the queue left out."""
        running = time.monotonic() - self.since if self.since is not None else 0.0
        return self.wall + running

    # --- written by the dispatcher --------------------------------------------------

    def _patched(self, step: int, blob: bytes) -> None:
        """Patches wait for the next view(); a training nobody looks at is caught up here."""
        self.step = step
        self._inbox.append(blob)
        if len(self._inbox) > INBOX:
            with self.lock:
                self._drain()

    def _drain(self) -> None:
        while self._inbox:
            portable.apply(self.trainable, portable.loads(self._inbox.popleft(), self._lookup))

    def _replace(self, blob: bytes) -> None:
        trainable = portable.loads(blob, self._lookup)
        with self.lock:
            self._inbox.clear()
            self.trainable, self.blob = trainable, blob
            self.step = getattr(trainable, "step", self.step)

    def _lookup(self, key):
        return self.refs[key]

    def _run(self, running: bool) -> None:
        now = time.monotonic()
        if running and self.since is None:
            self.since = now
        elif not running and self.since is not None:
            self.wall += now - self.since
            self.since = None


class TrainingService:
    """The server's trainings: submit, watch, stop, resume; a cache and fair slots."""

    def __init__(
        self,
        executor,
        cache: RunCache,
        limits: Limits | None = None,
        lease: float = 60.0,
        queue_max: int | None = None,
        patch_every: float = PATCH_EVERY,
        notice: str | None = None,
    ):
        self.executor, self.cache = executor, cache
        self.notice = notice  # why the executor asked for could not be had (for the pages)
        self.limits = limits or Limits()
        self.groups = groups.Groups(groups.per_worker(executor))
        # a shared executor (Ray) keeps the slot queue of every server; else it is ours
        make_slots = getattr(executor, "make_slots", None)
        n = executor.n * self.groups.limit
        self.slots = make_slots(lease) if make_slots else Slots(n, lease=lease)
        self.shared = getattr(executor, "shared", False)
        self._prefix = getattr(executor, "prefix", "")  # run ids unique over all servers
        self.queue_max = queue_max or default_queue()
        self.patch_every = patch_every
        self.speed, self._measured = Speed(), False  # until a worker has measured itself
        self.handles: dict[str, Handle] = {}
        self.live: dict[str, Handle] = {}  # runs queued or training, by run key: shared
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._dispatch, name="training-service", daemon=True)
        self._thread.start()

    @classmethod
    def local(cls, cache: RunCache, slots: int, **kwargs) -> TrainingService:
        from engine.serve.local import LocalWorkers

        return cls(LocalWorkers(slots), cache, **kwargs)

    @classmethod
    def from_environment(cls, cache: RunCache, slots: int, **kwargs) -> TrainingService:
        """Local workers, or the Ray cluster of MAKEMORE_RAY_ADDRESS (engine.serve.executor)."""
        from engine.serve.executor import from_environment

        executor, notice = from_environment(slots)
        return cls(executor, cache, notice=notice, **kwargs)

    # --- what pages do --------------------------------------------------------------

    def submit(self, trainable, session: str, dataset: Dataset | None = None) -> tuple[Handle, str]:
        """Start a training from step 0; (handle, "new" | "cache" | "live").

        A Job whose run was trained before is served from the cache; one that another
        session is training right now is shared. Raises ConfigError when the run is over
        the server's limits or the queue is full.
        """
        jobs = list(jobs_of(trainable).values())
        steps = getattr(getattr(trainable, "train_config", None), "steps", 0)
        params = sum(j.model.num_params() for j in jobs) if jobs else None
        self.limits.check(steps, params)
        estimate = self.estimate(trainable)
        if jobs:
            batch = max(j.train_config.batch_size for j in jobs)
            what = msg(
                "{steps:,} steps of {batch:,} examples through {params:,} parameters",
                steps=steps,
                batch=batch,
                params=params,
            )
            self.limits.check_time(estimate, what)
        key = job_key(trainable) if isinstance(trainable, Job) else None
        # the cache and the restore outside the service's lock: a class asking for one
        # finished run reads it at once, and nobody's page waits meanwhile
        if key is not None and (record := self.cache.get(key)) is not None:
            restored = restore(record, trainable.splits, trainable.device)
            with self.lock:
                handle = self._new_handle(restored, key, dataset)
                handle.state = "done"
            return handle, "cache"
        if (away := getattr(self.executor, "unavailable", None)) is not None:
            raise ConfigError(away)
        with self.lock:
            shared = self.live.get(key) if key is not None else None
            if shared is not None and shared.active and session not in shared.watchers:
                return self._watched(shared, session)
            handle = self._new_handle(trainable, key, dataset)
            handle.blob = portable.dumps(trainable, handle.refs)
            if self.shared:  # the hub decides, at once for all servers: ours, or joined
                found = self.executor.claim(
                    key, handle.id, handle.blob, handle.refs, self.patch_every
                )
                if found is not None:
                    del self.handles[handle.id]
                    shared = self._join(trainable, key, dataset, found)
                    if shared.state == "done":  # just finished there
                        self._keep(shared)  # into the shared run cache, for the next one
                        return shared, "cache"
                    return self._watched(shared, session)
            if sum(h.state == "queued" for h in self.handles.values()) > self.queue_max:
                del self.handles[handle.id]
                if self.shared:
                    self.executor.unpublish(key, handle.id)
                raise ConfigError(
                    msg(
                        "The server is full: {n} trainings are waiting for a slot already. "
                        "Try again in a few minutes.",
                        n=self.queue_max,
                    )
                )
            handle.estimate = estimate
            handle.watchers.add(session)
            if key is not None:
                self.live[key] = handle
            self.slots.request(handle.id, session)
        return handle, "new"

    def _watched(self, shared: Handle, session: str) -> tuple[Handle, str]:
        shared.watchers.add(session)
        self.slots.request(shared.id, session)
        return shared, "live"

    def _join(self, trainable, key: str, dataset: Dataset | None, found: tuple) -> Handle:
        """Another server's run with this key (the hub's answer), as a handle here."""
        run_id, blob, state = found
        if (known := self.handles.get(run_id)) is not None:  # shown here already
            return known
        handle = Handle(run_id, trainable, key, dataset)
        portable.dumps(trainable, handle.refs)  # the data it refers to: ours, the same
        handle._replace(blob)
        handle.start_step, handle.owned = handle.step, False
        handle.state = state
        handle._run(state == "running")
        self.handles[run_id] = handle
        if handle.active:
            self.live[key] = handle
        return handle

    def estimate(self, trainable) -> float:
        """Seconds the training's Jobs should take on this server's workers (0: unknown).
        A Job's examples per step are its batch size, or its `examples_per_step` (the model
        zoo's batch of words predicts every position of each: batch size x block size)."""
        return sum(
            self.speed.seconds(
                j.model.num_params(),
                getattr(j, "examples_per_step", j.train_config.batch_size),
                j.train_config.steps - j.step,
            )
            for j in jobs_of(trainable).values()
        )

    def long(self, handle: Handle) -> bool:
        """Estimated to take more than a few minutes: worth a word before it starts."""
        return handle.estimate > 60 * self.limits.warn_minutes

    def watch(self, handle: Handle, session: str) -> int:
        """A page looks at its training: keeps it wanted; its place in the queue (0: none)."""
        with self.lock:
            if not handle.active:
                return 0
            handle.watchers.add(session)
            position = self.slots.request(handle.id, session)
            if handle.state != "queued":
                return 0
            if self.groups.limit == 1:
                return position
            # holding a slot but no worker yet (groups: more slots than workers) counts too
            waiting = [o for o in self.slots.holders if self._queued(o)]
            return waiting.index(handle.id) + 1 if handle.id in waiting else position + len(waiting)

    def stop(self, handle: Handle, session: str) -> None:
        """This session stops watching; the worker stops unless another session watches."""
        with self.lock:
            handle.watchers.discard(session)
            self.slots.release(handle.id, session)
            holders = self._holders(handle)
            # on a shared executor, sessions of other servers count too
            if holders - {session} if self.shared else handle.watchers & holders:
                return
            self._stop(handle, note=None)

    def resume(self, handle: Handle, session: str) -> None:
        """Continue a stopped training where it left off, on the next free worker."""
        with self.lock:
            if handle.state not in ("stopped", "stopping"):
                return
            handle.watchers.add(session)
            handle.note = None
            handle.owned = True  # whoever resumes a run trains it from here
            if handle.state == "stopping":  # its checkpoint is on the way
                handle.resume_wanted = True
            else:
                handle.state = "queued"
            self.slots.request(handle.id, session)

    def forget(self, handle: Handle, session: str) -> None:
        """Reset: this session is done with the training."""
        self.stop(handle, session)

    def leave(self, session: str) -> None:
        """A session is gone (its tab closed): it watches nothing any more."""
        with self.lock:
            for handle in self.handles.values():
                handle.watchers.discard(session)
            self.slots.leave(session)

    def counts(self) -> tuple[int, int]:
        """(trainings running, trainings waiting)."""
        with self.lock:
            states = [h.state for h in self.handles.values()]
        return states.count("running") + states.count("stopping"), states.count("queued")

    def watchers(self) -> int:
        """Sessions watching an active training: how busy the server's pages are."""
        with self.lock:
            return len({s for h in self.handles.values() if h.active for s in h.watchers})

    def close(self) -> None:
        """Stop the dispatcher and every worker process."""
        self._closed.set()
        self._thread.join(timeout=5)
        self.executor.close()

    # --- the dispatcher --------------------------------------------------------------

    def _queued(self, run_id: str) -> bool:
        return (h := self.handles.get(run_id)) is not None and h.state == "queued"

    def _new_handle(self, trainable, key, dataset) -> Handle:
        handle = Handle(f"{self._prefix}run-{next(self._ids)}", trainable, key, dataset)
        self.handles[handle.id] = handle
        return handle

    def _holders(self, handle: Handle) -> set[str]:
        return set(self.slots.holders.get(handle.id, {})) | set(self.slots.queue.get(handle.id, {}))

    def _stop(self, handle: Handle, note: str | None) -> None:
        if handle.state == "running":
            handle.state, handle.note = "stopping", note
            self.executor.stop(handle.id)
        elif handle.state == "queued":
            handle.state, handle.note = "stopped", note
        self._release(handle)

    def _release(self, handle: Handle) -> None:
        """The training holds no slot any more and is no longer shared as a live run."""
        self.slots.release_all(handle.id)
        if handle.key is not None and self.live.get(handle.key) is handle:
            del self.live[handle.key]
        if self.shared and handle.owned:
            self.executor.unpublish(handle.key, handle.id)

    def _dispatch(self) -> None:
        last = 0.0
        while not self._closed.is_set():
            try:
                message = self.executor.results.get(timeout=RECONCILE_EVERY)
            except queue.Empty:
                message = None
            except (EOFError, OSError):
                return
            if message is not None:
                self._receive(message)
            if time.monotonic() - last >= RECONCILE_EVERY:
                last = time.monotonic()
                self._reconcile()

    def _receive(self, message) -> None:
        kind, run_id = message[0], message[1]
        if kind == "ready":  # the fastest worker's measure: least disturbed by other work
            measured = message[3]
            self.speed = (
                Speed(
                    min(self.speed.per_step, measured.per_step),
                    min(self.speed.per_unit, measured.per_unit),
                )
                if self._measured
                else measured
            )
            self._measured = True
            return
        handle = self.handles.get(run_id)
        if handle is None:
            return
        if kind == "patch":
            handle._patched(message[2], message[3])
            handle.together = message[4]  # as the worker's Stack has it
            return
        if kind in ("started", "base"):  # a shared executor's: running; a whole replica
            with self.lock:
                if kind == "base":
                    handle._replace(message[3])
                if handle.state == "queued":
                    handle.state = "running"
                    handle._run(True)
            return
        self.executor.released(run_id)
        with self.lock:
            self.groups.ended(run_id)
            handle._run(False)
            handle.together = 0
            if kind == "failed":
                handle.state, handle.error = "failed", message[2]
            else:
                handle._replace(message[2])
                handle.state = {"done": "done", "stopped": "stopped"}[kind]
            if kind == "done":
                self._keep(handle)
            if kind == "stopped" and handle.resume_wanted:
                handle.state, handle.resume_wanted = "queued", False
                return
            self._release(handle)

    def _keep(self, handle: Handle) -> None:
        """A finished training's Jobs go into the run cache."""
        dataset = handle.dataset
        for job in jobs_of(handle.trainable).values():
            key = job_key(job)
            if key is None or job.final is None or dataset is None:
                continue
            if job.splits.key.startswith(dataset.fingerprint) and self.cache.get(key) is None:
                self.cache.put(snapshot(job, dataset))

    def _reconcile(self) -> None:
        with self.lock:
            for run_id in self.executor.replace_dead():
                self.groups.ended(run_id)
                if (handle := self.handles.get(run_id)) is not None:
                    handle._run(False)
                    handle.together = 0
                    handle.state, handle.error = "failed", LOST
                    self._release(handle)
            self.slots.counts()  # expire leases
            wanted = set(self.slots.holders)
            for handle in list(self.handles.values()):
                if (handle.state == "running" and handle.id not in wanted) or (
                    handle.state == "queued" and handle.id not in wanted | set(self.slots.queue)
                ):
                    self._stop(handle, note=UNWATCHED)
            idle = self.executor.idle()
            for run_id in list(self.slots.holders):
                handle = self.handles.get(run_id)
                if handle is None or handle.state != "queued" or not handle.owned:
                    continue
                index = self.groups.place(handle.trainable, idle)  # idle, or a group's worker
                if index is None:
                    continue
                handle.state = "running"
                handle._run(True)
                self.groups.started(index, run_id, handle.trainable)
                self.executor.start(index, run_id, handle.blob, handle.refs, self.patch_every)
