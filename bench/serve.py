"""A gdviz server in a process of its own on 127.0.0.1, for the benchmarks: started, waited for, measured
from /proc (CPU time, resident memory now and at its peak), and stopped; and a live race to watch beside
whatever a benchmark throws at it (its frame gaps)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
RACE = [("sgd", 1e-3), ("momentum", 1e-3), ("rmsprop", 1e-3), ("adam", 0.01)]  # the watched race


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Usage:
    cpu: float  # s of CPU (user + system) used since the process started
    rss: float  # MB resident now (VmRSS)
    peak: float  # MB resident at the most so far (VmHWM)


class Server:
    """``with Server({"GDVIZ_NAME": "value"}) as server:`` a server on ``server.port``; ``usage()`` reads
    /proc/<pid>; ``reset_peak()`` makes the peak start from now (Linux 4.0+: write 5 to clear_refs)."""

    def __init__(self, env: dict[str, str] | None = None, start_timeout: float = 60.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "GDVIZ_HOST": "127.0.0.1",
            "GDVIZ_PORT": str(self.port),
            "GDVIZ_LOG_LEVEL": "warning",
            **(env or {}),
        }
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=self.env)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode} before it listened")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def usage(self) -> Usage:
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        status = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                status[name] = value.split()
        return Usage(cpu, int(status["VmRSS"][0]) / 1024, int(status["VmHWM"][0]) / 1024)

    def reset_peak(self) -> bool:
        """Reset VmHWM to the current resident size; False where the kernel does not allow it."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            return True
        except OSError:
            return False


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


async def race(
    url: str, speed: float, started: asyncio.Event, stop: asyncio.Event, gaps: list[tuple[float, float, int]]
) -> None:
    """Race until stopped; record (arrival, gap since the previous frame, steps in the frame) per frame."""
    runners = [
        {"id": f"r{j}", "optimizer": oid, "hyperparameters": {"lr": lr}, "start": [0.3 * j - 0.5, 1.0]}
        for j, (oid, lr) in enumerate(RACE)
    ]
    async with websockets.connect(url, max_size=None, open_timeout=30) as ws:
        await ws.recv()  # hello
        start = {"type": "start", "surface": "rosenbrock", "runners": runners, "speed": speed}
        await ws.send(json.dumps(start))
        last = None
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.5))
            except TimeoutError:
                continue
            if message["type"] == "frame":
                started.set()
                now = time.monotonic()
                if last is not None:
                    gaps.append((now, now - last, len(message["runners"][0]["points"])))
                last = now
