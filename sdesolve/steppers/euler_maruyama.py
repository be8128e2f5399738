"""Euler–Maruyama (Euler for ODEs): the classic reference stepper."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext, Stepper


class EulerMaruyama(Stepper):
    """``x' = x + h (a(t) x + b(t) N(t, x)) + g(t) ΔW``.

    Order 1 on ODEs; strong order 1 and weak order 1 for additive noise (strong 1/2 for multiplicative
    noise, which the semilinear form excludes). 1 NFE per step. Agrees with torchsde's ``euler`` to
    round-off on the same Brownian path.
    """

    name = "euler_maruyama"
    ode_order = 1.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 1
    summary = "Euler–Maruyama / Euler: x + h(a x + b N) + g ΔW"

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        c = ctx.coef
        h = c.h[k]
        n = ctx.nonlinear(ctx.time(k), x)
        y = torch.add(x, x, alpha=h * c.a0[k])
        y.add_(n, alpha=h * c.b0[k])
        if ctx.noise is not None:
            ctx.noise.add_increment_(k, y, c.g0[k])
        return y, state


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(EulerMaruyama)
