"""A network learning the digits one optimizer step at a time, its settings changeable between steps.

The optimizer comes from the same registry as the 2-D surfaces (app/descent/optimizers.py): the same ids,
hyperparameter names and ranges, built as the torch.optim class the id names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.cnn.data import BatchSampler, load_digits_split
from app.cnn.models import LayerInfo, ModelConfig, build_model, describe, parameter_count
from app.cnn.probes import StepProbe, first_layer_filters, histogram, validate
from app.cnn.reports import EvalReport, SlowReport, StepReport
from app.cnn.schedules import ConstantSchedule, Schedule
from app.descent.optimizers import HYPERPARAMETER_MODELS, OPTIMIZERS

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)
MAX_THREADS = 2  # torch's intra-op threads: the host has 2 cores, and these tensors are small


def check_optimizer(value: str) -> str:
    if value not in OPTIMIZERS:
        raise PydanticCustomError(
            "unknown_optimizer",
            "unknown optimizer '{id}'; known: {known}",
            {"id": str(value)[:60], "known": ", ".join(OPTIMIZERS)},
        )
    return value


def check_hyperparameters(optimizer_id: str | None, value: Any) -> dict[str, Any]:
    """Validate against the optimizer's own model (names, types, ranges); fill in torch's defaults."""
    model = HYPERPARAMETER_MODELS.get(optimizer_id or "")
    if model is None:  # the optimizer id itself was refused; that error names the field
        return value if isinstance(value, dict) else {}
    validated = model.model_validate(value)
    return {name: getattr(validated, name) for name in type(validated).model_fields}


class TrainerConfig(BaseModel):
    """How to train: the optimizer and its hyperparameters, batches, schedule, seed, evaluation pace."""

    model_config = INPUT
    optimizer: str = Field("adam", description="optimizer id, as for the 2-D surfaces", examples=["adam"])
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        validate_default=True,
        description='torch.optim names, e.g. {"lr": 0.001, "weight_decay": 0.0001}; omitted: defaults',
    )
    batch_size: int = Field(64, ge=1, le=512, description="digits per step")
    schedule: Schedule = Field(default_factory=ConstantSchedule, description="learning-rate schedule")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seeds the train/validation split, batches, dropout")
    eval_every: int | None = Field(
        None, ge=0, le=1_000_000, description="steps between evaluations; null: once per epoch; 0: never"
    )
    val_fraction: float = Field(0.2, ge=0.1, le=0.5, description="share of the digits held out")

    @field_validator("optimizer")
    @classmethod
    def _known(cls, value: str) -> str:
        return check_optimizer(value)

    @field_validator("hyperparameters", mode="wrap")
    @classmethod
    def _valid(cls, value: Any, handler: Any, info: ValidationInfo) -> dict[str, Any]:
        return check_hyperparameters(info.data.get("optimizer"), handler(value))


def _refuse(model: type[BaseModel], field: str, error: str, message: str, value: Any) -> ValidationError:
    """A ValidationError naming the field, like one pydantic raises itself."""
    details = InitErrorDetails(type=PydanticCustomError(error, message), loc=(field,), input=value)
    return ValidationError.from_exception_data(model.__name__, [details])


class Trainer:
    """One network, its optimizer and its data; ``step()`` trains on the next batch and measures it.

    Threads: the first Trainer lowers torch's intra-op threads to MAX_THREADS if there are more (a process
    setting, applied here and not at import). A caller wanting fewer sets ``torch.set_num_threads`` itself.
    """

    def __init__(self, model: ModelConfig | None = None, config: TrainerConfig | None = None) -> None:
        if torch.get_num_threads() > MAX_THREADS:
            torch.set_num_threads(MAX_THREADS)
        self.model_config = model if model is not None else ModelConfig()
        self.config = config if config is not None else TrainerConfig()
        self._check_batch_size(self.config.batch_size)
        self._build()

    def _build(self) -> None:
        """Fresh weights, optimizer, batch order and dropout stream, all from the seeds."""
        self.data = load_digits_split(self.config.seed, self.config.val_fraction)
        self.model = build_model(self.model_config)
        self.model.train()
        self.probe = StepProbe(self.model)
        self.sampler = BatchSampler(self.data.n_train, self.config.seed)
        # dropout draws from torch's global generator: this trainer keeps its own state and swaps it in
        self._uses_rng = self.model_config.dropout > 0
        self._rng_state = torch.Generator().manual_seed(self.config.seed).get_state()
        self._step_count = 0
        self._diverged = False
        self.optimizer = self._make_optimizer()

    def _make_optimizer(self) -> torch.optim.Optimizer:
        spec = OPTIMIZERS[self.config.optimizer]
        optimizer = spec.make_torch_optimizer(self.model.parameters(), self.config.hyperparameters)
        self._set_lr(optimizer)
        return optimizer

    # --- settings ------------------------------------------------------------------------------------

    def _updated(self, **changes: Any) -> TrainerConfig:
        """The config with changes, validated as a whole (a refused change names its field)."""
        return TrainerConfig.model_validate({**self.config.model_dump(), **changes})

    def _check_batch_size(self, n: int) -> None:
        if n < 2 and self.model_config.batch_norm:
            raise _refuse(
                TrainerConfig,
                "batch_size",
                "batch_norm_batch",
                "batch norm needs at least 2 digits per batch",
                n,
            )

    def set_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """Change some hyperparameters from the next step on, keeping the optimizer's state; returns all."""
        self.config = self._updated(hyperparameters={**self.config.hyperparameters, **values})
        spec = OPTIMIZERS[self.config.optimizer]
        kwargs = spec.torch_kwargs(self.config.hyperparameters)
        for group in self.optimizer.param_groups:
            group.update(kwargs)
        self._fill_state()
        self._set_lr(self.optimizer)
        return dict(self.config.hyperparameters)

    def _fill_state(self) -> None:
        """Add the state a switched-on option needs (Adam's amsgrad, RMSprop's momentum and centered):
        torch.optim creates it only on an optimizer's first step, with zeros, as here."""
        spec = OPTIMIZERS[self.config.optimizer]
        if spec.torch_class is torch.optim.SGD:  # a missing momentum buffer means "start from g": keep it
            return
        for param, state in self.optimizer.state.items():
            for name in spec.state_names:
                if state and name != "step" and name not in state:
                    state[name] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def set_optimizer(self, optimizer_id: str, hyperparameters: dict[str, Any] | None = None) -> None:
        """Switch optimizer: fresh state, the same weights; omitted hyperparameters take the id's defaults."""
        self.config = self._updated(optimizer=optimizer_id, hyperparameters=hyperparameters or {})
        self.optimizer = self._make_optimizer()

    def set_batch_size(self, n: int) -> None:
        self._check_batch_size(n)
        self.config = self._updated(batch_size=n)

    def set_schedule(self, schedule: Schedule | dict[str, Any]) -> None:
        """Takes effect at the next step; the schedule reads the step count, so it may start mid-curve."""
        self.config = self._updated(
            schedule=schedule.model_dump() if isinstance(schedule, BaseModel) else schedule
        )
        self._set_lr(self.optimizer)

    def set_eval_every(self, steps: int | None) -> None:
        self.config = self._updated(eval_every=steps)

    def reset(self, seed: int | None = None) -> None:
        """Start over: fresh weights, optimizer and batch order from the seed (the current ones if None)."""
        if seed is not None:
            self.model_config = ModelConfig.model_validate({**self.model_config.model_dump(), "seed": seed})
            self.config = self._updated(seed=seed)
        self._build()

    # --- reading -------------------------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        return self._step_count

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return self.sampler.epoch

    @property
    def diverged(self) -> bool:
        """A step's loss was not finite since the last reset."""
        return self._diverged

    @property
    def lr(self) -> float:
        """The learning rate the next step will use."""
        return self.config.hyperparameters["lr"] * self.config.schedule.factor(self._step_count)

    def describe(self) -> list[LayerInfo]:
        return describe(self.model)

    def parameter_count(self) -> int:
        return parameter_count(self.model)

    # --- stepping ------------------------------------------------------------------------------------

    def _set_lr(self, optimizer: torch.optim.Optimizer) -> float:
        lr = self.lr
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    @contextmanager
    def _own_rng(self) -> Iterator[None]:
        """Dropout masks from this trainer's own random stream, so trainers sharing a process stay seeded."""
        outer = torch.get_rng_state()
        torch.set_rng_state(self._rng_state)
        try:
            yield
        finally:
            self._rng_state = torch.get_rng_state()
            torch.set_rng_state(outer)

    def step(self) -> StepReport:
        """One optimizer step on the next batch, measured."""
        lr = self._set_lr(self.optimizer)
        batch = self.sampler.next(self.config.batch_size)
        x, y = self.data.x_train[batch], self.data.y_train[batch]  # (B, 1, 8, 8), (B,)
        try:
            if self._uses_rng:
                with self._own_rng():
                    logits = self.probe.forward(x)  # (B, 10)
            else:
                logits = self.probe.forward(x)
            loss = F.cross_entropy(logits, y)
            self.probe.backward(loss)  # sets every .grad: no zero_grad() needed
            self.optimizer.step()
        except BaseException:
            self.probe.discard()
            raise
        self._step_count += 1
        measured = self.probe.read(loss, logits, y)
        diverged = measured.loss is None
        self._diverged |= diverged
        return StepReport.model_construct(
            step=self._step_count,
            epoch=self.sampler.progress,
            batch_size=len(batch),
            lr=lr,
            loss=measured.loss,
            accuracy=measured.accuracy,
            diverged=diverged,
            params=measured.params,
            layers=measured.layers,
            eval=self.evaluate() if self._eval_due() else None,
        )

    def _eval_due(self) -> bool:
        every = self.config.eval_every
        if every is None:  # once per epoch: after its last full batch
            return self.sampler.remaining < self.config.batch_size
        return every > 0 and self._step_count % every == 0

    def evaluate(self) -> EvalReport:
        """Loss and accuracy on the validation split."""
        return validate(self.model, self.data, self._step_count, self.sampler.progress).report

    def snapshot(self) -> SlowReport:
        """Histograms, first-layer filters, predictions on 16 digits, confusion matrix, validation scores.
        Gradients are the last step's."""
        validation = validate(self.model, self.data, self._step_count, self.sampler.progress)
        named = list(self.model.named_parameters())
        return SlowReport(
            step=self._step_count,
            grad_histograms=[histogram(name, p.grad) for name, p in named if p.grad is not None],
            weight_histograms=[histogram(name, p) for name, p in named],
            filters=first_layer_filters(self.model),
            predictions=validation.predictions(self.data),
            confusion=validation.confusion(self.data.y_val),
            eval=validation.report,
        )
