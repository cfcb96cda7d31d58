"""The optimizer registry: each torch.optim optimizer as a spec (hyperparameters, update rule, the page's
defaults) and a vectorized kernel that steps many 2-parameter runners at once, each with its own
hyperparameters, with the terms that explain its update beside it.

base.py holds the types and shared helpers; one module per family (sgd, adagrad, rmsprop, adadelta, adam)
holds its kernels, specs and explanation terms; registry.py collects them; validation.py generates the
request models. Everything importers use is re-exported here."""

from app.descent.optimizers.base import (
    KERNEL_NEUTRAL,
    Array,
    Hyper,
    Hyperparameter,
    OptimizerSpec,
    State,
    Terms,
    TermsFn,
    Value,
    kernel_columns,
)
from app.descent.optimizers.registry import FAMILIES, OPTIMIZERS, TERMS, explain, get_optimizer
from app.descent.optimizers.validation import (
    HYPERPARAMETER_MODELS,
    OptimizerChoice,
    check_hyperparameters,
    check_optimizer,
)

__all__ = [
    "FAMILIES",
    "HYPERPARAMETER_MODELS",
    "KERNEL_NEUTRAL",
    "OPTIMIZERS",
    "TERMS",
    "Array",
    "Hyper",
    "Hyperparameter",
    "OptimizerChoice",
    "OptimizerSpec",
    "State",
    "Terms",
    "TermsFn",
    "Value",
    "check_hyperparameters",
    "check_optimizer",
    "explain",
    "get_optimizer",
    "kernel_columns",
]
