"""Vectorised float64 quadrature and cubic Hermite interpolation used to precompute grid coefficients."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

__all__ = ["gauss_legendre", "hermite", "hermite_slope"]


@lru_cache(maxsize=8)
def _gl(n: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    x, w = np.polynomial.legendre.leggauss(n)
    return tuple(((x + 1.0) / 2.0).tolist()), tuple((w / 2.0).tolist())


def gauss_legendre(n: int) -> tuple[Tensor, Tensor]:
    """Nodes and weights of the ``n``-point Gauss–Legendre rule on ``[0, 1]`` (float64, CPU)."""
    x, w = _gl(n)
    return torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64)


def hermite(y: Tensor, m: Tensor, j: Tensor, s: Tensor, delta: Tensor) -> Tensor:
    """Cubic Hermite interpolation on rows of a uniform table.

    ``y`` and ``m`` (values and derivatives per unit of the abscissa) have shape ``(R, M + 1)``; ``j`` (long)
    and ``s ∈ [0, 1]`` have shape ``(R,)`` and pick the cell ``[j, j + 1]`` and the position in it; ``delta``
    (shape ``(R,)`` or scalar) is the cell width. Error ``O(delta⁴)``.
    """
    jj = j.unsqueeze(-1)
    y0 = y.gather(-1, jj).squeeze(-1)
    y1 = y.gather(-1, jj + 1).squeeze(-1)
    m0 = m.gather(-1, jj).squeeze(-1) * delta
    m1 = m.gather(-1, jj + 1).squeeze(-1) * delta
    s2 = s * s
    s3 = s2 * s
    return (2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * m0 + (3 * s2 - 2 * s3) * y1 + (s3 - s2) * m1


def hermite_slope(y: Tensor, m: Tensor, j: Tensor, s: Tensor, delta: Tensor) -> Tensor:
    """Derivative (per unit of the abscissa) of the :func:`hermite` interpolant; error ``O(delta³)``."""
    jj = j.unsqueeze(-1)
    y0 = y.gather(-1, jj).squeeze(-1)
    y1 = y.gather(-1, jj + 1).squeeze(-1)
    m0 = m.gather(-1, jj).squeeze(-1)
    m1 = m.gather(-1, jj + 1).squeeze(-1)
    s2 = s * s
    return (6 * s2 - 6 * s) * (y0 - y1) / delta + (3 * s2 - 4 * s + 1) * m0 + (3 * s2 - 2 * s) * m1
