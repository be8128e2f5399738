"""The harder lab (issue 11, goal 5): ``sdesolve compare`` with the peers on ``sharp1d``, ``subspace_mixture`` and
``digits``, every registered sampler, NFE 10/20/40/80; the tables go to docs/benchmarks.md ("Harder problems").

    OMP_NUM_THREADS=1 python benchmarks/lab_hard.py [--out results-lab] [--problems sharp1d,digits] [--nfe 10,20]

Each problem prints its tables and writes ``<out>/<problem>/{results.json,summary.csv,compare.png}``, exactly as
``sdesolve compare --problem <problem> --peers --nfe ... --n ... --out ...`` does.
"""

from __future__ import annotations

import argparse
import sys
import time

from sdesolve.cli import main as cli

SETTINGS = {  # samples per run: sharp1d's floor must be ≤ 1e-3 (measured 7e-4 at 100k), the others' defaults
    "digits": ["--n", "2000"],
    "sharp1d": ["--n", "100000"],
    "subspace_mixture": ["--n", "20000"],
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="results-lab")
    p.add_argument("--problems", default=",".join(SETTINGS))
    p.add_argument("--nfe", default="10,20,40,80")
    p.add_argument("--seed", default="0")
    args = p.parse_args()
    for problem in args.problems.split(","):
        start = time.perf_counter()
        out = f"{args.out}/{problem}"
        argv = ["compare", "--problem", problem, "--peers", "--nfe", args.nfe, "--seed", args.seed, "--out", out]
        code = cli(argv + SETTINGS.get(problem, []))
        print(f"{problem}: exit {code}, {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        if code:
            return code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
