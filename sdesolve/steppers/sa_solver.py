"""SA-Solver (Xue et al. 2023): the stochastic Adams predictor and corrector, on the semilinear problem.

An exponential Adams method integrates ``N`` exactly against the integrating factor after replacing it by its
interpolating polynomial, ``x' = (Φ(t)/Φ(t')) x + ∫_t^{t'} (Φ(u)/Φ(t')) b(u) N(u) du + η``, with ``η`` the step's
exact noise integral. In the solver time ``t`` (``h = t' - t``), with the moments of the step's weight
``M_m = ∫_t^{t'} (Φ(u)/Φ(t')) b(u) ((u - t)/h)^m du`` (``M_0 = phi1``, ``M_1 = phi2/h``, ``M_2 = phi3/h²``,
``M_3`` by :func:`~sdesolve.steppers.unipc.weight_moments`; all from ``scaled_moments``) and nodes ``r = (t_j - t)/h``:

* the **predictor** of order ``p`` (stochastic Adams–Bashforth) weighs ``N_k, N_{k-1}, …, N_{k-p+1}`` (``r = 0,
  r_1, …``) by the ``w`` with ``Σ_j w_j r_j^m = M_m``, ``m = 0 … p-1`` (the Lagrange polynomial integrated exactly);
* the **corrector** of order ``c`` (stochastic Adams–Moulton), once ``N_{k+1}`` is known at the predicted point,
  rewrites ``x_{k+1}`` from ``x_k`` with the nodes ``r = 1, 0, r_1, …, r_{c-2}`` and the same noise draw ``η``.

SA-Solver's variance-controlled family ``dx = [f x - (1+τ²)/2 g² ∇log p] dt + τ g dW`` is a problem, not a
stepper option: written with the data prediction in ``λ = log(α/σ)`` it has ``Φ(u)/Φ(t') = (σ_{t'}/σ_u)
e^{-τ²(λ_{t'} - λ_u)}``, weight ``(1+τ²) α_{t'} e^{-(1+τ²)(λ_{t'} - λ)}`` and noise std ``σ_{t'} (1 -
e^{-2τ² h})^{1/2}``, which is what ``sdesolve-diffusion`` builds for ``eta = τ`` (``process.sde(model, "data",
τ)``); this stepper's weights are then the paper's (and diffusers' ``SASolverScheduler``'s) when the solver time is
``λ``. ``variant="bh1"`` replaces the exact weight of the order-2 predictor and order-2 corrector by ``B(h)/2``,
``B(h) = h b(t')`` (the paper's code and diffusers do this; an ``O(h³)`` change, UniPC's ``bh1``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from torch import Tensor

from sdesolve.coefficients import GridCoefficients
from sdesolve.hookspecs import hookimpl
from sdesolve.steppers.base import SolveContext, Stepper
from sdesolve.steppers.unipc import node_offsets, scaled_moments

__all__ = ["SASolver"]

VARIANTS = ("exact", "bh1")
MAX_ORDER = 4


class _Plan(NamedTuple):
    """Per-step float64 weights: the predictor's order and weights on ``N_k, N_{k-1}, …`` (newest first), the
    corrector's (for the step it corrects) on ``N_{k+1}, N_k, N_{k-1}, …``."""

    predictor_order: np.ndarray
    corrector_order: np.ndarray
    predictor: np.ndarray  # (n, MAX_ORDER)
    corrector: np.ndarray  # (n, MAX_ORDER)


class _History(NamedTuple):
    plan: _Plan
    base: Tensor | None  # (Φ(t_k)/Φ(t_{k+1})) x_k + η_k of the previous step: the corrector starts from it
    values: tuple[Tensor, ...]  # N_k, N_{k-1}, … (newest first)


class SASolver(Stepper):
    """SA-Solver: stochastic Adams predictor of order ``p`` + stochastic Adams corrector of order ``c``, 1 NFE per step.

    At step ``k`` the model is evaluated once, at the predicted state ``x_k``; the corrector (``c ≥ 1``) rewrites
    ``x_k`` from ``x_{k-1}`` with that evaluation and the previous step's noise draw, and the predictor advances the
    corrected state. The evaluation stays the one at the predicted point. Lower-order start, as the paper and
    diffusers: step ``k`` predicts with order ``min(p, k + 1)`` and is corrected with order ``min(c, k + 2)``
    (every point known); ``lower_order_final`` also caps them by ``n - k`` and ``n - k + 1`` (diffusers' default).
    The last step is the predictor's (nothing is evaluated after it).

    Options: ``predictor_order`` ``p`` (1-4), ``corrector_order`` ``c`` (0-4; 0: no corrector), ``variant``
    (``"exact"`` or ``"bh1"``, see the module) and ``lower_order_final``.

    Order on ODEs (non-uniform grids included): ``min(c, p + 1, 3)`` with the corrector, ``min(p, 2)`` without
    (the first step is exponential Euler; with the corrector it is corrected to local error ``O(h³)``): the
    defaults ``p = 2, c = 3`` are third order. ``p = 3, c = 3`` (the paper's choice for unconditional sampling) is
    third order too but reaches it only on finer grids on one conformance problem (``nonlinear_tv``: 2.67 over
    the quick grids), so it is not the stepper's default. ``lower_order_final`` ends with a first-order predictor
    step (second order at best). With ``variant="bh1"``, ``p = 2, c = 3`` is ``unipc(order=2, variant="bh1")`` and
    ``p = 3, c = 4`` is ``unipc(order=3, variant="bh1")``, step for step.

    Additive noise: the exact noise integral, one draw per step shared by the predictor and the corrector; strong
    order 1 and weak order 1 for additive noise (the drift error of a noisy step), like ``exponential_ab3``.
    """

    name = "sa_solver"
    ode_order = 3.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 1
    summary = "SA-Solver: stochastic Adams predictor + corrector (no extra NFE), orders 1-4"

    def __init__(
        self,
        *,
        predictor_order: int = 2,
        corrector_order: int = 3,
        variant: str = "exact",
        lower_order_final: bool = False,
    ) -> None:
        _check_int("predictor_order", predictor_order, 1)
        _check_int("corrector_order", corrector_order, 0)
        if variant not in VARIANTS:
            raise ValueError(f"sa_solver option variant must be one of {VARIANTS}, got {variant!r}")
        if not isinstance(lower_order_final, bool):
            raise ValueError(f"sa_solver option lower_order_final must be True or False, got {lower_order_final!r}")
        self.predictor_order = int(predictor_order)
        self.corrector_order = int(corrector_order)
        self.variant = variant
        self.lower_order_final = lower_order_final

    def plan(self, coef: GridCoefficients) -> _Plan:
        """The per-step orders and weights on ``coef``'s grid (float64; what :meth:`init` computes)."""
        n = coef.n
        k = np.arange(n)
        p = np.minimum(self.predictor_order, k + 1)
        c = np.minimum(self.corrector_order, k + 2)
        if self.lower_order_final:
            p = np.minimum(p, n - k)
            c = np.minimum(c, n - k + 1)
        moments = scaled_moments(coef, int(max(p.max(), c.max())))
        r = node_offsets(coef, MAX_ORDER - 1)  # r_i = (t_{k-i} - t_k)/h_k, i = 0 … 3
        predictor = np.zeros((n, MAX_ORDER))
        corrector = np.zeros((n, MAX_ORDER))
        for q in range(1, MAX_ORDER + 1):
            steps = np.flatnonzero(p == q)
            if steps.size:
                predictor[steps, :q] = _lagrange_weights(r[steps, :q], moments[:q, steps].T)
            steps = np.flatnonzero(c == q)
            if steps.size:
                nodes = np.concatenate([np.ones((steps.size, 1)), r[steps, : q - 1]], axis=1)
                corrector[steps, :q] = _lagrange_weights(nodes, moments[:q, steps].T)
        if self.variant == "bh1":  # the order-2 weights on the newer difference are B(h)/2 (an O(h³) change)
            half_b = np.asarray(coef.h) * np.asarray(coef.b1) / 2
            two = p == 2
            slope = half_b[two] / r[two, 1]  # weight of N_{k-1} - N_k
            predictor[two, 0] = moments[0, two] - slope
            predictor[two, 1] = slope
            two = c == 2
            corrector[two, 0] = half_b[two]  # weight of N_{k+1} - N_k
            corrector[two, 1] = moments[0, two] - half_b[two]
        return _Plan(p, c, predictor, corrector)

    def init(self, ctx: SolveContext, x0: Tensor) -> _History:
        return _History(self.plan(ctx.coef), None, ())

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: _History) -> tuple[Tensor, _History]:
        c = ctx.coef
        plan, base, values = state
        n = ctx.nonlinear(ctx.time(k), x)
        if base is not None and self.corrector_order > 0:  # the corrector of the previous step, N at the predicted x_k
            weights = plan.corrector[k - 1]
            x = base.add(n, alpha=weights[0])
            for i in range(int(plan.corrector_order[k - 1]) - 1):
                x.add_(values[i], alpha=weights[i + 1])
        values = (n, *values)[: max(self.predictor_order, self.corrector_order - 1)]
        base = x.mul(c.state_weight[k])
        if ctx.noise is not None:  # the step's exact noise integral, shared by the predictor and the corrector
            base.add_(ctx.noise.integral(k, x))
        y = base.clone()
        weights = plan.predictor[k]
        for i in range(int(plan.predictor_order[k])):
            y.add_(values[i], alpha=weights[i])
        return y, _History(plan, base, values)


def _lagrange_weights(nodes: np.ndarray, moments: np.ndarray) -> np.ndarray:
    """Per step, the ``w`` with ``Σ_j w_j nodes_j^m = moments_m`` (``m = 0 … q-1``): the exact integral of the
    interpolating polynomial. ``nodes`` and ``moments`` of shape ``(steps, q)``."""
    q = nodes.shape[1]
    system = nodes[:, None, :] ** np.arange(q)[None, :, None]  # rows m, columns j
    return np.linalg.solve(system, moments[..., None])[..., 0]


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= MAX_ORDER:
        raise ValueError(f"sa_solver option {name} must be an integer from {low} to {MAX_ORDER}, got {value!r}")


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(SASolver)
