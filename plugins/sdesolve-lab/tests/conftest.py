from __future__ import annotations

import pytest
import torch
from sdesolve_diffusion import GaussianMixture


@pytest.fixture(scope="session")
def mixture2d() -> GaussianMixture:
    return GaussianMixture(
        torch.tensor([[-1.0, 0.5], [1.0, -0.3], [0.2, 1.2]]),
        torch.tensor([[0.3**2, 0.5**2], [0.4**2, 0.2**2], [0.25**2, 0.25**2]]),
        torch.tensor([0.5, 0.3, 0.2]),
    )


@pytest.fixture
def x_T() -> torch.Tensor:
    """64 float64 starts in 2-D (seed 0), the peer-agreement tests' shared initial state."""
    return torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
