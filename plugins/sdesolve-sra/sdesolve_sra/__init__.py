"""sdesolve plugin: Rößler's SRA1 for additive noise (strong order 1.5), declared as data.

Registered through the entry point ``[project.entry-points.sdesolve] sra = "sdesolve_sra"``; it uses only
sdesolve's public API (``hookimpl``, and the tableau types and stepper base of ``sdesolve.tableau``).
"""

from __future__ import annotations

from typing import Any

from sdesolve import hookimpl
from sdesolve.tableau import SRATableau, StochasticRungeKuttaSRA

__all__ = ["SRA1", "SRA1_TABLEAU"]

SRA1_TABLEAU = SRATableau(
    c0=(0.0, 0.75),
    A0=((), (0.75,)),
    B0=((), (1.5,)),
    c1=(1.0, 0.0),
    alpha=(1.0 / 3.0, 2.0 / 3.0),
    beta1=(1.0, 0.0),
    beta2=(-1.0, 1.0),
)
"""Rößler (2010), SRA1: deterministic stages at ``c0 = (0, 3/4)``, ``g`` read at ``c1 = (1, 0)``."""


class SRA1(StochasticRungeKuttaSRA):
    """SRA1 for ``dX = (a X + b N) dt + g(t) dW``, with ``F = a x + b N``, ``U = ∫ (W(s) - W(s_k)) ds``:

    ``H = x + (3/4) h F(t, x) + (3/2) g(t') U / |h|`` and
    ``x' = x + h (F(t, x)/3 + 2 F(t + 3h/4, H)/3) + g(t') (ΔW - U/|h|) + g(t) U/|h|``.

    Order 2 on ODEs (Ralston's method); strong order 1.5 and weak order 2 for additive noise; 2 NFE per
    step. Needs the space-time Lévy area (``needs_levy_area``): with ``bm``, pass a torchsde ``BrownianInterval``
    created with ``levy_area_approximation="space-time"`` (``sdesolve.reference.brownian_interval`` does); a path
    without it is refused before the first step. Matches torchsde's ``srk`` on the same path to round-off.
    """

    name = "sra1"
    tableau = SRA1_TABLEAU
    ode_order = 2.0
    strong_order = 1.5
    weak_order = 2.0
    nfe_per_step = 2
    needs_levy_area = True
    summary = "Rößler SRA1 stochastic Runge–Kutta, additive noise (plugin example)"


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(SRA1)
