"""Exponential multistep recipes: DPM-Solver++(2M) SDE, DPM-Solver++(3M) SDE and DPM-Solver++(3M), on the core's
``exponential_ab2`` / ``exponential_ab3`` steppers.

========================= ==================== ========= ========== =========
sampler                   stepper              η         splitting  clock
========================= ==================== ========= ========== =========
``dpm_solver_pp_2m_sde``  ``exponential_ab2``  1 (SDE)   data       log_snr
``dpm_solver_pp_3m_sde``  ``exponential_ab3``  1 (SDE)   data       log_snr
``dpm_solver_pp_3m``      ``exponential_ab3``  0 (ODE)   data       log_snr
========================= ==================== ========= ========== =========

**The clock.** A multistep stepper extrapolates ``N`` (here the denoiser ``D``) polynomially in the time variable of
the problem it is given. DPM-Solver++ extrapolates in ``λ = log(α/σ)``, where ``D`` is smooth on every process (for
a DDPM table ``log ᾱ`` is piecewise linear in the timestep, so ``D`` has kinks in ``t`` but not in ``λ``). With
``clock="log_snr"`` (the default) the recipe hands the stepper the same problem written in ``λ``:
``a_λ = a dt/dλ``, ``b_λ = b dt/dλ``, ``g_λ = g |dt/dλ|^{1/2}``, ``N_λ(λ, x) = N(t(λ), x)``; the integrating factor
``L``, the drift weight ``P`` and the noise integral are the same integrals (read from the process's closed forms
where it has them); the moments ``phi2``/``phi3`` are integrated in ``λ``. ``clock="time"`` solves in the process's
own time, like every other recipe.

With the ``data`` splitting, ``clock="log_snr"`` and the stepper options below these are k-diffusion's samplers,
equal to round-off on the same noise (``plugins/sdesolve-lab/tests/test_peer_multistep_sde.py``):

* ``dpm_solver_pp_2m_sde`` = ``sample_dpmpp_2m_sde(solver_type="heun")`` (``exponential_ab2`` integrates the linear
  extrapolation exactly against ``e^{-(1+η)h}``; k-diffusion's default ``"midpoint"`` freezes it at the step's
  midpoint instead, a different second-order weight);
* ``dpm_solver_pp_3m_sde`` with ``start="lower_order", curvature=0.5`` = ``sample_dpmpp_3m_sde`` (k-diffusion's
  second-difference term is half the exact integral of the quadratic; ``curvature=1`` is exact, the default).

k-diffusion's ``eta`` is the square of ours (its ``e^{-(1+η_kd) h}`` is our ``c = (1 + η²)/2``): they coincide at
0 and 1. ``bm=`` is a Brownian path in the process's solver time, as for every recipe: each step reads the path's
increment over ``[t_k, t_{k+1}]`` and rescales it to ``λ``'s variance ``|Δλ|`` (local weight error ``O(h²)``
relative, below the projection's own ``O(h^{3/2})``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor

from sdesolve import IntegratingFactor, SemilinearSDE, solve
from sdesolve.dtypes import F64
from sdesolve_diffusion.processes import Process
from sdesolve_diffusion.samplers.base import SamplingContext
from sdesolve_diffusion.samplers.solver import SolverSampler

__all__ = ["CLOCKS", "DPMSolverPP2MSDE", "DPMSolverPP3M", "DPMSolverPP3MSDE", "LogSNRClock", "MultistepSampler"]

CLOCKS = ("log_snr", "time")


class LogSNRClock:
    """The change of time ``t ↦ λ = log(α(t)/σ(t))`` of a process (``λ`` increases as ``t`` decreases)."""

    def __init__(self, process: Process) -> None:
        self.process = process

    def lam(self, t: Tensor) -> Tensor:
        """``λ(t)``."""
        return self.process.log_snr(t)

    def time(self, lam: Tensor) -> Tensor:
        """``t(λ)``: the time where ``σ/α = e^{-λ}``."""
        return self.process.t_from_edm_sigma(torch.exp(-lam))

    def dt_dlam(self, t: Tensor) -> Tensor:
        """``dt/dλ = 1 / (dlog α/dt - dlog σ/dt)`` at ``t``."""
        p = self.process
        return 1.0 / (p.dlog_alpha(t) - p.dlog_sigma(t))

    def problem(self, sde: SemilinearSDE) -> SemilinearSDE:
        """``sde`` written in ``λ`` (same solution, same noise integrals; see the module docstring)."""

        def a(lam: Tensor) -> Tensor:
            t = self.time(lam)
            return sde.linear(t) * self.dt_dlam(t)

        def b(lam: Tensor) -> Tensor:
            t = self.time(lam)
            return sde.weight(t) * self.dt_dlam(t)

        def g(lam: Tensor) -> Tensor:
            t = self.time(lam)
            return sde.diffusion(t) * self.dt_dlam(t).abs().sqrt()

        def nonlinear(lam: Tensor, x: Tensor) -> Tensor:
            return sde.nonlinear(self.time(lam.to(F64)).to(lam.dtype), x)

        return SemilinearSDE(
            a=a,
            b=b,
            g=None if sde.is_ode else g,
            nonlinear=nonlinear,
            factor=None if sde.factor is None else _LogSNRFactor(sde.factor, self),
            name=f"{sde.name} in log-SNR time",
            time_layout=sde.time_layout,
        )


class _LogSNRFactor(IntegratingFactor):
    """The closed forms of a factor in diffusion time, read in ``λ``: ``L`` and ``P`` are unchanged by the change of
    variable, ``Q`` changes sign with the orientation (``dt/dλ < 0``)."""

    def __init__(self, factor: IntegratingFactor, clock: LogSNRClock) -> None:
        self.factor, self.clock = factor, clock

    def provides(self, name: str) -> bool:
        return name != "sample_time" and self.factor.provides(name)

    def log_growth(self, t: Tensor, u: Tensor) -> Tensor:
        return self.factor.log_growth(self.clock.time(t), self.clock.time(u))

    def drift_integral(self, t: Tensor, u: Tensor) -> Tensor:
        return self.factor.drift_integral(self.clock.time(t), self.clock.time(u))

    def noise_integral(self, t: Tensor, u: Tensor) -> Tensor:
        return -self.factor.noise_integral(self.clock.time(t), self.clock.time(u))


class _PathInLogSNR:
    """A Brownian path in the process's solver time ``s = -t``, read by a solve in ``λ``: the increment over a step
    ``[λ_k, λ_{k+1}]`` is the path's over ``[t_k, t_{k+1}]`` scaled to variance ``|Δλ|``."""

    def __init__(self, bm: Callable[..., Tensor], lam: Tensor, times: Tensor, clock: LogSNRClock) -> None:
        self.bm, self.clock = bm, clock
        self.times = {float(v): float(t) for v, t in zip(lam.tolist(), times.tolist(), strict=True)}

    def _t(self, lam: float) -> float:
        t = self.times.get(float(lam))
        return float(self.clock.time(torch.tensor(float(lam), dtype=F64))) if t is None else t

    def __call__(self, sa: Any, sb: Any, *args: Any, **kwargs: Any) -> Tensor:
        if args or kwargs:
            raise ValueError("a path read in log-SNR time answers increments only (no Lévy area)")
        ta, tb = self._t(float(sa)), self._t(float(sb))
        return self.bm(-ta, -tb) * math.sqrt(abs(float(sb) - float(sa)) / abs(tb - ta))


class MultistepSampler(SolverSampler):
    """A :class:`~sdesolve_diffusion.samplers.solver.SolverSampler` that solves in the ``clock`` it names:
    ``"log_snr"`` (``λ = log(α/σ)``, DPM-Solver++'s variable) or ``"time"`` (the process's own time)."""

    clock: ClassVar[str] = "log_snr"
    splitting: ClassVar[str] = "data"

    @classmethod
    def _solve_options(cls) -> dict[str, Any]:
        return {**super()._solve_options(), "clock": cls.clock}

    @classmethod
    def _run_parameters(cls) -> tuple[dict[str, Any], str | None]:
        return {"splitting": cls.splitting, "eta": cls.eta, "clock": cls.clock}, "stepper_options"

    def _advance(
        self,
        ctx: SamplingContext,
        x: Tensor,
        on_step: Callable[..., None],
        options: dict[str, Any],
    ) -> Tensor:
        stepper_options = dict(options)
        clock = stepper_options.pop("clock", None) or self.clock
        if clock not in CLOCKS:
            raise ValueError(f"{self.name}: clock must be one of {CLOCKS}, got {clock!r}")
        if clock == "time":
            return super()._advance(ctx, x, on_step, stepper_options)
        if float(ctx.process.sigma(ctx.times[-1])) <= 0:
            raise ValueError(
                f"{self.name}: the grid ends at t={float(ctx.times[-1]):g} where σ = 0 and λ is infinite; "
                "stop early (t_min > 0) and pass denoise=True to finish with the denoiser"
            )
        splitting = stepper_options.pop("splitting", None) or self.splitting
        eta = stepper_options.pop("eta", None)
        sde = ctx.process.sde(ctx.adapter, splitting, self.eta if eta is None else eta)
        lam_clock = LogSNRClock(ctx.process)
        lam = lam_clock.lam(ctx.times)
        if not bool((lam[1:] > lam[:-1]).all()):
            raise ValueError(f"{self.name}: log-SNR must increase along the grid (distinct decreasing noise levels)")
        bm = stepper_options.pop("bm", None)
        if bm is not None:
            bm = _PathInLogSNR(bm, lam, ctx.times, lam_clock)
        return solve(
            lam_clock.problem(sde),
            x,
            lam,
            self.stepper,
            bm=bm,
            generator=ctx.generator,
            callback=on_step,
            check_finite=False,
            **stepper_options,
        )


class DPMSolverPP2MSDE(MultistepSampler):
    name = "dpm_solver_pp_2m_sde"
    stepper = "exponential_ab2"
    summary = "DPM-Solver++(2M) SDE: exponential AB2 in log-SNR on the reverse SDE (k-diffusion sample_dpmpp_2m_sde)"


class DPMSolverPP3MSDE(MultistepSampler):
    name = "dpm_solver_pp_3m_sde"
    stepper = "exponential_ab3"
    summary = "DPM-Solver++(3M) SDE: exponential AB3 in log-SNR on the reverse SDE (k-diffusion sample_dpmpp_3m_sde)"


class DPMSolverPP3M(MultistepSampler):
    name = "dpm_solver_pp_3m"
    stepper = "exponential_ab3"
    eta = 0.0
    summary = "DPM-Solver++(3M): exponential AB3 in log-SNR on the probability-flow ODE"
