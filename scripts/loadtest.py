"""Load test: a class of students against one playground server, measuring the server.

Locust runs the students as websocket clients that speak Streamlit's own protocol
(scripts/streamlit_client.py), so the machine's cores go to the server and its training
workers instead of to browsers. Each training student opens Home, Bigram counts, then the
MLP trainer, sets 3,000 steps and a seed of its own, presses Train and keeps the tab open,
its fragment ticking as a browser's would, until the progress bar says "done". A share of
the class (--sliders) only moves the smoothing sliders on the lesson 1 pages meanwhile.

    python scripts/loadtest.py --students 30 [--steps 3000] [--same-run] [--sliders 0.2]
                               [--browsers 3] [--baseline] [--json]

--same-run: every student asks for the same run (trained once, shared). --browsers N adds
N real Chromium tabs doing what a training student does, to confirm what a person sees.
--baseline then trains the same runs one after another through the training service with
no UI at all: the yardstick for the class's last run. The script starts its own server
(127.0.0.1, a free port, an empty run cache) and stops it by its PID at the end.

Reported: runs finished, Train -> done (median, max), first Train -> last done, latency
p50/p95 of the other interactions (page loads and switches, widget changes) while no run
trains and while runs train, errors and exceptions shown, and the server's and its
workers' CPU seconds and peak memory. A benchmark, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

SEEDS = 1000  # the first student's seed; the browsers' come after the simulated students'
PAGE_TIMEOUT = 120.0  # seconds a page load or a widget change may take before it is an error


@dataclass
class Interaction:
    kind: str  # "page", "widget" or "train" (the Train click itself)
    name: str
    start: float  # time.monotonic(), the same clock in every process of the machine
    seconds: float
    training: bool = False  # did a run train meanwhile (set once all runs are known)


@dataclass
class Classroom:
    """What the students saw, collected across users (and the browsers' process)."""

    steps: int
    same_run: bool
    think: float
    timeout: float
    trainers: int = 0
    interactions: list[Interaction] = field(default_factory=list)
    runs: list[tuple[float, float | None]] = field(default_factory=list)  # (Train, done)
    errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    queued: int = 0
    auto_reruns: int = 0
    fragment_runs: list[tuple[float, int]] = field(default_factory=list)
    ended_early: int = 0
    received_bytes: int = 0
    finished_trainers: int = 0

    def seed(self, i: int) -> int | None:
        return None if self.same_run else SEEDS + i


# --- the simulated students (Locust users) ---------------------------------------------


def student_classes(classroom: Classroom, n_trainers: int, n_sliders: int):
    """Locust user classes for one class: `n_trainers` who train, `n_sliders` who slide."""
    from locust import User, constant, task
    from locust.exception import StopUser
    from streamlit_client import ProtocolError, Session

    seeds = itertools.count()
    arrived = {"TrainingStudent": itertools.count(), "SlidingStudent": itertools.count()}

    class Student(User):
        abstract = True
        wait_time = constant(0)

        def timed(self, kind: str, name: str, action, *args):
            t0 = time.monotonic()
            seconds = action(*args)
            classroom.interactions.append(Interaction(kind, name, t0, seconds))
            self.environment.events.request.fire(
                request_type=kind,
                name=name,
                response_time=seconds * 1000,
                response_length=0,
                exception=None,
            )
            time.sleep(random.uniform(0.5, 1.5) * classroom.think)

        def lesson(self, tab: Session) -> None:
            raise NotImplementedError

        @task
        def attend(self):
            if next(arrived[type(self).__name__]) >= self.fixed_count:
                # Locust tops the class up to its size while it is still spawning, so a
                # student who finished early would be replaced: one lesson per student
                raise StopUser()
            tab = None
            try:
                tab = Session(self.host, timeout=PAGE_TIMEOUT)
                self.lesson(tab)
            except Exception as e:  # a load test reports every failure and goes on
                classroom.errors.append(f"{type(self).__name__}: {type(e).__name__}: {e}")
            finally:
                if tab is not None:
                    classroom.exceptions += tab.exceptions
                    classroom.auto_reruns += tab.auto_reruns
                    classroom.fragment_runs += tab.fragment_runs
                    classroom.ended_early += tab.ended_early
                    classroom.received_bytes += tab.received_bytes
                    tab.close()
            raise StopUser()

    class TrainingStudent(Student):
        fixed_count = n_trainers

        def lesson(self, tab: Session) -> None:
            self.timed("page", "Home", tab.open)
            self.timed("page", "Bigram counts", tab.switch, "Bigram counts")
            self.timed("page", "MLP trainer", tab.switch, "MLP trainer")
            self.timed("widget", "steps", tab.set, "steps", classroom.steps)
            seed = classroom.seed(next(seeds))
            if seed is not None:
                self.timed("widget", "seed", tab.set, "seed", seed)
            shown = len(tab.progress)
            t0 = time.monotonic()
            try:
                seconds = tab.click("mlp:train")
                classroom.interactions.append(Interaction("train", "Train", t0, seconds))
                finished = tab.watch(lambda: _outcome(tab, shown), classroom.timeout)
            finally:
                outcome = _outcome(tab, shown)
                classroom.runs.append((t0, time.monotonic() if outcome == "done" else None))
                classroom.queued += any("waiting for a training slot" in p for p in tab.progress)
                classroom.finished_trainers += 1
            if not finished or outcome != "done":
                raise ProtocolError(
                    f"Train -> {outcome or 'not done'} after {time.monotonic() - t0:.0f} s; "
                    f"last progress: {tab.progress[-1:]}; errors: {tab.errors[-1:]}"
                )

    class SlidingStudent(Student):
        """Moves the smoothing sliders of lesson 1 until the class's runs are done."""

        fixed_count = n_sliders

        def lesson(self, tab: Session) -> None:
            self.timed("page", "Home", tab.open)
            moves = 0
            while moves < 6 or classroom.finished_trainers < classroom.trainers:
                for page, key in (("Bigram counts", "heat_k"), ("Smoothing", "smooth_k")):
                    self.timed("page", page, tab.switch, page)
                    for _ in range(3):
                        options = list(tab.widgets[key][1].options)
                        self.timed("widget", key, tab.set, key, [random.choice(options)])
                        moves += 1

    return TrainingStudent, SlidingStudent


def _outcome(tab, shown: int) -> str | None:
    """What the tab shows of its run since Train: done, failed, an exception, or nothing yet."""
    texts = tab.progress[shown:]
    if any(t.startswith("done") for t in texts):
        return "done"
    if any("failed" in t for t in texts) or tab.exceptions:
        return "failed"
    return None


def simulate(args, url: str, classroom: Classroom) -> None:
    """Run the class through Locust, in this process (gevent), until every student left."""
    import gevent
    from locust.env import Environment

    n_sliders = round(args.students * args.sliders)
    classroom.trainers = args.students - n_sliders
    users = student_classes(classroom, classroom.trainers, n_sliders)
    env = Environment(user_classes=list(users), host=url, stop_timeout=5)
    runner = env.create_local_runner()
    runner.start(args.students, spawn_rate=args.spawn_rate or max(1.0, args.students / 10))
    gevent.sleep(1)
    deadline = time.monotonic() + classroom.timeout + 300
    while runner.user_count and time.monotonic() < deadline:
        gevent.sleep(0.5)
    runner.quit()


# --- real browsers next to them ----------------------------------------------------------


def browsers(url: str, n: int, steps: int, first_seed: int | None, timeout: float) -> dict:
    """N Chromium tabs doing what a training student does (Playwright, another process)."""
    import asyncio

    from playwright.async_api import async_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    idle = "[data-testid='stApp'][data-test-script-state='notRunning']"
    out = {"interactions": [], "runs": [], "errors": [], "exceptions": []}

    async def timed(page, kind, name, action):
        t0 = time.monotonic()
        await action()
        await page.wait_for_timeout(250)  # the script run starts
        await page.locator(idle).wait_for(state="attached")
        out["interactions"].append((kind, name, t0, time.monotonic() - t0))

    async def tab(browser, i):
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT * 1000)
        t0 = None
        try:
            await timed(page, "page", "Home", lambda: page.goto(url))
            nav = page.get_by_test_id("stSidebarNav")
            for title in ("Bigram counts", "MLP trainer"):
                await timed(page, "page", title, nav.get_by_text(title).click)
            for key, value in (("steps", steps), ("seed", first_seed)):
                if value is not None:
                    box = page.locator(f".st-key-{key} input")
                    await box.fill(str(value + i if key == "seed" else value))
                    await timed(page, "widget", key, lambda box=box: box.press("Enter"))
            t0 = time.monotonic()
            await page.locator(".st-key-mlp-train button:visible").first.click()
            progress = page.get_by_test_id("stProgress")
            deadline = t0 + timeout
            while time.monotonic() < deadline:
                if (await progress.count()) and "done" in await progress.first.inner_text():
                    out["runs"].append((t0, time.monotonic()))
                    break
                await page.wait_for_timeout(200)
            else:
                out["runs"].append((t0, None))
                out["errors"].append(f"browser {i}: no 'done' within {timeout:.0f} s")
            out["exceptions"] += await page.get_by_test_id("stException").all_inner_texts()
        except Exception as e:  # a load test reports failures instead of stopping
            if t0 is not None and len(out["runs"]) <= i:
                out["runs"].append((t0, None))
            out["errors"].append(f"browser {i}: {type(e).__name__}: {str(e).splitlines()[0]}")
        finally:
            await context.close()

    async def main():
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            await asyncio.gather(*(tab(browser, i) for i in range(n)))
            await browser.close()

    asyncio.run(main())
    return out


def start_browsers(args, url: str) -> subprocess.Popen:
    """The browsers run in a process of their own: Locust's gevent and Playwright's asyncio
    do not share one."""
    cmd = [sys.executable, __file__, "--part", "browsers", "--url", url]
    for option in ("browsers", "students", "steps", "timeout"):
        cmd += [f"--{option}", str(getattr(args, option))]
    return subprocess.Popen(cmd + ["--same-run"] * args.same_run, stdout=subprocess.PIPE, text=True)


def join_browsers(proc: subprocess.Popen, classroom: Classroom) -> None:
    out = json.loads(proc.communicate(timeout=classroom.timeout + 300)[0])
    classroom.interactions += [Interaction(*i) for i in out["interactions"]]
    classroom.runs += [tuple(run) for run in out["runs"]]
    classroom.errors += out["errors"]
    classroom.exceptions += out["exceptions"]


# --- the server and what it costs ----------------------------------------------------------


class Meter:
    """CPU seconds and peak resident memory of the server and of its worker processes."""

    def __init__(self, pid: int):
        import psutil

        self.server = psutil.Process(pid)
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds last seen (an exited worker's stay)
        self.peak_server = self.peak_workers = 0
        self.start = self.sample()

    def sample(self) -> tuple[float, float]:
        """(server, workers) CPU seconds so far; remembers the peaks of memory."""
        import psutil

        try:
            processes = [self.server, *self.server.children(recursive=True)]
        except psutil.Error:
            processes = []
        workers_rss = 0
        for p in processes:
            try:
                t, rss = p.cpu_times(), p.memory_info().rss
            except psutil.Error:
                continue
            self.cpu[p.pid] = t.user + t.system
            if p.pid == self.server.pid:
                self.peak_server = max(self.peak_server, rss)
            else:
                workers_rss += rss
        self.peak_workers = max(self.peak_workers, workers_rss)
        server = self.cpu.get(self.server.pid, 0.0)
        return server, sum(self.cpu.values()) - server


# --- the yardstick: the same runs one after another, no UI ---------------------------------


def class_jobs(students: int, steps: int, same_run: bool) -> tuple:
    """(dataset, Jobs): the class's runs as the trainer page builds them, its default MLP
    and schedule with the steps and seeds the students type (one run: --same-run)."""
    from engine import data
    from engine.models import MLPConfig
    from engine.train import Job, TrainConfig, eval_interval

    ds = data.load_builtin("names", download=False)
    splits = data.make_splits(ds, MLPConfig.block_size)
    jobs = []
    for i in range(1 if same_run else students):
        train = TrainConfig(
            steps=steps,
            lr_decay_step=steps // 2,
            eval_every=eval_interval(steps),
            **({} if same_run else {"seed": SEEDS + i}),
        )
        jobs.append(Job(MLPConfig(), train, splits, ds.vocab_size))
    return ds, jobs


def local_service(cache: str):
    """A training service of this process (the server's settings: MAKEMORE_SLOTS workers,
    one torch thread each), once its workers are up."""
    from engine.serve.cache import RunCache
    from engine.serve.service import TrainingService
    from engine.serve.slots import default_slots

    service = TrainingService.local(RunCache(Path(cache), 2**30), default_slots())
    while len(service.executor.idle()) < service.executor.n:
        time.sleep(0.05)
    return service


def baseline(students: int, steps: int, same_run: bool, cache: str) -> dict:
    """Train the class's MLP runs (class_jobs) one after another through a training
    service of this process: seconds from each submit to done, and the runs' cache keys,
    which the report compares with the server's to show that both trained the same runs.
    """
    from engine.serve.records import job_key

    ds, jobs = class_jobs(students, steps, same_run)
    service = local_service(cache)
    seconds, keys = [], []
    try:
        for i, job in enumerate(jobs):
            t0 = time.monotonic()
            handle, _ = service.submit(job, "baseline", ds)
            while handle.state != "done":
                if handle.state == "failed":
                    raise RuntimeError(f"baseline run {i}: {handle.error}")
                service.watch(handle, "baseline")
                time.sleep(0.01)
            seconds.append(time.monotonic() - t0)
            keys.append(job_key(job))
    finally:
        service.close()
    return {"seconds": sum(seconds), "runs": seconds, "keys": keys}


def start_baseline(args, cache: str) -> dict:
    """The baseline in a process of its own (no gevent, a service and workers of its own)."""
    cmd = [sys.executable, __file__, "--part", "baseline", "--cache", cache]
    for option in ("students", "steps"):
        cmd += [f"--{option}", str(getattr(args, option))]
    cmd += ["--same-run"] * args.same_run
    return json.loads(subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout)


# --- the report ---------------------------------------------------------------------------


def quantiles(values: list[float]) -> tuple[float | None, float | None]:
    """Median and 95th percentile (None when there are none)."""
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=20, method="inclusive")[18]


def report(args, classroom: Classroom, meter: Meter, wall: float) -> dict:
    runs = classroom.runs
    spans = [(t0, t1) for t0, t1 in runs]
    for i in classroom.interactions:  # under training: some run was between Train and done
        i.training = any(t0 <= i.start <= (t1 or float("inf")) for t0, t1 in spans)
    others = [i for i in classroom.interactions if i.kind != "train"]
    idle = [i.seconds for i in others if not i.training]
    busy = [i.seconds for i in others if i.training]
    done = [t1 - t0 for t0, t1 in runs if t1 is not None]
    ends = [t1 for _, t1 in runs if t1 is not None]
    first = min((t0 for t0, _ in runs), default=None)
    out = {
        "students": args.students,
        "sliders": round(args.students * args.sliders),
        "browsers": args.browsers,
        "trainers": len(runs),
        "steps": args.steps,
        "same_run": args.same_run,
        "runs_finished": len(done),
        "train_done_median_s": quantiles(done)[0],
        "train_done_max_s": max(done, default=None),
        "first_train_to_last_done_s": max(ends) - first
        if ends and len(done) == len(runs)
        else None,
        "idle_p50_s": quantiles(idle)[0],
        "idle_p95_s": quantiles(idle)[1],
        "idle_interactions": len(idle),
        "training_p50_s": quantiles(busy)[0],
        "training_p95_s": quantiles(busy)[1],
        "training_interactions": len(busy),
        "train_click_p95_s": quantiles(
            [i.seconds for i in classroom.interactions if i.kind == "train"]
        )[1],
        "queued": classroom.queued,
        "errors": len(classroom.errors),
        "exceptions": len(classroom.exceptions),
        "server_cpu_s": (cpu := meter.sample())[0] - meter.start[0],
        "workers_cpu_s": cpu[1] - meter.start[1],
        "loadtest_cpu_s": time.process_time(),
        "server_peak_rss_mb": meter.peak_server / 2**20,
        "workers_peak_rss_mb": meter.peak_workers / 2**20,
        "auto_reruns_sent": classroom.auto_reruns,
        "fragment_runs": len(classroom.fragment_runs),
        "fragment_run_p50_s": quantiles([t for t, _ in classroom.fragment_runs])[0],
        "fragment_run_p95_s": quantiles([t for t, _ in classroom.fragment_runs])[1],
        "fragment_run_kb_p50": (quantiles([b for _, b in classroom.fragment_runs])[0] or 0) / 1024,
        "runs_ended_early": classroom.ended_early,
        "server_cpu_per_fragment_run_s": (cpu[0] - meter.start[0])
        / max(1, len(classroom.fragment_runs)),
        "received_mb": classroom.received_bytes / 2**20,
        "wall_s": wall,
        "cpus": os.cpu_count(),
        "p95_by_interaction": {
            name: quantiles([i.seconds for i in others if i.name == name])[1]
            for name in sorted({i.name for i in others})
        },
        "messages": (classroom.errors + classroom.exceptions)[:10],
    }
    out["p95_by_interaction"] = {k: round(v, 3) for k, v in out["p95_by_interaction"].items()}
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def print_table(r: dict) -> None:
    def s(v):
        return "–" if v is None else f"{v:.2f} s" if isinstance(v, float) else str(v)

    rows = [
        (
            "students (+ browsers)",
            f"{r['students']} (+ {r['browsers']}), {r['sliders']} only slide",
        ),
        ("runs finished", f"{r['runs_finished']} of {r['trainers']}"),
        (
            "Train -> done, median / max",
            f"{s(r['train_done_median_s'])} / {s(r['train_done_max_s'])}",
        ),
        ("first Train -> last done", s(r["first_train_to_last_done_s"])),
        (
            "latency p50 / p95, idle",
            f"{s(r['idle_p50_s'])} / {s(r['idle_p95_s'])} ({r['idle_interactions']})",
        ),
        (
            "latency p50 / p95, training",
            f"{s(r['training_p50_s'])} / {s(r['training_p95_s'])} ({r['training_interactions']})",
        ),
        (
            "latency p95 by interaction",
            ", ".join(f"{k} {v:.2f} s" for k, v in r["p95_by_interaction"].items()),
        ),
        ("errors / exceptions shown", f"{r['errors']} / {r['exceptions']}"),
        (
            "CPU server / workers / load test",
            f"{r['server_cpu_s']:.1f} / {r['workers_cpu_s']:.1f} / {r['loadtest_cpu_s']:.1f} s "
            f"in {r['wall_s']:.1f} s wall ({r['cpus']} cores)",
        ),
        (
            "peak RSS server / workers",
            f"{r['server_peak_rss_mb']:.0f} / {r['workers_peak_rss_mb']:.0f} MB",
        ),
    ]
    for k, v in rows:
        print(f"{k:38s} {v}")
    print(
        f"{'fragment runs (ticks): n, p50 / p95':38s} {r['fragment_runs']}, "
        f"{s(r['fragment_run_p50_s'])} / {s(r['fragment_run_p95_s'])}, "
        f"{r['fragment_run_kb_p50']:.0f} kB each; {r['auto_reruns_sent']} auto-reruns sent, "
        f"{r['runs_ended_early']} runs ended early for a rerun"
    )
    if "baseline_s" in r:
        same = "the same runs" if r["baseline_same_runs"] else "NOT the same runs as the class"
        print(f"{'baseline: one after another, no UI':38s} {r['baseline_s']:.2f} s ({same})")
        if "last_done_vs_baseline" in r:
            print(f"{'first Train -> last done / baseline':38s} {r['last_done_vs_baseline']:.2f}")
    for m in r["messages"]:
        print("  ", m)


# --- main ------------------------------------------------------------------------------------


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3000, help="training steps of each MLP run")
    ap.add_argument("--same-run", action="store_true", help="everybody asks for the same run")
    ap.add_argument(
        "--sliders", type=float, default=0.0, help="share of students who only move sliders"
    )
    ap.add_argument("--browsers", type=int, default=0, help="real Chromium tabs next to them")
    ap.add_argument("--think", type=float, default=0.5, help="seconds between a student's actions")
    ap.add_argument("--spawn-rate", type=float, default=0.0, help="students arriving per second")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a run may take")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline", action="store_true", help="also train the runs one by one, no UI")
    ap.add_argument("--port", type=int, help="the server's port (default: a free one)")
    ap.add_argument("--part", choices=["browsers", "baseline"], help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.part == "baseline":
        print(json.dumps(baseline(args.students, args.steps, args.same_run, args.cache)))
        return 0
    if args.part == "browsers":
        first = None if args.same_run else SEEDS + args.students
        print(json.dumps(browsers(args.url, args.browsers, args.steps, first, args.timeout)))
        return 0
    result = run_class(args)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0 if result["errors"] == 0 and result["exceptions"] == 0 else 1


def run_class(args) -> dict:
    """Start a server with an empty run cache, let the class use it, stop it; the report."""
    import gevent
    import locust  # noqa: F401  (on import, Locust patches the standard library for gevent)

    from tests.e2e.conftest import serve

    classroom = Classroom(args.steps, args.same_run, args.think, args.timeout)
    with tempfile.TemporaryDirectory(prefix="makemore-loadtest-") as cache:
        server = serve(with_process=True, env={"MAKEMORE_RUN_CACHE_DIR": cache}, port=args.port)
        url, proc = next(server)
        try:
            meter = Meter(proc.pid)
            sampler = gevent.spawn(_sample, meter)
            t0 = time.monotonic()
            tabs = start_browsers(args, url) if args.browsers else None
            simulate(args, url, classroom)
            if tabs is not None:
                join_browsers(tabs, classroom)
            wall = time.monotonic() - t0
            sampler.kill()
            result = report(args, classroom, meter, wall)
        finally:
            next(server, None)
        trained = {p.stem for p in Path(cache).glob("*.json")}
    if args.baseline:  # after the class, so that neither slows the other
        with tempfile.TemporaryDirectory(prefix="makemore-baseline-") as cache:
            base = start_baseline(args, cache)
        result["baseline_s"] = round(base["seconds"], 3)
        result["baseline_same_runs"] = set(base["keys"]) == trained
        result["runs_trained_by_server"] = len(trained)
        result["runs_only_server_trained"] = sorted(trained - set(base["keys"]))[:3]
        if result["first_train_to_last_done_s"] is not None:
            result["last_done_vs_baseline"] = round(
                result["first_train_to_last_done_s"] / base["seconds"], 3
            )
    return result


def _sample(meter: Meter) -> None:
    import gevent

    while True:
        meter.sample()
        gevent.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
