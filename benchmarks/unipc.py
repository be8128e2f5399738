"""Deterministic column: distance to the exact probability-flow ODE solution per NFE, UniPC against the peers.

The lab's default problem (``sdesolve_lab.problem.make_problem()``: a 4-component Gaussian mixture in d = 16 under the
DDPM linear table, exact scores). Every method starts from the same ``x_T ~ N(0, I)`` at ``t = T = 1000`` and returns
``x₀``: ours stop at the first timestep (``t = 1``) and finish with the exact denoiser (one NFE, counted), the peers
step to ``σ = 0`` as they do by default. The error is the RMS distance to the exact flow from the same ``x_T``:
torchdiffeq dopri5 (rtol 1e-9, atol 1e-11, restarted at every whole timestep where ``log ᾱ`` has a kink) to ``t = 1``,
then the exact denoiser; its own accuracy (distance to an rtol 1e-11 solve) is printed. NFE counted by the lab's model
wrapper; a method whose count differs from the budget is flagged.

    OMP_NUM_THREADS=1 python benchmarks/unipc.py            # the tables in docs/benchmarks.md (256 starts)
    OMP_NUM_THREADS=1 python benchmarks/unipc.py --quick    # 64 starts, NFE 10 and 20
    OMP_NUM_THREADS=1 python benchmarks/unipc.py --grid-study   # grid x clock x order, on vp, edm and the lab problem

``--grid-study`` (the defaults of docs/samplers/unipc.md): ``unipc`` on the ``edm``, ``logsnr`` and ``quadratic``
grids, ``clock`` ``log_snr`` and ``time``, ``order`` 2 and 3, at NFE 10/20/40/80 (``steps = NFE - 1`` plus the final
denoiser), on three settings: the lab problem above (256 starts), and the 2-D three-component mixture of the
sampler tests under ``vp`` and ``edm`` (256 starts ``x_T`` seed 1 scaled to the prior, ``t_min`` 0.002, reference
dopri5 rtol 1e-11 on the score splitting, finished with the exact denoiser).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from sdesolve_lab.methods import _diffusers, kdiffusion_method, our_method
from sdesolve_lab.metrics import strong_error
from sdesolve_lab.peers import load_kdiffusion_sampling
from sdesolve_lab.problem import make_problem

import sdesolve
from sdesolve.reference import odeint_reference

F64 = torch.float64

OURS = {  # label: (sampler, options)
    "unipc": ("unipc", {}),
    "unipc bh1": ("unipc", {"variant": "bh1"}),
    "unipc order=3": ("unipc", {"order": 3}),
    "unipc order=3 bh1": ("unipc", {"order": 3, "variant": "bh1"}),
    "unipc order=3 grid=edm": ("unipc", {"order": 3, "grid": "edm"}),
    "unipc order=3 grid=quadratic": ("unipc", {"order": 3, "grid": "quadratic"}),
    "unipc order=3 clock=time": ("unipc", {"order": 3, "clock": "time"}),
    "unipc order=3 lower_order_final": ("unipc", {"order": 3, "lower_order_final": True}),
    "unipc order=3 corrector=False": ("unipc", {"order": 3, "corrector": False}),
    "dpm_solver_pp_2m": ("dpm_solver_pp_2m", {}),
}


def _ours(sampler: str, options: dict):
    """The lab's runner (``our_method``) for ``sampler`` with ``options``."""
    return our_method(sampler, **options).run


def _diffusers_unipc_karras():
    """diffusers' UniPC (its defaults: order 2, bh2, lower_order_final) on Karras noise levels, ending at σ = 0."""

    def run(pb, x_T, budget, seed):
        import diffusers

        model = pb.model()
        sched = diffusers.UniPCMultistepScheduler(beta_schedule="linear", use_karras_sigmas=True)
        sched.set_timesteps(budget)
        x = x_T.clone()
        for t in sched.timesteps:
            eps = model(x, torch.full((x.shape[0],), float(t), dtype=x.dtype))
            x = sched.step(eps, t, x).prev_sample
        return x, model.nfe

    return run


def _flow(pb, x_T: torch.Tensor, rtol: float) -> torch.Tensor:
    ad = pb.adapter(pb.model())
    jumps = torch.arange(int(pb.t_end), int(pb.t_max), dtype=F64)
    x = odeint_reference(
        pb.process.sde(ad, "score", eta=0.0),
        x_T,
        [pb.t_max, pb.t_end],
        rtol=rtol,
        atol=rtol * 1e-2,
        options={"jump_t": jumps},
    )
    return ad.data(pb.t_end, x)


def _grid_study() -> None:
    from sdesolve_diffusion import GaussianMixture
    from sdesolve_diffusion.adapters import ModelAdapter

    budgets = [10, 20, 40, 80]
    settings = {}
    pb = make_problem()
    x_lab = pb.prior(256, 0)
    ref_lab = _flow(pb, x_lab, 1e-9)

    def lab(opts, budget):
        return _ours("unipc", opts)(pb, x_lab, budget, budget)[0]

    settings["lab (discrete)"] = (lab, ref_lab)
    mix = GaussianMixture(
        torch.tensor([[-1.0, 0.5], [1.0, -0.3], [0.2, 1.2]]),
        torch.tensor([[0.3**2, 0.5**2], [0.4**2, 0.2**2], [0.25**2, 0.25**2]]),
        torch.tensor([0.5, 0.3, 0.2]),
    )
    for name in ("vp", "edm"):
        proc = sdesolve.registry().get("process", name)
        model = mix.model(proc, "eps")
        x_T = torch.randn(256, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * proc.prior_std
        ad = ModelAdapter(model, proc, "eps")
        t_min = 0.002
        xr = odeint_reference(proc.sde(ad, "score", eta=0.0), x_T, [proc.t_max, t_min], rtol=1e-11, atol=1e-12)

        def run(opts, budget, model=model, x_T=x_T, name=name, t_min=t_min):
            opts = dict(opts)
            grid = opts.pop("grid")
            return sdesolve.sample(
                model,
                x_T,
                "unipc",
                steps=budget - 1,
                process=name,
                grid=grid,
                grid_options={"t_min": t_min},
                denoise=True,
                **opts,
            )

        settings[f"2-D mixture ({name})"] = (run, ad.data(float(t_min), xr))
    print("| setting | grid | clock | order | " + " | ".join(f"NFE {b}" for b in budgets) + " |")
    print("|---|---|---|---|" + "---|" * len(budgets))
    for label, (run, ref) in settings.items():
        for grid in ("edm", "logsnr", "quadratic"):
            for clock in ("log_snr", "time"):
                for order in (2, 3):
                    opts = {"grid": grid, "clock": clock, "order": order}
                    errors = [strong_error(run(opts, b), ref) for b in budgets]
                    cells = " | ".join(f"{e:.2e}" for e in errors)
                    print(f"| {label} | {grid} | {clock} | {order} | {cells} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nfe", default="10,20,40,80")
    ap.add_argument("--n", type=int, default=256, help="starts x_T (default 256)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--grid-study", action="store_true", help="the grid/clock/order table of docs/samplers/unipc.md")
    args = ap.parse_args()
    if args.grid_study:
        _grid_study()
        return
    budgets = [10, 20] if args.quick else [int(v) for v in args.nfe.split(",")]
    n = 64 if args.quick else args.n
    pb = make_problem()
    x_T = pb.prior(n, args.seed)
    start = time.perf_counter()
    ref = _flow(pb, x_T, 1e-9)
    ref_error = strong_error(_flow(pb, x_T, 1e-11), ref)
    methods = {f"sdesolve:{label}": _ours(*spec) for label, spec in OURS.items()}
    methods["diffusers:UniPC (lab default: linspace timesteps)"] = _diffusers("UniPCMultistepScheduler", False).run
    methods["diffusers:UniPC (Karras sigmas)"] = _diffusers_unipc_karras()
    kd = load_kdiffusion_sampling()
    if kd is not None:
        for name in ("lms", "dpmpp_2m"):
            methods[f"k-diffusion:{name}"] = kdiffusion_method(name).run
            for grid in ("logsnr", "quadratic"):  # the same grids as ours: the solver, not the grid
                methods[f"k-diffusion:{name} grid={grid}"] = kdiffusion_method(name, grid=grid).run
    rows = []
    for label, run in methods.items():
        errors, counts = [], []
        for budget in budgets:
            try:
                x, nfe = run(pb, x_T, budget, args.seed + budget)
                errors.append(strong_error(x, ref))
            except Exception as exc:  # a peer failing is a result
                errors.append(float("nan"))
                nfe = f"failed: {type(exc).__name__}: {exc}"
            counts.append(nfe)
        rows.append({"method": label, "errors": errors, "nfe": counts})
    print(
        f"problem: {pb.description}; {n} starts x_T (seed {args.seed}); RMS distance to the exact flow "
        f"(reference accuracy {ref_error:.1e}); machine: {platform.machine()} {torch.get_num_threads()} thread(s), "
        f"torch {torch.__version__}; {time.perf_counter() - start:.0f} s"
    )
    print("| method | " + " | ".join(f"NFE {b}" for b in budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    for row in rows:
        cells = [
            f"{e:.2e}" + ("" if c == b else f" (NFE {c})")
            for e, c, b in zip(row["errors"], row["nfe"], budgets, strict=True)
        ]
        print(f"| {row['method']} | " + " | ".join(cells) + " |")
    best_peer = [
        min(r["errors"][i] for r in rows if not r["method"].startswith("sdesolve")) for i in range(len(budgets))
    ]
    ours = next(r for r in rows if r["method"] == "sdesolve:unipc")["errors"]
    print(
        "| unipc (default) vs best peer | "
        + " | ".join(f"{p / o:.2f}×" for o, p in zip(ours, best_peer, strict=True))
        + " |"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"budgets": budgets, "rows": rows, "reference_error": ref_error}, fh, indent=1)


if __name__ == "__main__":
    main()
