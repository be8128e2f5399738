"""``sa_solver`` against diffusers' ``SASolverScheduler`` (data prediction) on the same model, table, timesteps and
noise.

Float64 throughout: our ``discrete`` process is built from the scheduler's ``alphas_cumprod`` (cast to float64) and the
scheduler's noise levels are replaced by ours at the same timesteps, so both integrate the same SDE on the same grid;
the grid stops at the first training timestep (diffusers' last noise level, σ > 0) because our sampler solves in
``λ = log(α/σ)`` here. diffusers draws one standard normal per step from the ``generator`` handed to ``step``; ours
draws one per step from the solve's generator, so two generators seeded alike feed both the same noise. ``τ`` is a
constant (``tau_func=lambda t: τ``; diffusers' default switches it on only for timesteps 200-800). diffusers fixes the
order-2 weights to ``B(h)/2`` (our ``variant="bh1"``).
"""

from __future__ import annotations

import pytest
import torch
from diffusers_grid import run_on_our_grid
from sdesolve_diffusion import DiscreteProcess

import sdesolve

F64 = torch.float64
TOL = 1e-10  # absolute, on samples of unit scale, as in test_peers.py

diffusers = pytest.importorskip("diffusers")


def _diffusers_sa_solver(model, x_T, steps, seed, tau, **config):
    sched = diffusers.SASolverScheduler(
        beta_schedule="linear", algorithm_type="data_prediction", tau_func=lambda t: tau, **config
    )
    return run_on_our_grid(sched, model, x_T, steps, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    "steps,predictor_order,corrector_order,tau,lower_order_final",
    [
        (10, 2, 2, 1.0, True),  # diffusers' default orders (its default tau_func switches tau on and off)
        (20, 3, 3, 1.0, True),  # the paper's unconditional setting
        (12, 3, 4, 0.5, False),
        (15, 4, 4, 1.0, False),
        (8, 1, 1, 1.0, False),
        (12, 2, 3, 0.0, True),  # tau = 0: the probability-flow ODE
    ],
)
def test_sa_solver_matches_diffusers(steps, predictor_order, corrector_order, tau, lower_order_final, x_T, mixture2d):
    sched = diffusers.SASolverScheduler(beta_schedule="linear")
    process = DiscreteProcess.from_alphas_cumprod(sched.alphas_cumprod.to(F64))
    model = mixture2d.model(process, "eps")
    theirs, process, grid = _diffusers_sa_solver(
        model,
        x_T,
        steps,
        7,
        tau,
        predictor_order=predictor_order,
        corrector_order=corrector_order,
        lower_order_final=lower_order_final,
    )
    ours = sdesolve.sample(
        model,
        x_T,
        "sa_solver",
        process=process,
        grid=grid,
        clock="log_snr",
        eta=tau,
        eta_data=None,  # diffusers' constant tau_func: one η throughout (the default lowers it near the data)
        variant="bh1",
        predictor_order=predictor_order,
        corrector_order=corrector_order,
        lower_order_final=lower_order_final,
        generator=torch.Generator().manual_seed(7),
    )
    diff = float((ours - theirs).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff
    assert float(theirs.abs().max()) > 0.5  # samples of unit scale, not a collapsed state
