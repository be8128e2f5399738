"""Randomized midpoint at one evaluation per step: the stage's predictor reuses the previous step's evaluations."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext, Stepper, per_sample
from sdesolve.steppers.randomized_midpoint import DISTRIBUTIONS

PREDICTORS = ("previous", "extrapolate")
STARTS = ("zero", "fresh")
#: the extrapolation's per-sample factor ``(m - τ₁)/(τ₁ - τ₂)`` is clipped to ``[0, MAX_RATIO]``: two random stage
#: times can lie arbitrarily close, and a line through them would amplify their difference without bound
MAX_RATIO = 2.0


class _History(NamedTuple):
    """The last evaluation ``N(τ₁, x_τ₁)`` and, for ``predictor="extrapolate"``, the one before (``None`` if none);
    times per sample, shape ``(batch,)``."""

    last: Tensor
    last_time: Tensor
    before: Tensor | None
    before_time: Tensor | None


class RandomizedMidpointMultistep(Stepper):
    """DDRaM at 1 NFE per step: the stage ``x_τ`` is predicted with the previous step's evaluation(s).

    ``x_τ = (Φ(t)/Φ(τ)) x + w_f(t, τ) Ñ + η₁`` and ``x' = (Φ(t)/Φ(t')) x + W N(τ, x_τ) + η₂``, with ``τ``, ``W``
    and the jointly drawn ``η₁, η₂`` exactly as in ``randomized_midpoint``; only the predictor ``Ñ`` differs: not a
    fresh ``N(t, x)`` but

    * ``predictor="previous"`` (default): the last evaluation ``N(τ₁, x_τ₁)``, made at the previous step's stage;
    * ``predictor="extrapolate"``: the line through the last two evaluations (per sample, in the problem's time),
      read at the head's midpoint ``(t + τ)/2``; its factor is clipped to ``[0, 2]`` (two random stage times may
      lie arbitrarily close), the first steps use ``previous``.

    The evaluation at ``τ`` is the next step's history. The first step has none: ``start="fresh"`` (default)
    evaluates ``N(t₀, x₀)`` once (one extra NFE in the whole solve), ``start="zero"`` predicts with ``Ñ = 0``.

    Orders as ``randomized_midpoint`` (the stale predictor costs ``O(h)`` in ``Ñ``, ``O(h²)`` in ``x_τ``, as the
    frozen ``N(t, x)`` does): 1.5 on ODEs (RMS over ``τ``), strong and weak order 1 for additive noise. 1 NFE per
    step (plus one with ``start="fresh"``).
    """

    name = "randomized_midpoint_ms"
    ode_order = 1.5
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 1
    summary = "DDRaM at 1 NFE per step: the stage is predicted from the previous step's evaluation(s)"

    def __init__(self, *, distribution: str = "importance", predictor: str = "previous", start: str = "zero") -> None:
        for option, value, allowed in (
            ("distribution", distribution, DISTRIBUTIONS),
            ("predictor", predictor, PREDICTORS),
            ("start", start, STARTS),
        ):
            if value not in allowed:
                raise ValueError(f"randomized_midpoint_ms option {option} must be one of {allowed}, got {value!r}")
        self.distribution, self.predictor, self.start = distribution, predictor, start

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        if self.distribution == "importance":
            ctx.coef.check_importance("randomized_midpoint_ms")
        return None

    def _predict(self, ctx: SolveContext, k: int, x: Tensor, head_end: Tensor, state: Any) -> Tensor | None:
        """``Ñ`` for the head ``t_k → τ`` (``None``: zero)."""
        if state is None:  # start="zero"
            return None
        if self.predictor == "previous" or state.before is None:
            return state.last
        t64 = torch.float64
        middle = 0.5 * (ctx.coef.times[k].to(t64) + head_end.to(t64))
        gap = state.last_time.to(t64) - state.before_time.to(t64)
        ratio = torch.where(gap != 0, (middle - state.last_time.to(t64)) / torch.where(gap != 0, gap, 1.0), 0.0)
        ratio = per_sample(ratio.clamp(0.0, MAX_RATIO).to(x.dtype), x)
        return state.last + ratio * (state.last - state.before)

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        c = ctx.coef
        q = ctx.uniform(x)
        frac = c.importance_fraction(k, q) if self.distribution == "importance" else q
        sw = c.split(k, frac)
        times = ctx.time_at(k, sw.frac)
        if state is None and self.start == "fresh":
            n0 = ctx.nonlinear(ctx.time(k), x)
            state = _History(n0, ctx.time(k), None, None)
        predicted = self._predict(ctx, k, x, times, state)
        xs = x * per_sample(sw.head_state_weight, x)
        if predicted is not None:
            xs.addcmul_(predicted, per_sample(sw.head_phi1, x))
        eta2 = None
        if ctx.noise is not None:
            eta1, eta2 = ctx.noise.split(k, x, sw)
            xs.add_(eta1)
        ns = ctx.nonlinear(times, xs)
        y = x.mul(c.state_weight[k])
        if self.distribution == "importance":
            y.add_(ns, alpha=c.phi1[k])
        else:
            y.addcmul_(ns, per_sample(sw.uniform_weight, x))
        if eta2 is not None:
            y.add_(eta2)
        if self.predictor == "extrapolate" and state is not None:
            return y, _History(ns, times, state.last, state.last_time)
        return y, _History(ns, times, None, None)


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(RandomizedMidpointMultistep)
