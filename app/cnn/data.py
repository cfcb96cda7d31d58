"""scikit-learn's bundled handwritten digits (1 797 real 8×8 images, 10 classes, no download), split and
normalized, and a seeded batch sampler.

Pixels are scaled from 0..16 to [0, 1], then normalized with the mean and standard deviation of the
training split (one channel, so two scalars), so no validation statistic leaks into training.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

N_CLASSES = 10
IMAGE_SIZE = 8  # pixels per side
PIXEL_MAX = 16.0  # load_digits counts ink in 4×4 blocks of a 32×32 bitmap: 0..16


@lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images in [0, 1], (N, 8, 8) float32; labels (N,) int64), read once per process."""
    digits = load_digits()
    return (digits.images / PIXEL_MAX).astype(np.float32), digits.target.astype(np.int64)


@dataclass(frozen=True)
class Digits:
    """A train/validation split of the digits; x tensors are normalized, (N, 1, 8, 8) float32."""

    x_train: torch.Tensor  # (N_train, 1, 8, 8) float32, normalized
    y_train: torch.Tensor  # (N_train,) int64, 0..9
    x_val: torch.Tensor  # (N_val, 1, 8, 8) float32, normalized with the training statistics
    y_val: torch.Tensor  # (N_val,) int64
    pixels_val: torch.Tensor  # (N_val, 8, 8) float32 in [0, 1]: the validation images as drawn
    mean: float  # of the training pixels in [0, 1]
    std: float  # of the training pixels in [0, 1]
    seed: int

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_val(self) -> int:
        return len(self.y_val)


@lru_cache(maxsize=8)
def load_digits_split(seed: int = 0, val_fraction: float = 0.2) -> Digits:
    """A stratified split (each class keeps its share in both parts), reproducible from the seed.

    Cached: a Digits is immutable (its tensors are never written), so trainers with the same seed share it.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    images, labels = _raw_digits()
    idx_train, idx_val = train_test_split(
        np.arange(len(labels)), test_size=val_fraction, stratify=labels, random_state=seed
    )
    train, val = images[idx_train], images[idx_val]
    mean, std = float(train.mean()), float(train.std())

    def normalized(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((x - mean) / std).unsqueeze(1).contiguous()  # (N, 1, 8, 8)

    return Digits(
        x_train=normalized(train),
        y_train=torch.from_numpy(labels[idx_train]),
        x_val=normalized(val),
        y_val=torch.from_numpy(labels[idx_val]),
        pixels_val=torch.from_numpy(val),
        mean=mean,
        std=std,
        seed=seed,
    )


class BatchSampler:
    """Batches of training indices: without replacement within an epoch, reshuffled each epoch.

    Every batch is full: when fewer than ``batch_size`` indices remain, the epoch ends and those few come
    back shuffled into the next one (a step then always averages over the same number of samples, and
    batch norm never sees a batch of one). The batch size may change between calls.
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self._generator = torch.Generator().manual_seed(seed)
        self._order = torch.randperm(n, generator=self._generator)
        self._position = 0  # next index into _order
        self.epoch = 0  # completed epochs

    def draw(self, batch_size: int) -> torch.Tensor:
        """The next batch_size indices, (batch_size,) int64."""
        if not 1 <= batch_size <= self.n:
            raise ValueError(f"batch_size must be in [1, {self.n}], got {batch_size}")
        if self._position + batch_size > self.n:
            self.epoch += 1
            self._order = torch.randperm(self.n, generator=self._generator)
            self._position = 0
        batch = self._order[self._position : self._position + batch_size]
        self._position += batch_size
        return batch

    @property
    def remaining(self) -> int:
        """Indices of this epoch not drawn yet."""
        return self.n - self._position

    @property
    def progress(self) -> float:
        """Epochs as a fraction: completed epochs plus the share of this one already seen."""
        return self.epoch + self._position / self.n
