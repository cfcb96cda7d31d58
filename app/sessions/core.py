"""The contract between the shared machinery (the frame loop, the registry, the metrics, the socket
endpoints) and each kind of live session, which names no kind.

``SessionCore`` is what every session shares, whatever it computes: its identity, the token that lets its
page come back, the frames kept for that, and its play state. A subclass says which messages it takes
(``messages``) and implements ``apply`` (a command → the state to send), ``advance`` (n steps → a frame
payload and events), ``state``, ``merge`` (two waiting frames → one, or None), and what the loop and the
metrics count: ``runner_count``, ``frame_steps``, ``warms_up``, ``status``. live.py paces any of them the
same way. A command that needs slow set-up first (tracing a new function, building a data set) says so with
``preparation``: live.py runs that in a worker thread, then applies the command.

``SessionKind`` is how a kind declares itself: each package under app/sessions/ holds one kind and exposes
it as ``KIND``; ``session_kinds()`` finds them all, and the socket routes, the registry and the protocol's
JSON Schema are built from that table.
"""

from __future__ import annotations

import importlib
import pkgutil
import secrets
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar

from pydantic import BaseModel, TypeAdapter

from app.config import Settings
from app.metrics import Metrics
from app.sessions.messages import PROTOCOL_VERSION, Pause, Play, SetSpeed, Step


class SessionCore:
    messages: ClassVar[TypeAdapter]  # the client → server union this kind of session takes
    tick_estimate: ClassVar[float] = 3e-4  # s of CPU a step takes, before anything is measured
    lane: ClassVar[str | None] = None  # compute in the worker threads of this lane (live.py), or any
    lane_threads: ClassVar[int] = 1
    # s: a slice expected to take less runs on the event loop itself, saving two GIL handovers
    inline_budget: ClassVar[float] = 0.002
    # Every session object still in memory, for the leak checks (a closed session must be collectable).
    instances: ClassVar[weakref.WeakSet[SessionCore]] = weakref.WeakSet()

    def __init__(self, settings: Settings):
        SessionCore.instances.add(self)
        self.settings = settings
        self.id = uuid.uuid4().hex[:12]
        self.resume_token = secrets.token_urlsafe(24)  # lets the same page, and only it, come back
        self.replay: deque[tuple[int, str]] = deque()  # (seq, text) of the last frames sent
        self._replay_bytes = 0
        self.frame_seq = 0
        self.playing = False
        self.speed = 30.0
        self.pending_steps = 0  # single steps asked for while paused
        # Set by the live session: post a state with this cause and wake the frame loop. Safe to call from
        # a worker thread.
        self.notify: Callable[[str], None] | None = None
        # Set by the live session: send a message (a pydantic model) to the page. Safe from a worker thread;
        # dropped while no page is attached.
        self.emit: Callable[[BaseModel], None] | None = None

    def remember(self, seq: int, text: str, max_bytes: int) -> None:
        """Keep a sent frame for replay to a page that reconnects; the oldest go first past max_bytes."""
        self.replay.append((seq, text))
        self._replay_bytes += len(text)
        while self._replay_bytes > max_bytes and len(self.replay) > 1:
            self._replay_bytes -= len(self.replay.popleft()[1])

    def playback(self, msg: Any) -> bool:
        """Apply play / pause / set_speed / step, the commands every kind of session takes alike."""
        if isinstance(msg, Play):
            self.playing = True
        elif isinstance(msg, Pause):
            self.playing = False
        elif isinstance(msg, SetSpeed):
            self.speed = msg.speed
        elif isinstance(msg, Step):
            self.playing = False  # a step pauses, then advances exactly count steps
            self.pending_steps += msg.count
        else:
            return False
        return True

    # --- to implement ------------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """A run exists (after the first start message)."""
        raise NotImplementedError

    @property
    def runnable(self) -> bool:
        """There is something to step right now."""
        raise NotImplementedError

    @property
    def waiting(self) -> bool:
        """Playing, but queued for a resource its kind shares (e.g. a slot): wait to be woken, do not stop."""
        return False

    @property
    def max_step(self) -> int:
        raise NotImplementedError

    @property
    def runner_count(self) -> int:
        """What computes side by side in this session, for the gdviz_runners gauge."""
        raise NotImplementedError

    def frame_steps(self, payload: dict[str, Any]) -> int:
        """The steps a frame payload holds: what the outbox bounds (max_outbox_steps) and gdviz_steps_total
        counts."""
        raise NotImplementedError

    def warms_up(self, msg: Any) -> bool:
        """True when the slice after this command pays for setting up (tracing, first batches): it is not
        taken as a measure of a step's cost."""
        return False

    def status(self) -> str:
        """One line about the session for the logs, e.g. what it runs and how far it is."""
        raise NotImplementedError

    def preparation(self, msg: Any) -> Callable[[], None] | None:
        """Slow work a validated command needs before ``apply`` (e.g. tracing a new function), or None.

        live.py runs it in a worker thread, off the event loop, and applies the command after it: this
        session's frames go on meanwhile, its later commands wait behind it in order, other sessions do not
        notice. It runs outside the session's lock, so it must leave the session alone and only fill caches
        that ``apply`` then finds full.
        """
        return None

    def apply(self, msg: Any) -> BaseModel:
        raise NotImplementedError

    def advance(self, ticks: int) -> tuple[dict[str, Any] | None, list[Any]]:
        raise NotImplementedError

    def state(self, cause: str, ref: str | None = None) -> BaseModel:
        raise NotImplementedError

    def merge(self, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
        """Two frames waiting for a slow socket as one, or None when they must stay apart."""
        return None

    def after(self, msg: Any) -> list[Any]:
        """Messages to send right after a command's state (e.g. a snapshot asked for while paused)."""
        return []

    def detached(self) -> None:
        """The socket is gone: let go of shared resources (the session is paused until it is resumed)."""

    def resumed(self) -> None:
        """A page took the session back: claim again what it needs."""

    def closed(self) -> None:
        """The session is over for good."""


@dataclass(frozen=True)
class SessionKind:
    """One kind of live session, declared by its package (``KIND`` in app/sessions/<kind>/__init__.py)."""

    name: str  # keys the kind's resources on the registry
    path: str  # the WebSocket route that opens a session of this kind
    doc: str  # that route's description
    client: TypeAdapter  # the client → server union
    server: TypeAdapter  # the server → client union
    create: Callable[[Settings, Any], SessionCore]  # a new session, given the kind's resources
    # What all sessions of the kind share in one app (e.g. slots of a scarce resource), made once with the
    # app's settings; it may add its own gauges to the metrics.
    resources: Callable[[Settings, Metrics], Any] = lambda settings, metrics: None
    # Where its messages go in GET /api/schema: a key of their own, or None for the top level (the place of
    # the first kind, kept for the clients that read it there).
    schema_key: str | None = None


@cache
def session_kinds() -> tuple[SessionKind, ...]:
    """Every kind of session: the ``KIND`` of each package under app/sessions/, in the order of its path."""
    package = importlib.import_module(__package__)
    kinds = [
        importlib.import_module(f"{__package__}.{module.name}").KIND
        for module in pkgutil.iter_modules(package.__path__)
        if module.ispkg
    ]
    return tuple(sorted(kinds, key=lambda kind: kind.path))


def messages_schema(kinds: tuple[SessionKind, ...]) -> dict[str, Any]:
    """Both directions' JSON Schema of every kind's socket, generated from the models."""
    schema: dict[str, Any] = {"protocol": PROTOCOL_VERSION}
    for kind in kinds:
        part = {
            "client_to_server": kind.client.json_schema(),
            "server_to_client": kind.server.json_schema(mode="serialization"),
        }
        if kind.schema_key is None:
            schema.update(part)
        else:
            schema[kind.schema_key] = part
    return schema
