"""Scan sampler options on one of the lab's problems: the measurements behind the SDE recipes' defaults.

Each ``--spec`` is ``SAMPLER:key=value,key=value`` (values parsed as int, float, True/False or a string; an empty
option list is the sampler's defaults); ``--peers`` adds k-diffusion rows ``NAME@GRID``. Every row runs the lab's way
(``sdesolve_lab.methods.our_method`` / ``kdiffusion_method``: the problem's process, its exact ``p_T`` draw where it
has one, the grid ending at its ``t_end``, the denoiser at the end, NFE counted by the model wrapper) and prints the
problem's error (``LabProblem.metric``: sliced W1 on ``gmm``) per NFE budget, the mean over ``--seeds`` seeds
(seed s: ``x_T = pb.prior(n, s)``, sampler seed ``s + budget``).

    OMP_NUM_THREADS=1 python benchmarks/sde_defaults.py --problem sharp1d --n 100000 \\
        --spec dpm_solver_pp_3m_sde:grid=edm dpm_solver_pp_3m_sde:grid=logsnr --peers dpmpp_2m_sde@logsnr
    OMP_NUM_THREADS=1 python benchmarks/sde_defaults.py --problem sharp1d --n 100000 --nfe 6 8 10 12 15 17 \\
        --spec sa_solver:corrector_order=3 sa_solver:corrector_order=1
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

import torch
from sdesolve_lab.methods import kdiffusion_method, mean_error, our_method
from sdesolve_lab.problem import make_problem


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False, "None": None}.get(text, text)


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"sa_solver:clock=sigma,corrector_order=1"`` -> ``("sa_solver", {"clock": "sigma", "corrector_order": 1})``."""
    name, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--spec {spec!r}: options are key=value separated by commas, got {item!r}")
        options[key] = _value(value)
    return name, options


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problem", default="sharp1d", help="the lab's problem (sharp1d, gmm, subspace_mixture, digits)")
    p.add_argument("--dim", type=int, help="the problem's dimension (default: the lab's)")
    p.add_argument("--n", type=int, default=100_000, help="samples per run")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--nfe", type=int, nargs="+", default=[10, 20, 40, 80])
    p.add_argument("--spec", nargs="*", default=[], help="SAMPLER:key=value,... (repeatable)")
    p.add_argument("--peers", nargs="*", default=[], help="k-diffusion NAME@GRID rows, e.g. dpmpp_2m_sde@logsnr")
    args = p.parse_args()
    pb = make_problem(args.problem, args.dim)
    metric = pb.metric(args.n, 0)
    rows = []
    for spec in args.spec:
        name, options = parse_spec(spec)
        rows.append((spec, our_method(name, **options)))
    for peer in args.peers:
        name, _, grid = peer.partition("@")
        rows.append((f"k-diffusion:{peer}", kdiffusion_method(name, grid=grid or "edm", step_noise="m_sde" in name)))
    start = time.perf_counter()
    for label, method in rows:
        cells = []
        for budget in args.nfe:
            error, nfe = mean_error(method.run, pb, metric, budget, args.n, args.seeds)
            cells.append(f"{budget}: {error:.5f} ({nfe} NFE)")
        print(f"{label:64s} " + "  ".join(cells), flush=True)
    print(
        f"\n{pb.description}; {args.n} samples, mean of {args.seeds} seeds; {metric.name}, floor {metric.floor:.5f}; "
        f"{platform.machine()}, torch {torch.__version__}, {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
