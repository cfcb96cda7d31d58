"""Per-step measurements of a network while it learns, fused so they cost little next to the step.

Per step, a probe reads every parameter tensor (gradient norm, mean, std and max |g|; weight norm; the norm
of the update the optimizer made, and its ratio to the weight norm) and every conv, linear and activation
layer (output mean and std, share of dead units, and ‖∂L/∂a‖, the loss gradient the chain rule carried
back to that output). Collected naively, per tensor, one op and one ``.item()`` per number, they cost
~1.6× the training step; bench/cnn.py measures both.

On CPU a probe's cost is the torch kernels it launches (3–5 µs each, more when their data has left the
cache), the memory they read, and the Python around them. So it launches few, reads each tensor while it
is still in cache (a layer's output as soon as the forward pass makes it, ∂L/∂a as soon as the backward
pass returns it), and runs little Python:

- ∂L/∂a(l) of each probed output comes out of the same backward pass as the parameter gradients
  (``torch.autograd.grad`` with the outputs among its inputs): the chain rule's intermediate values, read
  where autograd holds them. Python tensor hooks on the outputs give the same numbers for ~20 µs each per
  pass (+7 % on the default CNN), ``retain_grad`` for about +40 %.
- The parameters become views of one flat buffer: row 1 of a (3, P) tensor whose row 0 holds the
  gradients, and row 2 the snapshot of θ, then −Δθ. Each parameter starts on a block of BLOCK floats
  (zero-padded), so one reduction over (3, P/BLOCK, BLOCK) gives every block's ‖g‖, ‖θ‖, ‖Δθ‖, one
  matrix product with a (blocks × parameters) one-hot table adds them up per parameter, and one scatter
  takes the largest |g| among each parameter's blocks.
- Every number lands in a slot of one preallocated result tensor (``out=``), read with one ``.tolist()``;
  the few divisions and square roots left are done in Python on those floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.cnn.models import describe, layer_kind
from app.cnn.reports import LayerStats, ParameterStats

PROBED_KINDS = ("conv", "linear", "activation")
DEAD_ABS = 1e-6  # below this mean |a|, a unit of an activation other than ReLU counts as dead
BLOCK = 64  # floats per block of the flat parameter buffer; each parameter starts on a block


def finite(x: float) -> float | None:
    """x, or None if it is NaN or ±inf."""
    return x if x - x == 0.0 else None  # x − x is NaN exactly for NaN and ±inf


def _root(x: float) -> float:
    """√x of a variance computed as E[x²] − E[x]², which rounding can leave slightly below 0."""
    return math.sqrt(x) if x > 0.0 else 0.0 if x <= 0.0 else math.nan


def _ratio(a: float, b: float) -> float:
    return a / b if b != 0.0 else math.nan


@dataclass
class StepMeasurements:
    loss: float | None  # None: not finite
    accuracy: float
    params: ParameterStats
    layers: LayerStats


class StepProbe:
    """Per-step measurements of one model. A training step goes through the probe:

        logits = probe.forward(x)         # the model's layers in order; each probed output measured
        loss = F.cross_entropy(logits, y)
        probe.backward(loss)              # ∂L/∂θ into each parameter's .grad, ‖∂L/∂a‖, a snapshot of θ
        optimizer.step()
        probe.read(loss, logits, y)       # the parameters measured, then the one transfer of the step

    Don't call ``optimizer.zero_grad()``: backward() overwrites the gradients, and set_to_none would
    detach them from the flat buffer (backward() reattaches them, at a small cost).
    """

    def __init__(self, model: nn.Sequential) -> None:
        named = list(model.named_parameters())
        self.param_names = [name for name, _ in named]
        self._params = [p for _, p in named]
        self._numel = [p.numel() for p in self._params]
        padded = [-(-size // BLOCK) * BLOCK for size in self._numel]
        starts = np.cumsum([0, *padded]).tolist()
        n_blocks = starts[-1] // BLOCK
        # rows: 0 the gradients, 1 the weights (the parameters' own storage), 2 θ before the update, then
        # θ_before − θ_after = −Δθ. Padding stays 0 in every row, so it adds nothing to a sum or a norm.
        self._flat = torch.zeros(3, n_blocks * BLOCK)  # (3, P)
        self._blocks = self._flat.view(3, n_blocks, BLOCK)
        with torch.no_grad():
            for p, start in zip(self._params, starts, strict=False):
                view = self._flat[1, start : start + p.numel()].view_as(p)
                view.copy_(p)
                p.data = view
        self._grad_views = [
            self._flat[0, start : start + p.numel()].view_as(p)
            for p, start in zip(self._params, starts, strict=False)
        ]
        self._block_param = torch.repeat_interleave(torch.arange(len(padded)), torch.tensor(padded) // BLOCK)
        self._block_one_hot = F.one_hot(self._block_param, len(padded)).float()  # (n_blocks, n)
        self._block_stats = torch.empty(4, n_blocks)  # Σg², Σθ², ΣΔθ², Σg per block
        self._block_max = torch.empty(n_blocks)  # max |g| per block

        self._layers = list(model.children())
        self._probed = [layer_kind(m) in PROBED_KINDS for m in self._layers]
        children = model.named_children()
        probed = [(name, m) for (name, m), keep in zip(children, self._probed, strict=True) if keep]
        self.layer_names = [name for name, _ in probed]
        self.layer_kinds = [layer_kind(m) for _, m in probed]
        # Dead units belong to a nonlinearity: a unit (a channel after a conv, a feature after a dense
        # layer) is dead on a batch when its mean |a| over the batch (and positions) is 0 after a ReLU,
        # i.e. every output exactly 0, and below DEAD_ABS after the others, which are never exactly 0.
        self._active = [kind == "activation" for kind in self.layer_kinds]
        self._relu = [isinstance(m, nn.ReLU) for _, m in probed]
        self.dead_rules: list[str | None] = [
            ("zero" if relu else "mean|a|<1e-6") if active else None
            for active, relu in zip(self._active, self._relu, strict=True)
        ]
        shapes = {info.name: info.output_shape for info in describe(model)}
        self._out_size = [math.prod(shapes[name]) for name in self.layer_names]  # entries per sample
        self._units = [
            shapes[name][0] if a else 0 for name, a in zip(self.layer_names, self._active, strict=True)
        ]
        self._outputs: list[torch.Tensor] = []
        self._out_grads: tuple[torch.Tensor, ...] = ()

        # the result: one slot per number, each written by the reduction that makes it (out=)
        n, n_layers = len(self._params), len(probed)
        sizes = [5 * n, 3 * n_layers, sum(self._units), 2]
        self._result = torch.empty(sum(sizes))
        params, layers, units, scalars = self._result.split(sizes)
        self._param_slots = params.view(5, n)  # Σg², Σθ², ΣΔθ², Σg, max |g| of each parameter
        self._grad_sq_slots = layers[n_layers : 2 * n_layers]  # ‖∂L/∂a‖² of each layer
        per_unit = iter(units.split([u for u in self._units if u]))
        # per layer: Σa², Σa (a ReLU's is added up from its per-unit sums, in Python), and for an
        # activation, per unit: Σa after a ReLU, Σ|a| after the others
        self._output_slots = [
            (layers[i], layers[2 * n_layers + i], next(per_unit) if active else None, relu)
            for i, (active, relu) in enumerate(zip(self._active, self._relu, strict=True))
        ]
        self._loss_slot, self._correct_slot = scalars[0], scalars[1]

    # --- a step --------------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The model's forward pass (what nn.Sequential.forward does); each probed output is kept, and
        measured while it is in cache."""
        outputs = []
        slots = iter(self._output_slots)
        for layer, keep in zip(self._layers, self._probed, strict=True):
            x = layer(x)
            if keep:
                outputs.append(x)
                _measure_output(x.detach(), *next(slots))
        self._outputs = outputs
        return x

    def backward(self, loss: torch.Tensor) -> None:
        """∂L/∂θ into each parameter's .grad, ‖∂L/∂a‖ of each probed output, and a snapshot of θ."""
        if not self._outputs:
            raise RuntimeError("backward() needs a forward() first")
        n = len(self._params)
        grads = torch.autograd.grad(loss, self._params + self._outputs, materialize_grads=True)
        with torch.no_grad():
            for grad, slot in zip(grads[n:], self._grad_sq_slots, strict=True):
                flat = grad.reshape(-1)
                torch.dot(flat, flat, out=slot)  # BLAS: ~40 % faster than vector_norm on 64k floats
            torch._foreach_copy_(self._grad_views, grads[:n])
            self._flat[2].copy_(self._flat[1])
        self._out_grads = grads[n:]
        if self._params[0].grad is not self._grad_views[0]:  # first step, or someone set .grad
            for p, view in zip(self._params, self._grad_views, strict=True):
                p.grad = view

    @torch.no_grad()
    def _measure_parameters(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        blocks, stats = self._blocks, self._block_stats  # (3, n_blocks, BLOCK), (4, n_blocks)
        self._flat[2].sub_(self._flat[1])  # θ_before − θ_after = −Δθ
        torch.linalg.vector_norm(blocks, dim=2, out=stats[:3]).square_()
        torch.sum(blocks[0], dim=1, out=stats[3])
        torch.mm(stats, self._block_one_hot, out=self._param_slots[:4])  # the blocks added up per parameter
        torch.amax(blocks[0].abs(), dim=1, out=self._block_max)
        self._param_slots[4].scatter_reduce_(
            0, self._block_param, self._block_max, "amax", include_self=False
        )
        self._loss_slot.copy_(loss.detach())
        torch.sum(logits.argmax(dim=1) == targets, dim=0, out=self._correct_slot)

    def read(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> StepMeasurements:
        """Every per-step measurement, after optimizer.step(); releases the kept outputs."""
        if not self._out_grads:
            raise RuntimeError("read() needs a forward() and backward() first")
        self.discard()
        self._measure_parameters(loss, logits, targets)
        values = self._result.tolist()  # the one transfer of the step
        return self._measurements(values, len(targets))

    def _measurements(self, values: list[float], batch: int) -> StepMeasurements:
        """The report's columns, from the result's values."""
        n, n_layers = len(self._params), len(self.layer_names)
        g_sq, w_sq, d_sq, g_sum, g_max = (values[i * n : (i + 1) * n] for i in range(5))
        at = 5 * n
        o_sq, og_sq, o_sum = (values[at + i * n_layers : at + (i + 1) * n_layers] for i in range(3))
        at += 3 * n_layers
        out_numel = [batch * size for size in self._out_size]
        dead: list[float | None] = []
        for i, units in enumerate(self._units):
            per_unit = values[at : at + units]
            at += units
            if not units:
                dead.append(None)
            elif self._relu[i]:  # a ReLU's per-unit Σa: its Σa, and dead where exactly 0
                o_sum[i] = math.fsum(per_unit)
                dead.append(per_unit.count(0.0) / units)
            else:  # per-unit Σ|a|, over out_numel / units entries each
                limit = DEAD_ABS * out_numel[i] / units
                dead.append(sum(1 for s in per_unit if s < limit) / units)
        g_mean = [s / k for s, k in zip(g_sum, self._numel, strict=True)]
        w_norm, d_norm = [math.sqrt(s) for s in w_sq], [math.sqrt(s) for s in d_sq]
        o_mean = [s / k for s, k in zip(o_sum, out_numel, strict=True)]
        return StepMeasurements(
            loss=finite(values[-2]),
            accuracy=values[-1] / batch,
            params=ParameterStats(
                names=self.param_names,
                grad_norm=[finite(math.sqrt(s)) for s in g_sq],
                grad_mean=[finite(m) for m in g_mean],
                grad_std=[
                    finite(_root(s / k - m * m)) for s, k, m in zip(g_sq, self._numel, g_mean, strict=True)
                ],
                grad_max_abs=[finite(m) for m in g_max],
                weight_norm=[finite(w) for w in w_norm],
                update_norm=[finite(d) for d in d_norm],
                update_ratio=[finite(_ratio(d, w)) for d, w in zip(d_norm, w_norm, strict=True)],
            ),
            layers=LayerStats(
                names=self.layer_names,
                kinds=self.layer_kinds,
                act_mean=[finite(m) for m in o_mean],
                act_std=[
                    finite(_root(sq / k - m * m)) for sq, k, m in zip(o_sq, out_numel, o_mean, strict=True)
                ],
                dead_fraction=dead,
                dead_rule=self.dead_rules,
                grad_norm=[finite(math.sqrt(sq)) for sq in og_sq],
            ),
        )

    def discard(self) -> None:
        """Release the kept outputs and their gradients."""
        self._outputs = []
        self._out_grads = ()


def _measure_output(
    a: torch.Tensor, squares: torch.Tensor, total: torch.Tensor, per_unit: torch.Tensor | None, relu: bool
) -> None:
    """Σa² and Σa of a layer's output (B, C, H, W) or (B, F) into their slots, and its per-unit sums if
    it is an activation. A ReLU's a ≥ 0: its per-unit Σa are its per-unit Σ|a|, and add up to Σa."""
    flat = a.reshape(-1)
    torch.dot(flat, flat, out=squares)
    if not relu:
        torch.sum(flat, dim=0, out=total)
    if per_unit is not None:
        torch.sum(a if relu else a.abs(), dim=(0, 2, 3) if a.dim() == 4 else 0, out=per_unit)
