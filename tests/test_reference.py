"""Agreement with torchsde/torchdiffeq and exactness properties of the exponential steppers."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import sdesolve
from sdesolve import ClosedForm, SemilinearSDE, integrate, solve
from sdesolve.reference import brownian_interval, odeint_reference, sdeint_reference
from tests.helpers import constant_drift_sde, linear_mean, linear_var, tv_sde

F64 = torch.float64


def _dyadic(n: int, backward: bool) -> torch.Tensor:
    ts = torch.arange(n + 1, dtype=F64) / n  # exact in binary: torchsde visits the same times
    return ts.flip(0) if backward else ts


@pytest.mark.parametrize("backward", [False, True])
def test_euler_maruyama_matches_torchsde_euler_to_roundoff(backward: bool) -> None:
    sde = tv_sde()
    x0 = torch.randn(16, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    ts = _dyadic(32, backward)
    bm = brownian_interval(ts, x0.shape, seed=3)
    ref = sdeint_reference(sde, x0, ts, bm, method="euler", trajectory=True)
    ours = solve(sde, x0, ts, "euler_maruyama", bm=bm, trajectory=True)
    assert ours.shape == ref.shape == (33, 16, 3)
    assert torch.allclose(ours, ref, rtol=0, atol=1e-13), (ours - ref).abs().max()


@pytest.mark.needs_plugin("sra")
@pytest.mark.parametrize("backward", [False, True])
def test_example_plugin_sra1_matches_torchsde_srk_to_roundoff(backward: bool) -> None:
    assert "sra1" in sdesolve.steppers(), "the example plugin plugins/sdesolve-sra is not installed"
    sde = tv_sde()
    x0 = torch.randn(16, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    ts = _dyadic(16, backward)
    bm = brownian_interval(ts, x0.shape, seed=4)
    ref = sdeint_reference(sde, x0, ts, bm, method="srk")
    assert torch.allclose(solve(sde, x0, ts, "sra1", bm=bm), ref, rtol=0, atol=1e-13)


def test_euler_on_an_ode_matches_torchdiffeq_euler() -> None:
    import torchdiffeq

    sde = tv_sde(noise=False)
    x0 = torch.randn(8, 2, dtype=F64)
    ts = torch.linspace(0.0, 1.0, 21, dtype=F64)
    ref = torchdiffeq.odeint(lambda t, x: sde.drift(t.expand(8), x), x0, ts, method="euler")
    assert torch.allclose(solve(sde, x0, ts, "euler_maruyama", trajectory=True), ref, atol=1e-13)


def test_odeint_reference_is_accurate_on_a_closed_form_problem() -> None:
    sde = SemilinearSDE(a=-0.7, nonlinear=lambda t, x: 0.3 * x)
    x0 = torch.ones(2, 1, dtype=F64)
    ref = odeint_reference(sde, x0, [0.0, 2.0])
    assert torch.allclose(ref, x0 * math.exp(-0.8), rtol=1e-10)


@pytest.mark.parametrize("method", ["exponential_euler", "exponential_rk2", "exponential_ab2", "randomized_midpoint"])
@pytest.mark.parametrize("backward", [False, True])
def test_exponential_steppers_are_exact_for_constant_nonlinearity_ode(method: str, backward: bool) -> None:
    a, b = -1.3, 0.7
    sde = constant_drift_sde(a, b, None)
    x0 = torch.linspace(-1, 1, 5, dtype=F64)[:, None]
    ts = [0.0, 0.4, 1.7] if not backward else [1.7, 0.4, 0.0]
    out = solve(sde, x0, ts, method, generator=torch.Generator().manual_seed(0))
    h = ts[-1] - ts[0]
    expected = torch.tensor([linear_mean(a, b, float(v), h) for v in x0[:, 0]], dtype=F64)[:, None]
    assert torch.allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "method,options",
    [
        ("exponential_euler", {}),
        ("randomized_midpoint", {}),
        ("exponential_rk2", {"r": 0.3}),
    ],
)
def test_exponential_steppers_are_exact_in_law_for_frozen_nonlinearity(method: str, options: dict) -> None:
    """One big step of an OU-type SDE: mean and variance match the closed form (exact noise integrals)."""
    a, b, g, h = -0.8, 0.5, 1.2, 1.5
    sde = constant_drift_sde(a, b, g)
    n = 200_000
    x0 = torch.full((n, 1), 0.3, dtype=F64)
    out = solve(sde, x0, [0.0, h], method, generator=torch.Generator().manual_seed(5), **options)
    mean, var = linear_mean(a, b, 0.3, h), linear_var(a, g, h)
    se = math.sqrt(var / n)
    assert abs(float(out.mean()) - mean) < 5 * se
    assert float(out.var()) == pytest.approx(var, rel=5 * math.sqrt(2 / n))


@pytest.mark.parametrize("distribution", ["importance", "uniform"])
def test_randomized_midpoint_estimates_the_drift_integral_without_bias(distribution: str) -> None:
    """For N = N(t) (no x), E_τ[W N(τ)] must equal ∫ Φ/Φ(t') N exactly: the mean over τ is exact."""
    a = -1.1
    sde = SemilinearSDE(a=a, nonlinear=lambda t, x: torch.cos(3 * t).to(x.dtype).expand_as(x))
    n = 400_000
    x0 = torch.zeros(n, 1, dtype=F64)
    out = solve(
        sde,
        x0,
        [0.0, 1.0],
        "randomized_midpoint",
        distribution=distribution,
        generator=torch.Generator().manual_seed(2),
    )
    exact = float(odeint_reference(sde, x0[:1], [0.0, 1.0]))
    se = float(out.std()) / math.sqrt(n)
    assert abs(float(out.mean()) - exact) < 5 * se, (float(out.mean()), exact, se)
    # and the spread over τ is really there (the estimator is random)
    assert float(out.std()) > 1e-3


def test_uniform_midpoint_is_unbiased_but_not_exact_in_law() -> None:
    """With uniform τ the drift weight h Φ(τ)/Φ(t') is random: right mean, inflated variance."""
    a, b, g, h = -0.8, 0.5, 1.2, 1.5
    n = 200_000
    x0 = torch.full((n, 1), 0.3, dtype=F64)
    out = solve(
        constant_drift_sde(a, b, g),
        x0,
        [0.0, h],
        "randomized_midpoint",
        distribution="uniform",
        generator=torch.Generator().manual_seed(5),
    )
    var = linear_var(a, g, h)
    assert abs(float(out.mean()) - linear_mean(a, b, 0.3, h)) < 5 * math.sqrt(var / n)
    assert float(out.var()) > var * (1 + 5 * math.sqrt(2 / n))


def test_quadrature_coefficients_match_closed_forms() -> None:
    """VP-like a(t) = -β(t)/2 with β linear: closed form (ClosedForm) vs float64 quadrature."""
    b0, b1 = 0.1, 20.0

    def beta(t):
        return b0 + (b1 - b0) * t

    def log_phi(t):  # -∫a = ∫β/2
        return 0.5 * (b0 * t + 0.5 * (b1 - b0) * t * t)

    g = lambda t: torch.sqrt(beta(t))  # noqa: E731
    numeric = SemilinearSDE(a=lambda t: -0.5 * beta(t), nonlinear=lambda t, x: x, g=g)
    closed = SemilinearSDE(a=lambda t: -0.5 * beta(t), nonlinear=lambda t, x: x, g=g, factor=ClosedForm(log_phi))
    ts = torch.tensor([1e-3, 0.2, 0.6, 1.0], dtype=F64)
    from sdesolve.coefficients import GridCoefficients

    c_num = GridCoefficients(numeric, ts, device="cpu", dtype=F64)
    c_cf = GridCoefficients(closed, ts, device="cpu", dtype=F64)
    for name in ("state_weight", "phi1", "noise_std", "path_mean", "phi2"):
        assert torch.allclose(
            torch.tensor(getattr(c_num, name), dtype=F64),
            torch.tensor(getattr(c_cf, name), dtype=F64),
            rtol=1e-11,
            atol=1e-14,
        ), name
    # VP identities: Φ(t)/Φ(t') = α(t')/α(t) and the noise variance is 1 - (α(t')/α(t))².
    alpha = torch.exp(-log_phi(ts))
    ratio = alpha[1:] / alpha[:-1]
    assert torch.allclose(torch.tensor(c_num.state_weight, dtype=F64), ratio, rtol=1e-12)
    assert torch.allclose(torch.tensor(c_num.noise_std, dtype=F64) ** 2, 1 - ratio**2, rtol=1e-10)


def test_nfe_counts_match_declarations() -> None:
    sde = tv_sde()
    x0 = torch.zeros(4, 2, dtype=F64)
    for name, cls in sdesolve.steppers().items():
        res = integrate(sde, x0, torch.linspace(0, 1, 8, dtype=F64), name)
        assert res.nfe == 7 * cls.nfe_per_step, name


def _vp(t):
    """Linear-β VP schedule: α(t), σ(t) in float64."""
    log_alpha = -0.25 * t * t * (20.0 - 0.1) - 0.5 * t * 0.1
    alpha = torch.exp(log_alpha)
    return alpha, torch.sqrt(-torch.expm1(2 * log_alpha))


@pytest.mark.parametrize("closed", [False, True])
def test_exponential_euler_with_weight_b_is_ddim(closed: bool) -> None:
    """Data-prediction splitting a = dlogσ/dt, b = σ d(α/σ)/dt: exponential Euler is exactly DDIM (η = 0).

    The weight b lets exponential steppers freeze the denoiser D, not b·D — the defining property of DDIM.
    """
    eps = 1e-6

    def dlog(fn, t):
        return (torch.log(fn(t + eps)) - torch.log(fn(t - eps))) / (2 * eps)

    def a(t):
        return dlog(lambda u: _vp(u)[1], t)

    def b(t):
        alpha = _vp(t)[0]
        return alpha * (dlog(lambda u: _vp(u)[0], t) - a(t))

    def denoiser(t, x):
        return torch.tanh(x) * (1 + t.to(x.dtype)[:, None])

    factor = ClosedForm(lambda t: -torch.log(_vp(t)[1]), psi=lambda t: _vp(t)[0] / _vp(t)[1]) if closed else None
    sde = SemilinearSDE(a=a, b=b, nonlinear=denoiser, factor=factor, time_layout="batch")  # a network's layout
    x = torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    ts = torch.tensor([0.9, 0.5, 0.2, 0.05], dtype=F64)
    ours = solve(sde, x, ts, "exponential_euler", trajectory=True)
    expected = [x]
    for t0, t1 in itertools.pairwise(ts):
        (a0, s0), (a1, s1) = _vp(t0), _vp(t1)
        d = denoiser(t0.expand(6), expected[-1])
        expected.append(a1 * d + s1 * (expected[-1] - a0 * d) / s0)
    assert torch.allclose(ours, torch.stack(expected), rtol=1e-9, atol=1e-9)


def test_randomized_midpoint_uniform_weight_includes_b() -> None:
    """Unbiasedness with a time-dependent weight b(t), for both midpoint distributions."""
    sde = SemilinearSDE(a=-0.6, b=lambda t: 1.0 + t * t, nonlinear=lambda t, x: torch.cos(3 * t).expand_as(x))
    x0 = torch.zeros(400_000, 1, dtype=F64)
    exact = float(odeint_reference(sde, x0[:1], [0.0, 1.0]))
    for distribution in ("importance", "uniform"):
        out = solve(
            sde,
            x0,
            [0.0, 1.0],
            "randomized_midpoint",
            distribution=distribution,
            generator=torch.Generator().manual_seed(3),
        )
        assert abs(float(out.mean()) - exact) < 5 * float(out.std()) / 20**0.5 / 141.42, distribution


def test_importance_sampling_rejects_a_weight_that_changes_sign() -> None:
    sde = SemilinearSDE(a=-1.0, b=lambda t: t - 0.5, nonlinear=lambda t, x: x)
    with pytest.raises(ValueError, match="b\\(t\\) must be nonzero with one sign on every step"):
        solve(sde, torch.zeros(2, 1, dtype=F64), [0.0, 1.0], "randomized_midpoint")
    solve(sde, torch.zeros(2, 1, dtype=F64), [0.0, 1.0], "randomized_midpoint", distribution="uniform")
