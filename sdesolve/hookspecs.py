"""Hook specifications of the ``sdesolve`` plugin system (pluggy project name ``"sdesolve"``).

Every hook receives a ``register`` callback and calls it once per thing it provides: steppers, samplers,
command-line subcommands, and new kinds of registered objects with their own hook specifications (a plugin's own
hookspecs: the diffusion plugin declares noising processes and time grids this way). Built-in steppers and the
core's commands are ordinary implementations of these hooks; third-party packages expose theirs through the
``sdesolve`` entry-point group. Every registered object is checked after the hook returns
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
def sdesolve_register_kinds(register: Any) -> None:
    """Declare new kinds of registered objects: call ``register(name, spec, check=None, plural=None)`` for each.

    ``spec`` is the kind's hook specification: a function named ``sdesolve_register_<plural>`` taking
    ``(register)`` and decorated with :data:`hookspec`; its implementations (in any plugin) call
    ``register(name, obj)``, and the objects land in ``sdesolve.registry().items[name]``. ``check(obj)`` raises
    ``TypeError`` saying what was expected of an object; ``plural`` names the kind in listings (default
    ``name + "s"``). A kind or hook another plugin already declared is refused naming both. The diffusion plugin
    declares ``process`` and ``grid`` this way (``sdesolve_diffusion.hookspecs``).
    """


@hookspec
def sdesolve_register_commands(register: Any) -> None:
    """Register ``sdesolve`` subcommands: call ``register(name, help, configure, run)`` for each one.

    ``name`` is the subcommand (lower case, digits and ``-``, e.g. ``"sample"``); ``help`` a one-line string shown by
    ``sdesolve --help``; ``configure(parser)`` adds the options to the command's ``argparse.ArgumentParser``;
    ``run(args) -> int`` runs the command with the parsed ``argparse.Namespace`` and returns the exit status. The
    core's own commands (``plugins``, ``list``, ``verify``) are registered the same way, by a built-in plugin.
    """
