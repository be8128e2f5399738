"""``sdesolve.sample`` at the edges: train-mode networks, NaN in the final denoise, x_T given every way, seeds,
unknown options, names, float32 vs float64 with the same seeds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusion_cases import samplers

import sdesolve

F64 = torch.float64


class DropoutNet(torch.nn.Module):
    """An ε-network with dropout and batch norm: in train mode its outputs are random and its buffers change."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.norm = torch.nn.BatchNorm1d(3)
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.5), torch.nn.Linear(16, 3))

    def forward(self, x, t):
        return 0.1 * self.body(torch.cat([self.norm(x), t[:, None].to(x.dtype)], dim=1))


def test_an_nn_module_in_train_mode_samples_in_eval_mode_and_keeps_its_mode() -> None:
    net = DropoutNet().double()
    net.train()
    net.norm.eval()  # a submodule's own flag must be restored too
    buffers = {k: v.clone() for k, v in net.state_dict().items()}
    runs = [sdesolve.sample(net, (5, 3), "ddim", steps=4, seeds=range(5), dtype=F64) for _ in range(2)]
    assert torch.equal(runs[0], runs[1]), "dropout was active: the same seeds gave different samples"
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in buffers.items()), "batch-norm buffers changed"
    assert net.training and net.body.training and not net.norm.training


def test_nan_from_the_final_denoise_call_is_an_error() -> None:
    def model(x, t):  # finite everywhere but at the smallest time, where only the denoise call evaluates it
        return torch.where(t[:, None] < 0.01, torch.full_like(x, torch.nan), torch.zeros_like(x))

    kwargs = dict(steps=5, process="vp", grid=torch.linspace(1.0, 0.005, 6, dtype=F64), seeds=range(3))
    assert torch.isfinite(sdesolve.sample(model, (3, 2), "ddim", **kwargs)).all()
    with pytest.raises(sdesolve.NonFiniteError, match="final denoising call of 'ddim'"):
        sdesolve.sample(model, (3, 2), "ddim", denoise=True, **kwargs)


def _eps_zero(x, t):
    return torch.zeros_like(x)


def test_x_t_as_noise_or_shape_is_checked() -> None:
    noise = np.random.default_rng(0).standard_normal((4, 2))
    out = sdesolve.sample(_eps_zero, noise, "ddim", steps=3)  # a NumPy array is the initial noise, not a shape
    assert out.shape == (4, 2) and out.dtype == F64
    torch.testing.assert_close(out, sdesolve.sample(_eps_zero, torch.from_numpy(noise), "ddim", steps=3))
    with pytest.raises(TypeError, match=r"x_T must be the initial noise .* or a shape .* got int 4"):
        sdesolve.sample(_eps_zero, 4, "ddim", steps=3)
    with pytest.raises(ValueError, match=r"positive integers, got \(4.5, 3\)"):
        sdesolve.sample(_eps_zero, (4.5, 3), "ddim", steps=3)
    with pytest.raises(ValueError, match="positive integers"):
        sdesolve.sample(_eps_zero, (True, 3), "ddim", steps=3)
    assert sdesolve.sample(_eps_zero, (np.int64(2), 3), "ddim", steps=3).shape == (2, 3)


def test_seeds_outside_64_bits_are_refused_by_name() -> None:
    for seed in (2**64, -1):
        with pytest.raises(ValueError, match=r"seeds\[1\] must be an integer in \[0, 2\*\*64\)"):
            sdesolve.sample(_eps_zero, (2, 3), "ddpm", steps=3, seeds=[0, seed])
    sdesolve.sample(_eps_zero, (1, 3), "ddpm", steps=3, seeds=[2**64 - 1])


@pytest.mark.parametrize("name", samplers())
def test_unknown_sampler_options_list_the_accepted_ones(name) -> None:
    sampler = sdesolve.registry().get("sampler", name)
    with pytest.raises(TypeError, match=rf"sampler '{name}' got unknown option\(s\) no_such_option; accepted"):
        sdesolve.sample(_eps_zero, (2, 3), name, steps=3, no_such_option=1)
    assert "no_such_option" not in sampler.options()


def test_solve_names_the_stepper_of_a_sampler() -> None:
    sde = sdesolve.SemilinearSDE(a=-1.0, nonlinear=lambda t, x: x)
    with pytest.raises(ValueError, match=r"'ddram' is a diffusion sampler.*its stepper is 'randomized_midpoint'"):
        sdesolve.solve(sde, torch.ones(2, 2), [0.0, 1.0], "ddram")


@pytest.mark.parametrize("name", ["ddram", "ddram_ode", "ddpm", "edm_heun", "li_accelerated_sde"])
def test_float32_and_float64_with_the_same_seeds_differ_by_round_off_only(name, mixture2d) -> None:
    process = "vp"
    model = mixture2d.model(sdesolve.registry().get("process", process), "eps")
    out = {
        dtype: sdesolve.sample(model, (64, 2), name, steps=30, process=process, seeds=range(64), dtype=dtype).to(F64)
        for dtype in (torch.float32, F64)
    }
    torch.testing.assert_close(out[torch.float32], out[F64], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", ["ddpm", "ddram", "edm_heun", "dpm_solver_pp_2m_sde"])
def test_native_draws_feed_every_draw_of_a_sampler_in_the_working_dtype(name, mixture2d) -> None:
    """``generator=NativeDraws(g)``: the initial noise drawn from a shape is ``torch.randn`` in the working dtype
    (scaled by the prior std), the run is reproducible, every draw advances ``g``, and the noise differs from the
    default dtype-invariant draw of the same generator."""
    from sdesolve.random import NativeDraws

    process = sdesolve.registry().get("process", "vp")
    model = mixture2d.model(process, "eps")
    first: list[torch.Tensor] = []

    def recording(x, t):
        if not first:
            first.append(x.clone())
        return model(x, t)

    def run(generator):
        first.clear()
        return sdesolve.sample(recording, (16, 2), name, steps=6, process="vp", generator=generator)

    g = torch.Generator().manual_seed(4)
    a = run(NativeDraws(g))
    expected = torch.randn(16, 2, generator=torch.Generator().manual_seed(4)) * process.prior_std
    assert a.dtype == torch.float32
    torch.testing.assert_close(first[0], expected, rtol=1e-6, atol=1e-6)  # edm_heun rescales by α and back
    assert torch.equal(a, run(NativeDraws(torch.Generator().manual_seed(4))))
    assert not torch.equal(g.get_state(), torch.Generator().manual_seed(4).get_state())
    assert not torch.equal(a, run(torch.Generator().manual_seed(4)))


def test_seeds_and_a_generator_together_are_refused_not_one_silently_dropped(mixture2d) -> None:
    from sdesolve.random import NativeDraws

    model = mixture2d.model(sdesolve.registry().get("process", "vp"), "eps")
    for generator in (torch.Generator().manual_seed(0), NativeDraws()):
        with pytest.raises(ValueError, match="give seeds or generator, not both"):
            sdesolve.sample(model, (4, 2), "ddpm", steps=3, process="vp", seeds=range(4), generator=generator)
