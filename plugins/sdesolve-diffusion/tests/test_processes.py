"""Processes (α, σ, their derivatives and inverses), closed-form integrating factors, and time grids."""

from __future__ import annotations

import math

import pytest
import torch
from diffusion_cases import processes
from sdesolve_diffusion import SPLITTINGS

from sdesolve import SemilinearSDE, registry
from sdesolve.coefficients import build_tables
from sdesolve.quadrature import gauss_legendre

F64 = torch.float64


def _interior(process, n: int = 9) -> torch.Tensor:
    lo, hi = process.t_min, process.t_max
    if process.discrete:
        return torch.linspace(lo + 0.3, hi - 0.3, n, dtype=F64)
    return torch.linspace(lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo), n, dtype=F64)


@pytest.mark.parametrize("name", processes())
def test_process_identities(name: str) -> None:
    p = registry().get("process", name)
    t = _interior(p)
    eps = 1e-6
    fd = (p.log_alpha(t + eps) - p.log_alpha(t - eps)) / (2 * eps)
    assert torch.allclose(p.dlog_alpha(t), fd, rtol=1e-6, atol=1e-8)
    fd_s = (torch.log(p.sigma(t + eps)) - torch.log(p.sigma(t - eps))) / (2 * eps)
    assert torch.allclose(p.dlog_sigma(t), fd_s, rtol=1e-6, atol=1e-8)
    assert bool((p.g2(t) >= 0).all())
    assert torch.allclose(p.t_from_edm_sigma(p.edm_sigma(t)), t, rtol=1e-9, atol=1e-9)
    assert torch.allclose(p.time_from_model(p.model_time(t)), t)
    assert torch.allclose(p.log_snr(t), p.log_alpha(t) - torch.log(p.sigma(t)), atol=1e-12)
    if p.variance_preserving:
        assert torch.allclose(p.alpha(t) ** 2 + p.sigma(t) ** 2, torch.ones_like(t), atol=1e-14)
    # ∫ g² against Gauss–Legendre on each sub-interval (whole timesteps for a table: smooth between them)
    x, w = gauss_legendre(16)
    a, b = (t[:-1], t[1:]) if not p.discrete else (torch.arange(5, 13, dtype=F64), torch.arange(6, 14, dtype=F64))
    nodes = a[:, None] + (b - a)[:, None] * x
    quad = (p.g2(nodes) * w).sum(-1) * (b - a)
    assert torch.allclose(p.int_g2(a, b), quad, rtol=1e-6)


def _nonlinear():
    class Identity:
        score = data = eps = staticmethod(lambda t, x: x)

    return Identity()


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("splitting", SPLITTINGS)
@pytest.mark.parametrize("name", processes())
def test_closed_form_factors_match_quadrature(name: str, splitting: str, eta: float) -> None:
    """Every closed form a process gives (L, P, Q, inverse CDF) against the core's float64 quadrature."""
    p = registry().get("process", name)
    closed = p.sde(_nonlinear(), splitting, eta)
    numeric = SemilinearSDE(a=closed._a_fn, b=closed._b_fn, g=closed._g_fn, nonlinear=lambda t, x: x)
    if p.discrete:  # log ᾱ is piecewise linear: cells of one timestep keep the quadrature exact
        grid, cells = torch.arange(96, 0, -8, dtype=F64), 8
    else:
        grid, cells = registry().get("grid", "edm")(p, 6), 64
    tc = build_tables(closed, grid[:-1], grid[1:], cells)
    tn = build_tables(numeric, grid[:-1], grid[1:], cells)
    for field in ("L", "P", "Q"):
        got, want = getattr(tc, field), getattr(tn, field)
        assert torch.allclose(got, want, rtol=5e-6, atol=1e-12 * float(want.abs().max())), field
    factor = closed.factor
    if factor.provides("sample_time"):
        q = torch.linspace(0.01, 0.99, 7, dtype=F64)
        t0, t1 = grid[2].expand(7), grid[3].expand(7)
        tau = factor.sample_time(t0, t1, q)
        cdf = factor.drift_integral(t0, tau) / factor.drift_integral(t0, t1)
        assert torch.allclose(cdf, q, atol=1e-12)


@pytest.mark.parametrize("name", ["uniform", "edm", "logsnr", "quadratic", "theory"])
@pytest.mark.parametrize("process", ["vp", "ve", "edm", "ou", "discrete"])
def test_grids_are_decreasing_and_span_the_process(name: str, process: str) -> None:
    p = registry().get("process", process)
    grid = registry().get("grid", name)
    ts = grid(p, 12)
    assert ts.dtype == F64 and ts.shape == (13,)
    assert bool((ts[1:] < ts[:-1]).all())
    assert float(ts[0]) == p.t_max and float(ts[-1]) == p.t_min


def test_grid_shapes() -> None:
    p = registry().get("process", "vp")
    grids = registry().items["grid"]
    lam = p.log_snr(grids["logsnr"](p, 10))
    assert torch.allclose(lam[1:] - lam[:-1], (lam[1] - lam[0]).expand(10), rtol=1e-9)
    sig = p.edm_sigma(grids["edm"](p, 10, rho=7.0))
    r = sig ** (1 / 7)
    assert torch.allclose(r[1:] - r[:-1], (r[1] - r[0]).expand(10), rtol=1e-8)
    q = torch.sqrt(grids["quadratic"](p, 10))
    assert torch.allclose(q[1:] - q[:-1], (q[1] - q[0]).expand(10), rtol=1e-9)
    ou = registry().get("process", "ou")
    th = 0.5 * torch.log1p(ou.edm_sigma(grids["theory"](ou, 20)) ** 2)  # OU time itself
    h = (th[:-1] - th[1:]) / torch.clamp(th[:-1], max=1.0)
    assert torch.allclose(h, h[0].expand(20), rtol=1e-9)  # h_k = h min(1, t_k)
    d = registry().get("process", "discrete")
    assert torch.equal(grids["uniform"](d, 10, quantize=True), grids["uniform"](d, 10, quantize=True).round())
    with pytest.raises(ValueError, match="do not fit between integer timesteps"):
        grids["edm"](registry().get("process", "discrete_cosine"), 40, quantize=True)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        grids["uniform"](p, 0)


def test_discrete_presets() -> None:
    from sdesolve_diffusion import DiscreteProcess

    theory = DiscreteProcess.theory(T=1000, c0=2.0, c1=4.0)
    assert float(theory.betas[0]) == pytest.approx(1e-6)
    rate = 4 * math.log(1000) / 1000
    assert float(theory.betas.max()) == pytest.approx(rate)
    assert float(theory.alphas_cumprod[-1]) < 1e-5
    lin = DiscreteProcess.linear()
    t = torch.arange(1, 1001, dtype=F64)
    assert torch.allclose(lin.alpha(t) ** 2, lin.alphas_cumprod, rtol=1e-12)
    with pytest.raises(ValueError, match="betas must hold"):
        DiscreteProcess(torch.tensor([0.5, 1.5]))
