"""The weight path: a run's weights θ_k, flattened, kept within a byte budget, thinned when full."""

from __future__ import annotations

import threading

import torch
from torch import nn

DEFAULT_BUDGET = 32 * 2**20  # bytes of snapshots: ~600 of the default CNN's 13 706 float32 weights
MIN_SNAPSHOTS = 3  # the first, the latest, and one between: the least a PCA of the path needs


def flat_weights(model: nn.Module) -> torch.Tensor:
    """The model's parameters as one new float32 CPU vector, in ``model.parameters()`` order."""
    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1).float().cpu() for p in model.parameters()])


class WeightPath:
    """The weights θ_k along a training run, flattened (float32, CPU), saved every ``every`` steps within a
    memory budget: when full, every other snapshot is dropped and ``every`` doubles, so a long run never
    grows memory. The first snapshot (the initial weights) and the latest are always kept.

    The training thread adds, a landscape thread reads: a stored vector is never written again.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"every must be ≥ 1 step, got {every}")
        self.budget_bytes = budget_bytes
        self.every = every  # steps between snapshots; doubles at each thinning
        self.names: list[str] = []  # parameter names, in vector order; set by the first snapshot
        self.shapes: list[torch.Size] = []
        self._steps: list[int] = []
        self._vectors: list[torch.Tensor] = []
        self._bytes_each = 0
        self._lock = threading.Lock()

    def maybe_add(self, step: int, model: nn.Module) -> bool:
        """Save the model's weights if ``step`` is a multiple of ``every``. Call it after every step (and
        with step 0 before the first): when no snapshot is due it only tests an integer."""
        return step % self.every == 0 and self.add(step, model)

    def add(self, step: int, model: nn.Module) -> bool:
        """Save the weights now (e.g. the current ones, to draw a landscape through them); False if
        ``step`` is already the latest snapshot's."""
        vector = flat_weights(model)
        with self._lock:
            if not self._vectors:
                self._first(model, vector)
            elif vector.numel() != self._vectors[0].numel():
                raise ValueError(
                    f"the model has {vector.numel()} parameters, the snapshots {self._vectors[0].numel()}: "
                    "a new network needs a new WeightPath"
                )
            elif step <= self._steps[-1]:
                if step == self._steps[-1]:
                    return False
                raise ValueError(f"steps must increase: got {step} after {self._steps[-1]}")
            if self._vectors and len(self._vectors) == self.capacity:
                self._steps, self._vectors = self._steps[::2], self._vectors[::2]  # the first stays
                self.every *= 2
            self._steps.append(step)
            self._vectors.append(vector)
        return True

    def _first(self, model: nn.Module, vector: torch.Tensor) -> None:
        size = vector.numel() * vector.element_size()
        if self.budget_bytes < MIN_SNAPSHOTS * size:
            raise ValueError(
                f"budget_bytes must hold at least {MIN_SNAPSHOTS} snapshots of {size} bytes, "
                f"got {self.budget_bytes}"
            )
        named = list(model.named_parameters())
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self._bytes_each = size

    @property
    def capacity(self) -> int:
        """Snapshots the budget holds (0 before the first one sets their size)."""
        return self.budget_bytes // self._bytes_each if self._vectors else 0

    @property
    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in self._vectors)

    def __len__(self) -> int:
        return len(self._vectors)

    def read(self) -> tuple[list[int], list[torch.Tensor]]:
        """The steps and vectors, oldest first, as one consistent set (the vectors are shared, read-only)."""
        with self._lock:
            if not self._vectors:
                raise ValueError("no snapshot yet: add the initial weights first")
            return list(self._steps), list(self._vectors)

    @property
    def first(self) -> tuple[int, torch.Tensor]:
        steps, vectors = self.read()
        return steps[0], vectors[0]

    @property
    def latest(self) -> tuple[int, torch.Tensor]:
        """The most recent snapshot; ``add(step, model)`` first to make it the current weights."""
        steps, vectors = self.read()
        return steps[-1], vectors[-1]
