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
from itertools import pairwise

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
    """Per-step measurements of one model. A training step goes through the probe:

        logits = probe.forward(x)         # the model's layers in order, keeping the probed outputs
        loss = F.cross_entropy(logits, y)
        probe.backward(loss)              # ∂L/∂θ into each parameter's .grad, ∂L/∂a kept; θ snapshot
        optimizer.step()
        probe.read(loss, logits, y)       # every reduction, then the one transfer of the step

    ∂L/∂a(l) for each probed output comes from the same backward pass as the parameter gradients
    (``torch.autograd.grad`` with the outputs among its inputs), so the chain rule's intermediate values
    are read where autograd holds them. Python tensor hooks on the outputs give the same numbers but cost
    ~20 µs each per backward pass (+7 % on the default CNN), ``retain_grad`` about +40 %.

    The parameters become views of one flat buffer (row 1 of a (3, P) tensor) and their .grad views of
    row 0, so the snapshot of θ and Δθ are one operation each, and each tensor's gradient, weight and
    update norms one reduction over a (3, size) column block. Every number lands in a slot of one
    preallocated result tensor (``out=``), read once per step. Don't call ``optimizer.zero_grad()``:
    backward() overwrites the gradients, and set_to_none would detach them from the buffer.
    """

    def __init__(self, model: nn.Sequential) -> None:
        named = list(model.named_parameters())
        self.param_names = [name for name, _ in named]
        self._params = [p for _, p in named]
        sizes = [p.numel() for p in self._params]
        bounds = np.cumsum([0, *sizes]).tolist()
        spans = list(pairwise(bounds))  # [start, end) of each parameter in the flat buffer
        # rows: 0 the gradients, 1 the weights (the parameters' own storage), 2 θ before the update, then
        # θ_before − θ_after = −Δθ
        self._flat = torch.zeros(3, bounds[-1])  # (3, P)
        with torch.no_grad():
            for p, (start, end) in zip(self._params, spans, strict=True):
                view = self._flat[1, start:end].view_as(p)
                view.copy_(p)
                p.data = view
        self._grad_views = [
            self._flat[0, a:b].view_as(p) for p, (a, b) in zip(self._params, spans, strict=True)
        ]
        self._columns = [self._flat[:, a:b] for a, b in spans]  # (3, size) each
        self._grad_rows = [self._flat[0, a:b] for a, b in spans]  # (size,) each
        self._param_numel = np.array(sizes, dtype=np.float64)

        self._layers = list(model.children())
        kinds = [layer_kind(m) for m in self._layers]
        self._probed = [kind in PROBED_KINDS for kind in kinds]
        probed = [
            (name, m) for (name, m), keep in zip(model.named_children(), self._probed, strict=True) if keep
        ]
        self.layer_names = [name for name, _ in probed]
        self.layer_kinds = [layer_kind(m) for _, m in probed]
        # Dead units are a property of a nonlinearity: after a ReLU, exactly 0 on the whole batch; after
        # the others (never exactly 0), |a| < DEAD_ABS. Conv and linear outputs have none (None).
        self._active = [kind == "activation" for kind in self.layer_kinds]
        self._relu = [isinstance(m, nn.ReLU) for _, m in probed]
        self.dead_rules: list[str | None] = [
            ("zero" if relu else "abs<1e-6") if active else None
            for active, relu in zip(self._active, self._relu, strict=True)
        ]
        n, n_layers, n_active = len(self._params), len(probed), sum(self._active)
        self._outputs: list[torch.Tensor] = []
        self._out_grads: tuple[torch.Tensor, ...] = ()
        self._units: tuple[int, ...] = ()  # units per activation layer (channels or features)
        self._dead_threshold = torch.empty(0)  # (U,) a unit is dead when its max |a| ≤ threshold
        self._unit_layer = torch.empty(0)  # (U, L_active) one-hot: the layer of each unit

        # the result: one slot per number, written by the reductions themselves (out=)
        self._result = torch.empty(6 * n + 3 * n_layers + n_active + 2)
        param_slots = self._result[: 6 * n].view(n, 6)  # ‖g‖ ‖θ‖ ‖Δθ‖ Σg min g max g
        layer_slots = self._result[6 * n : 6 * n + 3 * n_layers].view(3, n_layers)  # Σa ‖a‖ ‖∂L/∂a‖
        self._dead_slots = self._result[6 * n + 3 * n_layers : -2]  # dead units per activation layer
        self._loss_slot, self._correct_slot = self._result[-2], self._result[-1]
        # the slot views, made once: indexing costs a few µs per view per step
        self._param_outs = [(row[:3], row[3], row[4], row[5]) for row in param_slots]
        self._layer_outs = [tuple(layer_slots[:, i]) for i in range(n_layers)]

    # --- a step --------------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's forward pass (what nn.Sequential.forward does), keeping the probed layers' outputs."""
        outputs = []
        for layer, keep in zip(self._layers, self._probed, strict=True):
            x = layer(x)
            if keep:
                outputs.append(x)
        self._outputs = outputs
        return x

    def backward(self, loss: torch.Tensor) -> None:
        """∂L/∂θ into each parameter's .grad, ∂L/∂a of each probed output kept, and a snapshot of θ."""
        if not self._outputs:
            raise RuntimeError("backward() needs a forward() first")
        n = len(self._params)
        grads = torch.autograd.grad(loss, self._params + self._outputs, materialize_grads=True)
        with torch.no_grad():
            torch.cat([g.reshape(-1) for g in grads[:n]], out=self._flat[0])
            self._flat[2].copy_(self._flat[1])
        self._out_grads = grads[n:]
        if self._params[0].grad is not self._grad_views[0]:  # first step, or someone set .grad
            for p, view in zip(self._params, self._grad_views, strict=True):
                p.grad = view

    def _unit_tables(self, units: tuple[int, ...]) -> None:
        self._units = units
        layer = torch.repeat_interleave(torch.arange(len(units)), torch.tensor(units))  # (U,)
        self._unit_layer = F.one_hot(layer, len(units)).float()  # (U, L_active)
        below_abs = math.nextafter(DEAD_ABS, 0.0)  # so that ≤ means < DEAD_ABS
        relu = [r for r, active in zip(self._relu, self._active, strict=True) if active]
        self._dead_threshold = torch.tensor([0.0 if r else below_abs for r in relu])[layer]  # (U,)

    @torch.no_grad()
    def _reduce(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> tuple[int, ...]:
        """Every reduction of the step, each into its slot of _result."""
        self._flat[2].sub_(self._flat[1])  # θ_before − θ_after = −Δθ
        for column, grad, (norms, total, low, high) in zip(
            self._columns, self._grad_rows, self._param_outs, strict=True
        ):
            torch.linalg.vector_norm(column, dim=1, out=norms)  # ‖g‖, ‖θ‖, ‖Δθ‖
            torch.sum(grad, dim=0, out=total)
            torch.aminmax(grad, out=(low, high))

        maxima = []
        for out, grad, active, relu, (total, norm, grad_norm) in zip(
            self._outputs, self._out_grads, self._active, self._relu, self._layer_outs, strict=True
        ):
            torch.sum(out.view(-1), dim=0, out=total)
            torch.linalg.vector_norm(out, out=norm)
            torch.linalg.vector_norm(grad, out=grad_norm)
            if active:  # per unit, the largest |a| over the batch (and positions): dead when even that is ~0
                maxima.append((out if relu else out.abs()).amax(dim=(0, 2, 3) if out.dim() == 4 else 0))
        units = tuple(len(m) for m in maxima)
        if maxima:
            if units != self._units:
                self._unit_tables(units)
            dead = torch.le(torch.cat(maxima), self._dead_threshold).float()  # (U,)
            torch.mv(self._unit_layer.T, dead, out=self._dead_slots)  # dead units per activation layer
        self._loss_slot.copy_(loss.detach())
        torch.sum(logits.argmax(dim=1) == targets, dim=0, out=self._correct_slot)
        return units

    def read(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> StepMeasurements:
        """Every per-step measurement, after optimizer.step(); releases the kept outputs."""
        if not self._out_grads:
            raise RuntimeError("read() needs a forward() and backward() first")
        try:
            units = self._reduce(loss, logits, targets)
            out_numel = np.array([o.numel() for o in self._outputs], dtype=np.float64)
        finally:
            self.discard()
        values = self._result.numpy().astype(np.float64)  # the one transfer of the step
        n, n_layers = len(self._params), len(self.layer_names)
        g_norm, w_norm, d_norm, g_sum, g_min, g_max = values[: 6 * n].reshape(n, 6).T
        o_sum, o_norm, og_norm = values[6 * n : 6 * n + 3 * n_layers].reshape(3, n_layers)
        dead = iter(finite_list(values[6 * n + 3 * n_layers : -2] / np.array(units, dtype=np.float64)))
        numel = self._param_numel
        with np.errstate(all="ignore"):  # NaN and inf pass through to become None
            g_mean = g_sum / numel
            g_std = np.sqrt(np.maximum(g_norm * g_norm / numel - g_mean * g_mean, 0.0))
            o_mean = o_sum / out_numel
            o_std = np.sqrt(np.maximum(o_norm * o_norm / out_numel - o_mean * o_mean, 0.0))
            ratio = d_norm / w_norm
        return StepMeasurements(
            loss=finite_list(values[-2:-1])[0],
            accuracy=float(values[-1]) / len(targets),
            params=ParameterStats.model_construct(
                names=self.param_names,
                grad_norm=finite_list(g_norm),
                grad_mean=finite_list(g_mean),
                grad_std=finite_list(g_std),
                grad_max_abs=finite_list(np.maximum(-g_min, g_max)),
                weight_norm=finite_list(w_norm),
                update_norm=finite_list(d_norm),
                update_ratio=finite_list(ratio),
            ),
            layers=LayerStats.model_construct(
                names=self.layer_names,
                kinds=self.layer_kinds,
                act_mean=finite_list(o_mean),
                act_std=finite_list(o_std),
                dead_fraction=[next(dead) if active else None for active in self._active],
                dead_rule=self.dead_rules,
                grad_norm=finite_list(og_norm),
            ),
        )

    def discard(self) -> None:
        """Release the kept outputs and their gradients."""
        self._outputs = []
        self._out_grads = ()


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
