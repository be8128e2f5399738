"""Parametrisation helpers shared by the diffusion plugin's tests: the registered process and sampler names."""

from __future__ import annotations

from sdesolve import registry


def processes() -> list[str]:
    return sorted(registry().items["process"])


def samplers() -> list[str]:
    return sorted(registry().items["sampler"])
