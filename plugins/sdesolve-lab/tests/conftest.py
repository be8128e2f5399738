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
