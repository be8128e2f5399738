"""The semilinear problem ``dX = (a(t) X + b(t) N(t, X)) dt + g(t) dW``.

``a``, ``b`` and ``g`` are scalar functions of time (tensor in, tensor of the same shape out; a Python number is
accepted for a constant), ``N`` is the batched nonlinear part and carries the score in diffusion sampling.
``b`` (default 1) is the scalar weight of ``N``: exponential steppers freeze ``N`` over a step and integrate
``b`` exactly with the integrating factor — this is what makes DDIM and DPM-Solver exponential integrators
(they freeze the predicted noise or data, not the whole drift). ``g=None`` makes the problem an ODE.

Time may run forwards or backwards. For a decreasing grid the noise is a Brownian motion in *solver time*
``s = -t`` (so every increment has variance ``|dt|``), which is also how torchsde integrates reverse-time
SDEs; see :mod:`sdesolve.noise`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from sdesolve.factors import ConstantFactor, IntegratingFactor

ScalarFn = Callable[[Tensor], Tensor]
Nonlinear = Callable[[Tensor, Tensor], Tensor]

__all__ = ["SemilinearSDE"]


def _as_function(value: float | ScalarFn, name: str) -> tuple[ScalarFn, float | None]:
    """Return ``(fn, constant)`` where ``constant`` is the value when ``value`` was a number."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or a callable t -> tensor, got a bool")
    if isinstance(value, (int, float)):
        c = float(value)
        if not math.isfinite(c):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return (lambda t: torch.full_like(t, c)), c
    if callable(value):
        return value, None
    raise TypeError(f"{name} must be a number or a callable t -> tensor, got {type(value).__name__}")


@dataclass(frozen=True, eq=False)
class SemilinearSDE:
    """``dX = (a(t) X + b(t) N(t, X)) dt + g(t) dW`` on batched states ``X`` of shape ``(batch, *event)``.

    Args:
        a: linear coefficient, a number or a function of a time tensor (evaluated in float64 when the grid
            coefficients are precomputed).
        nonlinear: ``N(t, x)`` with ``t`` a tensor of shape ``(batch,)`` (one time per sample: the randomized
            midpoint evaluates every sample at its own time) and ``x`` of shape ``(batch, *event)``; returns a
            tensor shaped like ``x``.
        g: noise scale, a number, a function of time, or ``None`` for an ODE.
        b: scalar weight of ``N``, a number or a function of time (default 1).
        factor: closed forms of the integrating-factor integrals (an :class:`IntegratingFactor`). When
            ``a``, ``b`` and ``g`` are numbers a closed form is used automatically; otherwise the integrals are
            computed by vectorised Gauss–Legendre quadrature in float64, once per time grid.
        name: a label used in reports.
    """

    a: float | ScalarFn
    nonlinear: Nonlinear
    g: float | ScalarFn | None = None
    factor: IntegratingFactor | None = None
    name: str = ""
    b: float | ScalarFn | None = None
    _a_fn: ScalarFn = field(init=False, repr=False)
    _b_fn: ScalarFn = field(init=False, repr=False)
    _g_fn: ScalarFn | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        a_fn, a_const = _as_function(self.a, "a")
        b_fn, b_const = _as_function(1.0 if self.b is None else self.b, "b")
        if self.g is None:
            g_fn, g_const = None, 0.0
        else:
            g_fn, g_const = _as_function(self.g, "g")
        if not callable(self.nonlinear):
            raise TypeError(f"nonlinear must be a callable N(t, x) -> tensor, got {type(self.nonlinear).__name__}")
        if self.factor is not None and not isinstance(self.factor, IntegratingFactor):
            raise TypeError(f"factor must be an sdesolve.IntegratingFactor, got {type(self.factor).__name__}")
        object.__setattr__(self, "_a_fn", a_fn)
        object.__setattr__(self, "_b_fn", b_fn)
        object.__setattr__(self, "_g_fn", g_fn)
        if self.factor is None and None not in (a_const, b_const, g_const):
            object.__setattr__(self, "factor", ConstantFactor(a_const, g_const, b_const))

    @property
    def is_ode(self) -> bool:
        """True when the problem has no noise (``g is None``)."""
        return self._g_fn is None

    def linear(self, t: Tensor) -> Tensor:
        """``a(t)``, checked to be shaped like ``t``."""
        return _checked(self._a_fn, t, "a")

    def weight(self, t: Tensor) -> Tensor:
        """``b(t)``, checked to be shaped like ``t``."""
        return _checked(self._b_fn, t, "b")

    def diffusion(self, t: Tensor) -> Tensor:
        """``g(t)`` (zeros for an ODE), checked to be shaped like ``t``."""
        if self._g_fn is None:
            return torch.zeros_like(t)
        return _checked(self._g_fn, t, "g")

    def drift(self, t: Tensor, x: Tensor) -> Tensor:
        """The full drift ``a(t) x + b(t) N(t, x)`` for a per-sample time tensor ``t`` of shape ``(batch,)``."""
        shape = t.shape + (1,) * (x.dim() - 1)
        tt = t.to(torch.float64)
        a = self.linear(tt).reshape(shape).to(x.dtype)
        b = self.weight(tt).reshape(shape).to(x.dtype)
        return a * x + b * self.nonlinear(t, x)


def _checked(fn: ScalarFn, t: Tensor, name: str) -> Tensor:
    out = fn(t)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(t) must return a tensor, got {type(out).__name__}")
    if out.shape != t.shape:
        try:
            out = out.expand(t.shape)
        except RuntimeError:
            raise ValueError(
                f"{name}(t) must return a tensor shaped like t {tuple(t.shape)}, got {tuple(out.shape)}"
            ) from None
    return out
