"""A race session: one page's run — a surface, the runners racing on it — driven by protocol commands.

Synchronous and socket-free: ``apply`` turns a validated command into the session's new state (or raises
AppError), ``advance`` steps the engine and packs what happened into a frame. live.py paces it.
~455 lines in one class on purpose: the commands, the frames and their merging all read and write the same
runners, traces and batch settings; the messages are in protocol.py, the tracing in preparation.py, the
curvature a frame may carry in curvature.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from pydantic import ValidationError

from app.config import Settings
from app.descent import cost
from app.descent.data import DataObjective, DataProblem, gradient_spread
from app.descent.engine import Engine, Trace
from app.descent.optimizers import HYPERPARAMETER_MODELS, explain
from app.descent.runs import divergence_bound, objective
from app.descent.surfaces import Surface
from app.errors import AppError, from_validation_error
from app.inputs import resolve_problem, resolve_surface, surface_label, surface_load
from app.sessions.core import SessionCore
from app.sessions.messages import SetSpeed
from app.sessions.race.curvature import merge_curvature, runner_curvature, surface_quadratic
from app.sessions.race.preparation import prepare_surface, surface_ready
from app.sessions.race.protocol import (
    CLIENT_MESSAGE,
    AddRunner,
    BatchSpec,
    DataInfo,
    Diverged,
    RemoveRunner,
    Reset,
    RunnerPublic,
    RunnerSpec,
    SessionState,
    SetCurvature,
    SetStart,
    SetSurface,
    StartRun,
    SurfaceInfo,
    UpdateRunner,
    check_race_cost,
)

REASONS = {"bound": "bound", "loss": "loss", "gradient": "gradient"}
CLOUD_EVERY = 0.25  # s between two per-sample gradient clouds of one runner
# The data set rides on the states that bring a new one (or a page that lost it), not on every state.
DATA_CAUSES = {"start", "set_surface", "resume"}


@dataclass
class RunnerMeta:
    hp_version: int = 0
    announced_divergence: bool = False
    batch: BatchSpec = field(default_factory=BatchSpec)
    cloud_sent: float = 0.0  # when the per-sample gradient cloud was last sent


def bound_for(surface: Surface, settings: Settings) -> float:
    return divergence_bound(surface.x_range, surface.y_range, settings.divergence_bound)


def divergence_message(step: int, reason: str, lr: float | None) -> str:
    if step == 0:
        return "the loss is not defined at the start point: pick another start"
    what = {"bound": "θ ran off beyond any sensible range", "loss": "the loss overflowed"}.get(
        reason, "the gradient overflowed"
    )
    rate = f" (η = {lr:g})" if lr is not None else ""
    return f"diverged at step {step}: {what}; the learning rate{rate} is too large for this curvature"


class RaceSession(SessionCore):
    """A 2-D race: a surface, or a data problem, and the runners descending it."""

    lane = "race"  # all races compute in one worker thread, in turn (live.py)
    # A race's slice is Python and tiny tensors holding the GIL throughout: in a thread it gains no
    # parallelism and pays a GIL handover (up to the 5 ms switch interval) each way; 100 pages' slices
    # run inline up to 10 ms each (bench/load.py: p95 frame gap 1.5 s in threads, 0.27 s inline).
    inline_budget = 0.010

    messages = CLIENT_MESSAGE

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.engine: Engine | None = None
        self.surface: Surface | None = None
        self.problem: DataProblem | None = None  # set when the surface is a data problem
        self.curvature = False  # frames carry each step's curvature (start.curvature, set_curvature)
        self.quadratic = None  # the surface's constant Hessian, κ and η* when it is quadratic
        self.meta: dict[str, RunnerMeta] = {}
        self.order: list[str] = []  # runner ids in the page's order
        self.seed = 0
        self.load = cost.BUILTIN  # what one evaluation of the surface touches (app/descent/cost.py)

    @property
    def started(self) -> bool:
        return self.engine is not None

    @property
    def runner_count(self) -> int:
        return len(self.order)

    def status(self) -> str:
        if self.surface is None:
            return "race, not started"
        return f"race of {len(self.order)} runners on {self.surface.id}, step {self.max_step}"

    # --- commands --------------------------------------------------------------------------------------

    def apply(self, msg: Any) -> SessionState:
        """Apply a structural command; return the state to send. Play/pause/speed/step included."""
        if isinstance(msg, StartRun):
            self._start(msg)
        elif self.engine is None:
            raise AppError(409, "no_run", "no run yet: send a 'start' message first")
        elif isinstance(msg, UpdateRunner):
            self._update(msg)
        elif isinstance(msg, AddRunner):
            batches = [*self._batches(), msg.runner.batch]
            check_race_cost(
                self.settings, "runner", self.load, batches, self.speed, msg.runner.id, self.curvature
            )
            self._add(msg.runner)
        elif isinstance(msg, RemoveRunner):
            self._runner(msg.runner, "runner")
            if len(self.order) == 1:
                raise AppError.invalid(
                    "runner", "a race keeps at least one runner", "another runner's id", msg.runner
                )
            self.engine.remove(msg.runner)
            if self.problem is not None:
                self.engine.objective.forget(msg.runner)
            self.order.remove(msg.runner)
            del self.meta[msg.runner]
        elif isinstance(msg, SetStart):
            targets = [self._runner(msg.runner, "runner")] if msg.runner else list(self.order)
            for rid in targets:
                self._restart(rid, msg.start)
        elif isinstance(msg, Reset):
            for rid in self.order:
                self._restart(rid, None)
        elif isinstance(msg, SetSurface):
            self._set_surface(msg.surface)
        elif isinstance(msg, SetCurvature):
            if msg.enabled:
                check_race_cost(self.settings, "enabled", self.load, self._batches(), self.speed, True, True)
            self.curvature = msg.enabled
        else:
            if isinstance(msg, SetSpeed):
                batches = self._batches()
                check_race_cost(
                    self.settings, "speed", self.load, batches, msg.speed, msg.speed, self.curvature
                )
            self.playback(msg)
        return self.state(msg.type, msg.ref)

    def preparation(self, msg: Any) -> Callable[[], None] | None:
        """A new surface is made off the event loop (race/preparation.py); None when it is ready."""
        new = isinstance(msg, StartRun) or (isinstance(msg, SetSurface) and self.engine is not None)
        return partial(prepare_surface, msg.surface) if new and not surface_ready(msg.surface) else None

    def warms_up(self, msg: Any) -> bool:
        """A new surface (or run) traces new functions: the next slice pays for that."""
        return isinstance(msg, StartRun | SetSurface)

    def _batches(self, changed: dict[str, BatchSpec] | None = None) -> list[BatchSpec]:
        """Every runner's batch mode, those in ``changed`` as changed (what a race's cost counts)."""
        return [(changed or {}).get(rid, self.meta[rid].batch) for rid in self.order]

    def _start(self, msg: StartRun) -> None:
        load = surface_load(msg.surface)
        batches = [r.batch for r in msg.runners]
        check_race_cost(self.settings, "speed", load, batches, msg.speed, msg.speed, msg.curvature)
        self.seed, self.load = msg.seed, load
        self.surface, self.problem = resolve_surface(msg.surface), resolve_problem(msg.surface)
        self.quadratic, self.curvature = surface_quadratic(self.surface), msg.curvature
        self.engine = Engine(self._objective(), bound_for(self.surface, self.settings))
        self.meta, self.order = {}, []
        for spec in msg.runners:
            self._add(spec)
        self.playing, self.speed = msg.playing, msg.speed
        self.pending_steps = 0

    def _objective(self) -> Any:
        """A data problem's per-runner objective (batches), or the surface's function."""
        if self.problem is not None:
            return DataObjective(self.problem, self.seed)
        return objective(self.surface)

    def _check_batch(self, batch: BatchSpec, field_name: str) -> None:
        if batch.mode != "full" and self.problem is None:
            raise AppError.invalid(
                field_name,
                "batch modes apply to data problems (linreg, logreg, logreg_ill); this surface has no data",
                "full",
                batch.mode,
            )

    def _set_batch(self, rid: str, batch: BatchSpec) -> None:
        self.meta[rid].batch = batch
        if self.problem is not None:
            self.engine.objective.configure(rid, batch.mode, batch.size)

    def _add(self, spec: RunnerSpec) -> None:
        if spec.id in self.meta:
            raise AppError.invalid("runner.id", f"runner '{spec.id}' exists already", "a new id", spec.id)
        if len(self.order) >= self.settings.max_runners:
            raise AppError.invalid(
                "runner", f"at most {self.settings.max_runners} runners in a race", "fewer runners", spec.id
            )
        self._check_batch(spec.batch, "runner.batch.mode")
        self.engine.add(spec.id, spec.optimizer, spec.hyperparameters, spec.start)
        self.meta[spec.id] = RunnerMeta()
        self.order.append(spec.id)
        self._set_batch(spec.id, spec.batch)

    def _runner(self, runner_id: str, field: str) -> str:
        if runner_id not in self.meta:
            raise AppError.invalid(
                field, f"no runner '{runner_id}' in this race", ", ".join(self.order) or "none", runner_id
            )
        return runner_id

    def _update(self, msg: UpdateRunner) -> None:
        rid = self._runner(msg.runner, "runner")
        if msg.batch is not None:
            self._check_batch(msg.batch, "batch.mode")
            batches = self._batches({rid: msg.batch})
            size = msg.batch.size
            check_race_cost(self.settings, "batch", self.load, batches, self.speed, size, self.curvature)
            self._set_batch(rid, msg.batch)
            if not msg.hyperparameters and msg.optimizer is None:
                return
        current = self.engine.runners[rid]
        optimizer = msg.optimizer or current.optimizer.id
        if optimizer not in HYPERPARAMETER_MODELS:
            raise AppError.invalid(
                "optimizer", f"unknown optimizer '{optimizer}'", ", ".join(HYPERPARAMETER_MODELS), optimizer
            )
        switching = optimizer != current.optimizer.id
        # Switching keeps the names the new optimizer shares (lr, weight_decay...); the rest take defaults.
        model = HYPERPARAMETER_MODELS[optimizer]
        base = {k: v for k, v in current.hyperparameters.items() if k in model.model_fields}
        try:
            full = model.model_validate({**base, **msg.hyperparameters}).model_dump()
        except ValidationError as exc:
            errors = [{**e, "loc": ("hyperparameters", *e["loc"])} for e in exc.errors()]
            raise from_validation_error(errors, drop=()) from None
        if switching:
            self.engine.set_optimizer(rid, optimizer, full)
        else:
            self.engine.set_hyperparameters(rid, full)
        self.meta[rid].hp_version += 1

    def _restart(self, rid: str, start: tuple[float, float] | None) -> None:
        self.engine.reset(rid, start)
        self.meta[rid].announced_divergence = False
        if self.problem is not None:
            self.engine.objective.restart(rid)  # a restarted runner replays the same batches

    def _set_surface(self, ref: Any) -> None:
        load = surface_load(ref)
        label = surface_label(ref)
        check_race_cost(self.settings, "surface", load, self._batches(), self.speed, label, self.curvature)
        surface, problem = resolve_surface(ref), resolve_problem(ref)
        if problem is None:
            batched = [rid for rid in self.order if self.meta[rid].batch.mode != "full"]
            if batched:
                raise AppError.invalid(
                    "surface",
                    f"runners {', '.join(batched)} use batches of data: set them to full batch first",
                    "a data problem",
                    surface.id,
                )
        self.surface, self.problem, self.load = surface, problem, load
        self.quadratic = surface_quadratic(surface)
        self.engine.set_objective(self._objective())
        for rid in self.order:
            self._set_batch(rid, self.meta[rid].batch)
        self.engine.bound = bound_for(surface, self.settings)
        (x0, x1), (y0, y1) = surface.x_range, surface.y_range
        for rid in self.order:
            sx, sy = self.engine.runners[rid].start
            inside = x0 <= sx <= x1 and y0 <= sy <= y1
            self._restart(rid, None if inside else surface.default_start)

    # --- stepping ---------------------------------------------------------------------------------------

    @property
    def runnable(self) -> bool:
        return self.engine is not None and self.engine.running_count > 0

    def advance(self, ticks: int) -> tuple[dict[str, Any] | None, list[Diverged]]:
        """Step every running runner ``ticks`` times; return the frame's runners (NumPy arrays, shaped as
        protocol.RunnerFrame; the sender numbers and serializes it) and any divergences."""
        traces = self.engine.run(ticks)
        runners = [
            self._runner_frame(rid, traces[rid])
            for rid in self.order
            if rid in traces and len(traces[rid].points)
        ]
        payload = {"type": "frame", "runners": runners} if runners else None
        return payload, self._new_divergences()

    def _runner_frame(self, rid: str, trace: Trace) -> dict[str, Any]:
        runner = self.engine.runners[rid]
        terms = explain(
            runner.optimizer.id, runner.hyperparameters, trace.state, trace.gradients, trace.points
        )
        data: dict[str, Any] = {}
        if self.problem is not None:
            w, b = trace.points[-1]
            grads = self.engine.objective.sample_gradients(float(w), float(b))
            samples = {"gradients": None, "spread": gradient_spread(grads)}
            now = time.monotonic()
            if now - self.meta[rid].cloud_sent >= CLOUD_EVERY:  # the cloud is N pairs: a few times a second
                samples["gradients"], self.meta[rid].cloud_sent = grads, now
            data = {"extras": trace.extras, "samples": samples}
        if self.curvature:
            data["curvature"] = runner_curvature(
                self.surface, runner.optimizer.id, runner.hyperparameters, trace
            )
        return {
            **data,
            "id": rid,
            "first_step": trace.first_step,
            "hp_version": self.meta[rid].hp_version,
            "points": trace.points,
            "losses": trace.losses,
            "gradients": trace.gradients,
            "deltas": trace.deltas,
            "state": trace.state,
            "terms": {name: np.ascontiguousarray(values, dtype=np.float64) for name, values in terms.items()},
        }

    def _new_divergences(self) -> list[Diverged]:
        events = []
        for rid in self.order:
            runner, meta = self.engine.runners[rid], self.meta[rid]
            if runner.running or meta.announced_divergence:
                continue
            meta.announced_divergence = True
            lr = runner.hyperparameters.get("lr")
            code = runner.divergence_code or "loss"
            events.append(
                Diverged(
                    runner=rid,
                    step=runner.diverged_at,
                    reason=code,
                    message=divergence_message(runner.diverged_at, code, lr),
                    lr=lr,
                )
            )
        return events

    @property
    def max_step(self) -> int:
        return max((self.engine.runners[rid].step for rid in self.order), default=0) if self.engine else 0

    # --- slow sockets ---------------------------------------------------------------------------------------

    def frame_steps(self, payload: dict[str, Any]) -> int:
        """Runner-steps: each runner's points."""
        return sum(len(r["points"]) for r in payload["runners"])

    def merge(self, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
        """Frames merge when every runner of the newer one continues the older one's steps with the same
        hyperparameters (a reset, a new start or a changed setting starts a new frame)."""
        before = {r["id"]: r for r in old["runners"]}
        if len(new["runners"]) != len(old["runners"]):
            return None
        for r in new["runners"]:
            prev = before.get(r["id"])
            if prev is None or prev["hp_version"] != r["hp_version"]:
                return None
            if prev["first_step"] + len(prev["points"]) != r["first_step"]:
                return None
        runners = []
        for r in new["runners"]:
            prev = before[r["id"]]
            merged = dict(r, first_step=prev["first_step"])
            for key in ("points", "losses", "gradients", "deltas"):
                merged[key] = np.concatenate([prev[key], r[key]])
            for group in ("state", "terms", "extras"):
                if group in r:
                    merged[group] = {k: np.concatenate([prev[group][k], v]) for k, v in r[group].items()}
            if ("curvature" in r) != ("curvature" in prev):  # switched on or off in between
                return None
            if "curvature" in r:
                merged["curvature"] = merge_curvature(prev["curvature"], r["curvature"])
            runners.append(merged)
        return {"type": "frame", "runners": runners}

    # --- views ------------------------------------------------------------------------------------------

    def state(self, cause: str, ref: str | None = None) -> SessionState:
        s = self.surface
        runners = []
        for rid in self.order:
            r = self.engine.runners[rid]
            point = self.engine.point(rid)
            runners.append(
                RunnerPublic(
                    id=rid,
                    optimizer=r.optimizer.id,
                    hyperparameters=r.hyperparameters,
                    hp_version=self.meta[rid].hp_version,
                    start=r.start,
                    point=(float(point[0]), float(point[1])),
                    step=r.step,
                    status="running" if r.running else "diverged",
                    diverged_at=r.diverged_at,
                    batch=self.meta[rid].batch,
                )
            )
        data = None
        if self.problem is not None and cause in DATA_CAUSES:
            p = self.problem
            data = DataInfo(
                problem=p.id,
                kind=p.kind,
                params=p.params.model_dump(),
                features=p.features.tolist(),
                targets=p.targets.tolist(),
                optimum=p.optimum,
            )
        return SessionState(
            ref=ref,
            cause=cause,
            surface=SurfaceInfo(
                data=data,
                id=s.id,
                name=s.name,
                formula=s.formula,
                x_range=s.x_range,
                y_range=s.y_range,
                minima=list(s.minima),
                log_scale=s.log_scale,
                hessian=None if self.quadratic is None else self.quadratic.hessian.tolist(),
                condition_number=None if self.quadratic is None else self.quadratic.condition_number,
            ),
            runners=runners,
            playing=self.playing,
            speed=self.speed,
            seed=self.seed,
            curvature=self.curvature,
        )
