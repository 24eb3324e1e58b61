"""Finished runs as records, a run cache shared by sessions, and fair training slots.

A run is identified by what determines its numbers: the data (dataset fingerprint, block
size, shuffles), the model config and the training config (seed and steps included).
Two runs with the same key train the same weights, so a run trained once, by any
student or by the teacher with the CLI, can be served to everyone from the cache.

Records are saved with torch.save and loaded with torch.load(weights_only=True): only
tensors, numbers and strings, never pickled code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from engine import models
from engine.data import Dataset, Splits
from engine.models import ConfigError, ModelConfig
from engine.train import Job, TrainConfig

FORMAT = "makemore-playground-run/1"
CONFIGS = {c.kind: c for c in (models.MLPConfig, models.DeepConfig, models.WaveNetConfig)}


def run_key(splits_key: str, config: ModelConfig, train: TrainConfig) -> str:
    """What determines a run's numbers, hashed: equal keys train equal weights."""
    spec = {
        "data": splits_key,
        "model": {"kind": config.kind, **dataclasses.asdict(config)},
        "train": dataclasses.asdict(train),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def job_key(job: Job) -> str | None:
    """The cache key of a Job, or None when its data carry no key (hand-made Splits)."""
    if not isinstance(job, Job) or not job.splits.key:
        return None
    return run_key(job.splits.key, job.config, job.train_config)


def config_from_dict(d: dict) -> ModelConfig:
    d = dict(d)
    cls = CONFIGS.get(d.pop("kind", None))
    if cls is None:
        raise ConfigError("Unknown model family in this file.")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def train_config_from_dict(d: dict) -> TrainConfig:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in names})


@dataclass
class Record:
    """Everything a finished run leaves behind: weights, loss history and what it was."""

    meta: dict  # JSON-able: key, dataset, itos, model, train, final, evals, steps, seconds, ...
    state: dict[str, torch.Tensor]
    lossi: torch.Tensor  # log10 minibatch loss per step, float32

    @property
    def key(self) -> str:
        return self.meta["key"]

    @property
    def config(self) -> ModelConfig:
        return config_from_dict(self.meta["model"])

    @property
    def train_config(self) -> TrainConfig:
        return train_config_from_dict(self.meta["train"])

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        payload = {"format": FORMAT, "meta": json.dumps(self.meta), "state": self.state}
        torch.save({**payload, "lossi": self.lossi}, buf)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Record:
        """Read a saved record; anything else raises ConfigError. Never unpickles code."""
        try:
            obj = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
            if not isinstance(obj, dict) or obj.get("format") != FORMAT:
                raise ValueError
            meta, state, lossi = json.loads(obj["meta"]), obj["state"], obj["lossi"]
            if not (
                isinstance(state, dict) and all(isinstance(t, torch.Tensor) for t in state.values())
            ):
                raise ValueError
            record = cls(meta, state, lossi.float())
            record.config, record.train_config  # noqa: B018 - both must parse
        except Exception as e:
            raise ConfigError("This is not a model saved by makemore playground.") from e
        return record


def describe(job: Job, dataset: Dataset) -> dict:
    """A Job's meta data as a Record keeps it (JSON-able, no tensors)."""
    return {
        "key": job_key(job) or run_key("", job.config, job.train_config),
        "dataset": dataset.name,
        "fingerprint": dataset.fingerprint,
        "splits": job.splits.key,
        "itos": dataset.itos,
        "model": {"kind": job.config.kind, **dataclasses.asdict(job.config)},
        "train": dataclasses.asdict(job.train_config),
        "params": job.model.num_params(),
        "steps": job.step,
        "seconds": job.seconds,
        "final": job.final,
        "evals": job.evals,
        "created": time.time(),
    }


def snapshot(job: Job, dataset: Dataset) -> Record:
    """A finished (or stopped) Job as a Record."""
    meta = describe(job, dataset)
    state = {k: v.cpu() for k, v in job.model.state_dict().items()}
    return Record(meta, state, torch.tensor(job.lossi, dtype=torch.float32))


def restore(record: Record, splits: Splits, device: str = "cpu") -> Job:
    """The Job a record came from, as it was when it finished (ready to sample and evaluate)."""
    job = Job(record.config, record.train_config, splits, len(record.meta["itos"]), device=device)
    job.model.load_state_dict({k: v.to(device) for k, v in record.state.items()})
    job.lossi = record.lossi.tolist()
    job.evals = [dict(e) for e in record.meta["evals"]]
    job.final = dict(record.meta["final"]) if record.meta["final"] else None
    job.step, job.seconds = record.meta["steps"], record.meta["seconds"]
    return job


# --- the cache --------------------------------------------------------------------------


def default_directory() -> Path | None:
    """MAKEMORE_RUN_CACHE_DIR, else ~/.cache/makemore-playground/runs; "" switches disk off."""
    where = os.environ.get("MAKEMORE_RUN_CACHE_DIR")
    if where == "":
        return None
    return Path(where) if where else Path.home() / ".cache" / "makemore-playground" / "runs"


def default_max_bytes() -> int:
    """MAKEMORE_RUN_CACHE_MB (default 512): the disk the cached runs may take."""
    return int(float(os.environ.get("MAKEMORE_RUN_CACHE_MB", "512")) * 2**20)


class RunCache:
    """Finished runs by key: the most recent in memory, all of them on disk (LRU-bounded).

    Every record is a `<key>.pt` file plus a small `<key>.json` with its meta, so listing
    the cache reads no weights. A read touches the file; when the files exceed max_bytes
    the least recently used runs go first. Thread-safe; several processes (the app and
    the CLI) may share one directory, since every file is written atomically.
    """

    def __init__(self, directory: Path | None, max_bytes: int, memory_entries: int = 16):
        self.directory, self.max_bytes = directory, max_bytes
        self.memory: OrderedDict[str, Record] = OrderedDict()
        self.memory_entries = memory_entries
        self.lock = threading.Lock()
        if directory is not None:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError:  # read-only home: memory only
                self.directory = None

    @classmethod
    def from_environment(cls) -> RunCache:
        return cls(default_directory(), default_max_bytes())

    def _path(self, key: str, suffix: str) -> Path:
        return self.directory / f"{key}{suffix}"

    def get(self, key: str) -> Record | None:
        with self.lock:
            if key in self.memory:
                self.memory.move_to_end(key)
                if self.directory is not None and self._path(key, ".pt").exists():
                    os.utime(self._path(key, ".pt"))
                return self.memory[key]
        if self.directory is None:
            return None
        path = self._path(key, ".pt")
        try:
            record = Record.from_bytes(path.read_bytes())
            os.utime(path)
        except (OSError, ConfigError):
            return None
        with self.lock:
            self._remember(record)
        return record

    def put(self, record: Record) -> None:
        with self.lock:
            self._remember(record)
            if self.directory is None:
                return
            try:
                for suffix, content in (
                    (".pt", record.to_bytes()),
                    (".json", json.dumps(record.meta).encode()),
                ):
                    tmp = self._path(record.key, f"{suffix}.{os.getpid()}.tmp")
                    tmp.write_bytes(content)
                    os.replace(tmp, self._path(record.key, suffix))
                self._evict()
            except OSError:  # disk full or gone: the run stays in memory
                pass

    def _remember(self, record: Record) -> None:
        self.memory[record.key] = record
        self.memory.move_to_end(record.key)
        while len(self.memory) > self.memory_entries:
            self.memory.popitem(last=False)

    def _evict(self) -> None:
        runs = []
        for pt in self.directory.glob("*.pt"):
            try:
                size = pt.stat().st_size + self._path(pt.stem, ".json").stat().st_size
                runs.append((pt.stat().st_mtime, size, pt.stem))
            except OSError:
                continue
        total = sum(size for _, size, _ in runs)
        for _, size, key in sorted(runs):
            if total <= self.max_bytes:
                break
            for suffix in (".pt", ".json"):
                self._path(key, suffix).unlink(missing_ok=True)
            self.memory.pop(key, None)
            total -= size

    def entries(self) -> list[dict]:
        """The meta of every cached run, most recently used first."""
        with self.lock:
            metas = {key: r.meta for key, r in self.memory.items()}
        if self.directory is not None:
            for path in self.directory.glob("*.json"):
                if path.stem not in metas and self._path(path.stem, ".pt").exists():
                    try:
                        metas[path.stem] = json.loads(path.read_text())
                    except (OSError, ValueError):
                        continue
        return sorted(metas.values(), key=lambda m: m.get("created", 0), reverse=True)


# --- fair use -----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Limits:
    """What one run may ask of a shared server (MAKEMORE_MAX_STEPS, MAKEMORE_MAX_PARAMS)."""

    max_steps: int = 500_000
    max_params: int = 2_000_000

    @classmethod
    def from_environment(cls) -> Limits:
        return cls(
            int(os.environ.get("MAKEMORE_MAX_STEPS", cls.max_steps)),
            int(os.environ.get("MAKEMORE_MAX_PARAMS", cls.max_params)),
        )

    def check(self, steps: int, params: int | None) -> None:
        if steps > self.max_steps:
            raise ConfigError(
                f"This server allows at most {self.max_steps:,} steps per run "
                f"(asked for {steps:,}); the limit is set by whoever runs it."
            )
        if params is not None and params > self.max_params:
            raise ConfigError(
                f"This model has {params:,} parameters; this server allows at most "
                f"{self.max_params:,} per run."
            )


class Hub:
    """The server's runs: the cache, the slots, and the runs in progress sessions share.

    open() serves a run from the cache when it was trained before, hands out the same Job
    when another session is training it right now (so it is watched, not trained twice),
    and otherwise starts one. A run in progress is advanced by whichever of its sessions
    holds its lock; when it finishes it goes into the cache.
    """

    def __init__(
        self, cache: RunCache, slots: Slots, limits: Limits = Limits(), idle: float = 600.0
    ):
        self.cache, self.slots, self.limits, self.idle = cache, slots, limits, idle
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
