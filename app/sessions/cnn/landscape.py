"""A loss landscape computed for a live CNN session, in a worker thread, while the training goes on.

The session builds what the job needs between two training steps (the current weights saved as the latest
snapshot, an Evaluator that copies the network's layers and batch-norm statistics), then the job runs on
its own: the plane (PCA of the path or random directions), a coarse picture, the 1-D line from the
initial weights, and the full grid row by row, each sent to the page as it is done. A server-wide
semaphore caps how many landscapes compute at once; a job waiting for it, or computing, stops at the next
row once cancelled.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import torch
from pydantic import BaseModel

from app.cnn.landscape import (
    CoarseGrid,
    Evaluator,
    Plane,
    WeightPath,
    grid,
    line_profile,
    pca_plane,
    random_plane,
)
from app.cnn.probes import finite
from app.sessions.cnn.protocol import (
    CnnLandscape,
    LandscapeCoarse,
    LandscapeDone,
    LandscapeLine,
    LandscapePlane,
    LandscapePoint,
    LandscapeRow,
)

log = logging.getLogger(__name__)

WAIT_POLL = 0.1  # s between looks at the cancel flag while waiting for a landscape slot


class LandscapeJob:
    def __init__(
        self,
        job: int,
        request: CnnLandscape,
        snapshots: WeightPath,
        evaluator: Evaluator,
        slots: threading.Semaphore,
        emit: Callable[[BaseModel], None],
    ) -> None:
        self.job = job
        self.request = request
        self.snapshots = snapshots
        self.evaluator = evaluator
        self.slots = slots
        self.emit = emit
        self.cancel = threading.Event()
        self.plane: Plane | None = None  # set once chosen; the session projects later weights on it
        self.began = time.monotonic()
        self.thread = threading.Thread(target=self._run, name=f"landscape-{job}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> None:
        """Ask the job to stop; it sends its 'cancelled' message itself, at the next row at the latest."""
        self.cancel.set()

    def _done(self, status: str, message: str | None = None) -> None:
        seconds = round(time.monotonic() - self.began, 3)
        self.emit(
            LandscapeDone(job=self.job, ref=self.request.ref, status=status, seconds=seconds, message=message)
        )

    def _run(self) -> None:
        try:
            while not self.slots.acquire(timeout=WAIT_POLL):
                if self.cancel.is_set():
                    self._done("cancelled")
                    return
            try:
                finished = self._compute()
            finally:
                self.slots.release()
            self._done("done" if finished else "cancelled")
        except ValueError as exc:  # e.g. a path too straight for a second principal component
            self._done("failed", str(exc))
        except Exception:
            log.exception("landscape %d failed", self.job)
            self._done("failed", "the landscape computation failed; it was logged")

    def _compute(self) -> bool:
        """The whole landscape, message by message; False if cancelled on the way."""
        r = self.request
        if r.plane == "pca":
            plane = pca_plane(self.snapshots)
        else:
            plane = random_plane(self.snapshots, seed=r.seed, radius=r.radius)
        self.plane = plane
        sent = 0
        for part in grid(self.evaluator, plane, n=r.n, cancel=self.cancel):
            if isinstance(part, CoarseGrid):
                self.emit(
                    LandscapePlane(
                        job=self.job,
                        ref=r.ref,
                        plane=plane.info,
                        alphas=part.alphas,
                        betas=part.betas,
                        parameters=self.evaluator.n_params,
                        snapshots=len(plane.info.path.steps),
                        snapshot_every=self.snapshots.every,
                    )
                )
                self.emit(
                    LandscapeCoarse(
                        job=self.job,
                        alpha_index=part.alpha_index,
                        beta_index=part.beta_index,
                        loss=part.loss,
                        progress=part.progress,
                    )
                )
                continue
            if sent == 0:  # the 1-D view between the coarse picture and the first full row: it is quick
                if self.cancel.is_set():
                    return False
                start_step, start = self.snapshots.first
                line = line_profile(self.evaluator, start, plane.center)
                self.emit(
                    LandscapeLine(
                        job=self.job,
                        t=line.t,
                        loss=line.loss,
                        start_step=start_step,
                        end_step=plane.info.center_step,
                    )
                )
            self.emit(LandscapeRow(job=self.job, index=part.index, loss=part.loss, progress=part.progress))
            sent += 1
        return sent == r.n  # grid() stops early only when cancelled


def project(job: int, plane: Plane, step: int, theta: torch.Tensor) -> LandscapePoint:
    """Where weights θ (P,) stand on the plane: the (α, β) of α·d₁ + β·d₂ nearest θ − θ*, by least squares
    (the 2×2 normal equations; for PCA's orthonormal directions, simply the dot products), and the share of
    ‖θ − θ*‖² the plane holds."""
    offset = theta.double() - plane.center.double()
    dirs = torch.stack([plane.d1, plane.d2]).double()  # (2, P)
    gram = dirs @ dirs.T
    coef = torch.linalg.solve(gram, dirs @ offset)  # (2,) α, β
    alpha, beta = coef.tolist()
    norm, held = float(offset @ offset), float(coef @ gram @ coef)  # ‖θ − θ*‖², ‖α·d₁ + β·d₂‖²
    return LandscapePoint(
        job=job,
        step=step,
        alpha=finite(alpha),
        beta=finite(beta),
        in_plane=finite(held / norm) if norm > 0 else None,
    )
