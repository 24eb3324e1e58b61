"""The hub and the slot actors: what a Ray cluster keeps for every app server of a course.

engine.serve.ray_workers connects an app server to them (its docstring tells the whole
design). The **hub** is one named, detached actor (`makemore-hub` in the namespace
`makemore`, no CPU of its own; calls run one at a time): the slot queue of every server's
sessions (an engine.serve.slots.Slots, leases and all), the registry of runs in progress
by run key, the slot actors, and for each run the messages its slot sent (the latest whole
replica, a "base" every BASE_EVERY seconds, and the patches since). A **slot actor**
(SlotWorker; one CPU, one torch thread, several threads of its own) trains one run at a
time in 0.05 s chunks, as engine.serve.worker does, and takes Stop in a second thread.

Imported only inside the cluster's processes and by ray_workers once Ray is imported.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections import OrderedDict, deque
from contextlib import suppress

from engine.serve import estimate, portable
from engine.serve.local import DATA_PER_WORKER, NICE
from engine.serve.service import LOST
from engine.serve.worker import CHUNK, _message

log = logging.getLogger(__name__)

NAMESPACE = "makemore"
HUB = "makemore-hub"
BASE_EVERY = 2.0  # seconds between whole replicas a slot sends (a late watcher starts there)
KEEP_FINISHED = 120.0  # seconds the hub keeps a finished run's last messages
FINAL = ("done", "stopped", "failed")
GONE = "The Ray cluster restarted and lost this run. Retry starts it again."


class SlotWorker:
    """One training slot: trains one run at a time (Ray actor, one CPU, several threads)."""

    def __init__(self, index: int, hub, threads: int = 1, nice: int = NICE):
        import torch

        torch.set_num_threads(threads)
        with suppress(OSError):
            os.nice(nice)  # the app servers on the same machine first
        self.index, self.hub = index, hub
        self.store: OrderedDict[tuple, object] = OrderedDict()  # shared data by key
        self.stopping: set[str] = set()
        self.lock = threading.Lock()

    def pid(self) -> int:
        return os.getpid()

    def measure(self):
        return estimate.measure()

    def stop(self, run_id: str) -> None:
        with self.lock:
            self.stopping.add(run_id)

    def _data(self, data: dict) -> None:
        import ray

        missing = [key for key in data if key not in self.store]
        for key, raw in zip(missing, ray.get([data[k] for k in missing]), strict=True):
            self.store[key] = pickle.loads(raw)
        for key in data:
            self.store.move_to_end(key)
        while len(self.store) > max(DATA_PER_WORKER, len(data)):
            self.store.popitem(last=False)

    def train(self, run_id: str, blob: bytes, data: dict, patch_every: float) -> tuple:
        """Train until done or stopped; the final message (the whole training, pickled)."""
        try:
            self._data(data)
            trainable = portable.loads(blob, self.store.__getitem__)
            outbox = portable.Outbox(trainable)
        except Exception as e:  # reported to the page, never raised
            return ("failed", run_id, _message(e))
        last = base = time.monotonic()
        try:
            while True:
                with self.lock:
                    if run_id in self.stopping:
                        self.stopping.discard(run_id)
                        return ("stopped", run_id, portable.dumps(trainable))
                trainable.train_for(CHUNK)
                if trainable.done:
                    return ("done", run_id, portable.dumps(trainable))
                now = time.monotonic()
                if now - last >= patch_every:
                    step = int(getattr(trainable, "step", 0))
                    patch = portable.dumps(outbox.patch())
                    self.hub.post.remote(run_id, ("patch", run_id, step, patch))
                    last = now
                    if now - base >= BASE_EVERY:  # right after a patch: later ones build on it
                        whole = portable.dumps(trainable)
                        self.hub.post.remote(run_id, ("base", run_id, step, whole))
                        base = now
        except Exception as e:
            return ("failed", run_id, _message(e))


class Run:
    """What the hub keeps of a run: its latest whole replica and the messages since."""

    def __init__(self, key: str | None, blob: bytes):
        self.key, self.seq, self.step = key, 0, 0
        self.base = (0, blob)  # (seq, whole replica)
        self.log: deque[tuple[int, tuple]] = deque()
        self.state, self.ended = "queued", None
        self.patched = False  # a slot sent a patch: it trained
        self.final: bytes | None = None  # the whole training, once done


class Hub:
    """The course's shared state (a named, detached Ray actor; calls run one at a time)."""

    def __init__(self, n: int, lease: float, threads: int = 1, nice: int = NICE):
        import ray

        from engine.serve.slots import Slots

        self.slots = Slots(n, lease=lease)
        slot = ray.remote(num_cpus=1, max_concurrency=4, max_restarts=-1)(SlotWorker)
        me = ray.get_runtime_context().current_actor
        self.workers = [slot.remote(i, me, threads, nice) for i in range(n)]
        self.measures = [w.measure.remote() for w in self.workers]
        self.speeds: list = []
        self.busy: dict[int, str] = {}  # slot -> run it trains
        self.trains: dict = {}  # ObjectRef of train() -> (slot, run id)
        self.pending: deque[tuple] = deque()  # starts waiting for a slot to finish its last
        self.runs: dict[str, Run] = {}
        self.live: dict[str, str] = {}  # run key -> run id, while queued or training
        self.started = 0  # runs started on a slot, ever
        self.starts: dict[str, tuple] = {}  # run id -> how it was started (to start it again)
        self.restarted: dict[int, float] = {}  # slot -> when Ray last restarted its actor

    # --- the shared slot queue (engine.serve.slots.Slots, for every server's sessions) --

    def hello(self) -> int:
        return self.slots.n

    def request(self, owner: str, session: str) -> int:
        return self.slots.request(owner, session)

    def release(self, owner: str, session: str) -> None:
        self.slots.release(owner, session)

    def release_all(self, owner: str) -> None:
        self.slots.release_all(owner)

    def leave(self, session: str) -> None:
        self.slots.leave(session)

    def table(self) -> tuple[dict, dict]:
        """(holders, queue) after expiring leases: who trains, who waits, by whom."""
        self.slots.counts()
        with self.slots.lock:
            return (
                {o: dict(s) for o, s in self.slots.holders.items()},
                {o: dict(s) for o, s in self.slots.queue.items()},
            )

    # --- the registry of runs in progress ---------------------------------------------

    def publish(self, key: str | None, run_id: str, blob: bytes) -> None:
        """A server queued a new run: other servers asking for the same key watch it."""
        self.runs[run_id] = Run(key, blob)
        if key is not None:
            self.live[key] = run_id

    def unpublish(self, key: str | None, run_id: str) -> None:
        """The run is no longer shared (stopped, finished); one that never started ends."""
        if key is not None and self.live.get(key) == run_id:
            del self.live[key]
        run = self.runs.get(run_id)
        pending = any(p[0] == run_id for p in self.pending)
        if run is not None and run.state == "queued" and run.ended is None and not pending:
            self.post(run_id, ("stopped", run_id, run.base[1]))

    def join(self, key: str):
        """The run in progress with this key, or just finished (state "done", the whole
        training): (run id, seq, whole replica, state), or None."""
        run_id = self.live.get(key)
        run = self.runs.get(run_id) if run_id is not None else None
        if run is None or (run.ended is not None and run.final is None):
            return None
        if run.final is not None:
            return run_id, run.seq, run.final, "done"
        return run_id, run.base[0], run.base[1], run.state

    # --- training ---------------------------------------------------------------------

    def start(self, run_id: str, blob: bytes, data: dict, patch_every: float) -> None:
        run = self.runs.get(run_id)
        if run is None or run.ended is not None:  # resumed: a run of its own again
            run = self.runs[run_id] = Run(getattr(run, "key", None), blob)
        run.state = "queued"
        self.pending.append((run_id, blob, data, patch_every, 0))
        self._dispatch()

    def stop(self, run_id: str) -> None:
        for index, busy in self.busy.items():
            if busy == run_id:
                self.workers[index].stop.remote(run_id)
                return
        for item in list(self.pending):
            if item[0] == run_id:
                self.pending.remove(item)
                self.post(run_id, ("stopped", run_id, item[1]))

    def post(self, run_id: str, message: tuple) -> None:
        """A message for the servers that show this run (from a slot, or the hub's own)."""
        run = self.runs.get(run_id)
        if run is None or run.ended is not None:  # a patch that overtook the final message
            return
        kind = message[0]
        if kind == "base":  # sent right after a patch: the same seq, whoever has it is current
            run.base, run.step = (run.seq, message[3]), message[2]
            run.log.clear()
            return
        run.seq += 1
        run.log.append((run.seq, message))
        if kind == "patch":
            run.step, run.patched = message[2], True
        elif kind == "started":
            run.state = "running"
        elif kind in FINAL:
            run.state, run.ended = kind, time.monotonic()
            if kind == "done":  # served to whoever asks before it is in the run cache
                run.final = message[2]
            elif run.key is not None and self.live.get(run.key) == run_id:
                del self.live[run.key]

    def _dispatch(self) -> None:
        while self.pending and len(self.busy) < len(self.workers):
            free = [i for i in range(len(self.workers)) if i not in self.busy]
            index = min(free, key=lambda i: self.restarted.get(i, 0.0))  # healthy slots first
            run_id, blob, data, patch_every, attempts = self.pending.popleft()
            self.starts[run_id] = (run_id, blob, data, patch_every, attempts)
            ref = self.workers[index].train.remote(run_id, blob, data, patch_every)
            self.trains[ref] = (index, run_id)
            self.busy[index] = run_id
            self.started += 1
            self.post(run_id, ("started", run_id))

    def _reap(self) -> None:
        """The slots' finished trainings: their final messages; a dead slot's run is lost."""
        import ray

        if self.trains:
            ready, _ = ray.wait(list(self.trains), num_returns=len(self.trains), timeout=0)
            for ref in ready:
                index, run_id = self.trains.pop(ref)
                self.busy.pop(index, None)
                try:
                    message = ray.get(ref)
                except Exception as e:  # the actor died (killed, out of memory): Ray restarts it
                    self.restarted[index] = time.monotonic()
                    start = self.starts.get(run_id)
                    run = self.runs.get(run_id)
                    if start is not None and start[4] < 2 and run is not None and not run.patched:
                        # it never trained (the slot was still restarting): again, elsewhere
                        self.pending.appendleft((*start[:4], start[4] + 1))
                        continue
                    log.warning("Run %s lost on slot %d: %s", run_id, index, e)
                    message = ("failed", run_id, LOST)
                self.post(run_id, message)
            self._dispatch()
        if self.measures:
            ready, _ = ray.wait(self.measures, num_returns=len(self.measures), timeout=0)
            for ref in ready:
                self.measures.remove(ref)
                with suppress(Exception):
                    self.speeds.append(ray.get(ref))
        now = time.monotonic()
        for run_id, run in list(self.runs.items()):
            if run.ended is not None and now - run.ended > KEEP_FINISHED:
                del self.runs[run_id]
                if run.key is not None and self.live.get(run.key) == run_id:
                    del self.live[run.key]

    def poll(self, cursors: dict[str, int], speeds_seen: int = 0) -> tuple[list, list]:
        """The messages after each cursor (run id -> last seq seen), and new speed measures.

        A server behind the latest base gets the base first (a whole replica), then the
        patches after it."""
        self._reap()
        out = []
        for run_id, cursor in cursors.items():
            run = self.runs.get(run_id)
            if run is None:
                out.append((run_id, cursor, ("failed", run_id, GONE)))
                continue
            if cursor < run.base[0]:
                out.append((run_id, run.base[0], ("base", run_id, run.step, run.base[1])))
            out += [(run_id, seq, m) for seq, m in run.log if seq > max(cursor, run.base[0])]
        return out, self.speeds[speeds_seen:]

    def pids(self) -> list[int]:
        """The slot actors' process ids (a test kills one)."""
        import ray

        return ray.get([w.pid.remote() for w in self.workers])

    def stats(self) -> dict:
        return {
            "started": self.started,
            "busy": dict(self.busy),
            "pending": len(self.pending),
            "hub_pid": os.getpid(),
        }
