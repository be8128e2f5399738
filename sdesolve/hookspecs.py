"""Hook specifications of the ``sdesolve`` plugin system (pluggy project name ``"sdesolve"``).

Every hook receives a ``register`` callback and calls it once per thing it provides: steppers, samplers,
noising processes, time grids and command-line subcommands. Built-in steppers and the core's commands are
ordinary implementations of these hooks; third-party packages expose theirs through the ``sdesolve``
entry-point group. Every registered object is checked after the hook returns
(:func:`sdesolve.plugins.validate`); one that fails, or whose name a plugin of higher precedence holds, is left out
by name and reported. See ``docs/plugins.md``.
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

    The class's ``name`` is its registry name. Checked at registration: concrete (``step`` implemented), ``step``
    callable as ``step(self, ctx, k, x, state)`` and ``init`` as ``init(self, ctx, x0)``, finite non-negative orders,
    a positive integer ``nfe_per_step``, a boolean ``supports_noise``, constructible without arguments.
    """


@hookspec
def sdesolve_register_samplers(register: Any) -> None:
    """Register diffusion samplers: call ``register(name, sampler)`` for each one.

    ``sampler`` is an instance (not a class), callable, with a string ``name`` and a ``describe()`` returning a dict.
    """


@hookspec
def sdesolve_register_processes(register: Any) -> None:
    """Register forward noising processes (e.g. ``vp``, ``ve``): call ``register(name, process)``.

    ``process`` is an instance with callable ``sigma(t)`` and ``log_alpha(t)`` and finite ``0 <= t_min < t_max``.
    """


@hookspec
def sdesolve_register_grids(register: Any) -> None:
    """Register time grids (e.g. ``uniform``, ``edm``): call ``register(name, grid)`` with a callable
    ``grid(process, steps, *, t_max=None, t_min=None, quantize=False) -> Tensor``."""


@hookspec
def sdesolve_register_commands(register: Any) -> None:
    """Register ``sdesolve`` subcommands: call ``register(name, help, configure, run)`` for each one.

    ``name`` is the subcommand (lower case, digits and ``-``, e.g. ``"sample"``); ``help`` a one-line string shown by
    ``sdesolve --help``; ``configure(parser)`` adds the options to the command's ``argparse.ArgumentParser``;
    ``run(args) -> int`` runs the command with the parsed ``argparse.Namespace`` and returns the exit status. The
    core's own commands (``plugins``, ``list``, ``verify``) are registered the same way, by a built-in plugin.
    """
