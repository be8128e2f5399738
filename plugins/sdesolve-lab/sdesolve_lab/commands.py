"""The lab's commands, ``sdesolve compare``, ``sdesolve bench`` and ``sdesolve tune-grid``, registered through the
``sdesolve_register_commands`` hook by :mod:`sdesolve_lab.plugin`. The heavy modules load when a command runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from sdesolve.dtypes import DTYPES
from sdesolve.options import positive_int

__all__ = [
    "BENCH_HELP",
    "COMPARE_HELP",
    "TUNE_HELP",
    "configure_bench",
    "configure_compare",
    "configure_tune",
    "run_bench",
    "run_compare",
    "run_tune",
]

COMPARE_HELP = "the lab: error versus NFE of every sampler (and the peers) on an exact target"
# sdesolve_lab.problem.PROBLEMS, spelled out so building the CLI does not import the diffusion plugin (a test checks)
# sdesolve_lab.compare.QUICK_SAMPLERS, spelled out for the same reason (a test checks they agree)
QUICK_SAMPLERS = ("euler_maruyama_sde", "exponential_euler_sde", "ddram", "ddim", "dpm_solver_pp_2m", "edm_heun")
PROBLEM_NAMES = ("gmm", "gaussian", "subspace", "sharp1d", "subspace_mixture", "digits")
TUNE_HELP = "an optimised time grid for a sampler and NFE on a lab problem, written as JSON for `sample --grid`"
BENCH_HELP = "solver speed at equal steps against the peers and the score+RNG budget"


def _csv(kind: type, text: str | None) -> list | None:
    if text is None:
        return None
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"error: expected a comma-separated list of {kind.__name__}, got {text!r}") from None


MIN_NFE = 2  # one step plus the final denoise: the least any sampler can spend


def _int_list(text: str, minimum: int, what: str) -> list[int]:
    items = [v.strip() for v in text.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, got {text!r}")
    out = []
    for v in items:
        try:
            value = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {what}, got {v!r} in {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, got {value} in {text!r}")
        out.append(value)
    return out


def nfe_list(text: str) -> list[int]:
    """An argparse ``type`` for ``--nfe``: comma-separated whole budgets ≥ 2 (one step plus the final denoise)."""
    return _int_list(text, MIN_NFE, f"whole NFE budgets of at least {MIN_NFE} (one step plus the final denoise)")


def positive_int_list(text: str) -> list[int]:
    """An argparse ``type``: comma-separated whole numbers ≥ 1."""
    return _int_list(text, 1, "positive integers")


def configure_compare(p: argparse.ArgumentParser) -> None:
    """The options of ``sdesolve compare``."""
    names = list(PROBLEM_NAMES)
    p.add_argument(
        "--problem",
        choices=names,
        help="the problem (default gmm, the fast one): sharp1d (1-D sharp modes, W1 vs exact quantiles), "
        "subspace_mixture (modes on a 4-D subspace of R^128, sliced W1), digits (a network trained here, Fréchet "
        "distance vs held-out data; needs scikit-learn, trains once and caches); see docs/benchmarks.md",
    )
    p.add_argument("--target", choices=names, help="the same as --problem (older name; default gmm)")
    p.add_argument(
        "--dim",
        type=positive_int,
        metavar="D",
        help="dimension, a positive integer (default: the problem's, 16 for gmm)",
    )
    p.add_argument(
        "--samplers",
        metavar="A,B,...",
        help="comma-separated sampler names, as `sdesolve list` shows them (default: every registered sampler; "
        f"with --quick: {','.join(QUICK_SAMPLERS)})",
    )
    p.add_argument(
        "--nfe",
        type=nfe_list,
        metavar="N1,N2,...",
        help=f"comma-separated NFE budgets (network evaluations per sample), whole numbers >= {MIN_NFE} "
        "(default 10,20,40,80; with --quick 10,20,50)",
    )
    p.add_argument(
        "--n",
        type=positive_int,
        metavar="N",
        help="samples per run, a positive integer (default: the problem's, 10000 for gmm; with --quick 2000)",
    )
    p.add_argument(
        "--peers",
        action="store_true",
        help="run every installed peer: torchsde and torchdiffeq (shown by default) and k-diffusion and diffusers "
        "(default: off)",
    )
    p.add_argument(
        "--no-references",
        action="store_true",
        help="leave out the torchsde and torchdiffeq reference rows, shown by default (default: shown)",
    )
    p.add_argument(
        "--peer-names",
        metavar="A,B,...",
        help="only these peers, comma-separated as the table names them, e.g. torchsde:srk,k-diffusion:lms "
        "(implies --peers; default: all installed peers when --peers is given)",
    )
    p.add_argument(
        "--scaling",
        action="store_true",
        help="instead of the comparison, the steps needed for a fixed error as the dimension grows (default: off)",
    )
    p.add_argument(
        "--dims",
        type=positive_int_list,
        metavar="D1,D2,...",
        help="comma-separated dimensions of the --scaling study (default 4,16,64,256,1024; with --quick 4,16,64)",
    )
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--dtype", default="float64", choices=sorted(DTYPES), help="state dtype (default float64)")
    p.add_argument(
        "--seed", type=int, default=0, help="integer seed of the starting noise and the samplers' noise (default 0)"
    )
    p.add_argument(
        "--out",
        default="results",
        metavar="DIR",
        help="output folder for results.json, summary.csv and compare.png, created if missing (default: results)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a small run: 6 samplers and the references, NFE 10,20,50, 2000 samples (about a minute on 2 CPU "
        "cores; default: off)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the full result as JSON instead of the tables (default: tables)"
    )


def run_compare(args: argparse.Namespace) -> int:
    from sdesolve_lab.compare import CompareConfig, compare, format_table, plot, write_summary_csv

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.scaling:
        from sdesolve_lab.scaling import format_scaling, scaling_study

        dims = tuple(args.dims or ((4, 16, 64) if args.quick else (4, 16, 64, 256, 1024)))
        result = scaling_study(
            dims=dims, n=args.n or (2000 if args.quick else 4000), seed=args.seed, progress=not args.json
        )
        (out / "scaling.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2) if args.json else format_scaling(result))
        print(f"\nwrote {out / 'scaling.json'}", file=sys.stderr)
        return 0
    if args.problem and args.target and args.problem != args.target:
        print(f"error: --problem {args.problem} and --target {args.target} disagree", file=sys.stderr)
        return 2
    overrides = dict(
        target=args.problem or args.target,
        dim=args.dim,
        samplers=_csv(str, args.samplers),
        nfe=tuple(args.nfe) if args.nfe else None,
        n=args.n,
        peers=args.peers,
        peer_names=_csv(str, args.peer_names),
        references=not args.no_references,
        device=args.device,
        dtype=args.dtype,
        seed=args.seed,
    )
    if args.quick:
        cfg = CompareConfig.quick_defaults(**overrides)
    else:
        cfg = CompareConfig(**{k: v for k, v in overrides.items() if v is not None})
    try:
        result = compare(cfg, progress=not args.json)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    (out / "results.json").write_text(json.dumps(result, indent=2))
    write_summary_csv(result, out / "summary.csv")
    plot(result, out / "compare.png")
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    print(f"\nwrote {out / 'results.json'}, {out / 'summary.csv'} and {out / 'compare.png'}", file=sys.stderr)
    return 0


def configure_bench(p: argparse.ArgumentParser) -> None:
    """The options of ``sdesolve bench``."""
    p.add_argument(
        "--batch", type=positive_int, default=4096, metavar="B", help="samples solved at once (default 4096)"
    )
    p.add_argument("--dim", type=positive_int, default=64, metavar="D", help="dimension of each sample (default 64)")
    p.add_argument(
        "--steps", type=positive_int, default=100, metavar="S", help="steps every method takes (default 100)"
    )
    p.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        metavar="R",
        help="timing rounds; each method's time is its best round (default 5)",
    )
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="state dtype (default float32)")
    p.add_argument(
        "--compile", action="store_true", help="also time the solve with torch.compile(score) (default: off)"
    )
    p.add_argument(
        "--json", action="store_true", help="print the full result as JSON instead of the table (default: table)"
    )


def run_bench(args: argparse.Namespace) -> int:
    from sdesolve_lab.bench import bench, format_bench

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda requested but CUDA is not available", file=sys.stderr)
        return 2
    result = bench(
        batch=args.batch,
        dim=args.dim,
        steps=args.steps,
        device=args.device,
        repeats=args.repeats,
        dtype=DTYPES[args.dtype],
        compile=args.compile,
    )
    print(json.dumps(result, indent=2) if args.json else format_bench(result))
    return 0


def configure_tune(p: argparse.ArgumentParser) -> None:
    """The options of ``sdesolve tune-grid``."""
    p.add_argument(
        "--problem", choices=list(PROBLEM_NAMES), default="sharp1d", help="the lab problem (default sharp1d)"
    )
    p.add_argument("--dim", type=positive_int, metavar="D", help="dimension (default: the problem's)")
    p.add_argument(
        "--sampler",
        default="dpm_solver_pp_2m",
        help="a registered sampler (default dpm_solver_pp_2m); a "
        "stochastic one must take a Brownian path bm= (e.g. dpm_solver_pp_2m_sde)",
    )
    p.add_argument(
        "--nfe",
        type=int,
        default=20,
        metavar="N",
        help=f"network evaluations per sample, a whole number >= {MIN_NFE}: (N - 1) // NFE-per-step steps plus the "
        "final denoise (default 20)",
    )
    p.add_argument(
        "--calibration", type=positive_int, default=1000, metavar="N", help="calibration draws (default 1000)"
    )
    p.add_argument(
        "--heldout",
        type=int,
        default=1000,
        metavar="N",
        help="held-out draws on which both grids' proxy is checked, 0 to skip (default 1000)",
    )
    p.add_argument("--init", default="edm", help="the starting grid, a registered grid name (default edm)")
    p.add_argument(
        "--max-evals", type=positive_int, default=300, metavar="N", help="most sampler runs of the search (default 300)"
    )
    p.add_argument(
        "--basis",
        type=int,
        default=6,
        metavar="K",
        help="smooth directions the search moves the grid along (Chebyshev polynomials of the step's position); "
        "0: every step free (default 6)",
    )
    p.add_argument(
        "--statistic",
        choices=("mean", "rms"),
        default="mean",
        help="the proxy: mean or RMS of the per-sample distances to the reference (default mean)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the calibration draws and noise (default 0)")
    p.add_argument("--out", default="grid.json", metavar="FILE", help="the JSON file to write (default grid.json)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of the table")


def run_tune(args: argparse.Namespace) -> int:
    from sdesolve_lab.tune import format_tune, tune_grid

    if args.heldout < 0:
        print(f"error: --heldout must be >= 0, got {args.heldout}", file=sys.stderr)
        return 2
    try:
        result = tune_grid(
            args.problem,
            args.sampler,
            args.nfe,
            dim=args.dim,
            calibration=args.calibration,
            heldout=args.heldout,
            init=args.init,
            seed=args.seed,
            max_evals=args.max_evals,
            basis=args.basis or None,
            statistic=args.statistic,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else format_tune(result))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0
