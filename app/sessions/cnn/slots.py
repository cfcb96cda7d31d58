"""What all CNN sessions of one app share: the training slots (GDVIZ_MAX_TRAININGS trainings step at once,
the rest wait in line) and the landscape semaphore (GDVIZ_MAX_LANDSCAPES compute at once). The cnn kind
makes them once per app, with its settings, as its resources on the session registry."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import Gauge

from app.config import Settings
from app.metrics import Metrics


class Trainee(Protocol):
    """A session that may hold a slot: told when it gets one and when its place in line moves."""

    id: str

    def granted(self) -> None: ...

    def moved(self) -> None: ...


class TrainingSlots:
    """At most ``capacity`` trainings step at once; the others wait in line, first come first served.
    Sessions release slots from worker threads too, hence the lock."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.holders: set[str] = set()
        self.line: list[Trainee] = []
        self._lock = threading.Lock()

    def request(self, session: Trainee) -> bool:
        with self._lock:
            if session.id in self.holders:
                return True
            if len(self.holders) < self.capacity and not self.line:
                self.holders.add(session.id)
                return True
            if session not in self.line:
                self.line.append(session)
            return False

    def release(self, session: Trainee) -> None:
        with self._lock:
            if session.id not in self.holders and session not in self.line:
                return
            self.holders.discard(session.id)
            if session in self.line:
                self.line.remove(session)
            granted = []
            while self.line and len(self.holders) < self.capacity:
                nxt = self.line.pop(0)
                self.holders.add(nxt.id)
                granted.append(nxt)
            moved = list(self.line)
        for nxt in granted:
            nxt.granted()
        for waiting in moved:
            waiting.moved()

    def position(self, session: Trainee) -> int | None:
        with self._lock:
            return self.line.index(session) + 1 if session in self.line else None

    def holds(self, session: Trainee) -> bool:
        return session.id in self.holders

    @property
    def queued(self) -> int:
        return len(self.line)


@dataclass
class CnnResources:
    slots: TrainingSlots
    landscapes: threading.BoundedSemaphore  # landscapes computing at once, server-wide


def cnn_resources(settings: Settings, metrics: Metrics) -> CnnResources:
    """The app's slots and semaphore, and the gauge of trainings running and waiting for a slot."""
    resources = CnnResources(
        TrainingSlots(settings.max_trainings), threading.BoundedSemaphore(settings.max_landscapes)
    )
    trainings = Gauge("gdviz_trainings", "CNN trainings", ["state"], registry=metrics.registry)
    metrics.watch(trainings.labels("running"), lambda: len(resources.slots.holders))
    metrics.watch(trainings.labels("queued"), lambda: resources.slots.queued)
    return resources
