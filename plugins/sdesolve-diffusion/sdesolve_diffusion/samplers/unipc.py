"""``unipc``: the core ``unipc`` stepper (UniP-p predictor + UniC corrector) on the probability-flow ODE.

A recipe over the core stepper, integrated in the **log-noise time** ``ℓ = log(σ/α) = -λ`` rather than in the
process's diffusion time. The stepper interpolates ``N`` polynomially in its solver time; UniPC (like every
DPM-Solver-family method) interpolates the data prediction in ``λ``, where it is smooth: the same exponential
integrator with diffusion time as the variable is a different method on every process whose ``λ`` is not an affine
function of ``t`` (``vp``, ``discrete``, ``edm``…), and measures worse (docs/samplers/unipc.md). The change of
variable is exact: ``t = t(ℓ)`` by the process's ``t_from_edm_sigma``, ``a`` and ``b`` are multiplied by
``dt/dℓ = 1/(dlog σ/dt - dlog α/dt)`` and the closed forms of the process's integrating factor are composed with
``t(ℓ)`` (the integrals do not depend on the variable). The model is still called at diffusion times.

With the data splitting (the default) this is UniPC's data-prediction form, the update of diffusers'
``UniPCMultistepScheduler(predict_x0=True, solver_order=order, solver_type=variant)`` on any process, to round-off
(``plugins/sdesolve-lab/tests/test_peer_unipc.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from sdesolve import IntegratingFactor, SemilinearSDE, solve
from sdesolve_diffusion.processes import Process
from sdesolve_diffusion.samplers.base import SamplingContext
from sdesolve_diffusion.samplers.solver import SolverSampler

__all__ = ["UniPCSampler", "in_log_noise_time"]


class _ComposedFactor(IntegratingFactor):
    """A factor's closed forms at ``t(s)``: the integrals over ``[s, u]`` are those over ``[t(s), t(u)]``."""

    def __init__(self, factor: IntegratingFactor, to_t: Callable[[Tensor], Tensor]) -> None:
        self.factor, self.to_t = factor, to_t

    def provides(self, name: str) -> bool:
        return name in ("log_growth", "drift_integral") and self.factor.provides(name)

    def log_growth(self, s: Tensor, u: Tensor) -> Tensor:
        return self.factor.log_growth(self.to_t(s), self.to_t(u))

    def drift_integral(self, s: Tensor, u: Tensor) -> Tensor:
        return self.factor.drift_integral(self.to_t(s), self.to_t(u))


def in_log_noise_time(sde: SemilinearSDE, process: Process) -> tuple[SemilinearSDE, Callable[[Tensor], Tensor]]:
    """``sde`` (an ODE of ``process`` in diffusion time) rewritten in ``ℓ = log(σ/α)``, and the map ``t ↦ ℓ``.

    ``t(ℓ) = process.t_from_edm_sigma(e^ℓ)``; ``a`` and ``b`` are multiplied by ``dt/dℓ``; ``N`` is called at
    ``t(ℓ)``; the factor's closed forms are composed with ``t(ℓ)``.
    """
    if not sde.is_ode:
        raise ValueError("the log-noise time change is written for the probability-flow ODE (eta = 0)")

    def to_t(s: Tensor) -> Tensor:
        return process.t_from_edm_sigma(torch.exp(s))

    def dt_dl(t: Tensor) -> Tensor:
        return 1.0 / (process.dlog_sigma(t) - process.dlog_alpha(t))

    def a(s: Tensor) -> Tensor:
        t = to_t(s)
        return sde.linear(t) * dt_dl(t)

    def b(s: Tensor) -> Tensor:
        t = to_t(s)
        return sde.weight(t) * dt_dl(t)

    inner = sde.nonlinear

    def nonlinear(s: Tensor, x: Tensor) -> Tensor:
        return inner(to_t(s), x)

    def to_l(t: Tensor) -> Tensor:
        return torch.log(process.edm_sigma(t))

    factor = None if sde.factor is None else _ComposedFactor(sde.factor, to_t)
    changed = SemilinearSDE(
        a=a,
        b=b,
        nonlinear=nonlinear,
        factor=factor,
        name=f"{sde.name} in log(sigma/alpha)",
        time_layout=sde.time_layout,
    )
    return changed, to_l


class UniPCSampler(SolverSampler):
    """UniPC (Zhao et al. 2023) on the probability-flow ODE: the core ``unipc`` stepper, data splitting, solved in
    ``ℓ = log(σ/α)``. 1 NFE per step. Options: the stepper's (``order``, ``variant``, ``corrector``,
    ``lower_order_final``), ``splitting``, ``subdivisions``; the recipe is deterministic (``eta = 0``)."""

    name = "unipc"
    stepper = "unipc"
    eta = 0.0
    splitting = "data"
    default_grid = "edm"
    summary = "UniPC (predictor + UniC corrector) in log-noise time; diffusers UniPCMultistepScheduler"

    def _advance(
        self,
        ctx: SamplingContext,
        x: Tensor,
        on_step: Callable[..., None],
        options: dict[str, Any],
    ) -> Tensor:
        if float(ctx.process.sigma(ctx.times[-1])) <= 0:
            raise ValueError(
                f"{self.name}: the grid ends at t={float(ctx.times[-1]):g} where σ = 0 and log(σ/α) is -inf; "
                "stop early (t_min > 0) and pass denoise=True to finish with the denoiser"
            )
        stepper_options = dict(options)
        splitting = stepper_options.pop("splitting", None) or self.splitting
        eta = stepper_options.pop("eta", None)
        eta = self.eta if eta is None else eta
        if eta != 0:
            raise ValueError(f"{self.name} integrates the probability-flow ODE: eta must be 0, got {eta!r}")
        sde, to_l = in_log_noise_time(ctx.process.sde(ctx.adapter, splitting, 0.0), ctx.process)
        return solve(
            sde,
            x,
            to_l(ctx.times),
            self.stepper,
            generator=ctx.generator,
            callback=on_step,
            check_finite=False,
            **stepper_options,
        )
