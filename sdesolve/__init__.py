"""sdesolve: solvers for the semilinear SDEs/ODEs behind diffusion models.

``dX = (a(t) X + N(t, X)) dt + g(t) dW`` — exponential-integrator, randomized-midpoint, second-order and
Euler–Maruyama steppers, registered through pluggy plugins.
"""

from __future__ import annotations

__version__ = "0.1.0"

from sdesolve import threads as _threads

if _threads.is_command_line():  # before torch is imported: OpenMP reads its wait policy once (sdesolve.threads)
    _threads.passive_wait_by_default()

from sdesolve.adaptive import AdaptiveResult, PIController, StepSizeError, solve_adaptive
from sdesolve.factors import ClosedForm, ConstantFactor, IntegratingFactor
from sdesolve.finite import NonFiniteError
from sdesolve.hookspecs import hookimpl, hookspec
from sdesolve.plugins import get_stepper, plugin_records, register_plugin, registry, unregister_plugin
from sdesolve.problem import SemilinearSDE
from sdesolve.sampling import sample
from sdesolve.solve import SolveResult, integrate, make_stepper, solve
from sdesolve.steppers.base import SolveContext, Stepper

__all__ = [
    "AdaptiveResult",
    "ClosedForm",
    "ConstantFactor",
    "IntegratingFactor",
    "NonFiniteError",
    "PIController",
    "SemilinearSDE",
    "SolveContext",
    "SolveResult",
    "StepSizeError",
    "Stepper",
    "__version__",
    "get_stepper",
    "hookimpl",
    "hookspec",
    "integrate",
    "make_stepper",
    "plugin_records",
    "register_plugin",
    "registry",
    "sample",
    "solve",
    "solve_adaptive",
    "steppers",
    "unregister_plugin",
]


def steppers() -> dict[str, type[Stepper]]:
    """All registered steppers by name."""
    return registry().steppers
