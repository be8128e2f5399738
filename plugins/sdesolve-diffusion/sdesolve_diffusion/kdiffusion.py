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
        internal = _internal_process(sdesolve.registry().get("sampler", name))
        if internal is not None:
            return _variance_preserving(
                name, internal, model, x, grid, to_zero, extra, callback, disable, generator, options
            )
        process = sdesolve.registry().get("process", "edm")

        def denoiser(y: Tensor, sigma: Tensor) -> Tensor:
            return model(y, sigma.to(y.dtype), **extra)

        return sdesolve.sample(
            denoiser,
            x,
            name,
            process=process,
            prediction="edm",
            grid=grid,
            denoise=to_zero,
            generator=generator,
            callback=_reporter(callback, grid, lambda i, y: y),
            progress=disable is False,
            **options,
        )

    sample.__name__ = sample.__qualname__ = f"sample_{name}"
    sample.__doc__ = f"sdesolve's ``{name}`` with k-diffusion's sampler signature (see the module docstring)."
    return sample


def _reporter(
    callback: Callable[[dict[str, Any]], None] | None, grid: Tensor, to_ve: Callable[[int, Tensor], Tensor]
) -> Callable[[dict[str, Any]], None] | None:
    if callback is None:
        return None

    def report(info: dict[str, Any]) -> None:
        level = float(grid[info["i"]])
        x = to_ve(info["i"], info["x"])
        callback({"x": x, "i": info["i"], "sigma": level, "sigma_hat": level, "denoised": info.get("denoised")})

    return report


def _internal_process(sampler: Any) -> str | None:
    """The process a sampler integrates on internally (``None``: k-diffusion's own ``edm``).

    * Li et al.'s samplers need ``α² + σ² = 1``: the OU process (defined for every ``σ > 0``).
    * Recipes over a core stepper (``ddram``, ``exponential_euler_sde``, ``euler_maruyama_sde``, ...): ``vp``. On the
      ``relative``, ``skip``, ``data`` and ``eps`` splittings the exponential steppers give the same iterates on every
      process, but Euler–Maruyama is not an exponential integrator (nor is the ``score`` splitting
      process-invariant), and on ``vp`` it is 2-3× more accurate than on ``edm`` at 10-40 NFE
      (``benchmarks/ddram_low_nfe.py``, docs/benchmarks.md).
    """
    if getattr(sampler, "vp_only", False):
        return "ou"
    if getattr(sampler, "stepper", None):
        return "vp"
    return None


def _variance_preserving(
    name: str,
    internal: str,
    model: Callable[..., Tensor],
    x: Tensor,
    grid: Tensor,
    to_zero: bool,
    extra: dict[str, Any],
    callback: Callable[[dict[str, Any]], None] | None,
    disable: bool | None,
    generator: torch.Generator | None,
    options: dict[str, Any],
) -> Tensor:
    """A sampler run internally on the variance-preserving process ``internal`` from k-diffusion's ``x = x₀ + σ ε``.

    The variance-exploding state is the variance-preserving one divided by ``α``: on ``internal`` (OU: ``α = e^{-t}``,
    ``σ_VE = √(e^{2t} - 1)``; ``vp``: ``σ_VE = √(α^{-2} - 1)``; both defined for every ``σ_VE > 0``) the grid is
    ``t(σ_VE)``, the state ``x_VP = α x``, and the denoiser ``D(x_VP / α; σ_VE)`` is the data prediction. The result is
    divided by ``α`` at the last level again (or is the denoised data when ``sigmas`` ends with 0).
    """
    process = sdesolve.registry().get("process", internal)
    times = process.t_from_edm_sigma(grid)
    alpha = process.alpha(times)

    def scale(v: Tensor, y: Tensor) -> Tensor:
        return v.to(device=y.device, dtype=y.dtype).reshape(-1, *[1] * (y.dim() - 1))

    def data(y: Tensor, t: Tensor) -> Tensor:
        t64 = t.to(torch.float64)
        return model(y / scale(process.alpha(t64), y), process.edm_sigma(t64).to(y.dtype), **extra)

    out = sdesolve.sample(
        data,
        x * float(alpha[0]),
        name,
        process=process,
        prediction="x0",
        grid=times,
        denoise=to_zero,
        generator=generator,
        callback=_reporter(callback, grid, lambda i, y: y / float(alpha[i + 1])),
        progress=disable is False,
        **options,
    )
    return out if to_zero else out / float(alpha[-1])


def __getattr__(attr: str) -> Callable[..., Tensor]:
    """``sample_<name>`` for every registered sampler (``sample_ddram``, ``sample_li_accelerated_ode``, ...)."""
    if attr.startswith("sample_"):
        name = attr.removeprefix("sample_")
        if name in sdesolve.registry().items["sampler"]:
            return kdiffusion_sampler(name)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def __dir__() -> list[str]:
    return sorted(__all__ + [f"sample_{name}" for name in sdesolve.registry().items["sampler"]])
