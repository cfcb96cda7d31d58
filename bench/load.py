"""A classroom's load on one server process, all on 127.0.0.1, bounded in count and time.

N sessions (default 100) each race 4 optimizers at 30 steps/s for a fixed time; the client measures the
gap between consecutive frames of each session, counts errors and steps, and reads the server process's
CPU time and memory from /proc. Goal on this 2-core machine: 100 sessions, p95 frame gap ≤ 100 ms, 0 errors;
under overload the frame rate degrades evenly (the slowest session's step rate is reported beside the
fastest's).

    .venv/bin/python bench/load.py [--sessions 100] [--seconds 20] [--speed 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
RACE = [("sgd", 1e-3), ("momentum", 1e-3), ("rmsprop", 1e-3), ("adam", 0.01)]
SURFACES = ["rosenbrock", "himmelblau", "beale", "six_hump_camel", "rastrigin"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds used so far, resident memory in MB) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    return cpu, rss


async def session(url: str, k: int, speed: float, seconds: float, results: list) -> None:
    gaps, errors, steps, frames = [], 0, 0, 0
    runners = [
        {"id": f"r{j}", "optimizer": oid, "hyperparameters": {"lr": lr}, "start": [0.3 * j - 0.5, 1.0]}
        for j, (oid, lr) in enumerate(RACE)
    ]
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        await ws.recv()  # hello
        surface = SURFACES[k % len(SURFACES)]
        await ws.send(json.dumps({"type": "start", "surface": surface, "runners": runners, "speed": speed}))
        end = time.monotonic() + seconds
        last = None
        while (left := end - time.monotonic()) > 0:
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=left)
            except TimeoutError:
                break
            message = json.loads(text)
            kind = message["type"]
            if kind == "frame":
                now = time.monotonic()
                if last is not None:
                    gaps.append((now, now - last))
                last = now
                frames += 1
                steps += len(message["runners"][0]["points"])
            elif kind == "error":
                errors += 1
    results.append({"gaps": gaps, "errors": errors, "steps": steps, "frames": frames})


async def training(url: str, k: int, seconds: float, results: list) -> None:
    """One CNN training at full speed: how many steps it gets in the time."""
    steps, errors, queued = 0, 0, False
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        await ws.recv()  # hello
        start = {"type": "cnn_start", "trainer": {"seed": k}, "model": {"seed": k}, "speed": 100_000}
        await ws.send(json.dumps(start))
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
            except TimeoutError:
                break
            if message["type"] == "cnn_frame":
                steps += len(message["steps"])
            elif message["type"] == "cnn_state":
                queued |= message["queue_position"] is not None
            elif message["type"] == "error":
                errors += 1
    results.append({"steps": steps, "errors": errors, "queued": queued})


async def run_trainings(url: str, count: int, seconds: float) -> list[dict]:
    results: list[dict] = []
    await asyncio.gather(*(training(url, k, seconds, results) for k in range(count)))
    return results


async def run(url: str, sessions: int, speed: float, seconds: float) -> list[dict]:
    results: list[dict] = []
    tasks = []
    for k in range(sessions):
        tasks.append(asyncio.create_task(session(url, k, speed, seconds, results)))
        await asyncio.sleep(0.01)  # pages open over a second, not all in one instant
    outcome = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [o for o in outcome if isinstance(o, BaseException)]
    for failure in failures:
        results.append({"gaps": [], "errors": 1, "steps": 0, "frames": 0, "failure": repr(failure)})
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--speed", type=float, default=30.0, help="steps per second per runner")
    ap.add_argument("--warmup", type=float, default=3.0, help="first seconds, reported apart")
    ap.add_argument("--trainings", type=int, default=0, help="instead: this many CNN trainings at once")
    args = ap.parse_args()
    port = free_port()
    env = {
        **os.environ,
        "GDVIZ_PORT": str(port),
        "GDVIZ_LOG_LEVEL": "warning",
        "GDVIZ_MAX_SESSIONS_PER_CLIENT": "1000",
    }
    if args.trainings:  # all of them train at once (past GDVIZ_MAX_TRAININGS the rest would wait in line)
        env["GDVIZ_MAX_TRAININGS"] = str(args.trainings)
    server = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)
        cpu0, _ = proc_stats(server.pid)
        me0 = time.process_time()
        t0 = time.monotonic()
        if args.trainings:
            results = asyncio.run(
                run_trainings(f"ws://127.0.0.1:{port}/ws/cnn", args.trainings, args.seconds)
            )
        else:
            results = asyncio.run(run(f"ws://127.0.0.1:{port}/ws", args.sessions, args.speed, args.seconds))
        wall = time.monotonic() - t0
        cpu1, rss = proc_stats(server.pid)
        me = (time.process_time() - me0) / wall
    finally:
        server.terminate()
        server.wait(timeout=15)
    if args.trainings:
        rates = sorted(r["steps"] / args.seconds for r in results)
        print(f"{args.trainings} CNN trainings (default CNN, batch 64) at full speed for {args.seconds:g} s")
        slow, mid, fast = rates[0], statistics.median(rates), rates[-1]
        print(
            f"  steps/s: slowest {slow:6.1f}, median {mid:6.1f}, fastest {fast:6.1f}"
            f"   slowest/fastest {slow / max(fast, 1e-9):.2f} (goal ≥ 0.7)"
        )
        print(
            f"  errors {sum(r['errors'] for r in results)}   any queued: {any(r['queued'] for r in results)}"
        )
        print(f"  server: {(cpu1 - cpu0) / wall * 100:5.0f} % of one core, {rss:6.0f} MB resident at the end")
        return
    # Gaps while pages are still opening (the first few seconds: each new surface is traced once) are
    # reported apart from the steady state that follows.
    opened = t0 + args.sessions * 0.01 + args.warmup
    gaps = sorted(g for r in results for _, g in r["gaps"])
    steady = sorted(g for r in results for when, g in r["gaps"] if when >= opened)
    worst = sorted(max((g for when, g in r["gaps"] if when >= opened), default=0.0) for r in results)
    errors = sum(r["errors"] for r in results)
    rates = sorted(r["steps"] / args.seconds for r in results)
    p50 = statistics.median(gaps) * 1e3 if gaps else float("nan")
    p95 = gaps[int(0.95 * (len(gaps) - 1))] * 1e3 if gaps else float("nan")
    print(f"{args.sessions} sessions × {len(RACE)} runners at {args.speed:g} steps/s for {args.seconds:g} s")
    print(f"  frame gap p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (goal p95 ≤ 100 ms)   errors {errors}")
    if steady:
        s50 = statistics.median(steady) * 1e3
        s95 = steady[int(0.95 * (len(steady) - 1))] * 1e3
        print(
            f"  after the first {args.warmup:g} s: p50 {s50:6.1f} ms   p95 {s95:6.1f} ms; "
            f"longest gap per session: median {statistics.median(worst) * 1e3:6.0f} ms, "
            f"max {worst[-1] * 1e3:6.0f} ms"
        )
    print(
        f"  steps/s per session: slowest {rates[0]:5.1f}, median {statistics.median(rates):5.1f}, "
        f"fastest {rates[-1]:5.1f}   (slowest/fastest {rates[0] / max(rates[-1], 1e-9):.2f})"
    )
    print(f"  server: {(cpu1 - cpu0) / wall * 100:5.0f} % of one core, {rss:6.0f} MB resident at the end")
    print(f"  client (this process, parsing every frame): {me * 100:5.0f} % of one core")
    for r in results:
        if "failure" in r:
            print("  failure:", r["failure"])


if __name__ == "__main__":
    main()
