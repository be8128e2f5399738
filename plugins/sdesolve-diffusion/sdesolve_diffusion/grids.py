"""Time grids: decreasing diffusion times from ``t_max`` (default ``process.t_max``) to ``t_min`` (default
``process.t_min``, the early-stopping time δ), ``steps + 1`` of them, as float64 tensors.

A grid is a function ``grid(process, steps, *, t_max=None, t_min=None, quantize=False, **options) -> Tensor``.
Discrete processes interpolate between timesteps, so grids may fall between them; ``quantize=True`` rounds to
integer timesteps (for networks trained on integers only), which must then stay distinct.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from sdesolve.dtypes import F64
from sdesolve_diffusion.processes import Process

__all__ = ["GRIDS", "edm", "logsnr", "quadratic", "resolve_grid", "theory", "uniform"]

Grid = Callable[..., Tensor]


def _span(process: Process, t_max: float | None, t_min: float | None) -> tuple[float, float]:
    hi = process.t_max if t_max is None else float(t_max)
    lo = process.t_min if t_min is None else float(t_min)
    if not hi > lo:
        raise ValueError(f"need t_max > t_min, got t_max={hi}, t_min={lo}")
    return hi, lo


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return steps


def _finish(process: Process, ts: Tensor, lo: float, hi: float, quantize: bool) -> Tensor:
    ts = ts.clone()
    ts[0], ts[-1] = hi, lo
    if quantize:
        ts = ts.round()
        if not bool((ts[1:] < ts[:-1]).all()):
            raise ValueError(
                f"{ts.numel() - 1} steps do not fit between integer timesteps {hi:g} and {lo:g} (quantize=True); "
                "use fewer steps or quantize=False"
            )
    return ts


def uniform(
    process: Process, steps: int, *, t_max: float | None = None, t_min: float | None = None, quantize: bool = False
) -> Tensor:
    """Uniform in diffusion time."""
    hi, lo = _span(process, t_max, t_min)
    return _finish(process, torch.linspace(hi, lo, _check_steps(steps) + 1, dtype=F64), lo, hi, quantize)


def quadratic(
    process: Process, steps: int, *, t_max: float | None = None, t_min: float | None = None, quantize: bool = False
) -> Tensor:
    """Uniform in ``√t`` (DPM-Solver's ``time_quadratic``): denser near ``t_min``."""
    hi, lo = _span(process, t_max, t_min)
    r = torch.linspace(math.sqrt(hi), math.sqrt(lo), _check_steps(steps) + 1, dtype=F64)
    return _finish(process, r * r, lo, hi, quantize)


def edm(
    process: Process,
    steps: int,
    *,
    t_max: float | None = None,
    t_min: float | None = None,
    rho: float = 7.0,
    quantize: bool = False,
) -> Tensor:
    """Karras et al.: ``σ_i = (σ_max^{1/ρ} + i/n (σ_min^{1/ρ} - σ_max^{1/ρ}))^ρ`` in ``σ/α``, mapped back to time."""
    hi, lo = _span(process, t_max, t_min)
    if not rho > 0:
        raise ValueError(f"rho must be positive, got {rho}")
    s_hi, s_lo = (float(process.edm_sigma(torch.tensor(v, dtype=F64))) for v in (hi, lo))
    if s_lo <= 0:
        raise ValueError(f"the edm grid needs σ(t_min) > 0; t_min={lo:g} has σ = 0 (raise t_min)")
    i = torch.arange(_check_steps(steps) + 1, dtype=F64) / steps
    sig = (s_hi ** (1 / rho) + i * (s_lo ** (1 / rho) - s_hi ** (1 / rho))) ** rho
    return _finish(process, process.t_from_edm_sigma(sig), lo, hi, quantize)


def logsnr(
    process: Process, steps: int, *, t_max: float | None = None, t_min: float | None = None, quantize: bool = False
) -> Tensor:
    """Uniform in log-SNR ``λ = log(α/σ)`` (DPM-Solver's ``logSNR``)."""
    hi, lo = _span(process, t_max, t_min)
    s_hi, s_lo = (float(process.edm_sigma(torch.tensor(v, dtype=F64))) for v in (hi, lo))
    if s_lo <= 0:
        raise ValueError(f"the logsnr grid needs σ(t_min) > 0; t_min={lo:g} has σ = 0 (raise t_min)")
    lam = torch.linspace(-math.log(s_hi), -math.log(s_lo), _check_steps(steps) + 1, dtype=F64)
    return _finish(process, process.t_from_edm_sigma(torch.exp(-lam)), lo, hi, quantize)


def theory(
    process: Process, steps: int, *, t_max: float | None = None, t_min: float | None = None, quantize: bool = False
) -> Tensor:
    """The analysis schedule (DDRaM, Theorem 3): in OU-equivalent time ``s = ½ log(1 + σ²/α²)``, constant steps
    while ``s > 1``, then geometric decay, ``h_k = h min(1, s_k)``, with ``h`` chosen so that ``steps`` steps end
    exactly at ``t_min``; mapped back to the process's time."""
    hi, lo = _span(process, t_max, t_min)
    n = _check_steps(steps)
    s_hi, s_lo = (0.5 * math.log1p(float(process.edm_sigma(torch.tensor(v, dtype=F64))) ** 2) for v in (hi, lo))
    if s_lo <= 0:
        raise ValueError(f"the theory grid decays geometrically and needs σ(t_min) > 0; t_min={lo:g} has σ = 0")

    def run(h: float) -> list[float]:
        ss = [s_hi]
        for _ in range(n):
            ss.append(ss[-1] - h * min(1.0, ss[-1]))
        return ss

    lo_h, hi_h = 0.0, 1.0 - 1e-12
    if run(hi_h)[-1] > s_lo:
        raise ValueError(
            f"{n} steps cannot reach t_min={lo:g} from t_max={hi:g} with h·min(1, s) steps; use more steps"
        )
    for _ in range(200):
        mid = 0.5 * (lo_h + hi_h)
        if run(mid)[-1] > s_lo:
            lo_h = mid
        else:
            hi_h = mid
    s = torch.tensor(run(hi_h), dtype=F64)
    return _finish(process, process.t_from_edm_sigma(torch.sqrt(torch.expm1(2 * s))), lo, hi, quantize)


GRIDS: dict[str, Grid] = {"uniform": uniform, "edm": edm, "logsnr": logsnr, "quadratic": quadratic, "theory": theory}


def resolve_grid(grid: str | Grid | Tensor | Sequence[float], process: Process, steps: int, **options: Any) -> Tensor:
    """A decreasing float64 time grid from a grid function, a registered name, or explicit times."""
    if isinstance(grid, str):
        from sdesolve import registry

        try:
            grid = registry().get("grid", grid)
        except KeyError as exc:
            raise ValueError(f"grid: {exc.args[0]}") from None
    if callable(grid):
        return grid(process, steps, **options)
    ts = torch.as_tensor(grid, dtype=F64).flatten()
    if ts.numel() < 2 or not bool((ts[1:] < ts[:-1]).all()) or not bool(torch.isfinite(ts).all()):
        raise ValueError("an explicit grid must hold at least 2 finite, strictly decreasing diffusion times")
    return ts
