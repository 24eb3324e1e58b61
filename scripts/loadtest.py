"""Load test: N browser sessions against one playground server, as a class would use it.

Each session opens Home, visits a lesson page, then trains a small MLP on the trainer
page until it finishes. Reports the p50/p95 latency of interactions (click or
navigation until the app is idle again), completed runs, errors and the server's peak
memory. A benchmark, not a test: run it on a quiet machine.

    python scripts/loadtest.py --sessions 20 [--steps 3000] [--same-run] [--json]

Each session trains with a seed of its own (distinct runs, so they queue for training
slots); --same-run lets them all ask for the same run, which the server trains once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve  # noqa: E402

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (Linux /proc)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids]


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.2)


async def idle(page, timeout=120_000):
    await page.wait_for_timeout(250)
    await page.locator(IDLE).wait_for(state="attached", timeout=timeout)


async def timed(latencies, page, action):
    t0 = time.perf_counter()
    await action()
    await idle(page)
    latencies.append(time.perf_counter() - t0)


async def session(browser, url, steps, seed, latencies, results):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(120_000)  # twenty browsers and the server share the cores
    try:
        await timed(latencies, page, lambda: page.goto(url))
        nav = page.get_by_test_id("stSidebarNav")
        await timed(latencies, page, lambda: nav.get_by_text("Bigram counts").click())
        await timed(latencies, page, lambda: nav.get_by_text("MLP trainer").click())
        box = page.locator(".st-key-steps input")
        await box.fill(str(steps))
        await timed(latencies, page, lambda: box.press("Enter"))
        if seed is not None:  # a run of its own, not the one everybody else trains
            seed_box = page.locator(".st-key-seed input")
            await seed_box.fill(str(seed))
            await timed(latencies, page, lambda: seed_box.press("Enter"))
        await timed(
            latencies, page, lambda: page.locator(".st-key-mlp-train button:visible").first.click()
        )
        progress = page.get_by_test_id("stProgress")
        deadline = time.perf_counter() + 600
        waiting = page.get_by_text("Waiting for a free training slot")
        queued = False
        while "done" not in (await progress.inner_text()) and time.perf_counter() < deadline:
            queued = queued or await waiting.count() > 0
            await page.wait_for_timeout(500)
        results["queued"] += queued
        results["completed" if "done" in await progress.inner_text() else "unfinished"] += 1
        if await page.get_by_test_id("stException").count():
            results["errors"] += 1
    except Exception as e:  # a load test reports failures instead of stopping
        results["errors"] += 1
        results.setdefault("messages", []).append(f"{type(e).__name__}: {str(e).splitlines()[0]}")
    finally:
        await context.close()


async def main_async(args):
    server = serve(with_process=True, env={"MAKEMORE_RUN_CACHE_DIR": tempfile.mkdtemp()})
    url, proc = next(server)
    sampler = Sampler(proc.pid)
    sampler.start()
    latencies, results = [], {"completed": 0, "unfinished": 0, "queued": 0, "errors": 0}
    t0 = time.perf_counter()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await asyncio.gather(
            *(
                session(
                    browser,
                    url,
                    args.steps,
                    None if args.same_run else 1000 + i,
                    latencies,
                    results,
                )
                for i in range(args.sessions)
            )
        )
        await browser.close()
    sampler.running = False
    next(server, None)
    q = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else [float("nan")] * 19
    return {
        "sessions": args.sessions,
        "steps_per_run": args.steps,
        "interactions": len(latencies),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p95_s": round(q[18], 3),
        **results,
        "peak_server_rss_mb": round(sampler.peak),
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpus": os.cpu_count(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--steps", type=int, default=3000, help="training steps of each session's MLP")
    ap.add_argument(
        "--same-run",
        action="store_true",
        help="every session trains the same run (shared through the run cache) instead of "
        "one seed each",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    report = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            print(f"{k:22s} {v}")


if __name__ == "__main__":
    main()
