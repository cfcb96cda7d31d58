"""The optimizer registry: every family module's specs by id, in the order the page lists them, and the
terms that explain a recorded update.

Adding an optimizer: its spec (kernel, terms, page defaults) in a family module listed in FAMILIES, and its
strings in static/i18n/{en,zh}.json (tests/descent/test_optimizers.py names what is missing)."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.descent.optimizers import adadelta, adagrad, adam, rmsprop, sgd
from app.descent.optimizers.base import Array, OptimizerSpec, State, Terms, TermsFn, collect

FAMILIES = (sgd, adagrad, rmsprop, adadelta, adam)

OPTIMIZERS: dict[str, OptimizerSpec] = collect(family.SPECS for family in FAMILIES)
TERMS: dict[str, TermsFn] = {oid: s.terms for oid, s in OPTIMIZERS.items() if s.terms is not None}


def get_optimizer(optimizer_id: str) -> OptimizerSpec:
    try:
        return OPTIMIZERS[optimizer_id]
    except KeyError:
        raise KeyError(f"unknown optimizer {optimizer_id!r}; known: {', '.join(OPTIMIZERS)}") from None


def explain(
    optimizer_id: str, hyperparameters: dict[str, Any], state: State, grads: Array, points: Array
) -> Terms:
    """Derived terms of each recorded update (empty for optimizers whose state says it all)."""
    terms = TERMS.get(optimizer_id)
    if terms is None or len(grads) == 0:
        return {}
    spec = get_optimizer(optimizer_id)
    full = {
        **{n: state[n] for n in state},
        **{n: np.zeros((len(grads), 1)) for n in ("step",) if n not in state},
    }
    with np.errstate(all="ignore"):
        return terms(full, grads, points, spec.kernel_kwargs(hyperparameters))
