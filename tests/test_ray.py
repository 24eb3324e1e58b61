"""Trainings on a Ray cluster (MAKEMORE_RAY_ADDRESS), and app servers that share runs.

Ray is optional (requirements-ray.txt): without it, or without a cluster at the address,
the server says so and trains on its own worker processes. The slow test starts a real
local cluster on 127.0.0.1 and two app servers pointing at it, and drives them as two
students' tabs do (Streamlit's websocket protocol, scripts/streamlit_client.py).
"""

from __future__ import annotations

import functools
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from pathlib import Path

import pytest

from engine import data
from engine.models import ConfigError, MLPConfig
from engine.serve import executor as executors
from engine.serve import ray_workers
from engine.serve.cache import RunCache
from engine.serve.hub import Registry
from engine.serve.local import LocalWorkers
from engine.serve.records import job_key
from engine.serve.service import LOST, TrainingService
from engine.train import Job, TrainConfig
from tests.conftest import needs_names
from tests.test_service import same

ROOT = Path(__file__).resolve().parents[1]
WORDS = data.load_builtin("us-census-1990")
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # Ray on 127.0.0.1 only, not the LAN
os.environ.update(LOOPBACK)  # before Ray is imported here: it reads it once, on import


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@functools.cache
def splits(block_size: int = 3):
    return data.make_splits(WORDS, block_size)


def mlp(steps=400, seed=42) -> Job:
    train = TrainConfig(steps=steps, eval_every=100, seed=seed)
    return Job(MLPConfig(n_hidden=32), train, splits(), WORDS.vocab_size)


# --- without a cluster: the fallback -------------------------------------------------


def test_without_the_variable_trainings_run_on_local_workers(monkeypatch):
    monkeypatch.delenv(executors.RAY_ADDRESS, raising=False)
    executor, notice = executors.from_environment(1)
    try:
        assert isinstance(executor, LocalWorkers)
        assert notice is None
    finally:
        executor.close()


def test_ray_asked_for_but_not_installed_says_so_and_trains_locally(monkeypatch):
    monkeypatch.setenv(executors.RAY_ADDRESS, "ray://head.example:10001")
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    svc = TrainingService.from_environment(RunCache(None, 0), 1)
    try:
        assert isinstance(svc.executor, LocalWorkers)
        assert "ray://head.example:10001" in svc.notice
        assert "Ray is not installed" in svc.notice
        assert "requirements-ray.txt" in svc.notice
        assert "own worker processes" in svc.notice
        handle, _ = svc.submit(mlp(), "s", WORDS)  # and it trains
        deadline = time.monotonic() + 60
        while handle.state != "done" and time.monotonic() < deadline:
            svc.watch(handle, "s")
            time.sleep(0.05)
        assert handle.state == "done"
    finally:
        svc.close()


def test_an_unreachable_cluster_is_said_at_once_and_trains_locally(monkeypatch):
    pytest.importorskip("ray", reason="Ray is optional (requirements-ray.txt)")
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv(executors.RAY_ADDRESS, address)
    t0 = time.monotonic()
    executor, notice = executors.from_environment(1)
    try:
        assert time.monotonic() - t0 < 10  # no waiting on Ray's own reconnection timeouts
        assert isinstance(executor, LocalWorkers)
        assert f"the Ray cluster at {address} does not answer" in notice
    finally:
        executor.close()


def test_an_address_that_is_no_address_is_said_so(monkeypatch):
    pytest.importorskip("ray", reason="Ray is optional (requirements-ray.txt)")
    monkeypatch.setenv(executors.RAY_ADDRESS, "my-laptop")
    executor, notice = executors.from_environment(1)
    executor.close()
    assert "is not an address of a Ray cluster" in notice


# --- a real cluster and two app servers ------------------------------------------------


class Cluster:
    """`ray start --head --block` in a process group of its own, on 127.0.0.1."""

    def __init__(self, cpus: int = 2):
        self.port = free_port()
        self.actors: set[int] = set()  # the hub's and slots' process ids, once seen
        self.temp = tempfile.mkdtemp(prefix="mm-ray-", dir="/tmp")  # Ray's sockets: short paths
        self.address = f"127.0.0.1:{self.port}"
        env = {**os.environ, **LOOPBACK, "RAY_USAGE_STATS_ENABLED": "0"}
        ray = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
        # worker ports: MAKEMORE_TEST_RAY_PORTS=low-high keeps two clusters on one machine apart
        low, _, high = os.environ.get("MAKEMORE_TEST_RAY_PORTS", "20100-20300").partition("-")
        self.proc = subprocess.Popen(
            [
                ray, "start", "--head", "--block", "--port", str(self.port),
                "--num-cpus", str(cpus), "--include-dashboard=false",
                "--ray-client-server-port", str(free_port()),
                "--min-worker-port", low, "--max-worker-port", high,
                "--temp-dir", self.temp, "--disable-usage-stats",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # every process of the cluster: one group to stop
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                pytest.fail("the Ray head did not start within 60 s")
            time.sleep(0.2)

    def hub(self, what: str = "status") -> dict:
        """The hub's counts, as `python -m engine.serve.ray_workers status` prints them."""
        out = subprocess.run(
            [sys.executable, "-m", "engine.serve.ray_workers", what, "--address", self.address],
            cwd=ROOT,
            env={**os.environ, **LOOPBACK},
            capture_output=True,
            text=True,
            timeout=60,
        )
        status = json.loads(out.stdout.strip().splitlines()[-1])
        self.actors = self.actors | {status.get("hub_pid"), *status.get("pids", [])} - {None}
        return status

    def processes(self) -> list[int]:
        """The cluster's processes still alive: its process group, and the actors' workers
        (Ray starts each in a session of its own) that the hub named."""
        found = [p for p in self.actors if Path(f"/proc/{p}").exists() and not zombie(p)]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.proc.pid and fields[0] != "Z":  # its group, alive
                    found.append(int(stat.parent.name))
        return found

    def stop(self) -> None:
        """SIGTERM to `ray start` (it stops the cluster's processes), then KILL what is left
        of its process group."""
        with suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.2)
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in self.processes():  # an actor's worker that outlived its raylet
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10  # killed: gone once the kernel has reaped it
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        shutil.rmtree(self.temp, ignore_errors=True)


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def steps_shown(tab) -> list[int]:
    """The step counts a tab's progress bar showed, in order."""
    return [
        int(m[1].replace(",", "")) for t in tab.progress if (m := re.match(r"step ([\d,]+)", t))
    ]


def open_trainer(url: str, steps: int, seed: int):
    from scripts.streamlit_client import Session

    tab = Session(url, timeout=120)
    tab.open()
    tab.switch("MLP trainer")
    tab.set("steps", steps)
    tab.set("seed", seed)
    return tab


@pytest.mark.slow
@needs_names
@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux /proc")
def test_two_app_servers_share_a_ray_cluster_and_its_runs(tmp_path):
    pytest.importorskip("ray", reason="Ray is optional (requirements-ray.txt)")
    pytest.importorskip("websocket", reason="the load test's client (requirements-dev.txt)")
    from tests.e2e.conftest import serve

    cluster = Cluster(cpus=2)
    servers = []
    try:
        env = {
            **LOOPBACK,
            executors.RAY_ADDRESS: cluster.address,
            "MAKEMORE_RUN_CACHE_DIR": str(tmp_path / "runs"),  # one folder both servers read
        }
        for _ in range(2):
            servers.append(serve(env=env))
        url_a, url_b = (next(s) for s in servers)

        # a run started on A is watched live on B, trained once
        a = open_trainer(url_a, 60_000, seed=101)
        a.click("mlp:train")
        assert a.watch(lambda: len(set(steps_shown(a))) >= 3, 90), a.progress[-3:]
        b = open_trainer(url_b, 60_000, seed=101)
        shown = len(b.progress)
        b.click("mlp:train")
        assert b.watch(lambda: len(set(steps_shown(b)[shown:])) >= 4, 60), b.progress[-3:]
        seen = steps_shown(b)[shown:]
        assert seen == sorted(seen)
        assert seen[-1] > seen[0]  # live (its first frame: the hub's latest whole copy)
        assert not b.errors
        assert not b.exceptions
        status = cluster.hub()
        assert status["started"] == 1  # one training for both servers
        assert len(status["busy"]) == 1

        # B looks away; a Stop from A stops the Ray worker, and B's copy says so too
        b.click("mlp:reset")
        a.click("mlp:stop")
        assert a.watch(lambda: a.progress and "stopped" in a.progress[-1], 10), a.progress[-2:]
        stopped = steps_shown(a)[-1]
        assert stopped < 60_000
        assert cluster.hub()["busy"] == {}

        # a killed Ray worker: the run is reported lost, with Retry, and Retry trains it
        a.set("steps", 200_000)
        shown = len(a.progress)
        a.click("mlp:train")
        assert a.watch(lambda: any(n > 0 for n in steps_shown(a)[shown:]), 60), a.progress[-2:]
        status = cluster.hub()
        (index,) = status["busy"]
        os.kill(status["pids"][int(index)], signal.SIGKILL)
        assert a.watch(lambda: any(LOST in e for e in a.errors), 30), a.errors
        assert a.watch(lambda: "failed" in a.progress[-1], 10), a.progress[-2:]
        assert a.watch(lambda: "mlp:retry" in a.widgets, 10)
        shown = len(a.progress)
        a.click("mlp:retry")
        assert a.watch(lambda: any(n > 0 for n in steps_shown(a)[shown:]), 60), a.progress[-2:]
        a.click("mlp:stop")
        assert a.watch(lambda: "stopped" in a.progress[-1], 10), a.progress[-2:]
        assert cluster.hub()["started"] == 3
        for tab in (a, b):
            tab.close()
    finally:
        for s in servers:
            next(s, None)  # stops the server
        cluster.stop()
    assert cluster.processes() == []  # nothing of the cluster is left


class AwayExecutor:
    """A shared executor whose hub does not answer (what RayWorkers says then)."""

    n, shared, prefix = 1, True, "x-"

    def __init__(self):
        self.results = queue.Queue()
        self.unavailable = ray_workers.AWAY

    def idle(self):
        return []

    def replace_dead(self):
        return []

    def close(self):
        pass


def test_while_the_cluster_does_not_answer_new_runs_are_refused_plainly():
    svc = TrainingService(AwayExecutor(), RunCache(None, 0))
    try:
        with pytest.raises(ConfigError, match="does not answer"):
            svc.submit(mlp(), "s", WORDS)
    finally:
        svc.close()


def test_while_the_hub_is_away_no_call_waits_for_it():
    workers = ray_workers.RayWorkers.__new__(ray_workers.RayWorkers)
    workers.hub = None  # any call to it would raise
    workers.ray = type("Connected", (), {"is_initialized": staticmethod(lambda: True)})
    workers._closed = threading.Event()
    workers.away_since = time.monotonic()
    assert workers.call("request", "run", "session", default=0) == 0
    assert workers.unavailable == ray_workers.AWAY


class Replica:
    """An app server's shared executor whose hub is one in-process Registry (the hub's
    runs by key): a call takes a few milliseconds to reach it, and the hub answers one
    call at a time, as a Ray actor does."""

    n, shared = 1, True

    def __init__(self, registry: Registry, lock: threading.Lock, prefix: str):
        self.registry, self.hub_lock, self.prefix = registry, lock, prefix
        self.results = queue.Queue()

    def _call(self, method: str, *args):
        time.sleep(0.005)  # on its way to the hub
        with self.hub_lock:
            return getattr(self.registry, method)(*args)

    def claim(self, key, run_id, blob, refs, patch_every):
        found = self._call("claim", key, run_id, blob, self.prefix)
        return None if found is None else (found[0], found[2], found[3])

    def unpublish(self, key, run_id):
        self._call("unpublish", key, run_id)

    def idle(self):
        return []  # starts nothing: the test is about who owns the run

    def replace_dead(self):
        return []

    def stop(self, run_id):
        pass

    def released(self, run_id):
        pass

    def close(self):
        pass


def test_two_servers_submitting_one_run_at_the_same_moment_train_it_once():
    registry, lock = Registry(), threading.Lock()
    servers = [
        TrainingService(Replica(registry, lock, prefix), RunCache(None, 0))
        for prefix in ("a-", "b-")
    ]
    try:

        def submit(i, attempt, start, answers):
            start.wait()
            answers[i] = servers[i].submit(mlp(seed=attempt), f"student-{i}", WORDS)

        for attempt in range(5):
            start, answers = threading.Barrier(2), [None, None]
            threads = [
                threading.Thread(target=submit, args=(i, attempt, start, answers)) for i in range(2)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            (a, how_a), (b, how_b) = answers
            assert sorted([how_a, how_b]) == ["live", "new"]  # one trains, one watches
            assert a.id == b.id
            new = a if how_a == "new" else b
            assert registry.live[new.key] == new.id
            assert len(registry.runs) == attempt + 1  # one run per key at the hub
    finally:
        for svc in servers:
            svc.close()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux /proc")
def test_the_cluster_going_away_fails_runs_plainly_and_hangs_nothing():
    pytest.importorskip("ray", reason="Ray is optional (requirements-ray.txt)")
    cluster = Cluster(cpus=2)
    try:
        svc = TrainingService(ray_workers.RayWorkers.connect(cluster.address), RunCache(None, 0))
        try:
            handle, _ = svc.submit(mlp(200_000, seed=1), "s", WORDS)
            deadline = time.monotonic() + 60
            while handle.step < 300 and time.monotonic() < deadline:
                svc.watch(handle, "s")
                time.sleep(0.05)
            assert handle.state == "running"
            cluster.hub()  # learn the actors' process ids, to stop them with the head
            cluster.stop()  # the head and every process of the cluster, gone
            slowest, deadline = 0.0, time.monotonic() + 60
            while handle.state != "failed" and time.monotonic() < deadline:
                t0 = time.monotonic()
                svc.watch(handle, "s")
                slowest = max(slowest, time.monotonic() - t0)
                time.sleep(0.1)
            assert handle.error == ray_workers.UNREACHABLE
            assert slowest <= ray_workers.CALL_TIMEOUT + 1  # a page tick waits for no Ray call
            with pytest.raises(ConfigError, match="does not answer"):
                svc.submit(mlp(seed=2), "s", WORDS)
        finally:
            svc.close()
    finally:
        cluster.stop()


# --- co-batched groups on one slot actor ----------------------------------------------


def bn_mlp(steps: int, seed: int, lr: float = 0.1) -> Job:
    train = TrainConfig(steps=steps, seed=seed, lr=lr, eval_every=500)
    return Job(MLPConfig(n_hidden=32, batchnorm=True), train, splits(), WORDS.vocab_size)


def until(svc, handle, session, states=("done",), timeout=120.0):
    """Watch the handle as a page does until it reaches one of `states`."""
    deadline = time.monotonic() + timeout
    while handle.state not in states:
        assert time.monotonic() < deadline, f"still {handle.state} at step {handle.step}"
        svc.watch(handle, session)
        time.sleep(0.02)
    return handle


@pytest.fixture
def one_slot_actor(monkeypatch):
    """A local cluster whose hub has one slot actor that trains up to 4 runs together, and
    this process's training service on it."""
    pytest.importorskip("ray", reason="Ray is optional (requirements-ray.txt)")
    monkeypatch.setenv("MAKEMORE_GROUP", "4")
    cluster = Cluster(cpus=2)
    try:
        svc = TrainingService(
            ray_workers.RayWorkers.connect(cluster.address, slots=1), RunCache(None, 0)
        )
        try:
            yield cluster, svc
        finally:
            svc.close()
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux /proc")
def test_compatible_runs_of_two_sessions_train_together_on_one_actor(one_slot_actor):
    cluster, svc = one_slot_actor
    assert svc.slots.n == 4  # one actor, four runs at once
    # long enough (seconds, on a fast CPU) that both train together for many patches
    a, _ = svc.submit(bn_mlp(40_000, seed=1), "a", WORDS)
    until(svc, a, "a", ("running",))
    b, _ = svc.submit(bn_mlp(30_000, seed=2, lr=0.2), "b", WORDS)  # another session's
    until(svc, b, "b", ("running",))
    status = cluster.hub()
    assert status["busy"] == {"0": sorted([a.id, b.id])}  # both on the one actor
    deadline = time.monotonic() + 30
    while not (a.together == b.together == 1) and time.monotonic() < deadline:
        svc.watch(a, "a"), svc.watch(b, "b")
        time.sleep(0.02)
    assert a.together == b.together == 1  # what the progress line says
    until(svc, b, "b")
    until(svc, a, "a")
    assert a.together == b.together == 0
    assert cluster.hub()["started"] == 2
    for handle, (steps, seed, lr) in ((a, (40_000, 1, 0.1)), (b, (30_000, 2, 0.2))):
        alone = bn_mlp(steps, seed, lr)
        alone.run()
        with handle.view() as trained:
            assert same(trained, alone)  # bit for bit as alone


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux /proc")
def test_a_stop_in_a_group_on_one_actor_leaves_the_others_training(one_slot_actor):
    cluster, svc = one_slot_actor
    a, _ = svc.submit(bn_mlp(200_000, seed=1), "a", WORDS)
    b, _ = svc.submit(bn_mlp(200_000, seed=2), "b", WORDS)
    until(svc, a, "a", ("running",))
    until(svc, b, "b", ("running",))
    deadline = time.monotonic() + 60
    while cluster.hub()["busy"] != {"0": sorted([a.id, b.id])}:
        assert time.monotonic() < deadline
        svc.watch(a, "a"), svc.watch(b, "b")
    svc.stop(a, "a")
    until(svc, a, "a", ("stopped",), timeout=10)
    step = b.step
    deadline = time.monotonic() + 30
    while b.step <= step + 200:  # b trains on, on the same actor
        assert time.monotonic() < deadline, b.step
        assert b.state == "running"
        svc.watch(b, "b")
        time.sleep(0.05)
    assert cluster.hub()["busy"] == {"0": [b.id]}
    svc.stop(b, "b")
    until(svc, b, "b", ("stopped",), timeout=10)


# --- a queued run whose server went away ----------------------------------------------

GONE_SERVER = """
import sys, time
from engine.serve.cache import RunCache
from engine.serve.ray_workers import RayWorkers
from engine.serve.service import TrainingService
from tests.test_ray import WORDS, mlp

svc = TrainingService(RayWorkers.connect(sys.argv[1]), RunCache(None, 0))
for seed in (7, 8):  # two students of this server: both wait for the one slot
    handle, how = svc.submit(mlp(3_000, seed=seed), f"student-{seed}", WORDS)
    print(handle.id, how, flush=True)
time.sleep(600)  # killed before
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux /proc")
def test_a_queued_run_whose_server_dies_is_started_by_the_hub_for_who_comes_back(
    monkeypatch, tmp_path
):
    """Server A queues two runs and dies. The student of one comes back on server B (this
    process) and watches it: the hub starts it once A is gone and B keeps it in the shared
    run cache. The other one, that nobody comes back for, ends when its leases lapse: a
    later Train of it starts a new run."""
    pytest.importorskip("ray", reason="Ray is optional (requirements-ray.txt)")
    monkeypatch.setenv("MAKEMORE_GROUP", "1")  # one slot actor, one run at a time
    cluster = Cluster(cpus=2)
    gone = None
    try:
        workers = ray_workers.RayWorkers.connect(cluster.address, slots=1, lease=5.0)
        svc = TrainingService(workers, RunCache(tmp_path / "runs", 10**8))
        try:
            teacher, _ = svc.submit(mlp(200_000, seed=1), "teacher", WORDS)
            until(svc, teacher, "teacher", ("running",), timeout=60)
            gone = subprocess.Popen(
                [sys.executable, "-c", GONE_SERVER, cluster.address],
                cwd=ROOT,
                env={**os.environ, **LOOPBACK},
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            (x, how_x), (y, how_y) = (gone.stdout.readline().split() for _ in range(2))
            assert how_x == how_y == "new"
            os.killpg(gone.pid, signal.SIGKILL)  # server A is gone, its runs still queued
            gone.wait(10)

            back, how = svc.submit(mlp(3_000, seed=7), "student-7", WORDS)
            assert how == "live"  # A's run, queued at the hub
            assert back.id == x
            assert back.state == "queued"
            svc.stop(teacher, "teacher")  # the slot frees: x holds it, its server is gone
            until(svc, back, "student-7", timeout=120)
            status = cluster.hub()
            assert status["adopted"] == 1  # started by the hub
            assert status["started"] == 2  # the teacher's run and x: y never trained
            alone = mlp(3_000, seed=7)
            alone.run()
            with back.view() as trained:
                assert same(trained, alone)
            assert svc.cache.get(back.key) is not None  # for whoever asks next

            y_key = job_key(mlp(3_000, seed=8))  # y's student never came back
            deadline = time.monotonic() + 30
            while workers.call("join", y_key, default=()) is not None:  # asked as nobody
                assert time.monotonic() < deadline, "y is still queued at the hub"
                time.sleep(0.5)
            again, how = svc.submit(mlp(3_000, seed=8), "student-8", WORDS)
            assert how == "new"  # ended at the hub: a run of its own now
            assert again.id != y
            until(svc, again, "student-8", timeout=120)
        finally:
            svc.close()
    finally:
        if gone is not None and gone.poll() is None:
            os.killpg(gone.pid, signal.SIGKILL)
        cluster.stop()
