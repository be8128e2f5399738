"""Helpers shared by the diffusion plugin's tests: the registered process and sampler names, and a seeded run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

import sdesolve
from sdesolve import registry


def processes() -> list[str]:
    return sorted(registry().items["process"])


def samplers() -> list[str]:
    return sorted(registry().items["sampler"])


def seeded_vp_runner(mixture: Any, sampler: str | None = None, batch: int = 64) -> Callable[..., torch.Tensor]:
    """``run(steps, sampler=..., **options)``: ``sampler`` on ``vp`` from a fixed float64 ``x_T`` (seed 0) with a
    generator seeded 1, stopping at ``t = 0.002`` — the same noise for every call, so runs compare bit for bit."""
    vp = registry().get("process", "vp")
    model = mixture.model(vp, "eps")
    x_T = torch.randn(batch, mixture.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def run(steps: int, sampler: str | None = sampler, **options: Any) -> torch.Tensor:
        gen = torch.Generator().manual_seed(1)
        return sdesolve.sample(
            model, x_T, sampler, steps=steps, process="vp", grid_options={"t_min": 0.002}, generator=gen, **options
        )

    return run
