"""Adaptive step-size control: embedded pairs, a PI controller and the ODE driver.

``dX = (a(t) X + b(t) N(t, X)) dt`` from ``t0`` to ``t1`` (either direction), with the step size chosen so that the
embedded local-error estimate stays below ``rtol``/``atol`` (SDEs and per-sample steps:
:mod:`sdesolve.adaptive_sde`, which :func:`solve_adaptive` hands them to):

* :class:`PIController` — the step-size controller, in the style of diffrax's ``PIDController`` (``dcoeff = 0``);
* embedded pairs (:class:`EmbeddedPair`): ``"exponential_rk2"`` (exponential RK2 / ETD2RK with the exponential
  Euler step as its embedded first-order solution), ``"heun"`` (Heun with Euler embedded) and ``"bosh3"``
  (Bogacki–Shampine 3(2), first-same-as-last); the RK pairs are data (:class:`EmbeddedTableau`);
* :func:`solve_adaptive` — the driver, returning an :class:`AdaptiveResult` (final state, accepted times, accepted
  and rejected step counts, NFE, states at ``t_eval``).

**One step size for the whole batch.** The error norm is the RMS over each sample's coordinates of
``err / (atol + rtol · max(|x|, |x_new|))``, then the *maximum over the batch*: every sample takes the same steps,
so a sample's result depends (within the tolerance) on the other samples of the batch.
``PIController(per_sample=True)`` (and SDEs without ``bm``) use :mod:`sdesolve.adaptive_sde` instead, where each
sample has its own steps.

**Synchronisation.** The controller decides on the host, so each attempted step reads exactly one scalar (the
batch's error norm, which also carries a non-finite flag) back from the device; the initial step-size selection
(when ``dt0`` is not given) reads three more. The coefficients of a step (``a, b`` at the stage times, the integrating
factor weights) are computed on the host in float64 and enter the device kernels as Python numbers.

**Coefficients of the exponential pair.** The weights of one step ``[t, t + h]`` (``state_weight``, ``phi1``,
``phi2``, formulas in :mod:`sdesolve.coefficients`) come from the same machinery as a fixed grid:
:func:`sdesolve.coefficients.build_tables` on that single step (closed forms of the problem's integrating factor
where it gives them, float64 Gauss–Legendre quadrature otherwise), at ``subdivisions`` cells (default 2: on one
step the 8-point rule on 2 cells agrees with 32 cells to 4e-16 on the conformance problems,
``tests/test_adaptive.py::test_two_cells_suffice_on_one_step``). That costs 0.6–0.8 ms
of host time per attempted step on a 2-core CPU (``python benchmarks/adaptive_ode.py --proportionality``; building
the tables is dominated by per-call overhead, not by the cell count). For a
:class:`~sdesolve.factors.ConstantFactor` (constant ``a`` and ``b``) the closed forms ``e^{ah}``, ``b h φ₁(ah)``,
``b h² φ₂(ah)`` are used instead, with no tables.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from sdesolve.coefficients import build_tables, split_weights
from sdesolve.counting import CountedCalls
from sdesolve.dtypes import F64
from sdesolve.factors import ConstantFactor
from sdesolve.problem import SemilinearSDE
from sdesolve.tableau import ButcherTableau

__all__ = [
    "BOSH3",
    "HEUN_EULER",
    "PAIRS",
    "AdaptiveResult",
    "BatchContext",
    "EmbeddedPair",
    "EmbeddedTableau",
    "ExponentialRK2Pair",
    "HeunEulerPair",
    "PIController",
    "RungeKuttaPair",
    "StepSizeError",
    "adaptive_pair",
    "declared_pair",
    "get_pair",
    "instance_pair_options",
    "solve_adaptive",
]


class StepSizeError(RuntimeError):
    """The adaptive solve could not reach ``t1``: too many steps, or the step size fell below ``dt_min`` (or
    round-off) while the error test kept failing. ``t`` is where it stopped."""

    def __init__(self, message: str, t: float) -> None:
        super().__init__(message)
        self.t = t


def _positive_finite(name: str, value: Any, allow_zero: bool = False, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound} and {'not NaN' if allow_inf else 'finite'}, got {value!r}")
    return v


# --- the controller -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PIController:
    """A PI step-size controller (diffrax's ``PIDController`` with ``dcoeff = 0``).

    After a step of size ``|h|`` with scaled error ``e`` (:meth:`error_norm`; the step is accepted when ``e ≤ 1``)
    the next step is ``|h| · clip(safety · e^{-β₁} · e_prev^{-β₂}, lo, hi)`` with ``β₁ = (pcoeff + icoeff)/k``,
    ``β₂ = -pcoeff/k``, ``k = q + 1`` for an embedded estimate of order ``q`` (local error ``O(h^{q+1})``), and
    ``e_prev`` the error of the last *accepted* step (1 before the first). ``pcoeff = 0, icoeff = 1`` (the default)
    is the classical I controller ``safety · e^{-1/k}``; diffrax suggests ``pcoeff = 0.3, icoeff = 0.4`` for
    3rd-order pairs. After an accepted step ``lo = 1`` (an accepted step never shrinks the next one) and
    ``hi = factor_max``; after a rejection ``lo = factor_min`` and ``hi = safety``.

    Args:
        rtol: relative tolerance (> 0, finite).
        atol: absolute tolerance (> 0, finite).
        pcoeff: proportional coefficient.
        icoeff: integral coefficient (``> 0``).
        safety: in ``(0, 1]``.
        factor_min: lower bound on the step-size ratio, ``0 < factor_min < 1``.
        factor_max: upper bound on the step-size ratio, ``factor_max > 1``.
        dt_min: the smallest step (``≥ 0``); a rejected step of this size raises :class:`StepSizeError`.
        dt_max: the largest step (``> 0``, may be ``inf``).
        step_ts: forced stops: times the solve steps to exactly (e.g. kinks of a discrete schedule); those outside
            the open interval ``(t0, t1)`` are ignored.
        per_sample: ``True``: each sample has its own step sizes (its error is its own RMS; batch-invariant, see
            :mod:`sdesolve.adaptive_sde`); ``False``: the batch shares steps (the maximum over samples); ``None``
            (default): per sample for SDEs without ``bm``, shared otherwise.
    """

    rtol: float
    atol: float
    pcoeff: float = 0.0
    icoeff: float = 1.0
    safety: float = 0.9
    factor_min: float = 0.2
    factor_max: float = 10.0
    dt_min: float = 0.0
    dt_max: float = math.inf
    step_ts: Sequence[float] | Tensor | None = None
    per_sample: bool | None = None

    def __post_init__(self) -> None:
        if self.per_sample is not None and not isinstance(self.per_sample, bool):
            raise TypeError(f"per_sample must be True, False or None, got {self.per_sample!r}")
        for name in ("rtol", "atol"):
            object.__setattr__(self, name, _positive_finite(name, getattr(self, name)))
        pcoeff = float(self.pcoeff)
        icoeff = float(self.icoeff)
        if not (math.isfinite(pcoeff) and pcoeff >= 0):
            raise ValueError(f"pcoeff must be >= 0 and finite, got {self.pcoeff!r}")
        if not (math.isfinite(icoeff) and icoeff > 0):
            raise ValueError(f"icoeff must be > 0 and finite, got {self.icoeff!r}")
        safety = _positive_finite("safety", self.safety)
        if safety > 1:
            raise ValueError(f"safety must lie in (0, 1], got {self.safety!r}")
        fmin = _positive_finite("factor_min", self.factor_min)
        fmax = _positive_finite("factor_max", self.factor_max)
        if not fmin < 1 < fmax:
            raise ValueError(f"need 0 < factor_min < 1 < factor_max, got {self.factor_min!r}, {self.factor_max!r}")
        dt_min = _positive_finite("dt_min", self.dt_min, allow_zero=True)
        dt_max = _positive_finite("dt_max", self.dt_max, allow_inf=True)
        if dt_min > dt_max:
            raise ValueError(f"dt_min ({dt_min}) must not exceed dt_max ({dt_max})")
        stops: tuple[float, ...] = ()
        if self.step_ts is not None:
            arr = np.asarray(
                self.step_ts.detach().cpu().double().numpy() if isinstance(self.step_ts, Tensor) else self.step_ts,
                dtype=np.float64,
            ).reshape(-1)
            if not np.isfinite(arr).all():
                raise ValueError("step_ts must be finite")
            stops = tuple(float(v) for v in arr)
        for name, v in (("pcoeff", pcoeff), ("icoeff", icoeff), ("safety", safety), ("factor_min", fmin)):
            object.__setattr__(self, name, v)
        object.__setattr__(self, "factor_max", fmax)
        object.__setattr__(self, "dt_min", dt_min)
        object.__setattr__(self, "dt_max", dt_max)
        object.__setattr__(self, "step_ts", stops)

    def error_norm(self, err: Tensor, x: Tensor, x_new: Tensor) -> Tensor:
        """``max_batch RMS_coords(err / (atol + rtol max(|x|, |x_new|)))`` as a 0-d device tensor; NaN when
        ``x_new`` holds a NaN or an infinity (so the step is rejected)."""
        scale = torch.maximum(x.abs(), x_new.abs()).mul_(self.rtol).add_(self.atol)
        ratio = (err / scale).flatten(1)
        per_sample = ratio.square().mean(dim=1).sqrt()
        flag = x_new.abs().amax() * 0.0  # NaN when x_new is not finite (inf · 0 = NaN)
        return per_sample.amax() + flag

    def factor(self, e: float, e_prev: float, accepted: bool, error_order: float) -> float:
        """The step-size ratio after a step with scaled error ``e`` (``e_prev``: the last accepted error)."""
        if not math.isfinite(e):
            return self.factor_min
        k = float(error_order)
        beta1 = (self.pcoeff + self.icoeff) / k
        beta2 = -self.pcoeff / k
        e = max(e, 1e-10)  # an exact step: grow by factor_max
        f = self.safety * e ** (-beta1) * max(e_prev, 1e-10) ** (-beta2)
        lo, hi = (1.0, self.factor_max) if accepted else (self.factor_min, self.safety)
        return min(max(f, lo), hi)


# --- embedded pairs -----------------------------------------------------------------------------------------
class _Context:
    """What a pair needs during one solve: the problem, the counted ``N``, the batch layout."""

    def __init__(self, sde: SemilinearSDE, x0: Tensor, subdivisions: int) -> None:
        self.sde = sde
        self.evaluate = CountedCalls(sde.evaluate)
        self.batch = x0.shape[0]
        self.device = x0.device
        self.dtype = x0.dtype
        self.subdivisions = subdivisions

    def nonlinear(self, t: float, x: Tensor) -> Tensor:
        """``N(t, x)`` at one time for every sample (counted)."""
        return self.evaluate(torch.full((self.batch,), t, dtype=self.dtype, device=self.device), x)

    def ab(self, times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """``a`` and ``b`` at ``times`` (host, float64)."""
        tt = torch.tensor(list(times), dtype=F64)
        return (
            self.sde.linear(tt).detach().cpu().double().numpy(),
            self.sde.weight(tt).detach().cpu().double().numpy(),
        )


class BatchContext:
    """What a pair needs for per-sample steps (:meth:`EmbeddedPair.attempt_batch`): the problem, the counted ``N``,
    per-sample coefficients. Times are host float64 arrays of shape ``(batch,)``."""

    def __init__(self, sde: SemilinearSDE, x0: Tensor, subdivisions: int) -> None:
        self.sde = sde
        self.evaluate = CountedCalls(sde.evaluate)
        self.like = x0
        self.subdivisions = subdivisions
        self._fns = {"a": sde.linear, "b": sde.weight, "g": sde.diffusion}

    def rows(self, v: np.ndarray) -> Tensor:
        """A ``(batch,)`` host array as a ``(batch, 1, …, 1)`` tensor in the state's dtype and device."""
        t = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
        like = self.like
        return t.to(device=like.device, dtype=like.dtype).reshape((-1,) + (1,) * (like.dim() - 1))

    def coefficient(self, name: str, t: np.ndarray) -> Tensor:
        """``a``, ``b`` or ``g`` at per-sample times (evaluated in float64 on the host), laid out by :meth:`rows`."""
        value = self._fns[name](torch.from_numpy(np.ascontiguousarray(t, dtype=np.float64)))
        return self.rows(value.detach().cpu().double().numpy())

    def nonlinear(self, t: np.ndarray, x: Tensor) -> Tensor:
        """``N(t, x)`` with one time per sample (counted)."""
        tt = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float64)).to(device=x.device, dtype=x.dtype)
        return self.evaluate(tt, x)


class EmbeddedPair(ABC):
    """A step with an embedded error estimate.

    ``attempt(ctx, t, h, x, n0)`` returns ``(x_new, err, n_new)``: the higher-order solution at ``t + h``, the
    difference between it and the embedded lower-order solution, and ``N(t + h, x_new)`` when the pair has it for
    free (first same as last) else ``None``. ``n0`` is ``N(t, x)`` when known (it is kept across a rejection, so a
    retried step does not evaluate it again), else ``None``; ``attempt`` also returns the ``N(t, x)`` it used.

    Class attributes: ``name``; ``order`` (of the propagated solution, which is the higher-order one: local
    extrapolation); ``embedded_order`` ``q`` (the controller's exponent is ``1/(q + 1)``); ``nfe_per_step`` (per
    accepted step in a run without rejections, counting a first-same-as-last evaluation once).
    """

    name: ClassVar[str] = ""
    order: ClassVar[int] = 0
    embedded_order: ClassVar[int] = 0
    nfe_per_step: ClassVar[int] = 0
    supports_noise: ClassVar[bool] = False
    noise_error_order: ClassVar[float] = 1.5

    @property
    def error_order(self) -> int:
        return self.embedded_order + 1

    @property
    def batched(self) -> bool:
        """Whether the pair implements :meth:`attempt_batch` (per-sample times; SDEs and per-sample step sizes)."""
        return type(self).attempt_batch is not EmbeddedPair.attempt_batch

    def attempt_batch(
        self, ctx: BatchContext, t: np.ndarray, h: np.ndarray, x: Tensor, n0: Tensor | None, dw: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``(x_new, err, n0)`` for the steps ``t[i] → t[i] + h[i]`` (host float64 arrays, one time per sample),
        driven by the Brownian increments ``dw`` in solver time (``None`` for an ODE). Pairs used by
        :func:`sdesolve.adaptive_sde.solve_adaptive_sde` implement it."""
        raise NotImplementedError(f"the pair {self.name!r} has no per-sample (batched) form")

    @abstractmethod
    def attempt(
        self, ctx: _Context, t: float, h: float, x: Tensor, n0: Tensor | None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """``(x_new, err, n0, n_new)`` for the step ``t → t + h``."""


@dataclass(frozen=True)
class EmbeddedTableau:
    """An explicit RK tableau (a :class:`~sdesolve.tableau.ButcherTableau`, weights ``b`` of order ``order``) with
    embedded weights ``b_low`` of order ``embedded_order`` (checked: one per stage, ``Σ b_low = 1``)."""

    tableau: ButcherTableau
    b_low: tuple[float, ...]
    order: int
    embedded_order: int
    fsal: bool = field(init=False)

    def __post_init__(self) -> None:
        b_low = tuple(float(v) for v in self.b_low)
        if len(b_low) != self.tableau.stages:
            raise ValueError(f"b_low must have {self.tableau.stages} entries (one per stage), got {len(b_low)}")
        if abs(math.fsum(b_low) - 1.0) > 1e-12:
            raise ValueError(f"b_low must sum to 1 (consistency), got {math.fsum(b_low)}")
        if not 0 < self.embedded_order < self.order:
            raise ValueError(f"need 0 < embedded_order < order, got {self.embedded_order}, {self.order}")
        tab = self.tableau
        fsal = tab.c[-1] == 1.0 and tab.A[-1] == tab.b
        object.__setattr__(self, "b_low", b_low)
        object.__setattr__(self, "fsal", fsal)


HEUN_EULER = EmbeddedTableau(
    ButcherTableau(c=(0.0, 1.0), A=((), (1.0,)), b=(0.5, 0.5)), b_low=(1.0, 0.0), order=2, embedded_order=1
)
"""Heun (explicit trapezoidal rule) with the Euler step embedded."""

BOSH3 = EmbeddedTableau(
    ButcherTableau(
        c=(0.0, 0.5, 0.75, 1.0),
        A=((), (0.5,), (0.0, 0.75), (2 / 9, 1 / 3, 4 / 9)),
        b=(2 / 9, 1 / 3, 4 / 9, 0.0),
    ),
    b_low=(7 / 24, 1 / 4, 1 / 3, 1 / 8),
    order=3,
    embedded_order=2,
)
"""Bogacki–Shampine 3(2) (first same as last: the 4th stage is ``F(t + h, x_new)``)."""


class RungeKuttaPair(EmbeddedPair):
    """An embedded explicit RK pair on the full drift ``F = a x + b N``, declared by an :class:`EmbeddedTableau`."""

    def __init__(self, name: str, table: EmbeddedTableau, noise: bool = False) -> None:
        self.name = name  # type: ignore[misc]
        self.table = table
        self.supports_noise = bool(noise)  # type: ignore[misc]
        self.order = table.order  # type: ignore[misc]
        self.embedded_order = table.embedded_order  # type: ignore[misc]
        self.nfe_per_step = table.tableau.stages - (1 if table.fsal else 0)  # type: ignore[misc]
        tab = table.tableau
        self._diff = tuple(hi - lo for hi, lo in zip(tab.b, table.b_low, strict=True))

    def attempt(self, ctx, t, h, x, n0):
        tab = self.table.tableau
        times = [t + ci * h for ci in tab.c]
        if tab.c[-1] == 1.0:
            times[-1] = t + h  # the exact end time (t + 1.0 * h is the same float; kept explicit)
        a, b = ctx.ab(times)
        ns: list[Tensor] = []
        slopes: list[Tensor] = []
        for i in range(tab.stages):
            if i == 0:
                stage = x
            else:
                stage = x.clone()
                for j in range(i):
                    if tab.A[i][j] != 0.0:
                        stage.add_(slopes[j], alpha=tab.A[i][j] * h)
            n = n0 if (i == 0 and n0 is not None) else ctx.nonlinear(times[i], stage)
            ns.append(n)
            slopes.append(torch.add(n.mul(float(b[i])), stage, alpha=float(a[i])))
        x_new = x.clone()
        for i, bi in enumerate(tab.b):
            if bi != 0.0:
                x_new.add_(slopes[i], alpha=bi * h)
        err = torch.zeros_like(x)
        for i, d in enumerate(self._diff):
            if d != 0.0:
                err.add_(slopes[i], alpha=d * h)
        n_new = ns[-1] if self.table.fsal else None
        return x_new, err, ns[0], n_new

    def attempt_batch(self, ctx, t, h, x, n0, dw):
        """Per-sample times; with noise every slope carries ``g(t + c_i h) ΔW / h`` (for ``heun`` this is the
        stochastic Heun step of the fixed-grid stepper: Euler–Maruyama predictor, trapezoidal corrector)."""
        tab = self.table.tableau
        hh = ctx.rows(h)
        slopes: list[Tensor] = []
        first = n0
        for i in range(tab.stages):
            ti = t + tab.c[i] * h if tab.c[i] != 1.0 else t + h
            if i == 0:
                stage = x
            else:
                stage = x.clone()
                for j in range(i):
                    if tab.A[i][j] != 0.0:
                        stage.add_(slopes[j] * hh, alpha=tab.A[i][j])
            n = n0 if (i == 0 and n0 is not None) else ctx.nonlinear(ti, stage)
            if i == 0:
                first = n
            slope = ctx.coefficient("a", ti) * stage + ctx.coefficient("b", ti) * n
            if dw is not None:
                slope = slope + ctx.coefficient("g", ti) * dw / hh
            slopes.append(slope)
        x_new = x.clone()
        err = torch.zeros_like(x)
        for i, (bi, d) in enumerate(zip(tab.b, self._diff, strict=True)):
            if bi != 0.0:
                x_new.add_(slopes[i] * hh, alpha=bi)
            if d != 0.0:
                err.add_(slopes[i] * hh, alpha=d)
        return x_new, err, first


def _phi2(z: float) -> float:
    """``(e^z - 1 - z)/z²`` (equals 1/2 at 0): a 9-term series for ``|z| < 0.1`` (truncation < 3e-17 relative),
    else ``(expm1(z) - z)/z²`` (relative round-off ≤ 2 eps/|z| ≤ 5e-15)."""
    if abs(z) < 0.1:
        return sum(z**k / math.factorial(k + 2) for k in range(9))
    return (math.expm1(z) - z) / (z * z)


def _phi1(z: float) -> float:
    return 1.0 if z == 0.0 else math.expm1(z) / z


def _phi1_array(z: np.ndarray) -> np.ndarray:
    small = np.abs(z) < 1e-300
    return np.where(small, 1.0, np.expm1(z) / np.where(small, 1.0, z))


def _phi2_array(z: np.ndarray) -> np.ndarray:
    """:func:`_phi2` on an array."""
    series = sum(z**k / math.factorial(k + 2) for k in range(9))
    safe = np.where(np.abs(z) < 0.1, 1.0, z)
    return np.where(np.abs(z) < 0.1, series, (np.expm1(safe) - safe) / (safe * safe))


class ExponentialRK2Pair(EmbeddedPair):
    """Exponential RK2 (intermediate point ``m = t + r h``) with exponential Euler embedded.

    ``x_E = (Φ(t)/Φ(t')) x + phi1 N(t, x)`` (exponential Euler, order 1) and
    ``x' = x_E + (phi2/(r h)) (N(m, x_m) - N(t, x))`` (exponential RK2, order 2; ``x_m`` the exponential Euler step
    to ``m``, which is ``x_E`` itself for ``r = 1``: ETD2RK / exponential Heun, the default). The error estimate is
    ``x' - x_E = (phi2/(r h)) (N(m, x_m) - N(t, x))``. 2 NFE per attempted step, 1 per retry after a rejection
    (``N(t, x)`` is kept). The same update as the fixed-grid ``exponential_rk2`` stepper.
    """

    name = "exponential_rk2"
    order = 2
    embedded_order = 1
    nfe_per_step = 2

    def __init__(self, r: float = 1.0) -> None:
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not (0.0 < r <= 1.0) or math.isnan(r):
            raise ValueError(f"exponential_rk2 option r must be a number in (0, 1], got {r!r}")
        self.r = float(r)

    def weights(self, ctx: _Context, t: float, h: float) -> tuple[float, float, float, float, float]:
        """``(state_weight, phi1, phi2, head_state_weight, head_phi1)`` of the step ``[t, t + h]`` (head: to
        ``t + r h``), float64 on the host."""
        factor = ctx.sde.factor
        r = self.r
        if type(factor) is ConstantFactor:
            a, b = factor.a, factor.b
            z = a * h
            sw, phi1, phi2 = math.exp(z), b * h * _phi1(z), b * h * h * _phi2(z)
            if r == 1.0:
                return sw, phi1, phi2, sw, phi1
            return sw, phi1, phi2, math.exp(r * z), b * r * h * _phi1(r * z)
        tab = build_tables(ctx.sde, torch.tensor([t], dtype=F64), torch.tensor([t + h], dtype=F64), ctx.subdivisions)
        ex = torch.exp(tab.L[0, -1])
        sw, phi1, phi2 = float(ex), float(ex * tab.P[0, -1]), float(ex * tab.K[0, -1])
        if r == 1.0:
            return sw, phi1, phi2, sw, phi1
        split = split_weights(tab, torch.tensor([r], dtype=F64), ctx.sde.factor)
        return sw, phi1, phi2, float(split.head_state_weight[0]), float(split.head_phi1[0])

    @property
    def batched(self) -> bool:
        return self.r == 1.0  # the per-sample form is ETD2RK (r = 1); r < 1 would need split weights per sample

    @property
    def supports_noise(self) -> bool:  # type: ignore[override]
        return self.r == 1.0

    def batch_weights(
        self, ctx: BatchContext, t: np.ndarray, h: np.ndarray, noise: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``(state_weight, phi1, phi2, path_mean, noise_var)`` per sample (host float64; the last two only with
        noise; ``noise_var = ∫ (Φ(u) g(u)/Φ(t'))² |du|``): closed forms for a
        :class:`~sdesolve.factors.ConstantFactor`, else one :func:`build_tables` call on the batch's steps."""
        factor = ctx.sde.factor
        if type(factor) is ConstantFactor:
            z = factor.a * h
            sw = np.exp(z)
            p1 = _phi1_array(z)
            pm = var = None
            if noise:  # g is constant (the factor keeps only g²: read its sign from the problem)
                pm = ctx.sde.diffusion(torch.from_numpy(np.ascontiguousarray(t))).double().numpy() * p1
                var = factor.g2 * np.abs(h) * np.exp(2 * z) * _phi1_array(-2 * z)
            return sw, factor.b * h * p1, factor.b * h * h * _phi2_array(z), pm, var
        tab = build_tables(ctx.sde, torch.from_numpy(t), torch.from_numpy(t + h), ctx.subdivisions)
        ex = torch.exp(tab.L[:, -1])
        sw, phi1, phi2 = ex, ex * tab.P[:, -1], ex * tab.K[:, -1]
        pm = (ex * tab.G[:, -1] / tab.h).numpy() if noise else None
        var = (ex * ex * tab.Q[:, -1].abs()).numpy() if noise else None
        return sw.numpy(), phi1.numpy(), phi2.numpy(), pm, var

    def attempt_batch(self, ctx, t, h, x, n0, dw):
        """ETD2RK per sample: ``x_E = sw x + phi1 N(t, x) + w̄ ΔW`` (exponential Euler), ``x' = x_E + (phi2/h)
        (N(t', x_E) - N(t, x))``, error ``x' - x_E``.

        On a Brownian path the weighted integral ``η = ∫ Φ(u) g(u)/Φ(t') dW`` is replaced by its conditional mean
        ``w̄ ΔW`` given the increment; what is left, ``η - w̄ ΔW``, is Gaussian with variance
        ``m² = noise_var - w̄² |h|`` (``O(|h|³)``), which the drift difference does not see (with ``N = 0`` it is
        the whole local error). So the error returned is ``√(e_drift² + m²)`` elementwise: the scaled error norm is
        then ``RMS(e_drift) ⊕ m`` and the controller keeps the dropped noise below the tolerance too."""
        sw, phi1, phi2, pm, var = self.batch_weights(ctx, t, h, dw is not None)
        if n0 is None:
            n0 = ctx.nonlinear(t, x)
        low = x * ctx.rows(sw) + n0 * ctx.rows(phi1)
        if dw is not None:
            low = low + dw * ctx.rows(pm)
        nm = ctx.nonlinear(t + h, low)
        drift = (nm - n0) * ctx.rows(phi2 / h)
        err = drift
        if dw is not None:
            missing = np.maximum(var - pm * pm * np.abs(h), 0.0)
            err = drift.square().add_(ctx.rows(missing)).sqrt_()
        return low + drift, err, n0

    def attempt(self, ctx, t, h, x, n0):
        sw, phi1, phi2, head_sw, head_phi1 = self.weights(ctx, t, h)
        if n0 is None:
            n0 = ctx.nonlinear(t, x)
        low = x.mul(sw).add_(n0, alpha=phi1)
        if self.r == 1.0:
            xm = low
            tm = t + h
        else:
            xm = x.mul(head_sw).add_(n0, alpha=head_phi1)
            tm = t + self.r * h
        nm = ctx.nonlinear(tm, xm)
        err = (nm - n0).mul_(phi2 / (self.r * h))
        x_new = low.add(err)
        return x_new, err, n0, None


class HeunEulerPair(RungeKuttaPair):
    """Heun with Euler (Euler–Maruyama) embedded: :data:`HEUN_EULER`, with noise (the ``heun`` stepper's pair)."""

    def __init__(self) -> None:
        super().__init__("heun", HEUN_EULER, noise=True)


PAIRS: dict[str, Any] = {
    "exponential_rk2": ExponentialRK2Pair,
    "heun": HeunEulerPair,
    "bosh3": lambda: RungeKuttaPair("bosh3", BOSH3),
}
"""The embedded pairs by name (factories of :class:`EmbeddedPair`)."""


def get_pair(method: str | EmbeddedPair) -> EmbeddedPair:
    """An :class:`EmbeddedPair` from its name (``exponential_rk2``, ``heun``, ``bosh3``) or an instance."""
    if isinstance(method, EmbeddedPair):
        return method
    if isinstance(method, str):
        if method not in PAIRS:
            raise ValueError(
                f"no adaptive method {method!r}: adaptive solves have embedded pairs {sorted(PAIRS)} "
                "(exponential_rk2: exponential Euler embedded; heun: Euler embedded; bosh3: Bogacki–Shampine 3(2))"
            )
        return PAIRS[method]()
    raise TypeError(f"method must be a pair name or an EmbeddedPair, got {type(method).__name__}")


def declared_pair(stepper: Any) -> Callable[..., EmbeddedPair] | None:
    """The embedded-pair factory a stepper (class or instance) declares, or ``None``.

    A stepper declares an embedded error estimate with a class attribute ``embedded_pair``: a callable (an
    :class:`EmbeddedPair` subclass or a factory) taking the stepper's options and returning the pair. The built-in
    ``heun`` (:class:`HeunEulerPair`) and ``exponential_rk2`` (:class:`ExponentialRK2Pair`) steppers declare theirs
    the same way. Adaptive solves (``solve(..., rtol=, atol=)``) and the conformance suite's tolerance check find
    every stepper that has one.
    """
    factory = getattr(stepper, "embedded_pair", None)
    if factory is None:
        return None
    if not callable(factory):
        raise TypeError(f"stepper {getattr(stepper, 'name', stepper)!r}: embedded_pair must be callable")
    return factory


_MISSING = object()


def _pair_keywords(factory: Callable[..., EmbeddedPair]) -> set[str] | None:
    """The keyword arguments ``factory`` takes (``None``: any, or its signature cannot be read)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return {p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _equal(a: Any, b: Any) -> bool:
    try:
        return a is b or bool(a == b)
    except Exception:  # e.g. an ambiguous tensor comparison: treat as different
        return False


def instance_pair_options(stepper: Any, factory: Callable[..., EmbeddedPair]) -> dict[str, Any]:
    """The options a configured stepper instance passes to its embedded pair ``factory``.

    A stepper may say so itself with a method ``pair_options()`` returning the keyword arguments of its pair.
    Otherwise every keyword option of its constructor (:meth:`~sdesolve.steppers.base.Stepper.options`) is read
    from the instance's attribute of the same name (``ExponentialRK2(r=0.5).r``) and passed on when ``factory``
    takes it, whatever its value (the pair's default may differ from the stepper's: ``exponential_rk2``'s pair
    defaults to ``r = 1``). An option the pair does not take is dropped only at the constructor's default (where
    the instance is the stepper by name); at any other value, or when the attribute cannot be read, a
    ``ValueError`` names it: an instance's options are never silently ignored by adaptive steps.
    """
    label = getattr(stepper, "name", type(stepper).__name__)
    own = getattr(stepper, "pair_options", None)
    if own is not None:
        if not callable(own):
            raise TypeError(f"stepper {label!r}: pair_options must be a method returning a dict")
        carried = own()
        if not isinstance(carried, dict):
            raise TypeError(f"stepper {label!r}: pair_options() returned {type(carried).__name__}, not a dict")
        return dict(carried)
    pair_name = getattr(factory, "__name__", repr(factory))
    takes = _pair_keywords(factory)
    carried = {}
    for name, default in type(stepper).options().items():
        value = getattr(stepper, name, _MISSING)
        if value is _MISSING:
            raise ValueError(
                f"stepper instance {label!r}: its option {name!r} cannot be read (no attribute {name!r}), so adaptive "
                f"steps (rtol/atol) cannot pass it to the embedded pair {pair_name}; pass the stepper by name or "
                f"class with {name}=..., or give the stepper a pair_options() method"
            )
        if takes is None or name in takes:
            carried[name] = value
        elif not _equal(value, default):
            raise ValueError(
                f"stepper instance {label!r} has option {name}={value!r}, which its embedded pair {pair_name} does "
                f"not take, so adaptive steps (rtol/atol) cannot honour it; use {name}={default!r} (the default) or "
                "a fixed grid (no rtol/atol)"
            )
    return carried


def adaptive_pair(method: Any, **options: Any) -> EmbeddedPair:
    """The :class:`EmbeddedPair` behind ``method`` for an adaptive solve.

    ``method``: an :class:`EmbeddedPair`; a name in :data:`PAIRS` (``bosh3``, ``heun``, ``exponential_rk2``); or a
    registered stepper (name, class or instance) declaring ``embedded_pair`` (:func:`declared_pair`). ``options``
    go to the pair (``exponential_rk2``: ``r``). A stepper instance's own options go to its pair
    (:func:`instance_pair_options`: ``ExponentialRK2(r=0.5)`` gives the pair with ``r = 0.5``, where the name
    ``"exponential_rk2"`` gives the pair's default ``r = 1``); one the pair cannot honour is refused. A stepper
    without an estimate is refused, naming those that have one.
    """
    from sdesolve.plugins import registry
    from sdesolve.steppers.base import Stepper

    if isinstance(method, EmbeddedPair):
        if options:
            raise TypeError(f"options {sorted(options)} cannot be combined with an EmbeddedPair instance")
        return method
    factory: Callable[..., EmbeddedPair] | None = None
    label = method
    if isinstance(method, str):
        table = registry().steppers
        if method in table:
            factory = declared_pair(table[method])
        if factory is None and method in PAIRS:
            factory = PAIRS[method]
    elif isinstance(method, Stepper) or (isinstance(method, type) and issubclass(method, Stepper)):
        label = method.name
        factory = declared_pair(method)
        if isinstance(method, Stepper) and factory is not None:
            if options:
                raise TypeError("stepper options cannot be combined with a stepper instance; configure the instance")
            options = instance_pair_options(method, factory)
    else:
        raise TypeError(
            f"method must be a stepper or pair name, a stepper class or instance, or an EmbeddedPair, got "
            f"{type(method).__name__}"
        )
    if factory is None:
        raise ValueError(
            f"method {label!r} has no embedded error estimate, so it cannot take rtol/atol/controller (adaptive "
            f"steps); methods with one: {', '.join(adaptive_methods())} — e.g. 'heun' embeds Euler–Maruyama / Euler "
            "and 'exponential_rk2' embeds exponential Euler; a stepper declares one with an embedded_pair attribute"
        )
    try:
        pair = factory(**options)
    except TypeError as exc:
        raise TypeError(f"adaptive method {label!r}: {exc}") from None
    if not isinstance(pair, EmbeddedPair):
        raise TypeError(f"embedded_pair of {label!r} returned {type(pair).__name__}, not an EmbeddedPair")
    return pair


def adaptive_methods() -> list[str]:
    """Names that take a tolerance: :data:`PAIRS` and every registered stepper declaring an embedded pair."""
    from sdesolve.plugins import registry

    names = set(PAIRS) | {n for n, cls in registry().steppers.items() if declared_pair(cls) is not None}
    return sorted(names)


# --- the driver ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AdaptiveResult:
    """Result of :func:`solve_adaptive`.

    ``x``: the state at ``t1``; ``ts``: the accepted step ends, ``t0`` first and ``t1`` last (float64, host;
    ``None`` with per-sample steps, where every sample has its own); ``n_accepted``, ``n_rejected``: step counts
    (with per-sample steps: the maxima over samples); ``nfe``: (batched) evaluations of ``N``, the initial step-size
    selection included; ``t_eval`` and ``x_eval`` (shape ``(len(t_eval), *x.shape)``) when ``t_eval`` was given
    (``trajectory`` is ``x_eval``); ``method``: the pair's name. From the SDE / per-sample driver also
    ``sample_accepted``, ``sample_rejected`` (int64, one count per sample) and ``n_attempts`` (batched attempts).
    """

    x: Tensor
    ts: Tensor | None
    n_accepted: int
    n_rejected: int
    nfe: int
    method: str
    t_eval: Tensor | None = None
    x_eval: Tensor | None = None
    sample_accepted: Tensor | None = None
    sample_rejected: Tensor | None = None
    n_attempts: int | None = None

    @property
    def trajectory(self) -> Tensor | None:
        """The states at ``t_eval`` (``x_eval``), as ``solve(..., trajectory=True)`` returns them."""
        return self.x_eval


def _check_state(x0: Any) -> Tensor:
    if not isinstance(x0, Tensor):
        raise TypeError(f"x0 must be a torch.Tensor of shape (batch, *event), got {type(x0).__name__}")
    if not x0.is_floating_point() or x0.is_complex():
        raise TypeError(f"x0 must have a real floating dtype, got {x0.dtype}")
    if x0.dim() < 1 or x0.shape[0] < 1:
        raise ValueError(f"x0 must have shape (batch, *event) with batch >= 1, got {tuple(x0.shape)}")
    if not bool(torch.isfinite(x0).all()):
        raise ValueError("x0 must be finite; it contains NaN or infinite values")
    return x0.detach()


def _check_span(t_span: Any) -> tuple[float, float]:
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise TypeError(f"t_span must be a pair of numbers (t0, t1), got {t_span!r}") from None
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"t0 and t1 must be finite, got {t0}, {t1}")
    if t0 == t1:
        raise ValueError(f"t0 and t1 must differ (an empty interval), got t0 = t1 = {t0}")
    return t0, t1


def hnw_first_guess(d0: Any, d1: Any, dt_max: float, span: float) -> Any:
    """Hairer, Nørsett & Wanner (1993, II.4), the first guess: ``0.01 d0/d1`` (``1e-6`` when either norm is tiny),
    at most ``dt_max`` and the interval's length ``span``. ``d0 = ‖x0‖``, ``d1 = ‖f(t0, x0)‖`` in the error
    norm; floats or NumPy arrays (one entry per sample)."""
    d0, d1 = np.asarray(d0, dtype=float), np.asarray(d1, dtype=float)
    h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
    return np.minimum(np.minimum(h0, dt_max), span)


def hnw_refine(h0: Any, d1: Any, d2: Any, order: float) -> Any:
    """Hairer, Nørsett & Wanner's starting step from the Euler trial of length ``h0``: ``(0.01/max(d1, d2))^(1/order)``
    with ``d2 = ‖f(t0 + h0, x1) - f(t0, x0)‖/h0`` (``max(1e-6, h0/1000)`` when both are negligible), at most ``100
    h0``; ``h0/1000`` where the trial failed (``d2`` not finite), so the step control takes over."""
    h0, d1, d2 = (np.asarray(v, dtype=float) for v in (h0, d1, d2))
    dm = np.maximum(d1, d2)
    with np.errstate(invalid="ignore", over="ignore"):
        h1 = np.where(dm <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.maximum(dm, 1e-300)) ** (1.0 / order))
    return np.where(np.isfinite(d2), np.minimum(100 * h0, h1), h0 * 1e-3)


def _initial_step(
    ctx: _Context, pair: EmbeddedPair, ctl: PIController, t0: float, x0: Tensor, direction: float, span: float
):
    """Hairer, Nørsett & Wanner (1993), II.4: the starting step from ``F(t0, x0)`` and one Euler trial (2 NFE and
    three host reads), the trial kept inside the integration interval (length ``span``: a problem need not be
    defined beyond it). Returns ``(|h0|, N(t0, x0))``."""
    a, b = ctx.ab([t0])
    n0 = ctx.nonlinear(t0, x0)
    f0 = torch.add(n0.mul(float(b[0])), x0, alpha=float(a[0]))
    scale = x0.abs().mul(ctl.rtol).add_(ctl.atol)

    def rms(v: Tensor) -> Tensor:
        return (v / scale).flatten(1).square().mean(dim=1).sqrt().amax()

    d1 = float(rms(f0))
    h0 = float(hnw_first_guess(float(rms(x0)), d1, ctl.dt_max, span))
    x1 = x0 + direction * h0 * f0
    a1, b1 = ctx.ab([t0 + direction * h0])
    f1 = torch.add(ctx.nonlinear(t0 + direction * h0, x1).mul(float(b1[0])), x1, alpha=float(a1[0]))
    return float(hnw_refine(h0, d1, float(rms(f1 - f0)) / h0, pair.error_order)), n0


def forced_stops(
    t0: float, t1: float, step_ts: Sequence[float], t_eval: Tensor | Sequence[float] | None
) -> tuple[list[float], list[float]]:
    """The times an adaptive solve must land on, in the direction of integration: the controller's ``step_ts``
    strictly inside ``(t0, t1)``, the output times ``t_eval`` (checked: finite, monotone, within ``[t0, t1]``) and
    ``t1``. Returns ``(stops, eval_times)``."""
    direction = 1.0 if t1 > t0 else -1.0

    def inside(v: float) -> bool:
        return direction * (v - t0) > 0 and direction * (t1 - v) > 0

    eval_times: list[float] = []
    if t_eval is not None:
        arr = t_eval.detach().cpu().double().numpy() if isinstance(t_eval, Tensor) else np.asarray(t_eval, float)
        arr = arr.reshape(-1)
        if arr.size == 0 or not np.isfinite(arr).all():
            raise ValueError("t_eval must be a non-empty sequence of finite times")
        if np.any(direction * np.diff(arr) < 0):
            raise ValueError("t_eval must be monotone in the direction of integration (t0 towards t1)")
        if np.any(direction * (arr - t0) < 0) or np.any(direction * (t1 - arr) < 0):
            raise ValueError(f"t_eval must lie within [t0, t1] = [{t0}, {t1}]")
        eval_times = [float(v) for v in arr]
    stops = sorted({v for v in (*step_ts, *eval_times) if inside(v)} | {t1}, key=lambda v: direction * v)
    return stops, eval_times


def solve_adaptive(
    sde: SemilinearSDE,
    x0: Tensor,
    t_span: tuple[float, float] | Sequence[float],
    method: str | EmbeddedPair | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    controller: PIController | None = None,
    dt0: float | None = None,
    max_steps: int = 100_000,
    t_eval: Sequence[float] | Tensor | None = None,
    subdivisions: int = 2,
    bm: Any = None,
    generator: Any = None,
) -> AdaptiveResult:
    """Integrate ``dX = (a X + b N) dt (+ g dW)`` from ``t_span[0]`` to ``t_span[1]`` with adaptive steps.

    An SDE (``g`` given), ``bm``, ``generator`` or ``PIController(per_sample=True)`` hands the solve to
    :func:`sdesolve.adaptive_sde.solve_adaptive_sde` (per-sample steps on a consistent Brownian path); an ODE is
    solved here with batch-shared steps.

    Args:
        sde: the problem.
        x0: initial state, shape ``(batch, *event)``, finite.
        t_span: ``(t0, t1)``; ``t1 < t0`` integrates backwards.
        method: ``"bosh3"`` (the ODE default), ``"heun"``, ``"exponential_rk2"`` (the SDE default) or an
            :class:`EmbeddedPair`.
        rtol: relative tolerance (> 0, finite); give ``rtol`` and ``atol`` or ``controller``, not both.
        atol: absolute tolerance (> 0, finite).
        controller: a :class:`PIController` (its ``rtol``/``atol`` are used).
        dt0: the first step size (``|dt0|`` is used; > 0); default: chosen from ``F(t0, x0)`` (2 NFE).
        max_steps: the most attempted steps (accepted + rejected) before :class:`StepSizeError` is raised.
        t_eval: times in ``[t0, t1]`` (monotone in the direction of integration) where the state is recorded;
            they are stepped to exactly (forced stops, no interpolation).
        subdivisions: sub-grid cells of the per-step integrating-factor quadrature (``exponential_rk2`` on
            problems without closed forms; see :mod:`sdesolve.adaptive`).
        bm: SDEs: a Brownian path ``bm(sa, sb)`` in solver time, re-queried after rejections (batch-shared steps).
        generator: SDEs: the randomness of the default per-sample Brownian path.

    Raises:
        ValueError: bad tolerances or times, a non-finite ``x0``, a pair without an SDE form for an SDE.
        StepSizeError: ``max_steps`` reached, or the step size fell below ``dt_min``/round-off while steps kept
            failing (also when the state became non-finite and smaller steps did not cure it).
    """
    if not isinstance(sde, SemilinearSDE):
        raise TypeError(f"sde must be an sdesolve.SemilinearSDE, got {type(sde).__name__}")
    if not sde.is_ode or bm is not None or generator is not None or getattr(controller, "per_sample", None):
        from sdesolve.adaptive_sde import solve_adaptive_sde

        return solve_adaptive_sde(
            sde,
            x0,
            t_span,
            "exponential_rk2" if method is None else method,
            rtol=rtol,
            atol=atol,
            controller=controller,
            bm=bm,
            generator=generator,
            dt0=dt0,
            max_steps=max_steps,
            t_eval=t_eval,
            subdivisions=subdivisions,
        )
    if method is None:
        method = "bosh3"
    x0 = _check_state(x0)
    t0, t1 = _check_span(t_span)
    if controller is None:
        if rtol is None or atol is None:
            raise ValueError("solve_adaptive needs rtol and atol (or controller=PIController(rtol, atol, ...))")
        controller = PIController(rtol=rtol, atol=atol)
    else:
        if not isinstance(controller, PIController):
            raise TypeError(f"controller must be an sdesolve.adaptive.PIController, got {type(controller).__name__}")
        if rtol is not None or atol is not None:
            raise ValueError("give rtol/atol or a controller (which carries them), not both")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if isinstance(subdivisions, bool) or not isinstance(subdivisions, (int, np.integer)) or subdivisions < 1:
        raise ValueError(f"subdivisions must be a positive integer, got {subdivisions!r}")
    pair = get_pair(method)
    direction = 1.0 if t1 > t0 else -1.0
    ctl = controller

    stops, eval_times = forced_stops(t0, t1, ctl.step_ts, t_eval)
    eval_set = set(eval_times)

    ctx = _Context(sde, x0, int(subdivisions))
    x = x0
    t = t0
    n0: Tensor | None = None
    if dt0 is None:
        h_abs, n0 = _initial_step(ctx, pair, ctl, t0, x0, direction, abs(t1 - t0))
    else:
        if isinstance(dt0, (int, float)) and not isinstance(dt0, bool):
            dt0 = abs(dt0)
        h_abs = _positive_finite("dt0", dt0)
    h_abs = min(max(h_abs, ctl.dt_min), ctl.dt_max)
    recorded: dict[float, Tensor] = {}
    if t0 in eval_set:
        recorded[t0] = x0.clone()
    accepted_ts = [t0]
    n_acc = n_rej = 0
    e_prev = 1.0
    stop_i = 0
    while stop_i < len(stops):
        if n_acc + n_rej >= max_steps:
            raise StepSizeError(
                f"solve_adaptive: max_steps={max_steps} steps attempted ({n_acc} accepted, {n_rej} rejected) and "
                f"t = {t} has not reached t1 = {t1}; raise max_steps or loosen rtol/atol",
                t,
            )
        target = stops[stop_i]
        remaining = abs(target - t)
        landing = h_abs >= remaining
        t_new = target if landing else t + direction * h_abs
        h = t_new - t
        if h == 0.0:
            raise StepSizeError(f"solve_adaptive: step size {h_abs:.3g} at t = {t} is below round-off", t)
        x_new, err, n0, n_new = pair.attempt(ctx, t, h, x, n0)
        e = float(ctl.error_norm(err, x, x_new))  # the one host read per attempted step
        accepted = e <= 1.0  # False for NaN
        f = ctl.factor(e, e_prev, accepted, pair.error_order)
        if accepted:
            x, t = x_new, t_new
            n0 = n_new
            n_acc += 1
            accepted_ts.append(t)
            e_prev = e
            # a step clipped to land on a stop says nothing against the unclipped proposal: keep the larger
            h_abs = max(abs(h) * f, h_abs) if landing else abs(h) * f
            if landing:
                if t in eval_set:
                    recorded[t] = x.clone()
                stop_i += 1
        else:
            n_rej += 1
            tiny = 16 * np.finfo(np.float64).eps * max(abs(t), abs(t1), 1.0)
            if abs(h) <= max(ctl.dt_min, tiny):
                why = f"scaled error {e:.3g} > 1" if math.isfinite(e) else "the state became non-finite (NaN or inf)"
                raise StepSizeError(
                    f"solve_adaptive: step size {abs(h):.3g} at t = {t} reached "
                    f"{'dt_min' if ctl.dt_min >= tiny else 'round-off'} and the step still fails ({why})",
                    t,
                )
            h_abs = abs(h) * f
        h_abs = min(max(h_abs, ctl.dt_min), ctl.dt_max)
    te = xe = None
    if eval_times:
        te = torch.tensor(eval_times, dtype=F64)
        xe = torch.stack([recorded[v] for v in eval_times])
    return AdaptiveResult(
        x=x,
        ts=torch.tensor(accepted_ts, dtype=F64),
        n_accepted=n_acc,
        n_rejected=n_rej,
        nfe=ctx.evaluate.nfe,
        method=pair.name,
        t_eval=te,
        x_eval=xe,
    )
