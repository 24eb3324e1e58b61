"""The load test against a course on one machine: a Ray cluster, two app replicas, nginx.

Starts, all on 127.0.0.1 and stopped by their process ids at the end: a Ray head
(`ray start --head --block`, 2 CPUs), two app replicas training on it with one shared run
cache, and nginx with deploy/nginx.conf (its upstream pointed at the two replicas), then
sends scripts/loadtest.py's class of simulated students to nginx's address. Reported: the
load test's figures (the CPU columns: replica A alone) and how many runs the cluster
trained. A functional check on one machine, not a speed claim.

    python scripts/loadtest_replicas.py --students 20 [--same-run] [--json]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import loadtest  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_config(template: Path, listen: int, replicas: list[int], prefix: Path) -> Path:
    """deploy/nginx.conf with its upstream and listen port set for this machine."""
    text = template.read_text()
    servers = "".join(f"    server 127.0.0.1:{p};\n" for p in replicas)
    text = re.sub(r"(    server 127\.0\.0\.1:\d+;\n)+", servers, text)
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{listen};")
    path = prefix / "nginx.conf"
    path.write_text(text)
    return path


def main(argv=None) -> int:
    args = loadtest.parse_args(argv)
    # the server's default unless asked for (tests/conftest.py, imported below, sets 32)
    group = os.environ.get("MAKEMORE_GROUP", "1")
    import gevent
    import locust  # noqa: F401  (patches the standard library for gevent)

    from tests.e2e.conftest import serve
    from tests.test_ray import LOOPBACK, Cluster

    os.environ.update(LOOPBACK)
    classroom = loadtest.Classroom(args.steps, args.same_run, args.think, args.timeout)
    prefix = Path(tempfile.mkdtemp(prefix="makemore-nginx-"))
    cache = Path(tempfile.mkdtemp(prefix="makemore-course-runs-"))
    cluster = Cluster(cpus=2)
    servers, nginx = [], None
    try:
        env = {**LOOPBACK, "MAKEMORE_RAY_ADDRESS": cluster.address}
        env["MAKEMORE_RUN_CACHE_DIR"] = str(cache)
        env["MAKEMORE_GROUP"] = group  # runs trained together on one slot actor, at most
        servers = [serve(with_process=True, env=env) for _ in range(2)]
        (url_a, proc_a), (url_b, _) = (next(s) for s in servers)
        ports = [int(u.rsplit(":", 1)[1]) for u in (url_a, url_b)]
        listen = free_port()
        conf = nginx_config(ROOT / "deploy" / "nginx.conf", listen, ports, prefix)
        nginx = subprocess.Popen(
            ["nginx", "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{listen}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", listen), 0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        meter = loadtest.Meter(proc_a.pid)  # replica A and its children
        sampler = gevent.spawn(loadtest._sample, meter)
        t0 = time.monotonic()
        loadtest.simulate(args, url, classroom)
        wall = time.monotonic() - t0
        sampler.kill()
        result = loadtest.report(args, classroom, meter, wall)
        result["proxy"] = (
            f"deploy/nginx.conf, 2 replicas, 1 Ray cluster (2 slot actors, MAKEMORE_GROUP={group})"
        )
        result["cluster_runs_started"] = cluster.hub()["started"]
        result["runs_in_shared_cache"] = len(list(cache.glob("*.json")))
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)
            try:
                nginx.wait(10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        for s in servers:
            next(s, None)
        cluster.stop()
        shutil.rmtree(prefix, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        loadtest.print_table(result)
        for key in ("proxy", "cluster_runs_started", "runs_in_shared_cache"):
            print(f"{key:38s} {result[key]}")
    return 0 if result["errors"] == 0 and result["exceptions"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
