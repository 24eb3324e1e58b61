"""The run cache: finished runs shared by every session of a server, and by the CLI."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from numbers import Real
from pathlib import Path

from engine.messages import msg
from engine.models import ConfigError
from engine.serve.records import Record, config_from_dict, train_config_from_dict

log = logging.getLogger(__name__)

STALE_TEMP = 3600.0  # seconds after which a temporary file is a crashed writer's leftover


def default_directory() -> Path | None:
    """MAKEMORE_RUN_CACHE_DIR, else ~/.cache/makemore-playground/runs; "" switches disk off."""
    where = os.environ.get("MAKEMORE_RUN_CACHE_DIR")
    if where == "":
        return None
    return Path(where) if where else Path.home() / ".cache" / "makemore-playground" / "runs"


def default_max_bytes() -> int:
    """MAKEMORE_RUN_CACHE_MB (default 512): the disk the cached runs may take."""
    return int(float(os.environ.get("MAKEMORE_RUN_CACHE_MB", "512")) * 2**20)


def valid_meta(meta, key: str) -> bool:
    """Is `meta` what Record.meta holds for `key` (everything the compare page reads)?"""
    if not isinstance(meta, dict) or meta.get("key") != key:
        return False
    try:
        config_from_dict(meta["model"])
        train_config_from_dict(meta["train"])
        return (
            isinstance(meta["dataset"], str)
            and isinstance(meta["final"], dict | None)
            and all(isinstance(meta[k], Real) for k in ("params", "steps", "seconds", "created"))
        )
    except (KeyError, TypeError, ConfigError):
        return False


class RunCache:
    """Finished runs by key: the most recent in memory, all of them on disk (LRU-bounded).

    Every record is a `<key>.pt` file plus a small `<key>.json` with its meta, so listing
    the cache reads no weights. A read touches the file; when the files exceed max_bytes
    the least recently used runs go first. Thread-safe; several processes (the app and
    the CLI) may share one directory: every file is written to a temporary file of its own
    and moved into place with os.replace, so a reader sees a whole file or none.

    Faults cost a run, never a page: an unreadable file (truncated, empty, garbage) means
    "not cached" and is moved aside as `<name>.bad`; a folder that cannot be written
    (read-only, full) leaves the run in memory and says why in `unavailable`; a deleted
    folder is made again by the next put.
    """

    def __init__(self, directory: Path | None, max_bytes: int, memory_entries: int = 16):
        self.directory, self.max_bytes = directory, max_bytes
        self.memory: OrderedDict[str, Record] = OrderedDict()
        self.memory_entries = memory_entries
        self.lock = threading.Lock()
        # Why the disk cache cannot be written right now (None while it works): for the UI
        self.unavailable: str | None = None
        if directory is not None:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as e:  # read-only home: memory only until a put succeeds
                self._failed(e)

    @classmethod
    def from_environment(cls) -> RunCache:
        return cls(default_directory(), default_max_bytes())

    def _path(self, key: str, suffix: str) -> Path:
        return self.directory / f"{key}{suffix}"

    def get(self, key: str) -> Record | None:
        with self.lock:
            if key in self.memory:
                self.memory.move_to_end(key)
                if self.directory is not None:
                    _touch(self._path(key, ".pt"))
                return self.memory[key]
        if self.directory is None:
            return None
        record = self._read(key)
        if record is not None:
            with self.lock:
                self._remember(record)
        return record

    def _read(self, key: str) -> Record | None:
        """The record on disk, or None when it is not there whole (a bad file is set aside)."""
        pt, meta = self._path(key, ".pt"), self._path(key, ".json")
        try:
            raw, inode = _read(pt)
        except OSError:  # not cached, or the folder is gone
            return None
        try:
            record = Record.from_bytes(raw)
            if record.key != key:
                raise ConfigError(f"it holds the run {record.key}")
        except ConfigError as e:
            self._set_aside(pt, inode, e)
            return None
        if self._meta(meta) is None:
            return None
        _touch(pt)
        return record

    def _meta(self, path: Path) -> dict | None:
        """The meta in a .json file; None when it is missing or bad (then it is set aside)."""
        try:
            raw, inode = _read(path)
        except OSError:
            return None
        try:
            meta = json.loads(raw)
        except ValueError as e:
            meta, why = None, e
        else:
            why = "not the meta of a run"
        if not valid_meta(meta, path.stem):
            self._set_aside(path, inode, why)
            return None
        return meta

    def _set_aside(self, path: Path, inode: int, why) -> None:
        """Move an unreadable file out of the way, unless a writer replaced it meanwhile."""
        bad = path.with_name(path.name + ".bad")
        try:
            if path.stat().st_ino == inode:
                os.replace(path, bad)
        except OSError:
            return
        log.warning("Run cache: %s is unreadable (%s); moved aside to %s", path, why, bad.name)

    def put(self, record: Record) -> None:
        with self.lock:
            self._remember(record)
            if self.directory is None:
                return
            pt, meta = self._path(record.key, ".pt"), self._path(record.key, ".json")
            try:
                self.directory.mkdir(parents=True, exist_ok=True)  # deleted meanwhile: again
                # the meta first: whoever finds the .pt finds its .json
                _write(meta, json.dumps(record.meta).encode())
                _write(pt, record.to_bytes())
                self._evict()
            except OSError as e:  # read-only, full or gone: the run stays in memory
                if not pt.exists():  # no meta without its run on disk
                    with contextlib.suppress(OSError):
                        meta.unlink(missing_ok=True)
                self._failed(e)
            else:
                self.unavailable = None

    def _failed(self, e: OSError) -> None:
        self.unavailable = msg(
            "The disk cache of runs ({directory}) is unavailable: {error}. Finished runs are "
            "kept in memory only, and a restart loses them.",
            directory=str(self.directory),
            error=str(e.strerror or e),
        )
        log.warning("Run cache: %s", self.unavailable)

    def _remember(self, record: Record) -> None:
        self.memory[record.key] = record
        self.memory.move_to_end(record.key)
        while len(self.memory) > self.memory_entries:
            self.memory.popitem(last=False)

    def _evict(self) -> None:
        runs = []
        for pt in self.directory.glob("*.pt"):
            with contextlib.suppress(OSError):  # another process may evict it meanwhile
                stat = pt.stat()
                runs.append(
                    (stat.st_mtime, stat.st_size + _size(self._path(pt.stem, ".json")), pt.stem)
                )
        total = sum(size for _, size, _ in runs)
        for _, size, key in sorted(runs):
            if total <= self.max_bytes:
                break
            for suffix in (".pt", ".json"):
                self._path(key, suffix).unlink(missing_ok=True)
            self.memory.pop(key, None)
            total -= size
        for tmp in self.directory.glob(".*.tmp"):  # left behind by a writer that crashed
            with contextlib.suppress(OSError):
                if time.time() - tmp.stat().st_mtime > STALE_TEMP:
                    tmp.unlink()

    def entries(self) -> list[dict]:
        """The meta of every cached run, most recently used first."""
        with self.lock:
            metas = {key: r.meta for key, r in self.memory.items()}
        if self.directory is not None:
            for path in self.directory.glob("*.json"):
                if (
                    path.stem not in metas
                    and self._path(path.stem, ".pt").exists()
                    and (meta := self._meta(path)) is not None
                ):
                    metas[path.stem] = meta
        return sorted(metas.values(), key=lambda m: m.get("created", 0), reverse=True)


def _read(path: Path) -> tuple[bytes, int]:
    """A file's bytes and its inode (which os.replace changes)."""
    with path.open("rb") as f:
        return f.read(), os.fstat(f.fileno()).st_ino


def _write(path: Path, content: bytes) -> None:
    """Write a file whole or not at all: a temporary file of this writer, then os.replace."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("xb") as f:
            f.write(content)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _touch(path: Path) -> None:
    """Mark a run as just used (for the LRU eviction); a read-only folder keeps its order."""
    with contextlib.suppress(OSError):
        os.utime(path)
