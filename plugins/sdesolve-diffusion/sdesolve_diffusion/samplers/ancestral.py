"""DDIM (any ``η``) and DDPM (ancestral): the discrete updates of Song et al. and Ho et al., on any process.

With ``x̂₀, ε̂`` from one network call at ``t`` and the next time ``s < t``:

    x_s = α_s x̂₀ + √(σ_s² - ν²) ε̂ + ν z,     ν = η σ_s √(1 - (α_t σ_s / (α_s σ_t))²).

For a DDPM table this is exactly diffusers' ``DDIMScheduler`` (and, with ``η = 1``, ``DDPMScheduler``'s
posterior-variance step); ``η = 0`` equals exponential Euler on the ``data`` splitting.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from torch import Tensor

from sdesolve.random import randn
from sdesolve_diffusion.samplers.base import DiffusionSampler, SamplingContext, StepResult

__all__ = ["DDIM", "DDPM"]


def _check_eta(eta: Any) -> float:
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta < 0:
        raise ValueError(f"eta must be a finite number >= 0, got {eta!r}")
    return float(eta)


class _Ancestral(NamedTuple):
    alpha: list[float]
    sigma: list[float]
    eta: float


def _ancestral_init(ctx: SamplingContext, eta: float) -> _Ancestral:
    return _Ancestral(ctx.process.alpha(ctx.times).tolist(), ctx.process.sigma(ctx.times).tolist(), eta)


def _ancestral_step(ctx: SamplingContext, k: int, x: Tensor, st: _Ancestral) -> StepResult:
    t = float(ctx.times[k])
    x0, eps = ctx.adapter.data_and_eps(t, x)
    a_t, s_t, a_s, s_s = st.alpha[k], st.sigma[k], st.alpha[k + 1], st.sigma[k + 1]
    ratio = (a_t * s_s) / (a_s * s_t)
    nu = st.eta * s_s * math.sqrt(max(0.0, 1.0 - ratio * ratio))
    x = a_s * x0 + math.sqrt(max(s_s * s_s - nu * nu, 0.0)) * eps
    if nu > 0:
        x = x + nu * randn(x.shape, ctx.generator, x.device, x.dtype)
    return x, st, {"denoised": x0}


class DDIM(DiffusionSampler):
    """DDIM with stochasticity ``eta`` (0: deterministic, 1: DDPM's posterior variance). 1 NFE per step."""

    name = "ddim"
    nfe_per_step = 1
    order = 1.0
    default_grid = "uniform"
    summary = "DDIM (eta=0 deterministic; eta=1 is DDPM); diffusers DDIMScheduler's update"

    def init(self, ctx: SamplingContext, x: Tensor, *, eta: float = 0.0) -> _Ancestral:
        return _ancestral_init(ctx, _check_eta(eta))

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: _Ancestral) -> StepResult:
        return _ancestral_step(ctx, i, x, state)


class DDPM(DiffusionSampler):
    """Ancestral DDPM sampling. 1 NFE per step.

    ``variance="posterior"`` (default): the posterior variance ``β̃`` (diffusers ``fixed_small``), i.e. DDIM
    with ``η = 1``, on any process. ``variance="seeds"``: the lecture decks' update (Ho et al. / Li et al.)
    ``Y_s = (Y_t + (1 - a) ŝ(Y_t))/√a + √((1 - a)/a) z`` with ``a = ᾱ_t/ᾱ_s``; variance-preserving
    processes only.
    """

    name = "ddpm"
    stochastic = True
    nfe_per_step = 1
    order = 1.0
    default_grid = "uniform"
    summary = "DDPM ancestral sampling (posterior variance, or the seeds' beta form)"

    def init(self, ctx: SamplingContext, x: Tensor, *, variance: str = "posterior") -> Any:
        if variance == "posterior":
            return _ancestral_init(ctx, 1.0)
        if variance != "seeds":
            raise ValueError(f"variance must be 'posterior' or 'seeds', got {variance!r}")
        if not ctx.process.variance_preserving:
            raise ValueError("ddpm variance='seeds' needs a variance-preserving process (α² + σ² = 1)")
        return (2 * ctx.process.log_alpha(ctx.times)).tolist()  # log ᾱ on the grid

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: Any) -> StepResult:
        if isinstance(state, _Ancestral):
            return _ancestral_step(ctx, i, x, state)
        log_abar = state
        t = float(ctx.times[i])
        a = math.exp(log_abar[i] - log_abar[i + 1])
        score = ctx.adapter.score(t, x)
        x = (x + (1 - a) * score) / math.sqrt(a) + math.sqrt((1 - a) / a) * randn(
            x.shape, ctx.generator, x.device, x.dtype
        )
        return x, state, None
