"""``sdesolve.sample``: the front door to the registered samplers.

The core knows no sampler, process, prediction or step count: it looks the sampler up in the registry (filled by
plugins such as ``sdesolve-diffusion``) and hands the call to the sampler object, which resolves the process and
grid names (kinds its plugin declares) and supplies every default the caller left out. A sampler declares the
process it samples when none is given as ``default_process``; every other omitted argument takes the default of
the sampler's own ``__call__``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor

from sdesolve.plugins import registry
from sdesolve.random import Generators

__all__ = ["sample"]


def _lookup_sampler(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    reg = registry()
    if not reg.items["sampler"]:
        raise LookupError(
            f"sampler={value!r}: no sampler is registered; install the diffusion plugin or another plugin that "
            "registers samplers (`sdesolve plugins` lists what is installed)"
        )
    try:
        return reg.get("sampler", value)
    except KeyError as exc:
        raise ValueError(f"sampler: {exc.args[0]}") from None


def sample(
    model: Callable[..., Tensor],
    x_T: Tensor | Sequence[int],
    sampler: str | Any,
    *,
    steps: int | None = None,
    process: str | Any = None,
    prediction: str | None = None,
    grid: str | Tensor | Sequence[float] | None = None,
    generator: Generators = None,
    seeds: Sequence[int] | None = None,
    callback: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
    **options: Any,
) -> Tensor:
    """Sample with a registered sampler (``sdesolve list`` shows them; ``docs/diffusion.md`` describes them).

    Args:
        model: the network, called as ``model(x, t)`` with a per-sample time tensor ``t`` (in the process's model
            time: diffusion time, or the timestep index for ``discrete``; ``σ`` for ``prediction="edm"``).
        x_T: the initial noise, or a shape ``(batch, *event)`` to draw it (scaled to the process's prior).
        sampler: a registered sampler name or a sampler object.
        steps: number of steps (NFE = steps × the sampler's NFE per step); default: the sampler's.
        process: a registered noising process name or a process object; default: the sampler's
            ``default_process``.
        prediction: what the model predicts (e.g. ``"eps"``, ``"x0"``, ``"v"``, ``"score"``, ``"edm"`` for the
            diffusion samplers); default: the sampler's.
        grid: a registered time-grid name, or an explicit decreasing tensor of diffusion times; default: the
            sampler's.
        generator: a ``torch.Generator``, one per sample, or a :mod:`sdesolve.random` source (``SeedStreams``,
            ``NativeDraws``: torch's draws in the working dtype, the fastest).
        seeds: one integer seed per sample (not with ``generator``): sample ``i`` then depends on ``seeds[i]``
            only, whatever the batch size or position.
        callback: called after every step with a dict (``i``, ``t``, ``x``, and sampler-specific entries).
        progress: show a progress bar.
        **options: sampler options (e.g. ``eta`` for ``ddim``, ``S_churn`` for ``edm_heun``).
    """
    sampler_obj = _lookup_sampler(sampler)
    if process is None:
        process = getattr(sampler_obj, "default_process", None)
        if process is None:
            raise TypeError(
                f"sampler {getattr(sampler_obj, 'name', sampler_obj)!r} declares no default_process: pass process="
            )
    given = {"steps": steps, "prediction": prediction}
    return sampler_obj(
        model,
        x_T,
        process=process,
        grid=grid,
        generator=generator,
        seeds=seeds,
        callback=callback,
        progress=progress,
        **{k: v for k, v in given.items() if v is not None},
        **options,
    )
