"""What a race's new surface needs before its command applies, made off the event loop: the expression
compiled, the data set built, the autograd graph traced (RaceSession.preparation; live.py runs it in its
warm-up thread). All of it lands in caches that ``apply`` then finds full; the session itself is not touched.
"""

from __future__ import annotations

from app.descent.data import DATA_PROBLEMS
from app.descent.runs import objective
from app.inputs import DataSurface, SurfaceRef, resolve_problem, resolve_surface


def surface_ready(ref: SurfaceRef) -> bool:
    """Nothing slow stands before the surface's first step: its graph is traced (an expression compiles in
    well under a millisecond). A data problem may have a data set to build (~0.3 s): never taken as ready."""
    if isinstance(ref, DataSurface) or (isinstance(ref, str) and ref in DATA_PROBLEMS):
        return False
    return objective(resolve_surface(ref)).traced


def prepare_surface(ref: SurfaceRef) -> None:
    """In a worker thread: make the surface (resolve_surface caches the compiled expression and the data set)
    and trace its autograd graph into the process's cache."""
    surface = resolve_surface(ref)
    if resolve_problem(ref) is None:
        objective(surface).warm()
