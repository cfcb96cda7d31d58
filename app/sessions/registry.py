"""Who is connected: live sessions with a socket, detached ones waiting for their page to come back, and
the limits on both (in total and per client address); and what each kind of session shares in this app
(its resources, made once from the settings)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.config import Settings
from app.errors import AppError
from app.metrics import Metrics
from app.sessions.core import SessionCore, SessionKind
from app.sessions.live import LiveSession
from app.sessions.messages import Notice


@dataclass
class Detached:
    session: SessionCore
    client: str
    since: float


class SessionRegistry:
    def __init__(self, settings: Settings, metrics: Metrics, kinds: Iterable[SessionKind]):
        self.settings = settings
        self.metrics = metrics
        self.attached: dict[str, LiveSession] = {}  # session id -> live session
        self.clients: dict[str, str] = {}  # session id -> client address
        self.detached: dict[str, Detached] = {}  # resume token -> session waiting for its page
        self.stopping = False  # the server is shutting down: nothing to keep for later
        self.kinds = {kind.name: kind for kind in kinds}
        # kind name -> what its sessions share in this app (e.g. slots of a scarce resource), or None
        self.resources: dict[str, Any] = {
            name: kind.resources(settings, metrics) for name, kind in self.kinds.items()
        }
        metrics.watch(metrics.sessions.labels("attached"), lambda: len(self.attached))
        metrics.watch(metrics.sessions.labels("detached"), lambda: len(self.detached))
        metrics.watch(
            metrics.runners, lambda: sum(live.session.runner_count for live in self.attached.values())
        )
        metrics.watch(
            metrics.outbox_steps, lambda: sum(live.outbox.waiting_steps for live in self.attached.values())
        )

    def purge(self) -> None:
        """Forget detached sessions whose page did not come back in time."""
        deadline = time.monotonic() - self.settings.session_ttl
        for token in [t for t, d in self.detached.items() if d.since < deadline]:
            self.detached.pop(token).session.closed()

    def admit(self, client: str) -> None:
        """Raise when one more session would pass a limit. Detached sessions make room: the oldest goes."""
        self.purge()
        while len(self.attached) + len(self.detached) >= self.settings.max_sessions and self.detached:
            oldest = min(self.detached, key=lambda t: self.detached[t].since)
            self.detached.pop(oldest).session.closed()
        if len(self.attached) >= self.settings.max_sessions:
            raise AppError(
                503, "too_many_sessions", "the server is at its session limit; try again in a minute"
            )
        if Counter(self.clients.values())[client] >= self.settings.max_sessions_per_client:
            limit = self.settings.max_sessions_per_client
            raise AppError(
                429, "too_many_sessions", f"at most {limit} sessions from one address; close some tabs"
            )

    def create(self, kind: SessionKind) -> SessionCore:
        """A new session of this kind, with the resources its kind shares in this app."""
        return kind.create(self.settings, self.resources[kind.name])

    def take(self, token: str) -> SessionCore | None:
        """The detached session with this resume token, now claimed (None if unknown or expired)."""
        self.purge()
        detached = self.detached.pop(token, None)
        return detached.session if detached is not None else None

    def frame_rate(self) -> float:
        """Frames per second for each page: the configured rate, until all pages together would pass the
        server-wide budget; then every page gets the same share (fuller frames, the same steps per second)."""
        share = self.settings.max_frames_per_second / max(1, len(self.attached))
        return min(self.settings.frame_rate, max(2.0, share))

    def attach(self, live: LiveSession, client: str) -> None:
        self.attached[live.session.id] = live
        self.clients[live.session.id] = client

    def announce_restart(self) -> None:
        """The server is about to stop: tell every page, so it says so and reconnects by itself."""
        self.stopping = True
        for live in self.attached.values():
            live.post(
                Notice(code="server_restarting", message="the server is restarting; reconnecting shortly")
            )

    def detach(self, live: LiveSession, keep: bool) -> None:
        """The socket is gone: keep the session for its page to resume (if it ran anything), else drop it."""
        self.attached.pop(live.session.id, None)
        client = self.clients.pop(live.session.id, "")
        if keep and live.session.started and self.settings.session_ttl > 0:
            live.session.detached()
            self.detached[live.session.resume_token] = Detached(live.session, client, time.monotonic())
        else:
            live.session.closed()
