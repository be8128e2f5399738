"""The lab's problem: an exact-score target under a DDPM table, sampled from ``t = T`` down to ``x₀``."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from sdesolve_diffusion.adapters import ModelAdapter
from sdesolve_diffusion.processes import DiscreteProcess
from sdesolve_diffusion.targets import GaussianMixture
from torch import Tensor

__all__ = ["TARGETS", "Counter", "LabProblem", "make_problem"]

TARGETS = ("gmm", "gaussian", "subspace")


class Counter:
    """A model wrapper that counts network evaluations (one per call, whatever the batch)."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, 0

    def __call__(self, x: Tensor, t: Tensor) -> Tensor:
        self.calls += 1
        return self.model(x, t)


@dataclass
class LabProblem:
    """``target`` noised by ``process`` (a DDPM table shared with the diffusers peers); every method starts from
    ``x_T ~ N(0, I)`` at ``t = T`` and returns ``x₀`` (continuous-time methods stop at the first timestep
    ``t = 1`` and finish with the exact denoiser, which counts as one evaluation)."""

    name: str
    target: GaussianMixture
    process: DiscreteProcess
    t_end: float = 1.0
    description: str = ""
    _models: dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return self.target.dim

    @property
    def t_max(self) -> float:
        return self.process.t_max

    def model(self, prediction: str = "eps") -> Counter:
        """A fresh counting wrapper around the exact model (network call convention: ``model(x, timestep)``)."""
        return Counter(self.target.model(self.process, prediction))

    def adapter(self, model: Counter) -> ModelAdapter:
        return ModelAdapter(model, self.process, "eps")

    def prior(self, n: int, seed: int, dtype: torch.dtype = torch.float64, device: str = "cpu") -> Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.dim, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype)


def make_problem(target: str = "gmm", dim: int = 16, *, seed: int = 0) -> LabProblem:
    """The built-in problems: ``gmm`` (4 anisotropic components, unequal weights), ``gaussian`` (one anisotropic
    Gaussian: exact W2 from moments) and ``subspace`` (a Gaussian on a ``dim/4``-dimensional subspace)."""
    if target not in TARGETS:
        raise ValueError(f"--target must be one of {TARGETS}, got {target!r}")
    if dim < 1:
        raise ValueError(f"--dim must be positive, got {dim}")
    try:
        import diffusers

        abar = diffusers.DDPMScheduler(beta_schedule="linear").alphas_cumprod.to(torch.float64)
        process = DiscreteProcess.from_alphas_cumprod(abar)
    except ImportError:  # the same table, built in float64
        process = DiscreteProcess.linear()
    if target == "gmm":
        tgt = GaussianMixture.default(dim, 4, seed=seed)
        text = f"4-component Gaussian mixture in d={dim}"
    elif target == "gaussian":
        gen = torch.Generator().manual_seed(seed)
        scales = 0.3 + 0.7 * torch.rand(dim, generator=gen, dtype=torch.float64)
        tgt = GaussianMixture.gaussian(
            0.5 * torch.randn(dim, generator=gen, dtype=torch.float64), torch.diag(scales**2)
        )
        text = f"anisotropic Gaussian in d={dim}"
    else:
        tgt = GaussianMixture.subspace(dim, max(1, dim // 4), seed=seed)
        text = f"Gaussian on a {max(1, dim // 4)}-dimensional subspace of R^{dim}"
    return LabProblem(target, tgt, process, description=text + ", DDPM linear table (T = 1000), exact scores")
