"""Replicas behind a real proxy: Debian's nginx with deploy/nginx.conf in front of two gdviz servers on
127.0.0.1. Sessions go through the proxy; a browser's routing cookie keeps it on one replica, so a dropped
socket resumes where its session lives."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx2
import pytest

from tests.conftest import ServerThread
from tests.helpers import Client

ROOT = Path(__file__).resolve().parents[2]
RUNNERS = [{"id": "a", "optimizer": "adam", "hyperparameters": {"lr": 0.02}, "start": [-1.2, 1.0]}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def replicas():
    servers = [ServerThread().start(), ServerThread().start()]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def proxy(replicas, tmp_path_factory):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed: apt-get install -y nginx")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    upstreams = folder / "gdviz-upstreams.conf"
    upstreams.write_text(
        "".join(f"server 127.0.0.1:{r.port} max_fails=2 fail_timeout=5s;\n" for r in replicas)
    )
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    config = config.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    config = config.replace("/etc/nginx/gdviz-upstreams.conf", str(upstreams))
    config = re.sub(r"worker_processes auto;", "worker_processes 1;", config)
    (folder / "nginx.conf").write_text(config)
    directives = f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log warn;"
    process = subprocess.Popen([nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", directives])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("nginx did not start: " + (folder / "error.log").read_text()[-2000:])
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def replica_of(replicas, session_id: str) -> int:
    holders = [k for k, r in enumerate(replicas) if session_id in r.app.state.sessions.attached]
    assert len(holders) == 1, holders
    return holders[0]


def test_the_page_through_the_proxy_sets_a_routing_cookie(proxy):
    page = httpx2.get(proxy + "/")
    assert page.status_code == 200 and "gdviz_route" in page.cookies
    again = httpx2.get(proxy + "/", cookies={"gdviz_route": page.cookies["gdviz_route"]})
    assert "gdviz_route" not in again.cookies  # set once, kept by the browser
    assert httpx2.get(proxy + "/api/surfaces").status_code == 200


def test_a_cookie_keeps_a_browser_on_one_replica_and_cookies_spread(proxy, replicas):
    seen: dict[str, set[int]] = {}
    for k in range(12):
        cookie = f"browser-{k}"
        for _ in range(2):
            c = Client(proxy, origin=proxy, additional_headers={"Cookie": f"gdviz_route={cookie}"})
            time.sleep(0.05)
            seen.setdefault(cookie, set()).add(replica_of(replicas, c.hello["session"]))
            c.close()
    assert all(len(where) == 1 for where in seen.values())  # sticky
    assert {next(iter(w)) for w in seen.values()} == {0, 1}  # and both replicas get browsers


def test_a_dropped_socket_resumes_on_the_replica_that_holds_its_session(proxy, replicas):
    headers = {"Cookie": "gdviz_route=classroom-7"}
    c = Client(proxy, origin=proxy, additional_headers=headers)
    token, session = c.hello["resume_token"], c.hello["session"]
    home = replica_of(replicas, session)
    c.send({"type": "start", "surface": "rosenbrock", "runners": RUNNERS, "speed": 120, "ref": "go"})
    c.until("state", ref="go")
    frames = [m for m in (c.recv() for _ in range(12)) if m["type"] == "frame"]
    c.ws.socket.shutdown(socket.SHUT_RDWR)  # the Wi-Fi drops
    c.ws.socket.close()
    time.sleep(0.3)
    back = Client(
        proxy, query=f"?resume={token}&seq={frames[-1]['seq']}", origin=proxy, additional_headers=headers
    )
    assert back.hello["resumed"] and back.hello["session"] == session
    assert replica_of(replicas, session) == home
    state, replayed = back.until("state")
    after = replayed + [back.recv() for _ in range(6)]
    steps = [
        r["first_step"] + k
        for m in frames + after
        if m["type"] == "frame"
        for r in m["runners"]
        for k in range(len(r["points"]))
    ]
    assert steps == list(range(steps[0], steps[0] + len(steps)))  # no step missing, none repeated
    back.close()


def test_the_proxy_keeps_quiet_sockets_open(proxy):
    c = Client(proxy, origin=proxy)
    time.sleep(2.0)  # a paused lesson: no traffic for a while
    c.send({"type": "play", "ref": "still-there"})
    error, _ = c.until("error", ref="still-there")
    assert error["error"]["code"] == "no_run"  # answered: the socket survived the silence
    c.close()
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_read_timeout 3600s" in config and "Upgrade $http_upgrade" in config
