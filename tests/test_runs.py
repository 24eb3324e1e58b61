"""The run cache, run records and training slots (engine.serve)."""

import os
import pickle

import pytest
import torch

from engine import data
from engine.models import ConfigError, MLPConfig
from engine.serve.cache import RunCache
from engine.serve.records import FORMAT, Record, job_key, restore, run_key, snapshot
from engine.serve.slots import Slots
from engine.train import Job, TrainConfig

CENSUS = data.load_builtin(data.DEFAULT_OFFLINE)
SMALL = MLPConfig(n_hidden=32)
SHORT = TrainConfig(steps=60, eval_every=20)


@pytest.fixture(scope="module")
def splits():
    return data.make_splits(CENSUS, 3)


def trained(splits, config=SMALL, train=SHORT) -> Job:
    job = Job(config, train, splits, CENSUS.vocab_size)
    job.run()
    return job


def test_the_key_is_what_determines_the_numbers(splits):
    key = run_key(splits.key, SMALL, SHORT)
    assert key == run_key(splits.key, MLPConfig(n_hidden=32), TrainConfig(steps=60, eval_every=20))
    assert key == job_key(Job(SMALL, SHORT, splits, CENSUS.vocab_size))
    others = {
        run_key(splits.key, SMALL, TrainConfig(steps=61, eval_every=20)),
        run_key(splits.key, SMALL, TrainConfig(steps=60, eval_every=20, seed=1)),
        run_key(splits.key, MLPConfig(n_hidden=33), SHORT),
        run_key(data.make_splits(CENSUS, 3, shuffles=4).key, SMALL, SHORT),
    }
    assert key not in others
    assert len(others) == 4


def test_a_record_restores_the_run_exactly(splits):
    job = trained(splits, MLPConfig(n_hidden=32, kaiming=True, batchnorm=True))
    record = Record.from_bytes(snapshot(job, CENSUS).to_bytes())
    again = restore(record, splits)
    assert again.done
    assert again.step == 60
    assert again.final == job.final
    assert again.evals == job.evals
    assert again.lossi == pytest.approx(job.lossi, abs=1e-6)
    for split in ("train", "dev", "test"):
        assert again.evaluate(split) == job.evaluate(split)
    assert record.meta["dataset"] == CENSUS.name
    assert record.meta["itos"] == CENSUS.itos


class Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


@pytest.mark.parametrize(
    "content",
    [b"", b"not a model at all", pickle.dumps(Evil()), pickle.dumps({"format": FORMAT})],
    ids=["empty", "text", "pickled code", "plain pickle"],
)
def test_anything_else_is_refused_without_unpickling(content):
    with pytest.raises(ConfigError, match="not a model saved by makemore playground"):
        Record.from_bytes(content)


def test_a_torch_file_with_code_inside_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "meta": Evil()}, path)
    with pytest.raises(ConfigError):
        Record.from_bytes(path.read_bytes())


def test_the_cache_survives_a_restart(tmp_path, splits):
    job = trained(splits)
    RunCache(tmp_path, 10**9).put(snapshot(job, CENSUS))
    fresh = RunCache(tmp_path, 10**9)  # a new process: nothing in memory
    record = fresh.get(job_key(job))
    assert record is not None
    assert record.meta["final"] == job.final
    assert [m["key"] for m in fresh.entries()] == [record.key]


def test_the_least_recently_used_runs_are_evicted_first(tmp_path, splits):
    records = [
        snapshot(trained(splits, train=TrainConfig(steps=20 + i, eval_every=0)), CENSUS)
        for i in range(3)
    ]
    size = len(records[0].to_bytes()) + 2_000  # one run on disk: .pt + .json
    cache = RunCache(tmp_path, max_bytes=int(2.5 * size), memory_entries=1)
    cache.put(records[0])
    cache.put(records[1])
    for i, record in enumerate(records[:2]):  # last used long ago, records[0] first
        os.utime(tmp_path / f"{record.key}.pt", (1_000_000 + i, 1_000_000 + i))
    assert cache.get(records[0].key) is not None  # used again: now the most recent
    cache.put(records[2])
    on_disk = {p.stem for p in tmp_path.glob("*.pt")}
    assert on_disk == {records[0].key, records[2].key}
    assert cache.get(records[1].key) is None


def test_without_a_directory_the_cache_is_memory_only(splits):
    cache = RunCache(None, 0, memory_entries=2)
    record = snapshot(trained(splits), CENSUS)
    cache.put(record)
    assert cache.get(record.key) is record


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_slots_queue_first_come_first_served():
    slots = Slots(2, lease=10, clock=Clock())
    assert slots.request("a", "s1") == 0
    assert slots.request("b", "s2") == 0
    assert slots.request("c", "s3") == 1
    assert slots.request("d", "s4") == 2
    slots.release("a", "s1")
    assert slots.request("d", "s4") == 1  # c was first: it got a's slot
    assert slots.request("c", "s3") == 0
    assert slots.counts() == (2, 1)


def test_a_run_watched_by_two_sessions_holds_one_slot_until_both_leave():
    slots = Slots(1, lease=10, clock=Clock())
    assert slots.request("run", "teacher") == 0
    assert slots.request("run", "student") == 0
    assert slots.request("other", "s") == 1
    slots.release("run", "teacher")
    assert slots.request("other", "s") == 1
    slots.release("run", "student")
    assert slots.request("other", "s") == 0


def test_a_closed_tab_frees_its_slot_when_its_lease_runs_out():
    clock = Clock()
    slots = Slots(1, lease=10, clock=clock)
    assert slots.request("closed tab", "s1") == 0
    clock.now = 5
    assert slots.request("waiting", "s2") == 1
    clock.now = 10.5  # the closed tab last asked 10.5 s ago
    assert slots.request("waiting", "s2") == 0


def test_a_session_that_leaves_frees_its_slots_at_once():
    slots = Slots(1, lease=60, clock=Clock())
    assert slots.request("run", "closed tab") == 0
    assert slots.request("other", "s") == 1
    slots.leave("closed tab")  # Streamlit released the session: no lease to wait for
    assert slots.request("other", "s") == 0
