"""On-demand measurements, heavier than a step's: histograms, first-layer filters, predictions on
validation digits, the confusion matrix, and the validation pass they come from."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.cnn.data import IMAGE_SIZE, N_CLASSES, Digits
from app.cnn.reports import EvalReport, Filters, Histogram, Prediction

HISTOGRAM_BINS = 41  # odd, so 0 sits in the middle of a bin
SAMPLES_SHOWN = 16  # validation digits in the predictions grid


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
        """The first `count` validation digits (the split is shuffled: a mix of classes), always the same."""
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
