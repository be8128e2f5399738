"""DDRaM at low NFE, the SDE samplers on every process, and li_accelerated_ode's order (issue 11, goal 4).

The independent harness of issue 11, problem A: a 1-D two-mode mixture (weights .3/.7 at -2/+2, std 0.1) with exact
denoisers; every method starts from the same exact draw at σ = 80 and stops at σ = 0.002 (no final denoise, the
result compared in the variance-exploding variable x/α). The error is W1 against the exact quantiles of the noised
law at σ = 0.002. Deterministic samplers are also ranked by their RMS distance to the exact probability-flow ODE
solution from the same start (no Monte-Carlo noise).

Grids are the EDM ρ = 7 grid in σ = σ(t)/α(t) from 80 to 0.002 on every process (mapped to each process's time), so
the processes see the same noise levels.

    python benchmarks/ddram_low_nfe.py table      # W1 per sampler, process and NFE (ddram, ddram_ode, EM, EE)
    python benchmarks/ddram_low_nfe.py kdiff      # kdiffusion.sample_ddram against sample(..., "ddram", "vp")
    python benchmarks/ddram_low_nfe.py li         # li_accelerated_ode order slopes, uniform vs edm grid

Options: --samples (default 200000), --seeds (default 0 1), --nfe, --samplers, --processes, --splitting,
--sigma-data (σ_d of the ``skip`` splitting), --flow.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch

import sdesolve
from sdesolve.dtypes import F64

SIGMA_MAX, SIGMA_MIN = 80.0, 0.002


def target():
    from sdesolve_diffusion.targets import GaussianMixture

    return GaussianMixture(torch.tensor([[-2.0], [2.0]]), torch.tensor([0.01, 0.01]), torch.tensor([0.3, 0.7]))


def process_named(name: str):
    return sdesolve.registry().get("process", name)


def span(process) -> tuple[float, float]:
    """Process times at σ/α = 80 and 0.002."""
    hi, lo = (float(process.t_from_edm_sigma(torch.tensor(s, dtype=F64))) for s in (SIGMA_MAX, SIGMA_MIN))
    return hi, lo


_STARTS: dict[int, torch.Tensor] = {}


def start(n: int, seed: int) -> torch.Tensor:
    """The exact law at σ = 80 in the variance-exploding variable, stratified: its quantiles at (i + ½)/n (so the
    start adds no Monte-Carlo noise; the mode weights then fluctuate only through the samplers' own noise), in an
    order shuffled by ``seed``."""
    if n not in _STARTS:
        probs = (torch.arange(n, dtype=F64) + 0.5) / n
        _STARTS[n] = target().quantiles_1d(probs, sigma=SIGMA_MAX)[:, None]
    return _STARTS[n][torch.randperm(n, generator=torch.Generator().manual_seed(seed))]


def quantiles(n: int) -> torch.Tensor:
    probs = (torch.arange(n, dtype=F64) + 0.5) / n
    return target().quantiles_1d(probs, sigma=SIGMA_MIN)


def w1(x: torch.Tensor, q: torch.Tensor) -> float:
    x = x.flatten().to(F64)
    if not bool(torch.isfinite(x).all()):
        return math.inf
    return float((x.sort().values - q).abs().mean())


def run(sampler: str, process_name: str, nfe: int, y_T: torch.Tensor, seed: int, **options) -> torch.Tensor:
    """Sample from the VE-variable start ``y_T`` on ``process_name``; return the result as x/α."""
    process = process_named(process_name)
    smp = sdesolve.registry().get("sampler", sampler)
    steps = max(1, round(nfe / smp.nfe_per_step))
    hi, lo = span(process)
    alpha_hi = float(process.alpha(torch.tensor(hi, dtype=F64)))
    alpha_lo = float(process.alpha(torch.tensor(lo, dtype=F64)))
    model = target().model(process, "x0")
    grid = options.pop("grid", "edm")
    grid_options = {"t_max": hi, "t_min": lo} if isinstance(grid, str) else None
    x = sdesolve.sample(
        model,
        y_T * alpha_hi,
        sampler,
        steps=steps,
        process=process,
        prediction="x0",
        grid=grid,
        grid_options=grid_options,
        generator=torch.Generator().manual_seed(1000 + seed),
        **options,
    )
    return x / alpha_lo


def exact_flow(y_T: torch.Tensor) -> torch.Tensor:
    """The probability-flow ODE solution at σ = 0.002 from ``y_T`` (EDM variable; dpm_solver_2 on 2000 log-σ steps,
    error < 1e-9 here)."""
    process = process_named("edm")
    model = target().model(process, "x0")
    return sdesolve.sample(
        model,
        y_T,
        "dpm_solver_2",
        steps=2000,
        process=process,
        prediction="x0",
        grid="logsnr",
        grid_options={"t_max": SIGMA_MAX, "t_min": SIGMA_MIN},
    )


def table(args) -> None:
    q = quantiles(args.samples)
    print(
        f"# W1 vs exact quantiles at σ = {SIGMA_MIN} ({args.samples} samples, seeds {args.seeds}); "
        "ODE samplers also: RMS distance to the exact flow"
    )
    header = f"{'sampler':24s} {'process':8s} " + " ".join(f"{n:>16d}" for n in args.nfe)
    print(header)
    starts = {s: start(args.samples, s) for s in args.seeds}
    flows = {}
    for sampler in args.samplers:
        smp = sdesolve.registry().get("sampler", sampler)
        for proc in args.processes:
            if getattr(smp, "vp_only", False) and not process_named(proc).variance_preserving:
                continue
            cells = []
            for nfe in args.nfe:
                errs, rms, big = [], [], 0.0
                for s in args.seeds:
                    opts = (
                        {} if args.splitting is None or not hasattr(smp, "stepper") else {"splitting": args.splitting}
                    )
                    x = run(sampler, proc, nfe, starts[s], s, **opts)
                    errs.append(w1(x, q))
                    big = max(big, float(x.abs().max()))
                    if not smp.stochastic and args.flow:
                        if s not in flows:
                            flows[s] = exact_flow(starts[s])
                        rms.append(float(((x - flows[s]) ** 2).mean().sqrt()))
                cell = f"{sum(errs) / len(errs):.4f}"
                if rms:
                    cell += f"/{sum(rms) / len(rms):.1e}"
                if big > 10:
                    cell += f"!{big:.0e}"
                cells.append(f"{cell:>16s}")
            print(f"{sampler:24s} {proc:8s} " + " ".join(cells), flush=True)


def kdiff(args) -> None:
    from sdesolve_diffusion.kdiffusion import kdiffusion_sampler

    q = quantiles(args.samples)
    edm = process_named("edm")
    model_edm = target().model(edm, "edm")
    print(
        f"# kdiffusion-signature functions vs sample(..., process='vp'): W1 ({args.samples} samples, "
        f"seeds {args.seeds})"
    )
    print(f"{'sampler':24s} {'NFE':>4s} {'kdiffusion':>12s} {'vp':>12s} {'edm':>12s}")
    for sampler in args.samplers:
        smp = sdesolve.registry().get("sampler", sampler)
        for nfe in args.nfe:
            steps = max(1, round(nfe / smp.nfe_per_step))
            sig = sdesolve.registry().get("grid", "edm")(edm, steps, t_max=SIGMA_MAX, t_min=SIGMA_MIN)
            kd, vp, ve = [], [], []
            for s in args.seeds:
                y_T = start(args.samples, s)
                x = kdiffusion_sampler(sampler)(
                    lambda x, sigma: model_edm(x, sigma), y_T, sig, generator=torch.Generator().manual_seed(1000 + s)
                )
                kd.append(w1(x, q))
                vp.append(w1(run(sampler, "vp", nfe, y_T, s), q))
                ve.append(w1(run(sampler, "edm", nfe, y_T, s), q))
            m = lambda v: sum(v) / len(v)  # noqa: E731
            print(f"{sampler:24s} {nfe:4d} {m(kd):12.4f} {m(vp):12.4f} {m(ve):12.4f}", flush=True)


def li(args) -> None:
    nfes = args.nfe
    y_T = start(args.samples, args.seeds[0])
    flow = exact_flow(y_T)
    print(f"# li_accelerated_ode on vp: RMS distance to the exact flow ({args.samples} samples), local slopes")
    for grid in ("uniform", "edm", "logsnr"):
        errs = []
        for nfe in nfes:
            x = run("li_accelerated_ode", "vp", nfe, y_T, 0, grid=grid)
            errs.append(float(((x - flow) ** 2).mean().sqrt()))
        slopes = [math.log(errs[i] / errs[i + 1]) / math.log(nfes[i + 1] / nfes[i]) for i in range(len(errs) - 1)]
        print(f"{grid:8s} " + " ".join(f"{e:.2e}" for e in errs) + "  slopes " + " ".join(f"{s:.2f}" for s in slopes))


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("table", "kdiff", "li"))
    p.add_argument("--samples", type=int, default=200_000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--nfe", type=int, nargs="+", default=None)
    p.add_argument("--samplers", nargs="+", default=None)
    p.add_argument("--processes", nargs="+", default=["vp", "edm", "ve"])
    p.add_argument("--flow", action="store_true", help="ODE samplers: also the RMS distance to the exact flow")
    p.add_argument("--splitting", default=None, help="override the recipes' splitting")
    p.add_argument("--sigma-data", type=float, default=None, help="σ_d of the skip splitting (every process)")
    args = p.parse_args(argv)
    if args.sigma_data is not None:
        for name in ("vp", "edm", "ve", "ou"):
            process_named(name).sigma_data = args.sigma_data
    if args.what == "table":
        args.nfe = args.nfe or [10, 20, 40, 80]
        args.samplers = args.samplers or ["ddram", "ddram_ode", "exponential_euler_sde", "euler_maruyama_sde"]
    elif args.what == "kdiff":
        args.nfe = args.nfe or [10, 40]
        args.samplers = args.samplers or ["ddram", "exponential_euler_sde"]
    else:
        args.nfe = args.nfe or [20, 40, 80, 160, 320, 640]
        args.samples = min(args.samples, 20_000)
    t0 = time.perf_counter()
    {"table": table, "kdiff": kdiff, "li": li}[args.what](args)
    print(f"# {time.perf_counter() - t0:.0f} s; torch {torch.__version__}; {sys.platform}")


if __name__ == "__main__":
    main()
