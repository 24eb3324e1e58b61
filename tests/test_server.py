"""The real server: its training workers start with it and stop with it."""

import time
from pathlib import Path

import pytest

from tests.e2e.conftest import serve

pytestmark = pytest.mark.slow


def descendants(pid: int) -> list[int]:
    """Every process started by `pid`, its children's children included (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_the_server_starts_its_workers_and_leaves_no_process_behind():
    servers = serve(with_process=True, env={"MAKEMORE_SLOTS": "2"})
    _, proc = next(servers)
    started = descendants(proc.pid)
    workers = [p for p in started if "forkserver" in command(p)]
    assert len(workers) >= 2  # the fork server and the two workers it forked, warm
    next(servers, None)  # stops the server the way a teacher's Ctrl-C would (SIGTERM)
    assert proc.returncode is not None
    deadline = time.monotonic() + 10
    while (alive := [p for p in started if command(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [command(p) for p in alive] == []
