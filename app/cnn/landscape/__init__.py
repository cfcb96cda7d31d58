"""The loss landscape around a network's weights, seen through a 2-D window, with its own training path.

Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets": the loss on a plane through θ*,

    θ(α, β) = θ* + α·d₁ + β·d₂,

with d₁, d₂ filter-normalized random directions, or the top two principal components of the path the
optimizer took. One module per part:

- ``path``: ``WeightPath``, the weights along the run within a byte budget, thinned when full;
- ``planes``: ``random_plane`` and ``pca_plane``, with the path projected onto the plane;
- ``evaluator``: ``Evaluator``, the loss at any weights, run as a channels-last plan of tensor operations;
- ``grid``: ``grid``, the loss over the plane coarse first then row by row, and ``line_profile``.

Use from a live session: the training thread feeds ``path.maybe_add(step, model)`` after every step, and
when a landscape is asked for, builds between two steps ``Evaluator.on_training_split(model, data)`` and
a plane (``random_plane`` or ``pca_plane``); both copy what they need, so training can go on at once. A
worker thread then iterates ``grid(evaluator, plane, cancel=event)``: a coarse picture first, then the
full grid row by row, stopping at the next row once ``event`` is set.
"""

from app.cnn.landscape.evaluator import Evaluator, Stage
from app.cnn.landscape.grid import (
    COARSE,
    LINE_POINTS,
    MAX_GRID,
    CoarseGrid,
    GridRow,
    LineProfile,
    coarse_indices,
    grid,
    line_profile,
)
from app.cnn.landscape.path import DEFAULT_BUDGET, MIN_SNAPSHOTS, WeightPath, flat_weights
from app.cnn.landscape.planes import (
    DEFAULT_RADIUS,
    PATH_MARGIN,
    PathProjection,
    Plane,
    PlaneInfo,
    filter_normalized_direction,
    pca_plane,
    random_plane,
)
from app.cnn.reports import Number

__all__ = [
    "COARSE",
    "DEFAULT_BUDGET",
    "DEFAULT_RADIUS",
    "LINE_POINTS",
    "MAX_GRID",
    "MIN_SNAPSHOTS",
    "PATH_MARGIN",
    "CoarseGrid",
    "Evaluator",
    "GridRow",
    "LineProfile",
    "Number",
    "PathProjection",
    "Plane",
    "PlaneInfo",
    "Stage",
    "WeightPath",
    "coarse_indices",
    "filter_normalized_direction",
    "flat_weights",
    "grid",
    "line_profile",
    "pca_plane",
    "random_plane",
]
