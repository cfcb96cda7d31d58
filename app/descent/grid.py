"""A surface's values on an n×n grid, for contour and 3-D plots, evaluated in chunks of points so that the
peak memory stays bounded whatever n and the data set's size (app/descent/cost.py sizes the chunks).

Pure compute, no FastAPI: the grid routes (app/api/catalog.py) shape the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.descent.objective import FunctionObjective
from app.descent.surfaces import Surface


def grid_axes(x_range: Sequence[float], y_range: Sequence[float], n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(x_range[0], x_range[1], n), np.linspace(y_range[0], y_range[1], n)


def surface_values(
    surface: Surface, n: int, chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x (n,), y (n,) and z (n, n) with z[j][i] = f(x[i], y[j]), ``chunk`` points at a time (all: None).

    A data problem's loss at P points is a (P, N) pass over its samples: unchunked, the issue's grid (300²
    points, N = 2000) held 1.4 GB per intermediate.
    """
    xs, ys = grid_axes(surface.x_range, surface.y_range, n)
    gx, gy = np.meshgrid(xs, ys)  # (n, n), [j, i]
    px, py = gx.ravel(), gy.ravel()  # (n²,) contiguous views
    z = np.empty(n * n)
    f = FunctionObjective(surface.fn)
    step = chunk or n * n
    with np.errstate(all="ignore"):
        for start in range(0, n * n, step):
            part = slice(start, start + step)
            z[part] = f.value(px[part], py[part])  # (chunk,)
    return xs, ys, z.reshape(n, n)
