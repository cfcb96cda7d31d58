"""A live session: commands in, paced frames out, over whatever socket is attached right now.

Three tasks per socket (started by the socket handler): the receive loop calls ``handle_text``; ``run``
computes frames at the display rate; ``send_loop`` writes the outbox to the socket. Commands are applied
between compute slices (under one lock), so a hyperparameter change takes effect on the very next step.
A slice is sized to the frame interval from the measured cost of a tick; slices longer than ~2 ms run in
a worker thread so the event loop stays responsive.

A slow socket never grows memory without bound: frames waiting in the outbox merge into one (their steps
concatenated, nothing lost; the merged frame says how many it holds), and past ``max_outbox_steps`` the
frame loop waits. Sent frames stay in a small replay buffer, so a page that reconnects with the same
session gets the frames it missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from anyio import CapacityLimiter, to_thread
from pydantic import BaseModel, ValidationError

from app.config import Settings
from app.errors import AppError, from_validation_error
from app.metrics import Metrics
from app.sessions.core import SessionCore
from app.sessions.messages import ErrorFrame, Hello, Limits, Notice, Step

log = logging.getLogger(__name__)

# Worker threads per event loop for each kind of session that declares a lane (SessionCore.lane): a kind
# whose slices are many tiny bits of Python holding the GIL gains nothing from more threads (forty threads
# contending for the GIL made each tick ~5x dearer, bench/load.py), so its sessions share one, in turn.
_LANES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, CapacityLimiter]] = (
    weakref.WeakKeyDictionary()
)


def lane_limiter(lane: str | None, threads: int = 1) -> CapacityLimiter | None:
    """The limiter of a lane on the running loop (made on first use), or None for anyio's default pool."""
    if lane is None:
        return None
    lanes = _LANES.setdefault(asyncio.get_running_loop(), {})
    if lane not in lanes:
        lanes[lane] = CapacityLimiter(threads)
    return lanes[lane]


SLICE_SHARE = 0.8  # of the frame interval spent computing at most, the rest left for sending


Merge = Callable[[dict[str, Any], dict[str, Any]], "dict[str, Any] | None"]


@dataclass
class _Item:
    kind: str  # "text": ready to send; "frame": a payload, numbered and serialized when sent
    body: Any
    queued: float  # when it was queued (frame lag)
    merged: int = 1  # frames it holds
    steps: int = 0  # steps it holds


class Outbox:
    """What waits for the socket, in order. A frame put after a frame still waiting merges into it."""

    def __init__(self, max_steps: int):
        self.max_steps = max_steps  # runner-steps waiting, beyond which put_frame waits
        self.items: deque[_Item] = deque()
        self.waiting_steps = 0
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()

    def put(self, text: str) -> None:
        self.items.append(_Item("text", text, time.monotonic()))
        self._ready.set()

    async def put_frame(self, payload: dict[str, Any], steps: int, merge: Merge) -> None:
        """Queue a frame of ``steps`` steps; ``merge`` joins it to a frame still waiting, if it can."""
        last = self.items[-1] if self.items else None
        joined = merge(last.body, payload) if last is not None and last.kind == "frame" else None
        if joined is not None:
            last.body, last.merged, last.steps = joined, last.merged + 1, last.steps + steps
        else:
            self.items.append(_Item("frame", payload, time.monotonic(), 1, steps))
        self.waiting_steps += steps
        self._ready.set()
        while self.waiting_steps > self.max_steps:
            self._space.clear()
            await self._space.wait()

    async def get(self) -> _Item:
        while not self.items:
            self._ready.clear()
            await self._ready.wait()
        item = self.items.popleft()
        self.waiting_steps -= item.steps
        if self.waiting_steps <= self.max_steps:
            self._space.set()
        return item


def frame_text(payload: dict[str, Any], seq: int, merged: int) -> str:
    """A frame payload (its "type" and body; NumPy arrays and dataclasses welcome) as JSON text. orjson
    writes NaN and ±Infinity as null."""
    frame = {**payload, "seq": seq, "coalesced": merged}
    return orjson.dumps(frame, option=orjson.OPT_SERIALIZE_NUMPY).decode()


class LiveSession:
    def __init__(
        self,
        settings: Settings,
        session: SessionCore,
        metrics: Metrics | None = None,
        frame_rate: Callable[[], float] | None = None,
    ):
        self.settings = settings
        self._context = {"settings": settings}  # pydantic's validation context: the limits messages obey
        # frames per second this page gets now: the configured rate, less when many pages share the server
        self.frame_rate = frame_rate or (lambda: settings.frame_rate)
        self.metrics = metrics or Metrics()
        self.session = session
        self.outbox = Outbox(settings.max_outbox_steps)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tick_cost = self.session.tick_estimate  # s of CPU per tick, updated from measurements
        self._credit = 0.0  # steps owed by the clock at the current speed
        self._last: float | None = None  # when the credit was last updated
        self._measure = True  # False for the slice after a command that warms up
        self._tokens = float(settings.ws_messages_per_second)  # rate limit: a token bucket
        self._refilled = time.monotonic()
        self._dropped = 0  # messages refused by the rate limit since the last error about it
        self._limited_at = 0.0
        self.closed = False
        self.task: asyncio.Task | None = None  # the frame loop, set by whoever runs it
        loop = asyncio.get_running_loop()
        self.session.notify = lambda cause: loop.call_soon_threadsafe(self._notified, cause)
        self.session.emit = lambda message: loop.call_soon_threadsafe(self._emitted, message)

    def _notified(self, cause: str) -> None:
        """The session changed by itself (e.g. it got a slot it waited for): tell the page, wake the loop."""
        if self.session.started and not self.closed:
            self.post(self.session.state(cause))
            self._wake.set()

    def _emitted(self, message: BaseModel) -> None:
        """A message from the session's own work (e.g. a result of its own worker thread)."""
        if not self.closed:
            self.post(message)

    def post(self, message: BaseModel | dict[str, Any]) -> None:
        """Queue a message: a pydantic model, or a plain dict of dataclasses and arrays (orjson)."""
        if isinstance(message, BaseModel):
            self.outbox.put(message.model_dump_json())
        else:
            self.outbox.put(orjson.dumps(message, option=orjson.OPT_SERIALIZE_NUMPY).decode())

    def hello(self, resumed: bool = False) -> None:
        s = self.settings
        limits = Limits(
            max_runners=s.max_runners,
            max_speed=s.max_speed,
            frame_rate=s.frame_rate,
            max_history=s.max_history,
            max_message_bytes=s.ws_max_message_bytes,
        )
        session = self.session
        self.post(
            Hello(session=session.id, resume_token=session.resume_token, resumed=resumed, limits=limits)
        )

    def error(self, error: AppError, ref: str | None = None) -> None:
        self.metrics.errors.labels(error.body.code).inc()
        self.post(ErrorFrame(ref=ref, error=error.body))

    # --- resuming ---------------------------------------------------------------------------------------

    def resume(self, last_seq: int | None) -> None:
        """A page came back: replay the frames it missed (those after ``last_seq``), then the state."""
        s = self.session
        if last_seq is not None:
            missed = [(seq, text) for seq, text in s.replay if seq > last_seq]
            first_kept = s.replay[0][0] if s.replay else s.frame_seq
            if last_seq + 1 < first_kept:
                lost = first_kept - last_seq - 1
                self.post(
                    Notice(
                        code="frames_lost", message=f"{lost} frames could not be replayed; reset to redraw"
                    )
                )
            for _, text in missed:
                self.outbox.put(text)
        s.resumed()
        if s.started:
            self.post(s.state("resume"))
        self._wake.set()

    # --- commands ----------------------------------------------------------------------------------------

    def _allow(self) -> bool:
        """Token bucket: ws_messages_per_second, bursts of twice that."""
        now = time.monotonic()
        rate = self.settings.ws_messages_per_second
        self._tokens = min(2.0 * rate, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self._dropped += 1
        if now - self._limited_at >= 1.0:  # at most one error a second about it
            self._limited_at = now
            dropped, self._dropped = self._dropped, 0
            self.error(
                AppError(
                    429,
                    "rate_limited",
                    f"more than {rate:g} messages per second: {dropped} ignored; slow down",
                )
            )
        return False

    async def handle_text(self, text: str) -> None:
        """One client message: validate, apply, answer. Never raises: a bad message gets an error frame."""
        if not self._allow():
            return
        if len(text.encode("utf-8", "surrogatepass")) > self.settings.ws_max_message_bytes:
            limit = self.settings.ws_max_message_bytes
            self.error(AppError(413, "message_too_large", f"messages are limited to {limit} bytes"))
            return
        try:
            msg = self.session.messages.validate_json(text, context=self._context)
        except ValidationError as exc:
            self.error(from_validation_error(exc, drop=()), _ref_of(text))
            return
        self.metrics.messages.labels(msg.type).inc()
        try:
            async with self._lock:
                state = self.session.apply(msg)
                if isinstance(msg, Step) or state.playing:
                    self._last = None  # the clock restarts now; no backlog from a pause
                if self.session.warms_up(msg):
                    self._measure = False
        except AppError as exc:
            self.error(exc, msg.ref)
            return
        except Exception:
            s = self.session
            log.exception("session %s (%s) failed on a %s message", s.id, _status(s), msg.type)
            self.error(
                AppError(500, "internal_error", "the server failed on this message; it was logged"), msg.ref
            )
            return
        self.post(state)
        for extra in self.session.after(msg):
            self.post(extra)
        self._wake.set()

    def reject_binary(self) -> None:
        self.error(AppError(415, "binary_not_supported", "messages are JSON text; binary frames are refused"))

    # --- sending -----------------------------------------------------------------------------------------

    async def send_loop(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Write the outbox to the socket, numbering frames as they go and keeping them for replay."""
        s = self.session
        while True:
            item = await self.outbox.get()
            if item.kind == "frame":
                seq = s.frame_seq
                s.frame_seq += 1
                text = frame_text(item.body, seq, item.merged)
                s.remember(seq, text, self.settings.replay_bytes)
                self.metrics.frames.inc()
                if item.merged > 1:
                    self.metrics.coalesced.inc(item.merged - 1)
                self.metrics.frame_lag.observe(time.monotonic() - item.queued)
                await send(text)
            else:
                await send(item.body)

    # --- the frame loop ------------------------------------------------------------------------------------

    async def run(self) -> None:
        while not self.closed:
            interval = 1.0 / self.frame_rate()
            s = self.session
            if s.started and s.playing and not s.runnable and not s.waiting:
                s.playing = False  # every runner has stopped: say so instead of spinning
                self.post(s.state("all_stopped"))
            if not (s.runnable and (s.playing or s.pending_steps)):
                self._wake.clear()
                await self._wake.wait()
                continue
            began = time.monotonic()
            try:
                async with self._lock:
                    ticks = self._due(began, interval)
                    payload, events, notice = await self._compute(ticks) if ticks else (None, [], None)
            except Exception:
                log.exception("session %s (%s) failed while stepping", s.id, _status(s))
                s.playing, s.pending_steps = False, 0
                self.error(
                    AppError(500, "internal_error", "stepping failed; the run is paused and was logged")
                )
                self.post(s.state("error"))
                continue
            if payload is not None:
                await self.outbox.put_frame(payload, s.frame_steps(payload), s.merge)
            for event in events:
                self.post(event)
            if notice is not None:
                self.post(notice)
                self.post(s.state("history_limit"))
            self._wake.clear()
            if self._credit >= 1.0 or s.pending_steps:
                await asyncio.sleep(0)  # behind the clock (fast-forward): compute again at once
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, began + interval - time.monotonic()))
            except TimeoutError:
                pass

    def _due(self, now: float, interval: float) -> int:
        """How many ticks this slice: single steps first, else what the clock owes at this speed, capped by
        what fits in the slice and by the history limit."""
        s = self.session
        # The first slice after a (re)start is one tick: it pays for warming up (tracing, first batches),
        # is not measured, and a page sees its first frame at once.
        cap = max(1, int(SLICE_SHARE * interval / self._tick_cost)) if self._measure else 1
        if s.pending_steps:
            ticks = min(s.pending_steps, cap)
            s.pending_steps -= ticks
        else:
            if self._last is None:
                self._last, self._credit = now - interval, 0.0
            self._credit = min(self._credit + (now - self._last) * s.speed, 2.0 * cap)
            self._last = now
            ticks = min(int(self._credit), cap)
            self._credit -= ticks
        return max(0, min(ticks, self.settings.max_history - s.max_step))

    async def _compute(self, ticks: int) -> tuple[dict[str, Any] | None, list[Any], Notice | None]:
        s = self.session

        def work() -> tuple[tuple[dict[str, Any] | None, list[Any]], float]:
            began = time.thread_time()  # CPU time: waiting for the GIL under load is not the tick's cost
            return s.advance(ticks), time.thread_time() - began

        if ticks * self._tick_cost > s.inline_budget:
            limiter = lane_limiter(s.lane, s.lane_threads)
            (payload, events), spent = await to_thread.run_sync(work, limiter=limiter)
        else:
            (payload, events), spent = work()
        per_tick = spent / ticks
        if self._measure:
            self._tick_cost = 0.7 * self._tick_cost + 0.3 * per_tick
        self._measure = True
        if payload is not None:
            self.metrics.steps.inc(s.frame_steps(payload))
        notice = None
        if s.max_step >= self.settings.max_history and s.playing:
            s.playing = False
            notice = Notice(
                code="history_limit",
                message=f"paused at the limit of {self.settings.max_history} steps per run; reset to go on",
            )
        return payload, events, notice

    def close(self) -> None:
        """Stop the loop; the run's memory goes with this object when the socket handler lets go of it."""
        self.closed = True
        self._wake.set()


def _status(session: SessionCore) -> str:
    """The session's status line for a log entry about a fault, which must not fail in turn."""
    try:
        return session.status()
    except Exception:  # a session broken enough to fail here is what the entry is about
        return "status unavailable"


def _ref_of(text: str) -> str | None:
    """The ref of a message that failed validation, if it is readable at all."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    ref = data.get("ref") if isinstance(data, dict) else None
    return ref[:64] if isinstance(ref, str) else None
