"""The race's curvature: what a frame carries per step when the page asks for it (``start.curvature``,
``set_curvature``), and the quadratic summary a state carries for the surface. The numbers come from
app/descent/curvature.py; this module only shapes them for the protocol."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.descent.curvature import Quadratic, hessians, quadratic, sharpness_track
from app.descent.engine import Trace
from app.descent.surfaces import Surface


def surface_quadratic(surface: Surface) -> Quadratic | None:
    """The constant Hessian when the surface is quadratic on its domain (bowls, linreg)."""
    return quadratic(surface.fn, (surface.x_range, surface.y_range))


def runner_curvature(
    surface: Surface, optimizer_id: str, hyperparameters: dict[str, Any], trace: Trace
) -> dict:
    """Per step of ``trace``, as protocol.RunnerCurvature: the Hessian's eigenvalues and unit eigenvectors at
    θ, the quantity the optimizer's stability threshold is about, and that threshold (NaN: not known)."""
    curv = hessians(surface.fn, trace.points)
    track = sharpness_track(optimizer_id, hyperparameters, curv, trace.state)
    m = len(curv)
    threshold = np.nan if track.threshold is None else track.threshold
    # orjson writes C-contiguous arrays only: λ_max is a column of the eigenvalues.
    contiguous = np.ascontiguousarray
    return {
        "quantity": track.quantity,
        "formula": track.formula,
        "eigenvalues": contiguous(curv.eigenvalues),  # (m, 2)
        "eigenvectors": contiguous(curv.eigenvectors.transpose(0, 2, 1).reshape(m, 4)),  # (m, 4): v1, v2
        "sharpness": contiguous(track.values).reshape(m, 1),
        "threshold": np.full((m, 1), threshold),
    }


def merge_curvature(old: dict, new: dict) -> dict:
    """Two consecutive frames' curvature of one runner (same hyperparameters: same quantity and formula)."""
    arrays = ("eigenvalues", "eigenvectors", "sharpness", "threshold")
    return {**new, **{k: np.concatenate([old[k], new[k]]) for k in arrays}}
