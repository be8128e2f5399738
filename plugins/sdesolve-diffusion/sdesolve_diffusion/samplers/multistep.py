"""Exponential multistep recipes: DPM-Solver++(2M) SDE, DPM-Solver++(3M) SDE and DPM-Solver++(3M), on the core's
``exponential_ab2`` / ``exponential_ab3`` steppers.

========================= ==================== ========= ========== =========
sampler                   stepper              η         splitting  clock
========================= ==================== ========= ========== =========
``dpm_solver_pp_2m_sde``  ``exponential_ab2``  1 (SDE)   data       auto
``dpm_solver_pp_3m_sde``  ``exponential_ab3``  1 (SDE)   data       auto
``dpm_solver_pp_3m``      ``exponential_ab3``  0 (ODE)   data       time
========================= ==================== ========= ========== =========

**The clock.** A multistep stepper extrapolates ``N`` (here the denoiser ``D``) polynomially in the time variable of
the problem it is given, so that variable is part of the method. ``clock`` picks it: ``"sigma"`` (``s = σ/α``,
EDM's and k-diffusion's noise level), ``"asinh"`` (``s = asinh(σ/α)``: ``σ/α`` near the data, logarithmic at high
noise), ``"log_snr"`` (``λ = log(α/σ)``, DPM-Solver++'s variable), ``"time"`` (the process's own time, as every other
recipe; on ``edm`` it is ``σ``, on a DDPM table the timestep) or ``"auto"`` (the SDE recipes' default: ``sigma`` on
a coarse grid, see :func:`coarse_grid`, else ``asinh``). For ``sigma``, ``asinh`` and ``log_snr`` the recipe hands
the stepper the same problem written in ``s``: ``a_s = a dt/ds``,
``b_s = b dt/ds``, ``g_s = g |dt/ds|^{1/2}``, ``N_s(s, x) = N(t(s), x)``; the integrating factor ``L``, the drift
weight ``P`` and the noise integral are the same integrals (read from the process's closed forms where it has
them, the rest by the core's quadrature in ``s``, where the integrands are smooth even on a DDPM table whose
``log ᾱ`` has a kink at every timestep); the moments ``phi2``/``phi3`` are integrated in ``s``. The defaults are
the measured best on the lab's problem (``docs/benchmarks.md``, ``benchmarks/multistep_sde.py``): ``sigma`` for the
SDE recipes, ``time`` for the ODE.

**Checked on every lab problem** (``sharp1d``, ``gmm``, ``subspace_mixture``, ``digits``; docs/benchmarks.md, issue
11 goal 1): ``η = 1`` and the exact quadratic stay the defaults; the clock is ``"auto"`` since 2026-11-27: ``asinh`` is
better than ``sigma`` or equal from 20 NFE on all four problems (3M on ``sharp1d``: W1 0.00108 against 0.00258 at 20
NFE), but with the trained ``digits`` network at 10 NFE a clock that is logarithmic at high noise extrapolates its
poor high-noise denoiser too far (Fréchet 182 against 1.68), so on a coarse grid ``sigma`` stays. Rejected, each
losing somewhere:
``η < 1`` (with exact scores 0.5 is 1.2-1.7x better at 10-40 NFE, with the trained ``digits`` network Fréchet 11.5
against 1.67 at 10 NFE: less noise moves the sampler towards the network's probability-flow ODE, whose law is far
from the data); the timestep clock (2.2x better on ``sharp1d`` at 10 NFE, 2x worse on ``gmm``, diverges on
``digits``); ``clock="log_snr"`` (8.5x worse on ``sharp1d`` at 20 NFE). The 2M recipe's weight for the slope is the
exact integral of the line (k-diffusion ``"heun"``); k-diffusion's default ``"midpoint"`` is 2.4x better in ``λ`` on
``sharp1d`` (W1 0.0074 against 0.0177 at 20 NFE) but worse in ``σ`` (0.028 against 0.019), and the 3M recipe beats
both.

**The noise level** (``eta_data``, the SDE recipes): ``"auto"`` (default) lowers η to ``η/2`` near the data on a
coarse grid (:func:`~sdesolve_diffusion.samplers.solver.coarse_grid`), through ``Process.sde``'s ``eta_data``
(``η(t)² = η_d² + (η² - η_d²) s²/(1 + s²)``, ``s = σ/α``; the same marginals): at 10 NFE 1.2-2.3x better on the
exact-score lab problems, -8 % to +8 % with the trained ``digits`` network; from 12 NFE it would cost 5-8 % with the
network, so η stays constant there. ``eta_data=None`` is one η throughout (k-diffusion's and diffusers' updates).
The 3M SDE's ``clock="auto"`` keeps ``sigma`` up to 12 NFE (``asinh_below_ratio = 2.2``): in ``asinh`` it diverged
with the network at 12 NFE (Fréchet 7.5 against 1.5).

With the ``data`` splitting, ``clock="log_snr"``, ``eta_data=None`` and the stepper options below these are
k-diffusion's samplers,
equal to round-off on the same noise (``plugins/sdesolve-lab/tests/test_peer_multistep_sde.py``):

* ``dpm_solver_pp_2m_sde`` = ``sample_dpmpp_2m_sde(solver_type="heun")`` (``exponential_ab2`` integrates the linear
  extrapolation exactly against ``e^{-(1+η)h}``; k-diffusion's default ``"midpoint"`` freezes it at the step's
  midpoint instead, a different second-order weight);
* ``dpm_solver_pp_3m_sde`` with ``start="lower_order", curvature=0.5`` = ``sample_dpmpp_3m_sde`` (k-diffusion's
  second-difference term is half the exact integral of the quadratic; ``curvature=1`` is exact, the default).

k-diffusion's ``eta`` is the square of ours (its ``e^{-(1+η_kd) h}`` is our ``c = (1 + η²)/2``): they coincide at
0 and 1. ``bm=`` is a Brownian path in the process's solver time, as for every recipe: each step reads the path's
increment over ``[t_k, t_{k+1}]`` and rescales it to the clock's variance ``|Δs|`` (local weight error ``O(h²)``
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
from sdesolve_diffusion.samplers.solver import COARSE_RATIO, SolverSampler, coarse_grid

__all__ = [
    "CLOCKS",
    "COARSE_RATIO",
    "Clock",
    "DPMSolverPP2MSDE",
    "DPMSolverPP3M",
    "DPMSolverPP3MSDE",
    "MultistepSampler",
    "auto_clock",
    "coarse_grid",
]

CLOCKS = ("sigma", "asinh", "log_snr", "time", "auto")


def auto_clock(process: Process, times: Tensor, ratio: float = COARSE_RATIO) -> str:
    """The clock ``"auto"`` stands for: ``"sigma"`` on a grid whose steps divide ``σ/α`` by more than ``ratio`` on
    average (:func:`coarse_grid`), else ``"asinh"``."""
    return "sigma" if coarse_grid(process, times, ratio) else "asinh"


class Clock:
    """A change of time ``t ↦ s`` of a process in which a multistep stepper extrapolates ``N``:

    * ``"sigma"``: ``s = σ(t)/α(t)``, the noise level of ``x/α`` (EDM's and k-diffusion's time; increases with t);
    * ``"asinh"``: ``s = asinh(σ/α)``: ``σ/α`` below 1 (the data's scale, unit variance as VP assumes), ``log(2σ/α)``
      well above it (increases with t);
    * ``"log_snr"``: ``s = λ = log(α/σ) = -log(σ/α)`` (DPM-Solver++'s variable; decreases as t increases).
    """

    def __init__(self, process: Process, name: str) -> None:
        if name not in ("sigma", "asinh", "log_snr"):
            raise ValueError(f"a clock is 'sigma', 'asinh' or 'log_snr', got {name!r}")
        self.process, self.name = process, name
        self.increasing = name != "log_snr"  # the orientation of s against t

    def of(self, t: Tensor) -> Tensor:
        """``s(t)``."""
        if self.name == "log_snr":
            return self.process.log_snr(t)
        sigma = self.process.edm_sigma(t)
        return sigma if self.name == "sigma" else torch.asinh(sigma)

    def time(self, s: Tensor) -> Tensor:
        """``t(s)``."""
        if self.name == "log_snr":
            return self.process.t_from_edm_sigma(torch.exp(-s))
        return self.process.t_from_edm_sigma(s if self.name == "sigma" else torch.sinh(s))

    def dt_ds(self, t: Tensor) -> Tensor:
        """``dt/ds`` at ``t``: ``dλ/dt = dlog α/dt - dlog σ/dt``, ``d(σ/α)/dt = -(σ/α) dλ/dt``,
        ``d asinh(σ/α)/dt = (1 + (σ/α)²)^{-1/2} d(σ/α)/dt``."""
        p = self.process
        dlam = p.dlog_alpha(t) - p.dlog_sigma(t)
        if self.name == "log_snr":
            return 1.0 / dlam
        sigma = p.edm_sigma(t)
        dsigma = -sigma * dlam
        return 1.0 / (dsigma if self.name == "sigma" else dsigma / torch.sqrt(1.0 + sigma * sigma))

    def problem(self, sde: SemilinearSDE) -> SemilinearSDE:
        """``sde`` written in ``s`` (same solution, same noise integrals; see the module docstring)."""

        def a(s: Tensor) -> Tensor:
            t = self.time(s)
            return sde.linear(t) * self.dt_ds(t)

        def b(s: Tensor) -> Tensor:
            t = self.time(s)
            return sde.weight(t) * self.dt_ds(t)

        def g(s: Tensor) -> Tensor:
            t = self.time(s)
            return sde.diffusion(t) * self.dt_ds(t).abs().sqrt()

        def nonlinear(s: Tensor, x: Tensor) -> Tensor:
            return sde.nonlinear(self.time(s.to(F64)).to(s.dtype), x)

        return SemilinearSDE(
            a=a,
            b=b,
            g=None if sde.is_ode else g,
            nonlinear=nonlinear,
            factor=None if sde.factor is None else _ClockFactor(sde.factor, self),
            name=f"{sde.name} in {self.name} time",
            time_layout=sde.time_layout,
        )


class _ClockFactor(IntegratingFactor):
    """The closed forms of a factor in diffusion time, read in the clock's time: ``L`` and ``P`` are unchanged by the
    change of variable, ``Q`` changes sign with the orientation (``dt/ds < 0`` for ``λ``)."""

    def __init__(self, factor: IntegratingFactor, clock: Clock) -> None:
        self.factor, self.clock = factor, clock

    def provides(self, name: str) -> bool:
        return name != "sample_time" and self.factor.provides(name)

    def log_growth(self, t: Tensor, u: Tensor) -> Tensor:
        return self.factor.log_growth(self.clock.time(t), self.clock.time(u))

    def drift_integral(self, t: Tensor, u: Tensor) -> Tensor:
        return self.factor.drift_integral(self.clock.time(t), self.clock.time(u))

    def noise_integral(self, t: Tensor, u: Tensor) -> Tensor:
        q = self.factor.noise_integral(self.clock.time(t), self.clock.time(u))
        return q if self.clock.increasing else -q


class _PathInClock:
    """A Brownian path in the process's solver time ``-t``, read by a solve in a clock's time: the increment over a
    step ``[s_k, s_{k+1}]`` is the path's over ``[t_k, t_{k+1}]`` scaled to variance ``|Δs|``."""

    def __init__(self, bm: Callable[..., Tensor], grid: Tensor, times: Tensor, clock: Clock) -> None:
        self.bm, self.clock = bm, clock
        pairs = list(zip(grid.tolist(), times.tolist(), strict=True))
        self.times = {float(v): float(t) for v, t in pairs} | {-float(v): float(t) for v, t in pairs}
        self.sign = 1.0 if float(grid[1] - grid[0]) > 0 else -1.0  # the solve's solver time is sign · s

    def _t(self, solver_time: float) -> float:
        t = self.times.get(solver_time)
        if t is None:
            t = float(self.clock.time(torch.tensor(self.sign * solver_time, dtype=F64)))
        return t

    def __call__(self, sa: Any, sb: Any, *args: Any, **kwargs: Any) -> Tensor:
        if args or kwargs:
            raise ValueError(f"a path read in {self.clock.name} time answers increments only (no Lévy area)")
        ta, tb = self._t(float(sa)), self._t(float(sb))
        return self.bm(-ta, -tb) * math.sqrt(abs(float(sb) - float(sa)) / abs(tb - ta))


class MultistepSampler(SolverSampler):
    """A :class:`~sdesolve_diffusion.samplers.solver.SolverSampler` that solves in the ``clock`` it names:
    ``"sigma"`` (``σ/α``), ``"log_snr"`` (``λ = log(α/σ)``, DPM-Solver++'s variable) or ``"time"`` (the process's own
    time, as every other recipe)."""

    clock: ClassVar[str] = "sigma"
    #: ``clock="auto"`` takes ``asinh`` when the grid's steps divide ``σ/α`` by at most this on average
    asinh_below_ratio: ClassVar[float] = COARSE_RATIO
    splitting: ClassVar[str] = "data"
    on_vp: ClassVar[bool] = False  # the clock is the time variable: "time" means the process's own, on every process

    @classmethod
    def _solve_options(cls) -> dict[str, Any]:
        return {**super()._solve_options(), "eta_data": cls.eta_data, "clock": cls.clock}

    @classmethod
    def _run_parameters(cls) -> tuple[dict[str, Any], str | None]:
        return {
            "splitting": cls.splitting,
            "eta": cls.eta,
            "eta_data": cls.eta_data,
            "clock": cls.clock,
        }, "stepper_options"

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
        if clock == "auto":
            clock = auto_clock(ctx.process, ctx.times, self.asinh_below_ratio)
        if clock == "time":
            return super()._advance(ctx, x, on_step, stepper_options)
        if float(ctx.process.sigma(ctx.times[-1])) <= 0:
            raise ValueError(
                f"{self.name}: the grid ends at t={float(ctx.times[-1]):g} where σ = 0 (λ is infinite, σ/α has no "
                "inverse there); stop early (t_min > 0) and pass denoise=True to finish with the denoiser"
            )
        splitting = stepper_options.pop("splitting", None) or self.splitting
        eta, eta_data = self._take_eta(ctx, stepper_options)
        sde = ctx.process.sde(ctx.adapter, splitting, eta, eta_data)
        change = Clock(ctx.process, clock)
        grid = change.of(ctx.times)
        steps = grid[1:] - grid[:-1]
        if not bool((steps < 0).all() if change.increasing else (steps > 0).all()):
            raise ValueError(f"{self.name}: the grid's noise levels σ/α must be distinct and decreasing")
        bm = stepper_options.pop("bm", None)
        if bm is not None:
            bm = _PathInClock(bm, grid, ctx.times, change)
        return solve(
            change.problem(sde),
            x,
            grid,
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
    clock = "auto"  # measured: sigma on coarse grids, asinh otherwise (docs/benchmarks.md)
    eta_data = "auto"  # measured: eta/2 near the data on coarse grids, eta everywhere otherwise (docs/benchmarks.md)
    default_grid = "logsnr"  # measured: better than edm at 10-40 NFE on the lab problems (docs/benchmarks.md)
    summary = "DPM-Solver++(2M) SDE: exponential AB2 in σ on the reverse SDE (k-diffusion sample_dpmpp_2m_sde)"


class DPMSolverPP3MSDE(MultistepSampler):
    name = "dpm_solver_pp_3m_sde"
    stepper = "exponential_ab3"
    clock = "auto"  # measured: sigma on coarse grids, asinh otherwise (docs/benchmarks.md)
    # measured: the quadratic reaches further than the 2M's line; in asinh with the trained digits network it
    # diverges at 12 NFE (Fréchet 7.5 against 1.5 in σ), so asinh only from 14 NFE over the lab's range
    asinh_below_ratio = 2.2
    eta_data = "auto"  # measured: eta/2 near the data on coarse grids, eta everywhere otherwise (docs/benchmarks.md)
    default_grid = "logsnr"  # measured: better than edm at 10-40 NFE on the lab problems (docs/benchmarks.md)
    summary = "DPM-Solver++(3M) SDE: exponential AB3 in σ on the reverse SDE (k-diffusion sample_dpmpp_3m_sde)"


class DPMSolverPP3M(MultistepSampler):
    name = "dpm_solver_pp_3m"
    stepper = "exponential_ab3"
    eta = 0.0
    clock = "time"
    summary = "DPM-Solver++(3M): exponential AB3 on the probability-flow ODE, exact quadratic, third-order start"
