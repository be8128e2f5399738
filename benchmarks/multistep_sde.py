"""Accuracy per NFE of the exponential multistep samplers against k-diffusion's best stochastic samplers.

The lab's default problem (``sdesolve_lab.problem.make_problem()``: a 4-component Gaussian mixture in d = 16 under the
DDPM linear table, exact scores), sliced W1 against the exact projected quantiles (``sdesolve_lab.metrics.SlicedW1``,
64 projections), every method started from the same ``x_T ~ N(0, I)`` at ``t = T`` and finished with the exact
denoiser at the first timestep; NFE counted by the lab's model wrapper. Each row is the mean over ``--seeds`` seeds
(seed s: ``x_T`` from ``pb.prior(n, s)``, our generator and k-diffusion's global seed ``s + budget``).

    OMP_NUM_THREADS=1 python benchmarks/multistep_sde.py            # the table in docs/benchmarks.md
    OMP_NUM_THREADS=1 python benchmarks/multistep_sde.py --quick    # 2000 samples, 1 seed

``--problem sharp1d`` (or ``subspace_mixture``, ``digits``) runs the same rows on one of the lab's harder problems
with its own metric (``problem.metric_factory``) and exact ``p_T`` start where the problem has one; ``--step-noise``
draws k-diffusion's 2M/3M SDE increments with ``randn`` instead of its Brownian tree (the same law, as the lab does).

    OMP_NUM_THREADS=1 python benchmarks/multistep_sde.py --problem sharp1d --n 100000 --seeds 2 --step-noise
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from sdesolve_lab.methods import _diffusers, kdiffusion_method, mean_error, our_method
from sdesolve_lab.metrics import strong_error
from sdesolve_lab.peers import load_kdiffusion_sampling
from sdesolve_lab.problem import make_problem

import sdesolve
from sdesolve.dtypes import F64
from sdesolve.reference import odeint_reference

EXACT = {"start": "corrected", "curvature": 1.0}  # exponential_ab3's exact quadratic, third-order start
KD = {"start": "lower_order", "curvature": 0.5}  # DPM-Solver++(3M) as k-diffusion writes it
# the grid the docs' tables of this script were measured on (the recipes' default until 2026-11-27)
EDM = {"grid": "edm"}
OURS = [  # (sampler, options): every option that matters is explicit, so the rows do not depend on the defaults
    ("dpm_solver_pp_2m_sde", {"clock": "sigma", **EDM}),
    ("dpm_solver_pp_2m_sde", {"clock": "log_snr", **EDM}),
    ("dpm_solver_pp_2m_sde", {"clock": "time", **EDM}),
    ("dpm_solver_pp_3m_sde", {"clock": "sigma", **EXACT, **EDM}),
    ("dpm_solver_pp_3m_sde", {"clock": "log_snr", **EXACT, **EDM}),
    ("dpm_solver_pp_3m_sde", {"clock": "log_snr", **KD, **EDM}),
    ("dpm_solver_pp_3m_sde", {"clock": "time", **EXACT, **EDM}),
    ("dpm_solver_pp_3m_sde", {"clock": "sigma", "eta": 0.5, **EXACT, **EDM}),  # less noise: exact scores only
    # the recipes as shipped (grid logsnr, clock "auto"): the summary's "best ours (defaults)" comes from these
    ("dpm_solver_pp_2m_sde", {}),
    ("dpm_solver_pp_3m_sde", {}),
]
ODE_OURS = [
    ("dpm_solver_pp_3m", {"clock": "sigma", **EXACT}),
    ("dpm_solver_pp_3m", {"clock": "log_snr", **EXACT}),
    ("dpm_solver_pp_3m", {"clock": "log_snr", **KD}),
    ("dpm_solver_pp_3m", {"clock": "time", **EXACT}),
]
PEERS = ("dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde")
MORE_PEERS = ("euler_ancestral", "dpm_2_ancestral")  # with --problem: every k-diffusion SDE sampler


def _ours(sampler: str, options: dict):
    """``run(pb, x_T, budget, seed)``: the lab's runner of ``sampler`` with ``options``
    (:func:`sdesolve_lab.methods.our_method`)."""
    return our_method(sampler, **options).run


def _is_default(sampler: str, options: dict) -> bool:
    """Whether ``options`` are the sampler's defaults (the summary's "ours" is the best default row)."""
    cls = sdesolve.registry().items["sampler"][sampler]
    defaults = {**cls.options(), "grid": cls.default_grid}
    return all(defaults[k] == v for k, v in options.items())


def _label(sampler: str, options: dict) -> str:
    return " ".join([sampler, *(f"{k}={v}" for k, v in options.items())])


def ode_table(nfes: list[int], paths: int) -> None:
    """Deterministic samplers: RMS distance to the exact probability-flow ODE solution from the same x_T (torchdiffeq
    dopri5, rtol 1e-9, restarted at every timestep, as ``sdesolve compare`` does), finished with the denoiser."""
    pb = make_problem()
    x_T = pb.prior(paths, 1)
    ad = pb.adapter(pb.model())
    jumps = torch.arange(int(pb.t_end), int(pb.t_max), dtype=F64)
    flow = odeint_reference(
        pb.process.sde(ad, "score", eta=0.0),
        x_T,
        [pb.t_max, pb.t_end],
        rtol=1e-9,
        atol=1e-11,
        options={"jump_t": jumps},
    )
    ref = ad.data(torch.full((paths,), pb.t_end, dtype=F64), flow)
    methods = {f"sdesolve:{_label(*spec)}": _ours(*spec) for spec in ODE_OURS}
    kd = load_kdiffusion_sampling()
    if kd is not None:
        methods["k-diffusion:dpmpp_2m"] = kdiffusion_method("dpmpp_2m").run
    for cls in ("DPMSolverMultistepScheduler", "UniPCMultistepScheduler"):
        methods[f"diffusers:{cls.removesuffix('Scheduler')}"] = _diffusers(cls, False).run
    print(f"{pb.description}; RMS distance to the exact flow, {paths} paths")
    for name, run in methods.items():
        errs = []
        for budget in nfes:
            x, nfe = run(pb, x_T, budget, 0)
            errs.append(f"{nfe:3d}: {strong_error(x, ref):.2e}")
        print(f"{name:64s} " + "  ".join(errs), flush=True)


def peer_differences() -> None:
    """Largest differences to k-diffusion's 2M SDE / 3M SDE on the same noise (the peer test's setting: ``edm``, 11
    Karras steps from σ = 80 to 0.002 then the denoiser, 64 samples of a 2-D three-component mixture)."""
    from sdesolve_diffusion import GaussianMixture

    kd = load_kdiffusion_sampling()
    mix = GaussianMixture(
        torch.tensor([[-1.0, 0.5], [1.0, -0.3], [0.2, 1.2]]),
        torch.tensor([[0.3**2, 0.5**2], [0.4**2, 0.2**2], [0.25**2, 0.25**2]]),
        torch.tensor([0.5, 0.3, 0.2]),
    )
    proc = sdesolve.registry().get("process", "edm")
    den = mix.model(proc, "edm")
    ramp = torch.linspace(0, 1, 12, dtype=F64)
    sigmas = (80 ** (1 / 7) + ramp * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * 80

    def theirs(name, eta, **kw):
        gen = torch.Generator().manual_seed(3)
        noise = lambda s, sn: torch.randn(x_T.shape, generator=gen, dtype=F64)  # noqa: E731
        full = torch.cat([sigmas, sigmas.new_zeros(1)])
        return getattr(kd, name)(den, x_T.clone(), full, disable=True, eta=eta, noise_sampler=noise, **kw)

    def ours(name, eta, **kw):
        gen = torch.Generator().manual_seed(3)
        opts = dict(process=proc, prediction="edm", grid=sigmas, denoise=True, generator=gen, eta=eta)
        return sdesolve.sample(den, x_T, name, **opts, **kw)

    kd_3m = {"clock": "log_snr", **KD}
    cases = [
        ("2m_sde clock=log_snr vs heun", "dpm_solver_pp_2m_sde", {"clock": "log_snr"}, "sample_dpmpp_2m_sde", "heun"),
        ("2m_sde clock=log_snr vs midpoint", "dpm_solver_pp_2m_sde", {"clock": "log_snr"}, "sample_dpmpp_2m_sde", None),
        ("2m_sde clock=time vs heun", "dpm_solver_pp_2m_sde", {"clock": "time"}, "sample_dpmpp_2m_sde", "heun"),
        ("3m_sde k-diffusion form vs 3m_sde", "dpm_solver_pp_3m_sde", kd_3m, "sample_dpmpp_3m_sde", None),
        ("3m_sde exact (log_snr) vs 3m_sde", "dpm_solver_pp_3m_sde", {"clock": "log_snr"}, "sample_dpmpp_3m_sde", None),
    ]
    for label, name, options, peer, solver_type in cases:
        diffs = []
        for eta in (1.0, 0.0):
            kw = {} if solver_type is None else {"solver_type": solver_type}
            diffs.append(float((ours(name, eta, **options) - theirs(peer, eta, **kw)).abs().max()))
        print(f"{label:40s} eta=1: {diffs[0]:.1e}  eta=0: {diffs[1]:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nfe", type=int, nargs="+", default=[10, 20, 40, 80])
    parser.add_argument("--n", type=int, default=10_000, help="samples per run")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2000 samples, 1 seed")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--peer-differences", action="store_true", help="largest differences to k-diffusion")
    parser.add_argument("--ode", action="store_true", help="the deterministic table (distance to the exact flow)")
    parser.add_argument("--paths", type=int, default=256, help="paths for --ode")
    parser.add_argument("--only", nargs="+", help="run only the methods whose name contains one of these")
    parser.add_argument("--problem", default="gmm", help="the lab's problem (gmm: the default table; sharp1d, ...)")
    parser.add_argument("--dim", type=int, help="the problem's dimension (default: the lab's)")
    parser.add_argument("--step-noise", action="store_true", help="k-diffusion 2M/3M SDE noise by randn, not its tree")
    args = parser.parse_args()
    if args.quick:
        args.n, args.seeds = 2000, 1
    if args.ode:
        ode_table(args.nfe, args.paths)
        return
    if args.peer_differences:
        peer_differences()
        return
    pb = make_problem(args.problem, args.dim)
    metric = pb.metric(args.n, 0)
    kd = load_kdiffusion_sampling()
    methods = {}
    for sampler, options in OURS:
        methods[f"sdesolve:{_label(sampler, options)}"] = _ours(sampler, options)
    if kd is not None:
        peers = PEERS + (MORE_PEERS if args.problem != "gmm" else ())
        methods |= {
            f"k-diffusion:{name}": kdiffusion_method(name, step_noise=args.step_noise and "m_sde" in name).run
            for name in peers
        }
    if args.only:
        methods = {k: v for k, v in methods.items() if any(o in k for o in args.only)}
    defaults = {f"sdesolve:{_label(*spec)}" for spec in OURS if _is_default(*spec)}
    start = time.perf_counter()
    rows = []
    for name, run in methods.items():
        for budget in args.nfe:
            error, nfe = mean_error(run, pb, metric, budget, args.n, args.seeds)
            rows.append({"method": name, "budget": budget, "nfe": nfe, "w1": error})
            print(f"{name:70s} NFE {nfe:3d}  error {error:.5f}", flush=True)
    print(f"\n{pb.description}; {args.n} samples, mean of {args.seeds} seeds; {metric.name}, floor {metric.floor:.5f}")
    machine = platform.processor() or platform.machine()
    print(f"{machine}, torch {torch.__version__}, {time.perf_counter() - start:.0f} s")
    print("\n| NFE | best ours (defaults) | error | best k-diffusion | error | ratio (peer / ours) |")
    print("|---|---|---|---|---|---|")
    for budget in args.nfe:
        at = [r for r in rows if r["budget"] == budget]
        ours_rows = [r for r in at if r["method"] in defaults]
        peers = [r for r in at if r["method"].startswith("k-diffusion:")]
        if not ours_rows or not peers:  # --only left out one side
            continue
        ours = min(ours_rows, key=lambda r: r["w1"])
        peer = min(peers, key=lambda r: r["w1"])
        print(
            f"| {budget} | {ours['method'][9:]} | {ours['w1']:.5f} | {peer['method'][12:]} | {peer['w1']:.5f} "
            f"| {peer['w1'] / ours['w1']:.2f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"floor": metric.floor, "n": args.n, "seeds": args.seeds, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
