"""Per-grid coefficients of the semilinear problem, computed once in float64.

For every step ``[t_k, t_{k+1}]`` (signed width ``h``) the integrals of :mod:`sdesolve.factors` are tabulated
on a uniform sub-grid of ``M`` cells (closed forms where the problem's factor gives them, composite
8-point Gauss–Legendre quadrature otherwise, nested for ``L`` at the quadrature nodes). Besides ``L, P, Q``
two more integrals are tabulated:

* ``G(u) = ∫_t^u exp(-L(v)) g(v) dv`` — mean weights that project weighted Brownian integrals on a path's
  increments (:class:`sdesolve.noise.PathNoise`);
* ``K(u) = ∫_t^u exp(-L(v)) (v - t) dv`` — the second-order (φ₂) weight of the exponential RK2/AB2 steppers.

Scalars per step (exponential-Euler weights, ``a`` and ``g`` at the ends, ...) are exported as Python
floats, so the time loop touches no coefficient tensor and never synchronises with the device. Per-sample
quantities at random midpoints (:meth:`GridCoefficients.split`) are evaluated on the device from tables
moved there once, by cubic Hermite interpolation (error ``O((h/M)⁴)``) or by the closed forms.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Generic, NamedTuple, TypeVar

import torch
from torch import Tensor

from sdesolve.problem import SemilinearSDE
from sdesolve.quadrature import gauss_legendre, hermite, hermite_slope

__all__ = ["GridCoefficients", "SplitWeights", "StepTables"]

GL_POINTS = 8
DEFAULT_SUBDIVISIONS = 32
_F64 = torch.float64

T = TypeVar("T")


@dataclass(frozen=True)
class StepTables:
    """Step-relative integrals on the sub-grid ``t0 + h · j / M`` of each step; float64, ``(R, M + 1)``.

    ``dX`` holds the time derivative of ``X`` at the sub-grid nodes (for Hermite interpolation).
    """

    t0: Tensor
    h: Tensor
    L: Tensor
    P: Tensor
    Q: Tensor
    G: Tensor
    K: Tensor
    dL: Tensor
    dP: Tensor
    dQ: Tensor
    dG: Tensor

    @property
    def subdivisions(self) -> int:
        return self.L.shape[-1] - 1

    def rows(self, k: int, count: int) -> StepTables:
        """Row ``k`` repeated ``count`` times (views, no copy)."""
        return self._map(lambda v: v[k : k + 1].expand(count, *v.shape[1:]))

    def to(self, device: torch.device, dtype: torch.dtype) -> StepTables:
        return self._map(lambda v: v.to(device=device, dtype=dtype))

    def _map(self, fn) -> StepTables:
        return StepTables(*(fn(getattr(self, f.name)) for f in fields(self)))


def build_tables(sde: SemilinearSDE, t0: Tensor, t1: Tensor, subdivisions: int) -> StepTables:
    """Tabulate ``L, P, Q, G, K`` over ``M = subdivisions`` cells of each step ``[t0[i], t1[i]]``."""
    if subdivisions < 1:
        raise ValueError(f"subdivisions must be a positive integer, got {subdivisions}")
    t0 = t0.to(_F64)
    h = t1.to(_F64) - t0
    m = subdivisions
    x, w = gauss_legendre(GL_POINTS)
    frac = torch.arange(m + 1, dtype=_F64) / m
    nodes = t0[:, None] + h[:, None] * frac  # (R, M+1)
    cell = (h / m)[:, None, None]  # (R, 1, 1)
    quad = nodes[:, :-1, None] + cell * x  # (R, M, P): Gauss nodes of each cell
    factor = sde.factor

    def closed(name: str) -> bool:
        return factor is not None and factor.provides(name)

    a_nodes = sde.linear(nodes)
    b_nodes = sde.weight(nodes)
    b_quad = sde.weight(quad)
    if closed("log_growth"):
        L = factor.log_growth(t0[:, None], nodes)
        L_quad = factor.log_growth(t0[:, None, None], quad)
    else:
        a_quad = sde.linear(quad)
        L = _cumulative((a_quad * w).sum(-1) * cell[..., 0])
        # L at the Gauss nodes: L at the cell start plus a nested Gauss rule on [cell start, node].
        offset = quad - nodes[:, :-1, None]
        inner = nodes[:, :-1, None, None] + offset[..., None] * x
        L_quad = L[:, :-1, None] + (sde.linear(inner) * w).sum(-1) * offset

    e_quad = torch.exp(-L_quad)
    e_nodes = torch.exp(-L)
    g_quad = sde.diffusion(quad)
    g_nodes = sde.diffusion(nodes)

    def integrate(integrand: Tensor) -> Tensor:
        return _cumulative((integrand * w).sum(-1) * cell[..., 0])

    if closed("drift_integral"):
        P = factor.drift_integral(t0[:, None], nodes)
    else:
        P = integrate(e_quad * b_quad)
    if sde.is_ode:
        Q = torch.zeros_like(L)
    elif closed("noise_integral"):
        Q = factor.noise_integral(t0[:, None], nodes)
    else:
        Q = integrate(e_quad**2 * g_quad**2)
    G = integrate(e_quad * g_quad)
    K = integrate(e_quad * b_quad * (quad - t0[:, None, None]))
    return StepTables(
        t0=t0,
        h=h,
        L=L,
        P=P,
        Q=Q,
        G=G,
        K=K,
        dL=a_nodes,
        dP=e_nodes * b_nodes,
        dQ=e_nodes**2 * g_nodes**2,
        dG=e_nodes * g_nodes,
    )


def _cumulative(increments: Tensor) -> Tensor:
    zero = torch.zeros_like(increments[..., :1])
    return torch.cat([zero, torch.cumsum(increments, dim=-1)], dim=-1)


class SplitWeights(NamedTuple, Generic[T]):
    """Weights of a step ``t → t'`` split at ``τ = t + frac · h`` (per sample or per step).

    ``x1, f1, std1``: exponential-Euler weights of ``t → τ`` (state, frozen ``N``, noise std);
    ``x2, std2``: state weight and noise std of ``τ → t'``; ``path1``: mean weight projecting
    ``η₁ = ∫_t^τ w dW`` on ``W(τ) - W(t)``; ``path2a``/``path2b``: mean weights projecting
    ``η₂ = ∫_t^{t'} w dW`` on the increments over ``[t, τ]`` and ``[τ, t']``; ``weight``: the drift weight
    ``h Φ(τ) b(τ) / Φ(t')`` of a uniformly drawn ``τ``.
    """

    frac: T
    x1: T
    f1: T
    std1: T
    x2: T
    std2: T
    path1: T
    path2a: T
    path2b: T
    weight: T


def split_weights(tab: StepTables, f: Tensor, factor=None) -> SplitWeights[Tensor]:
    """Evaluate :class:`SplitWeights` at fractions ``f`` (shape ``(R,)``) of the rows of ``tab``."""
    m = tab.subdivisions
    pos = f * m
    j = pos.floor().clamp(0, m - 1).long()
    s = pos - j.to(pos.dtype)
    cell = tab.h / m
    Lt = hermite(tab.L, tab.dL, j, s, cell)
    Pt = hermite(tab.P, tab.dP, j, s, cell)
    Qt = hermite(tab.Q, tab.dQ, j, s, cell)
    if factor is not None:
        tau = tab.t0 + f * tab.h
        if factor.provides("log_growth"):
            Lt = factor.log_growth(tab.t0, tau)
        if factor.provides("drift_integral"):
            Pt = factor.drift_integral(tab.t0, tau)
        if factor.provides("noise_integral"):
            Qt = factor.noise_integral(tab.t0, tau)
    Gt = hermite(tab.G, tab.dG, j, s, cell)
    slope = hermite_slope(tab.P, tab.dP, j, s, cell)  # Φ(τ) b(τ) / Φ(t)
    L1, Q1, G1 = tab.L[..., -1], tab.Q[..., -1], tab.G[..., -1]
    e_t = torch.exp(Lt)
    e_1 = torch.exp(L1)
    tiny = 1e-9
    head = f * tab.h
    tail = (1 - f) * tab.h
    mean_head = torch.where(f > tiny, Gt / torch.where(f > tiny, head, tab.h), tab.dG[..., 0])
    mean_tail = torch.where(f < 1 - tiny, (G1 - Gt) / torch.where(f < 1 - tiny, tail, tab.h), tab.dG[..., -1])
    return SplitWeights(
        frac=f,
        x1=e_t,
        f1=e_t * Pt,
        std1=e_t * Qt.abs().sqrt(),
        x2=torch.exp(L1 - Lt),
        std2=e_1 * (Q1 - Qt).abs().sqrt(),
        path1=e_t * mean_head,
        path2a=e_1 * mean_head,
        path2b=e_1 * mean_tail,
        weight=tab.h * e_1 * slope,
    )


def importance_fraction(tab: StepTables, q: Tensor) -> Tensor:
    """Fractions ``f`` with ``P(t, t + f h) = q P(t, t')``: ``τ`` with density ``∝ Φ b`` from uniform ``q``.

    Inverse cubic Hermite interpolation of the tabulated CDF (its derivative is known at every node).
    """
    m = tab.subdivisions
    P1 = tab.P[..., -1:]
    c = tab.P / P1  # increasing from 0 to 1
    dc = tab.dP * tab.h.unsqueeze(-1) / P1  # dc/df at the nodes, > 0
    j = (torch.searchsorted(c.contiguous(), q.unsqueeze(-1).contiguous()).squeeze(-1) - 1).clamp(0, m - 1)
    jj = j.unsqueeze(-1)
    c0 = c.gather(-1, jj).squeeze(-1)
    width = c.gather(-1, jj + 1).squeeze(-1) - c0
    s = ((q - c0) / width).clamp(0, 1)
    frac_nodes = torch.arange(m + 1, dtype=c.dtype, device=c.device) / m
    return hermite(frac_nodes.expand_as(c), 1.0 / dc, j, s, width).clamp(0, 1)


class GridCoefficients:
    """All coefficients of one problem on one time grid, computed once.

    Python-float lists (indexed by step ``k``): ``h`` (signed step), ``abs_h``, ``sqrt_h``, ``s`` (solver
    times, ``len n + 1``), ``a0``/``a1``, ``b0``/``b1``, ``g0``/``g1`` (``a``, ``b``, ``g`` at the step ends),
    ``ex``, ``ef``, ``ez`` (exponential-Euler state weight, drift weight and exact noise std), ``em`` (mean weight of
    ``∫ w dW`` for path projection) and ``w2`` (``∫_t^{t'} w(u) (u - t) du``, the φ₂ weight).
    """

    def __init__(
        self,
        sde: SemilinearSDE,
        ts: Tensor,
        *,
        device: torch.device,
        dtype: torch.dtype,
        subdivisions: int = DEFAULT_SUBDIVISIONS,
    ) -> None:
        ts = ts.to(device="cpu", dtype=_F64)
        self.sde = sde
        self.ts = ts
        self.n = ts.numel() - 1
        self.sign = 1.0 if float(ts[1] - ts[0]) > 0 else -1.0
        self.device = torch.device(device)
        self.dtype = dtype
        self.table_dtype = torch.float32 if self.device.type == "mps" else _F64
        self.tables = build_tables(sde, ts[:-1], ts[1:], subdivisions)
        tab = self.tables
        h = tab.h
        ex = torch.exp(tab.L[:, -1])
        self.h = h.tolist()
        self.abs_h = h.abs().tolist()
        self.sqrt_h = h.abs().sqrt().tolist()
        self.s = (self.sign * ts).tolist()
        a = sde.linear(ts)
        g = sde.diffusion(ts)
        self.a0, self.a1 = a[:-1].tolist(), a[1:].tolist()
        self.g0, self.g1 = g[:-1].tolist(), g[1:].tolist()
        b = sde.weight(ts)
        self.b0, self.b1 = b[:-1].tolist(), b[1:].tolist()
        self.ex = ex.tolist()
        self.ef = (ex * tab.P[:, -1]).tolist()
        self.ez = (ex * tab.Q[:, -1].abs().sqrt()).tolist()
        self.em = (ex * tab.G[:, -1] / h).tolist()
        self.w2 = (ex * tab.K[:, -1]).tolist()
        self.times = ts.to(device=self.device, dtype=dtype)
        self._device_tables: StepTables | None = None

    # --- per-step splits at a fixed fraction (host, float64) ----------------------------------------------
    def fixed_split(self, frac: float) -> SplitWeights[list[float]]:
        """:class:`SplitWeights` of every step at the same fraction ``frac ∈ (0, 1]``, as Python lists."""
        if not 0.0 < frac <= 1.0:
            raise ValueError(f"split fraction must lie in (0, 1], got {frac}")
        f = torch.full((self.n,), float(frac), dtype=_F64)
        sw = split_weights(self.tables, f, self.sde.factor)
        return SplitWeights(*(v.tolist() for v in sw))

    # --- per-sample splits (device) -----------------------------------------------------------------------
    def _dev(self) -> StepTables:
        if self._device_tables is None:
            self._device_tables = self.tables.to(self.device, self.table_dtype)
        return self._device_tables

    def check_importance(self, who: str) -> None:
        """Raise unless ``Φ b`` keeps one sign on every step (a density needs it)."""
        d = self.tables.dP
        ok = ((d > 0).all(dim=1) | (d < 0).all(dim=1)).all()
        if not bool(ok):
            raise ValueError(
                f"{who}: importance sampling draws τ with density ∝ Φ b, so b(t) must be nonzero with one sign on "
                "every step; use distribution='uniform' or a grid that avoids the zeros of b"
            )

    def importance_fraction(self, k: int, q: Tensor) -> Tensor:
        """Per-sample fractions of step ``k`` with density ``∝ Φ b`` (``q`` uniform on ``[0, 1]``)."""
        q = q.to(self.table_dtype)
        factor = self.sde.factor
        tab = self._dev().rows(k, q.shape[0])
        if factor is not None and factor.provides("sample_time"):
            tau = factor.sample_time(tab.t0, tab.t0 + tab.h, q)
            return ((tau - tab.t0) / tab.h).clamp(0, 1)
        return importance_fraction(tab, q)

    def split(self, k: int, frac: Tensor) -> SplitWeights[Tensor]:
        """Per-sample :class:`SplitWeights` of step ``k`` at fractions ``frac`` (shape ``(B,)``), in the
        working dtype."""
        frac = frac.to(self.table_dtype)
        sw = split_weights(self._dev().rows(k, frac.shape[0]), frac, self.sde.factor)
        return SplitWeights(*(v.to(self.dtype) for v in sw))
