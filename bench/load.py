"""A classroom's load on one server process, all on 127.0.0.1, bounded in count and time.

N sessions (default 100) each race 4 optimizers at 30 steps/s for a fixed time; the client measures the
gap between consecutive frames of each session, counts errors and steps, and reads the server process's
CPU time and memory (now and at its peak) from /proc, and the machine's load average. Goals on this 2-core
machine: 100 sessions, p95 frame gap ≤ 100 ms, 0 errors; under overload every session gets the same share
(slowest ÷ fastest steps/s ≥ 0.7) and none waits more than 1 s for a frame. Extra GDVIZ_* settings for the
server are passed as NAME=value arguments. ``--beside N`` runs N CNN trainings of the "Edge of stability"
preset (full batch, sharpness every 10 steps on 512 digits) beside the races, to see that measuring the
sharpness does not push the races below those goals.

    .venv/bin/python bench/load.py [--sessions 100] [--seconds 20] [--speed 30] [--beside 2]
                                   [GDVIZ_NAME=value ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import websockets
from serve import Server, load_average

RACE = [("sgd", 1e-3), ("momentum", 1e-3), ("rmsprop", 1e-3), ("adam", 0.01)]
SURFACES = ["rosenbrock", "himmelblau", "beale", "six_hump_camel", "rastrigin"]


async def session(url: str, k: int, speed: float, seconds: float, results: list) -> None:
    gaps, errors, steps, frames = [], 0, [], 0  # gaps: (arrival, gap); steps: (arrival, steps in the frame)
    runners = [
        {"id": f"r{j}", "optimizer": oid, "hyperparameters": {"lr": lr}, "start": [0.3 * j - 0.5, 1.0]}
        for j, (oid, lr) in enumerate(RACE)
    ]
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        await ws.recv()  # hello
        surface = SURFACES[k % len(SURFACES)]
        await ws.send(json.dumps({"type": "start", "surface": surface, "runners": runners, "speed": speed}))
        end = time.monotonic() + seconds
        last = time.monotonic()  # the wait for the first frame counts as a gap too
        while (left := end - time.monotonic()) > 0:
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=left)
            except TimeoutError:
                break
            message = json.loads(text)
            kind = message["type"]
            if kind == "frame":
                now = time.monotonic()
                gaps.append((now, now - last))
                last = now
                frames += 1
                steps.append((now, len(message["runners"][0]["points"])))
            elif kind == "error":
                errors += 1
    results.append({"gaps": gaps, "errors": errors, "steps": steps, "frames": frames})


# The "Edge of stability" preset (static/js/cnn/config.js): full-batch GD, η = 0.1, sharpness every 10 steps.
EDGE = {
    "optimizer": "sgd",
    "hyperparameters": {"lr": 0.1},
    "batch_size": "full",
    "sharpness_every": 10,
    "sharpness_samples": 512,
}


async def training(url: str, k: int, seconds: float, results: list, trainer: dict | None = None) -> None:
    """One CNN training at full speed: how many steps it gets in the time (and sharpness measurements)."""
    steps, errors, queued, measured = 0, 0, False, 0
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        await ws.recv()  # hello
        trainer = {"seed": k, **(trainer or {})}
        start = {"type": "cnn_start", "trainer": trainer, "model": {"seed": k}, "speed": 100_000}
        await ws.send(json.dumps(start))
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
            except TimeoutError:
                break
            if message["type"] == "cnn_frame":
                steps += len(message["steps"])
            elif message["type"] == "cnn_sharpness":
                measured += 1
            elif message["type"] == "cnn_state":
                queued |= message["queue_position"] is not None
            elif message["type"] == "error":
                errors += 1
    results.append({"steps": steps, "errors": errors, "queued": queued, "sharpness": measured})


async def run_trainings(url: str, count: int, seconds: float) -> list[dict]:
    results: list[dict] = []
    await asyncio.gather(*(training(url, k, seconds, results) for k in range(count)))
    return results


async def trace_surfaces(url: str) -> float:
    """Open one session per surface and wait for its first frame, so the run measures the steady state and
    not the server's first traces (the very first pays ~2 s of torch's own set-up). Returns the seconds."""
    began = time.monotonic()
    runners = [{"id": "r0", "optimizer": "sgd", "hyperparameters": {"lr": 1e-3}, "start": [0.5, 1.0]}]
    for surface in SURFACES:
        async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
            await ws.recv()  # hello
            await ws.send(json.dumps({"type": "start", "surface": surface, "runners": runners, "speed": 30}))
            while json.loads(await asyncio.wait_for(ws.recv(), timeout=120))["type"] != "frame":
                pass
    return time.monotonic() - began


async def run(
    url: str, sessions: int, speed: float, seconds: float, beside: int, trained: list
) -> list[dict]:
    results: list[dict] = []
    cnn = url.replace("/ws", "/ws/cnn")
    tasks = [asyncio.create_task(training(cnn, k, seconds, trained, EDGE)) for k in range(beside)]
    for k in range(sessions):
        tasks.append(asyncio.create_task(session(url, k, speed, seconds, results)))
        await asyncio.sleep(0.01)  # pages open over a second, not all in one instant
    outcome = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [o for o in outcome if isinstance(o, BaseException)]
    for failure in failures:
        results.append({"gaps": [], "errors": 1, "steps": [], "frames": 0, "failure": repr(failure)})
    return results


def gap_line(gaps: list[float]) -> str:
    """p50, p95 and the longest of frame gaps (s), in ms."""
    if not gaps:
        return "no frames"
    gaps = sorted(gaps)
    p50, p95 = statistics.median(gaps), gaps[int(0.95 * (len(gaps) - 1))]
    return f"p50 {p50 * 1e3:6.1f} ms   p95 {p95 * 1e3:6.1f} ms   longest {gaps[-1] * 1e3:6.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--speed", type=float, default=30.0, help="steps per second per runner")
    ap.add_argument("--warmup", type=float, default=3.0, help="first seconds, reported apart")
    ap.add_argument("--trainings", type=int, default=0, help="instead: this many CNN trainings at once")
    ap.add_argument("--beside", type=int, default=0, help="Edge-of-stability trainings beside the races")
    ap.add_argument("env", nargs="*", help="GDVIZ_NAME=value settings for the server")
    args = ap.parse_args()
    env = {"GDVIZ_MAX_SESSIONS_PER_CLIENT": "1000", **dict(item.split("=", 1) for item in args.env)}
    if args.trainings:  # all of them train at once (past GDVIZ_MAX_TRAININGS the rest would wait in line)
        env.setdefault("GDVIZ_MAX_TRAININGS", str(args.trainings))
    load_before = load_average()
    trained: list[dict] = []
    with Server(env) as server:
        ws = f"ws://127.0.0.1:{server.port}/ws"
        traced = 0.0 if args.trainings else asyncio.run(trace_surfaces(ws))
        idle = server.usage()
        me0 = time.process_time()
        t0 = time.monotonic()
        if args.trainings:
            results = asyncio.run(
                run_trainings(f"ws://127.0.0.1:{server.port}/ws/cnn", args.trainings, args.seconds)
            )
        else:
            results = asyncio.run(run(ws, args.sessions, args.speed, args.seconds, args.beside, trained))
        wall = time.monotonic() - t0
        used = server.usage()
        me = (time.process_time() - me0) / wall
    cpu = (used.cpu - idle.cpu) / wall * 100
    memory = f"{used.rss:6.0f} MB resident at the end, peak {used.peak:6.0f} MB ({idle.rss:.0f} MB idle)"
    settings = f"   [{' '.join(args.env)}]" if args.env else ""
    if args.trainings:
        rates = sorted(r["steps"] / args.seconds for r in results)
        what = f"{args.trainings} CNN trainings (default CNN, batch 64)"
        print(f"{what} at full speed for {args.seconds:g} s{settings}")
        slow, mid, fast = rates[0], statistics.median(rates), rates[-1]
        print(
            f"  steps/s: slowest {slow:6.1f}, median {mid:6.1f}, fastest {fast:6.1f}"
            f"   slowest/fastest {slow / max(fast, 1e-9):.2f} (goal ≥ 0.7)"
        )
        print(
            f"  errors {sum(r['errors'] for r in results)}   any queued: {any(r['queued'] for r in results)}"
        )
        print(f"  server: {cpu:5.0f} % of one core, {memory}")
        print(f"  load average before {load_before}, after {load_average()}")
        return
    # Gaps while pages are still opening (the first few seconds: each new surface is traced once) are
    # reported apart from the steady state that follows.
    opened = t0 + args.sessions * 0.01 + args.warmup
    gaps = [g for r in results for _, g in r["gaps"]]
    steady = [g for r in results for when, g in r["gaps"] if when >= opened]
    worst = sorted(max((g for when, g in r["gaps"] if when >= opened), default=0.0) for r in results)
    errors = sum(r["errors"] for r in results)
    # Steps per second over the time every session was open and past the warm-up: the steady state.
    ended = t0 + args.seconds  # the first session opened ends then; the last opened as the warm-up began
    window = max(ended - opened, 1e-9)
    rates = sorted(sum(n for when, n in r["steps"] if opened <= when <= ended) / window for r in results)
    what = f"{args.sessions} sessions × {len(RACE)} runners at {args.speed:g} steps/s"
    if args.beside:
        what += f", {args.beside} Edge-of-stability trainings beside them"
    print(f"{what} for {args.seconds:g} s{settings}")
    for k, r in enumerate(trained):
        print(
            f"  training {k}: {r['steps'] / args.seconds:5.1f} steps/s, {r['sharpness']} sharpness"
            f" measurements, errors {r['errors']}, queued {r['queued']}"
        )
    print(f"  before: one session per surface traced it ({len(SURFACES)} surfaces, {traced:.1f} s)")
    print(f"  frame gaps, all (first frame included): {gap_line(gaps)}   errors {errors}")
    print(f"  after the first {args.warmup:g} s:                 {gap_line(steady)}   (goal p95 ≤ 100 ms)")
    if worst:
        median = statistics.median(worst) * 1e3
        print(
            f"  longest gap per session after {args.warmup:g} s: median {median:6.0f} ms,"
            f" max {worst[-1] * 1e3:6.0f} ms   (goal ≤ 1000 ms)"
        )
        # When the long gaps happened: all at once (a stall of the whole server) or spread out.
        late = sorted(when - t0 for r in results for when, g in r["gaps"] if when >= opened and g >= 0.5)
        if late:
            spread = f"from {late[0]:.1f} s to {late[-1]:.1f} s, median {statistics.median(late):.1f} s"
            print(f"  gaps ≥ 500 ms after {args.warmup:g} s: {len(late)}, ending {spread} after the start")
    print(
        f"  steps/s per session over the {window:.0f} s all were open: slowest {rates[0]:5.1f}, "
        f"median {statistics.median(rates):5.1f}, "
        f"fastest {rates[-1]:5.1f}   slowest/fastest {rates[0] / max(rates[-1], 1e-9):.2f} (goal ≥ 0.7)"
    )
    print(f"  server: {cpu:5.0f} % of one core, {memory}")
    print(f"  client (this process, parsing every frame): {me * 100:5.0f} % of one core")
    print(f"  load average before {load_before}, after {load_average()}")
    for r in results:
        if "failure" in r:
            print("  failure:", r["failure"])


if __name__ == "__main__":
    main()
