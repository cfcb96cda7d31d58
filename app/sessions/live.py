"""A live session: commands in, paced frames out.

The socket handler feeds ``handle_text`` with each text message and runs ``run`` as the frame loop; both
use ``send`` to write. Commands are applied between compute slices (under one lock), so a hyperparameter
change takes effect on the very next step. A slice is sized to the frame interval from the measured cost
of a tick; slices longer than ~2 ms run in a worker thread so the event loop stays responsive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from anyio import to_thread
from pydantic import BaseModel, ValidationError

from app.config import Settings
from app.errors import AppError, from_validation_error
from app.sessions.protocol import CLIENT_MESSAGE, ErrorFrame, Hello, Limits, Notice, Step
from app.sessions.session import Session

log = logging.getLogger(__name__)

INLINE_BUDGET = 0.002  # s: slices expected to be shorter than this run on the event loop itself
SLICE_SHARE = 0.8  # of the frame interval spent computing at most, the rest left for sending


class LiveSession:
    def __init__(self, settings: Settings, send: Callable[[str], Awaitable[None]]):
        self.settings = settings
        self.session = Session(settings)
        self._send = send
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tick_cost = 3e-4  # s per tick, updated from measurements
        self._credit = 0.0  # steps owed by the clock at the current speed
        self._last: float | None = None  # when the credit was last updated
        self._measure = True  # False for the slice after a new surface: it pays for tracing, not ticks
        self.closed = False
        self.task: asyncio.Task | None = None  # the frame loop, set by whoever runs it

    async def send(self, message: BaseModel) -> None:
        await self._send(message.model_dump_json())

    async def hello(self) -> None:
        s = self.settings
        limits = Limits(
            max_runners=s.max_runners,
            max_speed=s.max_speed,
            frame_rate=s.frame_rate,
            max_history=s.max_history,
            max_message_bytes=s.ws_max_message_bytes,
        )
        await self.send(Hello(session=self.session.id, limits=limits))

    async def error(self, error: AppError, ref: str | None = None) -> None:
        await self.send(ErrorFrame(ref=ref, error=error.body))

    # --- commands ----------------------------------------------------------------------------------------

    async def handle_text(self, text: str) -> None:
        """One client message: validate, apply, answer. Never raises: a bad message gets an error frame."""
        if len(text.encode("utf-8", "surrogatepass")) > self.settings.ws_max_message_bytes:
            limit = self.settings.ws_max_message_bytes
            await self.error(AppError(413, "message_too_large", f"messages are limited to {limit} bytes"))
            return
        try:
            msg = CLIENT_MESSAGE.validate_json(text)
        except ValidationError as exc:
            await self.error(from_validation_error(exc, drop=()), _ref_of(text))
            return
        try:
            async with self._lock:
                state = self.session.apply(msg)
                if isinstance(msg, Step) or state.playing:
                    self._last = None  # the clock restarts now; no backlog from a pause
                if msg.type in ("start", "set_surface"):
                    self._measure = False
        except AppError as exc:
            await self.error(exc, msg.ref)
            return
        except Exception:
            log.exception("session %s failed on a %s message", self.session.id, msg.type)
            await self.error(
                AppError(500, "internal_error", "the server failed on this message; it was logged"), msg.ref
            )
            return
        await self.send(state)
        self._wake.set()

    async def reject_binary(self) -> None:
        await self.error(
            AppError(415, "binary_not_supported", "messages are JSON text; binary frames are refused")
        )

    # --- the frame loop ------------------------------------------------------------------------------------

    async def run(self) -> None:
        interval = 1.0 / self.settings.frame_rate
        while not self.closed:
            s = self.session
            if s.engine is not None and s.playing and not s.runnable:
                s.playing = False  # every runner has stopped: say so instead of spinning
                await self.send(s.state("all_stopped"))
            if not (s.runnable and (s.playing or s.pending_steps)):
                self._wake.clear()
                await self._wake.wait()
                continue
            began = time.monotonic()
            try:
                async with self._lock:
                    ticks = self._due(began, interval)
                    text, events, notice = await self._compute(ticks) if ticks else (None, [], None)
            except Exception:
                log.exception("session %s failed while stepping", self.session.id)
                s.playing, s.pending_steps = False, 0
                await self.error(
                    AppError(500, "internal_error", "stepping failed; the run is paused and was logged")
                )
                await self.send(s.state("error"))
                continue
            if text is not None:
                await self._send(text)
            for event in events:
                await self.send(event)
            if notice is not None:
                await self.send(notice)
                await self.send(s.state("history_limit"))
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
        cap = max(1, int(SLICE_SHARE * interval / self._tick_cost))
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

    async def _compute(self, ticks: int) -> tuple[str | None, list[BaseModel], Notice | None]:
        s = self.session

        def work() -> tuple[str | None, list[BaseModel]]:
            return s.advance(ticks)

        began = time.perf_counter()
        if ticks * self._tick_cost > INLINE_BUDGET:
            text, events = await to_thread.run_sync(work)
        else:
            text, events = work()
        per_tick = (time.perf_counter() - began) / ticks
        if self._measure:
            self._tick_cost = 0.7 * self._tick_cost + 0.3 * per_tick
        self._measure = True
        notice = None
        if s.max_step >= self.settings.max_history and s.playing:
            s.playing = False
            notice = Notice(
                code="history_limit",
                message=f"paused at the limit of {self.settings.max_history} steps per run; reset to go on",
            )
        return text, events, notice

    def close(self) -> None:
        """Stop the loop; the run's memory goes with this object when the socket handler lets go of it."""
        self.closed = True
        self._wake.set()


def _ref_of(text: str) -> str | None:
    """The ref of a message that failed validation, if it is readable at all."""
    import json

    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    ref = data.get("ref") if isinstance(data, dict) else None
    return ref[:64] if isinstance(ref, str) else None
