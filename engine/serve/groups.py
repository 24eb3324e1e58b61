"""Co-batching in the training service: compatible runs share a worker and train together.

The service places each run it starts (place): on an idle worker if there is one (every
core trains), else into the group of a worker that trains runs of the same group key
(engine.stacked.group_key: same shapes, batch size, optimizer and data) with room left
(MAKEMORE_GROUP runs at most; the default, 1, turns grouping off), else it waits. A worker trains its runs in
one engine.stacked.Stack; each run keeps its own handle, patches, Stop, Resume and cache
entry. The slots then hand out up to workers x MAKEMORE_GROUP trainings at once.
"""

from __future__ import annotations

from engine.stacked import group_key, group_limit


def per_worker(executor) -> int:
    """Runs one worker may train at once: MAKEMORE_GROUP where the executor can group."""
    return group_limit() if getattr(executor, "groups", False) else 1


class Groups:
    """Which runs each worker trains, and under which group key (None: alone)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.workers: dict[int, tuple[tuple | None, set[str]]] = {}  # index -> (key, runs)
        self.where: dict[str, int] = {}  # run -> worker index

    def place(self, trainable, idle: list[int]) -> int | None:
        """The worker to start `trainable` on (taken from `idle` when idle), or None: wait."""
        return self.place_key(group_key(trainable) if self.limit > 1 else None, idle)

    def place_key(self, key: tuple | None, idle: list[int]) -> int | None:
        """place() for a run of group key `key` (None: it trains alone)."""
        key = key if self.limit > 1 else None
        if idle:
            return idle.pop(0)
        if key is None:
            return None
        room = [
            (len(runs), index)
            for index, (k, runs) in self.workers.items()
            if k == key and len(runs) < self.limit
        ]
        return min(room)[1] if room else None

    def started(self, index: int, run_id: str, trainable) -> None:
        self.started_key(index, run_id, group_key(trainable) if self.limit > 1 else None)

    def started_key(self, index: int, run_id: str, key: tuple | None) -> None:
        group, runs = self.workers.get(index, (None, set()))
        if not runs:
            group = key if self.limit > 1 else None
        runs.add(run_id)
        self.workers[index] = (group, runs)
        self.where[run_id] = index

    def ended(self, run_id: str) -> None:
        index = self.where.pop(run_id, None)
        if index is None:
            return
        _, runs = self.workers[index]
        runs.discard(run_id)
        if not runs:
            del self.workers[index]

    def members(self, run_id: str) -> set[str]:
        index = self.where.get(run_id)
        return set(self.workers[index][1]) if index is not None else set()
