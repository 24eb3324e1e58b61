"""The run cache's faults: bad files, two writers at once, a folder that cannot be written
or that disappears. Each costs at most a run trained again, never a page or a command."""

import errno
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import data
from engine.models import MLPConfig
from engine.serve.cache import RunCache
from engine.serve.records import Record, run_key, snapshot
from engine.train import Job, TrainConfig
from tests.apptest import training_of
from tests.test_classroom import mlp_page
from tests.test_pages_part2_mlp import train_tiny
from ui import runs as shared

CENSUS = data.load_builtin(data.DEFAULT_OFFLINE)
SPLITS = data.make_splits(CENSUS, 3)


def record(steps: int = 30) -> Record:
    job = Job(MLPConfig(n_hidden=16), TrainConfig(steps=steps, eval_every=0), SPLITS, 27)
    job.run()
    return snapshot(job, CENSUS)


@pytest.fixture(scope="module")
def good():
    return record()


def bad_contents(good: Record) -> dict[str, dict[str, bytes]]:
    """Per suffix: an empty file, a truncated one, garbage, and a well-formed wrong one."""
    pt, meta = good.to_bytes(), json.dumps(good.meta).encode()
    return {
        ".pt": {
            "empty": b"",
            "truncated": pt[: len(pt) // 2],
            "garbage": os.urandom(2000),
            "another run's": record(steps=31).to_bytes(),
        },
        ".json": {
            "empty": b"",
            "truncated": meta[: len(meta) // 2],
            "garbage": b"\x00\xffnot json{",
            "not a run's meta": b"[1, 2, 3]",
        },
    }


FAULTS = [
    (suffix, kind)
    for suffix, kinds in {
        ".pt": ("empty", "truncated", "garbage", "another run's"),
        ".json": ("empty", "truncated", "garbage", "not a run's meta"),
    }.items()
    for kind in kinds
]


@pytest.mark.parametrize(("suffix", "kind"), FAULTS)
def test_a_bad_file_means_not_cached_and_is_moved_aside(tmp_path, good, caplog, suffix, kind):
    RunCache(tmp_path, 10**9).put(good)
    (tmp_path / f"{good.key}{suffix}").write_bytes(bad_contents(good)[suffix][kind])
    cache = RunCache(tmp_path, 10**9)  # a new process: nothing in memory

    with caplog.at_level(logging.WARNING, logger="engine.serve.cache"):
        assert cache.get(good.key) is None  # not cached: the run is trained again
    assert (tmp_path / f"{good.key}{suffix}.bad").exists()
    assert not (tmp_path / f"{good.key}{suffix}").exists()
    assert f"{good.key}{suffix} is unreadable" in caplog.text
    assert cache.entries() == []

    cache.put(good)  # trained again: one whole record
    assert RunCache(tmp_path, 10**9).get(good.key).meta == good.meta


def test_bad_files_of_other_runs_are_skipped_when_listing(tmp_path, good):
    cache = RunCache(tmp_path, 10**9)
    cache.put(good)
    bad = bad_contents(good)
    for i, (suffix, kind) in enumerate(FAULTS):  # one other run per fault
        key = f"{i:020d}"
        meta = json.dumps({**good.meta, "key": key}).encode()
        pt = bad[".pt"][kind] if suffix == ".pt" else good.to_bytes()
        (tmp_path / f"{key}.pt").write_bytes(pt)
        (tmp_path / f"{key}.json").write_bytes(bad[".json"][kind] if suffix == ".json" else meta)
    fresh = RunCache(tmp_path, 10**9)
    listed = {m["key"] for m in fresh.entries()}
    # a bad .json is moved aside as the listing reads it; a bad .pt when the run is opened
    assert listed == {good.key, *(f"{i:020d}" for i in range(4))}
    assert len(list(tmp_path.glob("*.json.bad"))) == 4
    for key in sorted(listed):
        assert (fresh.get(key) is not None) == (key == good.key)
    assert len(list(tmp_path.glob("*.pt.bad"))) == 4
    assert [m["key"] for m in fresh.entries()] == [good.key]


def _put_many(directory: str, raw: bytes, start, times: int) -> None:
    """One process (the CLI, say) finishing the same run again and again."""
    record = Record.from_bytes(raw)
    cache = RunCache(Path(directory), 10**9, memory_entries=0)
    start.wait()
    for _ in range(times):
        cache.put(record)


def test_two_processes_finishing_the_same_run_at_once_leave_one_whole_record(tmp_path, good):
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(3)
    writers = [
        ctx.Process(target=_put_many, args=(str(tmp_path), good.to_bytes(), start, 40))
        for _ in range(2)
    ]
    for w in writers:
        w.start()
    reader = RunCache(tmp_path, 10**9, memory_entries=0)
    start.wait()
    while any(w.is_alive() for w in writers):  # a third process reads all the while
        got = reader.get(good.key)
        assert got is None or got.meta["final"] == good.meta["final"]
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{good.key}.json", f"{good.key}.pt"]
    assert RunCache(tmp_path, 10**9).get(good.key).meta["final"] == good.meta["final"]


def test_the_cli_and_another_process_training_the_same_run_at_once(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("\n".join(CENSUS.words[:400]), encoding="utf-8")
    args = ["train", "--file", str(words), "--n-hidden", "16", "--steps", "300", "--json"]
    env = {**os.environ, "MAKEMORE_RUN_CACHE_DIR": str(tmp_path / "runs")}
    both = [
        subprocess.Popen(
            [sys.executable, "-m", "engine", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in both]
    assert [p.returncode for p in both] == [0, 0], results
    finals = [json.loads(out)["dev"] for out, _ in results]
    assert finals[0] == finals[1]
    files = sorted(p.suffix for p in (tmp_path / "runs").iterdir())
    assert files == [".json", ".pt"]
    (meta,) = RunCache(tmp_path / "runs", 10**9).entries()
    assert meta["final"]["dev"] == finals[0]


def full_disk(monkeypatch, code: int):
    """Writes into the cache folder fail as a read-only (EROFS) or full (ENOSPC) disk does:
    the temporary file is created (full) or refused (read-only), the write fails."""
    real_open = Path.open

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, content):
            self.f.write(content[: len(content) // 2])
            raise OSError(code, os.strerror(code))

    def open_(path, mode="r", *args, **kwargs):
        if "x" not in mode:
            return real_open(path, mode, *args, **kwargs)
        if code == errno.EROFS:
            raise OSError(code, os.strerror(code), str(path))
        return Full(real_open(path, mode, *args, **kwargs))

    monkeypatch.setattr(Path, "open", open_)


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC], ids=["read-only", "full"])
def test_a_disk_that_refuses_writes_keeps_the_run_in_memory(tmp_path, monkeypatch, good, code):
    cache = RunCache(tmp_path, 10**9)
    full_disk(monkeypatch, code)
    cache.put(good)
    assert cache.get(good.key) is good  # kept in memory
    assert os.strerror(code) in cache.unavailable
    assert list(tmp_path.iterdir()) == []  # neither half a record nor a temporary file
    monkeypatch.undo()
    cache.put(good)  # the disk works again
    assert cache.unavailable is None
    assert RunCache(tmp_path, 10**9).get(good.key) is not None


def test_a_folder_that_cannot_be_made_keeps_runs_in_memory(tmp_path, good):
    (tmp_path / "file").write_text("not a folder")
    cache = RunCache(tmp_path / "file" / "runs", 10**9)
    assert "unavailable" in cache.unavailable
    cache.put(good)
    assert cache.get(good.key) is good
    assert cache.entries() == [good.meta]


def test_a_deleted_folder_is_made_again_by_the_next_run(tmp_path, good):
    cache = RunCache(tmp_path / "runs", 10**9, memory_entries=0)
    cache.put(good)
    shutil.rmtree(tmp_path / "runs")  # someone cleans up while the server runs
    assert cache.get(good.key) is None
    assert cache.entries() == []
    cache.put(good)
    assert cache.unavailable is None
    assert cache.get(good.key).meta == good.meta


def test_a_cli_run_with_a_bad_cached_file_trains_again(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("\n".join(CENSUS.words[:400]), encoding="utf-8")
    args = ["train", "--file", str(words), "--n-hidden", "16", "--steps", "50", "--json"]
    env = {**os.environ, "MAKEMORE_RUN_CACHE_DIR": str(tmp_path / "runs")}

    def cli():
        return subprocess.run(
            [sys.executable, "-m", "engine", *args], env=env, capture_output=True, text=True
        )

    first = cli()
    (pt,) = (tmp_path / "runs").glob("*.pt")
    pt.write_bytes(pt.read_bytes()[:100])  # truncated
    again = cli()
    assert again.returncode == 0, again.stderr
    assert "from the run cache" not in again.stderr  # trained again
    assert json.loads(again.stdout)["dev"] == json.loads(first.stdout)["dev"]
    assert pt.with_name(pt.name + ".bad").exists()
    assert cli().stderr.startswith("(from the run cache")  # and cached whole again


# ---------------------------------------------------------------------------------------
# the pages, on the server's cache


@pytest.fixture
def server_cache(tmp_path, monkeypatch):
    """The server's run cache (shared by every AppTest session), in a folder of this test."""
    cache = shared.service().cache
    monkeypatch.setattr(cache, "directory", tmp_path / "runs")
    monkeypatch.setattr(cache, "unavailable", None)
    monkeypatch.setattr(cache, "memory", type(cache.memory)())
    return cache


def test_bad_files_in_the_servers_cache_cost_a_run_not_a_page(server_cache, good):
    job = train_tiny(mlp_page(steps=140, n_hidden=17), steps=140)
    key = run_key(job.splits.key, job.config, job.train_config)
    folder = server_cache.directory
    (folder / f"{key}.pt").write_bytes(b"")  # the run asked for, emptied
    bad = bad_contents(good)
    (folder / "00000000000000000001.json").write_bytes(bad[".json"]["truncated"])
    (folder / "00000000000000000001.pt").write_bytes(good.to_bytes())
    (folder / "00000000000000000002.json").write_bytes(
        json.dumps({**good.meta, "key": "00000000000000000002"}).encode()
    )
    (folder / "00000000000000000002.pt").write_bytes(bad[".pt"]["garbage"])
    server_cache.memory.clear()  # as after a restart

    other = mlp_page(steps=140, n_hidden=17)
    again = train_tiny(other, steps=140)
    assert not other.exception
    assert not any("Served from the run cache" in c.value for c in other.caption)
    assert again.final == job.final
    assert (folder / f"{key}.pt.bad").exists()
    assert server_cache.get(key) is not None

    other.switch_page("pages/classroom/compare.py").run()
    assert not other.exception
    other.selectbox(key="export_run").select_index(
        len(other.selectbox(key="export_run").options) - 1
    ).run()
    assert not other.exception


def test_a_cache_folder_that_cannot_be_written_is_said_once(server_cache, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    server_cache.directory = tmp_path / "file" / "runs"
    at = mlp_page(steps=120, n_hidden=18)
    job = train_tiny(at, steps=120)
    assert job.done
    assert not at.exception
    (toast,) = at.toast
    assert "disk cache of runs" in toast.value
    assert "kept in memory only" in toast.value
    served = mlp_page(steps=120, n_hidden=18)  # kept in memory: served to another session
    served.button(key="mlp:train").click().run()
    assert training_of(served, "mlp").final == job.final
    train_tiny(at, steps=121)  # the same session's next run: not said again
    assert not at.toast


def test_a_cache_folder_deleted_while_the_server_runs_is_made_again(server_cache):
    train_tiny(mlp_page(steps=100, n_hidden=19), steps=100)
    shutil.rmtree(server_cache.directory)
    at = mlp_page(steps=101, n_hidden=19)
    job = train_tiny(at, steps=101)
    assert not at.exception
    key = run_key(job.splits.key, job.config, job.train_config)
    assert (server_cache.directory / f"{key}.pt").exists()
    assert server_cache.unavailable is None
