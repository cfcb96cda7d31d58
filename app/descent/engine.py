"""The stepping engine: many runners descending one objective together.

A runner is a point θ = (x, y) with an optimizer, its hyperparameters and its state. Each tick the
engine asks the objective (app/descent/objective.py) for J and ∇J of every running runner in one pass
over an (R,) batch, then applies each optimizer's vectorized kernel to the contiguous block of runners
that use it. Runners are laid out sorted by optimizer so every block is a view, never a copy. A runner
whose loss, gradient or position stops being finite, or leaves the bound, is frozen there ("diverged")
and dropped from the layout.

Pure compute: no FastAPI, no sockets. Sessions and routes drive it. One module of ~430 lines: the layout,
the stepping loop and the recording share the layout's private arrays, and split apart each would reach
into the others'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.descent.objective import Objective
from app.descent.optimizers import Hyper, OptimizerSpec, State, get_optimizer, kernel_columns


@dataclass
class Runner:
    """One descending point and what it descends with."""

    id: str
    optimizer: OptimizerSpec
    hyperparameters: dict[str, Any]
    start: tuple[float, float]
    point: np.ndarray  # (2,) θ now (while in the layout, the layout's row is the live copy)
    previous: np.ndarray  # (2,) θ one step back: where a runner that diverges is frozen
    step: int = 0  # updates applied so far
    state: State | None = None  # optimizer state rows while outside the layout (None: fresh)
    diverged_at: int | None = None
    divergence: str | None = None  # why, in words
    divergence_code: str | None = None  # why, as a code: bound, loss or gradient

    @property
    def running(self) -> bool:
        return self.diverged_at is None


@dataclass
class Trace:
    """What one runner did during a batch of ticks: record j is step ``first_step + j``.

    points[j], losses[j], gradients[j] are θ, J(θ), ∇J(θ) at that step; deltas[j] is the update the
    optimizer then applied (θ_{k+1} − θ_k); state[name][j] is the optimizer's state after that update.
    """

    runner_id: str
    first_step: int
    points: np.ndarray  # (m, 2)
    losses: np.ndarray  # (m,)
    gradients: np.ndarray  # (m, 2)
    deltas: np.ndarray  # (m, 2)
    state: dict[str, np.ndarray]  # name -> (m, width)
    diverged_at: int | None = None
    divergence: str | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # the objective's per-step extras, (m, w)


@dataclass
class _Block:
    """The runners that share one kernel (e.g. sgd, momentum and nesterov): a contiguous slice of the
    layout, with their state and hyperparameters."""

    update: Callable[..., None]
    rows: slice
    hyper: Hyper
    state: State
    shown: tuple[str, ...]  # state names some member shows (recorded per tick)


class _Segment:
    """Records of consecutive ticks that share one layout, in buffers allocated for the whole run.

    Runner-major ((R, ticks, ...)), so each runner's records are one contiguous block."""

    def __init__(self, layout: list[Runner], blocks: list[_Block], steps: list[int], ticks: int):
        r = len(layout)
        self.layout, self.blocks, self.steps, self.count = layout, blocks, steps, 0
        self.points = np.empty((r, ticks, 2))
        self.losses = np.empty((r, ticks))
        self.gradients = np.empty((r, ticks, 2))
        self.deltas = np.empty((r, ticks, 2))
        # per block, per shown state name: (k, ticks, width)
        self.state = [
            {n: np.empty((b.rows.stop - b.rows.start, ticks, b.state[n].shape[1])) for n in b.shown}
            for b in blocks
        ]
        self.extras: dict[str, np.ndarray] = {}  # name -> (R, ticks, width), made on the first record


class Engine:
    """Advances any number of runners on one objective, all optimizers stepping in the same tick."""

    def __init__(self, objective: Objective, bound: float = 1e6):
        self.objective = objective
        self.bound = bound  # |θᵢ| beyond this counts as diverged
        self.runners: dict[str, Runner] = {}
        self._layout: list[Runner] = []  # running runners, sorted by optimizer id
        self._row: dict[str, int] = {}  # runner id -> row in the layout
        self._blocks: list[_Block] = []
        self._points = np.zeros((0, 2))  # (R, 2) θ of the running runners, in layout order
        self._previous = np.zeros((0, 2))  # (R, 2) θ one tick earlier
        self._dirty = False  # the layout no longer matches the runners and must be rebuilt
        self._pending = 0  # ticks the layout's runners took that their step counters do not show yet
        self._extras: dict[str, np.ndarray] = {}  # the objective's extras of the current tick, (R, w)

    # --- membership and settings ------------------------------------------------------------------

    def add(
        self, runner_id: str, optimizer_id: str, hyperparameters: dict[str, Any], start: Iterable[float]
    ) -> Runner:
        if runner_id in self.runners:
            raise ValueError(f"runner {runner_id!r} exists already")
        spec = get_optimizer(optimizer_id)
        start_t = (float(v) for v in start)
        x, y = start_t
        self._sync_out()
        runner = Runner(runner_id, spec, dict(hyperparameters), (x, y), np.array([x, y]), np.array([x, y]))
        self.runners[runner_id] = runner
        return runner

    def add_many(
        self, ids: list[str], optimizer_id: str, hyperparameters: list[dict[str, Any]], starts: np.ndarray
    ) -> None:
        """Add many runners of one optimizer at once (a basin or stability map): (N, 2) starts."""
        spec = get_optimizer(optimizer_id)
        self._sync_out()
        for rid, hyper, (x, y) in zip(
            ids, hyperparameters, np.asarray(starts, dtype=np.float64), strict=True
        ):
            if rid in self.runners:
                raise ValueError(f"runner {rid!r} exists already")
            start = np.array([x, y])
            self.runners[rid] = Runner(rid, spec, hyper, (float(x), float(y)), start, start.copy())

    def remove(self, runner_id: str) -> None:
        runner = self._get(runner_id)
        self._sync_out()
        del self.runners[runner.id]

    def set_hyperparameters(self, runner_id: str, hyperparameters: dict[str, Any]) -> None:
        """New hyperparameters from the next tick on; the optimizer state is kept."""
        runner = self._get(runner_id)
        runner.hyperparameters = dict(hyperparameters)
        row = self._row.get(runner_id)
        if row is None or self._dirty:
            return
        for block in self._blocks:
            if block.rows.start <= row < block.rows.stop:
                block.hyper = _hyper(self._layout[block.rows])

    def set_optimizer(self, runner_id: str, optimizer_id: str, hyperparameters: dict[str, Any]) -> None:
        """Switch optimizer: the runner keeps its position, its optimizer state starts afresh."""
        runner = self._get(runner_id)
        spec = get_optimizer(optimizer_id)
        self._sync_out()
        runner.optimizer, runner.hyperparameters, runner.state = spec, dict(hyperparameters), None

    def reset(self, runner_id: str, start: Iterable[float] | None = None) -> None:
        """Back to a start (the old one unless given): step 0, fresh state, running again."""
        runner = self._get(runner_id)
        self._sync_out()
        if start is not None:
            x, y = (float(v) for v in start)
            runner.start = (x, y)
        runner.point, runner.previous = np.array(runner.start), np.array(runner.start)
        runner.step, runner.state = 0, None
        runner.diverged_at = runner.divergence = runner.divergence_code = None

    def set_objective(self, objective: Objective) -> None:
        self.objective = objective

    # --- reading -------------------------------------------------------------------------------------

    def point(self, runner_id: str) -> np.ndarray:
        """θ now: for a diverged runner, the last point where J and ∇J were finite."""
        runner = self._get(runner_id)
        row = None if self._dirty else self._row.get(runner_id)
        return (self._points[row] if row is not None else runner.point).copy()

    def state_of(self, runner_id: str) -> dict[str, np.ndarray]:
        """The runner's optimizer state as torch.optim names it (shown values only), each (width,)."""
        runner = self._get(runner_id)
        row = None if self._dirty else self._row.get(runner_id)
        if row is not None:
            block = next(b for b in self._blocks if b.rows.start <= row < b.rows.stop)
            state = {name: arr[row - block.rows.start] for name, arr in block.state.items()}
        elif runner.state is not None:
            state = {name: arr[0] for name, arr in runner.state.items()}
        else:
            fresh = runner.optimizer.init_state(1, _hyper([runner]))
            state = {name: arr[0] for name, arr in fresh.items()}
        return {name: state[name].astype(np.float64) for name in runner.optimizer.state_names}

    @property
    def running_count(self) -> int:
        return sum(r.running for r in self.runners.values())

    # --- stepping ------------------------------------------------------------------------------------

    def run(self, ticks: int, record: bool = True) -> dict[str, Trace]:
        """Apply ``ticks`` updates to every running runner; return what each did (if ``record``)."""
        self._ensure_layout()
        segments: list[_Segment] = []
        with np.errstate(all="ignore"):
            for tick in range(ticks):
                if not self._layout:
                    break
                loss, grads = self._evaluate()
                if not self._check(loss, grads):
                    loss, grads = self._drop_diverged(loss, grads)
                    if not self._layout:
                        break
                np.copyto(self._previous, self._points)
                for block in self._blocks:
                    block.update(self._points[block.rows], grads[block.rows], block.state, block.hyper)
                if record:
                    self._record(segments, loss, grads, ticks - tick)
                self._pending += 1
        self._flush_steps()
        return self._collect(segments) if record else {}

    def evaluate(self) -> dict[str, tuple[np.ndarray, float, np.ndarray]]:
        """θ, J(θ), ∇J(θ) of each running runner now, without stepping; marks non-finite ones diverged."""
        self._ensure_layout()
        if not self._layout:
            return {}
        with np.errstate(all="ignore"):
            loss, grads = self._evaluate(peek=True)
            if not self._check(loss, grads):
                loss, grads = self._drop_diverged(loss, grads)
        return {
            r.id: (self._points[i].copy(), float(loss[i]), grads[i].copy())
            for i, r in enumerate(self._layout)
        }

    def final_points(self) -> dict[str, np.ndarray]:
        """θ of every runner, running or frozen, without evaluating anything."""
        return {rid: self.point(rid) for rid in self.runners}

    # --- internals -----------------------------------------------------------------------------------

    def _get(self, runner_id: str) -> Runner:
        try:
            return self.runners[runner_id]
        except KeyError:
            raise KeyError(f"no runner {runner_id!r}; runners: {', '.join(self.runners) or 'none'}") from None

    def _evaluate(self, peek: bool = False) -> tuple[np.ndarray, np.ndarray]:
        x, y = np.ascontiguousarray(self._points[:, 0]), np.ascontiguousarray(self._points[:, 1])
        if self.objective.per_runner:
            # A PerRunnerObjective: each runner's own loss (its own batch of data), and extras such as the
            # full-batch gradient.
            ids = [r.id for r in self._layout]
            loss, gx, gy, self._extras = self.objective.evaluate(x, y, ids, peek=peek)
        else:
            loss, gx, gy = self.objective.value_and_grad(x, y)
        grads = np.empty_like(self._points)  # (R, 2)
        grads[:, 0], grads[:, 1] = gx, gy
        return np.asarray(loss, dtype=np.float64), grads

    def _check(self, loss: np.ndarray, grads: np.ndarray) -> bool:
        """True when every running runner is fine; the common case costs three reductions."""
        return bool(
            np.isfinite(loss).all()
            and np.isfinite(grads).all()
            and (np.abs(self._points) <= self.bound).all()
        )

    def _drop_diverged(self, loss: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        in_bound = (np.abs(self._points) <= self.bound).all(axis=1)
        finite_loss = np.isfinite(loss)
        finite_grad = np.isfinite(grads).all(axis=1)
        ok = in_bound & finite_loss & finite_grad
        self._flush_steps()
        self._sync_out()
        for i in np.flatnonzero(~ok):
            runner = self._layout[i]
            runner.diverged_at = runner.step
            runner.point = runner.previous.copy()
            if not in_bound[i]:
                runner.divergence_code, runner.divergence = "bound", f"θ left the bound |θ| ≤ {self.bound:g}"
            elif not finite_loss[i]:
                runner.divergence_code, runner.divergence = "loss", "the loss is not a finite number"
            else:
                runner.divergence_code, runner.divergence = "gradient", "the gradient is not a finite number"
            runner.state = None
        self._ensure_layout()
        self._extras = {name: values[ok] for name, values in self._extras.items()}
        return loss[ok], grads[ok]

    def _record(self, segments: list[_Segment], loss: np.ndarray, grads: np.ndarray, remaining: int) -> None:
        if not segments or segments[-1].layout is not self._layout:
            steps = [r.step + self._pending for r in self._layout]
            segments.append(_Segment(self._layout, self._blocks, steps, remaining))
        seg = segments[-1]
        t = seg.count
        seg.points[:, t] = self._previous
        seg.losses[:, t] = loss
        seg.gradients[:, t] = grads
        np.subtract(self._points, self._previous, out=seg.deltas[:, t])
        for block, buffers in zip(self._blocks, seg.state, strict=True):
            for name, buffer in buffers.items():
                buffer[:, t] = block.state[name]
        for name, values in self._extras.items():
            if name not in seg.extras:
                seg.extras[name] = np.empty((len(self._layout), seg.points.shape[1], values.shape[1]))
            seg.extras[name][:, t] = values
        seg.count = t + 1

    def _collect(self, segments: list[_Segment]) -> dict[str, Trace]:
        traces: dict[str, Trace] = {}
        for seg in segments:
            m = seg.count
            for block, buffers in zip(seg.blocks, seg.state, strict=True):
                for j, runner in enumerate(seg.layout[block.rows]):
                    i = block.rows.start + j
                    shown = {n: buffers[n][j, :m] for n in runner.optimizer.state_names}
                    piece = Trace(
                        runner.id,
                        seg.steps[i],
                        seg.points[i, :m],
                        seg.losses[i, :m],
                        seg.gradients[i, :m],
                        seg.deltas[i, :m],
                        shown,
                        extras={name: values[i, :m] for name, values in seg.extras.items()},
                    )
                    traces[runner.id] = _concat(traces[runner.id], piece) if runner.id in traces else piece
        for rid, runner in self.runners.items():
            if rid not in traces and not runner.running:
                traces[rid] = _empty_trace(runner)
            if rid in traces:
                traces[rid].diverged_at, traces[rid].divergence = runner.diverged_at, runner.divergence
        return traces

    def _flush_steps(self) -> None:
        if self._pending:
            for runner in self._layout:
                runner.step += self._pending
            self._pending = 0

    def _sync_out(self) -> None:
        """Copy the layout's rows (points, state) back into the runners, so the layout can be rebuilt."""
        self._flush_steps()
        if self._dirty:
            return
        for i, runner in enumerate(self._layout):
            runner.point = self._points[i].copy()
            runner.previous = self._previous[i].copy()
        for block in self._blocks:
            for j, runner in enumerate(self._layout[block.rows]):
                runner.state = {name: arr[j : j + 1].copy() for name, arr in block.state.items()}
        self._dirty = True

    def _ensure_layout(self) -> None:
        if not self._dirty:
            return
        running = sorted(
            (r for r in self.runners.values() if r.running), key=lambda r: r.optimizer.update.__name__
        )
        self._layout = running
        self._row = {r.id: i for i, r in enumerate(running)}
        self._points = np.array([r.point for r in running], dtype=np.float64).reshape(-1, 2)
        self._previous = np.array([r.previous for r in running], dtype=np.float64).reshape(-1, 2)
        self._blocks = []
        start = 0
        while start < len(running):
            kernel = running[start].optimizer
            end = start
            while end < len(running) and running[end].optimizer.update is kernel.update:
                end += 1
            members = running[start:end]
            hyper = _hyper(members)
            state = kernel.init_state(len(members), hyper)
            if any(r.state is not None for r in members):
                state = {
                    name: np.concatenate(
                        [
                            r.state[name] if r.state is not None else fresh[j : j + 1]
                            for j, r in enumerate(members)
                        ]
                    )
                    for name, fresh in state.items()
                }
            shown = tuple(dict.fromkeys(n for r in members for n in r.optimizer.state_names))
            self._blocks.append(_Block(kernel.update, slice(start, end), hyper, state, shown))
            start = end
        self._dirty = False


def _hyper(members: list[Runner]) -> Hyper:
    """Kernel inputs of a block's runners; runners sharing one hyperparameter dict share one merge."""
    cache: dict[tuple[int, int], dict[str, Any]] = {}
    rows = []
    for r in members:
        key = (id(r.optimizer), id(r.hyperparameters))
        if key not in cache:
            cache[key] = r.optimizer.kernel_kwargs(r.hyperparameters)
        rows.append(cache[key])
    return kernel_columns(rows)


def _concat(a: Trace, b: Trace) -> Trace:
    return Trace(
        a.runner_id,
        a.first_step,
        np.concatenate([a.points, b.points]),
        np.concatenate([a.losses, b.losses]),
        np.concatenate([a.gradients, b.gradients]),
        np.concatenate([a.deltas, b.deltas]),
        {k: np.concatenate([a.state[k], b.state[k]]) for k in a.state},
        extras={k: np.concatenate([a.extras[k], b.extras[k]]) for k in a.extras if k in b.extras},
    )


def _empty_trace(runner: Runner) -> Trace:
    names = runner.optimizer.state_names
    return Trace(
        runner.id, runner.step, np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)), np.zeros((0, 2)),
        {n: np.zeros((0, 2)) for n in names}, runner.diverged_at, runner.divergence,
    )  # fmt: skip
