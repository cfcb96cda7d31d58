"""The Lanczos solver against eigvalsh: on explicit matrices, on a network's full Hessian, on P⁻¹H, and
against power iteration given as many products."""

from __future__ import annotations

import pytest
import torch

from app.cnn.data import load_digits_split
from app.cnn.models import ModelConfig, build_model
from app.cnn.sharpness import (
    evaluation_subset,
    lanczos,
    preconditioned_sharpness,
    preconditioner,
    sharpness,
    top_eigenvalue,
)
from tests.cnn.test_sharpness import TINY, _full_hessian, _trained


@pytest.fixture(scope="module")
def digits():
    return evaluation_subset(load_digits_split(0), size=96, seed=1)


def _matrix(eigenvalues: list[float], seed: int = 0) -> torch.Tensor:
    n = len(eigenvalues)
    q, _ = torch.linalg.qr(
        torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    )
    return q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T


def test_lanczos_finds_the_largest_algebraic_eigenvalue_even_when_a_negative_one_dominates():
    a = _matrix([-10.0, -1.0, 0.2, 1.0, 2.5, 3.0])
    result = lanczos(lambda v: a @ v, 6, tolerance=1e-10, dtype=torch.float64)
    assert result.converged and result.iterations <= 6
    assert result.lambda_max == pytest.approx(3.0, rel=1e-10)
    torch.testing.assert_close(a @ result.vector, 3.0 * result.vector, rtol=0, atol=1e-8)
    # The residual it reports is the true one: ‖Ay − θy‖/|θ|.
    true = float(torch.linalg.vector_norm(a @ result.vector - result.lambda_max * result.vector)) / 3.0
    assert result.residual == pytest.approx(true, abs=1e-9)


def test_lanczos_beats_power_iteration_given_as_many_products():
    a = _matrix([float(k) for k in range(1, 201)], seed=2)  # gap ratio 199/200: slow for power iteration
    apply = lambda v: a @ v  # noqa: E731
    for k in (3, 5, 10):
        krylov = lanczos(apply, 200, tolerance=0.0, max_iterations=k, dtype=torch.float64)
        power = top_eigenvalue(apply, 200, tolerance=0.0, max_iterations=k, dtype=torch.float64)
        assert krylov.iterations == power.iterations == k and not krylov.converged
        assert power.lambda_max <= krylov.lambda_max <= 200.0  # both lower bounds, Lanczos the tighter
    assert lanczos(apply, 200, tolerance=1e-8, max_iterations=200, dtype=torch.float64).lambda_max == (
        pytest.approx(200.0, rel=1e-8)
    )


def test_an_invariant_start_stops_at_once_and_the_cap_holds_below_the_dimension():
    a = _matrix([1.0, 2.0, 5.0])
    top = torch.linalg.eigh(a).eigenvectors[:, -1]
    result = lanczos(lambda v: a @ v, 3, previous=top, tolerance=1e-8, dtype=torch.float64)
    assert result.iterations == 1 and result.lambda_max == pytest.approx(5.0, rel=1e-12)
    capped = lanczos(lambda v: a @ v, 3, tolerance=0.0, max_iterations=50, dtype=torch.float64)
    assert capped.iterations == 3 and capped.lambda_max == pytest.approx(5.0, rel=1e-12)  # exact at k = n


def test_sharpness_by_lanczos_is_the_full_hessians_top_eigenvalue(digits):
    x, y = digits
    model, _ = _trained(TINY, "sgd", {"lr": 0.5}, x, y, 20)
    expected = float(torch.linalg.eigvalsh(_full_hessian(model, x, y, train=False).double())[-1])
    result = sharpness(model, x, y, tolerance=1e-4, max_iterations=60, method="lanczos")
    assert result.converged and result.lambda_max == pytest.approx(expected, rel=1e-4)
    power = sharpness(model, x, y, tolerance=1e-4, max_iterations=500)
    assert result.iterations < power.iterations
    # Warm-started from its own Ritz vector, the same weights take one product.
    again = sharpness(model, x, y, previous=result.vector, tolerance=1e-3, method="lanczos")
    assert again.iterations == 1 and again.lambda_max == pytest.approx(expected, rel=1e-3)


def test_preconditioned_sharpness_by_lanczos(digits):
    x, y = digits
    model, optimizer = _trained(TINY, "adam", {"lr": 0.01, "weight_decay": 0.05}, x, y, 5)
    h = _full_hessian(model, x, y, train=False).double()
    p = torch.cat([diag.reshape(-1) for _, diag, _ in preconditioner(optimizer)]).double()
    m = (h + 0.05 * torch.eye(len(p), dtype=torch.float64)) / p[:, None]  # P⁻¹(H + λI)
    expected = float(torch.linalg.eigvals(m).real.max())
    result = preconditioned_sharpness(
        model, optimizer, x, y, tolerance=1e-5, max_iterations=100, method="lanczos"
    )
    assert result.lambda_max == pytest.approx(expected, rel=1e-3)


def test_an_unknown_method_is_refused(digits):
    x, y = digits
    with pytest.raises(ValueError, match=r"method must be one of \['lanczos', 'power'\], got 'qr'"):
        sharpness(build_model(ModelConfig(**TINY)), x, y, method="qr")
