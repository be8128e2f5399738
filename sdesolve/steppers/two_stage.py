"""The two-stage exponential scheme behind ``exponential_rk2`` and ``randomized_midpoint``, written once.

One step ``t → t'`` places a stage at ``τ = t + f h`` and takes two exponential sub-steps on one Brownian path:

* ``x_τ = (Φ(t)/Φ(τ)) x + φ₁(t, τ) N(t, x) + η₁`` (exponential Euler to the stage),
* ``x' = (Φ(t)/Φ(t')) x + w₀ N(t, x) + w_τ N(τ, x_τ) + η₂``,

with ``η₁ = ∫_t^τ (Φ/Φ(τ)) g dW`` and ``η₂ = ∫_t^{t'} (Φ/Φ(t')) g dW`` drawn jointly (``ctx.noise.split``). A
subclass supplies the two things that differ:

* :meth:`TwoStageExponential.place`: where the stage is — the step's :class:`~sdesolve.coefficients.SplitWeights`
  (per-step numbers for a fixed fraction, per-sample ``(batch,)`` tensors for random fractions) and the stage's
  per-sample times;
* :meth:`TwoStageExponential.weigh`: ``(w₀, w_τ)`` — ``w₀`` the weight of ``N(t, x)`` (``None``: no such term),
  ``w_τ`` that of the stage's ``N`` (a number or a ``(batch,)`` tensor).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, NamedTuple

from torch import Tensor

from sdesolve.coefficients import SplitWeights
from sdesolve.steppers.base import SolveContext, Stepper, per_sample

__all__ = ["Stage", "TwoStageExponential"]


class Stage(NamedTuple):
    """Where a step's stage lies: its split weights and its per-sample times (shape ``(batch,)``)."""

    split: SplitWeights
    times: Tensor


def _scaled(x: Tensor, w: Any) -> Tensor:
    """``w x`` in a new tensor, ``w`` a number or a per-sample ``(batch,)`` tensor."""
    return x * per_sample(w, x) if isinstance(w, Tensor) else x.mul(w)


def _add_scaled(y: Tensor, v: Tensor, w: Any) -> Tensor:
    """``y += w v`` in place, ``w`` a number or a per-sample ``(batch,)`` tensor."""
    return y.addcmul_(v, per_sample(w, v)) if isinstance(w, Tensor) else y.add_(v, alpha=w)


class TwoStageExponential(Stepper):
    """Base of the two-stage exponential steppers: :meth:`place` the stage, :meth:`weigh` the two ``N``."""

    nfe_per_step = 2

    @abstractmethod
    def place(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> Stage:
        """The stage of step ``k`` (called before any ``N`` of the step; may draw from ``ctx.uniform``)."""

    @abstractmethod
    def weigh(self, ctx: SolveContext, k: int, stage: Stage, state: Any) -> tuple[Any, Any]:
        """``(w₀, w_τ)``: the weights of ``N(t, x)`` (``None`` for none) and of ``N(τ, x_τ)`` in ``x'``."""

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        c = ctx.coef
        stage = self.place(ctx, k, x, state)
        sw = stage.split
        n0 = ctx.nonlinear(ctx.time(k), x)
        xs = _scaled(x, sw.head_state_weight)
        _add_scaled(xs, n0, sw.head_phi1)
        eta2 = None
        if ctx.noise is not None:
            eta1, eta2 = ctx.noise.split(k, x, sw)
            xs.add_(eta1)
        ns = ctx.nonlinear(stage.times, xs)
        w0, ws = self.weigh(ctx, k, stage, state)
        y = x.mul(c.state_weight[k])
        if w0 is not None:
            y.add_(n0, alpha=w0)
        _add_scaled(y, ns, ws)
        if eta2 is not None:
            y.add_(eta2)
        return y, state
