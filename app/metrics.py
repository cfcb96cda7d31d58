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
        # REST requests that compute, in the bounded pool (app/api/compute.py); endpoint is the route's path.
        self.rest_requests = Gauge(
            "gdviz_rest_requests", "heavy REST requests in the compute pool", ["state"], registry=r
        )  # state: waiting, computing
        self.rest_refused = Counter(
            "gdviz_rest_refused_total", "heavy REST requests refused with 429: the queue was full", registry=r
        )
        self.rest_compute = Histogram(
            "gdviz_rest_compute_seconds",
            "time a heavy REST request spent computing its answer (in the pool's thread)",
            ["endpoint"],
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
            registry=r,
        )
        self.rest_bytes = Histogram(
            "gdviz_rest_response_bytes",
            "body size of a heavy REST request's answer",
            ["endpoint"],
            buckets=(1e3, 1e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7),
            registry=r,
        )
        # Each kind of session may add gauges of its own resources to this registry (SessionKind.resources).

    def watch(self, gauge: Gauge, read: Callable[[], float]) -> None:
        gauge.set_function(read)
