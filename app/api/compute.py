"""The bounded pool for REST requests that compute: at most ``rest_workers`` compute at once, up to
``rest_queue`` more wait in line (first come, first served), and past that a request is refused at once
with 429 and a Retry-After estimated from the line and the recent compute times.

A route hands the pool its whole answer as one function (compute and shape the response body), so the
event loop, which paces every live session's frames, does none of a heavy request's work. The pool is made
per app in create_app() and reached through the ``Compute`` dependency (app/api/deps.py).

On shutdown (SIGTERM, or the end of the app's lifespan) requests still waiting are answered 503
``shutting_down`` at once; those computing finish (each is bounded by the settings, ~2 s at most).

Threads, not processes: the engine's ops release the GIL, and with one compute thread the event loop waits
for it rarely (bench/rest_pool.py). A worker process would share no GIL at all, but costs a torch import and
~300 MB per process and cannot take a route's closure or a compiled custom expression as they are.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import torch
from starlette.responses import Response

from app.errors import AppError, ErrorResponse
from app.metrics import Metrics

RECENT = 20  # computations the Retry-After estimate averages over
FIRST_GUESS = 1.0  # s per request before any has been timed (a grid takes ~10 ms, the largest map ~2 s)
RESTART_SECONDS = 5  # Retry-After of a request refused because the server shuts down: about a restart

# For the OpenAPI document of the routes that compute.
BUSY_RESPONSES: dict[int | str, dict] = {
    429: {
        "model": ErrorResponse,
        "description": "the queue of heavy requests is full (code busy); retry after Retry-After seconds",
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
    },
    503: {"model": ErrorResponse, "description": "the server shuts down (code shutting_down)"},
}


def _one_core() -> None:
    """torch's intra-op threads are counted per calling thread (OpenMP): one in a pool thread, so a REST
    computation takes one core and leaves the other to the event loop and the live sessions' lanes. Past
    torch's grain (32 768 elements, e.g. a basin map of n = 200) two threads spin at every op's barrier: on
    a busy 2-core machine that map took 35 s of CPU with two, 3.2 s with one."""
    torch.set_num_threads(1)


class Refused(AppError):
    """An answer that says when to come back: 429 busy, 503 shutting_down, with a Retry-After header."""

    def __init__(self, status: int, code: str, message: str, retry_after: int):
        super().__init__(status, code, message)
        self.headers = {"Retry-After": str(retry_after)}  # seconds; create_app's handler sends it


class ComputePool:
    """A dedicated thread pool (not anyio's default one, which the live sessions use) behind a bounded
    line. Admission happens on the event loop; the counters are also touched by the pool's threads."""

    def __init__(self, workers: int, queue: int, metrics: Metrics):
        self.workers = workers
        self.queue = queue
        self.metrics = metrics
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None  # made on first use, again after a shutdown
        self._pending: set[Future] = set()  # admitted and not done: computing or waiting
        self._computing = 0
        self._recent: deque[float] = deque(maxlen=RECENT)  # seconds of the last computations
        self._closed = False
        metrics.watch(metrics.rest_requests.labels("waiting"), lambda: self.waiting)
        metrics.watch(metrics.rest_requests.labels("computing"), lambda: self.computing)

    @property
    def computing(self) -> int:
        return self._computing

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._pending) - self._computing

    def retry_after(self) -> int:
        """Seconds until a request refused now would start at once: the requests ahead of it (computing
        and waiting), each taking the mean of the recent computations, shared by the workers."""
        with self._lock:
            ahead = len(self._pending)
            mean = sum(self._recent) / len(self._recent) if self._recent else FIRST_GUESS
        return max(1, math.ceil(ahead * mean / self.workers))

    async def respond(self, endpoint: str, work: Callable[[], Response]) -> Response:
        """Run ``work`` (which computes and shapes the whole answer) in the pool, once there is room."""
        with self._lock:
            if self._closed:
                raise self._shutting_down()
            future = None
            if len(self._pending) < self.workers + self.queue:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self.workers, thread_name_prefix="gdviz-rest", initializer=_one_core
                    )
                future = self._executor.submit(self._job, endpoint, work)
                self._pending.add(future)
        if future is None:
            self.metrics.rest_refused.inc()
            retry = self.retry_after()
            raise Refused(
                429,
                "busy",
                f"the server is busy: {self.computing} computing and {self.waiting} waiting, the most it "
                f"takes ({self.workers} + {self.queue}); retry in {retry} s",
                retry,
            )
        future.add_done_callback(self._done)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if future.cancelled() and self._closed and task is not None and not task.cancelling():
                raise self._shutting_down() from None  # close() took it out of the line
            raise  # the request itself was cancelled: its place in line went with it (wrap_future)

    def _job(self, endpoint: str, work: Callable[[], Response]) -> Response:
        with self._lock:
            self._computing += 1  # until _done: a job that ran is computing until its future is done
        began = time.perf_counter()
        try:
            response = work()
        finally:
            spent = time.perf_counter() - began
            with self._lock:
                self._recent.append(spent)
            self.metrics.rest_compute.labels(endpoint).observe(spent)
        self.metrics.rest_bytes.labels(endpoint).observe(len(response.body))
        return response

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)
            if not future.cancelled():  # a cancelled future never ran; any other one did
                self._computing -= 1

    def _shutting_down(self) -> Refused:
        return Refused(
            503, "shutting_down", "the server is shutting down; retry in a moment", RESTART_SECONDS
        )

    def open(self) -> None:
        """Take work (again, after a shutdown: a new lifespan of the same app)."""
        self._closed = False

    def close(self) -> None:
        """Take no more work: requests waiting are answered 503 now; those computing finish."""
        with self._lock:
            self._closed = True
            pending = list(self._pending)
        for future in pending:
            future.cancel()  # only those not yet started; the loop hears of it through wrap_future

    def shutdown(self) -> None:
        """close(), and let the threads go once their computations end (without waiting for them here)."""
        self.close()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
