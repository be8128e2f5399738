"""Distribution errors against exact targets, with their sampling noise floors."""

from __future__ import annotations

import math

import torch
from sdesolve_diffusion.targets import GaussianMixture
from torch import Tensor

from sdesolve.dtypes import F64

__all__ = ["GaussianW2", "SlicedW1", "strong_error"]


class SlicedW1:
    """Sliced W1 against the *exact* projected target: a Gaussian mixture projects to a 1-D mixture whose quantiles
    are computed once (bisection on its CDF), so only the sampler's samples carry sampling noise.

    ``floor`` is the value of the statistic for exact samples of the target (mean of ``repeats`` draws): errors
    below ``1.5 × floor`` are indistinguishable from sampling noise.
    """

    name = "sliced W1 (exact projected quantiles)"

    def __init__(self, target: GaussianMixture, n: int, projections: int = 64, seed: int = 0, repeats: int = 3):
        gen = torch.Generator().manual_seed(seed)
        theta = torch.randn(projections, target.dim, generator=gen, dtype=F64)
        self.theta = theta / theta.norm(dim=1, keepdim=True)
        self.n = n
        probs = (torch.arange(n, dtype=F64) + 0.5) / n
        self.quantiles = torch.stack([self._projected(target, th).quantiles_1d(probs) for th in self.theta])
        self.floor = (
            sum(self(target.sample(n, generator=torch.Generator().manual_seed(seed + 100 + r))) for r in range(repeats))
            / repeats
        )

    @staticmethod
    def _projected(target: GaussianMixture, theta: Tensor) -> GaussianMixture:
        means = (target.means @ theta)[:, None]
        var = torch.einsum("d,kde,e->k", theta, target.cov, theta)
        return GaussianMixture(means, var, target.weights)

    def __call__(self, x: Tensor) -> float:
        if x.shape[0] != self.n:
            raise ValueError(f"SlicedW1 was built for {self.n} samples, got {x.shape[0]}")
        proj = (x.to(F64).reshape(x.shape[0], -1) @ self.theta.T).T.sort(dim=1).values
        return float((proj - self.quantiles).abs().mean())


class GaussianW2:
    """W2 between the Gaussian with the samples' mean and covariance and the exact Gaussian target (Bures formula);
    ``floor`` as for :class:`SlicedW1`."""

    name = "W2 of moments (Gaussian target)"

    def __init__(self, target: GaussianMixture, n: int, seed: int = 0, repeats: int = 3):
        self.mean, self.cov = target.moments()
        vals, vecs = torch.linalg.eigh(self.cov)
        self.sqrt_cov = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
        self.n = n
        self.floor = (
            sum(self(target.sample(n, generator=torch.Generator().manual_seed(seed + 100 + r))) for r in range(repeats))
            / repeats
        )

    def __call__(self, x: Tensor) -> float:
        x = x.to(F64).reshape(x.shape[0], -1)
        m, c = x.mean(0), torch.cov(x.T)
        cross = torch.linalg.eigvalsh(self.sqrt_cov @ c @ self.sqrt_cov).clamp_min(0).sqrt().sum()
        bures = torch.trace(self.cov) + torch.trace(c) - 2 * cross
        return math.sqrt(max(float(((m - self.mean) ** 2).sum() + bures), 0.0))


def strong_error(x: Tensor, reference: Tensor) -> float:
    """RMS pathwise distance ``√E|x - x_ref|²``."""
    return float(((x.to(F64) - reference.to(F64)) ** 2).flatten(1).sum(1).mean().sqrt())
