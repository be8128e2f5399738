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

import torch
from torch import Tensor

from sdesolve.random import randn
from sdesolve_diffusion.adapters import ModelAdapter
from sdesolve_diffusion.processes import Process
from sdesolve_diffusion.samplers.base import DiffusionSampler, SamplingContext, per_sample

__all__ = ["DPMSolver2", "DPMSolverPP2M", "EDMHeun"]


class _Scaled:
    """The denoiser in ``y``-space at a noise level, with the matching diffusion time."""

    def __init__(self, adapter: ModelAdapter, process: Process) -> None:
        self.adapter, self.process = adapter, process

    def time(self, sigma: float) -> float:
        return float(self.process.t_from_edm_sigma(torch.tensor(sigma, dtype=torch.float64)))

    def denoise(self, t: float, y: Tensor) -> Tensor:
        alpha = float(self.process.alpha(torch.tensor(t, dtype=torch.float64)))
        return self.adapter.data(per_sample(t, y), alpha * y)


def _levels(process: Process, times: Tensor) -> tuple[list[float], list[float]]:
    return process.edm_sigma(times).tolist(), process.alpha(times).tolist()


class EDMHeun(DiffusionSampler):
    """EDM's stochastic Heun sampler (Karras et al. 2022, Algorithm 2). 2 NFE per step (1 on a step to σ = 0).

    Options: ``S_churn`` (0: deterministic), ``S_min``, ``S_max``, ``S_noise``.
    """

    name = "edm_heun"
    nfe_per_step = 2
    order = 2.0
    default_grid = "edm"
    summary = "EDM Heun (Algorithm 2) with S_churn/S_min/S_max/S_noise; k-diffusion sample_heun"

    def run(
        self,
        ctx: SamplingContext,
        x: Tensor,
        *,
        S_churn: float = 0.0,
        S_min: float = 0.0,
        S_max: float = math.inf,
        S_noise: float = 1.0,
    ) -> Tensor:
        if S_churn < 0 or S_noise < 0:
            raise ValueError(f"S_churn and S_noise must be >= 0, got {S_churn}, {S_noise}")
        sc = _Scaled(ctx.adapter, ctx.process)
        sig, alpha = _levels(ctx.process, ctx.times)
        n = ctx.times.numel() - 1
        y = x / alpha[0]
        for i in range(n):
            s_cur, s_next = sig[i], sig[i + 1]
            gamma = min(S_churn / n, math.sqrt(2) - 1) if S_min <= s_cur <= S_max else 0.0
            s_hat = s_cur * (1 + gamma)
            t_hat = float(ctx.times[i]) if gamma == 0 else sc.time(s_hat)
            if S_churn > 0:
                z = randn(y.shape, ctx.generator, y.device, y.dtype)
                if gamma > 0:
                    y = y + math.sqrt(s_hat**2 - s_cur**2) * S_noise * z
            den = sc.denoise(t_hat, y)
            d = (y - den) / s_hat
            y_next = y + d * (s_next - s_hat)
            if s_next > 0:
                den2 = sc.denoise(float(ctx.times[i + 1]), y_next)
                d2 = (y_next - den2) / s_next
                y_next = y + (d + d2) / 2 * (s_next - s_hat)
            y = y_next
            ctx.report(i, float(ctx.times[i + 1]), alpha[i + 1] * y, denoised=den)
        return alpha[-1] * y


class DPMSolver2(DiffusionSampler):
    """DPM-Solver-2: Euler to the log-σ midpoint, then the full step with the midpoint slope. 2 NFE per step."""

    name = "dpm_solver_2"
    nfe_per_step = 2
    order = 2.0
    default_grid = "edm"
    summary = "DPM-Solver-2 (singlestep, log-σ midpoint); k-diffusion sample_dpm_2"

    def run(
        self,
        ctx: SamplingContext,
        x: Tensor,
    ) -> Tensor:
        sc = _Scaled(ctx.adapter, ctx.process)
        sig, alpha = _levels(ctx.process, ctx.times)
        y = x / alpha[0]
        for i in range(ctx.times.numel() - 1):
            s_cur, s_next = sig[i], sig[i + 1]
            den = sc.denoise(float(ctx.times[i]), y)
            d = (y - den) / s_cur
            if s_next == 0:
                y = y + d * (s_next - s_cur)
            else:
                s_mid = math.exp(0.5 * (math.log(s_cur) + math.log(s_next)))
                y2 = y + d * (s_mid - s_cur)
                d2 = (y2 - sc.denoise(sc.time(s_mid), y2)) / s_mid
                y = y + d2 * (s_next - s_cur)
            ctx.report(i, float(ctx.times[i + 1]), alpha[i + 1] * y, denoised=den)
        return alpha[-1] * y


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

    def run(
        self,
        ctx: SamplingContext,
        x: Tensor,
        *,
        solver_type: str = "midpoint",
        lower_order_final: bool = False,
    ) -> Tensor:
        if solver_type not in ("midpoint", "heun"):
            raise ValueError(f"solver_type must be 'midpoint' or 'heun', got {solver_type!r}")
        sc = _Scaled(ctx.adapter, ctx.process)
        sig, alpha = _levels(ctx.process, ctx.times)
        n = ctx.times.numel() - 1
        y = x / alpha[0]
        old = None
        for i in range(n):
            s_cur, s_next = sig[i], sig[i + 1]
            den = sc.denoise(float(ctx.times[i]), y)
            first = old is None or s_next == 0 or (lower_order_final and i == n - 1)
            if s_next == 0:
                y = den
            else:
                h = math.log(s_cur) - math.log(s_next)
                phi = -math.expm1(-h)
                if first:
                    corr = den
                else:
                    r = (math.log(sig[i - 1]) - math.log(s_cur)) / h
                    if solver_type == "midpoint":
                        corr = den + (den - old) / (2 * r)
                    else:
                        corr = den + (den - old) / r * (h - phi) / (h * phi)
                y = (s_next / s_cur) * y + phi * corr
            old = den
            ctx.report(i, float(ctx.times[i + 1]), alpha[i + 1] * y, denoised=den)
        return alpha[-1] * y
