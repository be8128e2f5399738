"""Agreement with the peer implementations on the same model, grid and noise.

Deterministic samplers must agree to float64 round-off (tolerances below); the stochastic DDPM/DDIM updates are
compared with the same random draws, so they agree to round-off as well. Every comparison runs in float64 with the
peer's schedule tables cast to float64 (the peers build them in float32).
"""

from __future__ import annotations

import pytest
import torch
from sdesolve_diffusion import DiscreteProcess

import sdesolve
from sdesolve import registry

F64 = torch.float64
TOL = 1e-10  # absolute, on samples of unit scale; measured differences are ~1e-14

diffusers = pytest.importorskip("diffusers")


def _load_kdiffusion_sampling():
    """k_diffusion.sampling, loaded on its own (see ``sdesolve_lab.peers.load_kdiffusion_sampling``)."""
    from sdesolve_lab.peers import load_kdiffusion_sampling

    module = load_kdiffusion_sampling()
    if module is None:
        pytest.skip("k-diffusion is not installed (pip install --no-deps k-diffusion)")
    return module


def _diffusers_process(scheduler) -> DiscreteProcess:
    scheduler.alphas_cumprod = scheduler.alphas_cumprod.to(F64)
    return DiscreteProcess.from_alphas_cumprod(scheduler.alphas_cumprod)


def _grid_from_timesteps(timesteps) -> torch.Tensor:
    return torch.cat([torch.as_tensor(timesteps, dtype=F64) + 1, torch.zeros(1, dtype=F64)])


def test_discrete_presets_match_diffusers_tables() -> None:
    for preset, schedule in (("linear", "linear"), ("cosine", "squaredcos_cap_v2")):
        ours = getattr(DiscreteProcess, preset)()
        theirs = diffusers.DDPMScheduler(beta_schedule=schedule).alphas_cumprod.to(F64)
        assert torch.allclose(ours.alphas_cumprod, theirs, rtol=1e-5), preset  # diffusers builds them in float32


@pytest.mark.parametrize("steps", [20, 1000])
def test_ddpm_matches_diffusers_ddpm_scheduler(steps, x_T, mixture2d) -> None:
    sched = diffusers.DDPMScheduler(beta_schedule="linear", clip_sample=False, variance_type="fixed_small")
    process = _diffusers_process(sched)
    model = mixture2d.model(process, "eps")
    sched.set_timesteps(steps)
    gen = torch.Generator().manual_seed(5)
    x = x_T.clone()
    for t in sched.timesteps:
        eps = model(x, torch.full((x.shape[0],), float(t), dtype=F64))
        x = sched.step(eps, t, x, generator=gen).prev_sample
    ours = sdesolve.sample(
        model,
        x_T,
        "ddpm",
        process=process,
        grid=_grid_from_timesteps(sched.timesteps),
        generator=torch.Generator().manual_seed(5),
    )
    diff = float((ours - x).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff


@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_matches_diffusers_ddim_scheduler(eta, x_T, mixture2d) -> None:
    sched = diffusers.DDIMScheduler(beta_schedule="linear", clip_sample=False, set_alpha_to_one=True)
    process = _diffusers_process(sched)
    sched.final_alpha_cumprod = torch.tensor(1.0, dtype=F64)
    model = mixture2d.model(process, "eps")
    sched.set_timesteps(25)
    gen = torch.Generator().manual_seed(7)
    x = x_T.clone()
    for t in sched.timesteps:
        eps = model(x, torch.full((x.shape[0],), float(t), dtype=F64))
        x = sched.step(eps, t, x, eta=eta, generator=gen).prev_sample
    ours = sdesolve.sample(
        model,
        x_T,
        "ddim",
        process=process,
        grid=_grid_from_timesteps(sched.timesteps),
        eta=eta,
        generator=torch.Generator().manual_seed(7),
    )
    diff = float((ours - x).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff


class _Float64Torch:
    """``torch`` with ``float32`` meaning ``float64``: diffusers' multistep ``step()`` upcasts samples to float32;
    pointing its module's ``torch`` at this proxy makes it compute in float64 so round-off can be compared."""

    float32 = torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)


@pytest.mark.parametrize("solver_type", ["midpoint", "heun"])
@pytest.mark.parametrize("steps", [10, 25])
def test_dpm_solver_pp_2m_matches_diffusers_multistep(solver_type, steps, x_T, mixture2d, monkeypatch) -> None:
    from diffusers.schedulers import scheduling_dpmsolver_multistep as module

    monkeypatch.setattr(module, "torch", _Float64Torch())
    sched = diffusers.DPMSolverMultistepScheduler(
        beta_schedule="linear", algorithm_type="dpmsolver++", solver_order=2, solver_type=solver_type
    )
    process = _diffusers_process(sched)
    model = mixture2d.model(process, "eps")
    sched.set_timesteps(steps)
    grid = _grid_from_timesteps(sched.timesteps)
    sched.sigmas = torch.cat([process.edm_sigma(grid[:-1]), torch.zeros(1, dtype=F64)])  # float64 tables
    x = x_T.clone()
    for t in sched.timesteps:
        eps = model(x, torch.full((x.shape[0],), float(t), dtype=F64))
        x = sched.step(eps, t, x).prev_sample
    ours = sdesolve.sample(
        model,
        x_T,
        "dpm_solver_pp_2m",
        process=process,
        grid=grid,
        solver_type=solver_type,
        lower_order_final=steps < 15,
    )
    diff = float((ours - x).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff


def _karras(n: int) -> torch.Tensor:
    ramp = torch.linspace(0, 1, n, dtype=F64)
    return (80.0 ** (1 / 7) + ramp * (0.002 ** (1 / 7) - 80.0 ** (1 / 7))) ** 7


@pytest.mark.parametrize(
    "ours,theirs,options",
    [
        ("edm_heun", "sample_heun", {}),
        ("edm_heun", "sample_heun", {"S_churn": 40.0, "S_min": 0.05, "S_max": 50.0, "S_noise": 1.003}),
        ("dpm_solver_2", "sample_dpm_2", {}),
        ("dpm_solver_pp_2m", "sample_dpmpp_2m", {}),
    ],
)
def test_karras_samplers_match_k_diffusion(ours, theirs, options, mixture2d) -> None:
    kd = _load_kdiffusion_sampling()
    process = registry().get("process", "edm")
    denoiser = mixture2d.model(process, "edm")
    sigmas = _karras(12)
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * 80.0
    kd_options = (
        {
            "s_churn": options["S_churn"],
            "s_tmin": options["S_min"],
            "s_tmax": options["S_max"],
            "s_noise": options["S_noise"],
        }
        if options
        else {}
    )
    torch.manual_seed(3)  # k-diffusion's churn noise comes from the global generator
    theirs_out = getattr(kd, theirs)(
        denoiser, x_T.clone(), torch.cat([sigmas, sigmas.new_zeros(1)]), disable=True, **kd_options
    )
    ours_out = sdesolve.sample(
        denoiser,
        x_T,
        ours,
        process=process,
        prediction="edm",
        grid=sigmas,
        denoise=True,
        generator=torch.Generator().manual_seed(3),
        **options,
    )
    diff = float((ours_out - theirs_out).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff


def test_karras_samplers_on_a_vp_process_match_k_diffusion_in_the_scaled_variable(mixture2d) -> None:
    """On VP, our samplers run in y = x/α: k-diffusion on the VE-equivalent denoiser gives the same samples."""
    kd = _load_kdiffusion_sampling()
    process = registry().get("process", "vp")
    times = registry().get("grid", "edm")(process, 10)
    sigmas = process.edm_sigma(times)
    model = mixture2d.model(process, "eps")
    x_T = torch.randn(32, 2, dtype=F64, generator=torch.Generator().manual_seed(2))

    def denoiser(y, sigma):  # D(y; σ) through the same eps network at the matching time
        t = process.t_from_edm_sigma(sigma.to(F64))
        alpha = process.alpha(t)[:, None]
        eps = model(alpha * y, t)
        return y - sigma[:, None] * eps

    for ours, theirs in (("edm_heun", "sample_heun"), ("dpm_solver_pp_2m", "sample_dpmpp_2m")):
        y = getattr(kd, theirs)(denoiser, x_T / float(process.alpha(times[0])), sigmas, disable=True)
        out = sdesolve.sample(model, x_T, ours, process=process, grid=times)
        assert torch.allclose(out, float(process.alpha(times[-1])) * y, rtol=0, atol=TOL), ours


@pytest.mark.parametrize("steps", [4, 12])
def test_ddram_matches_the_edm_rmd_formulas(steps, mixture2d) -> None:
    """DDRaM on OU with the relative score against the reference code's formulas (seed-formulas.md §A3), written out
    here with the same random draws (per step: the uniform, then ξ₁, then ξ₂):

        αh = log(1 + u(e^h - 1)),  η₁ = √(1 - e^{-2αh}) ξ₁,  η₂ = e^{-(1-α)h} η₁ + √(1 - e^{-2(1-α)h}) ξ₂,
        x_τ = e^{-αh} x + 2(1 - e^{-αh}) s^γ(t, x) + η₁,   x' = e^{-h} x + 2(1 - e^{-h}) s^γ(t - αh, x_τ) + η₂.

    The process gives the inverse CDF of the midpoint in closed form, so the agreement is to round-off.
    """
    import math

    process = registry().get("process", "ou")
    times = registry().get("grid", "edm")(process, steps)
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(4))

    def rel_score(t, x):
        return mixture2d.score(process, torch.full((x.shape[0],), t, dtype=F64) if isinstance(t, float) else t, x) + x

    gen = torch.Generator().manual_seed(6)
    x = x_T.clone()
    for k in range(steps):
        t, h = float(times[k]), float(times[k] - times[k + 1])
        u = torch.rand(x.shape[0], generator=gen, dtype=F64)
        ah = torch.log1p(u * math.expm1(h))[:, None]
        xi1 = torch.randn(x.shape, generator=gen, dtype=F64)
        xi2 = torch.randn(x.shape, generator=gen, dtype=F64)
        eta1 = torch.sqrt(-torch.expm1(-2 * ah)) * xi1
        eta2 = torch.exp(-(h - ah)) * eta1 + torch.sqrt(-torch.expm1(-2 * (h - ah))) * xi2
        x_mid = torch.exp(-ah) * x + 2 * (-torch.expm1(-ah)) * rel_score(t, x) + eta1
        x = math.exp(-h) * x + 2 * (-math.expm1(-h)) * rel_score(t - ah[:, 0], x_mid) + eta2
    ours = sdesolve.sample(
        mixture2d.model(process, "score"),
        x_T,
        "ddram",
        process=process,
        grid=times,
        prediction="score",
        generator=torch.Generator().manual_seed(6),
        subdivisions=256,
        splitting="relative",  # edm_rmd's relative-score form (ddram's "auto" takes skip on such coarse grids)
    )
    diff = float((ours - x).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff
