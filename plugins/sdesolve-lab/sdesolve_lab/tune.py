"""``sdesolve tune-grid``: an optimised time grid for a sampler on one of the lab's problems
(:func:`sdesolve_diffusion.grid_search.optimize_grid`), checked on a held-out batch and written as JSON that
``sample(..., grid=load_grid(path))`` and ``sdesolve sample --grid FILE`` read.

The sampler runs as ``sdesolve compare`` runs it: ``steps = (NFE − 1) // nfe_per_step`` from ``t = T`` to the
first timestep, then the denoiser (one NFE).
"""

from __future__ import annotations

from typing import Any

from sdesolve_diffusion.grid_search import GridObjective, optimize_grid

import sdesolve
from sdesolve.report import table
from sdesolve_lab.problem import make_problem

__all__ = ["format_tune", "tune_grid"]


def tune_grid(
    problem: str = "sharp1d",
    sampler: str = "dpm_solver_pp_2m",
    nfe: int = 20,
    *,
    dim: int | None = None,
    calibration: int = 1000,
    heldout: int = 1000,
    init: str = "edm",
    seed: int = 0,
    max_evals: int = 300,
    basis: int | None = 6,
    statistic: str = "mean",
    progress: bool = False,
) -> dict[str, Any]:
    """Optimise the grid of ``sampler`` at ``nfe`` on ``calibration`` draws of the problem's prior (seed ``seed``)
    and measure both grids' proxy on ``heldout`` other draws (seed ``seed + 1``; 0: skip). Returns the JSON-ready
    result (:meth:`GridSearchResult.to_dict` with the problem, the NFE, the grids' noise levels ``σ/α`` and the
    held-out proxies)."""
    reg = sdesolve.registry().items["sampler"]
    if sampler not in reg:
        raise ValueError(f"--sampler: unknown sampler {sampler!r}; registered: {', '.join(sorted(reg))}")
    if nfe < 2:
        raise ValueError(f"--nfe must be at least 2 (one step plus the final denoise), got {nfe}")
    steps = (nfe - 1) // int(reg[sampler].nfe_per_step)
    if steps < 1:
        raise ValueError(f"--nfe {nfe} leaves no step for {sampler!r} ({reg[sampler].nfe_per_step} NFE per step)")
    pb = make_problem(problem, dim, seed=seed)
    common: dict[str, Any] = {"process": pb.process, "seed": seed, "statistic": statistic, "denoise": True}
    result = optimize_grid(
        pb.model(),
        sampler,
        steps,
        calibration=pb.prior(calibration, seed),
        init=init,
        grid_options={"t_min": pb.t_end},
        max_evals=max_evals,
        basis=basis,
        progress=progress,
        **common,
    )
    out = result.to_dict() | {
        "problem": problem,
        "dim": pb.dim,
        "nfe": steps * int(reg[sampler].nfe_per_step) + 1,
        "options": {"denoise": True},  # as the grid was tuned: pass them to sample with the grid
        "sigmas": pb.process.edm_sigma(result.grid).tolist(),
        "initial_sigmas": pb.process.edm_sigma(result.initial_grid).tolist(),
    }
    if heldout:
        check = GridObjective(
            pb.model(),
            sampler,
            calibration=pb.prior(heldout, seed + 1),
            t_max=float(result.grid[0]),
            t_min=float(result.grid[-1]),
            reference_steps=result.reference_steps,
            reference_grid=reg[sampler].default_grid,
            **common,
        )
        out["heldout_size"] = heldout
        out["heldout_initial_proxy"] = check(result.initial_grid)
        out["heldout_proxy"] = check(result.grid)
    return out


def format_tune(result: dict[str, Any]) -> str:
    """The proxies (calibration and held-out), the cost and both grids as a table."""
    kind = "strong error on a fixed Brownian path" if result["stochastic"] else "distance to the fine ODE solve"
    lines = [
        f"{result['sampler']} on {result['problem']} (d = {result['dim']}), NFE {result['nfe']} = {result['steps']} "
        f"steps + the final denoise; proxy: {result['statistic']} {kind}",
        f"calibration ({result['calibration_size']} draws): {result['init']} grid {result['initial_proxy']:.4g} → "
        f"optimised {result['proxy']:.4g} ({result['gain']:.2f}x lower)",
    ]
    if "heldout_proxy" in result:
        a, b = result["heldout_initial_proxy"], result["heldout_proxy"]
        ratio = a / b if b > 0 else float("inf")
        lines.append(f"held-out ({result['heldout_size']} other draws): {a:.4g} → {b:.4g} ({ratio:.2f}x lower)")
    lines.append(
        f"cost: {result['evaluations']} runs at {result['steps']} steps + {result['reference_runs']} reference runs "
        f"at up to {result['reference_steps']} steps; reference's own error ≤ {result['reference_error']:.2g}"
    )
    body = [
        [str(i), f"{t0:.6g}", f"{s0:.4g}", f"{t1:.6g}", f"{s1:.4g}"]
        for i, (t0, s0, t1, s1) in enumerate(
            zip(result["initial_grid"], result["initial_sigmas"], result["grid"], result["sigmas"], strict=True)
        )
    ]
    header = ["i", f"t ({result['init']})", "σ/α", "t (optimised)", "σ/α"]
    return "\n".join([*lines, "", table(body, header)])
