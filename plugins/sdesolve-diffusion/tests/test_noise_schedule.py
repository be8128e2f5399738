"""A noise level that depends on σ/α (``eta_data``): closed forms, the law it keeps, the ``"auto"`` rule, bad input.

``η(t)² = η_d² + (η² - η_d²) s²/(1 + s²)``, ``s = σ/α``, in the ``data`` splitting; the integrating-factor integrals
are the constant-η forms with ``η² Δλ`` replaced by ``ΔE = ∫ η² dλ``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from diffusion_cases import seeded_vp_runner
from sdesolve_diffusion import GaussianMixture
from sdesolve_diffusion.adapters import ModelAdapter
from sdesolve_diffusion.processes import NoiseSchedule, ProcessFactor, ScheduledDataFactor
from sdesolve_diffusion.samplers.solver import AUTO_ETA_DATA, coarse_grid

import sdesolve
from sdesolve.coefficients import GridCoefficients

F64 = torch.float64
SDE_RECIPES = ["sa_solver", "dpm_solver_pp_2m_sde", "dpm_solver_pp_3m_sde"]


def _process(name: str):
    return sdesolve.registry().get("process", name)


def _sde(process, mixture2d, eta, eta_data):
    adapter = ModelAdapter(mixture2d.model(process, "eps"), process, "eps")
    return process.sde(adapter, "data", eta, eta_data)


@pytest.mark.parametrize(("eta", "eta_data"), [(1.0, 0.5), (1.0, 0.0), (0.5, 1.0)])
@pytest.mark.parametrize("name", ["vp", "edm", "ve"])
def test_closed_forms_equal_fine_quadrature(name, eta, eta_data, mixture2d) -> None:
    """State weight, drift weight and noise std of every step of a 9-step grid: the closed forms against 2048
    Gauss–Legendre cells per step of the problem's own ``a``, ``b``, ``g`` (on the smooth schedules)."""
    process = _process(name)
    times = sdesolve.registry().get("grid", "edm")(process, 9, t_min=0.002)
    sde = _sde(process, mixture2d, eta, eta_data)
    assert isinstance(sde.factor, ScheduledDataFactor)
    closed = GridCoefficients(sde, times, device="cpu", dtype=F64)
    sde.factor.provides = lambda what: False
    fine = GridCoefficients(sde, times, device="cpu", dtype=F64, subdivisions=2048)
    for what in ("state_weight", "phi1", "noise_std", "phi2"):
        np.testing.assert_allclose(getattr(closed, what), getattr(fine, what), rtol=1e-9, atol=1e-300, err_msg=what)


@pytest.mark.parametrize("name", ["vp", "edm", "discrete"])
def test_a_flat_schedule_is_the_constant_factor(name) -> None:
    process = _process(name)
    eta = 0.7
    flat = ScheduledDataFactor(NoiseSchedule(process, eta, eta))
    constant = ProcessFactor(process, "data", (1 + eta * eta) / 2)
    gen = torch.Generator().manual_seed(0)
    span = process.t_max - process.t_min
    t = process.t_min + span * (0.05 + 0.95 * torch.rand(50, generator=gen, dtype=F64))
    u = process.t_min + (t - process.t_min) * torch.rand(50, generator=gen, dtype=F64)
    for what in ("log_growth", "drift_integral", "noise_integral"):
        torch.testing.assert_close(getattr(flat, what)(t, u), getattr(constant, what)(t, u), rtol=1e-11, atol=1e-14)


def test_the_schedule_runs_from_eta_at_high_noise_to_eta_data_near_the_data() -> None:
    vp = _process("vp")
    schedule = NoiseSchedule(vp, 1.0, 0.4)
    t = vp.t_from_edm_sigma(torch.tensor([1e-4, 1.0, 1e4], dtype=F64))
    torch.testing.assert_close(schedule.eta2(t), torch.tensor([0.16, 0.58, 1.0], dtype=F64), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("sampler", SDE_RECIPES)
def test_the_law_is_kept(sampler) -> None:
    """Every noise schedule is a member of the reverse family with the data's marginals: a 1-D Gaussian sampled
    with a steep schedule on a fine grid has the data's mean and standard deviation (to Monte-Carlo precision), as
    with a constant η."""
    target = GaussianMixture(torch.tensor([[0.7]]), torch.tensor([[0.3**2]]))
    vp = _process("vp")
    model = target.model(vp, "eps")
    n = 200_000
    x_T = torch.randn(n, 1, dtype=F64, generator=torch.Generator().manual_seed(3))
    x = sdesolve.sample(
        model,
        x_T,
        sampler,
        steps=60,
        process="vp",
        grid_options={"t_min": 0.002},
        denoise=True,
        eta_data=0.1,
        generator=torch.Generator().manual_seed(4),
    )
    assert float(x.mean()) == pytest.approx(0.7, abs=4 * 0.3 / math.sqrt(n))
    assert float(x.std()) == pytest.approx(0.3, rel=0.01)


@pytest.mark.parametrize("sampler", SDE_RECIPES)
def test_eta_data_none_or_equal_to_eta_and_auto_on_a_fine_grid_are_the_constant_sde_bit_for_bit(
    sampler, mixture2d
) -> None:
    vp = _process("vp")
    run = seeded_vp_runner(mixture2d, sampler)
    fine = sdesolve.registry().get("grid", "logsnr")(vp, 30, t_min=0.002)
    coarse = sdesolve.registry().get("grid", "logsnr")(vp, 6, t_min=0.002)
    assert coarse_grid(vp, coarse) and not coarse_grid(vp, fine)
    constant = run(30, eta_data=None)
    assert torch.equal(constant, run(30, eta_data=1.0))
    assert torch.equal(constant, run(30, eta_data="auto"))
    assert torch.equal(run(6, eta_data="auto"), run(6, eta_data=AUTO_ETA_DATA))
    assert not torch.allclose(run(6, eta_data="auto"), run(6, eta_data=None))


def test_the_sde_recipes_default_to_auto() -> None:
    for sampler in SDE_RECIPES:
        assert sdesolve.registry().get("sampler", sampler).options()["eta_data"] == "auto"
    assert sdesolve.registry().get("sampler", "dpm_solver_pp_3m").options()["eta_data"] is None


def test_bad_eta_data_is_refused_naming_it(mixture2d) -> None:
    vp = _process("vp")
    adapter = ModelAdapter(mixture2d.model(vp, "eps"), vp, "eps")
    with pytest.raises(ValueError, match=r"eta_data .* needs splitting='data', got 'relative'"):
        vp.sde(adapter, "relative", 1.0, 0.5)
    for bad in (-0.1, math.nan, math.inf, True, "half"):
        with pytest.raises(ValueError, match="eta_data must be"):
            vp.sde(adapter, "data", 1.0, bad)
    model = mixture2d.model(vp, "eps")
    with pytest.raises(ValueError, match=r"eta_data=0\.5 with eta=0 would add noise to the probability-flow ODE"):
        sdesolve.sample(model, (4, 2), "dpm_solver_pp_3m", steps=4, process="vp", eta_data=0.5)
    with pytest.raises(ValueError, match="eta_data must be a number >= 0, None or 'auto', got 'half'"):
        sdesolve.sample(model, (4, 2), "sa_solver", steps=4, process="vp", eta_data="half")
    with pytest.raises(Exception, match="eta_data"):  # a recipe without the option lists what it accepts
        sdesolve.sample(model, (4, 2), "ddram", steps=4, process="vp", eta_data=0.5)
