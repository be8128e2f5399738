"""Heun's method (EDM's second-order sampler step) and its stochastic variant for additive noise."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext, Stepper


class Heun(Stepper):
    """Predictor ``x̃ = x + h F(t, x) + g(t) ΔW``, corrector
    ``x' = x + h/2 (F(t, x) + F(t', x̃)) + (g(t) + g(t'))/2 ΔW`` with ``F = a x + b N``.

    Order 2 on ODEs; for additive noise (where Itô and Stratonovich agree) strong order 1, weak order 1.
    2 NFE per step.
    """

    name = "heun"
    ode_order = 2.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 2
    summary = "Heun / EDM second order; stochastic Heun for additive noise"

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        c = ctx.coef
        h = c.h[k]
        d0 = ctx.nonlinear(ctx.time(k), x).mul(c.b0[k]).add_(x, alpha=c.a0[k])
        pred = torch.add(x, d0, alpha=h)
        dw = None
        if ctx.noise is not None:
            dw = ctx.noise.increment(k, x)
            pred.add_(dw, alpha=c.g0[k])
        d1 = ctx.nonlinear(ctx.time(k + 1), pred).mul(c.b1[k]).add_(pred, alpha=c.a1[k])
        y = torch.add(x, d0, alpha=0.5 * h)
        y.add_(d1, alpha=0.5 * h)
        if dw is not None:
            y.add_(dw, alpha=0.5 * (c.g0[k] + c.g1[k]))
        return y, state


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(Heun)
