"""Who is connected: live sessions with a socket, detached ones waiting for their page to come back, and
the limits on both (in total and per client address)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

from app.config import Settings
from app.errors import AppError
from app.metrics import Metrics
from app.sessions.cnn import TrainingSlots
from app.sessions.core import SessionCore
from app.sessions.live import LiveSession
from app.sessions.protocol import Notice


@dataclass
class Detached:
    session: SessionCore
    client: str
    since: float


class SessionRegistry:
    def __init__(self, settings: Settings, metrics: Metrics):
        self.settings = settings
        self.metrics = metrics
        self.attached: dict[str, LiveSession] = {}  # session id -> live session
        self.clients: dict[str, str] = {}  # session id -> client address
        self.detached: dict[str, Detached] = {}  # resume token -> session waiting for its page
        self.stopping = False  # the server is shutting down: nothing to keep for later
        self.trainings = TrainingSlots(settings.max_trainings)
        self.landscapes = threading.BoundedSemaphore(settings.max_landscapes)  # computing at once
        metrics.watch(metrics.trainings.labels("running"), lambda: len(self.trainings.holders))
        metrics.watch(metrics.trainings.labels("queued"), lambda: self.trainings.queued)
        metrics.watch(metrics.sessions.labels("attached"), lambda: len(self.attached))
        metrics.watch(metrics.sessions.labels("detached"), lambda: len(self.detached))
        metrics.watch(
            metrics.runners, lambda: sum(len(live.session.order) for live in self.attached.values())
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
