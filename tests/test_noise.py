"""Joint laws of the Brownian quantities the steppers draw (Lemma 2 of the DDRaM paper and friends)."""

from __future__ import annotations

import math

import pytest
import torch

from sdesolve.coefficients import GridCoefficients
from sdesolve.noise import GaussianNoise, PathNoise
from sdesolve.reference import brownian_interval
from tests.helpers import constant_drift_sde

F64 = torch.float64
N = 400_000


def _cov(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - a.mean()) * (b - b.mean())).mean())


@pytest.mark.parametrize("backward", [False, True])
def test_split_noise_has_the_lemma2_joint_law(backward: bool) -> None:
    a, g, h, frac = -0.9, 1.3, 1.2, 0.35
    ts = [0.0, h] if not backward else [h, 0.0]
    coef = GridCoefficients(constant_drift_sde(a, 0.0, g), torch.tensor(ts, dtype=F64), device="cpu", dtype=F64)
    noise = GaussianNoise(coef, torch.Generator().manual_seed(0))
    like = torch.zeros(N, 1, dtype=F64)
    sw = coef.split(0, torch.full((N,), frac, dtype=F64))
    eta1, eta2 = noise.split(0, like, sw)
    # Exact (Lemma 2, OU-type with L = a·δ along the direction of integration; δ = |τ - t|):
    d1, d = frac * h, h
    a = a if not backward else -a  # L = ∫_t^u a runs against the time direction when integrating backwards
    var1 = g * g * math.expm1(2 * a * d1) / (2 * a)
    var2 = g * g * math.expm1(2 * a * d) / (2 * a)
    cov = math.exp(a * (d - d1)) * var1
    tol = 5 * math.sqrt(2 / N)
    assert float(eta1.var()) == pytest.approx(var1, rel=tol)
    assert float(eta2.var()) == pytest.approx(var2, rel=tol)
    assert _cov(eta1, eta2) == pytest.approx(cov, rel=2 * tol)


def test_space_time_area_joint_law() -> None:
    h = 0.7
    coef = GridCoefficients(
        constant_drift_sde(-1.0, 0.0, 1.0), torch.tensor([0.0, h], dtype=F64), device="cpu", dtype=F64
    )
    dw, u = GaussianNoise(coef, torch.Generator().manual_seed(1)).space_time(0, torch.zeros(N, 1, dtype=F64))
    tol = 5 * math.sqrt(2 / N)
    assert float(dw.var()) == pytest.approx(h, rel=tol)
    assert float(u.var()) == pytest.approx(h**3 / 3, rel=tol)
    assert _cov(dw, u) == pytest.approx(h**2 / 2, rel=2 * tol)


def test_torchsde_space_time_area_has_the_same_convention() -> None:
    """torchsde's U (return_U=True) is ∫(W(s) - W(s_k)) ds: same moments as GaussianNoise.space_time."""
    h, n = 0.7, 100_000
    bm = brownian_interval([0.0, h], (n, 1), seed=0)
    dw, u = bm(0.0, h, return_U=True)
    tol = 5 * math.sqrt(2 / n)
    assert float(u.var()) == pytest.approx(h**3 / 3, rel=tol)
    assert _cov(dw, u) == pytest.approx(h**2 / 2, rel=2 * tol)


def test_path_noise_bridge_is_consistent_with_the_path() -> None:
    """Per-sample midpoints: ΔW₁ + ΔW₂ equals the path's increment, and ΔW₁ has variance f|h|."""
    a, g, h, frac, n = -0.5, 1.0, 0.8, 0.3, 200_000
    ts = torch.tensor([0.0, h], dtype=F64)
    coef = GridCoefficients(constant_drift_sde(a, 0.0, g), ts, device="cpu", dtype=F64)
    bm = brownian_interval(ts, (n, 1), seed=1, levy_area=False)
    noise = PathNoise(coef, bm, torch.Generator().manual_seed(2))
    like = torch.zeros(n, 1, dtype=F64)
    sw = coef.split(0, torch.full((n,), frac, dtype=F64))
    eta1, eta2 = noise.split(0, like, sw)
    dw1 = eta1 / sw.head_path_mean[:, None]
    tol = 5 * math.sqrt(2 / n)
    assert float(dw1.var()) == pytest.approx(frac * h, rel=tol)
    # projections reproduce the exact variance of η₂ to O(h³) in the weights' variation
    var2 = g * g * math.expm1(2 * a * h) / (2 * a)
    assert float(eta2.var()) == pytest.approx(var2, rel=0.02)


def test_importance_fractions_follow_the_integrating_factor_density() -> None:
    """τ ∝ Φ on the step: for constant a, CDF(f) = expm1(-a f h)/expm1(-a h). Closed form vs tables agree."""
    a, h = -1.7, 1.4
    ts = torch.tensor([0.0, h], dtype=F64)
    closed = GridCoefficients(constant_drift_sde(a, 0.0, 1.0), ts, device="cpu", dtype=F64)
    from sdesolve import SemilinearSDE

    numeric_sde = SemilinearSDE(a=lambda t: a + 0 * t, nonlinear=lambda t, x: x, g=lambda t: 1 + 0 * t)
    numeric = GridCoefficients(numeric_sde, ts, device="cpu", dtype=F64)
    q = torch.rand(50_000, dtype=F64, generator=torch.Generator().manual_seed(3))
    f_closed = closed.importance_fraction(0, q)
    f_numeric = numeric.importance_fraction(0, q)
    assert torch.allclose(f_closed, f_numeric, atol=1e-7)
    cdf = torch.expm1(-a * f_closed * h) / math.expm1(-a * h)
    assert torch.allclose(cdf, q, atol=1e-12)
