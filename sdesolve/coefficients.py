"""Per-grid coefficients of the semilinear problem, in float64, computed when asked for and chunk by chunk.

For every step ``[t_k, t_{k+1}]`` (signed width ``h``) the integrals of :mod:`sdesolve.factors` are tabulated
on a uniform sub-grid of ``M`` cells (closed forms where the problem's factor gives them, composite
8-point Gauss–Legendre quadrature otherwise, nested for ``L`` at the quadrature nodes). Besides ``L, P, Q``
two more integrals are tabulated:

* ``G(u) = ∫_t^u exp(-L(v)) g(v) dv`` — mean weights that project weighted Brownian integrals on a path's
  increments (:class:`sdesolve.noise.PathNoise`);
* ``K(u) = ∫_t^u exp(-L(v)) b(v) (v - t) dv`` — the second-order (φ₂) weight of the exponential RK2/AB2 steppers;
* ``K2(u) = ∫_t^u exp(-L(v)) b(v) (v - t)² dv`` — the third-order (φ₃) weight of the exponential AB3 stepper.

**The coefficients a stepper asks for, by name.** With the integrating factor ``Φ`` (``Φ(u)/Φ(v) =
exp(-∫_u^v a)``, so ``Φ(u)/Φ(t') = exp(∫_u^{t'} a)`` is how much of ``x(u)`` survives to ``t'``), a step
``t → t'`` of width ``h = t' - t``:

==========================  ==================================================  =====================================
name                        value                                               used as
==========================  ==================================================  =====================================
``state_weight``            ``Φ(t)/Φ(t') = exp(∫_t^{t'} a)``                    weight of ``x`` (every exponential
                                                                                step)
``phi1``                    ``∫_t^{t'} (Φ(u)/Φ(t')) b(u) du``                   weight of a frozen ``N`` (``h φ₁(a h)
                                                                                b`` for constants)
``phi2``                    ``∫_t^{t'} (Φ(u)/Φ(t')) b(u) (u - t) du``           weight of ``N``'s slope (``h² φ₂(a h)
                                                                                b``): exponential RK2/AB2
``phi3``                    ``∫_t^{t'} (Φ(u)/Φ(t')) b(u) (u - t)² du``          weight of ``N``'s curvature (``2 h³
                                                                                φ₃(a h) b``): exponential AB3
``noise_std``               ``(∫_t^{t'} (Φ(u)/Φ(t'))² g(u)² du)^{1/2}``         exact std of the step's noise
                                                                                integral ``η = ∫ (Φ/Φ(t')) g dW``
``path_mean``               ``(1/h) ∫_t^{t'} (Φ(u)/Φ(t')) g(u) du``             ``η ≈ path_mean · ΔW`` on a user path
==========================  ==================================================  =====================================

Split at ``τ = t + f h`` (:class:`SplitWeights`; per step at a fixed ``f``, or per sample), *head* ``t → τ``,
*tail* ``τ → t'``, ``η₁ = ∫_t^τ (Φ/Φ(τ)) g dW``, ``η₂ = ∫_t^{t'} (Φ/Φ(t')) g dW``, ``ΔW₁, ΔW₂`` the path's
increments over head and tail:

==========================  ==================================================  =====================================
``frac``                    ``f``
``head_state_weight``       ``Φ(t)/Φ(τ)``                                       ``state_weight`` of the head
``head_phi1``               ``∫_t^τ (Φ(u)/Φ(τ)) b(u) du``                       ``phi1`` of the head
``head_noise_std``          ``(∫_t^τ (Φ(u)/Φ(τ))² g² du)^{1/2}``                std of ``η₁``
``tail_state_weight``       ``Φ(τ)/Φ(t')``                                      ``η₂ = tail_state_weight · η₁ + ...``
``tail_noise_std``          ``(∫_τ^{t'} (Φ(u)/Φ(t'))² g² du)^{1/2}``            std of ``η₂`` given ``η₁``
``head_path_mean``          ``(1/(τ - t)) ∫_t^τ (Φ(u)/Φ(τ)) g du``              ``η₁ ≈ head_path_mean · ΔW₁``
``step_path_mean_head``     ``(1/(τ - t)) ∫_t^τ (Φ(u)/Φ(t')) g du``             ``η₂ ≈ step_path_mean_head · ΔW₁
                                                                                + step_path_mean_tail · ΔW₂``
``step_path_mean_tail``     ``(1/(t' - τ)) ∫_τ^{t'} (Φ(u)/Φ(t')) g du``
``uniform_weight``          ``h (Φ(τ)/Φ(t')) b(τ)``                             weight of ``N(τ)`` for a uniformly
                                                                                drawn ``τ`` (unbiased for ``phi1``)
==========================  ==================================================  =====================================

Per-sample quantities at random midpoints (:meth:`GridCoefficients.split`) are evaluated on the device from the
tables by cubic Hermite interpolation (error ``O((h/M)⁴)``) or by the closed forms.

**Memory does not grow with the number of steps** (beyond a few float64 numbers per step). The tables hold
``M + 1`` values per step and field, and building them evaluates ``a, b, g`` at ``8 M`` points per step
(``64 M`` for a nested ``L``): tabulating a whole grid of 10⁵ steps at once took gigabytes. So no table of the
whole grid is ever kept; each consumer gets what it reads, when it first reads it:

* scalars that need only the grid times (``h``, ``abs_h``, ``sqrt_h``, ``s``, ``a0``…``g1``) are float64 NumPy
  arrays made at construction: ``O(n)`` work, no quadrature. Euler–Maruyama, Heun and SRA1 read nothing else,
  so they never pay for the tables;
* the exponential weights ``state_weight, phi1, phi2, phi3, noise_std, path_mean`` need only the *last column* of the
  tables: on first access of any of them all six are computed by one pass over the grid in chunks of
  :func:`chunk_steps` steps (about 2 MiB of float64 per intermediate), keeping six arrays and dropping each
  chunk's tables (extracting the other five costs nothing next to building the tables once more);
* per-sample splits (:meth:`~GridCoefficients.split`, :meth:`~GridCoefficients.importance_fraction`) need whole
  rows: the tables of the chunk of steps holding ``k`` are built on the host, moved to the device once (a
  non-blocking copy) and replaced when a step of another chunk is asked for. The solve loop visits the steps in
  order, so each chunk is built once per solve; random access works too, it only rebuilds a chunk;
* :meth:`~GridCoefficients.fixed_split` and :meth:`~GridCoefficients.check_importance` stream over the chunks
  (the latter checks every step from the sign of ``Φ b`` at the sub-grid nodes, without the integrals).

Whole arrays rather than lazily filled per-chunk scalars: ``numpy.float64`` is a subclass of ``float``, so
``coef.state_weight[k]`` works wherever a Python float did (``tensor.add_(y, alpha=coef.phi1[k])`` included, with no
device synchronisation), and arrays keep every other use working (iteration, slicing, ``torch.tensor(coef.phi1)``,
vectorised arithmetic in a stepper's ``init``) at 8 bytes per step and field (10⁵ steps × 15 fields = 12 MB).
The price: a stepper that reads the weights *and* per-sample splits (the randomized midpoint) builds each chunk's
tables twice, once for the weights and once for the device; the building is host-side vectorised float64
work, small against the stepper's own per-step cost. Arrays are filled through ``torch.from_numpy`` views (a
torch copy, not a tensor-to-Python read), so nothing in here reads a tensor back inside the time loop.

The numbers are those of tabulating the whole grid at once: every chunk goes through the same float64
operations, elementwise or reduced within a row (a step), so chunking changes at most the last bit where a
vectorised kernel and its scalar tail round differently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import Generic, NamedTuple, TypeVar

import numpy as np
import torch
from torch import Tensor

from sdesolve.dtypes import F64
from sdesolve.problem import SemilinearSDE
from sdesolve.quadrature import gauss_legendre, hermite, hermite_slope

__all__ = ["GridCoefficients", "SplitWeights", "StepTables", "chunk_steps"]

GL_POINTS = 8
DEFAULT_SUBDIVISIONS = 32
CHUNK_ELEMENTS = 1 << 18  # float64 elements of the largest intermediate of one chunk's tables (2 MiB)
_WEIGHTS = ("state_weight", "phi1", "noise_std", "path_mean", "phi2", "phi3")
T = TypeVar("T")


def chunk_steps(subdivisions: int) -> int:
    """Steps tabulated together: the nested quadrature of ``L`` then holds about :data:`CHUNK_ELEMENTS` numbers."""
    return max(1, CHUNK_ELEMENTS // (subdivisions * GL_POINTS * GL_POINTS))


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
    K2: Tensor
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
        """A copy on ``device`` in ``dtype``. To CUDA the copy is non-blocking, so it does not synchronise: the
        source is pageable host memory, which CUDA stages before the call returns (freeing it is safe)."""
        device = torch.device(device)
        non_blocking = device.type == "cuda"
        return self._map(lambda v: v.to(device=device, dtype=dtype, non_blocking=non_blocking))

    def _map(self, fn) -> StepTables:
        return StepTables(*(fn(getattr(self, f.name)) for f in fields(self)))


class _SubGrid(NamedTuple):
    nodes: Tensor  # (R, M + 1): t0 + h j / M
    quad: Tensor  # (R, M, P): Gauss nodes of each cell
    cell: Tensor  # (R, 1, 1): signed cell width
    x: Tensor  # (P,) Gauss nodes on [0, 1]
    w: Tensor  # (P,) Gauss weights on [0, 1]


def _subgrid(t0: Tensor, h: Tensor, m: int) -> _SubGrid:
    x, w = gauss_legendre(GL_POINTS)
    frac = torch.arange(m + 1, dtype=F64) / m
    nodes = t0[:, None] + h[:, None] * frac
    cell = (h / m)[:, None, None]
    quad = nodes[:, :-1, None] + cell * x
    return _SubGrid(nodes, quad, cell, x, w)


def _log_growth_at_nodes(sde: SemilinearSDE, t0: Tensor, grid: _SubGrid) -> Tensor:
    """``L`` at the sub-grid nodes: closed form, or the cumulative composite Gauss rule on ``a``."""
    factor = sde.factor
    if factor is not None and factor.provides("log_growth"):
        return factor.log_growth(t0[:, None], grid.nodes)
    return _cumulative((sde.linear(grid.quad) * grid.w).sum(-1) * grid.cell[..., 0])


def build_tables(sde: SemilinearSDE, t0: Tensor, t1: Tensor, subdivisions: int) -> StepTables:
    """Tabulate ``L, P, Q, G, K, K2`` over ``M = subdivisions`` cells of each step ``[t0[i], t1[i]]``.

    Memory is proportional to the number of steps given (``64 M`` float64 numbers per step for a nested ``L``):
    :class:`GridCoefficients` calls it on chunks of :func:`chunk_steps` steps.
    """
    if subdivisions < 1:
        raise ValueError(f"subdivisions must be a positive integer, got {subdivisions}")
    t0 = t0.to(F64)
    h = t1.to(F64) - t0
    grid = _subgrid(t0, h, subdivisions)
    nodes, quad, cell, x, w = grid
    factor = sde.factor

    def closed(name: str) -> bool:
        return factor is not None and factor.provides(name)

    a_nodes = sde.linear(nodes)
    b_nodes = sde.weight(nodes)
    b_quad = sde.weight(quad)
    L = _log_growth_at_nodes(sde, t0, grid)
    if closed("log_growth"):
        L_quad = factor.log_growth(t0[:, None, None], quad)
    else:
        # L at the Gauss nodes: L at the cell start plus a nested Gauss rule on [cell start, node].
        offset = quad - nodes[:, :-1, None]
        inner = nodes[:, :-1, None, None] + offset[..., None] * x
        L_quad = L[:, :-1, None] + (sde.linear(inner) * w).sum(-1) * offset
        del inner, offset

    e_quad = torch.exp(-L_quad)
    del L_quad
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
    offset = quad - t0[:, None, None]
    K = integrate(e_quad * b_quad * offset)
    K2 = integrate(e_quad * b_quad * offset * offset)
    return StepTables(
        t0=t0,
        h=h,
        L=L,
        P=P,
        Q=Q,
        G=G,
        K=K,
        K2=K2,
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

    The fields and their formulas are listed once, in :mod:`sdesolve.coefficients`.
    """

    frac: T
    head_state_weight: T
    head_phi1: T
    head_noise_std: T
    tail_state_weight: T
    tail_noise_std: T
    head_path_mean: T
    step_path_mean_head: T
    step_path_mean_tail: T
    uniform_weight: T


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
        head_state_weight=e_t,
        head_phi1=e_t * Pt,
        head_noise_std=e_t * Qt.abs().sqrt(),
        tail_state_weight=torch.exp(L1 - Lt),
        tail_noise_std=e_1 * (Q1 - Qt).abs().sqrt(),
        head_path_mean=e_t * mean_head,
        step_path_mean_head=e_1 * mean_head,
        step_path_mean_tail=e_1 * mean_tail,
        uniform_weight=tab.h * e_1 * slope,
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


def _host(values: Tensor) -> np.ndarray:
    """A float64 NumPy copy of a host tensor (never a view of the caller's memory)."""
    return np.array(values.detach().to(device="cpu", dtype=F64).numpy(), dtype=np.float64)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class GridCoefficients:
    """All coefficients of one problem on one time grid, in float64, each computed when first asked for.

    Float64 NumPy arrays indexed by step ``k`` (``coef.h[k]`` is a ``numpy.float64``, a ``float``): ``h`` (signed
    step), ``abs_h``, ``sqrt_h``, ``s`` (solver times, ``len n + 1``), ``a0``/``a1``, ``b0``/``b1``, ``g0``/``g1``
    (``a``, ``b``, ``g`` at the step ends) — made at construction — and, computed in one chunked pass on first
    access of any of them, ``state_weight``, ``phi1``, ``phi2``, ``phi3``, ``noise_std`` and ``path_mean``
    (formulas in :mod:`sdesolve.coefficients`).
    ``times`` holds the grid on the solver's device in the working dtype.

    Nothing proportional to ``n × subdivisions`` is kept: tables are built per chunk of ``chunk`` steps (default
    :func:`chunk_steps`) and dropped, see :mod:`sdesolve.coefficients`.
    """

    def __init__(
        self,
        sde: SemilinearSDE,
        ts: Tensor,
        *,
        device: torch.device,
        dtype: torch.dtype,
        subdivisions: int = DEFAULT_SUBDIVISIONS,
        chunk: int | None = None,
    ) -> None:
        if subdivisions < 1:
            raise ValueError(f"subdivisions must be a positive integer, got {subdivisions}")
        if chunk is not None and chunk < 1:
            raise ValueError(f"chunk must be a positive number of steps, got {chunk}")
        ts = ts.detach().to(device="cpu", dtype=F64).clone()  # read again later: not a view of the caller's grid
        self.sde = sde
        self.ts = ts
        self.n = ts.numel() - 1
        self.sign = 1.0 if float(ts[1] - ts[0]) > 0 else -1.0
        self.device = torch.device(device)
        self.dtype = dtype
        self.table_dtype = torch.float32 if self.device.type == "mps" else F64
        self.subdivisions = subdivisions
        self.chunk = chunk_steps(subdivisions) if chunk is None else int(chunk)
        t = _host(ts)
        h = t[1:] - t[:-1]
        self.h = _frozen(h)
        self.abs_h = _frozen(np.abs(h))
        self.sqrt_h = _frozen(np.sqrt(self.abs_h))
        self.s = _frozen(self.sign * t)
        a = _frozen(_host(sde.linear(ts)))
        g = _frozen(_host(sde.diffusion(ts)))
        b = _frozen(_host(sde.weight(ts)))
        self.a0, self.a1 = a[:-1], a[1:]
        self.g0, self.g1 = g[:-1], g[1:]
        self.b0, self.b1 = b[:-1], b[1:]
        self.times = ts.to(device=self.device, dtype=dtype)
        self._weights: dict[str, np.ndarray] | None = None
        self._device_chunk = -1
        self._device_tables: StepTables | None = None

    # --- tables of a range of steps (host, float64), built on demand -------------------------------------
    def step_tables(self, start: int, stop: int) -> StepTables:
        """The sub-grid tables of steps ``start ≤ k < stop`` (host, float64; nothing is cached)."""
        return build_tables(self.sde, self.ts[start:stop], self.ts[start + 1 : stop + 1], self.subdivisions)

    def _chunks(self) -> Iterator[tuple[int, int]]:
        for start in range(0, self.n, self.chunk):
            yield start, min(start + self.chunk, self.n)

    def _scan(self, use: Callable[[int, int, StepTables], None] | None = None) -> None:
        """Build every chunk's tables once, in order, for ``use``; fill the per-step weights on the way."""
        fill = self._weights is None
        if fill:
            arrays = {name: np.empty(self.n, dtype=np.float64) for name in _WEIGHTS}
            views = {name: torch.from_numpy(v) for name, v in arrays.items()}
        for start, stop in self._chunks():
            tab = self.step_tables(start, stop)
            if fill:
                ex = torch.exp(tab.L[:, -1])
                views["state_weight"][start:stop] = ex
                views["phi1"][start:stop] = ex * tab.P[:, -1]
                views["noise_std"][start:stop] = ex * tab.Q[:, -1].abs().sqrt()
                views["path_mean"][start:stop] = ex * tab.G[:, -1] / tab.h
                views["phi2"][start:stop] = ex * tab.K[:, -1]
                views["phi3"][start:stop] = ex * tab.K2[:, -1]
            if use is not None:
                use(start, stop, tab)
        if fill:
            self._weights = {name: _frozen(v) for name, v in arrays.items()}

    def _weight(self, name: str) -> np.ndarray:
        if self._weights is None:
            self._scan()
        assert self._weights is not None
        return self._weights[name]

    @property
    def state_weight(self) -> np.ndarray:
        """``exp(∫_t^{t'} a) = Φ(t)/Φ(t')`` per step: the weight of the state ``x`` in every exponential step."""
        return self._weight("state_weight")

    @property
    def phi1(self) -> np.ndarray:
        """``∫_t^{t'} (Φ(u)/Φ(t')) b(u) du`` per step: the weight of a frozen ``N`` (exponential Euler)."""
        return self._weight("phi1")

    @property
    def noise_std(self) -> np.ndarray:
        """``(∫_t^{t'} (Φ(u)/Φ(t'))² g(u)² du)^{1/2}`` per step: the exact std of the step's noise integral."""
        return self._weight("noise_std")

    @property
    def path_mean(self) -> np.ndarray:
        """``(1/h) ∫_t^{t'} (Φ(u)/Φ(t')) g(u) du`` per step: projects the noise integral on a path's increment."""
        return self._weight("path_mean")

    @property
    def phi2(self) -> np.ndarray:
        """``∫_t^{t'} (Φ(u)/Φ(t')) b(u) (u - t) du`` per step: the weight of ``N``'s slope (exponential RK2/AB2)."""
        return self._weight("phi2")

    @property
    def phi3(self) -> np.ndarray:
        """``∫_t^{t'} (Φ(u)/Φ(t')) b(u) (u - t)² du`` per step: the weight of ``N``'s curvature (exponential AB3)."""
        return self._weight("phi3")

    # --- per-step splits at a fixed fraction (host, float64) ----------------------------------------------
    def fixed_split(self, frac: float) -> SplitWeights[np.ndarray]:
        """:class:`SplitWeights` of every step at the same fraction ``frac ∈ (0, 1]``, as float64 arrays."""
        if not 0.0 < frac <= 1.0:
            raise ValueError(f"split fraction must lie in (0, 1], got {frac}")
        arrays = [np.empty(self.n, dtype=np.float64) for _ in SplitWeights._fields]
        views = [torch.from_numpy(v) for v in arrays]

        def take(start: int, stop: int, tab: StepTables) -> None:
            f = torch.full((stop - start,), float(frac), dtype=F64)
            for view, value in zip(views, split_weights(tab, f, self.sde.factor), strict=True):
                view[start:stop] = value

        self._scan(take)
        return SplitWeights(*(_frozen(v) for v in arrays))

    # --- per-sample splits (device) -----------------------------------------------------------------------
    def _rows(self, k: int, count: int) -> StepTables:
        """Row ``k`` of the tables on the device, from the one chunk of steps kept there."""
        if not 0 <= k < self.n:
            raise IndexError(f"step {k} is outside the grid's {self.n} steps")
        index = k // self.chunk
        start = index * self.chunk
        if index != self._device_chunk:
            self._device_tables = None  # drop the previous chunk before building the next
            stop = min(start + self.chunk, self.n)
            self._device_tables = self.step_tables(start, stop).to(self.device, self.table_dtype)
            self._device_chunk = index
        assert self._device_tables is not None
        return self._device_tables.rows(k - start, count)

    def check_importance(self, who: str) -> None:
        """Raise unless ``Φ b`` keeps one sign on every step (a density needs it); streamed over the steps."""
        for start, stop in self._chunks():
            t0 = self.ts[start:stop]
            h = self.ts[start + 1 : stop + 1] - t0
            grid = _subgrid(t0, h, self.subdivisions)
            d = torch.exp(-_log_growth_at_nodes(self.sde, t0, grid)) * self.sde.weight(grid.nodes)
            if not bool(((d > 0).all(dim=1) | (d < 0).all(dim=1)).all()):
                raise ValueError(
                    f"{who}: importance sampling draws τ with density ∝ Φ b, so b(t) must be nonzero with one sign "
                    "on every step; use distribution='uniform' or a grid that avoids the zeros of b"
                )

    def importance_fraction(self, k: int, q: Tensor) -> Tensor:
        """Per-sample fractions of step ``k`` with density ``∝ Φ b`` (``q`` uniform on ``[0, 1]``)."""
        q = q.to(self.table_dtype)
        factor = self.sde.factor
        tab = self._rows(k, q.shape[0])
        if factor is not None and factor.provides("sample_time"):
            tau = factor.sample_time(tab.t0, tab.t0 + tab.h, q)
            return ((tau - tab.t0) / tab.h).clamp(0, 1)
        return importance_fraction(tab, q)

    def split(self, k: int, frac: Tensor) -> SplitWeights[Tensor]:
        """Per-sample :class:`SplitWeights` of step ``k`` at fractions ``frac`` (shape ``(B,)``), in the
        working dtype."""
        frac = frac.to(self.table_dtype)
        sw = split_weights(self._rows(k, frac.shape[0]), frac, self.sde.factor)
        return SplitWeights(*(v.to(self.dtype) for v in sw))
