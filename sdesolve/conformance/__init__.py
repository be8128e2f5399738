"""The conformance suite: measured versus declared convergence orders for every registered stepper."""

from sdesolve.conformance.problems import PROBLEMS, Problem
from sdesolve.conformance.suite import OrderResult, SuiteConfig, fit_order, measure_order, run_conformance

__all__ = ["PROBLEMS", "OrderResult", "Problem", "SuiteConfig", "fit_order", "measure_order", "run_conformance"]
