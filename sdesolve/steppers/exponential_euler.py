"""Exponential Euler: the linear part solved exactly, ``N`` frozen at the left end of the step."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext, Stepper


class ExponentialEuler(Stepper):
    """``x' = (Φ(t)/Φ(t')) x + (∫_t^{t'} Φ/Φ(t')) N(t, x) + ∫_t^{t'} (Φ(u)/Φ(t')) g(u) dW_u``.

    Exact for ``N`` constant; the noise integral is drawn exactly in law (variance
    ``∫ Φ² g² / Φ(t')²``). Order 1 on ODEs, strong order 1 and weak order 1 for additive noise,
    1 NFE per step. The DDPM exponential integrator (EED) with the relative-score splitting.
    """

    name = "exponential_euler"
    ode_order = 1.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 1
    summary = "exact linear part, frozen N, exact noise integral (EED)"

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        c = ctx.coef
        n = ctx.nonlinear(ctx.time(k), x)
        y = x.mul(c.state_weight[k])
        y.add_(n, alpha=c.phi1[k])
        if ctx.noise is not None:
            y.add_(ctx.noise.integral(k, x))
        return y, state


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(ExponentialEuler)
