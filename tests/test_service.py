"""The training service: pages submit trainings, worker processes train them, pages watch.

Real worker processes throughout: what a worker trains must be, bit for bit, what the
same Job trains in this process.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

import pytest
import torch

from engine import data
from engine.models import ConfigError, DeepConfig, MLPConfig, WaveNetConfig
from engine.serve.cache import RunCache
from engine.serve.records import job_key
from engine.serve.service import LOST, TrainingService
from engine.serve.slots import Limits
from engine.train import Job, TrainConfig

WORDS = data.load_builtin("us-census-1990")
TINY = TrainConfig(steps=400, eval_every=100)


def splits(block_size=3):
    return data.make_splits(WORDS, block_size)


def mlp(train=TINY, **model) -> Job:
    return Job(MLPConfig(n_hidden=32, **model), train, splits(), WORDS.vocab_size)


def wait(handle, states=("done",), timeout=60.0, service=None, session="s"):
    """Watch the handle as a page does until it reaches one of `states`."""
    deadline = time.monotonic() + timeout
    while handle.state not in states:
        assert time.monotonic() < deadline, f"still {handle.state}"
        if service is not None:
            service.watch(handle, session)
        time.sleep(0.02)
    return handle


@pytest.fixture(scope="module")
def service():
    svc = TrainingService.local(RunCache(None, 0), slots=2, lease=5.0)
    yield svc
    svc.close()


def same(a: Job, b: Job) -> bool:
    return (
        a.lossi == b.lossi
        and a.evals == b.evals
        and a.final == b.final
        and all(torch.equal(x, y) for x, y in zip(a.params, b.params, strict=True))
    )


@pytest.mark.parametrize(
    "config",
    [
        MLPConfig(n_hidden=32),
        MLPConfig(n_hidden=32, batchnorm=True),
        DeepConfig(n_hidden=20, n_layers=3),
        WaveNetConfig(n_embd=4, n_hidden=16),
    ],
    ids=["mlp", "mlp-bn", "deep-bn", "wavenet"],
)
def test_a_worker_trains_bit_for_bit_what_this_process_would(service, config):
    train = replace(TINY, optimizer="adamw", lr=3e-3) if config.kind == "mlp" else TINY
    make = lambda: Job(config, train, splits(config.block_size), WORDS.vocab_size)  # noqa: E731
    handle, origin = service.submit(make(), "s", WORDS)
    assert origin == "new"
    wait(handle, service=service)
    here = make()
    here.run()
    with handle.view() as trained:
        assert trained is not here
        assert trained.step == train.steps
        assert same(trained, here)


def test_the_replica_follows_the_worker_while_it_trains(service):
    job = mlp(replace(TINY, steps=200_000, eval_every=1_000))
    handle, _ = service.submit(job, "s", WORDS)
    wait(handle, ("running",), service=service)
    seen, deadline = [], time.monotonic() + 60
    while len(set(seen) - {0}) < 3 and time.monotonic() < deadline:  # three patches
        service.watch(handle, "s")
        with handle.view() as replica:
            seen.append(len(replica.lossi))
            assert replica.step == len(replica.lossi)
        time.sleep(0.1)
    assert len(set(seen) - {0}) == 3  # the losses stream in
    assert seen == sorted(seen)
    with handle.view() as replica:
        live = replica.model.layers[0].weight.clone()
    assert not torch.equal(live, mlp().model.layers[0].weight)  # and the weights with them
    service.stop(handle, "s")
    wait(handle, ("stopped",))


def test_stop_lands_at_once_and_resume_goes_on(service):
    job = mlp(replace(TINY, steps=200_000, eval_every=0))
    handle, _ = service.submit(job, "s", WORDS)
    wait(handle, ("running",), service=service)
    time.sleep(0.5)
    service.stop(handle, "s")
    wait(handle, ("stopped",))  # within a chunk (0.05 s of training), not 200,000 steps
    assert handle.step < 200_000
    stopped_at = handle.step
    with handle.view() as stopped:
        assert stopped.step == stopped_at == len(stopped.lossi)
    time.sleep(0.3)
    assert handle.step == stopped_at  # the worker really stopped
    service.resume(handle, "s")
    wait(handle, ("running",), service=service)
    while handle.step < stopped_at + 200:
        service.watch(handle, "s")
        time.sleep(0.02)
    service.stop(handle, "s")
    wait(handle, ("stopped",))
    # the resumed run is the run that never stopped
    with handle.view() as resumed:
        straight = mlp(replace(TINY, steps=200_000, eval_every=0))
        for _ in range(resumed.step):
            straight.train_step()
        assert same(resumed, straight)


def test_another_session_asking_for_the_same_run_watches_it(service):
    train = replace(TINY, steps=30_000, seed=11)
    first, origin = service.submit(mlp(train), "teacher", WORDS)
    assert origin == "new"
    second, origin = service.submit(mlp(train), "student", WORDS)
    assert (second, origin) == (first, "live")
    service.stop(first, "teacher")  # the teacher leaves; the student still watches
    time.sleep(0.3)
    assert first.state in ("queued", "running")
    service.stop(first, "student")
    wait(first, ("stopped",))


def test_a_finished_run_is_served_from_the_cache():
    svc = TrainingService.local(RunCache(None, 0), slots=1)
    try:
        train = replace(TINY, seed=5)
        handle, origin = svc.submit(mlp(train), "a", WORDS)
        wait(handle, service=svc, session="a")
        again, origin = svc.submit(mlp(train), "b", WORDS)
        assert origin == "cache"
        assert again.state == "done"
        assert svc.cache.get(job_key(mlp(train))) is not None
        with handle.view() as trained, again.view() as served:
            assert served.final == trained.final
            assert served.evals == trained.evals
            assert all(
                torch.equal(x, y) for x, y in zip(trained.params, served.params, strict=True)
            )
            assert served.lossi == torch.tensor(trained.lossi).tolist()  # kept as float32
    finally:
        svc.close()


def test_train_after_stop_starts_again_from_step_0(service):
    train = replace(TINY, steps=100_000, seed=7)
    handle, _ = service.submit(mlp(train), "s", WORDS)
    wait(handle, ("running",), service=service)
    time.sleep(0.3)
    service.stop(handle, "s")
    wait(handle, ("stopped",))
    fresh, origin = service.submit(mlp(train), "s", WORDS)
    assert origin == "new"
    assert fresh is not handle
    assert fresh.step == 0
    service.stop(fresh, "s")


def test_runs_over_the_limits_are_refused_before_a_worker_sees_them(service):
    service.limits = Limits(max_steps=1_000, max_params=1_000_000)
    try:
        with pytest.raises(ConfigError, match="at most 1,000 steps"):
            service.submit(mlp(replace(TINY, steps=2_000)), "s", WORDS)
    finally:
        service.limits = Limits()


def test_a_run_too_long_for_the_server_is_refused_with_its_estimate(service):
    big = Job(
        MLPConfig(n_hidden=400, n_embd=30),
        replace(TINY, steps=500_000, batch_size=4096),
        splits(),
        WORDS.vocab_size,
    )
    with pytest.raises(ConfigError, match=r"would take about [\d.,]+ h on this server"):
        service.submit(big, "s", WORDS)
    small = mlp(replace(TINY, steps=1_000))
    assert 0 < service.estimate(small) < 60


def test_a_full_queue_says_so(monkeypatch):
    monkeypatch.setenv("MAKEMORE_GROUP", "1")  # compatible runs would join a's group instead
    svc = TrainingService.local(RunCache(None, 0), slots=1, queue_max=1)
    try:
        long = replace(TINY, steps=100_000)
        svc.submit(mlp(replace(long, seed=1)), "a", WORDS)
        wait(next(iter(svc.handles.values())), ("running",), service=svc, session="a")
        svc.submit(mlp(replace(long, seed=2)), "b", WORDS)
        with pytest.raises(ConfigError, match="server is full"):
            svc.submit(mlp(replace(long, seed=3)), "c", WORDS)
    finally:
        svc.close()


def test_queued_runs_start_first_come_first_served(monkeypatch):
    monkeypatch.setenv("MAKEMORE_GROUP", "1")  # no co-batching: one run per worker
    svc = TrainingService.local(RunCache(None, 0), slots=1)
    try:
        a, _ = svc.submit(mlp(replace(TINY, steps=3_000, seed=1)), "a", WORDS)
        b, _ = svc.submit(mlp(replace(TINY, steps=300, seed=2)), "b", WORDS)
        c, _ = svc.submit(mlp(replace(TINY, steps=300, seed=3)), "c", WORDS)
        assert (svc.watch(b, "b"), svc.watch(c, "c")) == (1, 2)
        for h, s in ((a, "a"), (b, "b"), (c, "c")):
            wait(h, service=svc, session=s)
        assert b.since is None
        assert b.wall > 0
    finally:
        svc.close()


def test_never_more_trainings_at_once_than_slots_and_every_slot_used(monkeypatch):
    monkeypatch.setenv("MAKEMORE_GROUP", "1")
    svc = TrainingService.local(RunCache(None, 0), slots=2)
    try:
        handles = [
            svc.submit(mlp(replace(TINY, steps=1_500, seed=i)), f"s{i}", WORDS)[0] for i in range(6)
        ]
        most = 0
        while any(h.state != "done" for h in handles):
            for i, h in enumerate(handles):
                svc.watch(h, f"s{i}")
            most = max(most, sum(h.state == "running" for h in handles))
            assert sum(len(w.runs) for w in svc.executor.workers) <= 2
            time.sleep(0.01)
        assert most == 2
        assert svc.counts() == (0, 0)
    finally:
        svc.close()


def test_a_run_nobody_watches_any_more_is_stopped():
    svc = TrainingService.local(RunCache(None, 0), slots=1, lease=0.5)
    try:
        handle, _ = svc.submit(mlp(replace(TINY, steps=200_000)), "a", WORDS)
        wait(handle, ("running",), service=svc, session="a")
        svc.leave("a")  # the tab closed
        wait(handle, ("stopped",), timeout=5)
        assert "nobody" in handle.note
    finally:
        svc.close()


def test_a_killed_worker_is_replaced_and_its_run_reported(service):
    handle, _ = service.submit(mlp(replace(TINY, steps=200_000, seed=3)), "s", WORDS)
    wait(handle, ("running",), service=service)
    worker = next(w for w in service.executor.workers if handle.id in w.runs)
    os.kill(worker.process.pid, signal.SIGKILL)
    wait(handle, ("failed",), timeout=10)
    assert handle.error == LOST
    # the slot is free again and a new worker trains the next run
    again, _ = service.submit(mlp(replace(TINY, seed=4)), "s", WORDS)
    wait(again, service=service, timeout=30)
    assert all(w.process.is_alive() for w in service.executor.workers)


def test_closing_the_service_leaves_no_worker_process():
    svc = TrainingService.local(RunCache(None, 0), slots=2)
    handle, _ = svc.submit(mlp(replace(TINY, steps=200_000)), "a", WORDS)
    wait(handle, ("running",), service=svc, session="a")
    processes = [w.process for w in svc.executor.workers]
    svc.close()
    assert all(p.exitcode is not None for p in processes)


# --- co-batching: compatible runs train together on one worker (engine.serve.groups) ---


def bn_mlp(steps, seed, lr=0.1):
    train = TrainConfig(steps=steps, seed=seed, lr=lr, eval_every=500)
    return Job(MLPConfig(n_hidden=32, batchnorm=True), train, splits(), WORDS.vocab_size)


def assert_as_alone(handle, steps, seed, lr=0.1):
    alone = bn_mlp(steps, seed, lr)
    alone.run()
    assert same(handle.trainable, alone)


def test_two_sessions_compatible_runs_train_together_as_they_would_alone():
    svc = TrainingService.local(RunCache(None, 0), slots=1)
    try:
        # long enough (seconds, on a fast CPU) that both train together for many patches
        a, _ = svc.submit(bn_mlp(20_000, seed=1), "a", WORDS)
        wait(a, ("running",), service=svc, session="a")
        b, _ = svc.submit(bn_mlp(15_000, seed=2, lr=0.2), "b", WORDS)  # another session's
        wait(b, ("running",), service=svc, session="b")
        deadline = time.monotonic() + 30
        while not (a.together == b.together == 1) and time.monotonic() < deadline:
            svc.watch(a, "a"), svc.watch(b, "b")
            time.sleep(0.02)
        assert a.together == b.together == 1  # what the progress line says
        assert svc.groups.members(a.id) == {a.id, b.id}
        wait(b, service=svc, session="b")
        wait(a, service=svc, session="a")
        assert a.together == b.together == 0
        assert_as_alone(a, 20_000, seed=1)
        assert_as_alone(b, 15_000, seed=2, lr=0.2)
    finally:
        svc.close()


def test_a_run_stopped_in_a_group_leaves_it_and_resumes_into_it():
    svc = TrainingService.local(RunCache(None, 0), slots=1)
    try:
        a, _ = svc.submit(bn_mlp(12_000, seed=1), "a", WORDS)
        b, _ = svc.submit(bn_mlp(12_000, seed=2), "b", WORDS)
        wait(b, ("running",), service=svc, session="b")
        while b.step < 500:
            svc.watch(a, "a"), svc.watch(b, "b")
            time.sleep(0.01)
        svc.stop(b, "b")
        wait(b, ("stopped",), service=svc, session="b")
        assert a.state == "running"  # the other run trains on
        svc.resume(b, "b")
        wait(a, service=svc, session="a")
        wait(b, service=svc, session="b")
        assert_as_alone(a, 12_000, seed=1)
        assert_as_alone(b, 12_000, seed=2)
    finally:
        svc.close()


def test_runs_that_cannot_train_together_do_not_share_a_worker():
    svc = TrainingService.local(RunCache(None, 0), slots=1)
    try:
        a, _ = svc.submit(bn_mlp(500_000, seed=1), "a", WORDS)  # trains until stopped
        wait(a, ("running",), service=svc, session="a")
        adamw = replace(TINY, optimizer="adamw", lr=3e-3)
        b, _ = svc.submit(mlp(adamw), "b", WORDS)  # AdamW: trains alone
        c, _ = svc.submit(mlp(replace(TINY, batch_size=64)), "c", WORDS)  # other shapes
        time.sleep(0.5)
        assert svc.watch(b, "b") == 1
        assert svc.watch(c, "c") == 2
        assert (b.state, c.state) == ("queued", "queued")
        svc.stop(a, "a")
        for h, s in ((b, "b"), (c, "c")):
            wait(h, service=svc, session=s)
    finally:
        svc.close()


def test_makemore_group_1_trains_every_run_alone(monkeypatch):
    monkeypatch.setenv("MAKEMORE_GROUP", "1")
    svc = TrainingService.local(RunCache(None, 0), slots=1)
    try:
        a, _ = svc.submit(bn_mlp(500_000, seed=1), "a", WORDS)  # trains until stopped
        b, _ = svc.submit(bn_mlp(300, seed=2), "b", WORDS)
        wait(a, ("running",), service=svc, session="a")
        time.sleep(0.3)
        assert svc.watch(b, "b") == 1
        svc.stop(a, "a")
        wait(b, service=svc, session="b")
    finally:
        svc.close()
