"""NFE at matched error: adaptive sdesolve pairs vs fixed grids vs torchdiffeq dopri5/bosh3, in one run.

On the ODE problems of ``sdesolve.conformance.problems`` (batch 8, float64, seed 0), the error of a run is
``max |x(t1) - x_ref|`` over the batch, with ``x_ref`` the closed form where the problem has one, else torchdiffeq
dopri5 at ``rtol = atol = 1e-12``. Each method is swept (adaptive: ``rtol = atol = 10^{-2}, 10^{-2.5}, …, 10^{-7.5}``;
fixed grids: ``n = 2, 3, 4, 6, 8, 11, 16, …`` steps of the problem's own grid, up to 8192) and for every target
error the table shows the fewest NFE among the runs whose error is within the target (no interpolation; ``—``: no
run of the sweep reached it). torchdiffeq runs with ``options={"step_t": [t0, t1]}`` so that it steps to ``t1``
exactly, as sdesolve does (by default it steps past ``t1`` and interpolates, which made its ``bosh3`` 10x less
accurate at ``tol = 1e-6`` on linear_closed_form: 7.7e-5 instead of 5.5e-6 for 197 NFE).
NFE counts every evaluation of ``N`` (sdesolve) or of the drift (torchdiffeq),
the initial step-size selection included.

    OMP_NUM_THREADS=1 python benchmarks/adaptive_ode.py [--problems a,b] [--targets 1e-3,1e-5] [--json out.json]

``--proportionality`` prints instead ``error / tol`` at ``tol = rtol = atol = 1e-3 … 1e-6`` for each adaptive pair
(the figures of docs/adaptive.md; reference: torchdiffeq dopri5 at ``rtol = atol = 1e-10``, as in the tests) and
the host time per step of the exponential pair's coefficients.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torchdiffeq import odeint

from sdesolve import solve
from sdesolve.adaptive import PIController, solve_adaptive
from sdesolve.conformance.problems import PROBLEMS

TOLS = [10 ** (-k / 2) for k in range(4, 16)]
STEPS = sorted({max(2, round(2 ** (k / 2))) for k in range(2, 27)})
FIXED = {"exponential_rk2 (fixed grid)": ("exponential_rk2", 2), "heun (fixed grid)": ("heun", 2)}
ADAPTIVE = ("exponential_rk2", "heun", "bosh3")
PEERS = ("dopri5", "bosh3")


def _setup(name: str):
    p = PROBLEMS[name]
    sde = p.make(False)
    grid = p.grid(1)
    t0, t1 = float(grid[0]), float(grid[-1])
    x0 = p.initial(8, torch.float64, "cpu", 0)

    def drift(t, x):
        return sde.drift(t.expand(x.shape[0]), x)

    span = torch.tensor([t0, t1], dtype=torch.float64)
    if p.exact is not None:
        ref = p.exact(x0, t0, t1)
    else:
        ref = odeint(drift, x0, span, rtol=1e-12, atol=1e-12, method="dopri5")[-1]
    return p, sde, t0, t1, x0, drift, span, ref


def sweep(name: str, budget_s: float) -> dict[str, list[tuple[int, float]]]:
    """``{method: [(nfe, error), …]}`` for one problem; a sweep stops once a run takes over ``budget_s``."""
    p, sde, t0, t1, x0, drift, span, ref = _setup(name)
    runs: dict[str, list[tuple[int, float]]] = {}

    def err(x):
        return float((x - ref).abs().max())

    for m in ADAPTIVE:
        key = f"sdesolve adaptive {m}"
        runs[key] = []
        for tol in TOLS:
            tic = time.perf_counter()
            r = solve_adaptive(sde, x0, (t0, t1), m, rtol=tol, atol=tol, max_steps=10**6)
            runs[key].append((r.nfe, err(r.x)))
            if time.perf_counter() - tic > budget_s:
                break
    for key, (stepper, per_step) in FIXED.items():
        runs[key] = []
        for n in STEPS:
            tic = time.perf_counter()
            x = solve(sde, x0, p.grid(n), stepper)
            runs[key].append((per_step * n, err(x)))
            if time.perf_counter() - tic > budget_s:
                break
    for m in PEERS:
        key = f"torchdiffeq {m}"
        runs[key] = []
        for tol in TOLS:
            count = [0]

            def counted(t, x, count=count):
                count[0] += 1
                return drift(t, x)

            options = {"max_num_steps": 10**6, "step_t": span}  # step to t1 exactly, as sdesolve does
            x = odeint(counted, x0, span, rtol=tol, atol=tol, method=m, options=options)[-1]
            runs[key].append((count[0], err(x)))
    return runs


def matched(runs: list[tuple[int, float]], target: float) -> int | None:
    ok = [nfe for nfe, e in runs if e <= target]
    return min(ok) if ok else None


def proportionality(names: list[str]) -> None:
    """``error / tol`` per pair and tolerance (reference: dopri5 at 1e-10, as tests/test_adaptive.py)."""
    tols = (1e-3, 1e-4, 1e-5, 1e-6)
    print("| problem | pair | " + " | ".join(f"tol {t:.0e}" for t in tols) + " | spread | accepted/rejected at 1e-6 |")
    print("|---" * (len(tols) + 4) + "|")
    for name in names:
        _, sde, t0, t1, x0, drift, span, _ = _setup(name)
        ref = odeint(drift, x0, span, rtol=1e-10, atol=1e-10, method="dopri5")[-1]
        for m in ADAPTIVE:
            ratios = []
            for tol in tols:
                r = solve_adaptive(sde, x0, (t0, t1), m, rtol=tol, atol=tol)
                ratios.append(float((r.x - ref).abs().max()) / tol)
            cells = " | ".join(f"{v:.2f}" for v in ratios)
            print(f"| {name} | {m} | {cells} | {max(ratios) / min(ratios):.2f} | {r.n_accepted}/{r.n_rejected} |")
    if "ou_mixture_reverse" in names:
        _, sde, t0, t1, x0, *_ = _setup("ou_mixture_reverse")
        for pcoeff, icoeff in ((0.0, 1.0), (0.3, 0.4)):
            ctl = PIController(rtol=1e-6, atol=1e-6, pcoeff=pcoeff, icoeff=icoeff)
            r = solve_adaptive(sde, x0, (t0, t1), "bosh3", controller=ctl)
            print(
                f"ou_mixture_reverse bosh3 tol=1e-6 pcoeff={pcoeff} icoeff={icoeff}: "
                f"{r.n_accepted} accepted, {r.n_rejected} rejected, {r.nfe} NFE"
            )
    for name in names:
        _, sde, t0, t1, x0, *_ = _setup(name)
        r = solve_adaptive(sde, x0, (t0, t1), "exponential_rk2", rtol=1e-5, atol=1e-5)
        tic = time.perf_counter()
        r = solve_adaptive(sde, x0, (t0, t1), "exponential_rk2", rtol=1e-5, atol=1e-5)
        wall = time.perf_counter() - tic
        tic = time.perf_counter()
        h = solve_adaptive(sde, x0, (t0, t1), "heun", rtol=1e-5, atol=1e-5)
        wall_h = time.perf_counter() - tic
        how = type(sde.factor).__name__ if sde.factor is not None else "quadrature"
        steps, steps_h = r.n_accepted + r.n_rejected, h.n_accepted + h.n_rejected
        print(
            f"{name}: exponential_rk2 {1e3 * wall / steps:.2f} ms per attempted step, "
            f"heun {1e3 * wall_h / steps_h:.2f} ms (rtol=atol=1e-5, batch 8; integrating factor: {how})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", default="linear_closed_form,linear_backward,nonlinear_tv,ou_mixture_reverse")
    parser.add_argument("--targets", default="1e-3,1e-4,1e-5,1e-6")
    parser.add_argument("--budget", type=float, default=20.0, help="stop a sweep after a run longer than this (s)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--proportionality", action="store_true", help="print error/tol per pair instead")
    args = parser.parse_args()
    if args.proportionality:
        torch.set_num_threads(1)
        proportionality(args.problems.split(","))
        return
    targets = [float(v) for v in args.targets.split(",")]
    torch.set_num_threads(1)
    out = {}
    for name in args.problems.split(","):
        tic = time.perf_counter()
        runs = sweep(name, args.budget)
        out[name] = runs
        ref = "closed form" if PROBLEMS[name].exact is not None else "dopri5 rtol=atol=1e-12"
        print(f"\n### {name} (reference: {ref}; {time.perf_counter() - tic:.0f} s)\n")
        print("| method | " + " | ".join(f"NFE at error ≤ {t:.0e}" for t in targets) + " |")
        print("|---" * (len(targets) + 1) + "|")
        for key, r in runs.items():
            cells = [matched(r, t) for t in targets]
            print(f"| {key} | " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
