"""Single-step second-order exponential integrator (DPM-Solver-2 / ETD2RK style)."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from sdesolve.adaptive import ExponentialRK2Pair
from sdesolve.coefficients import SplitWeights
from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext
from sdesolve.steppers.two_stage import Stage, TwoStageExponential


class ExponentialRK2(TwoStageExponential):
    """Exponential RK2 with the intermediate point at ``m = t + r h``.

    ``x_m = (Φ(t)/Φ(m)) x + w_f(t, m) N(t, x) + η₁`` and
    ``x' = (Φ(t)/Φ(t')) x + w_f N(t, x) + (w₂ / (r h)) (N(m, x_m) - N(t, x)) + η₂``
    with ``w₂ = ∫_t^{t'} (Φ(u)/Φ(t')) (u - t) du``: the integral of the linear interpolant of ``N`` through
    ``t`` and ``m``, exact to second order for any ``r ∈ (0, 1]`` (``r = 1/2``: DPM-Solver-2's midpoint;
    ``r = 1``: exponential Heun / ETD2RK). ``η₁, η₂`` are the exact weighted Brownian integrals to ``m`` and
    to ``t'``, drawn jointly. Order 2 on ODEs, strong order 1 and weak order 1 for additive noise, 2 NFE per
    step.

    A :class:`~sdesolve.steppers.two_stage.TwoStageExponential`: the stage at the fixed fraction ``r``, weighted
    by the linear interpolation of ``N`` (``w₀ = phi1 - phi2/(r h)``, ``w_m = phi2/(r h)``). Adaptive steps
    (``rtol``/``atol``): :class:`~sdesolve.adaptive.ExponentialRK2Pair` (exponential Euler embedded; by name its
    ``r`` defaults to 1, ETD2RK; an instance passes its own ``r``, :func:`~sdesolve.adaptive.instance_pair_options`).
    """

    name = "exponential_rk2"
    ode_order = 2.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 2
    summary = "second-order single-step exponential integrator (DPM-Solver-2 style)"
    embedded_pair = ExponentialRK2Pair

    def __init__(self, *, r: float = 0.5) -> None:
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not (0.0 < r <= 1.0) or math.isnan(r):
            raise ValueError(f"exponential_rk2 option r must be a number in (0, 1], got {r!r}")
        self.r = float(r)

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        c = ctx.coef
        split = c.fixed_split(self.r)  # float64 arrays, one entry per step (streamed: no whole-grid tables)
        slope = c.phi2 / (self.r * c.h)
        stage_times = c.times[:-1] + self.r * (c.times[1:] - c.times[:-1])
        return split, slope, stage_times

    def place(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> Stage:
        split, _, stage_times = state
        return Stage(SplitWeights(*(v[k] for v in split)), stage_times[k].expand(ctx.batch))

    def weigh(self, ctx: SolveContext, k: int, stage: Stage, state: Any) -> tuple[Any, Any]:
        slope = state[1]
        return ctx.coef.phi1[k] - slope[k], slope[k]


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(ExponentialRK2)
