"""Hook specifications of the ``sdesolve`` plugin system (pluggy project name ``"sdesolve"``).

Every hook receives a ``register`` callback and calls it once per thing it provides. Built-in steppers are
ordinary implementations of these hooks; third-party packages expose theirs through the ``sdesolve``
entry-point group. See ``docs/plugins.md``.
"""

from __future__ import annotations

from typing import Any

import pluggy

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("sdesolve")
hookimpl = pluggy.HookimplMarker("sdesolve")


@hookspec
def sdesolve_register_steppers(register: Any) -> None:
    """Register steppers: call ``register(StepperClass)`` for each :class:`sdesolve.Stepper` subclass.

    The class's ``name`` is its registry name; its order metadata is checked at registration.
    """


@hookspec
def sdesolve_register_samplers(register: Any) -> None:
    """Register diffusion samplers: call ``register(name, sampler)`` for each one."""


@hookspec
def sdesolve_register_processes(register: Any) -> None:
    """Register forward noising processes (e.g. ``vp``, ``ve``): call ``register(name, process)``."""


@hookspec
def sdesolve_register_grids(register: Any) -> None:
    """Register time grids (e.g. ``uniform``, ``edm``): call ``register(name, grid)``."""
