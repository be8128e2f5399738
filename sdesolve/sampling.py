"""``sdesolve.sample``: run a registered diffusion sampler.

Samplers, noising processes and time grids are registered by plugins (the ``sdesolve-diffusion``
distribution registers the built-in ones); this module only resolves names and dispatches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor

from sdesolve.plugins import registry
from sdesolve.random import Generators

__all__ = ["sample"]


def _lookup(kind: str, value: Any, argument: str) -> Any:
    if not isinstance(value, str):
        return value
    reg = registry()
    if not reg.items[kind]:
        raise LookupError(
            f"{argument}={value!r}: no {kind} is registered; install the diffusion plugin "
            "(pip install -e plugins/sdesolve-diffusion)"
        )
    try:
        return reg.get(kind, value)
    except KeyError as exc:
        raise ValueError(f"{argument}: {exc.args[0]}") from None


def sample(
    model: Callable[..., Tensor],
    x_T: Tensor | Sequence[int],
    sampler: str | Any = "ddram",
    *,
    steps: int = 50,
    process: str | Any = "vp",
    prediction: str = "eps",
    grid: str | Tensor | Sequence[float] | None = None,
    generator: Generators = None,
    seeds: Sequence[int] | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
    **options: Any,
) -> Tensor:
    """Sample with a registered diffusion sampler.

    Args:
        model: the network, called as ``model(x, t)`` with a per-sample time tensor ``t`` (in the process's model
            time: diffusion time, or the timestep index for ``discrete``; ``σ`` for ``prediction="edm"``).
        x_T: the initial noise, or a shape ``(batch, *event)`` to draw it (scaled to the process's prior).
        sampler: a registered sampler name (``sdesolve list``) or sampler object.
        steps: number of steps (NFE = steps × the sampler's NFE per step).
        process: a registered noising process name or a process object.
        prediction: what the model predicts: ``"eps"``, ``"x0"``, ``"v"``, ``"score"`` or ``"edm"`` (an
            EDM-preconditioned denoiser ``D(x; σ)``).
        grid: a registered time-grid name, or an explicit decreasing tensor of diffusion times; default: the
            sampler's.
        generator: a ``torch.Generator`` or one per sample.
        seeds: one integer seed per sample (overrides ``generator``): sample ``i`` then depends on ``seeds[i]``
            only, whatever the batch size or position.
        callback: called after every step with a dict (``i``, ``t``, ``x``, and sampler-specific entries).
        progress: show a progress bar.
        **options: sampler options (e.g. ``eta`` for ``ddim``, ``S_churn`` for ``edm_heun``).
    """
    sampler_obj = _lookup("sampler", sampler, "sampler")
    process_obj = _lookup("process", process, "process")
    grid_obj = _lookup("grid", grid, "grid") if isinstance(grid, str) else grid
    return sampler_obj(
        model,
        x_T,
        steps=steps,
        process=process_obj,
        prediction=prediction,
        grid=grid_obj,
        generator=generator,
        seeds=seeds,
        callback=callback,
        progress=progress,
        **options,
    )
