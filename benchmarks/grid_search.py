"""Optimised time grids (issue 11, goal 3): the EDM ρ = 7 grid against the grid ``optimize_grid`` returns for it.

On the lab's problems (``sdesolve_lab.problem.make_problem``: DDPM linear table, exact scores), for each sampler and
NFE budget (``steps = (NFE − 1) // nfe_per_step`` plus the final denoiser at ``t = 1``, as ``sdesolve compare``
counts): ``optimize_grid`` from the EDM grid on a calibration batch (``--calibration`` draws of the problem's prior,
seed ``seed + 1000``), then both grids (and the sampler's own default grid where it is not ``edm``, for scale)
measured by the *true* metrics on held-out draws (other seeds):

* deterministic samplers: the distance to the exact flow from the same start (torchdiffeq dopri5, rtol 1e-9,
  restarted at every whole timestep, then the exact denoiser), RMS and mean over ``--paths`` starts (seed ``seed``),
  and the problem's distribution error (its metric on ``n`` samples, seed ``seed``); the JSON also holds the share
  of the squared flow distance carried by the worst 1 % of starts (``flow_top1pct_share_*``);
* stochastic samplers: the problem's distribution error (mean over ``--repeats`` runs on ``n`` samples, seeds
  ``seed + 1 …``, with the metric's noise floor), and the strong error on a held-out Brownian path (the proxy on
  ``--paths`` held-out starts: does the calibration generalise).

A gain is ``EDM error / optimised error``; ≥ 1.2× is a gain, below is a tie (docs/benchmarks.md).

    OMP_NUM_THREADS=1 python benchmarks/grid_search.py          # gmm and sharp1d, NFE 10/20/40 (docs/benchmarks.md)
    OMP_NUM_THREADS=1 python benchmarks/grid_search.py --problems subspace_mixture \
        --samplers dpm_solver_pp_2m,dpm_solver_pp_2m_sde --nfe 10,20
    OMP_NUM_THREADS=1 python benchmarks/grid_search.py --quick  # gmm, NFE 10, 256 draws, 60 runs
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from sdesolve_diffusion.grid_search import GridObjective, optimize_grid
from sdesolve_lab.problem import DEFAULTS, make_problem

import sdesolve
from sdesolve.reference import odeint_reference

F64 = torch.float64


def flow_reference(pb, x_T: torch.Tensor) -> torch.Tensor:
    """The exact probability-flow solution from ``x_T``, finished with the exact denoiser (as the lab's compare)."""
    ad = pb.adapter(pb.model())
    jumps = torch.arange(int(pb.t_end), int(pb.t_max), dtype=F64)
    rtol = pb.reference_rtol
    x = odeint_reference(
        pb.process.sde(ad, "score", eta=0.0),
        x_T,
        [pb.t_max, pb.t_end],
        rtol=rtol,
        atol=rtol / 100,
        options={"jump_t": jumps},
    )
    return ad.data(pb.t_end, x)


def sample(pb, sampler: str, x_T: torch.Tensor, grid: torch.Tensor, seed: int) -> torch.Tensor:
    return sdesolve.sample(
        pb.model(),
        x_T,
        sampler,
        process=pb.process,
        grid=grid,
        denoise=True,
        generator=torch.Generator().manual_seed(seed),
    )


def run_case(pb, sampler: str, nfe: int, args, metric, flow: tuple | None) -> dict:
    smp = sdesolve.registry().get("sampler", sampler)
    steps = max(1, (nfe - 1) // int(smp.nfe_per_step))
    calibration = pb.prior(args.calibration, args.seed + 1000)
    start = time.perf_counter()
    res = optimize_grid(
        pb.model(),
        sampler,
        steps,
        calibration=calibration,
        process=pb.process,
        init="edm",
        grid_options={"t_min": pb.t_end},
        seed=args.seed,
        max_evals=args.max_evals,
        statistic=args.statistic,
        basis=args.basis,
        denoise=True,
    )
    seconds = time.perf_counter() - start
    grids = {"edm": res.initial_grid, "optimised": res.grid}
    if smp.default_grid != "edm":  # the sampler's own default (unipc: logsnr), for scale
        grids["default"] = sdesolve.registry().get("grid", smp.default_grid)(pb.process, steps, t_min=pb.t_end)
    out: dict = {
        "problem": pb.name,
        "sampler": sampler,
        "stochastic": smp.stochastic,
        "nfe": nfe,
        "steps": steps,
        "proxy_edm": res.initial_proxy,
        "proxy_optimised": res.proxy,
        "reference_error": res.reference_error,
        "evaluations": res.evaluations,
        "search_seconds": seconds,
        "grid": res.grid.tolist(),
        "sigmas": pb.process.edm_sigma(res.grid).tolist(),
    }
    n = metric.n
    if not smp.stochastic:
        x_paths, ref = flow
        for name, g in grids.items():
            d = (sample(pb, sampler, x_paths, g, args.seed).to(F64) - ref).flatten(1).norm(dim=1)
            out[f"flow_rms_{name}"] = float(d.pow(2).mean().sqrt())
            worst = d.pow(2).sort(descending=True).values
            out[f"flow_top1pct_share_{name}"] = float(worst[: max(1, d.numel() // 100)].sum() / worst.sum())
            out[f"flow_mean_{name}"] = float(d.mean())
            out[f"distribution_{name}"] = metric(sample(pb, sampler, pb.prior(n, args.seed), g, args.seed))
    else:
        held = GridObjective(
            pb.model(),
            sampler,
            calibration=pb.prior(args.paths, args.seed),
            process=pb.process,
            t_max=float(res.grid[0]),
            t_min=float(res.grid[-1]),
            reference_steps=res.reference_steps,
            reference_grid="edm",
            seed=args.seed + 500,
            statistic=res.statistic,
            denoise=True,
        )
        for name, g in grids.items():
            out[f"strong_heldout_{name}"] = held(g)
            errs = [
                metric(sample(pb, sampler, pb.prior(n, args.seed + r), g, args.seed + r))
                for r in range(1, args.repeats + 1)
            ]
            out[f"distribution_{name}"] = sum(errs) / len(errs)
    return out


def _default(row: dict, key: str) -> str:
    if f"{key}_default" not in row:
        return "-"
    name = sdesolve.registry().get("sampler", row["sampler"]).default_grid
    return f"{name}: {row[f'{key}_default']:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", default="gmm,sharp1d")
    ap.add_argument("--samplers", default="dpm_solver_pp_2m,unipc,dpm_solver_pp_2m_sde")
    ap.add_argument("--nfe", default="10,20,40")
    ap.add_argument("--calibration", type=int, default=1000, help="calibration draws (default 1000)")
    ap.add_argument("--paths", type=int, default=2000, help="held-out starts for the flow/strong distances")
    ap.add_argument("--repeats", type=int, default=2, help="runs averaged for an SDE's distribution error")
    ap.add_argument("--max-evals", type=int, default=250)
    ap.add_argument("--statistic", default="mean", choices=("mean", "rms"), help="the proxy (default mean)")
    ap.add_argument("--basis", type=int, default=6, help="smooth directions of the search (0: free form)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="write the rows to this file")
    args = ap.parse_args()
    args.basis = args.basis or None
    if args.quick:
        args.problems, args.nfe, args.calibration, args.paths, args.max_evals = "gmm", "10", 256, 256, 60
    rows = []
    for problem in args.problems.split(","):
        pb = make_problem(problem)
        metric = pb.metric(DEFAULTS[problem]["n"], args.seed)
        flow = None
        samplers = args.samplers.split(",")
        if any(not sdesolve.registry().get("sampler", s).stochastic for s in samplers):
            x_paths = pb.prior(args.paths, args.seed)
            flow = (x_paths, flow_reference(pb, x_paths))
        for sampler in samplers:
            for nfe in (int(v) for v in args.nfe.split(",")):
                row = run_case(pb, sampler, nfe, args, metric, flow)
                row["floor"] = metric.floor
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k not in ("grid", "sigmas")}), flush=True)
    print()
    print(
        "| problem | sampler | NFE | evals | proxy EDM → opt. | true metric | EDM ρ=7 | optimised | gain | verdict "
        "| sampler's default grid |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        metrics = (
            [("flow RMS", "flow_rms"), ("flow mean", "flow_mean"), ("distribution", "distribution")]
            if not r["stochastic"]
            else [("distribution", "distribution"), ("strong (held-out)", "strong_heldout")]
        )
        for label, key in metrics:
            a, b = r[f"{key}_edm"], r[f"{key}_optimised"]
            gain = a / b if b > 0 else float("inf")
            verdict = "gain" if gain >= 1.2 else ("loss" if gain <= 1 / 1.2 else "tie")
            if key == "distribution" and max(a, b) <= 1.5 * r["floor"]:
                verdict = "tie (floor)"
            print(
                f"| {r['problem']} | {r['sampler']} | {r['nfe']} | {r['evaluations']} | "
                f"{r['proxy_edm']:.3g} → {r['proxy_optimised']:.3g} | {label} | {a:.3g} | {b:.3g} | {gain:.2f}× | "
                f"{verdict} | {_default(r, key)} |"
            )
    machine = (
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"\nmachine: {machine}; floors: " + ", ".join(sorted({f"{r['problem']} {r['floor']:.3g}" for r in rows})))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "machine": machine, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
