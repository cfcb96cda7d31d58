"""Measurements of a network while it learns: fused per-step probes, and heavier on-demand snapshots.

Per step, a probe reads every parameter tensor (gradient norm, mean, std and max |g|; weight norm; the
norm of the update the optimizer made and its ratio to the weight norm) and every conv, linear and
activation layer (output mean and std, share of dead units, and ‖∂L/∂a‖, the gradient the chain rule
carried back to that output, captured with a tensor hook). Collected naively, one ``.item()`` per number,
that costs more than the training step itself; here it is a dozen torch calls over lists of tensors
(``torch._foreach_*``), one stacked tensor, and one transfer (bench/cnn.py measures the overhead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.cnn.data import IMAGE_SIZE, N_CLASSES, Digits
from app.cnn.models import layer_kind
from app.cnn.reports import EvalReport, Filters, Histogram, LayerStats, ParameterStats, Prediction

PROBED_KINDS = ("conv", "linear", "activation")
DEAD_ABS = 1e-6  # below this |a|, a unit of a layer that is not a ReLU counts as dead
HISTOGRAM_BINS = 41  # odd, so 0 sits in the middle of a bin
SAMPLES_SHOWN = 16  # validation digits in the predictions grid


@dataclass
class StepMeasurements:
    loss: float | None  # None: not finite
    accuracy: float
    params: ParameterStats
    layers: LayerStats


def finite_list(values: np.ndarray) -> list[float | None]:
    """A float array as a list, NaN and ±inf as None."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


class StepProbe:
    """Per-step measurements of one model. Around each training step:

    probe.record()           # before the forward pass: hooks keep the probed layers' outputs, ∂L/∂a
    loss.backward()
    probe.before_update()    # snapshot θ
    optimizer.step()
    probe.read(loss, logits, targets)   # the one transfer of the step
    """

    def __init__(self, model: nn.Sequential) -> None:
        named = list(model.named_parameters())
        self.param_names = [name for name, _ in named]
        self._params = [p for _, p in named]
        self._param_numel = np.array([p.numel() for p in self._params], dtype=np.float64)
        self._before = [torch.empty_like(p) for p in self._params]  # θ before the update, then −Δθ

        layers = [(name, m) for name, m in model.named_children() if layer_kind(m) in PROBED_KINDS]
        self.layer_names = [name for name, _ in layers]
        self.layer_kinds = [layer_kind(m) for _, m in layers]
        # After a ReLU, dead means exactly 0 on the whole batch; elsewhere outputs are rarely exactly 0.
        self._relu = [isinstance(m, nn.ReLU) for _, m in layers]
        self.dead_rules = ["zero" if relu else "abs<1e-6" for relu in self._relu]
        self._outputs: list[torch.Tensor | None] = [None] * len(layers)
        self._out_grads: list[torch.Tensor | None] = [None] * len(layers)
        self._grad_hooks = [partial(self._keep_grad, i) for i in range(len(layers))]
        self._recording = False
        self._handles = [
            m.register_forward_hook(partial(self._keep_output, i)) for i, (_, m) in enumerate(layers)
        ]
        self._units: tuple[int, ...] = ()  # units per layer (channels or features), known after a forward
        self._dead_threshold = torch.empty(0)  # (U,) dead when max |a| ≤ threshold
        self._unit_layer = torch.empty(0)  # (U, L) one-hot: which layer each unit belongs to

    # --- hooks ---------------------------------------------------------------------------------------

    def _keep_output(self, i: int, module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if self._recording and output.requires_grad:
            self._outputs[i] = output
            output.register_hook(self._grad_hooks[i])  # called with ∂L/∂output during backward

    def _keep_grad(self, i: int, grad: torch.Tensor) -> None:
        self._out_grads[i] = grad

    def close(self) -> None:
        """Remove the hooks (the model then runs as if never probed)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # --- a step --------------------------------------------------------------------------------------

    def record(self) -> None:
        self._recording = True

    @torch.no_grad()
    def before_update(self) -> None:
        torch._foreach_copy_(self._before, self._params)

    def _unit_tables(self, units: tuple[int, ...]) -> None:
        self._units = units
        layer = torch.repeat_interleave(torch.arange(len(units)), torch.tensor(units))  # (U,)
        self._unit_layer = F.one_hot(layer, len(units)).float()  # (U, L)
        below_abs = math.nextafter(DEAD_ABS, 0.0)  # so that ≤ means < DEAD_ABS
        per_layer = torch.tensor([0.0 if relu else below_abs for relu in self._relu])
        self._dead_threshold = per_layer[layer]  # (U,)

    @torch.no_grad()
    def read(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> StepMeasurements:
        """Every per-step measurement, after optimizer.step(); releases the kept outputs."""
        self._recording = False
        outs, out_grads = self._outputs, self._out_grads
        if any(o is None for o in outs) or any(g is None for g in out_grads):
            raise RuntimeError("read() needs a forward and backward pass recorded since record()")
        params = self._params
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        torch._foreach_sub_(self._before, params)  # θ_before − θ_after = −Δθ
        n, n_layers = len(params), len(outs)

        norms = torch._foreach_norm(grads + params + self._before + outs + out_grads)
        grad_max = torch._foreach_max(torch._foreach_abs(grads))
        grad_sums = [g.sum() for g in grads]
        out_sums = [o.sum() for o in outs]
        # per unit, the largest |a| over the batch (and positions): a unit is dead when even that is ~0
        maxima = [
            (o if relu else o.abs()).amax(dim=(0, 2, 3) if o.dim() == 4 else 0)
            for o, relu in zip(outs, self._relu, strict=True)
        ]
        units = tuple(len(m) for m in maxima)
        if units != self._units:
            self._unit_tables(units)
        dead = (torch.cat(maxima) <= self._dead_threshold).float() @ self._unit_layer  # (L,) dead units
        correct = (logits.argmax(dim=1) == targets).sum(dtype=torch.float32)
        scalars = torch.stack([*norms, *grad_max, *grad_sums, *out_sums, loss.detach(), correct])
        values = torch.cat([scalars, dead]).numpy().astype(np.float64)  # the one transfer of the step

        out_numel = np.array([o.numel() for o in outs], dtype=np.float64)
        self._outputs = [None] * n_layers
        self._out_grads = [None] * n_layers
        cuts = np.cumsum([n, n, n, n_layers, n_layers, n, n, n_layers, 1, 1])
        g_norm, w_norm, d_norm, o_norm, og_norm, g_max, g_sum, o_sum, loss_v, correct_v, dead_v = np.split(
            values, cuts
        )
        numel = self._param_numel
        with np.errstate(all="ignore"):  # NaN and inf pass through to become None
            g_mean = g_sum / numel
            g_std = np.sqrt(np.maximum(g_norm * g_norm / numel - g_mean * g_mean, 0.0))
            o_mean = o_sum / out_numel
            o_std = np.sqrt(np.maximum(o_norm * o_norm / out_numel - o_mean * o_mean, 0.0))
            ratio = d_norm / w_norm
        return StepMeasurements(
            loss=finite_list(loss_v)[0],
            accuracy=float(correct_v[0]) / len(targets),
            params=ParameterStats.model_construct(
                names=self.param_names,
                grad_norm=finite_list(g_norm),
                grad_mean=finite_list(g_mean),
                grad_std=finite_list(g_std),
                grad_max_abs=finite_list(g_max),
                weight_norm=finite_list(w_norm),
                update_norm=finite_list(d_norm),
                update_ratio=finite_list(ratio),
            ),
            layers=LayerStats.model_construct(
                names=self.layer_names,
                kinds=self.layer_kinds,
                act_mean=finite_list(o_mean),
                act_std=finite_list(o_std),
                dead_fraction=finite_list(dead_v / np.array(units, dtype=np.float64)),
                dead_rule=self.dead_rules,
                grad_norm=finite_list(og_norm),
            ),
        )

    def discard(self) -> None:
        """Forget a recorded pass without reading it."""
        self._recording = False
        self._outputs = [None] * len(self._outputs)
        self._out_grads = [None] * len(self._out_grads)


# --- on demand ---------------------------------------------------------------------------------------


def _nested(t: torch.Tensor) -> list:
    """A tensor as nested lists, NaN and ±inf as None."""
    a = t.detach().double().numpy()
    finite = np.isfinite(a)
    return a.tolist() if finite.all() else np.where(finite, a, None).tolist()


@torch.no_grad()
def histogram(name: str, x: torch.Tensor) -> Histogram:
    """Counts of x's entries on HISTOGRAM_BINS bins over [-limit, limit], limit a power of 2 ≥ max |x|."""
    x = x.detach().reshape(-1)
    finite = x[torch.isfinite(x)]
    peak = float(finite.abs().max()) if len(finite) else 0.0
    limit = 2.0 ** math.ceil(math.log2(peak)) if peak > 0 else 1.0
    counts = torch.histc(finite, bins=HISTOGRAM_BINS, min=-limit, max=limit)
    edges = torch.linspace(-limit, limit, HISTOGRAM_BINS + 1, dtype=torch.float64)
    return Histogram(
        name=name,
        limit=limit,
        edges=edges.tolist(),
        counts=[int(c) for c in counts.tolist()],
        nonfinite=len(x) - len(finite),
    )


def first_layer_filters(model: nn.Sequential) -> Filters:
    """conv1's kernels (in_channels is 1: one k×k image each), or fc1's rows as 8×8 images."""
    name, layer = next((n, m) for n, m in model.named_children() if isinstance(m, nn.Conv2d | nn.Linear))
    side = layer.kernel_size[0] if isinstance(layer, nn.Conv2d) else IMAGE_SIZE
    shape = (-1, side, side)  # conv (C_out, 1, k, k) → (C_out, k, k); linear (width, 64) → (width, 8, 8)
    grad = layer.weight.grad
    return Filters(
        layer=name,
        weights=_nested(layer.weight.reshape(shape)),
        grads=None if grad is None else _nested(grad.reshape(shape)),
    )


@dataclass
class Validation:
    """The network's outputs on the whole validation split, and what follows from them."""

    logits: torch.Tensor  # (N_val, 10)
    report: EvalReport

    def confusion(self, targets: torch.Tensor) -> list[list[int]]:
        predicted = self.logits.argmax(dim=1)
        counts = torch.bincount(targets * N_CLASSES + predicted, minlength=N_CLASSES * N_CLASSES)
        return counts.reshape(N_CLASSES, N_CLASSES).tolist()  # [true][predicted]

    def predictions(self, data: Digits, count: int = SAMPLES_SHOWN) -> list[Prediction]:
        """The first `count` validation digits (the split is shuffled, so they are a mix of classes)."""
        probabilities = torch.softmax(self.logits[:count].double(), dim=1)
        confidence, predicted = probabilities.max(dim=1)
        return [
            Prediction(
                index=i,
                pixels=data.pixels_val[i].tolist(),
                label=int(data.y_val[i]),
                predicted=int(predicted[i]),
                confidence=c if math.isfinite(c) else None,
            )
            for i, c in enumerate(confidence.tolist())
        ]


@torch.no_grad()
def validate(model: nn.Sequential, data: Digits, step: int, epoch: float) -> Validation:
    """One forward pass over the validation split in eval mode (dropout off, batch norm's running stats)."""
    was_training = model.training
    model.eval()
    try:
        logits = model(data.x_val)  # (N_val, 10)
    finally:
        model.train(was_training)
    loss = float(F.cross_entropy(logits, data.y_val))
    accuracy = float((logits.argmax(dim=1) == data.y_val).float().mean())
    report = EvalReport(
        step=step,
        epoch=epoch,
        loss=loss if math.isfinite(loss) else None,
        accuracy=accuracy,
        samples=data.n_val,
    )
    return Validation(logits=logits, report=report)
