"""The ``unipc`` sampler: metadata from the stepper, the identities that pin its update, refusals.

Its convergence order on the probability-flow ODE and its runs on every process are checked with every sampler's
(``test_samplers.py``); agreement with diffusers' UniPC is in ``plugins/sdesolve-lab/tests/test_peer_unipc.py``.
"""

from __future__ import annotations

import pytest
import torch
from sdesolve_diffusion.adapters import ModelAdapter

import sdesolve
from sdesolve import registry

F64 = torch.float64


def _run(mixture2d, process: str, steps: int = 12, **options) -> torch.Tensor:
    proc = registry().get("process", process)
    x_T = torch.randn(32, 2, dtype=F64, generator=torch.Generator().manual_seed(3)) * proc.prior_std
    return sdesolve.sample(mixture2d.model(proc, "eps"), x_T, "unipc", steps=steps, process=process, **options)


def test_metadata_comes_from_the_stepper() -> None:
    smp = registry().get("sampler", "unipc")
    assert (smp.nfe_per_step, smp.order, smp.stochastic) == (1, 3.0, False)
    options = smp.options()
    # order 2 is the sampler's default, as the stepper's and diffusers' (order 3 lost on the trained network)
    for name, default in {"order": 2, "variant": "bh2", "corrector": True, "lower_order_final": False}.items():
        assert options[name] == default
    assert options["clock"] == "log_snr" and options["splitting"] == "data" and smp.default_grid == "logsnr"


def test_without_the_corrector_it_is_dpm_solver_pp_2m(mixture2d) -> None:
    """UniP-2 with ``B₂(h) = e^h - 1`` and the fixed ``ρ = 1/2`` is DPM-Solver++(2M)'s midpoint update."""
    proc = registry().get("process", "vp")
    x_T = torch.randn(32, 2, dtype=F64, generator=torch.Generator().manual_seed(3))
    model = mixture2d.model(proc, "eps")
    ours = sdesolve.sample(model, x_T, "unipc", steps=12, process="vp", grid="edm", corrector=False, order=2)
    theirs = sdesolve.sample(model, x_T, "dpm_solver_pp_2m", steps=12, process="vp", grid="edm")
    assert float((ours - theirs).abs().max()) < 1e-12
    corrected = sdesolve.sample(model, x_T, "unipc", steps=12, process="vp", grid="edm", order=2)
    assert float((corrected - theirs).abs().max()) > 1e-4


def test_on_ve_log_snr_time_is_the_process_time(mixture2d) -> None:
    """On ``ve`` the diffusion time is an affine function of ``λ``: the stepper's weights are invariant under an
    affine change of time, so the sampler (in ``λ``) equals the core stepper run in ``ve``'s own time; on ``vp``
    (``λ`` not affine in ``t``) the two are different methods."""
    for name, same in (("ve", True), ("vp", False)):
        proc = registry().get("process", name)
        model = mixture2d.model(proc, "eps")
        x_T = torch.randn(32, 2, dtype=F64, generator=torch.Generator().manual_seed(3)) * proc.prior_std
        grid = registry().get("grid", "logsnr")(proc, 12, t_min=0.01)
        ours = sdesolve.sample(model, x_T, "unipc", process=name, grid=grid, order=3)
        sde = proc.sde(ModelAdapter(model, proc, "eps"), "data", 0.0)
        in_time = sdesolve.solve(sde, x_T, grid, "unipc", order=3)
        diff = float((ours - in_time).abs().max())
        assert diff < 1e-11 if same else diff > 1e-4, (name, diff)


def test_refusals_are_clear(mixture2d) -> None:
    with pytest.raises(ValueError, match="unipc option order"):
        _run(mixture2d, "vp", order=5)
    with pytest.raises(ValueError, match="σ = 0"):
        _run(mixture2d, "vp", grid=torch.tensor([1.0, 0.5, 0.0], dtype=F64))


def test_eta_adds_the_exact_noise(mixture2d) -> None:
    ode = _run(mixture2d, "vp")
    sde = _run(mixture2d, "vp", eta=1.0, generator=torch.Generator().manual_seed(0))
    assert bool(torch.isfinite(sde).all()) and float((sde - ode).abs().max()) > 1e-2
