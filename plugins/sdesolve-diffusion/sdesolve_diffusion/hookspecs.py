"""The diffusion plugin's own hook specifications: noising processes and time grids.

They are diffusion concepts, so the core does not declare them: the plugin adds them as two new kinds through the
core's ``sdesolve_register_kinds`` hook (:mod:`sdesolve_diffusion.plugin`). Any plugin may implement them, e.g. to
add a process::

    from sdesolve import hookimpl

    @hookimpl
    def sdesolve_register_processes(register):
        register("my_vp", MyProcess())

and the objects are found as ``sdesolve.registry().get("process", "my_vp")``, by ``sdesolve.sample(...,
process="my_vp")`` and listed by ``sdesolve list``.
"""

from __future__ import annotations

import math
from typing import Any

from sdesolve import hookspec

__all__ = ["check_grid", "check_process", "sdesolve_register_grids", "sdesolve_register_processes"]


@hookspec
def sdesolve_register_processes(register: Any) -> None:
    """Register forward noising processes (e.g. ``vp``, ``ve``): call ``register(name, process)``.

    ``process`` is an instance with callable ``sigma(t)`` and ``log_alpha(t)`` and finite ``0 <= t_min < t_max``.
    """


@hookspec
def sdesolve_register_grids(register: Any) -> None:
    """Register time grids (e.g. ``uniform``, ``edm``): call ``register(name, grid)`` with a callable
    ``grid(process, steps, *, t_max=None, t_min=None, quantize=False) -> Tensor``."""


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def check_process(obj: Any) -> None:
    """A registered process: an instance with callable ``sigma``/``log_alpha`` and finite ``0 <= t_min < t_max``."""
    example = "e.g. an instance of a process class of the plugin that registers it"
    if isinstance(obj, type):
        raise TypeError(
            f"expected a process object ({example}), got the class {obj.__qualname__}; register an instance"
        )
    for method in ("sigma", "log_alpha"):
        if not callable(getattr(obj, method, None)):
            raise TypeError(
                f"expected a process object with methods sigma(t) and log_alpha(t) ({example}), "
                f"got {type(obj).__name__} without {method}()"
            )
    t_min, t_max = getattr(obj, "t_min", None), getattr(obj, "t_max", None)
    if not (_finite(t_min) and _finite(t_max) and 0 <= t_min < t_max):
        raise TypeError(
            f"expected a process with finite times 0 <= t_min < t_max, got t_min={t_min!r}, t_max={t_max!r}"
        )


def check_grid(obj: Any) -> None:
    """A registered time grid: a callable ``grid(process, steps, *, t_max=None, t_min=None, quantize=False)``."""
    if not callable(obj):
        raise TypeError(
            "expected a callable grid(process, steps, *, t_max=None, t_min=None, quantize=False) -> Tensor, "
            f"got {type(obj).__name__} {obj!r}"
        )
