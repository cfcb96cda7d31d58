from __future__ import annotations

import math

import pytest
import torch

from app.cnn.measurements import HISTOGRAM_BINS, histogram
from app.cnn.models import ModelConfig
from app.cnn.trainer import Trainer, TrainerConfig


def test_histogram_bins_are_symmetric_powers_of_two():
    x = torch.tensor([-0.3, 0.0, 0.01, 0.2, 0.29, math.nan, math.inf])
    h = histogram("w", x)
    assert h.limit == 0.5 and len(h.edges) == HISTOGRAM_BINS + 1 and len(h.counts) == HISTOGRAM_BINS
    assert h.edges[0] == -0.5 and h.edges[-1] == 0.5 and h.edges[20] == -h.edges[21]
    assert sum(h.counts) == 5 and h.nonfinite == 2
    assert h.counts[20] == 2  # 0 and 0.01 share the middle bin, (-0.5/41, 0.5/41)
    assert histogram("zeros", torch.zeros(3)).limit == 1.0


def test_snapshot():
    trainer = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    before = trainer.snapshot()
    assert before.grad_histograms == [] and before.filters.grads is None
    for _ in range(30):
        trainer.step()
    snap = trainer.snapshot()
    named = dict(trainer.model.named_parameters())
    assert [h.name for h in snap.weight_histograms] == list(named)
    for h in snap.weight_histograms + snap.grad_histograms:
        tensor = named[h.name] if h in snap.weight_histograms else named[h.name].grad
        assert sum(h.counts) == tensor.numel()
        assert h.limit >= float(tensor.detach().abs().max()) > h.limit / 2
    filters = snap.filters
    assert filters.layer == "conv1" and len(filters.weights) == 16 and len(filters.weights[0]) == 3
    assert filters.weights[2][1][0] == pytest.approx(trainer.model.conv1.weight[2, 0, 1, 0].item())
    assert len(filters.grads) == 16
    assert len(snap.predictions) == 16
    first = snap.predictions[0]
    assert len(first.pixels) == 8 and all(0 <= v <= 1 for row in first.pixels for v in row)
    assert first.label == int(trainer.data.y_val[0]) and 0.1 <= first.confidence <= 1
    confusion = torch.tensor(snap.confusion)
    assert confusion.shape == (10, 10) and int(confusion.sum()) == trainer.data.n_val
    assert int(confusion.trace()) / trainer.data.n_val == pytest.approx(snap.eval.accuracy)
    assert confusion.sum(dim=1).tolist() == torch.bincount(trainer.data.y_val, minlength=10).tolist()
    assert snap.eval == trainer.evaluate()


def test_mlp_filters_are_fc1_rows_as_images():
    trainer = Trainer(ModelConfig(kind="mlp", width=16), TrainerConfig(eval_every=0))
    filters = trainer.snapshot().filters
    assert filters.layer == "fc1" and len(filters.weights) == 16 and len(filters.weights[0]) == 8
    assert filters.weights[3][2][5] == pytest.approx(trainer.model.fc1.weight[3, 2 * 8 + 5].item())
