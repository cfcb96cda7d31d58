"""Replicas behind a real proxy: Debian's nginx with deploy/nginx.conf in front of gdviz servers. Sessions go
through the proxy; a browser's routing cookie keeps it on one replica, so a dropped socket resumes where
its session lives. As in a container network, the proxy connects from an address of its own (127.0.0.3,
not 127.0.0.1) and the students from theirs (127.0.1.x): the app, started as production starts it, counts
each student by the address nginx forwards, and trusts that header from nginx alone."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed

from app.__main__ import uvicorn_options
from app.config import Settings
from tests.conftest import ServerThread
from tests.helpers import Client

ROOT = Path(__file__).resolve().parents[2]
RUNNERS = [{"id": "a", "optimizer": "adam", "hyperparameters": {"lr": 0.02}, "start": [-1.2, 1.0]}]
PROXY_ADDRESS = "127.0.0.3"  # where nginx connects from, as from its own address on a compose network
PER_CLIENT = 3  # sessions per address in the trusting server: low, so the cap is quick to reach


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def nginx(folder: Path, upstreams: list[ServerThread], bind: str | None = None) -> Iterator[str]:
    """deploy/nginx.conf served by Debian's nginx on a free 127.0.0.1 port in front of these servers; with
    ``bind``, nginx connects to them from that address (proxy_bind). Yields the proxy's URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        pytest.fail("nginx is not installed: apt-get install -y nginx")
    port = free_port()
    (folder / "gdviz-upstreams.conf").write_text(
        "".join(f"server 127.0.0.1:{r.port} max_fails=2 fail_timeout=5s;\n" for r in upstreams)
    )
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    config = config.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    config = config.replace("/etc/nginx/gdviz-upstreams.conf", str(folder / "gdviz-upstreams.conf"))
    config = re.sub(r"worker_processes auto;", "worker_processes 1;", config)
    if bind is not None:
        assert "client_max_body_size 1m;" in config
        config = config.replace(
            "client_max_body_size 1m;", f"client_max_body_size 1m;\n        proxy_bind {bind};"
        )
    (folder / "nginx.conf").write_text(config)
    directives = f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log warn;"
    process = subprocess.Popen(
        [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", directives]
    )
    try:
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
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def replicas():
    servers = [ServerThread().start(), ServerThread().start()]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def proxy(replicas, tmp_path_factory):
    with nginx(tmp_path_factory.mktemp("nginx"), replicas) as url:
        yield url


@pytest.fixture(scope="module")
def trusting():
    """A server that trusts the proxy's address, started with production's uvicorn options."""
    settings = Settings(
        forwarded_allow_ips=PROXY_ADDRESS, max_sessions_per_client=PER_CLIENT, log_level="warning"
    )
    server = ServerThread(settings, options=uvicorn_options(settings)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bound_proxy(trusting, tmp_path_factory):
    with nginx(tmp_path_factory.mktemp("nginx-bound"), [trusting], bind=PROXY_ADDRESS) as url:
        yield url


def student(address: str, url: str, **kwargs) -> Client:
    """A socket opened from this loopback address, as from a student's own machine."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10, source_address=(address, 0))
    return Client(url, origin=url, sock=sock, **kwargs)


def counted_as(server: ServerThread, c: Client) -> str:
    """The client address the server counts this session under."""
    return server.app.state.sessions.clients[c.hello["session"]]


def assert_refused(c: Client) -> None:
    assert c.hello["type"] == "error" and c.hello["error"]["code"] == "too_many_sessions", c.hello
    assert c.hello["error"]["message"] == f"at most {PER_CLIENT} sessions from one address; close some tabs"
    with pytest.raises(ConnectionClosed) as closed:
        c.ws.recv(timeout=2)
    assert closed.value.rcvd.code == 1013


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


def test_thirty_students_behind_the_proxy_each_get_a_session(bound_proxy, trusting):
    addresses = [f"127.0.1.{k}" for k in range(1, 31)]
    students = [student(address, bound_proxy) for address in addresses]
    try:
        assert [c.hello["type"] for c in students] == ["hello"] * 30  # 10 times the per-address cap
        assert [counted_as(trusting, c) for c in students] == addresses
    finally:
        for c in students:
            c.close()


def test_one_address_behind_the_proxy_is_still_capped(bound_proxy, trusting):
    tabs = [student("127.0.1.100", bound_proxy) for _ in range(PER_CLIENT)]
    assert [c.hello["type"] for c in tabs] == ["hello"] * PER_CLIENT
    assert_refused(student("127.0.1.100", bound_proxy))
    neighbour = student("127.0.1.101", bound_proxy)  # the cap is per student, not for the proxy
    assert neighbour.hello["type"] == "hello" and counted_as(trusting, neighbour) == "127.0.1.101"
    for c in [*tabs, neighbour]:
        c.close()


def test_a_forged_forwarded_for_gains_nothing(bound_proxy, trusting):
    # Straight to the app: the peer is not the proxy, so its header is ignored; each forged address, the
    # proxy's own among them, still counts as the peer.
    forged = ["10.0.0.1", "127.0.1.150, 10.0.0.2", PROXY_ADDRESS]
    direct = [student("127.0.1.200", trusting.url, additional_headers={"X-Forwarded-For": f}) for f in forged]
    assert [counted_as(trusting, c) for c in direct] == ["127.0.1.200"] * PER_CLIENT
    assert_refused(student("127.0.1.200", trusting.url, additional_headers={"X-Forwarded-For": "10.0.0.4"}))
    # Through the proxy: nginx appends the address it sees, and the app takes the last one it does not
    # trust, so what the client wrote before it does not count.
    through = [student("127.0.1.210", bound_proxy, additional_headers={"X-Forwarded-For": f}) for f in forged]
    assert [counted_as(trusting, c) for c in through] == ["127.0.1.210"] * PER_CLIENT
    assert_refused(student("127.0.1.210", bound_proxy, additional_headers={"X-Forwarded-For": "10.0.0.5"}))
    for c in [*direct, *through]:
        c.close()


def test_without_trust_the_proxy_is_every_client(tmp_path):
    # The bug this setup guards against: a proxy that is not 127.0.0.1, not trusted, makes every student
    # the same client, and the (PER_CLIENT + 1)-th student of the class is refused.
    settings = Settings(max_sessions_per_client=PER_CLIENT, log_level="warning")
    server = ServerThread(settings, options=uvicorn_options(settings)).start()
    try:
        with nginx(tmp_path, [server], bind=PROXY_ADDRESS) as url:
            students = [student(f"127.0.1.{k}", url) for k in range(1, PER_CLIENT + 1)]
            assert [counted_as(server, c) for c in students] == [PROXY_ADDRESS] * PER_CLIENT
            assert_refused(student(f"127.0.1.{PER_CLIENT + 1}", url))
            for c in students:
                c.close()
    finally:
        server.stop()


def test_the_proxy_forwards_the_client_address_and_scheme():
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    for header in ("X-Forwarded-For $proxy_add_x_forwarded_for", "X-Forwarded-Proto $scheme"):
        assert config.count(f"proxy_set_header {header};") == 2  # on /ws and on everything else


def test_production_serves_with_the_trusted_proxies_of_its_settings(monkeypatch):
    monkeypatch.delenv("GDVIZ_FORWARDED_ALLOW_IPS", raising=False)
    assert uvicorn_options(Settings())["forwarded_allow_ips"] == "127.0.0.1"  # no proxy: trust loopback only
    monkeypatch.setenv("GDVIZ_FORWARDED_ALLOW_IPS", "172.30.80.10, 10.244.0.0/16")
    options = uvicorn_options(Settings())
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == "172.30.80.10,10.244.0.0/16"


@pytest.mark.parametrize("value", ["nginx", "10.0.0.1/8", "127.0.0.1,*", "172.30.80.300"])
def test_trusted_proxies_that_uvicorn_would_never_match_are_refused(value):
    # uvicorn would keep each of these as a literal that never matches and trust no one, silently.
    with pytest.raises(ValidationError, match="expected IP addresses or CIDR networks"):
        Settings(forwarded_allow_ips=value)
