"""Test problems of the conformance suite: time-dependent ``a(t)`` and ``g(t)``, both time directions,
one closed-form solution, a reverse-time diffusion problem with an exact Gaussian-mixture score, and (for the
weak order) linear additive-noise problems whose law at the final time is Gaussian in closed form."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from sdesolve.problem import SemilinearSDE

__all__ = [
    "PROBLEMS",
    "TOLERANCE_PROBLEMS",
    "WEAK_PROBLEMS",
    "Problem",
    "ToleranceProblem",
    "WeakProblem",
    "mixture_score",
]


@dataclass(frozen=True)
class Problem:
    """A semilinear test problem.

    ``make(noise)`` builds the :class:`SemilinearSDE` (``g=None`` when ``noise`` is false); ``grid(n)`` the
    ``n``-step grid (uniform or graded, increasing or decreasing); ``exact(x0, t0, t1)`` the closed-form ODE
    solution when there is one.
    """

    name: str
    make: Callable[[bool], SemilinearSDE]
    grid: Callable[[int], Tensor]
    dim: int
    description: str
    exact: Callable[[Tensor, float, float], Tensor] | None = None

    def initial(self, batch: int, dtype: torch.dtype, device: torch.device | str, seed: int) -> Tensor:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        return torch.randn(batch, self.dim, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)


def _uniform(t0: float, t1: float) -> Callable[[int], Tensor]:
    return lambda n: torch.linspace(t0, t1, n + 1, dtype=torch.float64)


def _graded(t_max: float, t_min: float, rho: float) -> Callable[[int], Tensor]:
    """Decreasing EDM-style grid ``(t_max^{1/ρ} + i/n (t_min^{1/ρ} - t_max^{1/ρ}))^ρ``."""

    def grid(n: int) -> Tensor:
        i = torch.arange(n + 1, dtype=torch.float64) / n
        return (t_max ** (1 / rho) + i * (t_min ** (1 / rho) - t_max ** (1 / rho))) ** rho

    return grid


# --- 1. linear, closed form -------------------------------------------------------------------------------
def _linear_a(t: Tensor) -> Tensor:
    return -1.0 - 0.5 * torch.sin(t)


def _linear_c(t: Tensor) -> Tensor:
    return -0.4 + 0.8 * torch.cos(2.0 * t)


def _linear_make(noise: bool) -> SemilinearSDE:
    return SemilinearSDE(
        a=_linear_a,
        nonlinear=lambda t, x: _linear_c(t).to(x.dtype) * x,  # t: (batch, 1), broadcasts
        g=(lambda t: 0.5 + 0.25 * torch.cos(t)) if noise else None,
        name="linear_closed_form",
    )


def _linear_exact(x0: Tensor, t0: float, t1: float) -> Tensor:
    def antiderivative(t: float) -> float:  # ∫ (a + c) dt
        return -1.4 * t + 0.5 * math.cos(t) + 0.4 * math.sin(2.0 * t)

    return x0 * math.exp(antiderivative(t1) - antiderivative(t0))


# --- 2. nonlinear, time-dependent --------------------------------------------------------------------------
def _nonlinear_make(noise: bool) -> SemilinearSDE:
    def nonlinear(t: Tensor, x: Tensor) -> Tensor:
        tt = t.to(x.dtype)  # (batch, 1): the default time layout broadcasts against x
        return torch.sin(x) + torch.cos(3.0 * tt) * torch.tanh(x) + 0.5 * torch.sin(tt)

    return SemilinearSDE(
        a=lambda t: -0.5 - 0.6 * t,
        b=lambda t: 0.8 + 0.4 * torch.cos(t),
        nonlinear=nonlinear,
        g=(lambda t: 0.4 * torch.sqrt(1.0 + t * t)) if noise else None,
        name="nonlinear_tv",
    )


# --- 3. reverse-time OU diffusion with an exact Gaussian-mixture score --------------------------------------
_MIX_MEANS = (-1.0, 1.0)
_MIX_STD = 0.35


def mixture_score(t: Tensor, x: Tensor) -> Tensor:
    """Score of the OU-noised (``dX = -X dt + √2 dW``) per-coordinate mixture ``½N(-1, s²) + ½N(1, s²)``."""
    tt = t.to(x.dtype)  # (batch, 1, ..., 1) in the default time layout
    alpha = torch.exp(-tt)
    var = _MIX_STD**2 * alpha**2 + 1.0 - alpha**2
    logits = torch.stack([-((x - m * alpha) ** 2) / (2 * var) for m in _MIX_MEANS])
    weights = torch.softmax(logits, dim=0)
    return sum(w * (m * alpha - x) for w, m in zip(weights, _MIX_MEANS, strict=True)) / var


def _reverse_make(noise: bool) -> SemilinearSDE:
    if noise:
        # Reverse SDE dX = (-X - 2 score) dt + √2 dW̄ with the relative score r = score + X:
        # drift = X - 2 r(X)  (a = +1 in diffusion time, a contraction in solver time).
        return SemilinearSDE(
            a=1.0,
            nonlinear=lambda t, x: -2.0 * (mixture_score(t, x) + x),
            g=math.sqrt(2.0),
            name="ou_mixture_reverse",
        )
    # Probability-flow ODE dX = (-X - score) dt, plain-score splitting.
    return SemilinearSDE(a=-1.0, nonlinear=lambda t, x: -mixture_score(t, x), name="ou_mixture_reverse")


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem(
            "linear_closed_form",
            _linear_make,
            _uniform(0.0, 2.0),
            3,
            "a(t) = -1 - sin(t)/2, N = (0.8 cos(2t) - 0.4) x, g(t) = 1/2 + cos(t)/4, forward on [0, 2]; "
            "closed-form ODE",
            exact=_linear_exact,
        ),
        Problem(
            "linear_backward",
            _linear_make,
            _uniform(1.0, 0.0),
            3,
            "the linear problem integrated backwards from t = 1 to 0",
            exact=_linear_exact,
        ),
        Problem(
            "nonlinear_tv",
            _nonlinear_make,
            _uniform(0.0, 1.5),
            2,
            "a(t) = -1/2 - 0.6t, b(t) = 0.8 + 0.4 cos t, N = sin x + cos(3t) tanh x + sin(t)/2, "
            "g(t) = 0.4 sqrt(1 + t²), on [0, 1.5]",
        ),
        Problem(
            "ou_mixture_reverse",
            _reverse_make,
            _graded(1.5, 0.1, 3.0),
            2,
            "reverse-time OU sampling of a Gaussian mixture (exact score), t from 1.5 down to 0.1 on a graded "
            "grid; relative-score SDE, plain-score probability-flow ODE",
        ),
    )
}


# --- 4. weak order: linear problems with a Gaussian law at the final time ----------------------------------
def _linear_g(t: Tensor) -> Tensor:
    return 0.5 + 0.25 * torch.cos(t)


def _linear_antiderivative(t: float | np.ndarray) -> float | np.ndarray:
    """``F(t) = ∫ (a + c) dt`` of the linear problem: ``-1.4 t + cos(t)/2 + 0.4 sin(2t)``."""
    return -1.4 * t + 0.5 * np.cos(t) + 0.4 * np.sin(2.0 * t)


def _per_sample(v: Tensor, x: Tensor) -> Tensor:
    """``v`` (one value per sample, shaped ``(batch,)`` or ``(batch, 1, …)``) laid out to broadcast against ``x``."""
    v = v.to(x.dtype)
    return v.reshape(v.shape + (1,) * (x.dim() - v.dim())) if v.dim() < x.dim() else v


def _weak_make() -> SemilinearSDE:
    # N(t, x) = c(t) x is linear but treated as the "nonlinear" part: exponential steppers then freeze c(t) over a
    # step and are not exact in law, so every stepper has a non-zero weak error whose order can be observed.
    return SemilinearSDE(
        a=_linear_a,
        nonlinear=lambda t, x: _per_sample(_linear_c(t), x) * x,
        g=_linear_g,
        name="linear_weak",
    )


@dataclass(frozen=True)
class WeakProblem:
    """``dX = (a(t) X + c(t) X) dt + g(t) dW`` from the deterministic ``X(t0) = x0`` (every coordinate).

    The law of ``X(t1)`` is Gaussian: mean ``x0 exp(F(t1) - F(t0))`` (closed form) and variance
    ``∫ exp(2 (F(t1) - F(s))) g(s)² |ds|`` over ``[t0, t1]`` (256-point Gauss–Legendre quadrature of a smooth
    integrand: exact to round-off), with ``F = ∫ (a + c)``. A decreasing ``t0 > t1`` integrates backwards (the noise
    is a Brownian motion in solver time, every increment of variance ``|dt|``).
    """

    name: str
    t0: float
    t1: float
    x0: float
    description: str

    def make(self) -> SemilinearSDE:
        return _weak_make()

    def grid(self, n: int) -> Tensor:
        return torch.linspace(self.t0, self.t1, n + 1, dtype=torch.float64)

    def law(self) -> tuple[float, float]:
        """Mean and variance of each coordinate of ``X(t1)``."""
        f1 = float(_linear_antiderivative(self.t1))
        mean = self.x0 * math.exp(f1 - float(_linear_antiderivative(self.t0)))
        nodes, weights = np.polynomial.legendre.leggauss(256)
        half = 0.5 * (self.t1 - self.t0)
        s = half * nodes + 0.5 * (self.t1 + self.t0)
        g = 0.5 + 0.25 * np.cos(s)
        variance = abs(half) * float(np.sum(weights * np.exp(2.0 * (f1 - _linear_antiderivative(s))) * g * g))
        return mean, variance

    def initial(self, batch: int, dim: int, dtype: torch.dtype, device: torch.device | str) -> Tensor:
        return torch.full((batch, dim), self.x0, dtype=dtype, device=device)


# Both problems start from x0 = 100: on these linear problems the error of the mean is the scheme's deterministic
# error, proportional to x0, while its Monte-Carlo standard error does not depend on x0; from 100 a third-order
# stepper's mean error stays above RESOLVE standard errors on the three coarsest grids (backward from 20 it did so
# on two: exponential_ab3 was unmeasurable).
WEAK_PROBLEMS: dict[str, WeakProblem] = {
    p.name: p
    for p in (
        WeakProblem(
            "linear_weak_forward",
            0.0,
            1.0,
            100.0,
            "a(t) = -1 - sin(t)/2, N = (0.8 cos(2t) - 0.4) x, g(t) = 1/2 + cos(t)/4, X(0) = 100, forward on [0, 1]; "
            "Gaussian law at t = 1 (mean closed form, variance by quadrature)",
        ),
        WeakProblem(
            "linear_weak_backward",
            1.0,
            0.0,
            100.0,
            "the same problem integrated backwards from t = 1 (X = 100) to t = 0",
        ),
    )
}


# --- 5. tolerance proportionality: adaptive solves (closed-form ODEs, an SDE) ---------------------------------
@dataclass(frozen=True)
class ToleranceProblem:
    """A problem for the adaptive check: :data:`PROBLEMS` ``[base]`` solved from ``t0`` to ``t1`` with
    ``rtol = atol = tol``. ``noise=False``: the ODE ``make(False)`` against its closed form ``exact``;
    ``noise=True``: the SDE ``make(True)`` on a ``BrownianInterval``, against the strong check's fine-grid
    reference on that path (``t0``, ``t1`` are then the base grid's ends)."""

    name: str
    base: str
    t0: float
    t1: float
    description: str
    noise: bool = False

    def make(self) -> SemilinearSDE:
        return PROBLEMS[self.base].make(self.noise)

    def exact(self, x0: Tensor) -> Tensor:
        exact = PROBLEMS[self.base].exact
        assert exact is not None
        return exact(x0, self.t0, self.t1)

    def initial(self, batch: int, dtype: torch.dtype, device: torch.device | str, seed: int) -> Tensor:
        return PROBLEMS[self.base].initial(batch, dtype, device, seed)


TOLERANCE_PROBLEMS: dict[str, ToleranceProblem] = {
    p.name: p
    for p in (
        ToleranceProblem(
            "linear_tolerance_forward",
            "linear_closed_form",
            0.0,
            2.0,
            "the closed-form linear ODE forward on [0, 2], adaptive (|x| contracts 45-fold)",
        ),
        ToleranceProblem(
            "linear_tolerance_backward",
            "linear_closed_form",
            1.0,
            0.0,
            "the closed-form linear ODE backwards from t = 1 to 0, adaptive (|x| grows 3.5-fold)",
        ),
        ToleranceProblem(
            "linear_tolerance_sde",
            "linear_closed_form",
            0.0,
            2.0,
            "the linear problem with additive noise g(t) = 1/2 + cos(t)/4 on [0, 2], adaptive on a BrownianInterval "
            "(strong error against the strong check's fine-grid reference on the same path)",
            noise=True,
        ),
    )
}
