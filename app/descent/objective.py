"""What the engine descends: the Objective protocol, the function objective, and its traced-graph cache."""

from __future__ import annotations

import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
from torch.fx.experimental.proxy_tensor import make_fx

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


# Traced autograd graphs, shared by every objective with the same key (a surface id, an expression).
_TRACED: OrderedDict[str, Any] = OrderedDict()
_TRACED_MAX = 128
_TRACE_LOCK = threading.Lock()


def _trace(fn: SurfaceFn) -> Any:
    """The forward and backward pass as one graph of aten operations, run by TorchScript's executor.

    make_fx records exactly the operations autograd performs (forward, then its backward formulas); the
    graph is elementwise, so one trace serves every batch size. Executing it skips the Python and
    autograd-engine overhead of an eager pass (bench/engine.py: about 130 → 55 µs for six runners).
    """
    example = (
        torch.linspace(-1.3, 1.7, 3, dtype=torch.float64),
        torch.linspace(0.4, -1.1, 3, dtype=torch.float64),
    )
    # Fake tensors carry no values: a function that branches on its data cannot be recorded (it raises).
    graph = make_fx(_value_and_grad(fn), tracing_mode="fake")(*example)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace announces its own deprecation; 2.13 is pinned
        return torch.jit.trace(graph, example, check_trace=False)


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
            with _TRACE_LOCK:
                traced = _TRACED.get(self.key)
                if traced is None:
                    traced = _TRACED[self.key] = _trace(self.fn)
                    while len(_TRACED) > _TRACED_MAX:
                        _TRACED.popitem(last=False)
                _TRACED.move_to_end(self.key)
            if _same(traced(x, y), eager):
                self._fast = traced
        except Exception:  # any tracing failure just means the eager path stays
            log.info("autograd trace unavailable for %s; using eager autograd", self.key, exc_info=True)
        return eager

    def value_and_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        loss, gx, gy = self._pass(torch.from_numpy(x), torch.from_numpy(y))
        return loss.numpy(), gx.numpy(), gy.numpy()

    def value(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            loss = self.fn(torch.from_numpy(x), torch.from_numpy(y))
        return np.broadcast_to(loss.numpy(), np.shape(x))
