"""Live-session speed over a real socket on 127.0.0.1 (a server process of its own; prints figures).

1. Update latency: a 6-runner race plays at 60 steps/s; 200 times, an lr update is sent and the time to
   the first frame computed with it (the runner's hp_version) is taken — goal p95 ≤ 50 ms.
2. Fast-forward: a 6-runner race of 10 000 steps each at full speed, received whole by the client,
   serialization included — goal ≤ 2 s end to end.

    .venv/bin/python bench/latency.py [--updates 200] [--steps 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
RACE = [
    ("sgd", {"lr": 1e-4}),
    ("momentum", {"lr": 1e-4}),
    ("nesterov", {"lr": 1e-4}),
    ("rmsprop", {"lr": 1e-3}),
    ("adam", {"lr": 0.01}),
    ("nadam", {"lr": 0.01}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int) -> subprocess.Popen:
    env = {**os.environ, "GDVIZ_PORT": str(port), "GDVIZ_LOG_LEVEL": "warning", "GDVIZ_MAX_SPEED": "1000000"}
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def race(speed: float, playing: bool = True) -> dict:
    runners = [
        {"id": f"r{k}", "optimizer": oid, "hyperparameters": hp, "start": [-1.2, 1.0]}
        for k, (oid, hp) in enumerate(RACE)
    ]
    return {"type": "start", "surface": "rosenbrock", "runners": runners, "speed": speed, "playing": playing}


def update_latency(url: str, updates: int) -> list[float]:
    with connect(url, max_size=None) as ws:
        ws.recv()  # hello
        ws.send(json.dumps(race(60)))
        latencies = []
        version = 0
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # let it settle into its pace
            ws.recv()
        for k in range(updates):
            version += 1
            lr = 1e-4 if k % 2 else 2e-4
            sent = time.perf_counter()
            ws.send(json.dumps({"type": "update_runner", "runner": "r0", "hyperparameters": {"lr": lr}}))
            while True:
                message = json.loads(ws.recv(timeout=5))
                if message["type"] == "frame" and any(
                    r["id"] == "r0" and r["hp_version"] == version for r in message["runners"]
                ):
                    latencies.append(time.perf_counter() - sent)
                    break
            time.sleep(0.01)
        return latencies


def fast_forward(url: str, steps: int) -> tuple[float, int, int]:
    with connect(url, max_size=None) as ws:
        ws.recv()
        received = {f"r{k}": 0 for k in range(len(RACE))}
        frames = bytes_in = 0
        t0 = time.perf_counter()
        ws.send(json.dumps(race(1_000_000)))
        while min(received.values()) < steps:
            text = ws.recv(timeout=30)
            message = json.loads(text)
            if message["type"] == "frame":
                frames += 1
                bytes_in += len(text)
                for r in message["runners"]:
                    received[r["id"]] += len(r["points"])
                if min(received.values()) >= steps:
                    break
        return time.perf_counter() - t0, frames, bytes_in


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--steps", type=int, default=10_000)
    args = ap.parse_args()
    port = free_port()
    server = serve(port)
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        lat = sorted(update_latency(url, args.updates))
        p50 = statistics.median(lat) * 1e3
        p95 = lat[int(0.95 * (len(lat) - 1))] * 1e3
        print(f"update → first frame computed with it, {len(lat)} updates at 60 steps/s, 6 runners")
        print(f"  p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {lat[-1] * 1e3:6.1f} ms   (goal p95 ≤ 50 ms)")
        seconds, frames, size = fast_forward(url, args.steps)
        print(f"fast-forward: 6 runners × {args.steps} steps received whole")
        print(
            f"  {seconds:5.2f} s end to end (goal ≤ 2 s)   {6 * args.steps / seconds:8.0f} runner-steps/s   "
            f"{frames} frames, {size / 1e6:.1f} MB of JSON"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
