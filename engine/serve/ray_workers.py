"""Training slots on a Ray cluster, shared by every app server of a course.

With `MAKEMORE_RAY_ADDRESS` set, the training service (engine.serve.service) hands its runs
to a Ray cluster instead of its own worker processes. Three kinds of process take part:

- The **hub** (engine.serve.hub): one named, detached actor that every app server finds
  by name. It holds what the servers share: the slot queue (first come first served over
  all servers' sessions, with their leases), the registry of runs in progress by run key
  (a new run is claimed in one hub call, so a run that a session on server A trains is
  found by server B and watched there, trained once, even when both asked at the same
  moment), the training slots, and each run's latest whole replica and patches. The queue
  is the hub's: a queued run whose server went away is started by the hub for another
  server that shows it.
- One **slot actor** per training slot (engine.serve.slot_actor; one CPU each, one torch
  thread, at the workers' nice), started by the hub: it trains its runs in 0.05 s chunks
  as a local worker does (with MAKEMORE_GROUP > 1, compatible runs together in one
  Stack), posts each run's patches to the hub every `patch_every` seconds and returns a
  run's whole training when it finishes or is stopped; Stop lands within a chunk. A slot actor that dies
  (killed, out of memory) is restarted by Ray; the hub reports its run as lost, with Retry.
- In each app server, **RayWorkers** (this file): the service's executor. Its thread polls
  the hub every POLL_EVERY seconds for the messages of the runs this server shows and puts
  them on `results`, where the service's dispatcher reads them as it reads local workers'.
  While the hub does not answer, new runs are refused with a plain sentence (AWAY) and
  no call waits longer than CALL_TIMEOUT; after LOSE_AFTER seconds the runs it shows are
  reported lost, with Retry.

The code travels with the connection (Ray's `py_modules`: the engine package, pure Python),
so worker machines need only Python, torch and Ray (requirements.txt, requirements-ray.txt).
Nothing here is imported by a default install: Ray is imported when a server connects.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import socket
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import suppress
from pathlib import Path

from engine.messages import msg
from engine.serve import portable
from engine.serve.hub import FINAL, HUB, NAMESPACE, Hub
from engine.serve.local import DATA_PER_WORKER, NICE
from engine.serve.slots import HubSlots
from engine.stacked import group_key, group_limit

log = logging.getLogger(__name__)

POLL_EVERY = 0.05  # seconds between a server's looks at the hub
CALL_TIMEOUT = 3.0  # seconds a server waits for the hub before it counts as away
RETRY_AFTER = 5.0  # seconds a server waits before asking an away hub again
CONNECT_TIMEOUT = 30.0  # seconds to connect (a cold cluster starts the hub's processes)
LOSE_AFTER = 10.0  # seconds without the hub before the runs this server shows count as lost
AWAY = msg(
    "The Ray cluster that trains this server's runs does not answer (its head may be down "
    "or unreachable). New runs can start once it answers again; try again in a minute."
)
UNREACHABLE = msg(
    "The Ray cluster stopped answering while this run trained, so it was lost. Retry "
    "starts it again once the cluster answers."
)


class Unavailable(Exception):
    """Ray is not installed, or the cluster at the address does not answer (a sentence)."""


def _host_port(address: str) -> tuple[str, int] | None:
    """The head's host and port in `host:port` or `ray://host:port`; None for `auto`."""
    if address == "auto":
        return None
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise Unavailable(
            "it is not an address of a Ray cluster (auto, host:port, ray://host:port)."
        )
    return host, int(port)


def _reachable(address: str, timeout: float = 3.0) -> None:
    """Fail fast, with the reason, when nothing listens at the head's address."""
    where = _host_port(address)
    if where is None:
        return
    try:
        socket.create_connection(where, timeout=timeout).close()
    except OSError as e:
        raise Unavailable(
            msg(
                "the Ray cluster at {address} does not answer ({error}).",
                address=address,
                error=str(e.strerror or e),
            )
        ) from e


# ---------------------------------------------------------------------------------------
# in each app server: the executor


class RayWorkers:
    """The training service's executor on a Ray cluster (see the module's docstring)."""

    shared = True  # other servers see this server's runs in progress

    def __init__(self, ray, hub, n: int, address: str, slots: int | None = None):
        self.ray, self.hub, self.n, self.address = ray, hub, n, address
        self.slots = slots or n  # the shared queue's slots: n x runs trained together
        self.prefix = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}-"
        self.results: queue.Queue = queue.Queue()
        self.cursors: dict[str, int] = {}  # runs this server shows -> last message seen
        self.data: OrderedDict[tuple, object] = OrderedDict()  # ref key -> ObjectRef
        self.lock = threading.Lock()
        self.away_since: float | None = None  # when the hub last failed to answer
        self.failing_since: float | None = None  # since when the polls fail
        self._speeds = 0
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="ray-results", daemon=True)
        self._thread.start()

    @classmethod
    def connect(cls, address: str, slots: int | None = None, lease: float = 60.0) -> RayWorkers:
        """Connect to the cluster and find (or start) the hub; Unavailable says why not."""
        try:
            import ray
        except ImportError as e:
            raise Unavailable(
                "Ray is not installed on this server (pip install -r requirements-ray.txt)."
            ) from e
        _reachable(address)
        engine = str(Path(__file__).resolve().parents[1])
        box: dict = {}

        def init():
            try:
                if not ray.is_initialized():
                    ray.init(
                        address=address,
                        namespace=NAMESPACE,
                        runtime_env={"py_modules": [engine]},
                        log_to_driver=False,
                        logging_level=logging.WARNING,
                    )
                n = slots or int(os.environ.get("MAKEMORE_SLOTS", 0)) or _cpus(ray)
                hub = (
                    _hub_class(ray)
                    .options(
                        name=HUB,
                        namespace=NAMESPACE,
                        lifetime="detached",
                        get_if_exists=True,
                        num_cpus=0,
                    )
                    .remote(
                        n,
                        lease,
                        int(os.environ.get("MAKEMORE_THREADS", "1")),
                        int(os.environ.get("MAKEMORE_WORKER_NICE", NICE)),
                        group_limit(),  # the first server's, for the hub's lifetime
                    )
                )
                box["hub"] = hub
                box["n"], box["slots"] = ray.get(hub.hello.remote(), timeout=CONNECT_TIMEOUT)
            except Exception as e:
                box["error"] = e

        thread = threading.Thread(target=init, name="ray-connect", daemon=True)
        thread.start()
        thread.join(CONNECT_TIMEOUT)
        if thread.is_alive() or "error" in box:
            why = box.get("error") or msg("no answer within {s:.0f} s", s=CONNECT_TIMEOUT)
            raise Unavailable(
                msg(
                    "the Ray cluster at {address} could not be used ({why}).",
                    address=address,
                    why=why if isinstance(why, str) else str(why),
                )
            )
        log.info("Training on the Ray cluster at %s: %d slots", address, box["n"])
        return cls(ray, box["hub"], box["n"], address, box["slots"])

    # --- the service's executor interface -------------------------------------------

    def make_slots(self, lease: float) -> HubSlots:
        """The slot queue lives in the hub (its lease was set when the hub started)."""
        return HubSlots(self, self.slots, POLL_EVERY)

    @property
    def unavailable(self) -> str | None:
        """Why no new run can start right now (the hub does not answer), else None."""
        return AWAY if self.away_since is not None else None

    def idle(self) -> list[int]:
        # the shared slots admit at most n runs; the hub starts each on a free slot actor
        return [0]

    def start(self, index: int, run_id: str, blob: bytes, refs: dict, patch_every: float) -> None:
        data = {key: self._put(key, obj) for key, obj in refs.items()}
        self._track(run_id, None)
        self.send("start", run_id, blob, data, patch_every, _group_of(blob, refs), self.prefix)

    def stop(self, run_id: str) -> None:
        self.send("stop", run_id)

    def released(self, run_id: str) -> None:
        pass  # the hub frees its slot actor itself

    def replace_dead(self) -> list[str]:
        return []  # Ray restarts a dead slot actor; the hub reports its run as lost

    def claim(self, key: str | None, run_id: str, blob: bytes, refs: dict, patch_every: float):
        """Ask the hub for the run key (one call: of two servers asking at once one gets
        it): None, the run is ours; else another server's run with this key, to join:
        (run id, whole replica, state). The hub keeps copies of the data, to start the run
        itself should this server go away."""
        data = {k: self._put(k, obj) for k, obj in refs.items()}
        group = _group_of(blob, refs)
        args = (key, run_id, blob, self.prefix, data, patch_every, group)
        found = self.call("claim", *args, default=None)
        if found is None:
            self._track(run_id, 0)
            return None
        return self._joined(found)

    def unpublish(self, key: str | None, run_id: str) -> None:
        self.send("unpublish", key, run_id)

    def _joined(self, found: tuple):
        """Another server's run with this key: (run id, whole replica, state)."""
        run_id, seq, blob, state = found
        if state != "done":
            self._track(run_id, seq)
        return run_id, blob, state

    def pids(self) -> list[int]:
        return self.call("pids", default=[])

    def close(self) -> None:
        """Stop polling and disconnect; the hub and its slots stay for the other servers."""
        self._closed.set()
        self._thread.join(timeout=5)
        with suppress(Exception):
            self.ray.shutdown()

    # --- talking to the hub ------------------------------------------------------------

    def call(self, method: str, *args, default=None):
        """The hub's answer, or `default` at once while it is away (asked again later)."""
        if not self._connected():
            return default
        if self.away_since is not None and time.monotonic() - self.away_since < RETRY_AFTER:
            return default
        try:
            answer = self.ray.get(getattr(self.hub, method).remote(*args), timeout=CALL_TIMEOUT)
        except Exception as e:
            self._away(e)
            return default
        self.away_since = None
        return answer

    def send(self, method: str, *args) -> None:
        """A call whose answer nobody waits for (its failure shows in the next poll)."""
        if not self._connected():
            return
        try:
            getattr(self.hub, method).remote(*args)
        except Exception as e:
            self._away(e)

    def _connected(self) -> bool:
        """Still connected: a call after ray.shutdown() would start a Ray of its own."""
        return not self._closed.is_set() and self.ray.is_initialized()

    def _away(self, e: Exception) -> None:
        if self.away_since is None:
            log.warning("The Ray cluster does not answer: %s", e)
        self.away_since = time.monotonic()

    def _put(self, key: tuple, obj) -> object:
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        ref = self.ray.put(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
        with self.lock:
            self.data[key] = ref
            while len(self.data) > 2 * DATA_PER_WORKER:
                self.data.popitem(last=False)
        return ref

    def _track(self, run_id: str, seq: int | None) -> None:
        with self.lock:
            if seq is not None or run_id not in self.cursors:
                self.cursors[run_id] = max(seq or 0, self.cursors.get(run_id, 0))

    def _poll(self) -> None:
        while not self._closed.wait(POLL_EVERY) and self._connected():
            with self.lock:
                cursors = dict(self.cursors)
            try:
                ref = self.hub.poll.remote(cursors, self._speeds, self.prefix)
                messages, speeds = self.ray.get(ref, timeout=CALL_TIMEOUT)
            except Exception as e:
                self._away(e)
                self.failing_since = self.failing_since or time.monotonic()
                if time.monotonic() - self.failing_since >= LOSE_AFTER:
                    self._lost(cursors)
                self._closed.wait(RETRY_AFTER)
                continue
            self.away_since = self.failing_since = None
            for speed in speeds:
                self.results.put(("ready", None, None, speed))
            self._speeds += len(speeds)
            for run_id, seq, message in messages:
                with self.lock:
                    if run_id not in self.cursors:
                        continue
                    if message[0] in FINAL:
                        del self.cursors[run_id]
                    else:
                        self.cursors[run_id] = max(self.cursors[run_id], seq)
                self.results.put(message)

    def _lost(self, cursors: dict[str, int]) -> None:
        """The hub is away: the runs this server shows are reported lost, with Retry."""
        for run_id in cursors:
            with self.lock:
                if self.cursors.pop(run_id, None) is None:
                    continue
            self.results.put(("failed", run_id, UNREACHABLE))


def _group_of(blob: bytes, refs: dict) -> tuple | None:
    """The run's group key (engine.stacked.group_key): which runs it may train with."""
    if group_limit() == 1:
        return None
    try:
        return group_key(portable.loads(blob, refs.__getitem__))
    except Exception:  # the slot actor reports what is wrong with it
        return None


def _cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _hub_class(ray):
    """The Hub as a Ray actor class (made when Ray is imported, never by a default install)."""
    return ray.remote(Hub)


def main(argv=None) -> int:
    """`python -m engine.serve.ray_workers status|reset --address HEAD`: the hub, from outside."""
    import argparse
    import json

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("what", choices=["status", "reset"])
    ap.add_argument("--address", default=os.environ.get("MAKEMORE_RAY_ADDRESS", "auto"))
    args = ap.parse_args(argv)
    import ray

    _reachable(args.address)
    ray.init(address=args.address, namespace=NAMESPACE, log_to_driver=False, logging_level="ERROR")
    try:
        hub = ray.get_actor(HUB, namespace=NAMESPACE)
    except ValueError:
        print(json.dumps({"hub": None}))
        return 0
    if args.what == "reset":  # e.g. after updating the code: the next server starts a new one
        ray.kill(hub, no_restart=True)
        print(json.dumps({"hub": "stopped"}))
        return 0
    stats = ray.get(hub.stats.remote(), timeout=CALL_TIMEOUT)
    print(json.dumps({"hub": HUB, **stats, "pids": ray.get(hub.pids.remote(), timeout=30)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
