"""Run a diffusers multistep scheduler on our float64 grid: the scheduler's ``alphas_cumprod`` cast to float64, our
``discrete`` process built from it, and its noise levels replaced by ours at its own timesteps, so that a peer
scheduler and our sampler integrate the same equation on the same grid (test_peer_unipc.py, test_peer_sa_solver.py)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from sdesolve_diffusion import DiscreteProcess
from torch import Tensor

F64 = torch.float64


def run_on_our_grid(
    sched, model: Callable[[Tensor, Tensor], Tensor], x_T: Tensor, steps: int, generator: torch.Generator | None = None
) -> tuple[Tensor, DiscreteProcess, Tensor]:
    """``(x, process, grid)``: ``sched`` stepped over ``steps`` timesteps from ``x_T`` (``generator`` handed to each
    ``step`` when given), our process and the grid of diffusion times ours runs on (the network is called with
    ``t - 1``, diffusers' index; the last point is timestep 0)."""
    sched.alphas_cumprod = sched.alphas_cumprod.to(F64)
    process = DiscreteProcess.from_alphas_cumprod(sched.alphas_cumprod)
    sched.set_timesteps(steps)
    grid = torch.cat([torch.as_tensor(sched.timesteps, dtype=F64) + 1, torch.ones(1, dtype=F64)])
    sched.sigmas = process.edm_sigma(grid)  # float64, the same noise levels as ours
    step_options = {} if generator is None else {"generator": generator}
    x = x_T.clone()
    for t in sched.timesteps:
        eps = model(x, torch.full((x.shape[0],), float(t), dtype=F64))
        x = sched.step(eps, t, x, **step_options).prev_sample
    return x, process, grid
