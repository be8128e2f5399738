"""Write a custom integrator, register it as a plugin, and let the conformance suite check its declared orders.

    python examples/custom_integrator_plugin.py [--quick]

The stepper is Ralston's second-order Runge–Kutta method with an additive-noise term (strong order 1), declared as
data: a Butcher tableau run by ``sdesolve.tableau.ExplicitRungeKutta``. The same pattern as the packaged example
plugin ``plugins/sdesolve-sra`` (an ``SRATableau``; docs/plugins.md walks through it), registered here at run time
with ``sdesolve.register_plugin`` instead of an entry point.
"""

from __future__ import annotations

import argparse
from typing import Any

import sdesolve
from sdesolve import hookimpl
from sdesolve.conformance import run_conformance
from sdesolve.tableau import AdditiveNoise, ButcherTableau, ExplicitRungeKutta

RALSTON = ButcherTableau(c=(0.0, 2.0 / 3.0), A=((), (2.0 / 3.0,)), b=(0.25, 0.75))


class Ralston(ExplicitRungeKutta):
    """``k1 = F(t, x)``, ``k2 = F(t + 2h/3, x + 2h k1/3)``, ``x' = x + h (k1/4 + 3 k2/4) + g(t) ΔW``.

    Declared as data: Ralston's tableau, with the noise added once, Euler-style (``AdditiveNoise.euler``).
    """

    name = "ralston"
    tableau = RALSTON
    noise = AdditiveNoise.euler(2)
    ode_order = 2.0
    strong_order = 1.0
    weak_order = 1.0
    summary = "Ralston RK2 with an Euler noise term (tutorial example)"


class RalstonPlugin:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        register(Ralston)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer grids and paths")
    args = parser.parse_args()
    sdesolve.register_plugin(RalstonPlugin(), name="ralston-example")
    print(f"registered: {sorted(sdesolve.steppers())}")
    results = run_conformance(["ralston"], quick=args.quick)
    for r in results:
        verdict = "PASS" if r.passed else "FAIL"
        print(f"{r.stepper:8s} {r.problem:20s} {r.kind:6s} declared {r.declared:g} measured {r.measured:.2f} {verdict}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
