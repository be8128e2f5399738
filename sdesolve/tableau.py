"""Method data as data: explicit Runge–Kutta and Rößler SRA tableaus, and the stepper bases that run them.

A method is declared by its coefficients, not by code. For ``dX = F(t, X) dt + g(t) dW`` with ``F = a x + b N``:

* :class:`ButcherTableau` ``(c, A, b)`` of an explicit Runge–Kutta method, run by :class:`ExplicitRungeKutta`
  with additive noise entering through :class:`AdditiveNoise` weights (``g`` at the stage times, times ``ΔW``):

  ``X_i = x + Σ_j A_ij (h F(t + c_j h, X_j)) + ΔW Σ_j Ã_ij g(t + c_j h)``,
  ``x' = x + Σ_i b_i h F(t + c_i h, X_i) + ΔW Σ_i b̃_i g(t + c_i h)``.

  By default ``(Ã, b̃) = (A, b)``: the tableau applied to ``F dt + g dW`` alike (Heun's predictor takes
  ``g(t) ΔW``, its corrector ``(g(t) + g(t'))/2 ΔW``). :meth:`AdditiveNoise.euler` adds ``g(t) ΔW`` once, to
  ``x'`` only. Strong order 1 for additive noise whenever ``Σ b̃_i = 1``.
* :class:`SRATableau` ``(c0, A0, B0, c1, alpha, beta1, beta2)`` of Rößler's (2010) SRA family for additive noise,
  run by :class:`StochasticRungeKuttaSRA`, with ``U = ∫_{s_k}^{s_{k+1}} (W(s) - W(s_k)) ds`` (``ctx.noise.space_time``)
  and ``Ū = U / |h|``:

  ``H_i = x + Σ_j A0_ij h F(t + c0_j h, H_j) + Ū Σ_j B0_ij g(t + c1_j h)``,
  ``x' = x + Σ_i alpha_i h F(t + c0_i h, H_i) + Σ_i (beta1_i ΔW + beta2_i Ū) g(t + c1_i h)``.

  These steppers declare ``needs_levy_area = True``: a user path without the space-time Lévy area is refused
  before the first step.

``a, b, g`` at the stage times are evaluated once per grid in float64 (stage fractions ``0`` and ``1`` read the
grid ends, ``ctx.coef.a0``… ``g1``, so no extra evaluations); the ``g`` weights are combined per step in
float64 once, in ``init``. Zero coefficients are skipped, so a method costs exactly its nonzero entries, and a
tableau reproduces a hand-written step operation for operation (``tests/test_tableau.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from sdesolve.steppers.base import SolveContext, Stepper

__all__ = [
    "HEUN",
    "AdditiveNoise",
    "ButcherTableau",
    "ExplicitRungeKutta",
    "SRATableau",
    "StochasticRungeKuttaSRA",
]

_TOL = 1e-12

Vector = tuple[float, ...]
Matrix = tuple[Vector, ...]


def _vector(what: str, values: Sequence[float]) -> Vector:
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a sequence of numbers, got {values!r}") from exc
    if not out:
        raise ValueError(f"{what} must not be empty")
    if not all(math.isfinite(v) for v in out):
        raise ValueError(f"{what} must be finite, got {out}")
    return out


def _lower(what: str, rows: Sequence[Sequence[float]], s: int) -> Matrix:
    """A strictly lower-triangular ``s × s`` matrix; row ``i`` may list only its first ``i`` entries."""
    rows = tuple(rows)
    if len(rows) != s:
        raise ValueError(f"{what} must have {s} rows (one per stage), got {len(rows)}")
    out = []
    for i, row in enumerate(rows):
        r = _vector(f"{what}[{i}]", row) if len(row) else ()
        if len(r) not in (i, s):
            raise ValueError(f"{what}[{i}] must list {i} or {s} entries, got {len(r)}")
        r = r + (0.0,) * (s - len(r))
        if any(v != 0.0 for v in r[i:]):
            raise ValueError(f"{what} must be strictly lower triangular (explicit method); row {i} is {r}")
        out.append(r)
    return tuple(out)


def _fractions(what: str, c: Vector) -> None:
    if not all(0.0 <= v <= 1.0 for v in c):
        raise ValueError(f"{what} must lie in [0, 1] (stage times inside the step), got {c}")


def _row_sums(what: str, c: Vector, a: Matrix, a_name: str) -> None:
    for i, (ci, row) in enumerate(zip(c, a, strict=True)):
        if abs(ci - math.fsum(row)) > _TOL:
            raise ValueError(f"{what}[{i}] = {ci} must equal the sum of row {i} of {a_name} ({math.fsum(row)})")


def _sums_to(what: str, v: Vector, total: float) -> None:
    if abs(math.fsum(v) - total) > _TOL:
        raise ValueError(f"{what} must sum to {total:g} (consistency), got {math.fsum(v)}")


@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge–Kutta method: stage fractions ``c``, stage matrix ``A`` (strictly lower triangular; row
    ``i`` may list only its first ``i`` entries), weights ``b``. Checked: ``c_i = Σ_j A_ij``, ``Σ b = 1``,
    ``0 ≤ c ≤ 1``."""

    c: Vector
    A: Matrix
    b: Vector

    def __post_init__(self) -> None:
        c = _vector("c", self.c)
        s = len(c)
        a = _lower("A", self.A, s)
        b = _vector("b", self.b)
        if len(b) != s:
            raise ValueError(f"b must have {s} entries (one per stage), got {len(b)}")
        _fractions("c", c)
        _row_sums("c", c, a, "A")
        _sums_to("b", b, 1.0)
        object.__setattr__(self, "c", c)
        object.__setattr__(self, "A", a)
        object.__setattr__(self, "b", b)

    @property
    def stages(self) -> int:
        return len(self.c)


@dataclass(frozen=True)
class AdditiveNoise:
    """How ``g dW`` enters an explicit RK step, with ``g`` at the tableau's stage times: stage ``i`` gets
    ``ΔW Σ_j A_ij g(t + c_j h)``, the step ``ΔW Σ_i b_i g(t + c_i h)``. ``Σ b = 1`` is checked."""

    A: Matrix
    b: Vector

    def __post_init__(self) -> None:
        b = _vector("noise b", self.b)
        a = _lower("noise A", self.A, len(b))
        _sums_to("noise b", b, 1.0)
        object.__setattr__(self, "A", a)
        object.__setattr__(self, "b", b)

    @classmethod
    def euler(cls, stages: int) -> AdditiveNoise:
        """``g(t) ΔW`` added once, to ``x'`` (no noise in the stages)."""
        return cls(A=((0.0,) * stages,) * stages, b=(1.0,) + (0.0,) * (stages - 1))


@dataclass(frozen=True)
class SRATableau:
    """Rößler's SRA method for additive noise (see :mod:`sdesolve.tableau` for the step it defines).

    ``c0, A0, alpha``: the drift stages and weights (an explicit RK tableau); ``B0``: the Lévy-area weights of the
    stages (strictly lower triangular); ``c1``: the fractions where ``g`` is read; ``beta1, beta2``: the weights of
    ``ΔW`` and ``Ū`` in ``x'``. Checked: ``c0_i = Σ_j A0_ij``, ``Σ alpha = 1``, ``Σ beta1 = 1``, ``Σ beta2 = 0``.
    """

    c0: Vector
    A0: Matrix
    B0: Matrix
    c1: Vector
    alpha: Vector
    beta1: Vector
    beta2: Vector

    def __post_init__(self) -> None:
        drift = ButcherTableau(self.c0, self.A0, self.alpha)
        s = drift.stages
        c1 = _vector("c1", self.c1)
        for name, v in (("c1", c1), ("beta1", self.beta1), ("beta2", self.beta2)):
            if len(v) != s:
                raise ValueError(f"{name} must have {s} entries (one per stage), got {len(v)}")
        _fractions("c1", c1)
        beta1, beta2 = _vector("beta1", self.beta1), _vector("beta2", self.beta2)
        _sums_to("beta1", beta1, 1.0)
        _sums_to("beta2", beta2, 0.0)
        object.__setattr__(self, "c0", drift.c)
        object.__setattr__(self, "A0", drift.A)
        object.__setattr__(self, "alpha", drift.b)
        object.__setattr__(self, "B0", _lower("B0", self.B0, s))
        object.__setattr__(self, "c1", c1)
        object.__setattr__(self, "beta1", beta1)
        object.__setattr__(self, "beta2", beta2)

    @property
    def stages(self) -> int:
        return len(self.c0)


HEUN = ButcherTableau(c=(0.0, 1.0), A=((), (1.0,)), b=(0.5, 0.5))
"""Heun's method (explicit trapezoidal rule, EDM's second-order step)."""


def _host(values: Tensor) -> np.ndarray:
    return np.array(values.detach().to(device="cpu", dtype=torch.float64).numpy(), dtype=np.float64)


class _StagePoints:
    """``a, b`` (and ``g`` where asked) at ``t + f h`` for every step, float64 arrays, and ``N``'s stage times.

    Fractions ``0`` and ``1`` read the grid ends (``ctx.coef.a0``…``g1``, ``ctx.time``); others are evaluated
    once per grid, each distinct fraction once.
    """

    def __init__(self, ctx: SolveContext, x0: Tensor, drift: Vector, noise: Sequence[float]) -> None:
        c = ctx.coef
        self._ab: dict[float, tuple[np.ndarray, np.ndarray, Tensor | int]] = {}
        self._g: dict[float, np.ndarray] = {}
        for f in drift:
            if f in self._ab:
                continue
            if f == 0.0:
                self._ab[f] = (c.a0, c.b0, 0)
            elif f == 1.0:
                self._ab[f] = (c.a1, c.b1, 1)
            else:
                stage = self._stage(c, f)
                self._ab[f] = (
                    _host(ctx.sde.linear(stage)),
                    _host(ctx.sde.weight(stage)),
                    stage.to(x0.device, x0.dtype),
                )
        for f in noise:
            if f not in self._g:
                self._g[f] = c.g0 if f == 0.0 else c.g1 if f == 1.0 else _host(ctx.sde.diffusion(self._stage(c, f)))

    @staticmethod
    def _stage(c: Any, f: float) -> Tensor:
        return c.ts[:-1] + f * (c.ts[1:] - c.ts[:-1])  # float64, host

    def g(self, f: float) -> np.ndarray:
        return self._g[f]

    def drift(self, ctx: SolveContext, f: float, k: int, x: Tensor) -> Tensor:
        """``F(t + f h, x) = a x + b N`` at step ``k`` (one evaluation of ``N``)."""
        a, b, times = self._ab[f]
        if isinstance(times, int):
            t = ctx.time(k + times)
        else:
            t = times[k].expand(ctx.batch)
        return ctx.nonlinear(t, x).mul(b[k]).add_(x, alpha=a[k])


def _g_weights(weights: Vector, fractions: Vector, points: _StagePoints) -> np.ndarray | None:
    """``Σ_j w_j g(t + f_j h)`` per step (float64, zero weights skipped), or ``None`` when every weight is 0."""
    total = None
    for w, f in zip(weights, fractions, strict=True):
        if w != 0.0:
            term = w * points.g(f)
            total = term if total is None else total + term
    return total


class _NoiseTerm:
    """One noise increment's weights: per stage (``None``: not in that stage) and in ``x'``, per step."""

    def __init__(self, stage: list[np.ndarray | None], step: np.ndarray | None) -> None:
        self.stage = stage
        self.step = step


def _run_stages(
    ctx: SolveContext,
    k: int,
    x: Tensor,
    c: Vector,
    a: Matrix,
    b: Vector,
    points: _StagePoints,
    terms: list[_NoiseTerm] | None,
    draw: Any,
) -> Tensor:
    """One explicit stochastic RK step: stages, then ``x'``; ``draw(k, x)`` gives the noise increments (one per
    term) right after the first ``N`` (where the hand-written steppers drew them)."""
    h = ctx.coef.h[k]
    slopes: list[Tensor] = []
    increments: tuple[Tensor, ...] = ()
    for i in range(len(c)):
        stage = x
        fresh = False
        for j in range(i):
            if a[i][j] != 0.0:
                stage = (
                    stage.add_(slopes[j], alpha=a[i][j] * h) if fresh else torch.add(x, slopes[j], alpha=a[i][j] * h)
                )
                fresh = True
        if terms is not None and i > 0:  # the first stage is x itself
            for term, increment in zip(terms, increments, strict=True):
                w = term.stage[i]
                if w is not None:
                    stage = stage.add_(increment, alpha=w[k]) if fresh else torch.add(x, increment, alpha=w[k])
                    fresh = True
        slopes.append(points.drift(ctx, c[i], k, stage))
        if i == 0 and terms is not None:
            increments = draw(k, x)
    y = None
    for i, bi in enumerate(b):
        if bi != 0.0:
            y = torch.add(x, slopes[i], alpha=bi * h) if y is None else y.add_(slopes[i], alpha=bi * h)
    assert y is not None  # Σ b = 1
    if terms is not None:
        for term, increment in zip(terms, increments, strict=True):
            if term.step is not None:
                y.add_(increment, alpha=term.step[k])
    return y


class ExplicitRungeKutta(Stepper):
    """An explicit Runge–Kutta stepper declared by data: set ``tableau`` (a :class:`ButcherTableau`) and, unless
    the tableau's own weights should carry the noise, ``noise`` (an :class:`AdditiveNoise`); declare the orders.
    ``nfe_per_step`` defaults to the number of stages. The step is given in :mod:`sdesolve.tableau`."""

    tableau: ClassVar[ButcherTableau]
    noise: ClassVar[AdditiveNoise | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tab = cls.__dict__.get("tableau")
        if tab is None:
            return
        if not isinstance(tab, ButcherTableau):
            raise TypeError(f"{cls.__name__}.tableau must be a ButcherTableau, got {type(tab).__name__}")
        noise = cls.noise
        if noise is not None and (not isinstance(noise, AdditiveNoise) or len(noise.b) != tab.stages):
            raise TypeError(f"{cls.__name__}.noise must be an AdditiveNoise with {tab.stages} stages, got {noise!r}")
        if "nfe_per_step" not in cls.__dict__:
            cls.nfe_per_step = tab.stages

    def noise_weights(self) -> AdditiveNoise:
        """The :class:`AdditiveNoise` in use: ``noise``, or the tableau's own ``(A, b)``."""
        return self.noise if self.noise is not None else AdditiveNoise(self.tableau.A, self.tableau.b)

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        tab = self.tableau
        if ctx.noise is None:
            return _StagePoints(ctx, x0, tab.c, ()), None
        nw = self.noise_weights()
        points = _StagePoints(ctx, x0, tab.c, tab.c)
        term = _NoiseTerm([_g_weights(row, tab.c, points) for row in nw.A], _g_weights(nw.b, tab.c, points))
        return points, [term]

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        points, terms = state
        tab = self.tableau

        def draw(k: int, x: Tensor) -> tuple[Tensor, ...]:
            return (ctx.noise.increment(k, x),)

        return _run_stages(ctx, k, x, tab.c, tab.A, tab.b, points, terms, draw), state


class StochasticRungeKuttaSRA(Stepper):
    """A Rößler SRA stepper declared by data: set ``tableau`` (an :class:`SRATableau`) and declare the orders.
    ``nfe_per_step`` defaults to the number of stages; ``needs_levy_area`` is ``True``. The step is given in
    :mod:`sdesolve.tableau`."""

    tableau: ClassVar[SRATableau]
    needs_levy_area = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tab = cls.__dict__.get("tableau")
        if tab is None:
            return
        if not isinstance(tab, SRATableau):
            raise TypeError(f"{cls.__name__}.tableau must be an SRATableau, got {type(tab).__name__}")
        if "nfe_per_step" not in cls.__dict__:
            cls.nfe_per_step = tab.stages

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        tab = self.tableau
        if ctx.noise is None:
            return _StagePoints(ctx, x0, tab.c0, ()), None
        points = _StagePoints(ctx, x0, tab.c0, tab.c1)
        dw = _NoiseTerm([None] * tab.stages, _g_weights(tab.beta1, tab.c1, points))
        area = _NoiseTerm([_g_weights(row, tab.c1, points) for row in tab.B0], _g_weights(tab.beta2, tab.c1, points))
        return points, [dw, area]

    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        points, terms = state
        tab = self.tableau
        abs_h = ctx.coef.abs_h

        def draw(k: int, x: Tensor) -> tuple[Tensor, ...]:
            dw, u = ctx.noise.space_time(k, x)
            return dw, u / abs_h[k]

        return _run_stages(ctx, k, x, tab.c0, tab.A0, tab.alpha, points, terms, draw), state
