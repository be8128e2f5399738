"""The multistep recipes: metadata from the stepper, the log-SNR clock (same problem, same coefficients), options,
Brownian paths, and convergence of the probability-flow recipe to the exact ODE solution."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torchdiffeq
from sdesolve_diffusion.adapters import ModelAdapter
from sdesolve_diffusion.samplers.multistep import (
    Clock,
    DPMSolverPP2MSDE,
    DPMSolverPP3M,
    DPMSolverPP3MSDE,
)

import sdesolve
from sdesolve import get_stepper, registry
from sdesolve.coefficients import GridCoefficients
from sdesolve.conformance import fit_order

F64 = torch.float64


def test_metadata_comes_from_the_stepper() -> None:
    for cls, stepper, stochastic in (
        (DPMSolverPP2MSDE, "exponential_ab2", True),
        (DPMSolverPP3MSDE, "exponential_ab3", True),
        (DPMSolverPP3M, "exponential_ab3", False),
    ):
        st = get_stepper(stepper)
        assert cls.stepper_class is st
        assert cls.nfe_per_step == st.nfe_per_step == 1
        assert cls.order == (st.weak_order if stochastic else st.ode_order)
        assert cls.stochastic is stochastic
        assert registry().get("sampler", cls.name).__class__ is cls
    assert DPMSolverPP3M.order == 3.0
    options = DPMSolverPP3MSDE.options()
    assert options["splitting"] == "data" and options["clock"] == "auto"
    assert DPMSolverPP3M.options()["clock"] == "time"
    assert options["start"] == "corrected" and options["curvature"] == 1.0


@pytest.mark.parametrize("clock_name", ["log_snr", "sigma", "asinh"])
@pytest.mark.parametrize("process_name", ["vp", "edm", "discrete"])
def test_the_clock_problem_has_the_same_step_coefficients(process_name, clock_name, mixture2d) -> None:
    """``L``, the drift weight and the noise std are integrals invariant under the change of time: the problem in λ
    (or in σ/α) gives the same per-step ``state_weight``, ``phi1`` and ``noise_std`` as the problem in t.

    On the DDPM table ``log ᾱ`` is piecewise linear in t, so quadrature of the noise integral in t crosses a kink at
    every timestep and converges slowly in the number of cells (rel. error of the noise std up to 7e-4 at 32 cells,
    1e-6 at 4096); the data splitting's noise integral is now in closed form, so both sides agree with an adaptive
    quadrature split at every kink (below) to 1e-13."""
    process = registry().get("process", process_name)
    times = registry().get("grid", "edm")(process, 9)
    adapter = ModelAdapter(mixture2d.model(process, "eps"), process, "eps")
    sde = process.sde(adapter, "data", 1.0)
    clock = Clock(process, clock_name)
    lam = clock.of(times)
    assert bool((lam[1:] > lam[:-1]).all() if clock_name == "log_snr" else (lam[1:] < lam[:-1]).all())
    assert torch.allclose(clock.time(lam), times, rtol=1e-12, atol=1e-12)
    in_t = GridCoefficients(sde, times, device="cpu", dtype=F64)
    in_lam = GridCoefficients(clock.problem(sde), lam, device="cpu", dtype=F64)
    finer = GridCoefficients(clock.problem(sde), lam, device="cpu", dtype=F64, subdivisions=512)
    for name in ("state_weight", "phi1"):  # closed forms on both sides
        np.testing.assert_allclose(getattr(in_lam, name), getattr(in_t, name), rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(in_lam.noise_std, in_t.noise_std, rtol=1e-3)
    for name in ("noise_std", "phi2", "phi3"):
        np.testing.assert_allclose(getattr(in_lam, name), getattr(finer, name), rtol=1e-12, err_msg=name)
    if process_name == "discrete":  # the last step (t = 19.3 → 1) against scipy's quad between the kinks
        from scipy.integrate import quad

        k, t0, t1 = 8, float(times[8]), float(times[9])

        def integrand(u: float) -> float:
            growth = float(sde.factor.log_growth(torch.tensor(t0, dtype=F64), torch.tensor(u, dtype=F64)))
            return math.exp(-2 * growth) * float(sde.diffusion(torch.tensor([u], dtype=F64))[0]) ** 2

        knots = sorted({t1, t0, *range(math.ceil(t1), math.floor(t0) + 1)})
        q = sum(quad(integrand, a, b, epsabs=0, epsrel=1e-13)[0] for a, b in itertools.pairwise(knots))
        exact = float(in_t.state_weight[k]) * math.sqrt(q)
        assert abs(float(in_lam.noise_std[k]) / exact - 1) < 1e-13
        assert abs(float(in_t.noise_std[k]) / exact - 1) < 1e-13  # the data splitting's noise integral is closed


def test_exponential_euler_is_the_same_in_either_clock(mixture2d) -> None:
    """With no extrapolation the clock changes nothing (same draws, same closed-form weights and noise std; the
    noise integral was quadrature, which needed 4096 cells in t to agree to 1e-9, and is now closed: 1e-13)."""
    process = registry().get("process", "vp")
    model = mixture2d.model(process, "eps")
    x_T = torch.randn(32, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    out = {
        clock: sdesolve.sample(
            model,
            x_T,
            "dpm_solver_pp_3m_sde",
            steps=1,
            process=process,
            clock=clock,
            generator=torch.Generator().manual_seed(1),
            subdivisions=cells,
        )
        for clock, cells in (("log_snr", 32), ("time", 32))
    }
    assert torch.allclose(out["log_snr"], out["time"], rtol=0, atol=1e-13)
    # and they differ once the stepper extrapolates (a test that can fail)
    two = [
        sdesolve.sample(model, x_T, "dpm_solver_pp_3m", steps=6, process=process, clock=clock)
        for clock in ("log_snr", "time")
    ]
    assert float((two[0] - two[1]).abs().max()) > 1e-4


def test_options_are_checked(mixture2d) -> None:
    process = registry().get("process", "vp")
    model = mixture2d.model(process, "eps")
    x_T = torch.zeros(4, 2, dtype=F64)
    with pytest.raises(ValueError, match="clock"):
        sdesolve.sample(model, x_T, "dpm_solver_pp_2m_sde", steps=3, process=process, clock="lambda")
    with pytest.raises(ValueError, match="exponential_ab3"):
        sdesolve.sample(model, x_T, "dpm_solver_pp_3m_sde", steps=3, process=process, start="euler")
    grid = torch.tensor([1.0, 0.5, 0.0], dtype=F64)
    with pytest.raises(ValueError, match="σ = 0"):
        sdesolve.sample(model, x_T, "dpm_solver_pp_3m", process=process, grid=grid)


def test_a_brownian_path_drives_the_clock_solve(mixture2d) -> None:
    """``bm=`` (in the process's solver time ``s = -t``): the same path gives the same samples, another path others,
    and a fine solve on the path converges to the coarse ones' limit (strong consistency)."""
    from sdesolve.reference import brownian_interval

    process = registry().get("process", "vp")
    model = mixture2d.model(process, "eps")
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(3))
    bm = brownian_interval([process.t_max, 0.01], (64, 2), seed=5, dtype=F64)
    other = brownian_interval([process.t_max, 0.01], (64, 2), seed=6, dtype=F64)

    def run(path, steps):
        return sdesolve.sample(
            model, x_T, "dpm_solver_pp_3m_sde", steps=steps, process=process, bm=path, grid_options={"t_min": 0.01}
        )

    a, b, c = run(bm, 12), run(bm, 12), run(other, 12)
    assert torch.equal(a, b)
    assert float((a - c).abs().max()) > 1e-2
    fine = run(bm, 400)
    # 64 samples on one path: the strong error is not monotone step by step (25/50/100 steps gave 0.168/0.061/0.071 on
    # the logsnr grid here), so compare budgets 8x apart
    errors = [float((run(bm, n) - fine).pow(2).mean().sqrt()) for n in (25, 200)]
    assert errors[0] > 3 * errors[1], errors


@pytest.fixture(scope="module")
def flow(mixture2d):
    """``x_T`` and the exact probability-flow solution at t = 0.02 (dopri5, rtol 1e-11) on vp, computed once."""
    process = registry().get("process", "vp")
    adapter = ModelAdapter(mixture2d.model(process, "eps"), process, "eps")
    x_T = torch.randn(128, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    sde = process.sde(adapter, "score", 0.0)

    def rhs(t, x):
        return sde.drift(t.to(F64).expand(x.shape[0]), x)

    return x_T, torchdiffeq.odeint(rhs, x_T, torch.tensor([1.0, 0.02], dtype=F64), rtol=1e-11, atol=1e-12)[-1]


@pytest.mark.parametrize("clock", ["time", "sigma", "log_snr"])
def test_the_probability_flow_recipe_converges_at_third_order(clock, flow, mixture2d) -> None:
    """``dpm_solver_pp_3m`` against torchdiffeq dopri5 on the probability-flow ODE from the same ``x_T`` (vp,
    ``logsnr`` grid to t = 0.02), in every clock."""
    process = registry().get("process", "vp")
    model = mixture2d.model(process, "eps")
    x_T, ref = flow
    steps = [20, 40, 80, 160]
    errors = []
    for n in steps:
        x = sdesolve.sample(
            model,
            x_T,
            "dpm_solver_pp_3m",
            clock=clock,
            steps=n,
            process=process,
            grid="logsnr",
            grid_options={"t_min": 0.02},
        )
        errors.append(float((x - ref).pow(2).mean().sqrt()))
    assert fit_order(steps, errors) > 2.75, errors
