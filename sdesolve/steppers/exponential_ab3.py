"""Three-step exponential Adams–Bashforth (DPM-Solver++(3M) style) with a start that keeps third order."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from torch import Tensor

from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext, Stepper

STARTS = ("corrected", "lower_order")


class ExponentialAB3(Stepper):
    """``x' = (Φ(t_k)/Φ(t_{k+1})) x + ∫ (Φ(u)/Φ(t_{k+1})) b(u) p(u) du + η`` with ``p`` the quadratic through
    ``N_k, N_{k-1}, N_{k-2}`` (Newton form ``N_k + d₁ (u - t_k) + d₂ (u - t_k)(u - t_{k-1})``), integrated exactly
    against the integrating factor: ``phi1 N_k + phi2 d₁ + d₂ (κ phi3 + h_{k-1} phi2)``, ``κ = curvature``
    (``phi3 = ∫ (Φ(u)/Φ(t_{k+1})) b(u) (u - t_k)² du``). ``η`` is the exact noise integral.

    Start (``start``): ``"corrected"`` (default) takes exponential Euler to ``t_1``, and once ``N_1`` is known adds
    the trapezoidal correction ``(phi2₀/h₀)(N_1 - N_0)`` to ``x_1`` inside the second step (``N_1`` itself is not
    re-evaluated), then AB2 to ``t_2``: every starting error is ``O(h³)``, so the method is third order with 1 NFE
    per step. ``"lower_order"`` is DPM-Solver++(3M)'s start (Euler, then AB2, uncorrected): its first step's
    ``O(h²)`` error makes it second order in general (third order only where ``N`` barely varies over the first
    step, as at the start of a diffusion sampler).

    ``curvature = 0.5`` reproduces DPM-Solver++(3M) as k-diffusion (``sample_dpmpp_3m_sde``) and diffusers
    implement it: their second-difference term is half the exact integral of the quadratic, so it is second order.

    Order 3 on ODEs (non-uniform grids included) with the defaults, strong order 1 and weak order 1 for additive
    noise, 1 NFE per step. Assumes a grid whose consecutive steps have comparable widths (the extrapolation
    weights grow like ``h_k/h_{k-1}``).
    """

    name = "exponential_ab3"
    ode_order = 3.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 1
    summary = "three-step exponential Adams–Bashforth (DPM-Solver++(3M) style), corrected start"

    def __init__(self, start: str = "corrected", curvature: float = 1.0) -> None:
        if start not in STARTS:
            raise ValueError(f"exponential_ab3: start must be one of {STARTS}, got {start!r}")
        if isinstance(curvature, bool) or not isinstance(curvature, (int, float)) or not math.isfinite(curvature):
            raise ValueError(f"exponential_ab3: curvature must be a finite number, got {curvature!r}")
        self.start = start
        self.curvature = float(curvature)

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        c = ctx.coef
        h = c.h
        # y = state_weight x + phi1 N_k + w1 (N_k - N_{k-1}) + w2 (N_{k-1} - N_{k-2}); float64, 8 bytes per step each
        w1 = np.zeros(c.n)
        w2 = np.zeros(c.n)
        w1[1:2] = c.phi2[1:2] / h[0:1]
        if c.n > 2:
            span = h[1:-1] + h[:-2]  # t_k - t_{k-2}
            second = self.curvature * c.phi3[2:] + h[1:-1] * c.phi2[2:]  # weight of the second divided difference
            w1[2:] = (c.phi2[2:] + second / span) / h[1:-1]
            w2[2:] = -second / (span * h[:-2])
        fix = c.state_weight[1] * c.phi2[0] / h[0] if c.n > 1 and self.start == "corrected" else 0.0
        return w1, w2, fix, None, None

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        c = ctx.coef
        w1, w2, fix, previous, delta = state
        n = ctx.nonlinear(ctx.time(k), x)
        y = x.mul(c.state_weight[k])
        y.add_(n, alpha=c.phi1[k])
        change = None
        if previous is not None:
            change = n - previous
            y.add_(change, alpha=w1[k] + (fix if k == 1 else 0.0))
            if delta is not None:
                y.add_(delta, alpha=w2[k])
        if ctx.noise is not None:
            y.add_(ctx.noise.integral(k, x))
        return y, (w1, w2, fix, n, change)


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(ExponentialAB3)
