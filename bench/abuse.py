"""A storm against one server while a live race plays: does the server stay small, on time and up?

One socket races 4 optimizers at 60 steps/s. After a quiet baseline, the storm: 4 clients send, one after
the other for ``--seconds``, the most expensive request every REST endpoint allows (found below from the
cost model, the same validation the server runs: the largest work among a built-in surface, a data problem
of 2000 samples and a long expression), while 20 sockets each start a race on a custom expression never
seen before (each is traced: make_fx and TorchScript). Printed: the server's peak resident memory above
idle, the live race's frame gaps (p95, longest) during the storm, the count of every status (429 when the
compute queue is full; never a 500) and how long the expressions took to their first frame.

Goals (issue 13) on this 2-core machine: peak memory above idle ≤ 1 GB for the whole storm, p95 ≤ 100 ms,
longest gap ≤ 250 ms, no 500. Extra GDVIZ_* settings for the server are NAME=value arguments.

    .venv/bin/python bench/abuse.py [--seconds 30] [--clients 4] [--sockets 20] [GDVIZ_NAME=value ...]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import websockets
from serve import RACE, Server, load_average, race

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import ValidationError  # noqa: E402

from app.config import Settings  # noqa: E402
from app.schemas import BasinsRequest, StabilityRequest, TrajectoryRequest  # noqa: E402

DATA = {"data": "logreg", "params": {"n": 2000}}
# A long expression near the node limit (200): the dearest surface per point a page can type.
TERMS = " + ".join(f"sin({k}*x + y) * cos(x - {k}*y)" for k in range(1, 9))
LONG = {"expression": f"{TERMS} + 0.1*(x**2 + y**2)", "x_range": [-3, 3], "y_range": [-3, 3]}
SURFACES: list[Any] = ["goldstein_price", DATA, LONG]
BATCH_SIZES = [200, 199, 198, 197]  # the most a request allows: 4 sizes, each up to N = 200


@dataclass
class Call:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None


def largest(model: type, make: Any, low: int, high: int, settings: Settings) -> tuple[int, float] | None:
    """The largest knob in low..high whose request ``make(knob)`` the model accepts, and its priced work."""
    context = {"settings": settings}

    def accepted(k: int) -> float | None:
        try:
            return model.model_validate(make(k), context=context).cost.work
        except ValidationError:
            return None

    if accepted(low) is None:
        return None
    while low < high:  # cost grows with the knob: bisect for the last accepted
        mid = (low + high + 1) // 2
        low, high = (mid, high) if accepted(mid) is not None else (low, mid - 1)
    return low, accepted(low) or 0.0


def dearest(model: type, make: Any, high: int, settings: Settings, low: int = 1) -> dict[str, Any]:
    """Over SURFACES, the accepted request with the most work."""
    best: tuple[float, dict[str, Any]] | None = None
    for surface in SURFACES:
        found = largest(model, lambda k, s=surface: make(s, k), low, high, settings)
        if found is not None and (best is None or found[1] > best[0]):
            best = (found[1], make(surface, found[0]))
    assert best is not None, model
    return best[1]


def storm_calls(settings: Settings) -> list[Call]:
    adam = {"optimizer": "adam", "hyperparameters": {"lr": 0.05}}
    trajectory = dearest(
        TrajectoryRequest, lambda s, k: {"surface": s, **adam, "steps": k}, settings.max_steps, settings
    )
    n = settings.max_basin_n
    basins = dearest(
        BasinsRequest, lambda s, k: {"surface": s, **adam, "n": n, "steps": k}, 100_000, settings
    )
    stability = dearest(
        StabilityRequest,
        lambda s, k: {"surface": s, "optimizer": "momentum", "hyperparameters": {}, "n": 80, "steps": k},
        100_000,
        settings,
        low=10,
    )
    grid = settings.max_grid
    return [
        Call("grid (data)", "POST", f"/api/surfaces/grid?n={grid}", DATA),
        Call("grid (expression)", "POST", f"/api/surfaces/grid?n={grid}", LONG),
        Call("grid (built-in)", "GET", f"/api/surfaces/goldstein_price/grid?n={grid}"),
        Call("trajectory", "POST", "/api/trajectory", trajectory),
        Call("basins", "POST", "/api/basins", basins),
        Call("stability", "POST", "/api/stability", stability),
        Call("lesson: batches", "POST", "/api/lessons/batches", {"batch_sizes": BATCH_SIZES}),
        Call("lesson: backprop", "POST", "/api/lessons/backprop", {"depth": 8, "width": 8}),
    ]


def describe(call: Call) -> str:
    body = call.body or {}
    surface = body.get("surface", body if "data" in body or "expression" in body else None)
    kind = "data" if isinstance(surface, dict) and "data" in surface else "expression"
    kind = surface if isinstance(surface, str) else kind
    sizes = ", ".join(f"{k}={body[k]}" for k in ("n", "steps") if k in body)
    return f"{call.method} {call.path}" + (f" ({kind}{', ' + sizes if sizes else ''})" if surface else "")


async def requester(
    client: httpx2.AsyncClient, calls: list[Call], offset: int, until: float, seen: list
) -> None:
    """Send the calls in turn (starting at ``offset``) until ``until``; record (name, status, seconds)."""
    k = offset
    while time.monotonic() < until:
        call = calls[k % len(calls)]
        k += 1
        began = time.monotonic()
        response = await client.request(call.method, call.path, json=call.body, timeout=300)
        seen.append((call.name, response.status_code, time.monotonic() - began))
        if response.status_code == 429:  # as a client should: come back after Retry-After (capped)
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 2.0))


async def expression(url: str, k: int, results: list) -> None:
    """A race on an expression no one asked for before; record (seconds to the first frame, error code)."""
    surface = {"expression": f"(x - {k / 10:.1f})**2 + {1 + k % 5}*(y + {k / 7:.3f})**2 + sin({k}*x)*cos(y)"}
    runners = [{"id": "a", "optimizer": "adam", "hyperparameters": {"lr": 0.05}, "start": [1.0, 1.0]}]
    began = time.monotonic()
    async with websockets.connect(url, max_size=None, open_timeout=60) as ws:
        await ws.recv()  # hello
        await ws.send(json.dumps({"type": "start", "surface": surface, "runners": runners, "speed": 30}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 120))
            if message["type"] in ("frame", "error"):
                results.append((time.monotonic() - began, message.get("code")))
                return


def gap_line(gaps: list[float]) -> str:
    if not gaps:
        return "no frames"
    values = sorted(gaps)
    p95 = values[int(0.95 * (len(values) - 1))]
    return (
        f"{len(values):4d} frames, median {statistics.median(values) * 1e3:5.1f} ms, "
        f"p95 {p95 * 1e3:6.1f} ms (goal ≤ 100), longest {values[-1] * 1e3:6.1f} ms (goal ≤ 250)"
    )


async def run(server: Server, args: argparse.Namespace, calls: list[Call]) -> None:
    ws_url = server.url.replace("http", "ws") + "/ws"
    started, stop, gaps = asyncio.Event(), asyncio.Event(), []
    racing = asyncio.create_task(race(ws_url, args.speed, started, stop, gaps))
    await asyncio.wait_for(started.wait(), 120)  # the first frame pays for tracing the surface
    await asyncio.sleep(args.baseline)
    idle = server.usage().rss
    peak_reset = server.reset_peak()
    t0 = time.monotonic()
    seen: list[tuple[str, int, float]] = []
    compiled: list[tuple[float, str | None]] = []
    async with httpx2.AsyncClient(base_url=server.url) as client:
        await asyncio.gather(
            *(requester(client, calls, c * 2, t0 + args.seconds, seen) for c in range(args.clients)),
            *(expression(ws_url, k, compiled) for k in range(args.sockets)),
        )
    t1 = time.monotonic()
    usage = server.usage()
    await asyncio.sleep(0.5)
    stop.set()
    await racing
    before = [g for when, g, _ in gaps if when < t0]
    during = [g for when, g, _ in gaps if t0 <= when <= t1]

    print(f"live race of {len(RACE)} runners at {args.speed:g} steps/s; storm of {t1 - t0:.1f} s")
    print(f"  {args.clients} clients sending, in turn, the dearest request each endpoint allows:")
    for call in calls:
        print(f"    {call.name:18s} {describe(call)}")
    print(f"  {args.sockets} sockets each starting a race on a new expression")
    print(f"  race before the storm: {gap_line(before)}")
    print(f"  race during the storm: {gap_line(during)}")
    late = [f"{g * 1e3:.0f} ms at {when - t0:.1f} s" for when, g, _ in gaps if t0 <= when <= t1 and g > 0.1]
    print(f"    gaps over 100 ms: {', '.join(late) or 'none'} (after the storm began)")
    statuses = collections.Counter(code for _, code, _ in seen)
    print(f"  REST answers: {dict(sorted(statuses.items()))}   429s {statuses[429]}   500s {statuses[500]}")
    for name in dict.fromkeys(name for name, _, _ in seen):
        times = [t for n, code, t in seen if n == name and code == 200]
        codes = collections.Counter(code for n, code, _ in seen if n == name)
        served = ""
        if times:
            served = f"served in median {statistics.median(times):5.2f} s, most {max(times):5.2f} s"
        print(f"    {name:18s} {dict(sorted(codes.items()))} {served}")
    firsts = sorted(t for t, code in compiled if code is None)
    errors = collections.Counter(code for _, code in compiled if code is not None)
    if firsts:
        print(
            f"  expressions: {len(firsts)} of {args.sockets} raced, first frame after median "
            f"{statistics.median(firsts):5.2f} s, last {firsts[-1]:5.2f} s; errors {dict(errors)}"
        )
    above = usage.peak - idle if peak_reset else float("nan")
    print(
        f"  server memory: {idle:.0f} MB idle, peak {usage.peak:.0f} MB: "
        f"{above:.0f} MB above idle (goal ≤ 1024)"
        + ("" if peak_reset else " (the kernel did not reset the peak: it is the process's whole life)")
    )
    print(f"  load average after: {load_average()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="how long the REST clients send")
    ap.add_argument("--clients", type=int, default=4, help="REST requests in flight at once")
    ap.add_argument("--sockets", type=int, default=20, help="sockets starting a new expression")
    ap.add_argument("--speed", type=float, default=60.0, help="steps per second of the live race")
    ap.add_argument("--baseline", type=float, default=5.0, help="seconds of racing before the storm")
    ap.add_argument("env", nargs="*", help="GDVIZ_NAME=value settings for the server")
    args = ap.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    # The same limits the server reads (its environment): the calls are the dearest it allows.
    settings = Settings(**{k.removeprefix("GDVIZ_").lower(): v for k, v in extra.items()})
    calls = storm_calls(settings)
    # The 20 sockets come from this one address: lift the per-client cap the storm is not about.
    env = {"GDVIZ_MAX_SESSIONS_PER_CLIENT": str(args.sockets + 5), **extra}
    with Server(env) as server:
        asyncio.run(run(server, args, calls))


if __name__ == "__main__":
    main()
