"""The Docker image, built and run for real (`make test-docker`).

Starts a Docker daemon if none runs (Debian's docker.io: --bridge=none --iptables=false; stopped again by
its PID afterwards), provides the base image locally when no registry is reachable (tests/docker/
base_image.sh: debootstrap, tagged with the base image's name), serves the wheels the build needs from a
local directory (pip downloads them on the host first, so the build itself needs no index), builds with
--network host, runs the container, waits for its HEALTHCHECK to say healthy, fetches the page, runs one
WebSocket session against it, stops it gracefully, and cleans up.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
import uuid
from pathlib import Path

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
BASE = "python:3.11-slim-bookworm"
IMAGE = "gdviz:test"
CACHE = Path(os.environ.get("GDVIZ_DOCKER_CACHE", Path.home() / ".cache" / "gdviz-docker"))

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]  # a cold build takes minutes


def run(*args: str, timeout: float = 1800, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, text=True, capture_output=True, timeout=timeout, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def docker():
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        pytest.fail("docker is not installed: apt-get install -y docker.io")
    daemon = None
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        CACHE.mkdir(parents=True, exist_ok=True)
        with (CACHE / "dockerd.log").open("w") as log:  # the daemon keeps its own copy of the descriptor
            daemon = subprocess.Popen(
                ["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false"], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline or daemon.poll() is not None:
                pytest.fail("dockerd did not start")
            time.sleep(0.5)
    yield
    if daemon is not None:
        daemon.terminate()
        daemon.wait(timeout=30)


@pytest.fixture(scope="module")
def base_image(docker):
    if subprocess.run(["docker", "image", "inspect", BASE], capture_output=True).returncode != 0:
        pulled = subprocess.run(["docker", "pull", BASE], capture_output=True, timeout=120)
        if pulled.returncode != 0:
            run("bash", str(ROOT / "tests" / "docker" / "base_image.sh"), BASE)
    return BASE


@pytest.fixture(scope="module")
def wheelhouse():
    """Every wheel the image needs (torch's CPU build and the dependencies), downloaded on the host."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needs = ["torch==2.13.0", *project["project"]["dependencies"], "setuptools>=68", "wheel"]
    digest = hashlib.sha256("\n".join(needs).encode()).hexdigest()[:16]
    folder = CACHE / f"wheels-{digest}"
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        run(
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "-d",
            str(folder),
            *needs,
        )
        (folder / ".complete").touch()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    # A fixed port when it is free: the URL is a build argument, and a new one each run would void the
    # build cache of every layer after it.
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 38751), handler)
    except OSError:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def image(base_image, wheelhouse):
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the classic builder: no buildx plugin needed
    started = time.monotonic()
    run(
        "docker", "build", "--network", "host", "-t", IMAGE,
        "--build-arg", f"PYTHON_IMAGE={base_image}",
        "--build-arg", "TORCH_INDEX=",
        "--build-arg", "PIP_NO_INDEX=1",
        "--build-arg", f"PIP_FIND_LINKS={wheelhouse}",
        str(ROOT), env=env,
    )  # fmt: skip
    logging.getLogger(__name__).warning("image built in %.0f s", time.monotonic() - started)
    return IMAGE


@pytest.fixture
def container(image):
    port = free_port()
    name = f"gdviz-test-{uuid.uuid4().hex[:8]}"
    run("docker", "run", "-d", "--network", "host", "--name", name, "-e", f"GDVIZ_PORT={port}", image)
    yield name, f"http://127.0.0.1:{port}"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def health(name: str) -> str:
    return run("docker", "inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()


def test_the_image_runs_healthy_serves_the_page_and_a_live_session(container):
    name, url = container
    deadline = time.monotonic() + 90
    while (status := health(name)) != "healthy":
        assert status in ("starting", ""), run("docker", "logs", name).stderr[-2000:]
        assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
        time.sleep(1)
    page = httpx2.get(url + "/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "/static/js/main.js" in page.text and "/vendor/plotly-" in page.text
    assert httpx2.get(url + "/api/surfaces").status_code == 200
    # runs as the unprivileged user, not root
    assert run("docker", "exec", name, "id", "-u").stdout.strip() == "10001"
    with connect(url.replace("http", "ws") + "/ws", open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello"
        runners = [{"id": "a", "optimizer": "adam", "hyperparameters": {"lr": 0.05}, "start": [-1.2, 1.0]}]
        ws.send(json.dumps({"type": "start", "surface": "rosenbrock", "runners": runners, "speed": 100}))
        kinds = [json.loads(ws.recv(timeout=10))["type"] for _ in range(5)]
        assert kinds[0] == "state" and "frame" in kinds
        # docker stop sends SIGTERM: the page hears that the server restarts, then the socket closes (1012).
        stopper = subprocess.Popen(["docker", "stop", "-t", "20", name], stdout=subprocess.DEVNULL)
        seen = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                seen.append(json.loads(ws.recv(timeout=20)))
        assert any(m["type"] == "notice" and m["code"] == "server_restarting" for m in seen)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        stopper.wait(timeout=30)
    state = json.loads(run("docker", "inspect", "--format", "{{json .State}}", name).stdout)
    assert state["Status"] == "exited" and not state["OOMKilled"]
    assert "Shutting down" in run("docker", "logs", name).stderr  # uvicorn's graceful path, not a kill
