"""Samplers that are a recipe on the core: process + splitting + churn ``η`` + grid + a registered stepper.

========================= ====================== ========= ==========
sampler                   stepper                η         splitting
========================= ====================== ========= ==========
``euler_maruyama_sde``    ``euler_maruyama``     1 (SDE)   score
``exponential_euler_sde`` ``exponential_euler``  1 (SDE)   relative
``ddram``                 ``randomized_midpoint`` 1 (SDE)  relative
``ddram_ode``             ``randomized_midpoint`` 0 (ODE)  relative
========================= ====================== ========= ==========

Options: ``splitting``, ``eta``, ``denoise`` (finish with the denoiser at the last time) and the stepper's own
options (e.g. ``distribution="uniform"`` for the randomized midpoint).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from torch import Tensor

from sdesolve import get_stepper, solve
from sdesolve_diffusion.samplers.base import DiffusionSampler, SamplingContext

__all__ = ["DDRaM", "DDRaMODE", "EulerMaruyamaSDE", "ExponentialEulerSDE", "SolverSampler"]

_SOLVE_OPTIONS = ("bm", "subdivisions")  # keywords of sdesolve.solve a recipe sampler passes through


class SolverSampler(DiffusionSampler):
    """Integrates the reverse dynamics of the process with a core stepper."""

    stepper: ClassVar[str] = ""
    eta: ClassVar[float] = 1.0
    splitting: ClassVar[str] = "relative"

    @classmethod
    def options(cls) -> dict[str, Any]:
        """``splitting``, ``eta``, the options ``solve`` takes for the integration itself (``bm``, a Brownian path;
        ``subdivisions`` of the coefficient tables) and the options of the stepper it runs."""
        solve_options = {name: inspect.signature(solve).parameters[name].default for name in _SOLVE_OPTIONS}
        return {"splitting": cls.splitting, "eta": cls.eta, **solve_options, **get_stepper(cls.stepper).options()}

    def run(
        self,
        ctx: SamplingContext,
        x: Tensor,
        *,
        splitting: str | None = None,
        eta: float | None = None,
        **stepper_options: Any,
    ) -> Tensor:
        if float(ctx.process.sigma(ctx.times[-1])) <= 0:
            raise ValueError(
                f"{self.name}: the grid ends at t={float(ctx.times[-1]):g} where σ = 0 and the score is singular; "
                "stop early (t_min > 0) and pass denoise=True to finish with the denoiser"
            )
        sde = ctx.process.sde(ctx.adapter, splitting or self.splitting, self.eta if eta is None else eta)
        x = solve(
            sde,
            x,
            ctx.times,
            self.stepper,
            generator=ctx.generator,
            callback=lambda k, xk: ctx.report(k, float(ctx.times[k + 1]), xk),
            check_finite=False,  # the reporter watches every sampler's states
            **stepper_options,
        )
        return x


class EulerMaruyamaSDE(SolverSampler):
    name = "euler_maruyama_sde"
    stochastic = True
    stepper = "euler_maruyama"
    splitting = "score"
    nfe_per_step = 1
    summary = "EMD: Euler–Maruyama on the reverse SDE"


class ExponentialEulerSDE(SolverSampler):
    name = "exponential_euler_sde"
    stochastic = True
    stepper = "exponential_euler"
    nfe_per_step = 1
    summary = "EED: exponential Euler on the reverse SDE, relative-score splitting"


class DDRaM(SolverSampler):
    name = "ddram"
    stochastic = True
    stepper = "randomized_midpoint"
    nfe_per_step = 2
    summary = "DDRaM: randomized midpoint on the reverse SDE, importance-sampled τ, relative score"


class DDRaMODE(SolverSampler):
    name = "ddram_ode"
    stepper = "randomized_midpoint"
    eta = 0.0
    nfe_per_step = 2
    order = 1.5
    summary = "randomized midpoint on the probability-flow ODE"
