"""Fair turns at the CPU for live sessions: when a lane cannot give every session the steps it asks for,
every session gets the same number, and a frame every round.

Why: slices used to wait in two lines, small ones inline on the event loop and large ones in the lane's
thread; a session that fell behind got large slices, waited behind the other large ones in the thread's
line, fell further behind and starved (bench/load.py: 10 steps/s and a 12 s gap beside others at 30). Now:

- Every slice of a lane, inline or in its thread, takes a turn of the lane's, ``threads`` at a time. A
  session still behind its clock after its turn asks for the next one before it lets this one go, so the
  sessions behind stay in the lane's line and go round in turn, one slice each a round.
- Each turn may take the same number of ticks, the lane's quantum: its CPU budget for one round divided by
  what one tick of every session that wants the CPU costs together (deficit round robin, Shreedhar and
  Varghese, SIGCOMM 1995: the fraction of a tick a turn could not use is carried to the next one). So the
  sessions behind get the same steps per second whatever each tick costs them (what a session's tick may
  cost is bounded where it starts, by the race's cost model), and one tick a turn is the least, so each
  turn makes a frame.
- A session whose speed asks for less than half an equal share of a core among the lane's playing sessions
  (a race at 30 steps/s beside others that fast-forward) is served before the line: it gets all its steps
  and its frames on time, which is what an equal share leaves it anyway (max-min fairness); all such
  sessions together ask for half a core at most, and the others share the rest.
- The budget is steered so that a round of the sessions behind lasts at most 2 ``ROUND`` seconds,
  whatever CPU the process gets: smaller slices when rounds are slower, so that no session waits much
  longer than 2 ``ROUND`` for its next frame (the goal: none waits more than 1 s); larger when rounds are
  quicker than ``ROUND`` but slices are cut short (fewer, fuller frames: the cost of each frame is spread
  over more steps). While no slice is cut, rounds are as quick as the work allows.
- A new session's first slice (a warm-up: first batches, first checks; the slow set-up before it, such as
  tracing, was done off the loop by the session's preparation) waits in a line of its own, and warm-ups
  take one turn in two at most: a burst of new sessions delays the playing ones by one warm-up at a time,
  and all of them start within about a round.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from typing import Literal

from anyio import CapacityLimiter

SLICE_SHARE = 0.8  # of the frame interval spent computing at most, the rest left for sending
ROUND = 0.25  # s: a round of the behind sessions lasts at most 2 ROUND (2 frames a second each at least)
# s of CPU a round's slices may take, per thread of the lane: at first a fifth of a round on a whole core
# (the process may get much less; the budget grows by a quarter a round while rounds are quick), at most
# what fills 2 ROUND on a whole core, at least 1e-4 (one tick a turn is the floor anyway)
FIRST_BUDGET, MAX_BUDGET, MIN_BUDGET = 0.05, SLICE_SHARE * 2 * ROUND, 1e-4
LIGHT = 0.5  # of an equal share of a core: a session asking for less is served first

Line = Literal["prompt", "behind", "warm_up"]


class Lane:
    """Turns at computing for the sessions of one lane, ``threads`` at a time: sessions that ask for less
    than an equal share first, then warm-ups and the sessions behind, one turn each in turn, each line
    first come first served; and the quantum of ticks a turn may take."""

    def __init__(self, threads: int = 1):
        self.threads = threads
        self.limiter = CapacityLimiter(threads)  # the worker threads of the lane (slices too big to inline)
        # CPU seconds the sessions that want the CPU may spend in one round, all together (``lapped``)
        self.budget = FIRST_BUDGET * threads
        # Sessions that want the CPU: waiting for a turn, computing, or behind their clock (about to ask
        # again), and what one tick of each of them costs, together (s of CPU).
        self.wanting = 0
        self.cost = 0.0
        self.playing = 0  # sessions playing: computing, or waiting for their next frame
        self._busy = 0  # turns held
        self._lines: dict[Line, deque[asyncio.Future[None]]] = {
            "prompt": deque(),
            "behind": deque(),
            "warm_up": deque(),
        }
        self._warmed = False  # the latest turn granted was a warm-up

    @property
    def waiting(self) -> int:
        return sum(1 for line in self._lines.values() for ticket in line if not ticket.done())

    def quantum(self) -> float:
        """Ticks a turn may take: the round's budget over the cost of one tick of every session that wants
        the CPU."""
        return self.budget / max(self.cost, 1e-9)

    def light(self, demand: float) -> bool:
        """Whether a session asking for ``demand`` CPU seconds per second asks for less than half an equal
        share of a core (per thread of the lane) among the sessions playing."""
        return demand * max(1, self.playing) <= LIGHT * self.threads

    def enlist(self, sessions: int, cost: float) -> None:
        """Count ``sessions`` more (or fewer) that want the CPU, and ``cost`` more for a tick of each."""
        self.wanting += sessions
        self.cost = self.cost + cost if self.wanting else 0.0  # no rounding drift left when none wants it

    def lapped(self, seconds: float, cut: bool) -> None:
        """A session behind came round again after ``seconds`` (its last slice ``cut`` short by the quantum,
        or not): steer the budget so that rounds last at most 2 ROUND seconds. Down, by half a round at most,
        when frames come later (steps are dropped then); up, by a quarter a round at most, when rounds are
        quick but slices are cut (fuller frames cost less CPU each). Each of the sessions that want the CPU
        moves it by its root, so a whole round moves it once."""
        seconds = max(seconds, 1e-6)
        if seconds > 2 * ROUND:
            factor = max(0.5, 2 * ROUND / seconds)
        elif seconds < ROUND and cut:
            factor = min(1.25, ROUND / seconds)
        else:
            return
        factor **= 1.0 / max(1, self.wanting)
        self.budget = min(MAX_BUDGET * self.threads, max(MIN_BUDGET, self.budget * factor))

    def ask(self, line: Line) -> asyncio.Future[None]:
        """A ticket for a turn, done when the turn is the holder's: at once if one is free and no one
        waits. Whoever holds a turn gives it back with ``release``; a ticket not wanted any more is
        dropped with ``drop``."""
        ticket = asyncio.get_running_loop().create_future()
        if self._busy < self.threads and not self.waiting:
            self._busy += 1
            self._warmed = line == "warm_up"
            ticket.set_result(None)
        else:
            self._lines[line].append(ticket)
        return ticket

    def drop(self, ticket: asyncio.Future[None]) -> None:
        """A ticket its holder no longer waits for: the turn it got passes on, or it is skipped."""
        if ticket.done() and not ticket.cancelled():
            self.release()
        else:
            ticket.cancel()

    def release(self) -> None:
        """The turn passes straight on (the count of held turns stays): to a session that asks for less
        than its share, else to the next warm-up unless the latest turn was one, else to the next session
        behind; or it is freed."""
        order: tuple[Line, ...] = (
            ("prompt", "behind", "warm_up") if self._warmed else ("prompt", "warm_up", "behind")
        )
        for name in order:
            line = self._lines[name]
            while line:
                ticket = line.popleft()
                if not ticket.done():  # a dropped one is skipped
                    ticket.set_result(None)
                    self._warmed = name == "warm_up"
                    return
        self._busy -= 1


# The lanes of each event loop, by name (SessionCore.lane; None for kinds that name none).
_LANES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str | None, Lane]] = (
    weakref.WeakKeyDictionary()
)


def lane(name: str | None, threads: int = 1) -> Lane:
    """The lane of this name on the running loop, made on first use."""
    lanes = _LANES.setdefault(asyncio.get_running_loop(), {})
    if name not in lanes:
        lanes[name] = Lane(threads)
    return lanes[name]


# The thread of each event loop for slow set-up before a command applies (SessionCore.preparation): one
# at a time, first come first served, out of every lane's line.
_PREPARING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def warm_up_limiter() -> CapacityLimiter:
    """The running loop's thread for slow set-up (preparations), made on first use."""
    loop = asyncio.get_running_loop()
    if loop not in _PREPARING:
        _PREPARING[loop] = CapacityLimiter(1)
    return _PREPARING[loop]
