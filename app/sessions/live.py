"""A live session: commands in, paced frames out, over whatever socket is attached right now.

Three tasks per socket (started by the socket handler): the receive loop calls ``handle_text``; ``run``
computes frames at the display rate; ``send_loop`` writes the outbox to the socket. Commands are applied
between compute slices (under one lock), so a hyperparameter change takes effect on the very next step.
A command that needs slow set-up first (``preparation``: a new function to trace) gets it in the warm-up
thread before it applies, while the frames go on.
Sessions take turns at computing in their lane's line (lanes.py: start-time fair queuing): a turn's slice
is what the clock owes, at most an equal share of the lane's CPU budget for one round of the sessions that
want the CPU, sized from the measured cost of a tick; slices longer than the session's ``inline_budget``
run in the lane's thread so the event loop stays responsive. When the server cannot give every session
what it asks for, each gets the same CPU time and a frame every round (a quarter to half a second).

A slow socket never grows memory without bound: frames waiting in the outbox merge into one (their steps
concatenated, nothing lost; the merged frame says how many it holds), and past ``max_outbox_steps`` the
frame loop waits. Sent frames stay in a small replay buffer, so a page that reconnects with the same
session gets the frames it missed.

~430 lines: receiving, pacing and sending share one session's lock, clock credit, lane turn and outbox;
the outbox itself is in outbox.py, the lanes' turns in lanes.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from anyio import to_thread
from pydantic import BaseModel, ValidationError

from app.config import Settings
from app.errors import AppError, from_validation_error
from app.metrics import Metrics
from app.sessions.core import SessionCore
from app.sessions.lanes import SLICE_SHARE, Lane, Line, lane, warm_up_limiter
from app.sessions.messages import ErrorFrame, Hello, Limits, Notice, Step
from app.sessions.outbox import Outbox, frame_text

log = logging.getLogger(__name__)


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
        self._measured = False  # a tick's cost has been measured once (the estimate replaced)
        self._credit = 0.0  # steps owed by the clock at the current speed
        self._last: float | None = None  # when the credit was last updated
        self._measure = True  # False for the slice after a command that warms up
        self._line: Lane | None = None  # the lane it takes turns in (made on the loop, at its first slice)
        self._ticket: asyncio.Future[None] | None = None  # its next turn, asked for before it let one go
        self._playing = False  # counted among its lane's playing sessions
        self._deficit = 0.0  # ticks of its last quantum a turn could not use, carried to the next (lanes.py)
        self._cut = False  # its last slice was cut short by the quantum (it was owed more)
        self._behind = False  # owed steps after its last slice (behind its clock)
        self._wanting = False  # counted among its lane's sessions that want the CPU (lanes.py) ...
        self._enlisted = 0.0  # ... with this cost of a tick
        self._turned: float | None = None  # when its last turn began, while behind (the lane's round time)
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
            work = self.session.preparation(msg)
            if work is not None:  # slow set-up, off the loop; this socket's next commands wait behind it
                await to_thread.run_sync(work, limiter=warm_up_limiter())
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
                try:
                    text = frame_text(item.body, seq, item.merged)
                except (TypeError, ValueError):  # orjson's JSONEncodeError is a TypeError: a bug, not input
                    log.exception("session %s (%s): a frame could not be encoded", s.id, _status(s))
                    s.playing, s.pending_steps = False, 0
                    message = "a frame could not be sent; the run is paused and was logged"
                    self.error(AppError(500, "internal_error", message))
                    self.post(s.state("error"))
                    continue
                s.frame_seq += 1
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
        try:
            await self._frames()
        finally:
            self._stop_playing()  # closed or cancelled

    async def _frames(self) -> None:
        while not self.closed:
            interval = 1.0 / self.frame_rate()
            s = self.session
            if s.started and s.playing and not s.runnable and not s.waiting:
                s.playing = False  # every runner has stopped: say so instead of spinning
                self.post(s.state("all_stopped"))
            if not (s.runnable and (s.playing or s.pending_steps)):
                self._stop_playing()
                self._wake.clear()
                await self._wake.wait()
                continue
            began = time.monotonic()
            try:
                events, notice = await self._slice(interval)
            except Exception:
                log.exception("session %s (%s) failed while stepping", s.id, _status(s))
                s.playing, s.pending_steps = False, 0
                self.error(
                    AppError(500, "internal_error", "stepping failed; the run is paused and was logged")
                )
                self.post(s.state("error"))
                continue
            for event in events:
                self.post(event)
            if notice is not None:
                self.post(notice)
                self.post(s.state("history_limit"))
            await self.outbox.space()  # a socket that does not read: wait (it asked for no turn meanwhile)
            self._wake.clear()
            if self._ticket is not None:
                await asyncio.sleep(0)  # behind the clock: its next turn is asked for already
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, began + interval - time.monotonic()))
            except TimeoutError:
                pass

    async def _slice(self, interval: float) -> tuple[list[Any], Notice | None]:
        """One slice, in a turn of the session's lane; its frame is queued before the turn is given back."""
        s = self.session
        if self._line is None:
            self._line = lane(s.lane, s.lane_threads)
        if not self._playing:
            self._line.playing += 1
            self._playing = True
        line, ticket, self._ticket = self._line, self._ticket, None
        if ticket is None:
            self._enlist(True)  # from asking for a turn until it has caught up with its clock
            ticket = line.ask(self._which_line(line))
        try:
            await ticket
        except asyncio.CancelledError:
            line.drop(ticket)
            raise
        try:
            now = time.monotonic()
            if self._behind and self._turned is not None:
                line.lapped(now - self._turned, self._cut)
            self._turned = now
            async with self._lock:
                payload, events, notice = await self._step(interval, line.quantum())
            if payload is not None:
                self.outbox.put_frame(payload, s.frame_steps(payload), s.merge)
            self._behind = self._credit >= 1.0 or s.pending_steps > 0
            self._enlist(self._behind)
            if self._behind and not self.outbox.full and not self.closed:
                self._ticket = line.ask("behind")  # back in the line before this turn passes on
        finally:
            line.release()
        return events, notice

    def _which_line(self, line: Lane) -> Line:
        """Warm-ups have a line of their own; a session whose speed asks for little of the lane's CPU (see
        Lane.light) is served before the others: it gets all its steps, as max-min fairness has it."""
        if not self._measure:
            return "warm_up"
        light = not self.session.pending_steps and line.light(self.session.speed * self._tick_cost)
        return "prompt" if light else "behind"

    def _stop_playing(self) -> None:
        """Idle or gone: no turn wanted, not counted among the lane's playing sessions."""
        self._enlist(False)
        if self._playing and self._line is not None:
            self._line.playing -= 1
        self._playing = False

    def _drop_ticket(self) -> None:
        if self._ticket is not None and self._line is not None:
            self._line.drop(self._ticket)
        self._ticket = None

    def _enlist(self, wanting: bool) -> None:
        """Count this session, with its cost of a tick, among its lane's sessions that want the CPU, or
        not (then nothing it was owed is carried, and a turn it asked for is dropped)."""
        if not wanting:
            self._drop_ticket()
        if self._line is None:
            return
        cost = self._tick_cost if wanting else 0.0
        self._line.enlist(int(wanting) - int(self._wanting), cost - self._enlisted)
        self._wanting, self._enlisted = wanting, cost
        if not wanting:
            self._behind, self._turned, self._deficit = False, None, 0.0

    async def _step(
        self, interval: float, quantum: float
    ) -> tuple[dict[str, Any] | None, list[Any], Notice | None]:
        ticks = self._due(time.monotonic(), interval, quantum)
        return await self._compute(ticks) if ticks else (None, [], None)

    def _due(self, now: float, interval: float, quantum: float) -> int:
        """How many ticks this slice: single steps first, else what the clock owes at this speed; at most
        the turn's ``quantum`` of ticks and the fraction carried (one tick at least: a frame), at most a
        whole frame's slice, and within the history limit."""
        s = self.session
        whole = max(1, int(SLICE_SHARE * interval / self._tick_cost))  # a frame's slice, for a session alone
        allowance = quantum + self._deficit
        if self._measure:
            cap = min(whole, max(1, int(allowance)))
        else:
            # The first slice after a (re)start is one tick: it pays for warming up (first batches, first
            # checks), is not measured, and a page sees its first frame at once.
            cap = 1
        if s.pending_steps:
            ticks = min(s.pending_steps, cap)
            s.pending_steps -= ticks
        else:
            if self._last is None:
                self._last, self._credit = now - interval, 0.0
            # Owed by the clock, up to two frames' slices: past that, steps are dropped, not made up.
            self._credit = min(self._credit + (now - self._last) * s.speed, 2.0 * whole)
            self._last = now
            ticks = min(int(self._credit), cap)
            self._credit -= ticks
        # Cut short by the quantum while still owed steps: the fraction of a tick left goes to the next turn.
        self._cut = (self._credit >= 1.0 or s.pending_steps > 0) and ticks == cap < whole
        self._deficit = max(0.0, min(quantum, allowance - ticks)) if self._cut else 0.0
        return max(0, min(ticks, self.settings.max_history - s.max_step))

    async def _compute(self, ticks: int) -> tuple[dict[str, Any] | None, list[Any], Notice | None]:
        s = self.session

        def work() -> tuple[tuple[dict[str, Any] | None, list[Any]], float]:
            began = time.thread_time()  # CPU time: waiting for the GIL under load is not the tick's cost
            return s.advance(ticks), time.thread_time() - began

        if ticks * self._tick_cost > s.inline_budget:  # too long to inline: in the lane's thread
            (payload, events), spent = await to_thread.run_sync(work, limiter=self._line.limiter)
        else:
            (payload, events), spent = work()
        if self._measure:
            # The first measure replaces the kind's estimate (a race of 8 runners on a data set costs more
            # than one of 2 on a quadratic); later ones move it by degrees.
            per_tick = spent / ticks
            self._tick_cost = 0.7 * self._tick_cost + 0.3 * per_tick if self._measured else per_tick
            self._measured = True
        self._measure = True
        return self._account(payload, events)

    def _account(
        self, payload: dict[str, Any] | None, events: list[Any]
    ) -> tuple[dict[str, Any] | None, list[Any], Notice | None]:
        s = self.session
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
