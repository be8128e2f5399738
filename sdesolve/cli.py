"""The ``sdesolve`` command line: the core's ``plugins``, ``list`` and ``verify``, and every subcommand a plugin
registers through the ``sdesolve_register_commands`` hook (e.g. ``sample``, ``compare``, ``bench``)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from collections.abc import Sequence
from typing import Any

import torch

from sdesolve import __version__
from sdesolve.dtypes import DTYPES
from sdesolve.hookspecs import hookimpl
from sdesolve.options import positive_int
from sdesolve.plugins import DuplicateNameError, plugin_records, registry
from sdesolve.report import table as _table
from sdesolve.threads import set_threads

__all__ = ["build_parser", "main"]

_DESCRIPTION = """Solvers for the SDEs and ODEs behind diffusion models. The core gives plugins, list and verify;
installed plugins add more (sample from sdesolve-diffusion, compare and bench from sdesolve-lab).
Run 'sdesolve COMMAND --help' for a command's options."""

_EPILOG = """examples:
  sdesolve list                      steppers and samplers with their orders and NFE per step
  sdesolve verify --quick            measure every stepper's orders against torchsde/torchdiffeq
  sdesolve compare                   error per NFE of every sampler on the built-in problem
  sdesolve --threads 1 bench         speed, with one CPU thread

threads: the command sets OMP_WAIT_POLICY=PASSIVE unless you set it (idle OpenMP threads sleep instead of
spinning, which on a busy machine made runs up to 17x slower); --threads N sets torch's CPU threads."""


def _plural(kind: str) -> str:
    declared = registry().kinds.get(kind)
    return declared.plural if declared is not None else f"{kind}s"


def _cmd_plugins(args: argparse.Namespace) -> int:
    records = [r.as_dict() for r in plugin_records()]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    rows, details = [], []
    for r in records:
        kinds = [(k if len(v) == 1 else _plural(k), v) for k, v in r["registers"].items()]
        short = "; ".join(f"{kind}: {', '.join(v)}" for kind, v in kinds)
        counts = [short] if len(short) <= 40 else [f"{len(v)} {kind}" for kind, v in kinds]
        if r["kinds"]:
            counts.append(f"declares {', '.join(r['kinds'])}")
        if r["error"] and not r["registers"]:
            status = "ERROR (below)"
        elif r["error"]:  # loaded, but a hook, an object or a name was left out
            status = "PARTLY LEFT OUT (below)"
        else:
            status = "built-in" if r["builtin"] else ("first-party" if r.get("first_party") else "ok")
        rows.append([r["name"], r["distribution"] or "?", r["version"] or "?", ", ".join(counts) or "-", status])
        lines = []
        if len(short) > 40:  # named in full below the table
            for kind, registered in r["registers"].items():
                lines.append(_wrapped(f"{_plural(kind)}: ", ", ".join(registered)))
        if r["error"]:
            lines.append(_wrapped("ERROR: ", r["error"]))
        if lines:
            details.append("\n".join([r["name"], *lines]))
    print(_table(rows, ["plugin", "distribution", "version", "registers", "status"]))
    if details:
        print("\n" + "\n\n".join(details))
    return 0


def _wrapped(prefix: str, text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent="  " + prefix, subsequent_indent="    ")


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
        if kind not in ("stepper", "command")
    }
    if args.json:
        print(json.dumps({"steppers": steppers, **{_plural(k): v for k, v in others.items()}}, indent=2))
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
        print(f"\n{_plural(kind)}: {names}")
    return 0


class _Progress:
    """``[done/total] label`` on stderr: rewritten in place on a terminal, one line per stepper otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, done: int, total: int, label: str) -> None:
        if self.tty:
            end = "\n" if done == total else ""
            print(f"\r\033[K[{done}/{total}] {label}", end=end, file=sys.stderr, flush=True)
            return
        stepper = label.split(" ", 1)[0]
        if stepper != self.last and done < total:
            print(f"[{done}/{total}] measuring {stepper}", file=sys.stderr, flush=True)
            self.last = stepper


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
            dtype=DTYPES[args.dtype],
            problems=args.problem or None,
            seed=args.seed,
            kinds=args.kind or None,
            progress=None if args.quiet else _Progress(),
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
            elif r.kind in ("weak", "tolerance"):
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


def _configure_plugins(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _configure_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _configure_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stepper", action="append", help="stepper to check (repeatable; default: all registered)")
    p.add_argument("--problem", action="append", help="test problem (repeatable; default: all)")
    p.add_argument(
        "--kind",
        action="append",
        choices=["ode", "strong", "weak", "tolerance"],
        help="order to measure, or tolerance proportionality of adaptive solves (repeatable; default: all)",
    )
    p.add_argument("--quick", action="store_true", help="fewer grids and paths (CI)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--dtype", default="float64", choices=sorted(DTYPES), help="state dtype (default float64)")
    p.add_argument("--seed", type=int, default=0, help="seed of initial states, paths and midpoints (default 0)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


@hookimpl
def sdesolve_register_commands(register: Any) -> None:
    """The core's own subcommands: registered like a plugin's, so a plugin cannot silently replace one."""
    register("plugins", "installed plugins, their versions and what each registers", _configure_plugins, _cmd_plugins)
    register(
        "list",
        "registered steppers (declared orders, NFE per step) and other registries",
        _configure_list,
        _cmd_list,
    )
    register(
        "verify",
        "measure convergence orders against torchsde/torchdiffeq references",
        _configure_verify,
        _cmd_verify,
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of every registered subcommand (the core's first, then the plugins' in precedence order)."""
    import warnings

    parser = argparse.ArgumentParser(
        prog="sdesolve",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sdesolve {__version__}")
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="CPU threads torch may use (default: torch's, one per core)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    reg = registry()
    for name, command in reg.items["command"].items():
        options = argparse.ArgumentParser(prog=f"sdesolve {name}", add_help=False)
        try:
            command.configure(options)  # on a parser of its own first: a broken one is left out, not half-added
        except Exception as exc:  # one plugin's broken parser never ends the other commands
            warnings.warn(
                f"sdesolve plugin {reg.owners['command'][name]!r}: command {name!r} left out: configure(parser) "
                f"raised {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        p = sub.add_parser(name, help=command.help, description=options.description, parents=[options])
        p.set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sdesolve`` console script."""
    args = build_parser().parse_args(argv)
    set_threads(args.threads)
    try:
        return int(args.func(args))
    except DuplicateNameError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
