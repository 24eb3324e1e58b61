"""Training slots as local worker processes: the default executor of the training service.

Each slot is a process started from a fork server (a clean Python that imported torch
once, so a worker starts in a fraction of a second and never inherits the server's
threads), with one torch thread unless MAKEMORE_THREADS says otherwise. A worker that
dies is replaced; the service learns which run it was training.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
from collections import OrderedDict
from dataclasses import dataclass, field

from engine.serve import worker as worker_main

DATA_PER_WORKER = 8  # datasets and splits a worker keeps (least recently used go first)
NICE = 10  # workers' scheduling priority below the server's: a page's rerun never waits for a step


@dataclass
class Worker:
    index: int
    process: mp.process.BaseProcess
    commands: object
    runs: set = field(default_factory=set)  # the runs it trains (several: a group)
    data: OrderedDict = field(default_factory=OrderedDict)  # keys the worker holds


class LocalWorkers:
    """n worker processes fed through one command queue each, one results queue for all."""

    groups = True  # a worker trains a group of compatible runs (engine.serve.groups)

    def __init__(self, n: int, threads: int | None = None, nice: int | None = None):
        self.ctx = mp.get_context("forkserver")
        self.ctx.set_forkserver_preload(["engine.serve.worker"])
        self.threads = threads or int(os.environ.get("MAKEMORE_THREADS", "1"))
        self.nice = int(os.environ.get("MAKEMORE_WORKER_NICE", NICE)) if nice is None else nice
        self.results = self.ctx.Queue()
        self.workers = [self._spawn(i) for i in range(n)]

    def _spawn(self, index: int) -> Worker:
        commands = self.ctx.Queue()
        process = self.ctx.Process(
            target=worker_main.main,
            args=(index, commands, self.results, self.threads, self.nice),
            name=f"makemore-worker-{index}",
            daemon=True,
        )
        process.start()
        return Worker(index, process, commands)

    @property
    def n(self) -> int:
        return len(self.workers)

    def idle(self) -> list[int]:
        return [w.index for w in self.workers if not w.runs and w.process.is_alive()]

    def start(self, index: int, run_id: str, blob: bytes, refs: dict, patch_every: float) -> None:
        w = self.workers[index]
        for key, obj in refs.items():
            if key in w.data:
                w.data.move_to_end(key)
                continue
            w.commands.put(("data", key, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))
            w.data[key] = True
            while len(w.data) > DATA_PER_WORKER:
                old, _ = w.data.popitem(last=False)
                w.commands.put(("forget", old))
        w.runs.add(run_id)
        w.commands.put(("start", run_id, blob, patch_every))

    def stop(self, run_id: str) -> None:
        for w in self.workers:
            if run_id in w.runs:
                w.commands.put(("stop", run_id))

    def released(self, run_id: str) -> None:
        """The worker training run_id sent it back (finished, stopped or failed)."""
        for w in self.workers:
            w.runs.discard(run_id)

    def replace_dead(self) -> list[str]:
        """Start a new process for every worker that died; the runs they were training."""
        lost = []
        for i, w in enumerate(self.workers):
            if w.process.exitcode is not None:
                lost += sorted(w.runs)
                self.workers[i] = self._spawn(i)
        return lost

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers if w.process.pid]

    def close(self, timeout: float = 5.0) -> None:
        """Ask every worker to quit, then make sure: no process outlives the service."""
        for w in self.workers:
            if w.process.is_alive():
                w.commands.put(("quit",))
        for w in self.workers:
            w.process.join(timeout)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(1.0)
        for q in [self.results, *(w.commands for w in self.workers)]:
            q.cancel_join_thread()
            q.close()
