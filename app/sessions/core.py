"""What every kind of live session shares, whatever it computes (2-D races, CNN trainings): its identity,
the token that lets its page come back, the frames kept for that, and its play state.

A subclass says which messages it takes (``messages``) and implements ``apply`` (a command → the state to
send), ``advance`` (n steps → a frame payload and events), ``state`` and ``merge`` (two waiting frames →
one, or None). live.py paces any of them the same way.
"""

from __future__ import annotations

import secrets
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, TypeAdapter

from app.config import Settings


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
        from app.sessions.protocol import Pause, Play, SetSpeed, Step

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
        """Playing, but queued for a shared resource (a training slot): wait to be woken, do not stop."""
        return False

    @property
    def max_step(self) -> int:
        raise NotImplementedError

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
