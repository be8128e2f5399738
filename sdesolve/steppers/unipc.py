"""UniPC (Zhao et al. 2023): the UniP-p multistep predictor and the UniC corrector, on the semilinear problem.

Exponential multistep methods integrate ``N`` exactly against the integrating factor,
``x' = (Φ(t)/Φ(t')) x + ∫_t^{t'} (Φ(u)/Φ(t')) b(u) N(u) du``, after replacing ``N`` by a polynomial through
earlier evaluations. UniPC's order conditions, in the solver time ``t`` (``h = t' - t``):

* moments of the step's weight, ``M_m = ∫_t^{t'} (Φ(u)/Φ(t')) b(u) ((u - t)/h)^m du`` (``M_0 = phi1``,
  ``M_1 = phi2 / h``, ``M_2 = phi3 / h²``; ``M_3`` by composite Gauss–Legendre quadrature here, the rule of the
  coefficients on their sub-grid);
* earlier nodes at ``r_i = (t_{k-i} - t_k)/h`` and the divided differences ``D_i = (N_{k-i} - N_k)/r_i``;
* the predictor ``x' = e^L x + M_0 N_k + Σ_i ρ_i D_i`` with ``Σ_i ρ_i r_i^{m-1} = M_m`` (``m = 1 … p-1``), and
  the corrector, once ``N_{k+1}`` is known at the predicted point, the same with ``D = N_{k+1} - N_k`` at
  ``r = 1`` added and the conditions ``m = 1 … p``.

Two of these systems are not solved but fixed, as UniPC (and diffusers) does: the second-order predictor and the
first-order corrector use ``ρ = B(h)/2`` with ``B(h) = h b(t')`` (``bh1``) or ``B(h) = M_0`` (``bh2``). In the
data-prediction splitting written in ``λ = log(α/σ)`` time, ``M_m = α_{t'} h m! φ_{m+1}(-h)`` and these
are the paper's ``B₁(h) = h``, ``B₂(h) = e^h - 1``, so the update is the paper's (and diffusers'
``UniPCMultistepScheduler(predict_x0=True)``) whenever the solver time is an affine function of ``λ``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from sdesolve.coefficients import GridCoefficients
from sdesolve.dtypes import F64
from sdesolve.hookspecs import hookimpl
from sdesolve.quadrature import gauss_legendre
from sdesolve.steppers.base import SolveContext, Stepper

__all__ = ["UniPC", "node_offsets", "scaled_moments", "weight_moments"]

_GL_POINTS = 8
_CHUNK_ELEMENTS = 1 << 18  # float64 numbers per quadrature intermediate (2 MiB)
VARIANTS = ("bh1", "bh2")


def weight_moments(coef: GridCoefficients, powers: tuple[int, ...]) -> np.ndarray:
    """``M_m = ∫_t^{t'} (Φ(u)/Φ(t')) b(u) ((u - t)/h)^m du`` for every step and each ``m`` in ``powers``.

    Composite 8-point Gauss–Legendre on the coefficients' ``subdivisions`` cells per step (the rule
    :mod:`sdesolve.coefficients` uses for ``phi2``), with ``L = ∫ a`` from the problem's closed form when its
    factor provides ``log_growth`` and by a nested Gauss rule otherwise. Float64, shape ``(len(powers), n)``;
    computed in chunks of steps, so memory does not grow with the grid.
    """
    sde, ts, cells = coef.sde, coef.ts, coef.subdivisions
    x, w = gauss_legendre(_GL_POINTS)
    out = np.empty((len(powers), coef.n), dtype=np.float64)
    view = torch.from_numpy(out)
    factor = sde.factor
    closed = factor is not None and factor.provides("log_growth")
    per_step = cells * _GL_POINTS * (1 if closed else _GL_POINTS)
    chunk = max(1, _CHUNK_ELEMENTS // per_step)
    frac = torch.arange(cells, dtype=F64) / cells  # cell starts, as fractions of the step
    for start in range(0, coef.n, chunk):
        stop = min(start + chunk, coef.n)
        t0 = ts[start:stop].to(F64)
        h = ts[start + 1 : stop + 1].to(F64) - t0
        width = h / cells
        offset = (frac[None, :, None] + x[None, None, :] / cells) * h[:, None, None]  # u - t, (R, M, 8)
        quad = t0[:, None, None] + offset
        if closed:
            L_quad = factor.log_growth(t0[:, None, None], quad)
            L_end = factor.log_growth(t0, t0 + h)
        else:
            starts = t0[:, None] + frac[None, :] * h[:, None]  # (R, M)
            inner = starts[..., None] + width[:, None, None] * x  # Gauss nodes of each cell, (R, M, 8)
            cell_int = (sde.linear(inner) * w).sum(-1) * width[:, None]
            L_start = torch.cumsum(cell_int, dim=-1) - cell_int  # L at the cell starts
            L_end = cell_int.sum(-1)
            inner_off = quad - starts[..., None]  # (R, M, 8)
            nodes = starts[..., None, None] + inner_off[..., None] * x  # (R, M, 8, 8)
            L_quad = L_start[..., None] + (sde.linear(nodes) * w).sum(-1) * inner_off
        density = torch.exp(L_end[:, None, None] - L_quad) * sde.weight(quad)
        scaled = offset / h[:, None, None]
        for row, m in enumerate(powers):
            view[row, start:stop] = (density * scaled**m * w).sum((-1, -2)) * width
    return out


def scaled_moments(coef: GridCoefficients, rows: int) -> np.ndarray:
    """``(4, n)`` float64 with rows ``M_0 = phi1``, ``M_1 = phi2/h``, ``M_2 = phi3/h²`` and ``M_3``
    (:func:`weight_moments`): the first ``rows`` filled, the rest zero (only the moments a plan needs are computed)."""
    h = np.asarray(coef.h)
    out = np.zeros((4, coef.n))
    out[0] = coef.phi1
    if rows >= 2:
        out[1] = coef.phi2 / h
    if rows >= 3:
        out[2] = coef.phi3 / h**2
    if rows >= 4:
        out[3] = weight_moments(coef, (3,))[0]
    return out


def node_offsets(coef: GridCoefficients, count: int) -> np.ndarray:
    """``(n, count + 1)`` float64: column ``i`` is ``r_i = (t_{k-i} - t_k)/h_k`` at step ``k`` (zero where step ``k``
    has no ``t_{k-i}``; column 0 is ``r_0 = 0``)."""
    n, h, t = coef.n, np.asarray(coef.h), coef.ts.numpy()
    r = np.zeros((n, count + 1))
    for i in range(1, min(count + 1, n)):
        r[i:, i] = (t[: n - i] - t[i:n]) / h[i:]
    return r


class _Plan(NamedTuple):
    """Per-step float64 weights of one solve: the order of each step's predictor (and of the corrector that
    follows it), the predictor's weights on ``N_{k-i} - N_k`` (``i = 1, 2``) and the corrector's on
    ``N_{k-i} - N_k`` and ``N_{k+1} - N_k`` (last column)."""

    order: np.ndarray
    predictor: np.ndarray  # (n, 2)
    corrector: np.ndarray  # (n, 3)


class _History(NamedTuple):
    plan: _Plan
    base: Tensor | None  # e^L x_k + M_0 N_k of the previous step: the corrector starts from it
    values: tuple[Tensor, ...]  # N_k, N_{k-1}, … (newest first, at most `order` of them)


class UniPC(Stepper):
    """UniPC: the UniP-p exponential multistep predictor with the UniC corrector, data-prediction form.

    At step ``k`` the model is evaluated once, at the predicted state ``x_k``; the corrector then rewrites
    ``x_k`` from ``x_{k-1}`` with that evaluation (no extra NFE) and the predictor of order
    ``p_k = min(order, k + 1)`` (lower-order start) advances the corrected state. The evaluation stays the
    one at the predicted point, as in UniPC. The last step is the predictor's (nothing is evaluated after it).

    Options: ``order`` (1, 2 or 3: the predictor's order ``p``), ``variant`` (``"bh1"`` or ``"bh2"``: the
    ``B(h)`` of the two fixed weights, see the module), ``corrector`` (UniC on or off) and
    ``lower_order_final`` (``p_k ≤ n - k``: the last steps drop to order 2 and 1, as diffusers does).

    Order on ODEs (non-uniform grids included): ``order + 1`` with the corrector in the steady state, limited
    to 3 by the lower-order start (the first corrected step is second-order accurate, a local error of
    ``O(h³)``): the default ``order=2`` (with the corrector, the declared order) and ``order=3`` are third order,
    ``order=1`` is second order; without the corrector ``order=1`` is first order and ``order=2, 3`` second
    (the first-order start). ``lower_order_final`` ends with a first-order step (second order at best).
    ``order=3`` reaches its third order only on finer grids on one conformance problem (``nonlinear_tv``: 2.69
    over 16-128 steps), so it is not the default. 1 NFE per step.

    Additive noise: the step's exact noise integral ``η`` (as in ``exponential_ab2``) is added to the state both
    the predictor and the corrector start from, so one draw per step serves both; strong order 1 and weak order 1
    (the frozen-``N`` drift error of a noisy step), as ``exponential_ab2``. UniPC itself is an ODE method: with
    noise this is the deterministic update plus the exact Ornstein–Uhlenbeck noise of the linear part.
    """

    name = "unipc"
    ode_order = 3.0
    strong_order = 1.0
    weak_order = 1.0
    nfe_per_step = 1
    summary = "UniPC: exponential multistep predictor + UniC corrector (no extra NFE), orders 1-3"

    def __init__(
        self,
        *,
        order: int = 2,
        variant: str = "bh2",
        corrector: bool = True,
        lower_order_final: bool = False,
    ) -> None:
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order not in (1, 2, 3):
            raise ValueError(f"unipc option order must be 1, 2 or 3, got {order!r}")
        if variant not in VARIANTS:
            raise ValueError(f"unipc option variant must be one of {VARIANTS}, got {variant!r}")
        if not isinstance(corrector, bool):
            raise ValueError(f"unipc option corrector must be True or False, got {corrector!r}")
        if not isinstance(lower_order_final, bool):
            raise ValueError(f"unipc option lower_order_final must be True or False, got {lower_order_final!r}")
        self.order = int(order)
        self.variant = variant
        self.corrector = corrector
        self.lower_order_final = lower_order_final

    def plan(self, coef: GridCoefficients) -> _Plan:
        """The per-step orders and weights on ``coef``'s grid (float64; what :meth:`init` computes)."""
        n = coef.n
        k = np.arange(n)
        order = np.minimum(self.order, k + 1)
        if self.lower_order_final:
            order = np.minimum(order, n - k)
        h = np.asarray(coef.h)
        top = int(order.max()) if self.corrector else int(order.max()) - 1
        moments = scaled_moments(coef, top + 1 if order.max() > 1 else 1)
        B = h * np.asarray(coef.b1) if self.variant == "bh1" else moments[0]
        r = node_offsets(coef, 2)[:, 1:]  # r_i = (t_{k-i} - t_k)/h_k, i = 1, 2
        predictor = np.zeros((n, 2))
        corrector = np.zeros((n, 3))
        two = order == 2
        predictor[two, 0] = B[two] / 2 / r[two, 0]
        corrector[order == 1, 2] = B[order == 1] / 2
        for p in (2, 3):
            steps = np.flatnonzero(order == p)
            if steps.size == 0:
                continue
            rp = r[steps, : p - 1]
            if p == 3:  # the predictor's system: Σ_i ρ_i r_i^{m-1} = M_m, m = 1, 2
                rho = np.linalg.solve(_vandermonde(rp), moments[1:3, steps].T[..., None])[..., 0]
                predictor[steps, :2] = rho / rp
            nodes = np.concatenate([rp, np.ones((steps.size, 1))], axis=1)  # the new point at r = 1
            rho = np.linalg.solve(_vandermonde(nodes), moments[1 : p + 1, steps].T[..., None])[..., 0]
            corrector[steps, : p - 1] = rho[:, :-1] / rp
            corrector[steps, 2] = rho[:, -1]
        return _Plan(order, predictor, corrector)

    def init(self, ctx: SolveContext, x0: Tensor) -> _History:
        return _History(self.plan(ctx.coef), None, ())

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: _History) -> tuple[Tensor, _History]:
        c = ctx.coef
        plan, base, values = state
        n = ctx.nonlinear(ctx.time(k), x)
        if self.corrector and base is not None:  # UniC for the previous step, with N at the predicted x_k
            weights = plan.corrector[k - 1]
            x = base.add(n, alpha=weights[2]).sub_(values[0], alpha=weights[2])
            for i in range(int(plan.order[k - 1]) - 1):
                x.add_(values[i + 1], alpha=weights[i]).sub_(values[0], alpha=weights[i])
        values = (n, *values)[: self.order]
        base = x.mul(c.state_weight[k]).add_(n, alpha=c.phi1[k])
        if ctx.noise is not None:  # the step's exact noise integral, shared by the predictor and the corrector
            base.add_(ctx.noise.integral(k, x))
        y = base.clone()
        for i in range(int(plan.order[k]) - 1):
            w = plan.predictor[k, i]
            y.add_(values[i + 1], alpha=w).sub_(n, alpha=w)
        return y, _History(plan, base, values)


def _vandermonde(nodes: np.ndarray) -> np.ndarray:
    """Rows ``m = 1 … q`` of ``r_i^{m-1}`` for each step's nodes (shape ``(steps, q)`` → ``(steps, q, q)``)."""
    q = nodes.shape[1]
    return nodes[:, None, :] ** np.arange(q)[None, :, None]


@hookimpl
def sdesolve_register_steppers(register: Any) -> None:
    register(UniPC)
