"""exponential_ab3: the quadratic extrapolation is integrated exactly, the corrected start keeps third order, the
DPM-Solver++(3M) options (``start="lower_order"``, ``curvature=0.5``) are second order, options are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sdesolve import SemilinearSDE, integrate, solve
from sdesolve.conformance import fit_order
from sdesolve.steppers.exponential_ab3 import ExponentialAB3

F64 = torch.float64
A = -0.7


def _quadratic_forcing() -> SemilinearSDE:
    """``dx = (A x + q(t)) dt`` with ``q`` quadratic in t: exact solution in closed form by variation of constants."""
    return SemilinearSDE(a=A, nonlinear=lambda t, x: (1.0 + 2.0 * t - 3.0 * t * t).to(x.dtype).expand_as(x))


def _exact_quadratic(x0: float, t0: float, t1: float) -> float:
    # ∫_{t0}^{t1} e^{A(t1-u)} q(u) du, q(u) = 1 + 2u - 3u², by repeated integration by parts
    def anti(u: float) -> float:  # d/du of this = e^{A(t1-u)} q(u)
        q, dq, ddq = 1 + 2 * u - 3 * u * u, 2 - 6 * u, -6.0
        return -math.exp(A * (t1 - u)) * (q / A + dq / A**2 + ddq / A**3)

    return x0 * math.exp(A * (t1 - t0)) + anti(t1) - anti(t0)


def _graded(n: int) -> torch.Tensor:
    i = torch.arange(n + 1, dtype=F64) / n
    return 0.1 + 1.9 * i**1.6  # non-uniform, increasing


def test_after_the_start_a_quadratic_forcing_is_integrated_exactly() -> None:
    ts = _graded(9)
    x0 = torch.full((1, 1), 0.4, dtype=F64)
    traj = solve(_quadratic_forcing(), x0, ts, "exponential_ab3", trajectory=True)[:, 0, 0]
    exact = [_exact_quadratic(0.4, float(ts[0]), float(t)) for t in ts]
    err2 = float(traj[2]) - exact[2]  # the start's error at t_2 (nonzero: Euler then AB2)
    assert abs(err2) > 1e-6
    # from t_2 on every step is exact, so the error is the start's, carried by e^{A Δt}
    for k in range(3, len(ts)):
        carried = err2 * math.exp(A * float(ts[k] - ts[2]))
        assert abs((float(traj[k]) - exact[k]) - carried) < 1e-13, k


def test_a_linear_forcing_is_exact_from_the_corrected_start() -> None:
    sde = SemilinearSDE(a=A, nonlinear=lambda t, x: (1.0 - 2.0 * t).to(x.dtype).expand_as(x))
    ts = _graded(7)

    def exact(t1: float) -> float:
        def anti(u: float) -> float:
            return -math.exp(A * (t1 - u)) * ((1 - 2 * u) / A - 2 / A**2)

        return 0.4 * math.exp(A * (t1 - float(ts[0]))) + anti(t1) - anti(float(ts[0]))

    x0 = torch.full((1, 1), 0.4, dtype=F64)
    corrected = solve(sde, x0, ts, "exponential_ab3")
    lower = solve(sde, x0, ts, ExponentialAB3(start="lower_order"))
    assert abs(float(corrected) - exact(float(ts[-1]))) < 1e-13
    assert abs(float(lower) - exact(float(ts[-1]))) > 1e-4


def _nonlinear() -> SemilinearSDE:
    return SemilinearSDE(a=lambda t: -1.0 - 0.5 * torch.sin(t), nonlinear=lambda t, x: torch.sin(3.0 * t) - x**3 / 4)


def _coarse_first(n: int) -> torch.Tensor:
    """Non-uniform, widest steps first: the first step's error is visible (a graded grid would hide it)."""
    return 2.0 - 1.9 * (1 - torch.arange(n + 1, dtype=F64) / n) ** 1.6


def _order(stepper) -> float:
    import torchdiffeq

    sde = _nonlinear()
    x0 = torch.linspace(-1.5, 1.5, 16, dtype=F64)[:, None]

    def rhs(t, x):
        return (-1.0 - 0.5 * torch.sin(t)) * x + torch.sin(3.0 * t) - x**3 / 4

    ref = torchdiffeq.odeint(rhs, x0, torch.tensor([0.1, 2.0], dtype=F64), rtol=1e-12, atol=1e-13)[-1]
    steps = [16, 32, 64, 128]
    errors = [float((solve(sde, x0, _coarse_first(n), stepper) - ref).pow(2).mean().sqrt()) for n in steps]
    return fit_order(steps, errors)


def test_the_defaults_are_third_order_and_the_dpm_solver_options_second_order() -> None:
    # measured: 3.07 (defaults), 2.28 (start="lower_order"), 2.39 (curvature=0.5)
    assert _order("exponential_ab3") > 2.75
    assert _order(ExponentialAB3(start="lower_order")) < 2.5
    assert _order(ExponentialAB3(curvature=0.5)) < 2.5


def test_one_evaluation_per_step_with_and_without_noise() -> None:
    for g in (None, 0.3):
        sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: torch.cos(x), g=g)
        res = integrate(sde, torch.zeros(4, 2, dtype=F64), _graded(11), "exponential_ab3")
        assert res.nfe == 11


def test_two_steps_and_one_step_grids() -> None:
    sde = _quadratic_forcing()
    x0 = torch.full((1, 1), 0.4, dtype=F64)
    for n in (1, 2):
        ts = _graded(n)
        out = solve(sde, x0, ts, "exponential_ab3")
        assert np.isfinite(float(out))
    one = solve(sde, x0, _graded(1), "exponential_ab3")
    assert float(one) == pytest.approx(float(solve(sde, x0, _graded(1), "exponential_euler")), abs=1e-15)


@pytest.mark.parametrize("options", [{"start": "euler"}, {"curvature": float("nan")}, {"curvature": True}])
def test_bad_options_are_refused(options) -> None:
    with pytest.raises(ValueError, match="exponential_ab3"):
        ExponentialAB3(**options)


@pytest.mark.parametrize("backward", [False, True])
def test_phi3_is_the_second_moment_weight(backward: bool) -> None:
    """``coef.phi3 = ∫ (Φ(u)/Φ(t')) b (u - t)² du`` = ``2 b h³ φ₃(a h)`` for constants, ``φ₃(z) = (e^z - 1 - z -
    z²/2)/z³``, forward and backward; and the chunked pass gives the same numbers."""
    from sdesolve.coefficients import GridCoefficients

    a, b = -0.7, 1.3
    ts = _graded(6).flip(0) if backward else _graded(6)
    sde = SemilinearSDE(a=a, b=b, nonlinear=lambda t, x: x)
    coef = GridCoefficients(sde, ts, device="cpu", dtype=F64)
    chunked = GridCoefficients(sde, ts, device="cpu", dtype=F64, chunk=2)
    for k, h in enumerate(coef.h):
        z = a * h
        want = 2 * b * h**3 * (math.exp(z) - 1 - z - z * z / 2) / z**3
        assert coef.phi3[k] == pytest.approx(want, rel=1e-11), k
    np.testing.assert_allclose(chunked.phi3, coef.phi3, rtol=1e-15)
