"""The conformance suite: measured versus declared convergence orders for every registered stepper."""

from sdesolve.conformance.problems import PROBLEMS, WEAK_PROBLEMS, Problem, WeakProblem
from sdesolve.conformance.suite import (
    KINDS,
    OrderResult,
    SuiteConfig,
    fit_order,
    measure_order,
    run_conformance,
    weak_fit,
)

__all__ = [
    "KINDS",
    "PROBLEMS",
    "WEAK_PROBLEMS",
    "OrderResult",
    "Problem",
    "SuiteConfig",
    "WeakProblem",
    "fit_order",
    "measure_order",
    "run_conformance",
    "weak_fit",
]
