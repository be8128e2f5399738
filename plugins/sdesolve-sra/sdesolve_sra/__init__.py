"""sdesolve plugin: Rößler's SRA1 for additive noise (strong order 1.5).

Registered through the entry point ``[project.entry-points.sdesolve] sra = "sdesolve_sra"``; it uses only
sdesolve's public API (``Stepper``, ``SolveContext``, ``hookimpl``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sdesolve import SolveContext, Stepper, hookimpl

__all__ = ["SRA1"]

# Rößler (2010), SRA1 tableau: deterministic stages at c0 = (0, 3/4), noise weights at c1 = (1, 0).
_C0 = 0.75
_A0 = 0.75
_B0 = 1.5
_ALPHA = (1.0 / 3.0, 2.0 / 3.0)


class SRA1(Stepper):
    """SRA1 for ``dX = (a X + b N) dt + g(t) dW``, with ``F = a x + b N``, ``U = ∫ (W(s) - W(s_k)) ds``:

    ``H = x + (3/4) h F(t, x) + (3/2) g(t') U / |h|`` and
    ``x' = x + h (F(t, x)/3 + 2 F(t + 3h/4, H)/3) + g(t') (ΔW - U/|h|) + g(t) U/|h|``.

    Order 2 on ODEs (Ralston's method); strong order 1.5 and weak order 2 for additive noise; 2 NFE per
    step. Needs the space-time Lévy area: with ``bm``, pass a torchsde ``BrownianInterval`` created with
    ``levy_area_approximation="space-time"`` (``sdesolve.reference.brownian_interval`` does). Matches
    torchsde's ``srk`` on the same path to round-off.
    """

    name = "sra1"
    ode_order = 2.0
    strong_order = 1.5
    weak_order = 2.0
    nfe_per_step = 2
    summary = "Rößler SRA1 stochastic Runge–Kutta, additive noise (plugin example)"

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        c = ctx.coef
        stage = c.ts[:-1] + _C0 * (c.ts[1:] - c.ts[:-1])  # float64, host
        # float64 NumPy arrays (8 bytes per step; items are floats), read without touching a tensor in the loop
        a_stage = ctx.sde.linear(stage).detach().to(torch.float64).numpy().copy()
        b_stage = ctx.sde.weight(stage).detach().to(torch.float64).numpy().copy()
        return a_stage, b_stage, stage.to(x0.device, x0.dtype)

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        c = ctx.coef
        a_stage, b_stage, stage_times = state
        h = c.h[k]
        f0 = ctx.nonlinear(ctx.time(k), x).mul(c.b0[k]).add_(x, alpha=c.a0[k])
        stage = torch.add(x, f0, alpha=_A0 * h)
        dw = area = None
        if ctx.noise is not None:
            dw, area = ctx.noise.space_time(k, x)
            area = area / c.abs_h[k]
            stage.add_(area, alpha=_B0 * c.g1[k])
        f1 = ctx.nonlinear(stage_times[k].expand(ctx.batch), stage).mul(b_stage[k]).add_(stage, alpha=a_stage[k])
        y = torch.add(x, f0, alpha=_ALPHA[0] * h)
        y.add_(f1, alpha=_ALPHA[1] * h)
        if dw is not None:
            y.add_(dw, alpha=c.g1[k])
            y.add_(area, alpha=c.g0[k] - c.g1[k])
        return y, state


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(SRA1)
