"""A CNN training as a live session: one Trainer, driven by cnn_* commands, stepped by live.py.

Trainings share the server's cores, so a server-wide number of training slots (GDVIZ_MAX_TRAININGS) caps
how many run at once; a session that plays without a slot waits in line and its page shows its place.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from typing import Any

from pydantic import ValidationError

from app.cnn.landscape import MIN_SNAPSHOTS, Evaluator, WeightPath, flat_weights
from app.cnn.models import ModelConfig
from app.cnn.monitor import SharpnessReport
from app.cnn.trainer import Trainer, TrainerConfig
from app.config import Settings
from app.descent.optimizers import OPTIMIZERS
from app.errors import AppError, from_validation_error
from app.sessions.cnn.landscape import LandscapeJob, project
from app.sessions.cnn.protocol import (
    CNN_CLIENT_MESSAGE,
    CnnLandscape,
    CnnLandscapeCancel,
    CnnModel,
    CnnReset,
    CnnSnapshotRequest,
    CnnStart,
    CnnState,
    CnnUpdate,
)
from app.sessions.cnn.slots import TrainingSlots
from app.sessions.core import SessionCore

SNAPSHOT_EVERY = 0.5  # s between automatic snapshots while training


class CnnSession(SessionCore):
    messages = CNN_CLIENT_MESSAGE
    tick_estimate = 5e-3  # a measured step of the default CNN, batch 64
    lane, lane_threads = "training", 1

    def __init__(
        self, settings: Settings, slots: TrainingSlots, landscapes: threading.Semaphore | None = None
    ):
        super().__init__(settings)
        self.slots = slots
        # landscapes computing at once, server-wide (the cnn kind's resources); a session of its own in tests
        self.landscapes = landscapes or threading.BoundedSemaphore(settings.max_landscapes)
        self.trainer: Trainer | None = None
        self.speed = 100.0
        self._snapshot_due = False
        self._last_snapshot = 0.0
        self.snapshots: WeightPath | None = None  # the weights along the run, for the landscape's path
        self.landscape: LandscapeJob | None = None  # the one computing
        self.shown: LandscapeJob | None = None  # the latest asked for: its plane gets the current point
        self._jobs = 0

    @property
    def started(self) -> bool:
        return self.trainer is not None

    @property
    def runner_count(self) -> int:
        """One network training (once started); a landscape computing beside it is no runner."""
        return 1 if self.trainer is not None else 0

    def status(self) -> str:
        t = self.trainer
        if t is None:
            return "CNN training, not started"
        landscape = ", a landscape computing" if self.landscape is not None and self.landscape.running else ""
        return f"CNN training of {t.parameter_count()} parameters, step {t.step_count}{landscape}"

    @property
    def runnable(self) -> bool:
        return self.trainer is not None and not self.trainer.diverged and self.slots.holds(self)

    @property
    def waiting(self) -> bool:
        return (
            self.trainer is not None
            and (self.playing or self.pending_steps > 0)
            and not self.slots.holds(self)
        )

    @property
    def max_step(self) -> int:
        return self.trainer.step_count if self.trainer is not None else 0

    # --- commands --------------------------------------------------------------------------------------

    def apply(self, msg: Any) -> CnnState:
        if isinstance(msg, CnnStart):
            self.trainer = _trainer(msg.model, msg.trainer)
            self.playing, self.speed, self.pending_steps = msg.playing, msg.speed, 0
            self._new_weights()
        elif self.trainer is None:
            raise AppError(409, "no_run", "no training yet: send a 'cnn_start' message first")
        elif isinstance(msg, CnnUpdate):
            self._update(msg)
        elif isinstance(msg, CnnModel):
            self.trainer = _trainer(msg.model, self.trainer.config)
            self._new_weights()
        elif isinstance(msg, CnnReset):
            self.trainer.reset(msg.seed)
            self._new_weights()
        elif isinstance(msg, CnnSnapshotRequest):
            self._snapshot_due = True
        elif isinstance(msg, CnnLandscape):
            self._start_landscape(msg)
        elif isinstance(msg, CnnLandscapeCancel):
            self.stop_landscape()
        else:
            self.playback(msg)
        self._claim()
        return self.state(msg.type, msg.ref)

    def _new_weights(self) -> None:
        """A new network or fresh weights: a new path begins at them, and the old landscape is moot."""
        self.stop_landscape()
        self.shown = None
        t = self.trainer
        size = 4 * t.parameter_count()  # float32 snapshots
        self.snapshots = WeightPath(max(self.settings.landscape_snapshot_bytes, MIN_SNAPSHOTS * size))
        self.snapshots.add(t.step_count, t.model)
        self._snapshot_due = True

    def _start_landscape(self, msg: CnnLandscape) -> None:
        """Between two steps: save the current weights, copy what the evaluation needs, start the job."""
        t = self.trainer
        self.stop_landscape()
        self.snapshots.add(t.step_count, t.model)
        if msg.plane == "pca" and len(self.snapshots) < MIN_SNAPSHOTS:
            raise AppError(
                409,
                "too_early",
                f"a PCA plane needs the path of at least {MIN_SNAPSHOTS} saved weights, "
                f"this run has {len(self.snapshots)}: train a few steps first, or pick random directions",
            )
        self._jobs += 1
        self.landscape = LandscapeJob(
            self._jobs,
            msg,
            self.snapshots,
            Evaluator.on_training_split(t.model, t.data),
            self.landscapes,
            self._emit,
        )
        self.landscape.start()
        self.shown = self.landscape

    def _emit(self, message: Any) -> None:
        emit = self.emit  # read at each call: a resumed page brings a new live session
        if emit is not None:
            emit(message)

    def stop_landscape(self) -> None:
        if self.landscape is not None:
            self.landscape.stop()
            self.landscape = None

    def _update(self, msg: CnnUpdate) -> None:
        t = self.trainer
        try:
            if msg.optimizer is not None and msg.optimizer != t.config.optimizer:
                # Names the two optimizers share (lr, weight_decay...) carry over.
                shared = _shared(msg.optimizer, t.config.hyperparameters)
                t.set_optimizer(msg.optimizer, {**shared, **msg.hyperparameters})
            elif msg.hyperparameters:
                t.set_hyperparameters(msg.hyperparameters)
            if msg.batch_size is not None:
                t.set_batch_size(msg.batch_size)
            if msg.schedule is not None:
                t.set_schedule(msg.schedule)
            if "eval_every" in msg.model_fields_set:
                t.set_eval_every(msg.eval_every)
            measurements = {
                name: getattr(msg, name)
                for name in ("sharpness_every", "noise_scale_every", "sharpness_samples")
                if getattr(msg, name) is not None
            }
            if measurements:
                t.set_measurements(**measurements)
        except ValidationError as exc:
            raise from_validation_error(exc, drop=()) from None

    def _claim(self) -> None:
        """Hold a training slot while there is training to do; give it back otherwise."""
        if self.trainer is not None and (self.playing or self.pending_steps) and not self.trainer.diverged:
            self.slots.request(self)
        else:
            self.slots.release(self)

    def granted(self) -> None:
        if self.notify is not None:
            self.notify("slot")

    def moved(self) -> None:
        if self.notify is not None:
            self.notify("queue")

    def after(self, msg: Any) -> list[Any]:
        """A snapshot asked for, or due after a new model or a reset, is sent at once when nothing steps."""
        if self.runnable and (self.playing or self.pending_steps):
            return []  # the next slice sends it
        snapshot = self.snapshot_now()
        return [snapshot, *self._point()] if snapshot is not None else []

    def detached(self) -> None:
        self.slots.release(self)
        self.stop_landscape()  # its rows would go nowhere; the page asks again when it is back

    def resumed(self) -> None:
        self._claim()

    def closed(self) -> None:
        self.slots.release(self)
        self.stop_landscape()

    # --- stepping ----------------------------------------------------------------------------------------

    def advance(self, ticks: int) -> tuple[dict[str, Any] | None, list[Any]]:
        """``ticks`` optimizer steps, each measured; the sharpness and noise scale when due (in this slice:
        their cost counts in the tick cost live.py paces by); a snapshot when one is due; a stop on
        divergence."""
        t = self.trainer
        steps = []
        events: list[Any] = []
        for _ in range(ticks):
            report = t.step()
            steps.append(report)
            self.snapshots.maybe_add(t.step_count, t.model)
            for measured in t.measure():
                kind = "cnn_sharpness" if isinstance(measured, SharpnessReport) else "cnn_noise_scale"
                events.append({"type": kind, **asdict(measured)})
            if report.diverged:
                break
        now = time.monotonic()
        last_slice = not self.playing and not self.pending_steps  # the steps asked for are done
        if self._snapshot_due or last_slice or now - self._last_snapshot >= SNAPSHOT_EVERY:
            events.append({"type": "cnn_snapshot", "report": t.snapshot()})
            events += self._point()
            self._snapshot_due, self._last_snapshot = False, now
        if t.diverged:
            self.playing, self.pending_steps = False, 0
            self.slots.release(self)
            events.append(self.state("diverged"))
        elif not (self.playing or self.pending_steps):
            self.slots.release(self)
        return ({"type": "cnn_frame", "steps": steps} if steps else None), events

    def snapshot_now(self) -> dict[str, Any] | None:
        """The snapshot a paused page asked for (no step to wait for)."""
        if self.trainer is None or not self._snapshot_due:
            return None
        self._snapshot_due, self._last_snapshot = False, time.monotonic()
        return {"type": "cnn_snapshot", "report": self.trainer.snapshot()}

    def _point(self) -> list[Any]:
        """The current weights on the latest landscape's plane, once it has one."""
        job = self.shown
        if job is None or job.plane is None:
            return []
        t = self.trainer
        return [project(job.job, job.plane, t.step_count, flat_weights(t.model))]

    def frame_steps(self, payload: dict[str, Any]) -> int:
        """Training steps: one report each."""
        return len(payload["steps"])

    def merge(self, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
        """Waiting frames join when their steps follow on (a reset starts a new frame)."""
        if old["steps"] and new["steps"] and old["steps"][-1].step + 1 == new["steps"][0].step:
            return {"type": "cnn_frame", "steps": old["steps"] + new["steps"]}
        return None

    # --- views -------------------------------------------------------------------------------------------

    def state(self, cause: str, ref: str | None = None) -> CnnState:
        t = self.trainer
        return CnnState(
            ref=ref,
            cause=cause,
            model=t.model_config,
            trainer=t.config,
            layers=t.describe(),
            parameter_count=t.parameter_count(),
            step=t.step_count,
            epoch=t.epoch,
            lr=t.lr,
            playing=self.playing,
            speed=self.speed,
            queue_position=self.slots.position(self),
            diverged=t.diverged,
        )


def _trainer(model: ModelConfig, config: TrainerConfig) -> Trainer:
    """A new Trainer; a setting it refuses for this network (a batch of one with batch norm, a measurement
    over its cost bound) is answered like any invalid field."""
    try:
        return Trainer(model, config)
    except ValidationError as exc:
        raise from_validation_error(exc, drop=()) from None


def _shared(optimizer_id: str, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters a new optimizer shares with these; none for an unknown id (validation says so)."""
    spec = OPTIMIZERS.get(optimizer_id)
    names = {hp.name for hp in spec.hyperparameters} if spec is not None else set()
    return {k: v for k, v in hyperparameters.items() if k in names}
