"""Accuracy per NFE of ``sa_solver`` (SA-Solver) against k-diffusion's stochastic samplers and diffusers' SASolver.

Every method starts from the same ``x_T`` (``pb.prior(n, seed)``: the exact ``p_T`` draw where the problem has one) at
``t = T`` of the lab problem's DDPM table and ends with the exact denoiser at the first timestep (ours:
``denoise=True``; k-diffusion: its last step to σ = 0; diffusers: one denoiser call after its last step, to the same
``t``), NFE counted by the lab's model wrapper. Each row is the mean over ``--seeds`` seeds of the problem's metric
(W1 against exact quantiles for ``sharp1d``, sliced W1 otherwise, Fréchet distance for ``digits``).

    OMP_NUM_THREADS=1 python benchmarks/sa_solver.py --problem sharp1d --n 100000 --seeds 2
    OMP_NUM_THREADS=1 python benchmarks/sa_solver.py --problem gmm --n 10000 --seeds 2
    OMP_NUM_THREADS=1 python benchmarks/sa_solver.py --problem subspace_mixture --dim 64 --n 4000 --seeds 2
    OMP_NUM_THREADS=1 python benchmarks/sa_solver.py --problem digits --n 2000 --seeds 2

``--configs`` adds the exploratory rows (orders, variant, clock, τ) that chose the recipe's defaults.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from sdesolve_lab.methods import diffusers_sa_solver_method, kdiffusion_method, mean_error, our_method
from sdesolve_lab.peers import load_kdiffusion_sampling
from sdesolve_lab.problem import make_problem

DEFAULTS = [("sa_solver", {}), ("sa_solver", {"grid": "edm"}), ("dpm_solver_pp_3m_sde", {})]  # the recipes as shipped
CONFIGS = [  # (sampler, options): exploratory rows
    ("sa_solver", {"predictor_order": 2, "corrector_order": 2}),
    ("sa_solver", {"predictor_order": 2, "corrector_order": 3}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 3}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 2}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 4}),
    ("sa_solver", {"predictor_order": 4, "corrector_order": 4}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 3, "variant": "bh1"}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 3, "lower_order_final": True}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 3, "clock": "log_snr"}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 3, "clock": "time"}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 0}),
    ("sa_solver", {"predictor_order": 3, "corrector_order": 3, "eta": 0.7}),
]
KD_PEERS = ("dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde", "euler_ancestral", "dpm_2_ancestral")
# diffusers' SASolverScheduler, as the lab runs it (sdesolve_lab.methods.DIFFUSERS_SA_SOLVER): its defaults (orders
# 2/2, τ = 1 only for timesteps 200-800), and τ = 1 throughout with the paper's orders 3/3 on its Karras noise levels
DIFFUSERS = {
    "diffusers:SASolver (defaults)": "diffusers:SASolver",
    "diffusers:SASolver p3 c3 tau=1 karras": "diffusers:SASolver@karras-p3c3",
}


def _label(sampler: str, options: dict) -> str:
    return " ".join([sampler, *(f"{k}={v}" for k, v in options.items())])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", default="sharp1d", help="sharp1d, gmm, subspace_mixture, digits")
    parser.add_argument("--dim", type=int, help="the problem's dimension (default: the lab's)")
    parser.add_argument("--nfe", type=int, nargs="+", default=[10, 20, 40, 80])
    parser.add_argument("--n", type=int, default=10_000, help="samples per run")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--configs", action="store_true", help="also the exploratory configurations")
    parser.add_argument("--fast-peers", action="store_true", help="leave out the peers that never lead")
    parser.add_argument("--only", nargs="+", help="run only the methods whose name contains one of these")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    pb = make_problem(args.problem, args.dim)
    metric = pb.metric(args.n, 0)
    specs = DEFAULTS + (CONFIGS if args.configs else [])
    methods = {f"sdesolve:{_label(sampler, options)}": our_method(sampler, **options).run for sampler, options in specs}
    if load_kdiffusion_sampling() is not None:
        methods |= {f"k-diffusion:{name}": kdiffusion_method(name, step_noise="m_sde" in name).run for name in KD_PEERS}
        methods |= {
            f"k-diffusion:{name} (logsnr grid)": kdiffusion_method(name, grid="logsnr", step_noise=True).run
            for name in ("dpmpp_2m_sde", "dpmpp_3m_sde")
        }
    methods |= {name: diffusers_sa_solver_method(lab).run for name, lab in DIFFUSERS.items()}
    if args.fast_peers:  # measured never best on any problem (docs/benchmarks.md): dpmpp_sde's tree is the slow one
        methods = {k: v for k, v in methods.items() if "ancestral" not in k}
    if args.only:
        methods = {k: v for k, v in methods.items() if any(o in k for o in args.only)}
    start = time.perf_counter()
    rows = []
    for name, run in methods.items():
        for budget in args.nfe:
            error, nfe = mean_error(run, pb, metric, budget, args.n, args.seeds)
            rows.append({"method": name, "budget": budget, "nfe": nfe, "error": error})
            print(f"{name:72s} NFE {nfe:3d}  error {error:.5f}", flush=True)
    print(f"\n{pb.description}; {args.n} samples, mean of {args.seeds} seeds; {metric.name}, floor {metric.floor:.5f}")
    machine = platform.processor() or platform.machine()
    print(f"{machine}, torch {torch.__version__}, {time.perf_counter() - start:.0f} s")
    print("\n| NFE | sa_solver (defaults) | best other peer | error | ratio (peer / ours) |")
    print("|---|---|---|---|---|")
    for budget in args.nfe:
        at = {r["method"]: r for r in rows if r["budget"] == budget}
        ours = at.get("sdesolve:sa_solver")
        peers = [r for name, r in at.items() if not name.startswith("sdesolve:")]
        if ours is None or not peers:
            continue
        peer = min(peers, key=lambda r: r["error"])
        print(
            f"| {budget} | {ours['error']:.5f} | {peer['method']} | {peer['error']:.5f} "
            f"| {peer['error'] / ours['error']:.2f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"floor": metric.floor, "n": args.n, "seeds": args.seeds, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
