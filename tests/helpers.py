"""Small problems shared by the tests."""

from __future__ import annotations

import math

import torch

from sdesolve import SemilinearSDE


def tv_sde(noise: bool = True) -> SemilinearSDE:
    """Time-dependent a(t), b(t), g(t) and a nonlinear N."""
    return SemilinearSDE(
        a=lambda t: -1.0 - 0.5 * torch.cos(t),
        b=lambda t: 1.0 + 0.3 * t,
        nonlinear=lambda t, x: torch.sin(x) + torch.cos(t).to(x.dtype),
        g=(lambda t: 0.5 + 0.3 * torch.sin(t)) if noise else None,
    )


def constant_drift_sde(a: float, b: float, g: float | None) -> SemilinearSDE:
    """N ≡ b: every exponential stepper is exact (in law) for it."""
    return SemilinearSDE(a=a, nonlinear=lambda t, x: torch.full_like(x, b), g=g)


def linear_mean(a: float, b: float, x0: float, h: float) -> float:
    return math.exp(a * h) * x0 + b * math.expm1(a * h) / a


def linear_var(a: float, g: float, h: float) -> float:
    return g * g * math.expm1(2 * a * h) / (2 * a)
