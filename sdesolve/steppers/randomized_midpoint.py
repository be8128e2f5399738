"""Randomized midpoint with exponential sub-steps (DDRaM)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext
from sdesolve.steppers.two_stage import Stage, TwoStageExponential

DISTRIBUTIONS = ("importance", "uniform")


class RandomizedMidpoint(TwoStageExponential):
    """DDRaM: a random time ``τ ∈ [t, t']`` per sample, then two exponential sub-steps.

    ``x_τ = (Φ(t)/Φ(τ)) x + w_f(t, τ) N(t, x) + η₁`` and
    ``x' = (Φ(t)/Φ(t')) x + W N(τ, x_τ) + η₂``, where ``η₁ = ∫_t^τ (Φ/Φ(τ)) g dW`` and
    ``η₂ = ∫_t^{t'} (Φ/Φ(t')) g dW`` are drawn jointly on one Brownian path (the paper's Lemma 2:
    ``η₂ = (Φ(τ)/Φ(t')) η₁ + std(τ, t') ξ``). With ``distribution="importance"`` (default) ``τ`` has density
    ``∝ Φ b`` on the step and ``W = w_f(t, t')``; with ``"uniform"``, ``W = h Φ(τ) b(τ)/Φ(t')``. Either way
    ``E_τ[W N(τ)] = ∫ (Φ b/Φ(t')) N``: the drift integral is estimated without bias. With importance
    sampling ``W`` does not depend on ``τ``, so the step is exact in law for frozen ``N``; the uniform
    weight varies with ``τ`` and adds variance (the Shen–Lee form).

    Orders: 1.5 on ODEs (RMS over ``τ``; the mean error is second order), strong order 1 and weak order 1
    for additive noise. 2 NFE per step. ``N`` receives per-sample times.

    A :class:`~sdesolve.steppers.two_stage.TwoStageExponential`: the stage at a per-sample random fraction, only
    the stage's ``N`` weighted (``w₀ = None``, ``w_τ = phi1`` or ``uniform_weight``).
    """

    name = "randomized_midpoint"
    ode_order = 1.5
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 2
    summary = "DDRaM randomized midpoint, exponential sub-steps, jointly sampled noise"

    def __init__(self, *, distribution: str = "importance") -> None:
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"randomized_midpoint option distribution must be one of {DISTRIBUTIONS}, got {distribution!r}"
            )
        self.distribution = distribution

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        if self.distribution == "importance":
            ctx.coef.check_importance("randomized_midpoint")
        return None

    def place(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> Stage:
        c = ctx.coef
        q = ctx.uniform(x)
        frac = c.importance_fraction(k, q) if self.distribution == "importance" else q
        split = c.split(k, frac)
        return Stage(split, ctx.time_at(k, split.frac))

    def weigh(self, ctx: SolveContext, k: int, stage: Stage, state: Any) -> tuple[Any, Any]:
        if self.distribution == "importance":
            return None, ctx.coef.phi1[k]
        return None, stage.split.uniform_weight


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(RandomizedMidpoint)
