"""Exact-score targets: Gaussian mixtures (a Gaussian, and a Gaussian on a low-dimensional subspace, are special
cases) whose noised marginals are known under every process.

Under ``x_t = α x₀ + σ ε`` the mixture ``Σ w_k N(μ_k, Σ_k)`` becomes ``Σ w_k N(α μ_k, α² Σ_k + σ² I)``; with
``Σ_k = U_k diag(λ_k) U_kᵀ`` (computed once) its score at per-sample times costs ``O(K d²)`` per sample.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sdesolve.dtypes import F64
from sdesolve_diffusion.processes import Process

__all__ = ["GaussianMixture", "SubspaceMixture"]


class GaussianMixture:
    """``Σ_k w_k N(μ_k, Σ_k)`` in ``R^d``.

    Args:
        means: ``(K, d)``.
        covariances: ``(K, d, d)`` symmetric positive semi-definite, ``(K, d)`` diagonals, or ``(K,)`` scalar
            variances (isotropic).
        weights: ``(K,)`` positive (normalised here); default uniform.
    """

    def __init__(self, means: Tensor, covariances: Tensor, weights: Tensor | None = None) -> None:
        means = torch.as_tensor(means, dtype=F64)
        if means.dim() != 2:
            raise ValueError(f"means must have shape (K, d), got {tuple(means.shape)}")
        k, d = means.shape
        cov = torch.as_tensor(covariances, dtype=F64)
        if cov.shape == (k,):
            cov = cov[:, None, None] * torch.eye(d, dtype=F64)
        elif cov.shape == (k, d):
            cov = torch.diag_embed(cov)
        elif cov.shape != (k, d, d):
            raise ValueError(f"covariances must have shape (K,), (K, d) or (K, d, d) with K={k}, d={d}")
        if not torch.allclose(cov, cov.transpose(1, 2)):
            raise ValueError("covariances must be symmetric")
        lam, vec = torch.linalg.eigh(cov)
        if bool((lam < -1e-10).any()):
            raise ValueError("covariances must be positive semi-definite")
        w = torch.full((k,), 1.0 / k, dtype=F64) if weights is None else torch.as_tensor(weights, dtype=F64)
        if w.shape != (k,) or not bool((w > 0).all()):
            raise ValueError(f"weights must be {k} positive numbers")
        self.means, self.cov, self.weights = means, cov, w / w.sum()
        self.eigvals, self.eigvecs = lam.clamp_min(0.0), vec
        self.dim, self.components = d, k
        scalar = torch.diagonal(cov, dim1=1, dim2=2)[:, :1]
        self.isotropic = bool(torch.allclose(cov, scalar[:, :, None] * torch.eye(d, dtype=F64)))
        self._device_cache: dict[tuple, tuple[Tensor, ...]] = {}

    # --- constructors ----------------------------------------------------------------------------------------
    @classmethod
    def gaussian(cls, mean: Tensor, covariance: Tensor) -> GaussianMixture:
        """A single Gaussian."""
        mean = torch.as_tensor(mean, dtype=F64)
        return cls(mean[None], torch.as_tensor(covariance, dtype=F64)[None])

    @classmethod
    def subspace(cls, dim: int, rank: int, *, scale: float = 1.0, seed: int = 0) -> GaussianMixture:
        """A Gaussian supported on a random ``rank``-dimensional subspace of ``R^dim`` (singular covariance)."""
        if not 0 < rank <= dim:
            raise ValueError(f"need 0 < rank <= dim, got rank={rank}, dim={dim}")
        gen = torch.Generator().manual_seed(seed)
        basis, _ = torch.linalg.qr(torch.randn(dim, rank, generator=gen, dtype=F64))
        return cls.gaussian(torch.zeros(dim, dtype=F64), scale**2 * basis @ basis.T)

    @classmethod
    def default(cls, dim: int = 8, components: int = 4, *, seed: int = 0) -> GaussianMixture:
        """A well-separated mixture with unequal weights and anisotropic covariances (the lab's default)."""
        gen = torch.Generator().manual_seed(seed)
        means = 2.0 * torch.randn(components, dim, generator=gen, dtype=F64) / math.sqrt(max(dim, 1)) * 2
        scales = 0.2 + 0.3 * torch.rand(components, dim, generator=gen, dtype=F64)
        weights = 1.0 + torch.rand(components, generator=gen, dtype=F64)
        return cls(means, scales**2, weights)

    # --- exact quantities --------------------------------------------------------------------------------------
    def _on(self, like: Tensor) -> tuple[Tensor, ...]:
        key = (like.device, like.dtype)
        if key not in self._device_cache:
            self._device_cache[key] = tuple(
                v.to(device=like.device, dtype=like.dtype)
                for v in (self.means, self.eigvals, self.eigvecs, self.weights.log())
            )
        return self._device_cache[key]

    def noised_score(self, alpha: Tensor, sigma: Tensor, x: Tensor) -> Tensor:
        """Score of the law of ``α x₀ + σ ε`` at ``x`` (``(B, d)``), with per-sample ``α, σ`` of shape ``(B,)``."""
        means, lam, vec, logw = self._on(x)
        if self.isotropic:  # O(K d) per sample: no eigenbasis needed
            a = alpha.to(x.dtype)[:, None]
            var = a**2 * lam[None, :, 0] + sigma.to(x.dtype)[:, None] ** 2  # (B, K)
            diff = x[:, None, :] - a[:, :, None] * means[None]
            logits = logw - 0.5 * (diff**2).sum(-1) / var - 0.5 * self.dim * torch.log(var)
            resp = torch.softmax(logits, dim=1) / var
            return -(resp[..., None] * diff).sum(1)
        a = alpha.to(x.dtype)[:, None, None]
        var = a**2 * lam[None] + sigma.to(x.dtype)[:, None, None] ** 2  # (B, K, d) eigenvalues of C_k
        diff = x[:, None, :] - a * means[None]  # (B, K, d)
        proj = torch.einsum("bkd,kde->bke", diff, vec)  # coordinates in each eigenbasis
        logits = logw - 0.5 * (proj**2 / var).sum(-1) - 0.5 * torch.log(var).sum(-1)  # (B, K)
        resp = torch.softmax(logits, dim=1)
        grad = -torch.einsum("bke,kde->bkd", proj / var, vec)  # -C_k^{-1}(x - α μ_k)
        return (resp[..., None] * grad).sum(1)

    def score(self, process: Process, t: Tensor, x: Tensor) -> Tensor:
        """``∇log p_t(x)`` under ``process`` at per-sample diffusion times ``t``."""
        t64 = t.to(F64)
        return self.noised_score(*process.alpha_sigma(t64), x)

    def model(self, process: Process, prediction: str = "eps"):
        """A network-shaped callable ``model(x, t_model)`` returning the exact ``prediction``."""
        from sdesolve_diffusion.adapters import PREDICTIONS

        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")

        def exact(x: Tensor, t_model: Tensor) -> Tensor:
            if prediction == "edm":  # called as D(x/α; σ/α): the VE-scaled variable
                sig = t_model.to(F64)
                s = self.noised_score(torch.ones_like(sig), sig, x)
                return x + sig.to(x.dtype)[:, None] ** 2 * s
            t = process.time_from_model(t_model.to(F64))
            alpha, sigma = process.alpha_sigma(t)
            s = self.noised_score(alpha, sigma, x)
            a, sg = alpha.to(x.dtype)[:, None], sigma.to(x.dtype)[:, None]
            if prediction == "score":
                return s
            eps = -sg * s
            if prediction == "eps":
                return eps
            x0 = (x + sg**2 * s) / a
            if prediction == "x0":
                return x0
            return a * eps - sg * x0  # v

        return exact

    def sample(
        self, n: int, *, alpha: float = 1.0, sigma: float = 0.0, generator: torch.Generator | None = None
    ) -> Tensor:
        """``n`` exact draws of ``α x₀ + σ ε`` (float64)."""
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, dtype=F64)
        x0 = self.means[comp] + torch.einsum("nde,ne->nd", self.eigvecs[comp], self.eigvals[comp].sqrt() * z)
        return alpha * x0 + sigma * torch.randn(n, self.dim, generator=generator, dtype=F64)

    def moments(self, alpha: float = 1.0, sigma: float = 0.0) -> tuple[Tensor, Tensor]:
        """Exact mean and covariance of ``α x₀ + σ ε``."""
        mean = self.weights @ self.means
        centred = self.means - mean
        cov = (self.weights[:, None, None] * (self.cov + centred[:, :, None] * centred[:, None, :])).sum(0)
        return alpha * mean, alpha**2 * cov + sigma**2 * torch.eye(self.dim, dtype=F64)

    def cdf_1d(self, x: Tensor, alpha: float = 1.0, sigma: float = 0.0) -> Tensor:
        """CDF of the noised law in one dimension (``d = 1``)."""
        if self.dim != 1:
            raise ValueError("cdf_1d needs a one-dimensional mixture")
        std = torch.sqrt(alpha**2 * self.cov[:, 0, 0] + sigma**2)
        z = (x.to(F64)[:, None] - alpha * self.means[None, :, 0]) / std
        return (self.weights * 0.5 * torch.erfc(-z / math.sqrt(2))).sum(-1)

    def quantiles_1d(self, probs: Tensor, alpha: float = 1.0, sigma: float = 0.0) -> Tensor:
        """Quantiles of the noised law in one dimension, by bisection on the exact CDF."""
        probs = probs.to(F64)
        std = float(torch.sqrt(alpha**2 * self.cov[:, 0, 0].max() + sigma**2))
        lo = torch.full_like(probs, float(alpha * self.means.min()) - 12 * std)
        hi = torch.full_like(probs, float(alpha * self.means.max()) + 12 * std)
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            below = self.cdf_1d(mid, alpha, sigma) < probs
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        return 0.5 * (lo + hi)


class SubspaceMixture:
    """A Gaussian mixture on a ``k``-dimensional linear subspace of ``R^d``: ``x₀ = U z`` with ``U`` a ``(d, k)``
    orthonormal basis and ``z ~ inner`` (a :class:`GaussianMixture` in ``R^k``).

    Under ``x_t = α x₀ + σ ε`` the coordinates ``y = Uᵀx`` follow ``inner`` noised the same way and the orthogonal
    part is ``N(0, σ² I)``, so the score is ``U s_inner(y) − (x − U y)/σ²``: the mixture formula in the embedding at
    ``O(d k + K k²)`` per sample instead of the ``O(K d²)`` of a singular ``(d, d)`` covariance.
    """

    def __init__(self, inner: GaussianMixture, basis: Tensor) -> None:
        basis = torch.as_tensor(basis, dtype=F64)
        if basis.dim() != 2 or basis.shape[1] != inner.dim or basis.shape[0] < inner.dim:
            raise ValueError(f"basis must have shape (d, {inner.dim}) with d >= {inner.dim}, got {tuple(basis.shape)}")
        if not torch.allclose(basis.T @ basis, torch.eye(inner.dim, dtype=F64), atol=1e-10):
            raise ValueError("basis columns must be orthonormal")
        self.inner, self.basis = inner, basis
        self.dim, self.rank, self.components = basis.shape[0], inner.dim, inner.components
        self._device_cache: dict[tuple, Tensor] = {}

    @classmethod
    def random(
        cls, dim: int, rank: int, components: int, *, std: tuple[float, float] = (0.03, 0.08), seed: int = 0
    ) -> SubspaceMixture:
        """``components`` isotropic modes (standard deviations drawn in ``std``, unequal weights, means of norm about
        1.5) in a random ``rank``-dimensional subspace of ``R^dim``."""
        if not 0 < rank <= dim:
            raise ValueError(f"need 0 < rank <= dim, got rank={rank}, dim={dim}")
        gen = torch.Generator().manual_seed(seed)
        basis, _ = torch.linalg.qr(torch.randn(dim, rank, generator=gen, dtype=F64))
        means = 1.5 * torch.randn(components, rank, generator=gen, dtype=F64) / math.sqrt(rank)
        stds = std[0] + (std[1] - std[0]) * torch.rand(components, generator=gen, dtype=F64)
        weights = 1.0 + 2.0 * torch.rand(components, generator=gen, dtype=F64)
        return cls(GaussianMixture(means, stds**2, weights), basis)

    def _basis_on(self, like: Tensor) -> Tensor:
        key = (like.device, like.dtype)
        if key not in self._device_cache:
            self._device_cache[key] = self.basis.to(device=like.device, dtype=like.dtype)
        return self._device_cache[key]

    def noised_score(self, alpha: Tensor, sigma: Tensor, x: Tensor) -> Tensor:
        """Score of the law of ``α x₀ + σ ε`` at ``x`` (``(B, d)``), with per-sample ``α, σ`` of shape ``(B,)``."""
        u = self._basis_on(x)
        y = x @ u
        perp = x - y @ u.T
        inner = self.inner.noised_score(alpha, sigma, y)
        return inner @ u.T - perp / sigma.to(x.dtype)[:, None] ** 2

    score = GaussianMixture.score
    model = GaussianMixture.model

    def sample(
        self, n: int, *, alpha: float = 1.0, sigma: float = 0.0, generator: torch.Generator | None = None
    ) -> Tensor:
        """``n`` exact draws of ``α x₀ + σ ε`` (float64)."""
        z = self.inner.sample(n, generator=generator)
        return alpha * z @ self.basis.T + sigma * torch.randn(n, self.dim, generator=generator, dtype=F64)

    def moments(self, alpha: float = 1.0, sigma: float = 0.0) -> tuple[Tensor, Tensor]:
        """Exact mean and covariance of ``α x₀ + σ ε``."""
        mean, cov = self.inner.moments()
        u = self.basis
        return alpha * u @ mean, alpha**2 * u @ cov @ u.T + sigma**2 * torch.eye(self.dim, dtype=F64)

    def projected(self, theta: Tensor) -> GaussianMixture:
        """The one-dimensional mixture ``θᵀx₀`` (``θ`` of shape ``(d,)``)."""
        phi = self.basis.T @ theta.to(F64)
        inner = self.inner
        var = torch.einsum("d,kde,e->k", phi, inner.cov, phi)
        return GaussianMixture((inner.means @ phi)[:, None], var, inner.weights)
