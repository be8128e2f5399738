"""``our_method`` (a registered sampler run the lab's way with extra options; ``our_methods`` builds on it) and
``kdiffusion_method`` (k-diffusion's samplers by name, their NFE per step and stochasticity from a table)."""

from __future__ import annotations

import pytest
import torch
from sdesolve_lab.methods import KD_SAMPLERS, _kdiffusion, kdiffusion_method, our_method, our_methods
from sdesolve_lab.peers import load_kdiffusion_sampling
from sdesolve_lab.problem import make_problem

import sdesolve


@pytest.fixture(scope="module")
def problem():
    pb = make_problem("gmm", 2, seed=0)
    return pb, pb.prior(32, 0, torch.float64, "cpu")


def test_our_method_passes_its_options_to_the_sampler(problem) -> None:
    pb, x_T = problem
    logsnr = our_method("dpm_solver_pp_2m", grid="logsnr")
    default = our_method("dpm_solver_pp_2m")  # its default grid is edm
    assert logsnr.name == "sdesolve:dpm_solver_pp_2m grid=logsnr" and default.name == "sdesolve:dpm_solver_pp_2m"
    assert not logsnr.stochastic and logsnr.library == "sdesolve"
    x, nfe = logsnr.run(pb, x_T, 10, 3)
    direct = sdesolve.sample(
        pb.model(),
        x_T,
        "dpm_solver_pp_2m",
        steps=9,
        process=pb.process,
        denoise=True,
        grid_options={"t_min": pb.t_end},
        generator=torch.Generator().manual_seed(3),
        grid="logsnr",
    )
    assert nfe == 10 and torch.equal(x, direct)
    y, _ = default.run(pb, x_T, 10, 3)
    assert (x - y).abs().max().item() > 1e-3  # the option reached the sampler
    (listed,) = our_methods(["dpm_solver_pp_2m"])
    assert listed.name == default.name and torch.equal(listed.run(pb, x_T, 10, 3)[0], y)


def test_our_method_refuses_an_unknown_sampler_and_adaptive_takes_a_tolerance(problem) -> None:
    pb, x_T = problem
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        our_method("nope")
    with pytest.raises(ValueError, match="--samplers: unknown sampler 'nope'"):
        our_methods(["nope"])
    loose = our_method("adaptive").run(pb, x_T, 10, 0)[1]  # the budget's tolerance: 1e-1
    tight = our_method("adaptive", rtol=1e-4, atol=1e-4).run(pb, x_T, 10, 0)[1]  # options win
    assert tight > loose > 0


def test_kdiffusion_method_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match=r"grid must be one of .*'karras'"):
        kdiffusion_method("dpmpp_2m", grid="karras")
    with pytest.raises(ValueError, match=r"name must be .*'dpmpp_9m'"):
        kdiffusion_method("dpmpp_9m")


@pytest.mark.skipif(load_kdiffusion_sampling() is None, reason="k-diffusion is not installed")
def test_kdiffusion_method_looks_up_its_sampler(problem) -> None:
    pb, x_T = problem
    kd = load_kdiffusion_sampling()
    m = kdiffusion_method("dpmpp_2m", grid="logsnr")
    assert m.name == "k-diffusion:dpmpp_2m@logsnr" and not m.stochastic and m.library == "k-diffusion"
    x, nfe = m.run(pb, x_T, 10, 3)
    assert nfe == 10 and torch.equal(x, _kdiffusion(kd, "dpmpp_2m", False, False, grid="logsnr").run(pb, x_T, 10, 3)[0])
    assert not torch.equal(x, kdiffusion_method("dpmpp_2m").run(pb, x_T, 10, 3)[0])
    sde = kdiffusion_method("dpmpp_sde")  # two NFE per step: budget 10 -> 5 sigmas, 4 steps, the last one NFE
    assert sde.stochastic and sde.name == "k-diffusion:dpmpp_sde" and sde.run(pb, x_T, 10, 3)[1] == 9
    assert KD_SAMPLERS["heun"] == (True, False) and KD_SAMPLERS["euler_ancestral"] == (False, True)


def test_diffusers_sa_solver_method(problem) -> None:
    pytest.importorskip("diffusers")
    from sdesolve_lab.methods import DIFFUSERS_SA_SOLVER, diffusers_sa_solver_method, peer_methods

    with pytest.raises(ValueError, match="unknown SASolver configuration 'nope'"):
        diffusers_sa_solver_method("nope")
    pb, x_T = problem
    m = diffusers_sa_solver_method("diffusers:SASolver")
    assert m.stochastic and m.library == "diffusers"
    x, nfe = m.run(pb, x_T, 10, 3)
    assert nfe == 10 and torch.isfinite(x).all()  # 9 scheduler steps, then the exact denoiser
    assert torch.equal(x, m.run(pb, x_T, 10, 3)[0]) and not torch.equal(x, m.run(pb, x_T, 10, 4)[0])  # seeded noise
    assert set(DIFFUSERS_SA_SOLVER) <= {p.name for p in peer_methods(("diffusers",))}


def test_problem_metric_and_mean_error(problem) -> None:
    from sdesolve_lab.methods import mean_error
    from sdesolve_lab.metrics import GaussianW2, QuantileW1, SlicedW1

    assert isinstance(make_problem("gaussian").metric(100, 0), GaussianW2)
    assert isinstance(make_problem("sharp1d").metric(100, 0), QuantileW1)  # the problem's own metric_factory
    pb, _ = problem
    metric = pb.metric(500, 0)
    assert isinstance(metric, SlicedW1)
    run = our_method("ddim").run
    error, nfe = mean_error(run, pb, metric, 10, 500, 2)
    by_hand = [float(metric(run(pb, pb.prior(500, s), 10, s + 10)[0])) for s in range(2)]
    assert error == pytest.approx(sum(by_hand) / 2, rel=1e-12) and nfe == 10
