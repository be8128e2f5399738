"""Write a custom integrator, register it as a plugin, and let the conformance suite check its declared orders.

    python examples/custom_integrator_plugin.py [--quick]

The stepper is Ralston's second-order Runge–Kutta method with an additive-noise term (strong order 1): the same
pattern as the packaged example plugin ``plugins/sdesolve-sra`` (docs/plugins.md walks through it), registered here
at run time with ``sdesolve.register_plugin`` instead of an entry point.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch

import sdesolve
from sdesolve import SolveContext, Stepper, hookimpl
from sdesolve.conformance import run_conformance


class Ralston(Stepper):
    """``k1 = F(t, x)``, ``k2 = F(t + 2h/3, x + 2h k1/3)``, ``x' = x + h (k1/4 + 3 k2/4) + g(t) ΔW``."""

    name = "ralston"
    ode_order = 2.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 2
    summary = "Ralston RK2 with an Euler noise term (tutorial example)"

    def init(self, ctx: SolveContext, x0: torch.Tensor) -> Any:
        c = ctx.coef
        stage = c.ts[:-1] + (2.0 / 3.0) * (c.ts[1:] - c.ts[:-1])  # float64, once per grid
        return ctx.sde.linear(stage).tolist(), ctx.sde.weight(stage).tolist(), stage.to(x0.device, x0.dtype)

    def step(self, ctx: SolveContext, k: int, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        c = ctx.coef
        a_stage, b_stage, stage_times = state
        h = c.h[k]
        k1 = ctx.nonlinear(ctx.time(k), x).mul(c.b0[k]).add_(x, alpha=c.a0[k])
        mid = torch.add(x, k1, alpha=2.0 * h / 3.0)
        k2 = ctx.nonlinear(stage_times[k].expand(ctx.batch), mid).mul(b_stage[k]).add_(mid, alpha=a_stage[k])
        y = torch.add(x, k1, alpha=0.25 * h)
        y.add_(k2, alpha=0.75 * h)
        if ctx.noise is not None:
            y.add_(ctx.noise.increment(k, x), alpha=c.g0[k])
        return y, state


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
