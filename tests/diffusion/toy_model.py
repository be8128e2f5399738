"""A tiny ε-network for the sampling-engine tests (deterministic initialisation)."""

from __future__ import annotations

import torch
from torch import nn


class TinyEps(nn.Module):
    def __init__(self, dim: int = 4) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.lin = nn.Linear(dim + 1, dim)
        with torch.no_grad():
            self.lin.weight.copy_(0.3 * torch.randn(dim, dim + 1, generator=gen))
            self.lin.bias.copy_(0.1 * torch.randn(dim, generator=gen))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.lin(torch.cat([x, t.to(x.dtype)[:, None]], dim=1)))


class TinyEps64(TinyEps):
    """The same network in float64 (batch-invariance tests compare at float64 round-off)."""

    def __init__(self, dim: int = 4) -> None:
        super().__init__(dim)
        self.double()


class Pickled:
    """Not a tensor: saving it makes a checkpoint that weights_only loading must refuse."""
