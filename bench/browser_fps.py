"""Frame rate of the live page in headless Chromium during a 6-runner race with 2 000-point trails.

Starts the app (its own process) on a free port, opens the page with six runners, lets every trail
grow past 2 000 points, then counts requestAnimationFrame callbacks for a few seconds while the race
goes on (frames arriving, paths drawn on the canvas, the loss chart extended). Goal: ≥ 50 fps. Also
reports the main thread's long tasks (> 50 ms) seen meanwhile.

    .venv/bin/python bench/browser_fps.py [--seconds 5] [--trail 2000] [--speed 400]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
]
RACE = ["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"]
LR = {"sgd": 0.001, "momentum": 0.001, "nesterov": 0.001, "adam": 0.05, "rmsprop": 0.01, "adagrad": 0.3}

COUNT_FRAMES = """(seconds) => new Promise((done) => {
  const longTasks = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push(entry.duration);
  });
  observer.observe({ type: "longtask" });
  let frames = 0;
  let worst = 0;
  let last = performance.now();
  const t0 = last;
  const tick = (now) => {
    frames += 1;
    worst = Math.max(worst, now - last);
    last = now;
    if (now - t0 < seconds * 1000) requestAnimationFrame(tick);
    else {
      observer.disconnect();
      done({ fps: frames / ((now - t0) / 1000), worst, longTasks });
    }
  };
  requestAnimationFrame(tick);
})"""


def serve() -> tuple[subprocess.Popen, str]:
    """The app as it is deployed: its own process (`python -m app`) on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GDVIZ_PORT": str(port), "GDVIZ_LOG_LEVEL": "warning"}
    server = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return server, url
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the server did not start") from None
            time.sleep(0.1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="how long to count frames")
    ap.add_argument("--trail", type=int, default=2000, help="points per trail before counting")
    ap.add_argument("--speed", type=float, default=400.0, help="steps per second per runner")
    a = ap.parse_args()

    server, url = serve()
    runners = "&".join(f"runner={o}@-1.2,1;lr={LR[o]}" for o in RACE)
    query = f"?surface=rosenbrock&{runners}&speed={a.speed:g}&play=1&lang=en"
    try:
        with sync_playwright() as p:
            launch = {"headless": True, "args": ARGS}
            if os.path.exists(CHROMIUM):
                launch["executable_path"] = CHROMIUM
            browser = p.chromium.launch(**launch)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url + "/" + query)
            page.wait_for_function("() => window.gdviz && window.gdviz.connection === 'live'", timeout=60_000)
            t0 = time.monotonic()
            page.wait_for_function(
                "(n) => window.gdviz.runners().every(r => r.steps >= n)", arg=a.trail, timeout=120_000
            )
            grown = time.monotonic() - t0
            result = page.evaluate(COUNT_FRAMES, a.seconds)
            trails = [r["steps"] for r in page.evaluate("() => window.gdviz.runners()")]
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

    long_tasks = result["longTasks"]
    longest = f", longest {max(long_tasks):.0f} ms" if long_tasks else ""
    print(f"6-runner race on Rosenbrock at {a.speed:g} steps/s per runner, 1280×800, headless Chromium")
    print(f"trails reached {a.trail} points in {grown:.1f} s; {min(trails)}–{max(trails)} points at the end")
    print(
        f"frame rate over {a.seconds:g} s: {result['fps']:.1f} fps "
        f"(longest gap between frames {result['worst']:.0f} ms; "
        f"{len(long_tasks)} long tasks > 50 ms{longest})"
    )
    print("goal ≥ 50 fps:", "met" if result["fps"] >= 50 else "NOT met")
    return 0 if result["fps"] >= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
