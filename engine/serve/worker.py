"""A training worker: a process of its own that trains what the service sends, as fast as it can.

It trains in short chunks and, between chunks, reads its commands (so Stop lands within a
chunk) and sends the server a patch of what changed, a few times a second. When the
training finishes or is stopped, the whole training goes back, pickled: the server's copy
then is the training itself, ready to resume on any worker.

Messages in: ("data", key, blob) a shared data object (engine.serve.portable references),
("forget", key), ("start", run_id, blob, patch_every) (a worker that trains compatible runs takes another
into their group), ("stop", run_id), ("quit",).
Messages out, on the results queue shared by all workers: ("ready", worker, pid, speed)
(engine.serve.estimate: how fast this worker trains),
("patch", run_id, step, blob, others) (others: the runs its Stack trains with this one),
("stopped" | "done", run_id, blob), ("failed", run_id, message).
"""

from __future__ import annotations

import os
import pickle
import queue
import time
import traceback

import torch

from engine.messages import msg
from engine.models import ConfigError
from engine.serve import estimate, portable
from engine.stacked import Stack, keep_freed_memory

CHUNK = 0.05  # seconds of training between looks at the commands
PATCHES_AT_ONCE = 4  # runs of a group patched every patch_every; more: each one less often


def _step_of(trainable) -> int:
    return int(getattr(trainable, "step", 0))


def main(worker: int, commands, results, threads: int = 1, nice: int = 0) -> None:
    """The worker process: serve commands until ("quit",) or the server goes away.

    Runs that can train together (engine.stacked.group_key) train in one Stack: the
    service sends a compatible run to a worker that trains others (engine.serve.groups)
    and it joins them at their next step; every run still gets its own patches and its
    own "done" or "stopped"."""
    torch.set_num_threads(threads)
    keep_freed_memory()
    os.nice(nice)  # the pages first: training takes every cycle they leave
    store: dict[tuple[str, str], object] = {}
    runs: dict[str, list] = {}  # run_id -> [trainable, outbox, patch_every, last patch time]
    stack = Stack()  # the runs that train together
    results.put(("ready", worker, os.getpid(), estimate.measure()))
    while True:
        try:
            message = commands.get() if not runs else commands.get_nowait()
        except queue.Empty:
            message = None
        except (EOFError, OSError):  # the server is gone
            return
        if message is not None:
            kind = message[0]
            if kind == "quit":
                return
            if kind == "data":
                store[message[1]] = pickle.loads(message[2])
            elif kind == "forget":
                store.pop(message[1], None)
            elif kind == "start":
                run_id, blob, patch_every = message[1:]
                try:
                    trainable = portable.loads(blob, store.__getitem__)
                    if stack.accepts(trainable):
                        stack.join(trainable)
                    runs[run_id] = [trainable, portable.Outbox(trainable), patch_every, 0.0]
                except Exception as e:  # reported to the page, never raised
                    results.put(("failed", run_id, _message(e)))
            elif kind == "stop" and message[1] in runs:
                trainable = runs.pop(message[1])[0]
                if trainable in stack.jobs:
                    stack.leave(trainable)
                results.put(("stopped", message[1], portable.dumps(trainable)))
            continue  # read every waiting command before training on
        if not runs:
            continue
        try:
            if stack.jobs:
                stack.train_for(CHUNK)
            for trainable, *_ in runs.values():
                if trainable not in stack.jobs:
                    trainable.train_for(CHUNK)
        except Exception as e:
            for run_id, (trainable, *_) in runs.items():
                if trainable in stack.jobs:
                    stack.leave(trainable)
                results.put(("failed", run_id, _message(e)))
            runs.clear()
            continue
        now = time.monotonic()
        spread = max(1.0, len(runs) / PATCHES_AT_ONCE)  # a big group: each run's patches rarer
        for run_id, run in list(runs.items()):
            trainable, outbox, patch_every, last = run
            if trainable.done and trainable not in stack.jobs:
                results.put(("done", run_id, portable.dumps(trainable)))
                del runs[run_id]
            elif now - last >= patch_every * spread:
                blob = portable.dumps(outbox.patch())
                others = len(stack.jobs) - 1 if trainable in stack.jobs else 0
                results.put(("patch", run_id, _step_of(trainable), blob, others))
                run[3] = time.monotonic()


def _message(e: Exception) -> str:
    if isinstance(e, ConfigError):
        return e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e)
    traceback.print_exc()
    return msg("Training failed: {kind}: {error}", kind=type(e).__name__, error=str(e))
