"""The accelerated samplers of Li, Huang, Efimov, Wei, Chi and Chen (ICML 2024, arXiv 2403.03852).

On a decreasing grid ``… > t_{k+1} > t_k > t_{k-1} …`` write ``ᾱ_t = α(t)²`` and the one-step ratio
``a_t = ᾱ_t/ᾱ_s`` for the step ``t → s`` (variance-preserving processes). From shared/notes/seed-formulas.md §B:

* ``li_accelerated_sde`` (O(1/T) vs DDPM's O(1/√T)):
  ``Y⁺ = Y + √((1 - a_t)/2) Z``, ``Y_s = (Y⁺ + (1 - a_t) ŝ_t(Y⁺))/√a_t + √((1 - a_t)/2) Z⁺`` — 1 NFE per step.
* ``li_accelerated_ode`` (the practical deterministic sampler, O(1/T²) vs DDIM's O(1/T)): the DDIM step plus a
  correction with the previous noise prediction,
  ``X_s = X_t/√a_t + (√(1-ᾱ_s) - √(1-ᾱ_t)/√a_t) ε_t + √ᾱ_s/(ᾱ_t - ᾱ_u) · (ᾱ_t √((1-ᾱ_s)/ᾱ_s) + asin√ᾱ_s
  - ᾱ_t √((1-ᾱ_t)/ᾱ_t) - asin√ᾱ_t) (ε_u - ε_t)`` with ``u`` the previous (noisier) grid time; the first step is
  DDIM. 1 NFE per step.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from torch import Tensor

from sdesolve.random import randn
from sdesolve_diffusion.samplers.base import DiffusionSampler, SamplingContext, StepResult

__all__ = ["LiAcceleratedODE", "LiAcceleratedSDE"]


class LiAcceleratedSDE(DiffusionSampler):
    name = "li_accelerated_sde"
    stochastic = True
    vp_only = True
    nfe_per_step = 1
    order = 1.0
    default_grid = "uniform"
    summary = "Li et al. 2024 accelerated stochastic sampler (half-noise before and after the score step)"

    def init(self, ctx: SamplingContext, x: Tensor) -> list[float]:
        return (2 * ctx.process.log_alpha(ctx.times)).tolist()  # log ᾱ on the grid

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: list[float]) -> StepResult:
        a = math.exp(state[i] - state[i + 1])
        half = math.sqrt((1 - a) / 2)
        y_plus = x + half * randn(x.shape, ctx.generator, x.device, x.dtype)
        score = ctx.adapter.score(float(ctx.times[i]), y_plus)
        x = (y_plus + (1 - a) * score) / math.sqrt(a) + half * randn(x.shape, ctx.generator, x.device, x.dtype)
        return x, state, None


class _LiODE(NamedTuple):
    abar: list[float]
    previous: Tensor | None  # the previous step's ε̂


class LiAcceleratedODE(DiffusionSampler):
    name = "li_accelerated_ode"
    vp_only = True
    nfe_per_step = 1
    order = 2.0
    # The correction extrapolates ε linearly in ᾱ; on a grid uniform in t the steps near t_min are too coarse for
    # that (measured slope 1.0-1.45 for NFE 20-640 on the 1-D mixture, 0.6-1.5 on a sharp Gaussian). On the EDM
    # grid the slope reaches 1.95 (benchmarks/ddram_low_nfe.py li; tests/test_li_default_grid.py fails otherwise).
    default_grid = "edm"
    summary = "Li et al. 2024 accelerated deterministic sampler (DDIM + previous-ε correction)"

    def init(self, ctx: SamplingContext, x: Tensor) -> _LiODE:
        return _LiODE(ctx.process.alpha(ctx.times).pow(2).tolist(), None)

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: _LiODE) -> StepResult:
        abar, previous = state
        ab_t, ab_s = abar[i], abar[i + 1]
        a = ab_t / ab_s
        eps = ctx.adapter.eps(float(ctx.times[i]), x)
        x_next = x / math.sqrt(a) + (math.sqrt(1 - ab_s) - math.sqrt(1 - ab_t) / math.sqrt(a)) * eps
        if previous is not None:
            ab_u = abar[i - 1]
            bracket = (
                ab_t * math.sqrt((1 - ab_s) / ab_s)
                + math.asin(math.sqrt(ab_s))
                - ab_t * math.sqrt((1 - ab_t) / ab_t)
                - math.asin(math.sqrt(ab_t))
            )
            x_next = x_next + math.sqrt(ab_s) / (ab_t - ab_u) * bracket * (previous - eps)
        return x_next, _LiODE(abar, eps), None
