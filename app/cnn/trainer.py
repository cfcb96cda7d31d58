"""A network learning the digits one optimizer step at a time, its settings changeable between steps.

The optimizer comes from the same registry as the 2-D surfaces (app/descent/optimizers/): the same ids,
hyperparameter names and ranges, built as the torch.optim class the id names. Every few steps, if asked,
it measures its sharpness and its gradient noise scale (app/cnn/monitor.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.cnn.data import BatchSampler, load_digits_split
from app.cnn.measurements import first_layer_filters, histogram, validate
from app.cnn.models import LayerInfo, ModelConfig, build_model, describe, parameter_count
from app.cnn.monitor import Monitor, NoiseScaleReport, SharpnessReport, measurement_cost
from app.cnn.probes import StepProbe, finite
from app.cnn.reports import EvalReport, SlowReport, StepReport
from app.cnn.schedules import ConstantSchedule, Schedule
from app.descent.optimizers import OPTIMIZERS, OptimizerChoice

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)
MAX_THREADS = 2  # torch's intra-op threads: the host has 2 cores, and these tensors are small
EVAL_SAMPLES = 512  # digits of the sharpness's evaluation subset: ~⅓ of the training split


def _one_batch_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One error for a refused batch size, not one per member of the union: the number's if it is one."""
    try:
        return handler(value)
    except ValidationError as exc:
        errors = exc.errors()
        number = next((e for e in errors if e["loc"] == ("constrained-int",)), None)
        if number is not None and not isinstance(value, str):
            raise PydanticCustomError(number["type"], number["msg"], number.get("ctx")) from None
        raise PydanticCustomError(
            "batch_size", 'Input should be a whole number from 1 to 512, or "full"'
        ) from None


BatchSize = Annotated[Annotated[int, Field(ge=1, le=512)] | Literal["full"], WrapValidator(_one_batch_error)]
Every = Annotated[int, Field(ge=0, le=1_000_000)]


class TrainerConfig(OptimizerChoice):
    """How to train: the optimizer and its hyperparameters, batches, schedule, seed, evaluation pace."""

    optimizer: str = Field("adam", description="optimizer id, as for the 2-D surfaces", examples=["adam"])
    batch_size: BatchSize = Field(
        64, description='digits per step; "full": the whole training split each step'
    )
    schedule: Schedule = Field(default_factory=ConstantSchedule, description="learning-rate schedule")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seeds the train/validation split and the batches")
    eval_every: int | None = Field(
        None, ge=0, le=1_000_000, description="steps between evaluations; null: once per epoch; 0: never"
    )
    val_fraction: float = Field(0.2, ge=0.1, le=0.5, description="share of the digits held out")
    sharpness_every: Every = Field(
        0,
        description="steps between measurements of the sharpness (λ_max of the loss's Hessian, or of P⁻¹H "
        "for adam, adamw, rmsprop) on the evaluation subset; 0: never",
    )
    noise_scale_every: Every = Field(
        0, description="steps between measurements of the gradient noise scale B_simple; 0: never"
    )
    sharpness_samples: int = Field(
        EVAL_SAMPLES,
        ge=2,
        le=2048,
        description="digits of the fixed evaluation subset both are measured on (at most the training split)",
    )


def _refuse(model: type[BaseModel], field: str, error: str, message: str, value: Any) -> ValidationError:
    """A ValidationError naming the field, like one pydantic raises itself."""
    details = InitErrorDetails(type=PydanticCustomError(error, message), loc=(field,), input=value)
    return ValidationError.from_exception_data(model.__name__, [details])


class Trainer:
    """One network, its optimizer and its data; ``step()`` trains on the next batch and measures it.

    Threads: making a Trainer lowers torch's intra-op threads to MAX_THREADS if there are more (a process
    setting, so it is changed here and not at import). A caller wanting fewer sets
    ``torch.set_num_threads`` itself: on a busy 2-core host one thread is steadier (bench/cnn.py).
    """

    def __init__(self, model: ModelConfig | None = None, config: TrainerConfig | None = None) -> None:
        if torch.get_num_threads() > MAX_THREADS:
            torch.set_num_threads(MAX_THREADS)
        self.model_config = model if model is not None else ModelConfig()
        self.config = config if config is not None else TrainerConfig()
        self._check_batch_size(self.config.batch_size)
        self._build()
        self._check_measurements(self.config)

    def _build(self) -> None:
        """Fresh weights, dropout masks, optimizer and batch order, all from the seeds."""
        self.data = load_digits_split(self.config.seed, self.config.val_fraction)
        self.model = build_model(self.model_config)
        self.model.train()
        self.probe = StepProbe(self.model)
        self.sampler = BatchSampler(self.data.n_train, self.config.seed)
        self.monitor = Monitor(self.data, self.config.sharpness_samples, self.config.seed)
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

    def _check_batch_size(self, n: int | Literal["full"]) -> None:
        if n != "full" and n < 2 and self.model_config.batch_norm:
            raise _refuse(
                TrainerConfig,
                "batch_size",
                "batch_norm_batch",
                "batch norm needs at least 2 digits per batch",
                n,
            )

    def set_hyperparameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """Change some hyperparameters from the next step on, keeping the optimizer's state; returns them
        all, defaults filled in. Refused values raise a ValidationError and change nothing."""
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

    def set_batch_size(self, n: int | Literal["full"]) -> None:
        self._check_batch_size(n)
        self.config = self._updated(batch_size=n)

    def _check_measurements(self, config: TrainerConfig) -> None:
        """Refuse measurements that would cost more than monitor.py's bounds on this network."""
        reason = measurement_cost(
            self.model,
            min(config.sharpness_samples, self.data.n_train),
            config.sharpness_every > 0,
            config.noise_scale_every > 0,
        )
        if reason is not None:
            raise _refuse(
                TrainerConfig, "sharpness_samples", "measurement_cost", reason, config.sharpness_samples
            )

    def set_measurements(self, **changes: int) -> None:
        """Change sharpness_every, noise_scale_every or sharpness_samples; a new sample count draws a new
        evaluation subset (the last vector stays as the next warm start)."""
        config = self._updated(**changes)
        self._check_measurements(config)
        if config.sharpness_samples != self.config.sharpness_samples:
            previous = self.monitor
            self.monitor = Monitor(self.data, config.sharpness_samples, config.seed)
            self.monitor.previous, self.monitor.quantity = previous.previous, previous.quantity
        self.config = config

    def set_schedule(self, schedule: Schedule | dict[str, Any]) -> None:
        """Takes effect at the next step; the schedule reads the step count, so it may start mid-curve."""
        self.config = self._updated(
            schedule=schedule.model_dump() if isinstance(schedule, BaseModel) else schedule
        )
        self._set_lr(self.optimizer)

    def set_eval_every(self, steps: int | None) -> None:
        self.config = self._updated(eval_every=steps)

    def reset(self, seed: int | None = None) -> None:
        """Start over: fresh weights, optimizer and batch order from the seed (the current ones if None).
        A new seed also reseeds the train/validation split."""
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
        """Epochs completed (an epoch whose last batch was drawn counts, as with a full batch each step)."""
        return int(self.sampler.progress)

    @property
    def diverged(self) -> bool:
        """A step's loss was not finite since the last reset."""
        return self._diverged

    @property
    def batch_size(self) -> int:
        """Digits per step, "full" resolved to the training split's size."""
        n = self.config.batch_size
        return self.data.n_train if n == "full" else n

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

    def step(self, measure: bool = True) -> StepReport:
        """One optimizer step on the next batch. measure=False skips the per-parameter and per-layer probes
        (params and layers are None; loss and accuracy stay): for steps no one will look at."""
        lr = self._set_lr(self.optimizer)
        batch = self.sampler.draw(self.batch_size)  # "full": the whole split, in a fresh order
        x, y = self.data.x_train[batch], self.data.y_train[batch]  # (B, 1, 8, 8), (B,)
        logits = self.probe.forward(x) if measure else self.model(x)  # (B, 10)
        loss = F.cross_entropy(logits, y)
        if measure:
            self.probe.backward(loss)  # sets every .grad: no zero_grad() needed
        else:
            for p in self.model.parameters():  # fresh gradients, not added into the probe's buffer
                p.grad = None
            loss.backward()
        self.optimizer.step()
        self._step_count += 1
        if measure:
            m = self.probe.read(loss, logits, y)
            loss_value, accuracy, params, layers = m.loss, m.accuracy, m.params, m.layers
        else:
            loss_value = finite(loss.detach().item())
            accuracy, params, layers = float((logits.argmax(dim=1) == y).sum()) / len(y), None, None
        self._diverged |= loss_value is None
        return StepReport(
            step=self._step_count,
            epoch=self.sampler.progress,
            batch_size=len(batch),
            lr=lr,
            loss=loss_value,
            accuracy=accuracy,
            diverged=loss_value is None,
            params=params,
            layers=layers,
            eval=self.evaluate() if self._eval_due() else None,
        )

    def _eval_due(self) -> bool:
        every = self.config.eval_every
        if every is None:  # once per epoch: after its last full batch
            return self.sampler.remaining < self.batch_size
        return every > 0 and self._step_count % every == 0

    def measure(self) -> list[SharpnessReport | NoiseScaleReport]:
        """The measurements due after the step just taken: the sharpness every sharpness_every steps, the
        noise scale every noise_scale_every; none before the first step or after a divergence."""
        c, step = self.config, self._step_count
        if step == 0 or self._diverged:
            return []
        out: list[SharpnessReport | NoiseScaleReport] = []
        if c.sharpness_every and step % c.sharpness_every == 0:
            report = self.monitor.sharpness(
                self.model, self.optimizer, c.optimizer, c.hyperparameters, self.lr, step
            )
            if report is not None:
                out.append(report)
        if c.noise_scale_every and step % c.noise_scale_every == 0:
            out.append(self.monitor.noise_scale(self.model, step, self.batch_size))
        return out

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
