"""A training worker: a process of its own that trains what the service sends, as fast as it can.

It trains in short chunks and, between chunks, reads its commands (so Stop lands within a
chunk) and sends the server a patch of what changed, a few times a second. When the
training finishes or is stopped, the whole training goes back, pickled: the server's copy
then is the training itself, ready to resume on any worker.

Messages in: ("data", key, blob) a shared data object (engine.serve.portable references),
("forget", key), ("start", run_id, blob, patch_every), ("stop", run_id), ("quit",).
Messages out, on the results queue shared by all workers: ("ready", worker, pid, speed)
(engine.serve.estimate: how fast this worker trains),
("patch", run_id, step, blob), ("stopped" | "done", run_id, blob),
("failed", run_id, message).
"""

from __future__ import annotations

import os
import pickle
import queue
import time
import traceback

import torch

from engine.models import ConfigError
from engine.serve import estimate, portable

CHUNK = 0.05  # seconds of training between looks at the commands


def _step_of(trainable) -> int:
    return int(getattr(trainable, "step", 0))


def main(worker: int, commands, results, threads: int = 1, nice: int = 0) -> None:
    """The worker process: serve commands until ("quit",) or the server goes away."""
    torch.set_num_threads(threads)
    os.nice(nice)  # the pages first: training takes every cycle they leave
    store: dict[tuple[str, str], object] = {}
    run = None  # [run_id, trainable, outbox, patch_every, last patch time]
    results.put(("ready", worker, os.getpid(), estimate.measure()))
    while True:
        try:
            message = commands.get() if run is None else commands.get_nowait()
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
                    run = [run_id, trainable, portable.Outbox(trainable), patch_every, 0.0]
                except Exception as e:  # reported to the page, never raised
                    results.put(("failed", run_id, _message(e)))
            elif kind == "stop" and run is not None and run[0] == message[1]:
                results.put(("stopped", run[0], portable.dumps(run[1])))
                run = None
            continue  # read every waiting command before training on
        if run is None:
            continue
        run_id, trainable, outbox, patch_every, last = run
        try:
            trainable.train_for(CHUNK)
            if trainable.done:
                results.put(("done", run_id, portable.dumps(trainable)))
                run = None
            elif time.monotonic() - last >= patch_every:
                blob = portable.dumps(outbox.patch())
                results.put(("patch", run_id, _step_of(trainable), blob))
                run[4] = time.monotonic()
        except Exception as e:
            results.put(("failed", run_id, _message(e)))
            run = None


def _message(e: Exception) -> str:
    if isinstance(e, ConfigError):
        return str(e)
    traceback.print_exc()
    return f"Training failed: {type(e).__name__}: {e}"
