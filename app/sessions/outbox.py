"""What waits for a live session's socket: texts and frames in order, a frame put after a frame still
waiting merged into it (steps concatenated, nothing lost), and a bound on the steps waiting past which the
frame loop waits for ``space``."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

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

    def put_frame(self, payload: dict[str, Any], steps: int, merge: Merge) -> None:
        """Queue a frame of ``steps`` steps; ``merge`` joins it to a frame still waiting, if it can. Past
        ``max_steps`` waiting, the one who computes waits for ``space``."""
        last = self.items[-1] if self.items else None
        joined = merge(last.body, payload) if last is not None and last.kind == "frame" else None
        if joined is not None:
            last.body, last.merged, last.steps = joined, last.merged + 1, last.steps + steps
        else:
            self.items.append(_Item("frame", payload, time.monotonic(), 1, steps))
        self.waiting_steps += steps
        self._ready.set()

    @property
    def full(self) -> bool:
        return self.waiting_steps > self.max_steps

    async def space(self) -> None:
        """Return once no more than ``max_steps`` steps wait."""
        while self.full:
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
