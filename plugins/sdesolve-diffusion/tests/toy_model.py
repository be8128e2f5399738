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


class NanAtDenoise(TinyEps):
    """Finite everywhere except at the smallest times (t < 0.002): only the final denoise call (vp ends at 1e-3)
    sees NaN."""

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = super().forward(x, t)
        return torch.where((t < 0.002)[:, None], torch.full_like(out, float("nan")), out)


class RandomInit(nn.Module):
    """``nn.Linear``'s default (random) initialisation: the weights depend on the torch RNG at construction."""

    def __init__(self, dim: int = 4) -> None:
        super().__init__()
        self.lin = nn.Linear(dim + 1, dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.lin(torch.cat([x, t.to(x.dtype)[:, None]], dim=1)))


class GatedEps(TinyEps):
    """Blocks every batched call (batch > 1) until the file named by ``SDESOLVE_TEST_GATE`` exists, so a test can
    hold a run in the middle of its work; one-sample calls (start-up validation) pass."""

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        import os
        import time

        gate = os.environ.get("SDESOLVE_TEST_GATE")
        deadline = time.monotonic() + 120
        while gate and x.shape[0] > 1 and not os.path.exists(gate) and time.monotonic() < deadline:
            time.sleep(0.02)
        return super().forward(x, t)


def eps_function(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """A plain function used as the model itself."""
    return 0.1 * x


def build_unmarked() -> TinyEps:
    """A factory without the marker: sdesolve refuses it (it cannot be called as model(x, t))."""
    return TinyEps()


def build_marked() -> TinyEps:
    """A factory marked as such: sdesolve calls it with no arguments."""
    model = TinyEps()
    with torch.no_grad():
        model.lin.bias.add_(0.5)
    return model


build_marked._sdesolve_factory = True  # type: ignore[attr-defined]
