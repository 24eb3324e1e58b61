"""Where trainings run: the executor behind the training service, chosen from the environment.

Two executors have the same face (Executor below): the server's own worker processes
(engine.serve.local, the default, nothing to install) and a Ray cluster
(engine.serve.ray_workers, with `MAKEMORE_RAY_ADDRESS`: `auto`, `host:port` of the head,
or `ray://host:10001`). Ray is optional: when the address is set but Ray is not installed
or the cluster does not answer, the server says so (`notice`) and trains on its own workers.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol

from engine.messages import msg

log = logging.getLogger(__name__)

RAY_ADDRESS = "MAKEMORE_RAY_ADDRESS"


class Executor(Protocol):
    """Training slots the service hands runs to; what they send back arrives on `results`.

    Messages on `results` (engine.serve.worker): ("ready", worker, pid, Speed),
    ("patch", run_id, step, blob, others) (others: how many runs train together with this
    one, which the progress line says), ("done" | "stopped", run_id, blob),
    ("failed", run_id, message); an executor shared by several servers also sends
    ("started", run_id) and ("base", run_id, step, blob) (a whole replica to restart from).
    """

    n: int
    results: object  # .get(timeout=...) raises queue.Empty

    def idle(self) -> list[int]: ...

    def start(
        self, index: int, run_id: str, blob: bytes, refs: dict, patch_every: float
    ) -> None: ...

    def stop(self, run_id: str) -> None: ...

    def released(self, run_id: str) -> None: ...

    def replace_dead(self) -> list[str]: ...

    def close(self) -> None: ...


def from_environment(slots: int) -> tuple[Executor, str | None]:
    """The executor MAKEMORE_RAY_ADDRESS asks for, and a notice when it could not be had.

    Unset: `slots` local worker processes. Set: the Ray cluster at that address; when Ray
    is missing or the cluster unreachable, local workers and a plain sentence saying why.
    """
    from engine.serve.local import LocalWorkers

    address = os.environ.get(RAY_ADDRESS, "").strip()
    if not address:
        return LocalWorkers(slots), None
    from engine.serve import ray_workers  # imports Ray only when it connects

    try:
        executor = ray_workers.RayWorkers.connect(address)
    except ray_workers.Unavailable as e:
        notice = msg(  # what matters first: a toast shows its first lines
            "Trainings run on this server's own worker processes ({slots}), not on Ray: "
            "{variable} is set to {address}, but {why}",
            slots=slots,
            variable=RAY_ADDRESS,
            address=repr(address),
            why=e.args[0] if len(e.args) == 1 and isinstance(e.args[0], str) else str(e),
        )
        log.warning("%s", notice)
        return LocalWorkers(slots), notice
    return executor, None
