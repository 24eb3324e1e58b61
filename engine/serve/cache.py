"""The run cache: finished runs shared by every session of a server, and by the CLI."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from pathlib import Path

from engine.models import ConfigError
from engine.serve.records import Record


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
