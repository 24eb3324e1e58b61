"""The hub: what a Ray cluster keeps for every app server of a course.

engine.serve.ray_workers connects an app server to it (its docstring tells the whole
design). The **hub** is one named, detached actor (`makemore-hub` in the namespace
`makemore`, no CPU of its own; calls run one at a time): the slot queue of every server's
sessions (an engine.serve.slots.Slots, leases and all), the registry of runs in progress
by run key (Registry: a new run is claimed in one call, so one key trains once), the slot
actors (engine.serve.slot_actor; the hub places runs on them by engine.serve.groups'
rules), and for each run the messages its slot sent (the latest whole replica, a "base"
every BASE_EVERY seconds, and the patches since). The queue is the hub's: a run whose
server went away is started by the hub for a server that still shows it (Hub._orphans).

Imported only inside the cluster's processes and by ray_workers once Ray is imported."""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict, deque
from contextlib import suppress

from engine.messages import msg
from engine.serve.local import DATA_PER_WORKER, NICE
from engine.serve.service import LOST
from engine.serve.slot_actor import SlotWorker

log = logging.getLogger(__name__)

NAMESPACE = "makemore"
HUB = "makemore-hub"
KEEP_FINISHED = 120.0  # seconds the hub keeps a finished run's last messages
FINAL = ("done", "stopped", "failed")
OWNER_GONE = 10.0  # seconds without a poll before a server counts as gone (its runs orphans)
GONE = msg("The Ray cluster restarted and lost this run. Retry starts it again.")


class Run:
    """What the hub keeps of a run: its latest whole replica and the messages since."""

    def __init__(self, key: str | None, blob: bytes, owner: str | None = None):
        self.key, self.seq, self.step = key, 0, 0
        self.owner = owner  # the server that starts it (its prefix), None: unknown
        self.servers: set[str] = {owner} if owner else set()  # the servers that show it
        self.how: tuple | None = None  # (blob, data, patch_every, group): how to start it
        self.base = (0, blob)  # (seq, whole replica)
        self.log: deque[tuple[int, tuple]] = deque()
        self.state, self.ended = "queued", None
        self.patched = False  # a slot sent a patch: it trained
        self.final: bytes | None = None  # the whole training, once done


class Registry:
    """The runs in progress by run key, and what their servers get of them: the hub's part
    that needs no Ray (a test arbitrates two servers with it in one process).

    A server asks `claim` before it queues a new run: calls to the hub run one at a time,
    so of two servers claiming the same key at the same moment one gets the run and the
    other the answer to join it: a run is trained once. Every server's poll says it is
    alive (`seen`); a run whose owner stopped asking is an orphan (Hub._orphans)."""

    def __init__(self):
        self.runs: dict[str, Run] = {}
        self.live: dict[str, str] = {}  # run key -> run id, while queued or training
        self.seen: dict[str, float] = {}  # server (its run ids' prefix) -> its last call

    def _in_flight(self, run_id: str) -> bool:
        return False  # the Hub: started or waiting for a slot actor

    def _own(self, data: dict) -> dict:
        return data  # the Hub: copies the hub owns (they outlive the server that sent them)

    def claim(
        self,
        key: str | None,
        run_id: str,
        blob: bytes,
        server: str | None = None,
        data: dict | None = None,
        patch_every: float = 0.3,
        group=None,
    ):
        """Atomically: the run in progress with this key for the caller to join (what
        `join` answers), or None: `run_id` is now the run of that key, `server` its owner,
        and the hub can start it from `data` should that server go away."""
        if server is not None:
            self.seen[server] = time.monotonic()
        if key is not None and (found := self.join(key, server)) is not None:
            return found
        run = self.runs[run_id] = Run(key, blob, server)
        if data is not None:
            run.how = (blob, self._own(data), patch_every, group)
        if key is not None:
            self.live[key] = run_id
        return None

    def unpublish(self, key: str | None, run_id: str) -> None:
        """The run is no longer shared (stopped, finished); one that never started ends."""
        if key is not None and self.live.get(key) == run_id:
            del self.live[key]
        run = self.runs.get(run_id)
        queued = run is not None and run.state == "queued" and run.ended is None
        if queued and not self._in_flight(run_id):
            self.post(run_id, ("stopped", run_id, run.base[1]))

    def join(self, key: str, server: str | None = None):
        """The run in progress with this key, or just finished (state "done", the whole
        training): (run id, seq, whole replica, state), or None."""
        run_id = self.live.get(key)
        run = self.runs.get(run_id) if run_id is not None else None
        if run is None or (run.ended is not None and run.final is None):
            return None
        if server is not None:
            run.servers.add(server)
        if run.final is not None:
            return run_id, run.seq, run.final, "done"
        return run_id, run.base[0], run.base[1], run.state

    def post(self, run_id: str, message: tuple) -> None:
        """A message for the servers that show this run (from a slot, or the hub's own)."""
        run = self.runs.get(run_id)
        if run is None or run.ended is not None:  # a patch that overtook the final message
            return
        kind = message[0]
        if kind == "base":  # sent right after a patch: the same seq, whoever has it is current
            run.base, run.step = (run.seq, message[3]), message[2]
            run.log.clear()
            return
        run.seq += 1
        run.log.append((run.seq, message))
        if kind == "patch":
            run.step, run.patched = message[2], True
        elif kind == "started":
            run.state = "running"
        elif kind in FINAL:
            run.state, run.ended = kind, time.monotonic()
            if kind == "done":  # served to whoever asks before it is in the run cache
                run.final = message[2]
            elif run.key is not None and self.live.get(run.key) == run_id:
                del self.live[run.key]


class Hub(Registry):
    """The course's shared state (a named, detached Ray actor; calls run one at a time)."""

    def __init__(self, n: int, lease: float, threads: int = 1, nice: int = NICE, group: int = 1):
        import ray

        from engine.serve.groups import Groups
        from engine.serve.slots import Slots

        super().__init__()
        self.group = max(1, group)  # runs a slot actor may train at once (MAKEMORE_GROUP)
        self.slots = Slots(n * self.group, lease=lease)
        concurrency = self.group + 4  # a thread per run it trains, and Stop, pid, measure
        slot = ray.remote(num_cpus=1, max_concurrency=concurrency, max_restarts=-1)(SlotWorker)
        me = ray.get_runtime_context().current_actor
        self.workers = [slot.remote(i, me, threads, nice) for i in range(n)]
        self.measures = [w.measure.remote() for w in self.workers]
        self.speeds: list = []
        self.groups = Groups(self.group)  # which runs each slot trains, by group key
        self.trains: dict = {}  # ObjectRef of train() -> (slot, run id)
        self.pending: deque[tuple] = deque()  # starts waiting for a slot to finish its last
        self.copy = ray.remote(num_cpus=0)(_same)  # a task whose result the hub owns
        self.data: OrderedDict[tuple, object] = OrderedDict()  # data key -> the hub's copy
        self.started = 0  # runs started on a slot, ever
        self.adopted = 0  # of those, started by the hub because their server was gone
        self.starts: dict[str, tuple] = {}  # run id -> how it was started (to start it again)
        self.restarted: dict[int, float] = {}  # slot -> when Ray last restarted its actor

    # --- the shared slot queue (engine.serve.slots.Slots, for every server's sessions) --

    def hello(self) -> tuple[int, int]:
        """(slot actors, slots in the queue: actors x runs each may train together)."""
        return len(self.workers), self.slots.n

    def request(self, owner: str, session: str) -> int:
        return self.slots.request(owner, session)

    def release(self, owner: str, session: str) -> None:
        self.slots.release(owner, session)

    def release_all(self, owner: str) -> None:
        self.slots.release_all(owner)

    def leave(self, session: str) -> None:
        self.slots.leave(session)

    def table(self) -> tuple[dict, dict]:
        """(holders, queue) after expiring leases: who trains, who waits, by whom."""
        self.slots.counts()
        with self.slots.lock:
            return (
                {o: dict(s) for o, s in self.slots.holders.items()},
                {o: dict(s) for o, s in self.slots.queue.items()},
            )

    # --- training ---------------------------------------------------------------------

    def start(
        self,
        run_id: str,
        blob: bytes,
        data: dict,
        patch_every: float,
        group=None,
        server: str | None = None,
    ) -> None:
        """Train the run on a slot actor: an idle one, else one that trains runs of the same
        group key (engine.stacked.group_key; None: alone) with room, else when one has.
        `server` starts it (and owns it from now on)."""
        if self._in_flight(run_id):  # the hub started it already (its owner was away)
            return
        run = self.runs.get(run_id)
        if run is None or run.ended is not None:  # resumed: a run of its own again
            key, servers = getattr(run, "key", None), getattr(run, "servers", set())
            run = self.runs[run_id] = Run(key, blob, server)
            run.servers |= servers
        elif server is not None:
            run.owner = server
            run.servers.add(server)
        run.state = "queued"
        self.pending.append((run_id, blob, data, patch_every, 0, group))
        self._dispatch()

    def stop(self, run_id: str) -> None:
        index = self.groups.where.get(run_id)
        if index is not None:
            self.workers[index].stop.remote(run_id)
            return
        for item in list(self.pending):
            if item[0] == run_id:
                self.pending.remove(item)
                self.post(run_id, ("stopped", run_id, item[1]))

    def _in_flight(self, run_id: str) -> bool:
        return run_id in self.groups.where or any(p[0] == run_id for p in self.pending)

    def _own(self, data: dict) -> dict:
        """Copies of the server's data objects that the hub owns: an object lives as long as
        the process that put it, and a queued run may outlive the server that queued it."""
        out = {}
        for key, ref in data.items():
            if key not in self.data:
                self.data[key] = self.copy.remote(ref)
            self.data.move_to_end(key)
            out[key] = self.data[key]
        while len(self.data) > 2 * DATA_PER_WORKER:  # the runs that use one keep it alive
            self.data.popitem(last=False)
        return out

    def _orphans(self) -> None:
        """Runs whose owner server went away (no poll for OWNER_GONE seconds): one holding
        a slot that another live server shows is started by the hub (its watchers there
        get it, and its server there keeps it in the shared run cache); one that nobody
        holds a lease on any more ends (stopped, or Stop sent to its slot)."""
        now = time.monotonic()

        def gone(server: str | None) -> bool:
            return server is not None and now - self.seen.get(server, now) > OWNER_GONE

        self.slots.counts()  # expire leases
        holders, waiting = self.slots.holders, self.slots.queue
        for run_id, run in list(self.runs.items()):
            if run.ended is not None or not gone(run.owner):
                continue
            if run_id not in holders and run_id not in waiting:  # nobody wants it now
                if self._in_flight(run_id):
                    self.stop(run_id)
                else:
                    log.info("Run %s ends: its server is gone, nobody waits for it", run_id)
                    self.unpublish(run.key, run_id)
            elif (
                run_id in holders
                and run.state == "queued"
                and run.how is not None
                and not self._in_flight(run_id)
                and any(not gone(s) for s in run.servers - {run.owner})
            ):
                log.info("Run %s started by the hub: its server %s is gone", run_id, run.owner)
                self.adopted += 1
                self.start(run_id, *run.how)

    @property
    def busy(self) -> dict[int, list[str]]:
        """slot -> the runs it trains."""
        return {i: sorted(runs) for i, (_, runs) in self.groups.workers.items()}

    def _dispatch(self) -> None:
        """Start what waits, in order, where engine.serve.groups' rules place it."""
        for item in list(self.pending):
            free = [i for i in range(len(self.workers)) if i not in self.groups.workers]
            free.sort(key=lambda i: self.restarted.get(i, 0.0))  # healthy slots first
            run_id, blob, data, patch_every, _, group = item
            index = self.groups.place_key(group, free)
            if index is None:
                continue
            self.pending.remove(item)
            self.starts[run_id] = item
            ref = self.workers[index].train.remote(run_id, blob, data, patch_every)
            self.trains[ref] = (index, run_id)
            self.groups.started_key(index, run_id, group)
            self.started += 1
            self.post(run_id, ("started", run_id))

    def _reap(self) -> None:
        """The slots' finished trainings: their final messages; a dead slot's run is lost."""
        import ray

        if self.trains:
            ready, _ = ray.wait(list(self.trains), num_returns=len(self.trains), timeout=0)
            for ref in ready:
                index, run_id = self.trains.pop(ref)
                self.groups.ended(run_id)
                try:
                    message = ray.get(ref)
                except Exception as e:  # the actor died (killed, out of memory): Ray restarts it
                    self.restarted[index] = time.monotonic()
                    start = self.starts.get(run_id)
                    run = self.runs.get(run_id)
                    if start is not None and start[4] < 2 and run is not None and not run.patched:
                        # it never trained (the slot was still restarting): again, elsewhere
                        self.pending.appendleft((*start[:4], start[4] + 1, start[5]))
                        continue
                    log.warning("Run %s lost on slot %d: %s", run_id, index, e)
                    message = ("failed", run_id, LOST)
                self.post(run_id, message)
            self._dispatch()
        if self.measures:
            ready, _ = ray.wait(self.measures, num_returns=len(self.measures), timeout=0)
            for ref in ready:
                self.measures.remove(ref)
                with suppress(Exception):
                    self.speeds.append(ray.get(ref))
        now = time.monotonic()
        for run_id, run in list(self.runs.items()):
            if run.ended is not None and now - run.ended > KEEP_FINISHED:
                del self.runs[run_id]
                if run.key is not None and self.live.get(run.key) == run_id:
                    del self.live[run.key]

    def poll(
        self, cursors: dict[str, int], speeds_seen: int = 0, server: str | None = None
    ) -> tuple[list, list]:
        """The messages after each cursor (run id -> last seq seen), and new speed measures.

        A server behind the latest base gets the base first (a whole replica), then the
        patches after it. Each poll says that `server` is still there."""
        if server is not None:
            self.seen[server] = time.monotonic()
        self._reap()
        self._orphans()
        out = []
        for run_id, cursor in cursors.items():
            run = self.runs.get(run_id)
            if run is None:
                out.append((run_id, cursor, ("failed", run_id, GONE)))
                continue
            if cursor < run.base[0]:
                out.append((run_id, run.base[0], ("base", run_id, run.step, run.base[1])))
            out += [(run_id, seq, m) for seq, m in run.log if seq > max(cursor, run.base[0])]
        return out, self.speeds[speeds_seen:]

    def pids(self) -> list[int]:
        """The slot actors' process ids (a test kills one)."""
        import ray

        return ray.get([w.pid.remote() for w in self.workers])

    def stats(self) -> dict:
        return {
            "started": self.started,
            "busy": dict(self.busy),
            "pending": len(self.pending),
            "adopted": self.adopted,
            "hub_pid": os.getpid(),
        }


def _same(raw):
    """A task's result is owned by whoever called it: the hub's copy of a server's data."""
    return raw
