"""What the engine descends: the Objective protocol, the function objective, and its traced-graph cache."""

from __future__ import annotations

import linecache
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

import numpy as np
import torch

# make_fx imports torch._inductor on its first call: 2-3.5 s of imports (~800 modules) that would hold up
# the process's first trace (and its asker); paid here, at start-up, instead.
import torch._inductor.config
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.fx import graph_module as fx_graph_module
from torch.fx.experimental.proxy_tensor import make_fx
from torch.jit._trace import _create_interpreter_name_lookup_fn

SurfaceFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
log = logging.getLogger(__name__)


class Objective(Protocol):
    """J and ∇J at a batch of points θ = (x, y), x and y (R,) float64, for the engine to descend.

    ``per_runner`` False: every runner descends the same J, and the engine asks ``value_and_grad``.
    True: each runner has its own J (its own batch of data), and the engine asks ``evaluate`` of a
    ``PerRunnerObjective`` instead.
    """

    per_runner: bool

    def value_and_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """J, ∂J/∂x and ∂J/∂y at every point, each (R,)."""

    def value(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """J alone at every point, in x's shape."""


class PerRunnerObjective(Objective, Protocol):
    """An objective whose runners each descend their own J; ``per_runner`` is True."""

    def evaluate(
        self, x: np.ndarray, y: np.ndarray, ids: list[str], peek: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """J, ∂J/∂x, ∂J/∂y (R,) of runners ``ids`` at their points, and extras recorded with each step,
        name → (R, width). ``peek``: a look between steps, advancing nothing (no batch is drawn)."""


def _value_and_grad(fn: SurfaceFn) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]:
    """J and ∇J by autograd, batched: each loss depends on its own (x, y) only, so one backward pass with
    unit weights gives every runner's gradient."""

    def value_and_grad(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, y = x.detach().requires_grad_(), y.detach().requires_grad_()
        with torch.enable_grad():
            loss = fn(x, y)
            if loss.shape != x.shape:  # a constant function; never the case when traced (shape-free graph)
                loss = loss.expand(x.shape)
            gx, gy = torch.autograd.grad(loss, (x, y), torch.ones_like(loss), allow_unused=True)
        gx = torch.zeros_like(x) if gx is None else gx
        gy = torch.zeros_like(y) if gy is None else gy
        return loss.detach(), gx, gy

    return value_and_grad


# --- the traced-graph cache ------------------------------------------------------------------------------

# torch.fx patches process globals while it records (nn.Module.__call__ and __getattr__, its CURRENT_PATCHER):
# two recordings at once leave them patched for good (3 threads × 15 traces: 8 AssertionErrors and
# Module.__call__ still patched afterwards). So recording takes turns, process-wide; nothing else does.
_RECORDING = threading.Lock()
# Fake-tensor dispatch entries kept across traces: they level off (~240 after 175 random expressions), but
# the table is torch's and unbounded, so it is emptied past this (refilled at ~1 KiB an entry).
_FAKE_CACHE_MAX = 4096
# A traced graph's bytes, measured (RSS of graphs kept less as many dropped, after their warm-up calls and
# calls at two more sizes): 320 KiB for 47 nodes, 1 150 KiB for 183, 2.8 MB for 600 (the largest expression
# allowed); about 32 KiB + 6 KiB per node. Most of it is TorchScript's optimized plans, made on first calls.
GRAPH_BYTES = 32 * 1024
NODE_BYTES = 6 * 1024


def graph_bytes(graph: Any) -> int:
    """The memory a traced graph holds, estimated from its node count (see NODE_BYTES)."""
    return GRAPH_BYTES + NODE_BYTES * sum(1 for _ in graph.graph.nodes())


def _trace(fn: SurfaceFn) -> Any:
    """The forward and backward pass as one graph of aten operations, run by TorchScript's executor.

    make_fx records exactly the operations autograd performs (forward, then its backward formulas); the
    graph is elementwise, so one trace serves every batch size. Executing it skips the Python and
    autograd-engine overhead of an eager pass (bench/engine.py: about 130 → 55 µs for six runners).

    The TorchScript function lives in a compilation unit of its own, freed with it (torch.jit.trace files it
    in the process-wide unit for good: ~1.3 MB a graph that no eviction gives back), and the Python source
    torch.fx writes for its graph module leaves the line cache with it.
    """
    example = (
        torch.linspace(-1.3, 1.7, 3, dtype=torch.float64),
        torch.linspace(0.4, -1.1, 3, dtype=torch.float64),
    )
    with _RECORDING:
        # Fake tensors carry no values: a function that branches on its data cannot be recorded (it raises).
        module = make_fx(_value_and_grad(fn), tracing_mode="fake")(*example)
        try:
            recorded, _ = torch._C._create_graph_by_tracing(
                lambda x, y: tuple(module(x, y)),
                list(example),
                _create_interpreter_name_lookup_fn(),
                strict=True,  # as torch.jit.trace
                force_outplace=False,
            )
        finally:
            source = module.forward.__code__.co_filename  # "<eval_with_key>.N", the source's key
            linecache.cache.pop(source, None)
            fx_graph_module._loader.eval_cache.pop(source, None)
            if len(FakeTensorMode.cache) > _FAKE_CACHE_MAX:
                FakeTensorMode.cache_clear()
    graph = torch._C._create_function_from_graph("gdviz_autograd", recorded)
    for _ in range(2):  # TorchScript's profiling executor optimizes on the first two calls: pay for it here
        graph(*example)
    return graph


class TraceCache:
    """Traced graphs by key, the least recently used going first past ``entries`` graphs or ``max_bytes``.

    A key is traced once: threads asking for a key being traced wait for that trace (and share its
    failure); different keys trace side by side, their recordings taking turns (see _RECORDING). A
    failure is not kept: the next ask traces again.
    """

    def __init__(self, entries: int = 128, max_bytes: int = 64 * 2**20):
        self.entries = entries
        self.max_bytes = max_bytes
        self.bytes = 0  # estimated bytes of the graphs held (graph_bytes)
        self._graphs: OrderedDict[str, tuple[Any, int]] = OrderedDict()  # key → (graph, bytes), oldest first
        self._tracing: dict[str, Future[Any]] = {}  # keys being traced → their outcome
        self._lock = threading.Lock()  # guards the two tables; held for dictionary work only, never a trace

    def __len__(self) -> int:
        return len(self._graphs)

    def __contains__(self, key: str) -> bool:
        return key in self._graphs

    def keys(self) -> list[str]:
        """Keys held, least recently used first."""
        with self._lock:
            return list(self._graphs)

    def resize(self, entries: int, max_bytes: int) -> None:
        with self._lock:
            self.entries, self.max_bytes = entries, max_bytes
            self._evict()

    def get(self, key: str, fn: SurfaceFn) -> Any:
        """The traced graph of ``fn`` under ``key``: held, being traced (waited for), or traced now in this
        thread. Raises what tracing raised."""
        with self._lock:
            held = self._graphs.get(key)
            if held is not None:
                self._graphs.move_to_end(key)
                return held[0]
            pending = self._tracing.get(key)
            if pending is None:
                mine = self._tracing[key] = Future()
        if pending is not None:
            return pending.result()
        try:
            graph = _trace(fn)
            size = graph_bytes(graph)
        except BaseException as exc:
            with self._lock:
                del self._tracing[key]
            mine.set_exception(exc)
            raise
        with self._lock:
            del self._tracing[key]
            if size <= self.max_bytes:  # one larger than the whole budget serves its asker, and is not kept
                self._graphs[key] = (graph, size)
                self.bytes += size
                self._evict()
        mine.set_result(graph)
        return graph

    def _evict(self) -> None:
        while self._graphs and (len(self._graphs) > self.entries or self.bytes > self.max_bytes):
            _, (_, size) = self._graphs.popitem(last=False)
            self.bytes -= size


# One per process: every objective with the same key (a surface id, an expression) shares its graph. Sized by
# the app's settings (trace_cache_entries, trace_cache_bytes) when it is made.
TRACES = TraceCache()


def _same(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> bool:
    return all(
        p.shape == q.shape and torch.allclose(p, q, rtol=0, atol=0, equal_nan=True)
        for p, q in zip(a, b, strict=True)
    )


class FunctionObjective:
    """J(x, y) given as an elementwise torch function; J and ∇J by autograd for a whole batch at once.

    With a ``key``, the autograd pass runs from a traced graph (see ``_trace``); the first call checks it
    against the eager pass on the same inputs, bit for bit, and any difference or failure falls back to
    eager autograd for good.
    """

    per_runner = False  # one J for every runner

    def __init__(self, fn: SurfaceFn, key: str | None = None):
        self.fn = fn
        self.key = key
        self._eager = _value_and_grad(fn)
        self._fast: Any = None
        self._checked = key is None

    def _pass(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self._checked:
            return self._fast(x, y) if self._fast is not None else self._eager(x, y)
        self._checked = True
        eager = self._eager(x, y)
        try:
            traced = TRACES.get(self.key, self.fn)
            if _same(traced(x, y), eager):
                self._fast = traced
        except Exception:  # any tracing failure just means the eager path stays
            log.info("autograd trace unavailable for %s; using eager autograd", self.key, exc_info=True)
        return eager

    @property
    def traced(self) -> bool:
        """Nothing is left to trace: the graph is held (or there is none to make)."""
        return self.key is None or self.key in TRACES

    def warm(self) -> None:
        """Trace now, in this thread (a worker's, off the event loop): the first step finds the graph made."""
        if self.key is None:
            return
        try:
            TRACES.get(self.key, self.fn)
        except Exception:  # the first step falls back to eager autograd (and logs it)
            log.debug("tracing %s failed while warming up", self.key, exc_info=True)

    def value_and_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        loss, gx, gy = self._pass(torch.from_numpy(x), torch.from_numpy(y))
        return loss.numpy(), gx.numpy(), gy.numpy()

    def value(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            loss = self.fn(torch.from_numpy(x), torch.from_numpy(y))
        return np.broadcast_to(loss.numpy(), np.shape(x))
