"""``sa_solver``: the core ``sa_solver`` stepper (stochastic Adams predictor + corrector) on the reverse SDE.

A :class:`~sdesolve_diffusion.samplers.multistep.MultistepSampler` recipe: data splitting, ``eta = τ`` (SA-Solver's
noise level: the problem ``dx = [f x - (1+τ²)/2 g² ∇log p] dt + τ g dW``, ``τ = 1`` the reverse SDE, ``τ = 0`` the
probability-flow ODE). The stepper interpolates ``N`` (the denoiser) polynomially in the clock's variable. In
``λ = log(α/σ)`` (``clock="log_snr"``) its weights are the paper's, and with ``variant="bh1"`` the recipe is
diffusers' ``SASolverScheduler(algorithm_type="data_prediction", tau_func=lambda t: τ)`` on the same noise, to
round-off (``plugins/sdesolve-lab/tests/test_peer_sa_solver.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sdesolve_diffusion.samplers.multistep import MultistepSampler

__all__ = ["SASolverSampler"]


class SASolverSampler(MultistepSampler):
    """SA-Solver (Xue et al. 2023) on the reverse SDE, data prediction. 1 NFE per step.

    Options: the stepper's ``predictor_order`` (1-4), ``corrector_order`` (0-4), ``variant`` (``"exact"``/``"bh1"``)
    and ``lower_order_final``; ``eta`` (``τ``), ``clock``, ``splitting``, ``subdivisions``, ``bm``.
    """

    name = "sa_solver"
    stepper = "sa_solver"
    eta = 1.0
    clock = "sigma"
    default_grid = "logsnr"  # measured (docs/benchmarks.md "SA-Solver"): better than edm in 8 of 16 rows, worse in 3
    # measured on every lab problem (docs/benchmarks.md "SA-Solver"): orders 3/3 within 10 % of the best pair at
    # 10-20 NFE (2/2, 2/3 lose 1.1-2.7x); clock log_snr 3.3-5.7x worse at 10 NFE, log_snr and time diverge on digits;
    # eta 0.7 helps exact scores but is 1.4-1.5x worse on the trained digits network
    stepper_defaults: ClassVar[dict[str, Any]] = {"predictor_order": 3, "corrector_order": 3}
    summary = "SA-Solver: stochastic Adams predictor + corrector on the reverse SDE (diffusers SASolverScheduler)"
