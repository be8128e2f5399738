"""Samplers written in the scaled variable ``y = x/α`` with noise level ``σ = σ(t)/α(t)`` (EDM / k-diffusion),
on any process: ``y = x₀ + σ ε`` and the denoiser ``D(y; σ)`` is the data prediction at the matching time.

* ``edm_heun`` — EDM's Algorithm 2 (Heun, optional churn ``S_churn, S_min, S_max, S_noise``); k-diffusion's
  ``sample_heun``.
* ``dpm_solver_2`` — DPM-Solver-2 (singlestep, midpoint in log σ); k-diffusion's ``sample_dpm_2``.
* ``dpm_solver_pp_2m`` — DPM-Solver++(2M) (multistep, data prediction); k-diffusion's ``sample_dpmpp_2m`` and
  diffusers' ``DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2)``.

A grid that ends where ``σ = 0`` (a DDPM table's ``t = 0``) finishes with an Euler step, which is ``D``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from sdesolve.random import randn
from sdesolve_diffusion.adapters import ModelAdapter
from sdesolve_diffusion.processes import Process
from sdesolve_diffusion.samplers.base import DiffusionSampler, SamplingContext, StepResult

__all__ = ["DPMSolver2", "DPMSolverPP2M", "EDMHeun"]


class _Scaled:
    """The denoiser in ``y``-space at a noise level, with the matching diffusion time."""

    def __init__(self, adapter: ModelAdapter, process: Process) -> None:
        self.adapter, self.process = adapter, process

    def time(self, sigma: float) -> float:
        return float(self.process.t_from_edm_sigma(torch.tensor(sigma, dtype=torch.float64)))

    def denoise(self, t: float, y: Tensor) -> Tensor:
        alpha, _ = self.adapter.coefficients(t)  # the adapter's table: no evaluation per call
        return self.adapter.data(float(t), alpha * y)


def _levels(process: Process, times: Tensor) -> tuple[list[float], list[float]]:
    return process.edm_sigma(times).tolist(), process.alpha(times).tolist()


class _YState:
    """The running ``y = x/α`` and the grid's noise levels and scales (plus a sampler's own fields)."""

    def __init__(self, ctx: SamplingContext, x: Tensor, **fields: Any) -> None:
        self.sc = _Scaled(ctx.adapter, ctx.process)
        self.sig, self.alpha = _levels(ctx.process, ctx.times)
        self.n = ctx.times.numel() - 1
        self.y = x / self.alpha[0]
        self.__dict__.update(fields)

    def advance(self, i: int, y: Tensor, den: Tensor) -> StepResult:
        """Keep ``y`` at ``ctx.times[i+1]``; the driver gets ``x = α y`` and the denoised estimate."""
        self.y = y
        return self.alpha[i + 1] * y, self, {"denoised": den}


class EDMHeun(DiffusionSampler):
    """EDM's stochastic Heun sampler (Karras et al. 2022, Algorithm 2). 2 NFE per step (1 on a step to σ = 0).

    Options: ``S_churn`` (0: deterministic), ``S_min``, ``S_max``, ``S_noise``.
    """

    name = "edm_heun"
    nfe_per_step = 2
    order = 2.0
    default_grid = "edm"
    summary = "EDM Heun (Algorithm 2) with S_churn/S_min/S_max/S_noise; k-diffusion sample_heun"

    def init(
        self,
        ctx: SamplingContext,
        x: Tensor,
        *,
        S_churn: float = 0.0,
        S_min: float = 0.0,
        S_max: float = math.inf,
        S_noise: float = 1.0,
    ) -> _YState:
        if S_churn < 0 or S_noise < 0:
            raise ValueError(f"S_churn and S_noise must be >= 0, got {S_churn}, {S_noise}")
        return _YState(ctx, x, S_churn=S_churn, S_min=S_min, S_max=S_max, S_noise=S_noise)

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: _YState) -> StepResult:
        st, y = state, state.y
        s_cur, s_next = st.sig[i], st.sig[i + 1]
        gamma = min(st.S_churn / st.n, math.sqrt(2) - 1) if st.S_min <= s_cur <= st.S_max else 0.0
        s_hat = s_cur * (1 + gamma)
        t_hat = float(ctx.times[i]) if gamma == 0 else st.sc.time(s_hat)
        if st.S_churn > 0:
            z = randn(y.shape, ctx.generator, y.device, y.dtype)
            if gamma > 0:
                y = y + math.sqrt(s_hat**2 - s_cur**2) * st.S_noise * z
        den = st.sc.denoise(t_hat, y)
        d = (y - den) / s_hat
        y_next = y + d * (s_next - s_hat)
        if s_next > 0:
            den2 = st.sc.denoise(float(ctx.times[i + 1]), y_next)
            d2 = (y_next - den2) / s_next
            y_next = y + (d + d2) / 2 * (s_next - s_hat)
        return st.advance(i, y_next, den)


class DPMSolver2(DiffusionSampler):
    """DPM-Solver-2: Euler to the log-σ midpoint, then the full step with the midpoint slope. 2 NFE per step."""

    name = "dpm_solver_2"
    nfe_per_step = 2
    order = 2.0
    default_grid = "edm"
    summary = "DPM-Solver-2 (singlestep, log-σ midpoint); k-diffusion sample_dpm_2"

    def init(self, ctx: SamplingContext, x: Tensor) -> _YState:
        return _YState(ctx, x)

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: _YState) -> StepResult:
        st, y = state, state.y
        s_cur, s_next = st.sig[i], st.sig[i + 1]
        den = st.sc.denoise(float(ctx.times[i]), y)
        d = (y - den) / s_cur
        if s_next == 0:
            y = y + d * (s_next - s_cur)
        else:
            s_mid = math.exp(0.5 * (math.log(s_cur) + math.log(s_next)))
            y2 = y + d * (s_mid - s_cur)
            d2 = (y2 - st.sc.denoise(st.sc.time(s_mid), y2)) / s_mid
            y = y + d2 * (s_next - s_cur)
        return st.advance(i, y, den)


class DPMSolverPP2M(DiffusionSampler):
    """DPM-Solver++(2M): exponential integrator in ``λ = -log σ`` on the denoiser, linear multistep. 1 NFE/step.

    Options: ``solver_type`` (``"midpoint"``, the default of diffusers and k-diffusion, or ``"heun"``: the exact
    integral of the linear extrapolation), ``lower_order_final`` (first order on the last step).
    """

    name = "dpm_solver_pp_2m"
    nfe_per_step = 1
    order = 2.0
    default_grid = "edm"
    summary = "DPM-Solver++(2M); k-diffusion sample_dpmpp_2m, diffusers DPMSolverMultistep"

    def init(
        self,
        ctx: SamplingContext,
        x: Tensor,
        *,
        solver_type: str = "midpoint",
        lower_order_final: bool = False,
    ) -> _YState:
        if solver_type not in ("midpoint", "heun"):
            raise ValueError(f"solver_type must be 'midpoint' or 'heun', got {solver_type!r}")
        return _YState(ctx, x, solver_type=solver_type, lower_order_final=lower_order_final, old=None)

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: _YState) -> StepResult:
        st, y, old = state, state.y, state.old
        s_cur, s_next = st.sig[i], st.sig[i + 1]
        den = st.sc.denoise(float(ctx.times[i]), y)
        first = old is None or s_next == 0 or (st.lower_order_final and i == st.n - 1)
        if s_next == 0:
            y = den
        else:
            h = math.log(s_cur) - math.log(s_next)
            phi = -math.expm1(-h)
            if first:
                corr = den
            else:
                r = (math.log(st.sig[i - 1]) - math.log(s_cur)) / h
                if st.solver_type == "midpoint":
                    corr = den + (den - old) / (2 * r)
                else:
                    corr = den + (den - old) / r * (h - phi) / (h * phi)
            y = (s_next / s_cur) * y + phi * corr
        st.old = den
        return st.advance(i, y, den)
