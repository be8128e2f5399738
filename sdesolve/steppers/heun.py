"""Heun's method (EDM's second-order sampler step) and its stochastic variant for additive noise."""

from __future__ import annotations

from typing import Any

from sdesolve.adaptive import HeunEulerPair
from sdesolve.hookspecs import hookimpl
from sdesolve.tableau import HEUN, ExplicitRungeKutta


class Heun(ExplicitRungeKutta):
    """Predictor ``x̃ = x + h F(t, x) + g(t) ΔW``, corrector
    ``x' = x + h/2 (F(t, x) + F(t', x̃)) + (g(t) + g(t'))/2 ΔW`` with ``F = a x + b N``.

    Order 2 on ODEs; for additive noise (where Itô and Stratonovich agree) strong order 1, weak order 1.
    2 NFE per step. Declared as data: :data:`sdesolve.tableau.HEUN` (``c = (0, 1)``, ``A₂₁ = 1``,
    ``b = (1/2, 1/2)``), the same weights carrying ``g ΔW``. Adaptive steps (``rtol``/``atol``):
    :class:`~sdesolve.adaptive.HeunEulerPair` (Euler / Euler–Maruyama embedded; no options, so ``Heun()`` and
    ``"heun"`` give the same pair).
    """

    name = "heun"
    tableau = HEUN
    ode_order = 2.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 2
    summary = "Heun / EDM second order; stochastic Heun for additive noise"
    embedded_pair = HeunEulerPair


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(Heun)
