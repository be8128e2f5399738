"""Closed forms of the integrating-factor integrals of the linear part.

With ``Φ(t) = exp(-∫ a)`` the variation-of-constants formula over a step from ``t`` to ``u`` (either
direction) needs three *step-relative* integrals:

* ``L(t, u) = ∫_t^u a``                                 so that ``Φ(t)/Φ(u) = exp(L)``,
* ``P(t, u) = ∫_t^u exp(-∫_t^v a) b(v) dv``             so that ``∫_t^u Φ(v) b(v)/Φ(u) dv = exp(L) P``,
* ``Q(t, u) = ∫_t^u exp(-2∫_t^v a) g(v)² dv``           so that the noise variance is ``exp(2L) |Q|``,

and, for importance-sampled randomized midpoints, the inverse of ``τ ↦ P(t, τ) / P(t, u)`` (the CDF of the
density ``∝ Φ b`` on the step).

An :class:`IntegratingFactor` provides any subset of these in closed form; what it leaves out is computed by
float64 Gauss–Legendre quadrature when a time grid is prepared (:mod:`sdesolve.coefficients`). Methods act
elementwise on broadcastable float64 tensors and must use torch operations only (they may run on the
solver's device for per-sample midpoint times).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["ClosedForm", "ConstantFactor", "IntegratingFactor", "phi1"]

_METHODS = ("log_growth", "drift_integral", "noise_integral", "sample_time")


def phi1(x: Tensor) -> Tensor:
    """``expm1(x) / x``, accurate for tiny ``|x|`` (equals 1 at 0)."""
    small = x.abs() < 1e-6
    safe = torch.where(small, torch.ones_like(x), x)
    return torch.where(small, 1.0 + 0.5 * x + x * x / 6.0, torch.expm1(safe) / safe)


class IntegratingFactor:
    """Base class: override the integrals you know in closed form.

    ``provides(name)`` tells which ones a subclass overrides; the rest fall back to quadrature.
    """

    def log_growth(self, t: Tensor, u: Tensor) -> Tensor:
        """``L(t, u) = ∫_t^u a``."""
        raise NotImplementedError

    def drift_integral(self, t: Tensor, u: Tensor) -> Tensor:
        """``P(t, u) = ∫_t^u exp(-∫_t^v a) b(v) dv`` (signed like ``(u - t) b``)."""
        raise NotImplementedError

    def noise_integral(self, t: Tensor, u: Tensor) -> Tensor:
        """``Q(t, u) = ∫_t^u exp(-2∫_t^v a) g(v)² dv`` (signed like ``u - t``)."""
        raise NotImplementedError

    def sample_time(self, t: Tensor, u: Tensor, q: Tensor) -> Tensor:
        """The time ``τ`` between ``t`` and ``u`` with ``P(t, τ) = q · P(t, u)``, ``q ∈ [0, 1]``."""
        raise NotImplementedError

    def provides(self, name: str) -> bool:
        """Whether ``name`` (one of the four methods) is given in closed form."""
        if name not in _METHODS:
            raise ValueError(f"unknown integrating-factor method {name!r}; expected one of {_METHODS}")
        return getattr(type(self), name) is not getattr(IntegratingFactor, name)


class ConstantFactor(IntegratingFactor):
    """Closed forms for constant ``a``, ``g`` and ``b`` (``expm1``/``log1p`` forms, accurate for any step)."""

    def __init__(self, a: float, g: float = 0.0, b: float = 1.0) -> None:
        self.a = float(a)
        self.g2 = float(g) ** 2
        self.b = float(b)

    def log_growth(self, t: Tensor, u: Tensor) -> Tensor:
        return self.a * (u - t)

    def drift_integral(self, t: Tensor, u: Tensor) -> Tensor:
        h = u - t
        return self.b * h * phi1(-self.a * h)

    def noise_integral(self, t: Tensor, u: Tensor) -> Tensor:
        h = u - t
        return self.g2 * h * phi1(-2.0 * self.a * h)

    def sample_time(self, t: Tensor, u: Tensor, q: Tensor) -> Tensor:
        h = u - t
        x = -self.a * h
        if self.a == 0.0:
            return t + q * h
        # P(t, t + δ) = q P(t, u)  <=>  expm1(-a δ) = q expm1(-a h)
        delta = torch.log1p(q * torch.expm1(x)) / (-self.a)
        return t + torch.where(x.abs() < 1e-8, q * h, delta)

    def __repr__(self) -> str:
        return f"ConstantFactor(a={self.a}, g={self.g2**0.5}, b={self.b})"


class ClosedForm(IntegratingFactor):
    """Closed forms from global antiderivatives.

    Args:
        log_phi: ``log Φ(t) = -∫^t a`` (any antiderivative).
        psi: ``Ψ(t)`` with ``Ψ' = Φ b``; enables the closed-form drift weight.
        noise_integral: ``N(t)`` with ``N' = Φ² g²``; enables the closed-form noise variance.
        psi_inverse: the inverse of ``Ψ``; enables closed-form importance sampling of midpoints.
    """

    def __init__(
        self,
        log_phi: Callable[[Tensor], Tensor],
        psi: Callable[[Tensor], Tensor] | None = None,
        noise_integral: Callable[[Tensor], Tensor] | None = None,
        psi_inverse: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        if not callable(log_phi):
            raise TypeError("log_phi must be a callable t -> log Φ(t)")
        if psi_inverse is not None and psi is None:
            raise ValueError("psi_inverse needs psi: the inverse CDF is Ψ⁻¹((1-q) Ψ(t) + q Ψ(u))")
        self._log_phi = log_phi
        self._psi = psi
        self._ni = noise_integral
        self._psi_inv = psi_inverse

    def provides(self, name: str) -> bool:
        available = {
            "log_growth": True,
            "drift_integral": self._psi is not None,
            "noise_integral": self._ni is not None,
            "sample_time": self._psi_inv is not None,
        }
        if name not in available:
            raise ValueError(f"unknown integrating-factor method {name!r}; expected one of {_METHODS}")
        return available[name]

    def log_growth(self, t: Tensor, u: Tensor) -> Tensor:
        return self._log_phi(t) - self._log_phi(u)

    def drift_integral(self, t: Tensor, u: Tensor) -> Tensor:
        assert self._psi is not None
        return (self._psi(u) - self._psi(t)) * torch.exp(-self._log_phi(t))

    def noise_integral(self, t: Tensor, u: Tensor) -> Tensor:
        assert self._ni is not None
        return (self._ni(u) - self._ni(t)) * torch.exp(-2.0 * self._log_phi(t))

    def sample_time(self, t: Tensor, u: Tensor, q: Tensor) -> Tensor:
        assert self._psi is not None and self._psi_inv is not None
        pt, pu = self._psi(t), self._psi(u)
        return self._psi_inv(pt + q * (pu - pt))
