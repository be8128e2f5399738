"""k-diffusion-compatible sampler functions: ``sample_<name>(model, x, sigmas, extra_args=None, callback=None,
disable=None, **options)`` for every registered sampler, so tools built on k-diffusion's sampler signature can call
sdesolve's samplers unchanged.

The convention is k-diffusion's: ``model(x, sigma, **extra_args)`` is a denoiser in the variance-exploding
parametrisation ``x = x₀ + σ ε`` (sdesolve's ``edm`` process with ``prediction="edm"``), ``sigmas`` is decreasing
and may end with ``0`` (then the last step is the denoiser), the callback receives
``{"x", "i", "sigma", "sigma_hat", "denoised"}``, and random draws come from ``generator`` (default: torch's global
generator, like k-diffusion's ``torch.randn_like``).

>>> from sdesolve_diffusion.kdiffusion import sample_ddram
>>> x0 = sample_ddram(denoiser, torch.randn(4, 3, 64, 64) * sigmas[0], sigmas)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

import sdesolve

__all__ = ["kdiffusion_sampler"]


def kdiffusion_sampler(name: str) -> Callable[..., Tensor]:
    """The k-diffusion-signature function for the registered sampler ``name``."""
    if name not in sdesolve.registry().items["sampler"]:
        raise ValueError(
            f"unknown sampler {name!r}; registered: {', '.join(sorted(sdesolve.registry().items['sampler']))}"
        )

    @torch.no_grad()
    def sample(
        model: Callable[..., Tensor],
        x: Tensor,
        sigmas: Tensor,
        extra_args: dict[str, Any] | None = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
        disable: bool | None = None,
        generator: torch.Generator | None = None,
        **options: Any,
    ) -> Tensor:
        extra = extra_args or {}
        sig = torch.as_tensor(sigmas).detach().to(device="cpu", dtype=torch.float64)
        if sig.dim() != 1 or sig.numel() < 2:
            raise ValueError("sigmas must be a 1-D tensor of at least 2 noise levels")
        to_zero = float(sig[-1]) == 0.0
        grid = sig[:-1] if to_zero else sig
        if grid.numel() < 2:  # a single level then 0: one denoising evaluation
            return model(x, sig[:1].to(x).expand(x.shape[0]), **extra)
        process = sdesolve.registry().get("process", "edm")

        def denoiser(y: Tensor, sigma: Tensor) -> Tensor:
            return model(y, sigma.to(y.dtype), **extra)

        def report(info: dict[str, Any]) -> None:
            if callback is not None:
                level = float(grid[info["i"]])
                callback(
                    {
                        "x": info["x"],
                        "i": info["i"],
                        "sigma": level,
                        "sigma_hat": level,
                        "denoised": info.get("denoised"),
                    }
                )

        return sdesolve.sample(
            denoiser,
            x,
            name,
            process=process,
            prediction="edm",
            grid=grid,
            denoise=to_zero,
            generator=generator,
            callback=report,
            progress=disable is False,
            **options,
        )

    sample.__name__ = sample.__qualname__ = f"sample_{name}"
    sample.__doc__ = f"sdesolve's ``{name}`` with k-diffusion's sampler signature (see the module docstring)."
    return sample


def __getattr__(attr: str) -> Callable[..., Tensor]:
    """``sample_<name>`` for every registered sampler (``sample_ddram``, ``sample_li_accelerated_ode``, ...)."""
    if attr.startswith("sample_"):
        name = attr.removeprefix("sample_")
        if name in sdesolve.registry().items["sampler"]:
            return kdiffusion_sampler(name)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def __dir__() -> list[str]:
    return sorted(__all__ + [f"sample_{name}" for name in sdesolve.registry().items["sampler"]])
