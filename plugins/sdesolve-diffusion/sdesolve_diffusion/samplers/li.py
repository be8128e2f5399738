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

from torch import Tensor

from sdesolve.random import randn
from sdesolve_diffusion.samplers.base import DiffusionSampler, SamplingContext, per_sample

__all__ = ["LiAcceleratedODE", "LiAcceleratedSDE"]


class LiAcceleratedSDE(DiffusionSampler):
    name = "li_accelerated_sde"
    stochastic = True
    vp_only = True
    nfe_per_step = 1
    order = 1.0
    default_grid = "uniform"
    summary = "Li et al. 2024 accelerated stochastic sampler (half-noise before and after the score step)"

    def run(
        self,
        ctx: SamplingContext,
        x: Tensor,
    ) -> Tensor:
        log_abar = (2 * ctx.process.log_alpha(ctx.times)).tolist()
        for k in range(ctx.times.numel() - 1):
            a = math.exp(log_abar[k] - log_abar[k + 1])
            half = math.sqrt((1 - a) / 2)
            y_plus = x + half * randn(x.shape, ctx.generator, x.device, x.dtype)
            score = ctx.adapter.score(per_sample(float(ctx.times[k]), x), y_plus)
            x = (y_plus + (1 - a) * score) / math.sqrt(a) + half * randn(x.shape, ctx.generator, x.device, x.dtype)
            ctx.report(k, float(ctx.times[k + 1]), x)
        return x


class LiAcceleratedODE(DiffusionSampler):
    name = "li_accelerated_ode"
    vp_only = True
    nfe_per_step = 1
    order = 2.0
    default_grid = "uniform"
    summary = "Li et al. 2024 accelerated deterministic sampler (DDIM + previous-ε correction)"

    def run(
        self,
        ctx: SamplingContext,
        x: Tensor,
    ) -> Tensor:
        abar = ctx.process.alpha(ctx.times).pow(2).tolist()
        previous = None
        for k in range(ctx.times.numel() - 1):
            ab_t, ab_s = abar[k], abar[k + 1]
            a = ab_t / ab_s
            eps = ctx.adapter.eps(per_sample(float(ctx.times[k]), x), x)
            x_next = x / math.sqrt(a) + (math.sqrt(1 - ab_s) - math.sqrt(1 - ab_t) / math.sqrt(a)) * eps
            if previous is not None:
                ab_u = abar[k - 1]
                bracket = (
                    ab_t * math.sqrt((1 - ab_s) / ab_s)
                    + math.asin(math.sqrt(ab_s))
                    - ab_t * math.sqrt((1 - ab_t) / ab_t)
                    - math.asin(math.sqrt(ab_t))
                )
                x_next = x_next + math.sqrt(ab_s) / (ab_t - ab_u) * bracket * (previous - eps)
            previous = eps
            x = x_next
            ctx.report(k, float(ctx.times[k + 1]), x)
        return x
