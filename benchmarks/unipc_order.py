"""unipc's default order: order 2 against order 3 (and the ``edm`` grid) on the lab's problems, by the distance to
the exact probability-flow solution from the same start (``sdesolve_lab.compare``'s flow distance, 256 paths) and
the distribution error. docs/samplers/unipc.md ("Order 2, the default") quotes this run::

    OMP_NUM_THREADS=1 python benchmarks/unipc_order.py digits --n 1000
    OMP_NUM_THREADS=1 python benchmarks/unipc_order.py sharp1d --n 20000
    OMP_NUM_THREADS=1 python benchmarks/unipc_order.py gmm --n 20000
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from sdesolve_lab import compare, methods

VARIANTS: dict[str, dict[str, Any]] = {
    "order=2 (default)": {},
    "order=3": {"order": 3},
    "order=2 grid=edm": {"grid": "edm"},
    "order=3 grid=edm": {"order": 3, "grid": "edm"},
}


def unipc_variants(names: list[str] | None = None) -> list[methods.Method]:
    return [
        replace(methods.our_method("unipc", **options), name=f"unipc {label}") for label, options in VARIANTS.items()
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("problem", choices=("gmm", "sharp1d", "subspace_mixture", "digits"))
    p.add_argument("--n", type=int, default=None, help="samples per run (default: the problem's)")
    p.add_argument("--nfe", default="10,20,40,80")
    args = p.parse_args()
    compare.our_methods = unipc_variants  # the comparison runs these rows only (no peers, no references)
    cfg = compare.CompareConfig(target=args.problem, n=args.n, nfe=tuple(int(v) for v in args.nfe.split(",")))
    result = compare.compare(cfg, progress=False)
    print(f"# {args.problem}: {result['metric']} (floor {result['floor']:.3g}); flow: RMS distance to the exact flow")
    print(f"{'variant':24s} {'NFE':>4s} {'error':>10s} {'flow':>10s}")
    for row in result["rows"]:
        print(f"{row['method']:24s} {row['budget']:4d} {row['error']:10.4g} {row['strong_error']:10.3g}")


if __name__ == "__main__":
    main()
