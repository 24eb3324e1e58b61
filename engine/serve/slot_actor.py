"""A training slot on a Ray cluster: the actor that trains runs for the hub (engine.serve.hub).

One actor per slot (one CPU, one torch thread, at the workers' nice), started by the hub.
It trains its runs in 0.05 s chunks as engine.serve.worker does: compatible runs (the hub
places them by engine.serve.groups' rules) train in one engine.stacked.Stack, joining and
leaving between chunks; every run posts its own patches (and a whole replica every
BASE_EVERY seconds, less often in a big group) to the hub, and its train() call returns its final message. Stop lands
within a chunk.

Imported only inside the cluster's processes, through engine.serve.hub.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections import OrderedDict, deque
from contextlib import suppress

from engine.serve import estimate, portable
from engine.serve.local import DATA_PER_WORKER, NICE
from engine.serve.worker import CHUNK, PATCHES_AT_ONCE, _message

BASE_EVERY = 2.0  # seconds between whole replicas a slot sends (a late watcher starts there)


class SlotWorker:
    """One training slot: trains its runs in one loop, compatible ones in one Stack (Ray
    actor, one CPU; a thread per train() call waits for its run's final message)."""

    def __init__(self, index: int, hub, threads: int = 1, nice: int = NICE):
        import torch

        from engine.stacked import keep_freed_memory

        torch.set_num_threads(threads)
        keep_freed_memory()
        with suppress(OSError):
            os.nice(nice)  # the app servers on the same machine first
        self.index, self.hub = index, hub
        self.store: OrderedDict[tuple, object] = OrderedDict()  # shared data by key
        self.stopping: set[str] = set()
        self.incoming: deque[tuple[str, Member]] = deque()  # runs to join at the next chunk
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.loop: threading.Thread | None = None

    def pid(self) -> int:
        return os.getpid()

    def measure(self):
        return estimate.measure()

    def stop(self, run_id: str) -> None:
        with self.lock:
            self.stopping.add(run_id)
            self.wake.notify()

    def _data(self, data: dict) -> None:
        import ray

        with self.lock:
            missing = [key for key in data if key not in self.store]
        values = ray.get([data[k] for k in missing])  # outside the lock: the loop trains on
        with self.lock:
            for key, raw in zip(missing, values, strict=True):
                self.store[key] = pickle.loads(raw)
            for key in data:
                self.store.move_to_end(key)
            while len(self.store) > max(DATA_PER_WORKER, len(data)):
                self.store.popitem(last=False)

    def train(self, run_id: str, blob: bytes, data: dict, patch_every: float) -> tuple:
        """Train until done or stopped, with the slot's other runs (a compatible one in
        their Stack); the final message (the whole training, pickled)."""
        try:
            self._data(data)
            with self.lock:
                trainable = portable.loads(blob, self.store.__getitem__)
            member = Member(trainable, patch_every)
        except Exception as e:  # reported to the page, never raised
            return ("failed", run_id, _message(e))
        with self.lock:
            self.incoming.append((run_id, member))
            if self.loop is None:
                self.loop = threading.Thread(target=self._loop, name="slot", daemon=True)
                self.loop.start()
            self.wake.notify()
        member.ended.wait()
        return member.final

    def _loop(self) -> None:
        """The slot's training loop: every run it trains, in 0.05 s chunks; joins, Stops
        and final messages between chunks."""
        from engine.stacked import Stack

        runs: dict[str, Member] = {}
        stack = Stack()

        def end(run_id: str, kind: str, payload) -> None:
            member = runs.pop(run_id)
            if member.trainable in stack.jobs:
                stack.leave(member.trainable)
            member.final = (kind, run_id, payload)
            member.ended.set()

        while True:
            with self.lock:
                while not runs and not self.incoming:
                    self.wake.wait()
                while self.incoming:
                    run_id, member = self.incoming.popleft()
                    runs[run_id] = member
                    if stack.accepts(member.trainable):
                        stack.join(member.trainable)  # takes its next step with the others
                stops = [r for r in runs if r in self.stopping]
                self.stopping -= set(stops)
            for run_id in stops:
                trainable = runs[run_id].trainable
                if trainable in stack.jobs:
                    stack.leave(trainable)
                end(run_id, "stopped", portable.dumps(trainable))
            if not runs:
                continue
            try:
                if stack.jobs:
                    stack.train_for(CHUNK)
                for member in runs.values():
                    if member.trainable not in stack.jobs:
                        member.trainable.train_for(CHUNK)
            except Exception as e:
                for run_id in list(runs):
                    end(run_id, "failed", _message(e))
                continue
            now = time.monotonic()
            spread = max(1.0, len(runs) / PATCHES_AT_ONCE)  # a big group: each run's patches rarer
            for run_id, member in list(runs.items()):
                trainable = member.trainable
                if trainable.done and trainable not in stack.jobs:
                    end(run_id, "done", portable.dumps(trainable))
                elif now - member.last >= member.patch_every * spread:
                    step = int(getattr(trainable, "step", 0))
                    patch = portable.dumps(member.outbox.patch())
                    others = len(stack.jobs) - 1 if trainable in stack.jobs else 0
                    self.hub.post.remote(run_id, ("patch", run_id, step, patch, others))
                    member.last = now
                    # a whole replica right after a patch (later ones build on it); in a
                    # big group, as the patches, each run's less often
                    if now - member.base >= BASE_EVERY * spread:
                        whole = portable.dumps(trainable)
                        self.hub.post.remote(run_id, ("base", run_id, step, whole))
                        member.base = now


class Member:
    """A run a slot trains: the training, what its watchers last got, its final message."""

    def __init__(self, trainable, patch_every: float):
        self.trainable, self.patch_every = trainable, patch_every
        self.outbox = portable.Outbox(trainable)
        self.last = self.base = time.monotonic()
        self.ended = threading.Event()
        self.final: tuple | None = None
