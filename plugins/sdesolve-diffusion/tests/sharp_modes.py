"""The lab's ``sharp1d`` target at test size: three sharp modes on the DDPM linear table, an exact draw of ``p_T`` and
the exact quantiles of what an exact sampler returns (``D(X₁)``, the denoiser at ``t = 1``; ``D`` is increasing in
1-D, so its quantiles are ``D`` of ``X₁``'s)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sdesolve_diffusion.processes import DiscreteProcess
from sdesolve_diffusion.targets import GaussianMixture
from torch import Tensor

F64 = torch.float64


@dataclass(frozen=True)
class SharpModes:
    target: GaussianMixture
    process: DiscreteProcess
    x_T: Tensor  # an exact draw of p_T, shape (n, 1)
    exact: Tensor  # the exact quantiles of D(X₁), shape (n,)

    def w1(self, x: Tensor) -> float:
        """W1 between the samples ``x`` (shape (n, 1)) and the exact law, by sorted differences."""
        return float((x.reshape(-1).sort().values - self.exact).abs().mean())


def sharp_modes(n: int = 20_000, seed: int = 0) -> SharpModes:
    target = GaussianMixture(
        torch.tensor([[-0.5], [0.0], [0.4]], dtype=F64),
        torch.tensor([0.01, 0.02, 0.015], dtype=F64) ** 2,
        torch.tensor([0.3, 0.45, 0.25], dtype=F64),
    )
    process = DiscreteProcess.linear()
    t_max, t_end = torch.tensor(process.t_max, dtype=F64), torch.tensor(1.0, dtype=F64)
    a_end, s_end = float(process.alpha(t_end)), float(process.sigma(t_end))

    def denoise(x: Tensor) -> Tensor:
        a, s = torch.full((x.shape[0],), a_end, dtype=F64), torch.full((x.shape[0],), s_end, dtype=F64)
        return (x + s_end**2 * target.noised_score(a, s, x)) / a_end

    probs = (torch.arange(n, dtype=F64) + 0.5) / n
    exact = denoise(target.quantiles_1d(probs, a_end, s_end)[:, None])[:, 0]
    gen = torch.Generator().manual_seed(seed)
    x_T = target.sample(n, alpha=float(process.alpha(t_max)), sigma=float(process.sigma(t_max)), generator=gen)
    return SharpModes(target, process, x_T, exact)
