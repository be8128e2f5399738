"""Steps needed to reach a fixed error as the dimension grows (``sdesolve compare --scaling``).

Target: ``d`` independent copies of a 1-D two-component mixture under the DDPM table, so the exact law of every
coordinate is known and the total W2 of the product is ``√(Σ_i W2_i²)`` with each ``W2_i`` computed against exact
quantiles. For a method of order ``p`` the per-coordinate error is ``≈ C h^p``, so reaching a fixed total error
``ε`` needs ``n ∝ d^{1/(2p)}`` steps: the fitted exponent measures how the step count grows with ``d`` (DDRaM's
claim: sublinearly, ``Õ(√d)`` at worst).

Sampling noise adds to the squared error (``E W2²(empirical) ≈ W2² + floor²``), and the floor grows like ``√d``;
errors are therefore debiased as ``√max(W2² - floor², 0)`` with ``floor`` measured on exact samples of the same
size; a dimension where the noise of ``floor²`` (about ``floor² √(2/d)``) exceeds ``ε²/4`` is reported as
floor-limited (more samples are needed there) instead of giving a step count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sdesolve_diffusion.targets import GaussianMixture
from tqdm.auto import tqdm

import sdesolve
from sdesolve.dtypes import F64
from sdesolve.report import table
from sdesolve_lab.problem import make_problem

__all__ = ["scaling_study"]

SCALING_SAMPLERS = ("euler_maruyama_sde", "exponential_euler_sde", "ddram")


def scaling_study(
    dims=(4, 16, 64, 256, 1024),
    samplers=SCALING_SAMPLERS,
    epsilon: float = 0.5,
    n: int = 4000,
    steps=(2, 4, 8, 16, 32, 64, 128, 256),
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    one = GaussianMixture(torch.tensor([[-1.0], [1.0]]), torch.tensor([0.3**2, 0.3**2]), torch.tensor([0.4, 0.6]))
    process = make_problem("gmm", 2).process
    probs = (torch.arange(n, dtype=F64) + 0.5) / n
    exact = one.quantiles_1d(probs)  # data law (samplers finish with the exact denoiser)

    def total_w2(x: torch.Tensor) -> float:
        return math.sqrt(float(((x.sort(dim=0).values - exact[:, None]) ** 2).mean(0).sum()))

    def model(x: torch.Tensor, t_model: torch.Tensor) -> torch.Tensor:  # coordinate-wise exact ε
        t = process.time_from_model(t_model.to(F64))
        alpha, sigma = process.alpha(t), process.sigma(t)
        b, d = x.shape
        flat = x.T.reshape(-1, 1)
        score = one.noised_score(alpha.repeat(d), sigma.repeat(d), flat).reshape(d, b).T
        return -sigma.to(x.dtype)[:, None] * score

    result: dict[str, Any] = {"epsilon": epsilon, "n": n, "dims": list(dims), "samplers": {}}
    bar = tqdm(total=len(samplers) * len(dims), desc="scaling", disable=not progress)
    for name in samplers:
        smp = sdesolve.registry().get("sampler", name)
        needed = []
        curves = {}
        for d in dims:
            floor = total_w2(one.sample(n * d, generator=torch.Generator().manual_seed(seed + 1)).reshape(n, d))
            errs, raw = [], []
            for k in steps:
                x = sdesolve.sample(
                    model,
                    (n, d),
                    name,
                    steps=k,
                    process=process,
                    dtype=F64,
                    denoise=True,
                    grid_options={"t_min": 1.0},
                    generator=torch.Generator().manual_seed(seed + k),
                )
                raw.append(total_w2(x))
                errs.append(math.sqrt(max(raw[-1] ** 2 - floor**2, 0.0)))
                if errs[-1] < epsilon:
                    break
            # floor² is a sum over d coordinates: its noise is about floor² √(2/d); past a quarter of ε² the
            # debiased error is mostly noise
            limited = floor**2 * math.sqrt(2.0 / d) > 0.25 * epsilon**2
            curves[d] = {
                "steps": list(steps[: len(errs)]),
                "w2": errs,
                "w2_raw": raw,
                "floor": floor,
                "floor_limited": limited,
            }
            needed.append(None if limited else _crossing(list(steps[: len(errs)]), errs, epsilon))
            bar.update(1)
        valid = [(d, s) for d, s in zip(dims, needed, strict=True) if s is not None]
        exponent = (
            float(np.polyfit(np.log([d for d, _ in valid]), np.log([s for _, s in valid]), 1)[0])
            if len(valid) >= 2
            else None
        )
        result["samplers"][name] = {
            "nfe_per_step": smp.nfe_per_step,
            "steps_needed": needed,
            "exponent": exponent,
            "curves": curves,
        }
    bar.close()
    return result


def _crossing(steps: list[int], errs: list[float], eps: float) -> float | None:
    """Steps where the error crosses ``eps`` (log-log interpolation between the bracketing grids)."""
    for i in range(1, len(errs)):
        if errs[i] < eps <= errs[i - 1]:
            a, b = math.log(errs[i - 1]), math.log(max(errs[i], 1e-12))
            w = (math.log(eps) - a) / (b - a)
            return math.exp(math.log(steps[i - 1]) + w * (math.log(steps[i]) - math.log(steps[i - 1])))
    if errs and errs[0] < eps:
        return float(steps[0])
    return None


def format_scaling(result: dict[str, Any]) -> str:
    dims = result["dims"]
    lines = [f"steps needed for total W2 < {result['epsilon']} (debiased; {result['n']} samples)", ""]
    rows = []
    for name, r in result["samplers"].items():
        cells = [
            "floor" if r["curves"][d]["floor_limited"] else "-" if s is None else f"{s:.1f}"
            for d, s in zip(dims, r["steps_needed"], strict=True)
        ]
        rows.append([name, *cells, "-" if r["exponent"] is None else f"{r['exponent']:.2f}"])
    header = ["sampler", *(f"d={d}" for d in dims), "exponent"]
    lines.append(table(rows, header, align="<" + ">" * len(dims) + "<", rule=False))
    return "\n".join(lines)
