"""The server's runs: the cache, the slots, and the runs in progress that sessions share."""

from __future__ import annotations

import threading

from engine.data import Dataset, Splits
from engine.models import ModelConfig
from engine.serve.cache import RunCache
from engine.serve.records import job_key, restore, run_key, snapshot
from engine.serve.slots import Limits, Slots
from engine.train import Job, TrainConfig


class Hub:
    """The server's runs: the cache, the slots, and the runs in progress sessions share.

    open() serves a run from the cache when it was trained before, hands out the same Job
    when another session is training it right now (so it is watched, not trained twice),
    and otherwise starts one. A run in progress is advanced by whichever of its sessions
    holds its lock; when it finishes it goes into the cache.
    """

    def __init__(
        self, cache: RunCache, slots: Slots, limits: Limits | None = None, idle: float = 600.0
    ):
        self.cache, self.slots, self.idle = cache, slots, idle
        self.limits = limits or Limits()
        self.live: dict[str, Job] = {}  # runs in progress by key, forgotten after `idle` s
        self.touched: dict[str, float] = {}
        self.locks: dict[str, threading.Lock] = {}
        self.lock = threading.Lock()

    def open(
        self,
        dataset: Dataset,
        config: ModelConfig,
        train: TrainConfig,
        splits: Splits,
        device: str = "cpu",
    ) -> tuple[Job, str]:
        """(job, where from): "cache" (finished), "live" (another session's) or "new"."""
        self.limits.check(train.steps, None)
        key = run_key(splits.key, config, train)
        if (record := self.cache.get(key)) is not None:
            return restore(record, splits, device), "cache"
        with self.lock:
            now = self.slots.clock()
            for stale in [k for k, t in self.touched.items() if now - t > self.idle]:
                self.live.pop(stale, None)
                self.touched.pop(stale)
            if (job := self.live.get(key)) is not None and job.device == device:
                return job, "live"
        job = Job(config, train, splits, dataset.vocab_size, device=device)
        self.limits.check(train.steps, job.model.num_params())
        with self.lock:
            self.touched[key] = now
            return self.live.setdefault(key, job), "new"

    def advance(self, owner: str, session: str, train) -> int:
        """Call train() when `owner` holds a slot and no other session is training it.

        Returns 0 when it had its turn (or another session is training it), else its place
        in the queue for a slot.
        """
        if position := self.slots.request(owner, session):
            return position
        with self.lock:
            lock = self.locks.setdefault(owner, threading.Lock())
            if owner in self.live:
                self.touched[owner] = self.slots.clock()
        if lock.acquire(blocking=False):
            try:
                train()
            finally:
                lock.release()
        return 0

    def finished(self, owner: str, session: str, jobs: list[Job], dataset: Dataset) -> None:
        """Free the slot and keep every finished job's result in the cache."""
        self.slots.release(owner, session)
        for job in jobs:
            key = job_key(job)
            if (
                key is None
                or job.final is None
                or not job.splits.key.startswith(dataset.fingerprint)
            ):
                continue
            if self.cache.get(key) is None:
                self.cache.put(snapshot(job, dataset))
            with self.lock:
                if self.live.get(key) is job:
                    del self.live[key], self.touched[key]
        with self.lock:
            self.locks.pop(owner, None)

    def stopped(self, owner: str, session: str) -> None:
        """A session stopped driving `owner` (Stop, Reset, a new run)."""
        self.slots.release(owner, session)
