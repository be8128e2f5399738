"""The lab's problems: a target (exact score, or a network trained in-repo) under a DDPM table, sampled from
``t = T`` down to ``x₀``.

Every method ends with a denoiser at the first timestep (``t = 1``, ``σ = 0.01``): the continuous-time ones call it
after stopping there, k-diffusion steps to ``σ = 0`` and the diffusers schedulers' last step returns their ``x₀``
prediction. The law an *exact* solver produces is therefore the pushforward ``D(X₁)`` of the exact marginal at
``t = 1`` by the exact denoiser ``D(x) = (x + σ² ∇log p₁(x)) / α``, not the data law: the harder problems
(``sharp1d``, ``subspace_mixture``) measure against that law and start from exact draws of ``p_T``, so only the
discretisation error counts. (With modes of standard deviation 0.01–0.02 the data law and ``D(X₁)`` differ by
more than a good sampler's error: the denoiser shrinks each mode.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from sdesolve_diffusion.adapters import ModelAdapter
from sdesolve_diffusion.processes import DiscreteProcess
from sdesolve_diffusion.targets import GaussianMixture, SubspaceMixture
from torch import Tensor

from sdesolve.counting import CountedCalls
from sdesolve.dtypes import F64

__all__ = ["DEFAULTS", "PROBLEMS", "TARGETS", "DiagonalMixture", "LabProblem", "make_problem", "sharp_mixture_1d"]

TARGETS = ("gmm", "gaussian", "subspace")
PROBLEMS = (*TARGETS, "sharp1d", "subspace_mixture", "digits")
# per problem: default dimension, samples per run (chosen for the noise floor), and whether a run is slow
DEFAULTS: dict[str, dict[str, Any]] = {
    "gmm": {"dim": 16, "n": 10_000},
    "gaussian": {"dim": 16, "n": 10_000},
    "subspace": {"dim": 16, "n": 10_000},
    "sharp1d": {"dim": 1, "n": 100_000},
    "subspace_mixture": {"dim": 128, "n": 20_000},
    "digits": {"dim": 64, "n": 2_000},
}


@dataclass
class LabProblem:
    """``target`` noised by ``process`` (a DDPM table shared with the diffusers peers); every method starts from
    ``x_T`` at ``t = T`` and returns ``x₀`` (continuous-time methods stop at the first timestep ``t = 1`` and finish
    with the denoiser, which counts as one evaluation).

    ``network`` replaces the exact model when set (a trained ε-network, ``model(x, timestep)``); ``exact_prior``
    draws ``x_T`` from the exact noised target instead of ``N(0, I)``; ``metric_factory(problem, n, seed)`` builds
    the problem's distribution metric (default: sliced W1, see :meth:`metric`)."""

    name: str
    target: Any
    process: DiscreteProcess
    t_end: float = 1.0
    description: str = ""
    network: Callable[[Tensor, Tensor], Tensor] | None = None
    exact_prior: bool = False
    metric_factory: Callable[[LabProblem, int, int], Any] | None = None
    dimension: int | None = None
    reference_rtol: float = 1e-9  # the flow reference's dopri5 tolerance (a float32 network: 1e-6)
    _models: dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return self.dimension if self.dimension is not None else self.target.dim

    @property
    def t_max(self) -> float:
        return self.process.t_max

    def model(self, prediction: str = "eps") -> CountedCalls:
        """A fresh counting wrapper around the model (network call convention: ``model(x, timestep)``; ``nfe``
        counts calls, one per call whatever the batch: :class:`sdesolve.counting.CountedCalls`)."""
        if self.network is not None:
            if prediction != "eps":
                raise ValueError(f"the {self.name} network predicts eps, not {prediction!r}")
            return CountedCalls(self.network)
        return CountedCalls(self.target.model(self.process, prediction))

    def metric(self, n: int, seed: int) -> Any:
        """The problem's distribution metric for ``n`` samples: ``metric_factory`` where the problem has one, else
        sliced W1 against the exact target (the exact W2 for the ``gaussian`` target)."""
        if self.metric_factory is not None:
            return self.metric_factory(self, n, seed)
        from sdesolve_lab.metrics import GaussianW2, SlicedW1

        return (GaussianW2 if self.name == "gaussian" else SlicedW1)(self.target, n, seed=seed)

    def adapter(self, model: CountedCalls) -> ModelAdapter:
        return ModelAdapter(model, self.process, "eps")

    def prior(self, n: int, seed: int, dtype: torch.dtype = torch.float64, device: str = "cpu") -> Tensor:
        gen = torch.Generator().manual_seed(seed)
        if self.exact_prior:
            t = torch.tensor(self.t_max, dtype=F64)
            alpha, sigma = float(self.process.alpha(t)), float(self.process.sigma(t))
            x = self.target.sample(n, alpha=alpha, sigma=sigma, generator=gen)
        else:
            x = torch.randn(n, self.dim, generator=gen, dtype=torch.float64)
        return x.to(device=device, dtype=dtype)

    def end_coefficients(self) -> tuple[float, float]:
        """``(α, σ)`` at ``t_end``, where every method applies the denoiser."""
        t = torch.tensor(self.t_end, dtype=F64)
        return float(self.process.alpha(t)), float(self.process.sigma(t))

    def exact_denoiser(self, x: Tensor) -> Tensor:
        """The exact ``D(x) = (x + σ² ∇log p(x)) / α`` at ``t_end`` (float64)."""
        alpha, sigma = self.end_coefficients()
        x = x.to(F64)
        a, s = torch.full((x.shape[0],), alpha, dtype=F64), torch.full((x.shape[0],), sigma, dtype=F64)
        return (x + sigma**2 * self.target.noised_score(a, s, x)) / alpha

    def exact_output(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` exact draws of the law an exact solver returns: ``D(X)`` with ``X`` drawn from ``p_{t_end}``."""
        alpha, sigma = self.end_coefficients()
        return self.exact_denoiser(self.target.sample(n, alpha=alpha, sigma=sigma, generator=generator))


class DiagonalMixture(GaussianMixture):
    """A :class:`GaussianMixture` whose covariances are diagonal (the lab's ``gmm``): its score skips the two
    eigenbasis contractions of the general formula, ``O(K d)`` per sample instead of ``O(K d²)``; the same values to
    rounding (a test checks), about half the time per evaluation at ``d = 16``."""

    def __init__(self, means: Tensor, covariances: Tensor, weights: Tensor | None = None) -> None:
        super().__init__(means, covariances, weights)
        diag = torch.diagonal(self.cov, dim1=1, dim2=2)
        if not torch.equal(self.cov, torch.diag_embed(diag)):
            raise ValueError("covariances must be diagonal ((K, d) variances or diagonal (K, d, d) matrices)")
        self._diag, self._diag_cache = diag.clamp_min(0.0), {}

    def noised_score(self, alpha: Tensor, sigma: Tensor, x: Tensor) -> Tensor:
        """Score of the law of ``α x₀ + σ ε`` at ``x`` (``(B, d)``), per-sample ``α, σ`` of shape ``(B,)``."""
        key = (x.device, x.dtype)
        if key not in self._diag_cache:
            values = (self.means, self._diag, self.weights.log())
            self._diag_cache[key] = tuple(v.to(device=x.device, dtype=x.dtype) for v in values)
        means, lam, logw = self._diag_cache[key]
        alpha, sigma = alpha.to(x.dtype), sigma.to(x.dtype)
        if alpha.numel() > 1 and bool((alpha == alpha[0]).all()) and bool((sigma == sigma[0]).all()):
            alpha, sigma = alpha[:1], sigma[:1]  # one time for the whole batch: C_k and its log-determinant once
        a = alpha[:, None, None]
        var = a**2 * lam[None] + sigma[:, None, None] ** 2  # (B or 1, K, d): C_k's diagonal
        diff = x[:, None, :] - a * means[None]  # (B, K, d)
        z = diff / var  # C_k^{-1}(x - α μ_k)
        logits = logw - 0.5 * (diff * z).sum(-1) - 0.5 * torch.log(var).sum(-1)  # (B, K)
        return -(torch.softmax(logits, dim=1)[..., None] * z).sum(1)


def _ddpm_linear() -> DiscreteProcess:
    """The DDPM linear table exactly as diffusers builds it (``DDPMScheduler(beta_schedule="linear")``: float32
    betas ``linspace(1e-4, 0.02, 1000)``, float32 cumulative product), without importing diffusers (3-4 s at
    start-up); a test checks that the two tables are equal."""
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float32)
    return DiscreteProcess.from_alphas_cumprod(torch.cumprod(1.0 - betas, dim=0).to(torch.float64))


def sharp_mixture_1d() -> GaussianMixture:
    """Three sharp modes: means -0.5, 0, 0.4; standard deviations 0.01, 0.02, 0.015; weights 0.3, 0.45, 0.25."""
    return GaussianMixture(
        torch.tensor([[-0.5], [0.0], [0.4]], dtype=F64),
        torch.tensor([0.01, 0.02, 0.015], dtype=F64) ** 2,
        torch.tensor([0.3, 0.45, 0.25], dtype=F64),
    )


def _quantile_metric(pb: LabProblem, n: int, seed: int):
    from sdesolve_lab.metrics import QuantileW1

    return QuantileW1.for_denoised_mixture(pb, n, seed=seed)


def _subspace_metric(pb: LabProblem, n: int, seed: int):
    from sdesolve_lab.metrics import ReferenceSlicedW1

    return ReferenceSlicedW1.for_problem(pb, n, seed=seed)


def _frechet_metric(pb: LabProblem, n: int, seed: int):
    from sdesolve_lab.metrics import FrechetDistance

    return FrechetDistance(pb.target.heldout, n, floor_sample=pb.target.train)


def make_problem(target: str = "gmm", dim: int | None = None, *, seed: int = 0) -> LabProblem:
    """The built-in problems (``PROBLEMS``):

    - ``gmm``: 4 anisotropic components, unequal weights, sliced W1 against the data law (the fast default);
    - ``gaussian``: one anisotropic Gaussian, exact W2 from moments;
    - ``subspace``: a Gaussian on a ``dim/4``-dimensional subspace;
    - ``sharp1d``: three modes of standard deviation 0.01–0.02 in 1-D, W1 against the exact quantiles of ``D(X₁)``;
    - ``subspace_mixture``: 8 modes (std 0.03–0.08) on a 4-dimensional subspace of ``R^dim`` (default 128), sliced W1
      along 32 directions in the subspace against 20 × n exact draws of ``D(X₁)``;
    - ``digits``: an ε-network trained here on 70 % of scikit-learn's 8×8 digits (seeded, cached), Fréchet distance
      in pixel space against the held-out 30 % (slow the first time: training; needs scikit-learn).
    """
    if target not in PROBLEMS:
        raise ValueError(f"--problem must be one of {PROBLEMS}, got {target!r}")
    dim = DEFAULTS[target]["dim"] if dim is None else dim
    if dim < 1:
        raise ValueError(f"--dim must be positive, got {dim}")
    fixed = {"sharp1d": 1, "digits": 64}
    if target in fixed and dim != fixed[target]:
        raise ValueError(f"{target} is {fixed[target]}-dimensional, got --dim {dim}")
    if target == "subspace_mixture" and dim < 4:
        raise ValueError(f"subspace_mixture needs --dim >= 4, got {dim}")
    process = _ddpm_linear()
    table = ", DDPM linear table (T = 1000)"
    if target == "sharp1d":
        return LabProblem(
            target,
            sharp_mixture_1d(),
            process,
            description="sharp 1-D mixture (means -0.5/0/0.4, std 0.01/0.02/0.015)" + table + ", exact scores, "
            "exact p_T start, W1 vs exact quantiles of D(X_1)",
            exact_prior=True,
            metric_factory=_quantile_metric,
        )
    if target == "subspace_mixture":
        return LabProblem(
            target,
            SubspaceMixture.random(dim, 4, 8, seed=seed),
            process,
            description=f"8-mode mixture (std 0.03-0.08) on a 4-D subspace of R^{dim}" + table + ", exact scores, "
            "exact p_T start, sliced W1 vs exact draws of D(X_1)",
            exact_prior=True,
            metric_factory=_subspace_metric,
        )
    if target == "digits":
        from sdesolve_lab.digits import DigitsModel

        trained = DigitsModel.load_or_train(process)
        return LabProblem(
            target,
            trained,
            process,
            description="8x8 digits, ε-MLP trained in-repo" + table + ", Fréchet distance (pixels) vs held-out 30 %",
            network=trained.network,
            metric_factory=_frechet_metric,
            dimension=64,
            reference_rtol=1e-6,
        )
    if target == "gmm":
        tgt = DiagonalMixture.default(dim, 4, seed=seed)
        text = f"4-component Gaussian mixture in d={dim}"
    elif target == "gaussian":
        gen = torch.Generator().manual_seed(seed)
        scales = 0.3 + 0.7 * torch.rand(dim, generator=gen, dtype=torch.float64)
        tgt = DiagonalMixture.gaussian(
            0.5 * torch.randn(dim, generator=gen, dtype=torch.float64), torch.diag(scales**2)
        )
        text = f"anisotropic Gaussian in d={dim}"
    else:
        tgt = GaussianMixture.subspace(dim, max(1, dim // 4), seed=seed)
        text = f"Gaussian on a {max(1, dim // 4)}-dimensional subspace of R^{dim}"
    return LabProblem(target, tgt, process, description=text + table + ", exact scores")
