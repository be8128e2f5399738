"""``clock="auto"`` (the SDE multistep recipes' default): ``sigma`` on a coarse grid (steps dividing σ/α by more than
``COARSE_RATIO`` on average), ``asinh`` otherwise; the same samples as the clock it stands for, bit for bit."""

from __future__ import annotations

import pytest
import torch
from diffusion_cases import seeded_vp_runner
from sdesolve_diffusion.samplers.multistep import COARSE_RATIO, Clock, auto_clock, coarse_grid

import sdesolve

F64 = torch.float64


@pytest.mark.parametrize("grid", ["logsnr", "edm", "uniform"])
def test_coarse_is_the_mean_step_ratio(grid) -> None:
    vp = sdesolve.registry().get("process", "vp")
    coarse = sdesolve.registry().get("grid", grid)(vp, 5, t_min=0.002)
    fine = sdesolve.registry().get("grid", grid)(vp, 40, t_min=0.002)
    sigma = vp.edm_sigma(coarse[[0, -1]])
    assert float(sigma[0] / sigma[1]) ** (1 / 5) > COARSE_RATIO > float(sigma[0] / sigma[1]) ** (1 / 40)
    assert coarse_grid(vp, coarse) and not coarse_grid(vp, fine)
    assert (auto_clock(vp, coarse), auto_clock(vp, fine)) == ("sigma", "asinh")


@pytest.mark.parametrize("sampler", ["dpm_solver_pp_2m_sde", "dpm_solver_pp_3m_sde"])
def test_auto_gives_the_samples_of_the_clock_it_stands_for(sampler, mixture2d) -> None:
    run = seeded_vp_runner(mixture2d, sampler)
    for steps, clock in ((5, "sigma"), (40, "asinh")):
        default = run(steps)
        assert torch.equal(default, run(steps, clock=clock))
        other = "asinh" if clock == "sigma" else "sigma"
        assert not torch.allclose(default, run(steps, clock=other))


def test_the_asinh_clock_is_sigma_near_the_data_and_logarithmic_at_high_noise() -> None:
    vp = sdesolve.registry().get("process", "vp")
    clock = Clock(vp, "asinh")
    t = vp.t_from_edm_sigma(torch.tensor([1e-3, 1e3], dtype=F64))
    s = clock.of(t)
    assert float(s[0]) == pytest.approx(1e-3, rel=1e-6)
    assert float(s[1]) == pytest.approx(torch.log(torch.tensor(2e3)).item(), rel=1e-6)
    assert torch.allclose(clock.time(s), t, rtol=1e-12)
    with pytest.raises(ValueError, match="clock"):
        Clock(vp, "auto")  # a recipe option, resolved before a Clock is built


def test_the_3m_sde_keeps_sigma_longer_than_the_2m_sde(mixture2d) -> None:
    """A grid whose steps divide σ/α by between 2.2 and 2.5 on average (11 steps over the vp range): the 2M SDE is
    in ``asinh`` there, the 3M SDE still in ``sigma`` (its quadratic diverged in ``asinh`` with the trained digits
    network at 12 NFE)."""
    vp = sdesolve.registry().get("process", "vp")
    times = sdesolve.registry().get("grid", "logsnr")(vp, 11, t_min=0.002)
    sigma = vp.edm_sigma(times[[0, -1]])
    assert 2.2 < float(sigma[0] / sigma[1]) ** (1 / 11) < COARSE_RATIO
    run = seeded_vp_runner(mixture2d, batch=32)
    assert torch.equal(run(11, "dpm_solver_pp_3m_sde"), run(11, "dpm_solver_pp_3m_sde", clock="sigma"))
    assert torch.equal(run(11, "dpm_solver_pp_2m_sde"), run(11, "dpm_solver_pp_2m_sde", clock="asinh"))
