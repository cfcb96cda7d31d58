"""A live race beside heavy REST work: does the race keep its pace while basin maps compute?

One socket races 4 optimizers at 60 steps/s; after a quiet baseline, 8 basin maps (n = 200, 500 steps, the
largest allowed: 20 M runner-steps each) are requested at once. The client measures the gaps between the
race's frames before and while the maps compute, and each map's status and time. One server process on
127.0.0.1, serving this tree or another (--root: e.g. the same tree as it was before a change, to compare
under the same load); extra GDVIZ_* settings are passed as NAME=value arguments.

    .venv/bin/python bench/rest_pool.py [--maps 8] [--n 200] [--steps 500] [GDVIZ_REST_QUEUE=8 ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from serve import RACE, race

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def basin(client: httpx2.AsyncClient, n: int, steps: int) -> tuple[int, float, str]:
    body = {"surface": "himmelblau", "optimizer": "adam", "hyperparameters": {"lr": 0.05}, "n": n}
    began = time.monotonic()
    response = await client.post("/api/basins", json={**body, "steps": steps}, timeout=300)
    return response.status_code, time.monotonic() - began, response.headers.get("retry-after", "")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(port: int, pid: int, args: argparse.Namespace) -> None:
    started, stop, gaps = asyncio.Event(), asyncio.Event(), []
    racing = asyncio.create_task(race(f"ws://127.0.0.1:{port}/ws", args.speed, started, stop, gaps))
    await asyncio.wait_for(started.wait(), 120)  # the first frame pays for tracing the surface
    await asyncio.sleep(args.baseline)
    t0, cpu0 = time.monotonic(), cpu_seconds(pid)
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        results = await asyncio.gather(*(basin(client, args.n, args.steps) for _ in range(args.maps)))
    t1, cpu1 = time.monotonic(), cpu_seconds(pid)
    await asyncio.sleep(0.5)
    stop.set()
    await racing
    before = [(g, k) for when, g, k in gaps if when < t0]  # (gap, steps in the frame that ended it)
    during = [(g, k) for when, g, k in gaps if t0 <= when <= t1 + 0.1]

    def line(label: str, frames: list[tuple[float, int]]) -> str:
        if not frames:
            return f"  {label}: no frames"
        values = sorted(g for g, _ in frames)
        p95 = values[int(0.95 * (len(values) - 1))]
        # The frame after the longest gap: many steps if the server's loop stalled (the clock owed them), a
        # few if this process stalled (a busy machine) and then read a burst of frames sent meanwhile.
        after_longest = max(frames)[1]
        return (
            f"  {label}: {len(values):4d} frames, gap median {statistics.median(values) * 1e3:5.1f} ms, "
            f"p95 {p95 * 1e3:6.1f} ms, longest {values[-1] * 1e3:7.1f} ms (its frame: {after_longest} steps)"
        )

    maps = f"{args.maps} basin maps n={args.n}, {args.steps} steps"
    print(f"race of {len(RACE)} runners at {args.speed:g} steps/s; {maps}; {' '.join(args.env)}")
    print(line("before", before))
    print(line("during", during))
    codes = sorted(code for code, _, _ in results)
    served = sorted(t for code, t, _ in results if code == 200)
    print(f"  maps: statuses {codes}, all done in {t1 - t0:5.1f} s, server CPU then {cpu1 - cpu0:5.1f} s")
    if served:
        first, median, last = served[0], statistics.median(served), served[-1]
        print(f"  served in: first {first:5.1f} s, median {median:5.1f} s, last {last:5.1f} s")
    refused = [retry for code, _, retry in results if code == 429]
    if refused:
        print(f"  Retry-After of the refused: {refused}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", type=int, default=8)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--speed", type=float, default=60.0, help="steps per second of the race")
    ap.add_argument("--baseline", type=float, default=6.0, help="seconds of racing before the maps")
    ap.add_argument("--root", type=Path, default=ROOT, help="the source tree to serve (e.g. a copy of HEAD)")
    ap.add_argument("env", nargs="*", help="GDVIZ_NAME=value settings for the server")
    args = ap.parse_args()
    port = free_port()
    extra = dict(item.split("=", 1) for item in args.env)
    env = {**os.environ, "GDVIZ_PORT": str(port), "GDVIZ_LOG_LEVEL": "warning", **extra}
    server = subprocess.Popen([sys.executable, "-m", "app"], cwd=args.root, env=env)
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
        asyncio.run(run(port, server.pid, args))
    finally:
        server.terminate()
        server.wait(timeout=15)


if __name__ == "__main__":
    main()
