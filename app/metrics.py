"""Prometheus metrics, one registry per app (so tests can build many apps), served at GET /metrics."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sessions = Gauge("gdviz_sessions", "live sessions", ["state"], registry=r)
        # What each session counts, by the session contract: SessionCore.runner_count and frame_steps.
        self.runners = Gauge("gdviz_runners", "runners in attached sessions", registry=r)
        self.steps = Counter("gdviz_steps_total", "runner-steps computed", registry=r)
        self.frames = Counter("gdviz_frames_total", "frames sent", registry=r)
        self.coalesced = Counter(
            "gdviz_frames_coalesced_total",
            "frames merged into a later one because the socket was slow",
            registry=r,
        )
        self.frame_lag = Histogram(
            "gdviz_frame_lag_seconds",
            "time from a frame's computation to its sending",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.outbox_steps = Gauge("gdviz_outbox_steps", "runner-steps computed but not yet sent", registry=r)
        self.errors = Counter("gdviz_errors_total", "error answers, REST and WebSocket", ["code"], registry=r)
        self.messages = Counter("gdviz_messages_total", "client messages received", ["type"], registry=r)
        # Each kind of session may add gauges of its own resources to this registry (SessionKind.resources).

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        gauge.set_function(read)
