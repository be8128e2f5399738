"""The multistep recipes against k-diffusion's DPM-Solver++(2M) SDE and (3M) SDE on the same model, grid and noise.

k-diffusion draws its noise through ``noise_sampler(σ, σ')`` (one standard normal per step with noise); ours draws one
standard normal per step from the solve's generator and scales it by the exact noise std. Handing k-diffusion a
noise sampler that draws from a generator seeded like ours gives both the same draws, so the samples agree to
float64 round-off (measured ≤ 1e-14 on samples of scale 1).
"""

from __future__ import annotations

import pytest
import torch

import sdesolve
from sdesolve import registry

F64 = torch.float64
TOL = 1e-10  # absolute, on samples of unit scale; measured differences are ~1e-14


def _kd():
    from sdesolve_lab.peers import load_kdiffusion_sampling

    module = load_kdiffusion_sampling()
    if module is None:
        pytest.skip("k-diffusion is not installed (pip install --no-deps k-diffusion)")
    return module


def _karras(n: int) -> torch.Tensor:
    ramp = torch.linspace(0, 1, n, dtype=F64)
    return (80.0 ** (1 / 7) + ramp * (0.002 ** (1 / 7) - 80.0 ** (1 / 7))) ** 7


def _theirs(kd, name: str, denoiser, x_T, sigmas, eta: float, seed: int, **options):
    gen = torch.Generator().manual_seed(seed)

    def noise_sampler(sigma, sigma_next):
        return torch.randn(x_T.shape, generator=gen, dtype=F64)

    sigmas = torch.cat([sigmas, sigmas.new_zeros(1)])
    return getattr(kd, name)(
        denoiser, x_T.clone(), sigmas, disable=True, eta=eta, noise_sampler=noise_sampler, **options
    )


def _ours(name: str, denoiser, x_T, sigmas, eta: float, seed: int, **options):
    options.setdefault("clock", "log_snr")  # DPM-Solver++'s variable (the recipes' default is σ)
    options.setdefault("eta_data", None)  # one η throughout, as k-diffusion (the default lowers it near the data)
    return sdesolve.sample(
        denoiser,
        x_T,
        name,
        process=registry().get("process", "edm"),
        prediction="edm",
        grid=sigmas,
        denoise=True,
        eta=eta,
        generator=torch.Generator().manual_seed(seed),
        **options,
    )


@pytest.fixture
def case(mixture2d):
    denoiser = mixture2d.model(registry().get("process", "edm"), "edm")
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * 80.0
    return denoiser, x_T


@pytest.mark.parametrize("steps", [6, 12])
@pytest.mark.parametrize("eta", [1.0, 0.5, 0.0])
def test_dpm_solver_pp_2m_sde_matches_k_diffusion_default_midpoint(eta, steps, case) -> None:
    """k-diffusion's default ``solver_type="midpoint"``: ``weight="midpoint"`` in ``λ`` (its ``eta`` is our η²)."""
    kd = _kd()
    denoiser, x_T = case
    sigmas = _karras(steps)
    theirs = _theirs(kd, "sample_dpmpp_2m_sde", denoiser, x_T, sigmas, eta**2, 3)
    ours = _ours("dpm_solver_pp_2m_sde", denoiser, x_T, sigmas, eta, 3, weight="midpoint")
    diff = float((ours - theirs).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff
    exact = _ours("dpm_solver_pp_2m_sde", denoiser, x_T, sigmas, eta, 3)
    assert float((exact - theirs).abs().max()) > 1e-3  # the weight is what differs


@pytest.mark.parametrize("steps", [6, 12])
@pytest.mark.parametrize("eta", [1.0, 0.0])
def test_dpm_solver_pp_2m_sde_matches_k_diffusion_heun(eta, steps, case) -> None:
    kd = _kd()
    denoiser, x_T = case
    sigmas = _karras(steps)
    theirs = _theirs(kd, "sample_dpmpp_2m_sde", denoiser, x_T, sigmas, eta, 3, solver_type="heun")
    ours = _ours("dpm_solver_pp_2m_sde", denoiser, x_T, sigmas, eta, 3)
    diff = float((ours - theirs).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff


@pytest.mark.parametrize("steps", [6, 12])
@pytest.mark.parametrize("eta", [1.0, 0.0])
def test_dpm_solver_pp_3m_sde_matches_k_diffusion(eta, steps, case) -> None:
    kd = _kd()
    denoiser, x_T = case
    sigmas = _karras(steps)
    theirs = _theirs(kd, "sample_dpmpp_3m_sde", denoiser, x_T, sigmas, eta, 5)
    ours = _ours("dpm_solver_pp_3m_sde", denoiser, x_T, sigmas, eta, 5, start="lower_order", curvature=0.5)
    diff = float((ours - theirs).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff


def test_the_ode_recipe_is_the_3m_sde_recipe_at_eta_0(case) -> None:
    kd = _kd()
    denoiser, x_T = case
    sigmas = _karras(10)
    theirs = _theirs(kd, "sample_dpmpp_3m_sde", denoiser, x_T, sigmas, 0.0, 0)
    ours = _ours("dpm_solver_pp_3m", denoiser, x_T, sigmas, 0.0, 0, start="lower_order", curvature=0.5)
    assert float((ours - theirs).abs().max()) <= TOL


def test_what_differs_from_k_diffusion_is_measurable(case) -> None:
    """The differences the recipes document, each well above round-off on the same noise: the process's own clock
    (``exponential_ab2`` extrapolating the denoiser in σ instead of λ), k-diffusion's default ``midpoint`` 2M weight,
    the exact (default) 3M curvature and start, and the recipes' default clock σ."""
    kd = _kd()
    denoiser, x_T = case
    sigmas = _karras(12)
    heun = _theirs(kd, "sample_dpmpp_2m_sde", denoiser, x_T, sigmas, 1.0, 3, solver_type="heun")
    midpoint = _theirs(kd, "sample_dpmpp_2m_sde", denoiser, x_T, sigmas, 1.0, 3)
    in_time = _ours("dpm_solver_pp_2m_sde", denoiser, x_T, sigmas, 1.0, 3, clock="time")
    assert float((in_time - heun).abs().max()) > 1e-3
    assert float((midpoint - heun).abs().max()) > 1e-3
    three = _theirs(kd, "sample_dpmpp_3m_sde", denoiser, x_T, sigmas, 1.0, 5)
    exact = _ours("dpm_solver_pp_3m_sde", denoiser, x_T, sigmas, 1.0, 5)
    assert float((exact - three).abs().max()) > 1e-3
    default = sdesolve.sample(
        denoiser,
        x_T,
        "dpm_solver_pp_3m_sde",
        process=registry().get("process", "edm"),
        prediction="edm",
        grid=sigmas,
        denoise=True,
        generator=torch.Generator().manual_seed(5),
    )
    assert float((default - exact).abs().max()) > 1e-3


@pytest.mark.parametrize("eta", [1.0, 0.5])
def test_native_draws_give_k_diffusions_own_float32_noise(eta, case) -> None:
    """With ``generator=NativeDraws()`` the recipe draws what k-diffusion's ``torch.randn_like(x)`` draws from the
    global generator in float32 (its default noise sampler for the ancestral samplers): the same samples to float32
    round-off from the same ``torch.manual_seed``; the default (dtype-invariant) draw gives other noise."""
    from sdesolve.random import NativeDraws

    kd = _kd()
    denoiser64, x_T = case
    x_T = x_T.float()

    def denoiser(x, sigma):
        return denoiser64(x.double(), sigma.double()).float()

    sigmas = _karras(8).float()
    torch.manual_seed(7)
    theirs = kd.sample_dpmpp_2m_sde(
        denoiser,
        x_T.clone(),
        torch.cat([sigmas, sigmas.new_zeros(1)]),
        disable=True,
        eta=eta**2,
        noise_sampler=lambda sigma, sigma_next: torch.randn_like(x_T),
    )

    def ours(generator):
        torch.manual_seed(7)
        return sdesolve.sample(
            denoiser,
            x_T,
            "dpm_solver_pp_2m_sde",
            process=registry().get("process", "edm"),
            prediction="edm",
            grid=sigmas.double(),
            denoise=True,
            eta=eta,
            clock="log_snr",
            weight="midpoint",
            eta_data=None,
            generator=generator,
        )

    native = ours(NativeDraws())
    assert native.dtype == torch.float32
    diff = float((native - theirs).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= 1e-4, diff
    assert float((ours(None) - theirs).abs().max()) > 1e-2
