"""Drop-in use from the peers' ecosystems: k-diffusion's sampler signature and diffusers' β schedules."""

from __future__ import annotations

import pytest
import torch
from sdesolve_diffusion import DiscreteProcess, GaussianMixture
from sdesolve_diffusion import kdiffusion as kdiff

import sdesolve

F64 = torch.float64
diffusers = pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def denoiser():
    target = GaussianMixture(torch.tensor([[-1.0, 0.5], [1.0, -0.3]], dtype=F64), torch.tensor([0.1, 0.2], dtype=F64))
    return target.model(sdesolve.registry().get("process", "edm"), "edm")


def _sigmas(n: int, zero: bool = True) -> torch.Tensor:
    ramp = torch.linspace(0, 1, n, dtype=F64)
    sig = (80.0 ** (1 / 7) + ramp * (0.002 ** (1 / 7) - 80.0 ** (1 / 7))) ** 7
    return torch.cat([sig, torch.zeros(1, dtype=F64)]) if zero else sig


@pytest.mark.parametrize(
    "ours,theirs",
    [("edm_heun", "sample_heun"), ("dpm_solver_2", "sample_dpm_2"), ("dpm_solver_pp_2m", "sample_dpmpp_2m")],
)
def test_k_diffusion_signature_functions_match_k_diffusion(ours, theirs, denoiser) -> None:
    from sdesolve_lab.peers import load_kdiffusion_sampling

    kd = load_kdiffusion_sampling()
    if kd is None:
        pytest.skip("k-diffusion not installed")
    x = torch.randn(16, 2, dtype=F64, generator=torch.Generator().manual_seed(0)) * 80
    expected = getattr(kd, theirs)(denoiser, x, _sigmas(10), disable=True)
    got = getattr(kdiff, f"sample_{ours}")(denoiser, x, _sigmas(10), disable=True)
    assert torch.allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", sorted(sdesolve.registry().items["sampler"]))
def test_every_sampler_has_a_k_diffusion_signature_function(name, denoiser) -> None:
    fn = getattr(kdiff, f"sample_{name}")
    seen = []
    extra_seen = []

    def model(x, sigma, cond=None):
        extra_seen.append(cond)
        return denoiser(x, sigma)

    x = torch.randn(4, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * 80
    out = fn(
        model, x, _sigmas(6), extra_args={"cond": 1}, callback=seen.append, generator=torch.Generator().manual_seed(0)
    )
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert set(extra_seen) == {1} and [d["i"] for d in seen] == list(range(5))
    assert set(seen[0]) == {"x", "i", "sigma", "sigma_hat", "denoised"}
    assert fn.__name__ == f"sample_{name}" and f"sample_{name}" in dir(kdiff)
    with pytest.raises(AttributeError):
        kdiff.sample_no_such_sampler  # noqa: B018


@pytest.mark.parametrize(
    "config",
    [
        {"beta_schedule": "linear"},
        {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
        {"beta_schedule": "squaredcos_cap_v2"},
        {"trained_betas": torch.linspace(1e-4, 0.03, 500).tolist(), "num_train_timesteps": 500},
    ],
)
def test_diffusers_beta_schedules_become_discrete_processes(config) -> None:
    scheduler = diffusers.DDPMScheduler(**config)
    process = DiscreteProcess.from_diffusers(scheduler.config)
    assert torch.allclose(process.alphas_cumprod, scheduler.alphas_cumprod.to(F64), rtol=1e-5)  # theirs: float32
    assert DiscreteProcess.from_diffusers(scheduler).T == scheduler.config.num_train_timesteps


def test_unsupported_diffusers_schedules_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="beta_schedule 'sigmoid' is not supported"):
        DiscreteProcess.from_diffusers({"beta_schedule": "sigmoid"})
    with pytest.raises(ValueError, match="rescale_betas_zero_snr"):
        DiscreteProcess.from_diffusers({"rescale_betas_zero_snr": True})


@pytest.mark.parametrize("zero", [True, False])
def test_variance_preserving_samplers_run_on_k_diffusion_sigmas(denoiser, zero) -> None:
    """Li et al.'s samplers need α² + σ² = 1: on k-diffusion's σ grid they run on the OU process and agree with
    k-diffusion-signature Heun on the same probability-flow ODE (fine grids), with x back in the σ-space."""
    x = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(3)) * 80
    sig = _sigmas(400, zero)
    states = []
    li = kdiff.sample_li_accelerated_ode(denoiser, x, sig, callback=states.append)
    heun = kdiff.sample_edm_heun(denoiser, x, sig)
    assert torch.isfinite(li).all()
    torch.testing.assert_close(li, heun, rtol=0, atol=2e-3)
    # the callback's x is in k-diffusion's variance-exploding space (data + σ ε): near the data at the end
    assert states[-1]["x"].abs().max() < 3
    sde = kdiff.sample_li_accelerated_sde(denoiser, x, sig, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(sde).all() and sde.abs().max() < 3
