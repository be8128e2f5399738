"""``sa_solver``: the core ``sa_solver`` stepper (stochastic Adams predictor + corrector) on the reverse SDE.

A :class:`~sdesolve_diffusion.samplers.multistep.MultistepSampler` recipe: data splitting, ``eta = τ`` (SA-Solver's
noise level: the problem ``dx = [f x - (1+τ²)/2 g² ∇log p] dt + τ g dW``, ``τ = 1`` the reverse SDE, ``τ = 0`` the
probability-flow ODE). The stepper interpolates ``N`` (the denoiser) polynomially in the clock's variable. In
``λ = log(α/σ)`` (``clock="log_snr"``) its weights are the paper's, and with ``variant="bh1"`` the recipe is
diffusers' ``SASolverScheduler(algorithm_type="data_prediction", tau_func=lambda t: τ)`` on the same noise, to
round-off (``plugins/sdesolve-lab/tests/test_peer_sa_solver.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from torch import Tensor

from sdesolve_diffusion.processes import Process
from sdesolve_diffusion.samplers.base import SamplingContext
from sdesolve_diffusion.samplers.multistep import MultistepSampler, coarse_grid

__all__ = ["SASolverSampler", "auto_corrector_order"]


def auto_corrector_order(process: Process, times: Tensor) -> int:
    """The corrector order ``"auto"`` stands for on the grid ``times``: 1 on a coarse grid (its steps dividing ``σ/α``
    by more than :data:`~sdesolve_diffusion.samplers.multistep.COARSE_RATIO` on average), where a higher-order
    corrector extrapolates too far, else 3. Measured (docs/benchmarks.md "SA-Solver"): the first-order corrector is
    better at 6-10 NFE on every lab problem, mixed at 12-15 and worse on 3 of 4 from 17."""
    return 1 if coarse_grid(process, times) else 3


class SASolverSampler(MultistepSampler):
    """SA-Solver (Xue et al. 2023) on the reverse SDE, data prediction. 1 NFE per step.

    Options: the stepper's ``predictor_order`` (1-4), ``corrector_order`` (0-4, or ``"auto"``, the default: 1 on a
    coarse grid, 3 otherwise, see :func:`auto_corrector_order`), ``variant`` (``"exact"``/``"bh1"``)
    and ``lower_order_final``; ``eta`` (``τ``), ``clock``, ``splitting``, ``subdivisions``, ``bm``.
    """

    name = "sa_solver"
    stepper = "sa_solver"
    eta = 1.0
    eta_data = "auto"  # measured: eta/2 near the data on coarse grids, eta everywhere otherwise (docs/benchmarks.md)
    clock = "sigma"
    default_grid = "logsnr"  # measured (docs/benchmarks.md "SA-Solver"): better than edm in 8 of 16 rows, worse in 3
    # measured on every lab problem (docs/benchmarks.md "SA-Solver"): orders 3/3 within 10 % of the best pair at
    # 10-20 NFE (2/2, 2/3 lose 1.1-2.7x); clock log_snr 3.3-5.7x worse at 10 NFE, log_snr and time diverge on digits;
    # eta 0.7 helps exact scores but is 1.4-1.5x worse on the trained digits network
    # corrector_order "auto": 1 on a coarse grid, 3 otherwise (auto_corrector_order; measured at 6-17 NFE)
    stepper_defaults: ClassVar[dict[str, Any]] = {"predictor_order": 3, "corrector_order": "auto"}
    summary = "SA-Solver: stochastic Adams predictor + corrector on the reverse SDE (diffusers SASolverScheduler)"

    def _advance(
        self,
        ctx: SamplingContext,
        x: Tensor,
        on_step: Callable[..., None],
        options: dict[str, Any],
    ) -> Tensor:
        if options.get("corrector_order") == "auto":
            options = {**options, "corrector_order": auto_corrector_order(ctx.process, ctx.times)}
        return super()._advance(ctx, x, on_step, options)
