"""The ``unipc`` stepper: its weights, the orders of its options, exactness where the method is exact, refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sdesolve import SemilinearSDE, integrate, solve
from sdesolve.coefficients import GridCoefficients
from sdesolve.conformance import fit_order
from sdesolve.reference import odeint_reference
from sdesolve.steppers.unipc import UniPC, weight_moments
from tests.helpers import constant_drift_sde, linear_mean, tv_sde

F64 = torch.float64


def _graded(n: int, t0: float = 0.0, t1: float = 1.5) -> torch.Tensor:
    """A non-uniform grid (steps shrinking quadratically towards t1)."""
    u = torch.linspace(0, 1, n + 1, dtype=F64)
    return t0 + (t1 - t0) * (1 - (1 - u) ** 2)


def _phi(k: int, z: float) -> float:
    """``φ_k(z) = Σ_j z^j / (j + k)!``."""
    return sum(z**j / math.factorial(j + k) for j in range(40))


@pytest.mark.parametrize("reverse", [False, True])
def test_weight_moments_match_the_coefficients_and_the_closed_form(reverse: bool) -> None:
    ts = _graded(7)
    if reverse:
        ts = ts.flip(0)
    # nested quadrature of L (no closed form): the moments 0-2 are the coefficients' phi1, phi2/h, phi3/h²
    coef = GridCoefficients(tv_sde(noise=False), ts, device=torch.device("cpu"), dtype=F64)
    m = weight_moments(coef, (0, 1, 2))
    scale = np.abs(coef.phi1).max()
    np.testing.assert_allclose(m[0], coef.phi1, rtol=0, atol=1e-14 * scale)
    np.testing.assert_allclose(m[1], coef.phi2 / coef.h, rtol=0, atol=1e-14 * scale)
    np.testing.assert_allclose(m[2], coef.phi3 / coef.h**2, rtol=0, atol=1e-14 * scale)
    # constants (closed-form L): M_m = b h m! φ_{m+1}(a h)
    a, b = -0.7, 1.3
    sde = SemilinearSDE(a=a, b=b, nonlinear=lambda t, x: x)
    coef = GridCoefficients(sde, ts, device=torch.device("cpu"), dtype=F64)
    m = weight_moments(coef, (0, 1, 2, 3))
    for row, power in enumerate((0, 1, 2, 3)):
        exact = [b * h * math.factorial(power) * _phi(power + 1, a * h) for h in coef.h]
        np.testing.assert_allclose(m[row], exact, rtol=1e-13, atol=0)


def test_lower_order_start_and_lower_order_final() -> None:
    sde = tv_sde(noise=False)
    coef = GridCoefficients(sde, _graded(6), device=torch.device("cpu"), dtype=F64)
    assert UniPC(order=3).plan(coef).order.tolist() == [1, 2, 3, 3, 3, 3]
    assert UniPC(order=3, lower_order_final=True).plan(coef).order.tolist() == [1, 2, 3, 3, 2, 1]
    assert UniPC(order=2, lower_order_final=True).plan(coef).order.tolist() == [1, 2, 2, 2, 2, 1]
    assert UniPC(order=1).plan(coef).order.tolist() == [1] * 6


@pytest.mark.parametrize(
    "options",
    [{}, {"order": 1}, {"order": 3, "variant": "bh1"}, {"corrector": False}, {"lower_order_final": True}],
)
def test_exact_for_a_constant_nonlinearity(options) -> None:
    """``N ≡ c``: every divided difference vanishes and the step is the exact exponential integral."""
    a, c = -0.7, 0.9
    x0 = torch.linspace(-1, 1, 8, dtype=F64)[:, None]
    x = solve(constant_drift_sde(a, c, None), x0, _graded(9), UniPC(**options))
    exact = torch.tensor([[linear_mean(a, c, float(v), 1.5)] for v in x0], dtype=F64)
    assert float((x - exact).abs().max()) < 1e-13


@pytest.mark.parametrize("order", [2, 3])
def test_exact_for_a_linear_nonlinearity_with_the_corrector(order: int) -> None:
    """``a = 0, b = 1, N = c₀ + c₁ t`` with ``bh1``: the fixed weight ``B/2 = h/2`` is the exact moment, so the
    corrected first step and every later step integrate the line exactly (the predictor alone does not)."""
    sde = SemilinearSDE(a=0.0, nonlinear=lambda t, x: 0.4 - 1.1 * t.to(x.dtype) + 0 * x)
    x0 = torch.zeros(4, 1, dtype=F64)
    ts = _graded(7)
    exact = 0.4 * 1.5 - 1.1 * 1.5**2 / 2
    x = solve(sde, x0, ts, UniPC(order=order, variant="bh1"))
    assert float((x - exact).abs().max()) < 1e-13
    x = solve(sde, x0, ts, UniPC(order=order, variant="bh1", corrector=False))
    assert float((x - exact).abs().max()) > 1e-4  # the first-order start is not exact


@pytest.mark.parametrize(
    "options,expected",
    [
        ({"order": 1, "corrector": False}, 1.0),
        ({"order": 1}, 2.0),
        ({"order": 2, "corrector": False}, 2.0),  # the first-order start limits it
        ({"order": 2}, 3.0),
        ({"order": 2, "variant": "bh1"}, 3.0),
        ({"order": 3}, 3.0),
        ({"order": 3, "lower_order_final": True}, 2.0),  # the last step is first order
    ],
)
def test_orders_of_the_options_on_a_non_uniform_grid(options, expected) -> None:
    sde = tv_sde(noise=False)
    x0 = torch.linspace(-2, 2, 32, dtype=F64)[:, None]
    ref = odeint_reference(sde, x0, [0.0, 1.5], rtol=1e-12, atol=1e-14)
    steps = [16, 32, 64, 128]
    errors = []
    for n in steps:
        res = integrate(sde, x0, _graded(n), UniPC(**options))
        assert res.nfe == n  # one evaluation per step: the corrector reuses it
        errors.append(float((res.x - ref).pow(2).mean().sqrt()))
    assert fit_order(steps, errors) >= expected - 0.25, (options, errors)


def test_noise_is_the_exact_integral_added_once_per_step() -> None:
    """``N ≡ c``: every exponential step is ``e^L x + phi1 c + η`` with ``η`` the exact noise integral, drawn once
    per step; ``unipc`` (predictor and corrector share it) then equals ``exponential_ab2`` on the same draws."""
    sde = constant_drift_sde(-0.7, 0.9, 0.5)
    x0 = torch.linspace(-1, 1, 64, dtype=F64)[:, None]
    ours = solve(sde, x0, _graded(9), UniPC(order=3), generator=torch.Generator().manual_seed(4))
    theirs = solve(sde, x0, _graded(9), "exponential_ab2", generator=torch.Generator().manual_seed(4))
    assert float((ours - theirs).abs().max()) < 1e-13
    ode = solve(constant_drift_sde(-0.7, 0.9, None), x0, _graded(9), UniPC(order=3))
    assert float((ours - ode).abs().max()) > 1e-2  # the noise is there


def test_bad_options_are_refused() -> None:
    for bad in ({"order": 4}, {"order": True}, {"order": 2.0}, {"variant": "bh3"}, {"corrector": 1}):
        with pytest.raises(ValueError, match="unipc option"):
            UniPC(**bad)
    assert UniPC.options() == {"order": 2, "variant": "bh2", "corrector": True, "lower_order_final": False}
