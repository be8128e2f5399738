"""NFE at matched strong error on SDEs: adaptive sdesolve pairs vs fixed grids vs torchsde's adaptive sdeint, one run.

On SDE problems of ``sdesolve.conformance.problems`` (16 paths, float64, seed 0), every method is driven by the
**same** ``torchsde.BrownianInterval`` (solver time; with the space-time Lévy area, which torchsde's ``srk`` needs),
so the pathwise (strong) error is measured: RMS over paths of ``|x(t1) - x_ref|`` with ``x_ref`` torchsde ``srk``
(SRA1, strong order 1.5 for additive noise) at ``2^14`` steps on that path. Methods:

* sdesolve adaptive (``integrate(..., method, rtol=tol, atol=tol, bm=bm)``: batch-shared steps, the path
  re-queried after a rejection): ``heun`` (Euler–Maruyama embedded) and ``exponential_rk2`` (exponential Euler
  embedded), ``tol = 10^{-1}, 10^{-1.5}, …, 10^{-4.5}``;
* sdesolve fixed grids (the problem's own grid, ``n = 4, 6, 8, 11, 16, …`` steps): ``heun``,
  ``exponential_rk2``, ``euler_maruyama``;
* torchsde ``sdeint(..., adaptive=True, rtol=tol, atol=tol)`` with ``method="euler"`` and ``"srk"`` (torchsde
  estimates the error by step doubling: a step of ``dt`` against two of ``dt/2``), first ``dt`` = span/10.

NFE counts the evaluations of ``N`` (sdesolve) or of the drift ``f`` (torchsde), each over the whole batch. For every
target error the table shows the fewest NFE among the runs whose error is within the target (``—``: none reached);
then, per adaptive method, the least-squares slope of ``log error`` against ``log tol``.

    OMP_NUM_THREADS=1 python benchmarks/adaptive_sde.py [--problems a,b] [--targets 3e-2,1e-2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torchsde

from sdesolve import integrate
from sdesolve.conformance.problems import PROBLEMS
from sdesolve.reference import TorchsdeProblem, brownian_interval, sdeint_reference

TOLS = [10 ** (-k / 2) for k in range(2, 10)]
STEPS = sorted({max(4, round(2 ** (k / 2))) for k in range(4, 25)})
ADAPTIVE = ("heun", "exponential_rk2")
FIXED = ("heun", "exponential_rk2", "euler_maruyama")
PEERS = ("euler", "srk")


class _Counted(TorchsdeProblem):
    """The torchsde problem counting its drift evaluations."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.nfe = 0

    def f(self, s, y):
        self.nfe += 1
        return super().f(s, y)


def _setup(name: str, paths: int):
    p = PROBLEMS[name]
    sde = p.make(True)
    grid = p.grid(1)
    t0, t1 = float(grid[0]), float(grid[-1])
    x0 = p.initial(paths, torch.float64, "cpu", 0)
    bm = brownian_interval(torch.tensor([t0, t1], dtype=torch.float64), tuple(x0.shape), seed=1)
    ref = sdeint_reference(sde, x0, [t0, t1], bm, dt=abs(t1 - t0) / 2**14)
    return p, sde, t0, t1, x0, bm, ref


def _rms(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float(((x - ref) ** 2).flatten(1).sum(1).mean().sqrt())


def sweep(name: str, paths: int, budget_s: float) -> dict[str, list[tuple[int, float]]]:
    """``{method: [(nfe, strong error), …]}`` for one problem; a sweep stops once a run takes over ``budget_s``."""
    p, sde, t0, t1, x0, bm, ref = _setup(name, paths)
    out: dict[str, list[tuple[int, float]]] = {}
    sign = 1.0 if t1 > t0 else -1.0
    for m in ADAPTIVE:
        runs = out[f"sdesolve {m} (adaptive)"] = []
        for tol in TOLS:
            start = time.perf_counter()
            r = integrate(sde, x0, (t0, t1), m, rtol=tol, atol=tol, bm=bm, max_steps=10**6)
            runs.append((r.nfe, _rms(r.x, ref)))
            if time.perf_counter() - start > budget_s:
                break
    for m in FIXED:
        runs = out[f"sdesolve {m} (fixed grid)"] = []
        options = {"r": 1.0} if m == "exponential_rk2" else {}
        for n in STEPS:
            start = time.perf_counter()
            res = integrate(sde, x0, p.grid(n), m, bm=bm, **options)
            runs.append((res.nfe, _rms(res.x, ref)))
            if time.perf_counter() - start > budget_s:
                break
    span = torch.tensor([sign * t0, sign * t1], dtype=torch.float64)
    for m in PEERS:
        runs = out[f"torchsde {m} (adaptive)"] = []
        for tol in TOLS:
            problem = _Counted(sde, tuple(x0.shape[1:]), sign)
            start = time.perf_counter()
            ys = torchsde.sdeint(
                problem, x0, span, bm=bm, method=m, adaptive=True, rtol=tol, atol=tol, dt=abs(t1 - t0) / 10
            )
            runs.append((problem.nfe, _rms(ys[-1], ref)))
            if time.perf_counter() - start > budget_s:
                break
    return out


def slope(runs: list[tuple[int, float]]) -> float:
    """Least-squares slope of ``log error`` against ``log tol`` over an adaptive sweep (``TOLS`` in order)."""
    tols = np.log(TOLS[: len(runs)])
    return float(np.polyfit(tols, np.log([err for _, err in runs]), 1)[0])


def matched(runs: list[tuple[int, float]], target: float) -> int | None:
    ok = [nfe for nfe, err in runs if err <= target]
    return min(ok) if ok else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", default="linear_closed_form,ou_mixture_reverse")
    parser.add_argument("--targets", default="1e-1,3e-2,1e-2,3e-3")
    parser.add_argument("--paths", type=int, default=16)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds after which a sweep stops")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    targets = [float(v) for v in args.targets.split(",")]
    results = {}
    start = time.perf_counter()
    for name in args.problems.split(","):
        results[name] = sweep(name, args.paths, args.budget)
        print(f"\n{name} ({PROBLEMS[name].description}); fewest NFE with strong error <= target")
        print("| method | " + " | ".join(f"{t:g}" for t in targets) + " |")
        print("|---|" + "---|" * len(targets))
        for method, runs in results[name].items():
            cells = [matched(runs, t) for t in targets]
            print(f"| {method} | " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
        for method, runs in results[name].items():
            if "adaptive" in method:
                print(f"{method}: strong error vs tol, log-log slope {slope(runs):.2f} over {len(runs)} tolerances")
    print(f"\n{time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
