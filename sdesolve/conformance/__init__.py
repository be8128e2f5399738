"""The conformance suite: measured versus declared convergence orders for every registered stepper, and tolerance
proportionality for those with an embedded error estimate."""

from sdesolve.conformance.problems import (
    PROBLEMS,
    TOLERANCE_PROBLEMS,
    WEAK_PROBLEMS,
    Problem,
    ToleranceProblem,
    WeakProblem,
)
from sdesolve.conformance.suite import (
    KINDS,
    OrderResult,
    SuiteConfig,
    fit_order,
    measure_order,
    run_conformance,
    tolerance_exponent,
    weak_fit,
)

__all__ = [
    "KINDS",
    "PROBLEMS",
    "TOLERANCE_PROBLEMS",
    "WEAK_PROBLEMS",
    "OrderResult",
    "Problem",
    "SuiteConfig",
    "ToleranceProblem",
    "WeakProblem",
    "fit_order",
    "measure_order",
    "run_conformance",
    "tolerance_exponent",
    "weak_fit",
]
