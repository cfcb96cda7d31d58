from __future__ import annotations

import numpy as np
import pytest
import torch

from app.cnn.data import BatchSampler, load_digits_split


def test_split_is_normalized_stratified_and_seeded():
    d = load_digits_split(0)
    assert d.x_train.shape == (1437, 1, 8, 8) and d.x_val.shape == (360, 1, 8, 8)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    # normalized with the training split's own statistics: mean 0, std 1 there
    assert abs(float(d.x_train.mean())) < 1e-5 and abs(float(d.x_train.std(correction=0)) - 1) < 1e-5
    assert torch.allclose(d.x_val[:, 0] * d.std + d.mean, d.pixels_val, atol=1e-6)
    assert float(d.pixels_val.min()) >= 0 and float(d.pixels_val.max()) <= 1
    # stratified: each class keeps its share (within one digit) in the validation split
    total = np.bincount(np.concatenate([d.y_train.numpy(), d.y_val.numpy()]), minlength=10)
    val = np.bincount(d.y_val.numpy(), minlength=10)
    assert np.all(np.abs(val - 0.2 * total) <= 1)
    again, other = load_digits_split.__wrapped__(0), load_digits_split(1)
    assert torch.equal(again.y_val, d.y_val) and torch.equal(again.x_val, d.x_val)
    assert not torch.equal(other.y_val, d.y_val)


def test_bad_val_fraction_is_refused():
    with pytest.raises(ValueError, match="val_fraction must be in"):
        load_digits_split(0, 1.0)


def test_sampler_draws_each_index_once_per_epoch_and_reshuffles():
    sampler = BatchSampler(100, seed=3)
    first = torch.cat([sampler.draw(30) for _ in range(3)])  # 90 of 100; the last 10 wait
    assert len(set(first.tolist())) == 90 and sampler.epoch == 0 and sampler.remaining == 10
    second = torch.cat([sampler.draw(30) for _ in range(3)])  # a batch of 30 does not fit: new epoch
    assert sampler.epoch == 1 and len(set(second.tolist())) == 90
    assert not torch.equal(first, second)
    assert sampler.progress == pytest.approx(1.9)
    replay = BatchSampler(100, seed=3)
    assert torch.equal(torch.cat([replay.draw(30) for _ in range(3)]), first)
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 100\], got 101"):
        sampler.draw(101)
