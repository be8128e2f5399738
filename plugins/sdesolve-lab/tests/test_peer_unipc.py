"""``unipc`` against diffusers' ``UniPCMultistepScheduler`` (data prediction) on the same model, table and timesteps.

Float64 throughout: our ``discrete`` process is built from the scheduler's ``alphas_cumprod`` (cast to float64) and the
scheduler's noise levels are replaced by ours at the same timesteps, so both integrate the same ODE on the same
grid; the grid stops at the first training timestep (σ > 0, diffusers' ``final_sigmas_type="sigma_min"``) because
our sampler solves in ``λ = log(α/σ)``. Measured differences: 6.7e-16 to 2.1e-14 on samples of unit scale.
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


def _diffusers_unipc(model, x_T, steps, **config):
    sched = diffusers.UniPCMultistepScheduler(beta_schedule="linear", final_sigmas_type="sigma_min", **config)
    return run_on_our_grid(sched, model, x_T, steps)


@pytest.mark.parametrize(
    "steps,order,variant,corrector,lower_order_final",
    [
        (10, 2, "bh2", True, True),  # diffusers' defaults (but final_sigmas_type)
        (25, 2, "bh2", True, True),
        (10, 3, "bh2", True, True),
        (12, 3, "bh1", True, False),
        (12, 3, "bh2", False, False),
        (8, 1, "bh1", True, False),
        (15, 2, "bh1", True, False),
    ],
)
def test_unipc_matches_diffusers(steps, order, variant, corrector, lower_order_final, x_T, mixture2d) -> None:
    sched = diffusers.UniPCMultistepScheduler(beta_schedule="linear")
    process = DiscreteProcess.from_alphas_cumprod(sched.alphas_cumprod.to(F64))
    model = mixture2d.model(process, "eps")
    theirs, process, grid = _diffusers_unipc(
        model,
        x_T,
        steps,
        solver_order=order,
        solver_type=variant,
        lower_order_final=lower_order_final,
        disable_corrector=[] if corrector else list(range(steps)),
    )
    ours = sdesolve.sample(
        model,
        x_T,
        "unipc",
        process=process,
        grid=grid,
        order=order,
        variant=variant,
        corrector=corrector,
        lower_order_final=lower_order_final,
    )
    diff = float((ours - theirs).abs().max())
    print(f"max |difference| = {diff:.1e}")
    assert diff <= TOL, diff
    assert float(theirs.abs().max()) > 0.5  # samples of unit scale, not a collapsed state
