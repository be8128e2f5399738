"""The ``sdesolve`` command line: ``plugins``, ``list`` and ``verify``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import torch

from sdesolve import __version__
from sdesolve.plugins import DuplicateNameError, plugin_records, registry

__all__ = ["main"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}
_PLURAL = {"stepper": "steppers", "sampler": "samplers", "process": "processes", "grid": "grids"}


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*map(str, r)) for r in rows]
    return "\n".join(out)


def _cmd_plugins(args: argparse.Namespace) -> int:
    records = [r.as_dict() for r in plugin_records()]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    rows = []
    for r in records:
        what = "; ".join(f"{_PLURAL[kind]}: {', '.join(names)}" for kind, names in r["registers"].items()) or "-"
        if r["error"] and not r["registers"]:
            status = f"ERROR: {r['error']}"
        elif r["error"]:  # loaded, but a hook, an object or a name was left out
            status = f"PARTLY LEFT OUT: {r['error']}"
        else:
            status = "built-in" if r["builtin"] else ("first-party" if r.get("first_party") else "ok")
        rows.append([r["name"], r["distribution"] or "?", r["version"] or "?", what, status])
    print(_table(rows, ["plugin", "distribution", "version", "registers", "status"]))
    return 0


def _describe(obj: Any) -> dict[str, Any]:
    """``obj.describe()``, or an ``error`` entry when that plugin code fails (one bad plugin never ends ``list``)."""
    describe = getattr(obj, "describe", None)
    if not callable(describe):
        return {}
    try:
        return dict(describe())
    except Exception as exc:
        return {"error": f"describe() raised {type(exc).__name__}: {exc}"}


def _cmd_list(args: argparse.Namespace) -> int:
    reg = registry()
    steppers = [
        {"name": name, "summary": ""} | _describe(cls) | {"plugin": reg.owners["stepper"][name]}
        for name, cls in sorted(reg.steppers.items())
    ]
    others = {
        kind: [_describe(obj) | {"name": name, "plugin": reg.owners[kind][name]} for name, obj in sorted(items.items())]
        for kind, items in reg.items.items()
        if kind != "stepper"
    }
    if args.json:
        print(json.dumps({"steppers": steppers, **{_PLURAL[k]: v for k, v in others.items()}}, indent=2))
        return 0
    rows = [
        [
            s["name"],
            s.get("ode_order", "?"),
            s.get("strong_order", "?"),
            s.get("weak_order", "?"),
            s.get("nfe_per_step", "?"),
            "yes" if s.get("supports_noise") else "no",
            s["plugin"],
            s.get("error") or s["summary"],
        ]
        for s in steppers
    ]
    print(_table(rows, ["stepper", "ode", "strong", "weak", "nfe/step", "noise", "plugin", "summary"]))
    samplers = others.pop("sampler")
    if samplers:
        rows = [
            [
                d["name"],
                d.get("nfe_per_step", "?"),
                "yes" if d.get("stochastic") else "no",
                d.get("order", "?"),
                d.get("default_grid", "?"),
                d["plugin"],
                d.get("error") or d.get("summary", ""),
            ]
            for d in samplers
        ]
        print()
        print(_table(rows, ["sampler", "nfe/step", "stochastic", "order", "grid", "plugin", "summary"]))
    for kind, items in others.items():
        names = ", ".join(i["name"] for i in items) or "none registered"
        print(f"\n{_PLURAL[kind]}: {names}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from sdesolve.conformance import run_conformance

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda requested but CUDA is not available", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        results = run_conformance(
            args.stepper or None,
            quick=args.quick,
            device=args.device,
            dtype=_DTYPES[args.dtype],
            problems=args.problem or None,
            seed=args.seed,
            kinds=args.kind or None,
        )
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.passed]
    summary: dict[str, Any] = {
        "passed": bool(results) and not failed,
        "measurements": len(results),
        "failures": len(failed),
        "errors": sum(r.status == "ERROR" for r in results),
        "unmeasurable": sum(r.status == "UNMEASURABLE" for r in results),
        "seconds": round(elapsed, 2),
        "device": args.device,
        "dtype": args.dtype,
        "quick": args.quick,
        "torch": torch.__version__,
        "sdesolve": __version__,
    }
    if args.json:
        print(json.dumps({"summary": summary, "results": [r.as_dict() for r in results]}, indent=2))
    else:
        rows = []
        for r in results:
            if r.error is not None:
                note = r.error
            elif not r.nfe_ok:
                note = "NFE mismatch"
            elif r.kind == "weak":
                note = r.details.get("note", "")
            else:
                note = ""
            errors = " ".join(f"{e:.1e}" for e in r.errors) or "-"
            rows.append([r.stepper, r.problem, r.kind, f"{r.declared:g}", f"{r.measured:.2f}", errors, r.status, note])
        print(
            _table(
                rows, ["stepper", "problem", "order", "declared", "measured", "errors, coarse to fine", "status", ""]
            )
        )
        verdict = f"{len(failed)} FAILED" if failed else ("all passed" if results else "nothing measured (fails)")
        print(
            f"\n{len(results)} measurements, {verdict} (tolerance 0.25 below declared; weak: mean and variance "
            f"errors counted where >= 6 Monte-Carlo standard errors), {elapsed:.1f} s on {args.device}/{args.dtype}"
        )
    return 0 if summary["passed"] else 1


def _lab():
    try:
        import sdesolve_diffusion.lab as lab
    except ImportError:
        print("error: the lab needs the diffusion plugin: pip install -e plugins/sdesolve-diffusion", file=sys.stderr)
        return None
    return lab


def _csv(kind: type, text: str | None) -> list | None:
    if text is None:
        return None
    try:
        return [kind(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"error: expected a comma-separated list of {kind.__name__}, got {text!r}") from None


def _cmd_compare(args: argparse.Namespace) -> int:
    if _lab() is None:
        return 2
    from pathlib import Path

    from sdesolve_diffusion.lab.compare import CompareConfig, compare, format_table, plot

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.scaling:
        from sdesolve_diffusion.lab.scaling import format_scaling, scaling_study

        dims = tuple(_csv(int, args.dims) or ((4, 16, 64) if args.quick else (4, 16, 64, 256, 1024)))
        result = scaling_study(
            dims=dims, n=args.n or (2000 if args.quick else 4000), seed=args.seed, progress=not args.json
        )
        (out / "scaling.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2) if args.json else format_scaling(result))
        print(f"\nwrote {out / 'scaling.json'}", file=sys.stderr)
        return 0
    overrides = dict(
        target=args.target,
        dim=args.dim,
        samplers=_csv(str, args.samplers),
        nfe=tuple(_csv(int, args.nfe)) if args.nfe else None,
        n=args.n,
        peers=args.peers,
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
    plot(result, out / "compare.png")
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    print(f"\nwrote {out / 'results.json'} and {out / 'compare.png'}", file=sys.stderr)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if _lab() is None:
        return 2
    from sdesolve_diffusion.lab.bench import bench, format_bench

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda requested but CUDA is not available", file=sys.stderr)
        return 2
    result = bench(
        batch=args.batch,
        dim=args.dim,
        steps=args.steps,
        device=args.device,
        repeats=args.repeats,
        dtype=_DTYPES[args.dtype],
        compile=args.compile,
    )
    print(json.dumps(result, indent=2) if args.json else format_bench(result))
    return 0


def _option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--option expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _cmd_sample(args: argparse.Namespace) -> int:
    if _lab() is None:
        return 2
    import os
    import warnings

    from sdesolve_diffusion.generate import RunConfig, run

    try:
        shape = [int(v) for v in args.shape.split(",") if v.strip()]
    except ValueError:
        print(f"error: --shape must be comma-separated sizes such as 3,32,32, got {args.shape!r}", file=sys.stderr)
        return 2
    cfg = RunConfig(
        model=args.model,
        shape=shape,
        n=args.n,
        batch=args.batch,
        sampler=args.sampler,
        process=args.process,
        prediction=args.prediction,
        steps=args.steps,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        checkpoint=args.checkpoint,
        options=dict(args.option or []),
    )
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, barrier, broadcast, dist = 0, None, None, None
    if world > 1:
        import torch.distributed as dist

        cuda = args.device.startswith("cuda")
        if cuda:  # the device is not part of the run's identity: each rank uses its own GPU
            cfg.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
            torch.cuda.set_device(cfg.device)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        rank, world, barrier = dist.get_rank(), dist.get_world_size(), dist.barrier

        def broadcast(obj: Any) -> Any:  # rank 0's decision (run id or error) reaches every rank
            box = [obj]
            dist.broadcast_object_list(box, src=0)
            return box[0]

    def show(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
        print(f"WARNING: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            manifest = run(
                cfg,
                args.out,
                resume=args.resume,
                progress=not args.quiet,
                rank=rank,
                world=world,
                barrier=barrier,
                broadcast=broadcast,
            )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # NaN/inf: nothing non-finite is written, the run stays incomplete
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if dist is not None:
            dist.destroy_process_group()
    if rank == 0:
        print(f"{cfg.n} samples in {len(manifest['shards'])} shards under {args.out} (manifest.json)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sdesolve", description=__doc__)
    parser.add_argument("--version", action="version", version=f"sdesolve {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("plugins", help="installed plugins, their versions and what each registers")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_plugins)

    p = sub.add_parser("list", help="registered steppers (declared orders, NFE per step) and other registries")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("verify", help="measure convergence orders against torchsde/torchdiffeq references")
    p.add_argument("--stepper", action="append", help="stepper to check (repeatable; default: all registered)")
    p.add_argument("--problem", action="append", help="test problem (repeatable; default: all)")
    p.add_argument(
        "--kind", action="append", choices=["ode", "strong", "weak"], help="order to measure (repeatable; default: all)"
    )
    p.add_argument("--quick", action="store_true", help="fewer grids and paths (CI)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--dtype", default="float64", choices=sorted(_DTYPES), help="state dtype (default float64)")
    p.add_argument("--seed", type=int, default=0, help="seed of initial states, paths and midpoints")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("compare", help="the lab: error versus NFE of every sampler (and the peers) on an exact target")
    p.add_argument("--target", choices=["gmm", "gaussian", "subspace"], help="target (default gmm)")
    p.add_argument("--dim", type=int, help="dimension (default 16)")
    p.add_argument("--samplers", help="comma-separated sampler names (default: all registered)")
    p.add_argument("--nfe", help="comma-separated NFE budgets (default 10,20,50,100,200)")
    p.add_argument("--n", type=int, help="samples per run (default 10000)")
    p.add_argument("--peers", action="store_true", help="also run torchsde, torchdiffeq, k-diffusion and diffusers")
    p.add_argument("--scaling", action="store_true", help="steps to a fixed error as the dimension grows")
    p.add_argument("--dims", help="dimensions of the scaling study (default 4,16,64,256,1024)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--dtype", default="float64", choices=sorted(_DTYPES), help="state dtype (default float64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results", help="output folder for results.json and compare.png")
    p.add_argument("--quick", action="store_true", help="a small run (under a minute on 2 CPU cores)")
    p.add_argument("--json", action="store_true", help="print the JSON result")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("sample", help="sample a model into checksummed shards (resumable; torchrun for processes)")
    p.add_argument(
        "--model",
        required=True,
        help="module:attr (the current folder is importable): a model(x, t); a class, instantiated with no "
        "arguments; or a function marked fn._sdesolve_factory = True, called with no arguments",
    )
    p.add_argument(
        "--checkpoint",
        help="a state_dict (.pt, loaded with weights_only=True) or .safetensors; without it the weights are the "
        "constructor's, seeded with --seed (a warning says so)",
    )
    p.add_argument("--shape", required=True, help="event shape of one sample, e.g. 3,32,32")
    p.add_argument(
        "--n",
        "--num-samples",
        dest="n",
        type=int,
        required=True,
        help="number of samples (spell it --num-samples under torchrun, whose parser claims --n)",
    )
    p.add_argument("--batch", type=int, default=64, help="samples per batch (and per shard)")
    p.add_argument("--sampler", default="ddram")
    p.add_argument("--process", default="vp")
    p.add_argument("--prediction", default="eps")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="sample i depends on (seed, i) only")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=sorted(_DTYPES))
    p.add_argument("--option", action="append", type=_option, help="sampler option key=value (repeatable)")
    p.add_argument("--out", required=True, help="output folder (locked while a run writes to it)")
    p.add_argument("--resume", action="store_true", help="continue a killed run in --out (same configuration)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("bench", help="solver speed at equal steps against the peers and the score+RNG budget")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", choices=sorted(_DTYPES))
    p.add_argument("--compile", action="store_true", help="also time the solve with torch.compile(score)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sdesolve`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DuplicateNameError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
