"""Registry-driven convergence checks: every registered stepper (third-party plugins included) must reach
its declared ODE and strong orders, within 0.25, against closed forms, torchdiffeq and torchsde."""

from __future__ import annotations

import pytest
import torch

from sdesolve import registry
from sdesolve.conformance import PROBLEMS, SuiteConfig, fit_order, measure_order
from sdesolve.conformance.suite import _References

STEPPERS = sorted(registry().steppers)
_REFS: dict[tuple[str, str], _References] = {}


def _refs(config: SuiteConfig) -> _References:
    key = (config.device, str(config.dtype))
    if key not in _REFS:
        _REFS[key] = _References(config)
    return _REFS[key]


def _check(stepper: str, problem: str, kind: str, device: str) -> None:
    cls = registry().get("stepper", stepper)
    if kind == "strong" and not cls.supports_noise:
        pytest.skip(f"{stepper} supports ODEs only")
    config = SuiteConfig(quick=True, device=device)
    result = measure_order(cls, PROBLEMS[problem], kind, config, _refs(config))
    assert result.nfe_ok, f"{stepper}: counted NFE differs from nfe_per_step={cls.nfe_per_step} x steps"
    assert result.passed, (
        f"{stepper} on {problem}: measured {kind} order {result.measured:.3f} < declared {result.declared} - 0.25 "
        f"(errors {result.errors} at n={result.steps}, reference: {result.reference})"
    )


@pytest.mark.parametrize("kind", ["ode", "strong"])
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("stepper", STEPPERS)
def test_declared_order_is_reached_cpu(stepper: str, problem: str, kind: str) -> None:
    _check(stepper, problem, kind, "cpu")


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["ode", "strong"])
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("stepper", STEPPERS)
def test_declared_order_is_reached_cuda(stepper: str, problem: str, kind: str) -> None:
    _check(stepper, problem, kind, "cuda")


def test_fit_order_recovers_a_known_slope() -> None:
    steps = [8, 16, 32, 64]
    assert fit_order(steps, [3.0 / n**1.5 for n in steps]) == pytest.approx(1.5)
    assert fit_order(steps, [1.0, 0.5, 0.0, 0.1]) != fit_order(steps, [1.0, 0.5, 0.25, 0.125])


def test_a_stepper_below_its_declared_order_fails() -> None:
    """The suite can fail: Euler–Maruyama claiming order 2 is caught."""
    from sdesolve.steppers.euler_maruyama import EulerMaruyama

    class Overclaiming(EulerMaruyama):
        name = "overclaiming"
        ode_order = 2.0

    config = SuiteConfig(quick=True)
    result = measure_order(Overclaiming, PROBLEMS["nonlinear_tv"], "ode", config, _refs(config))
    assert result.measured == pytest.approx(1.0, abs=0.1)
    assert not result.passed


def test_nfe_mismatch_fails() -> None:
    from sdesolve.steppers.heun import Heun

    class Miscounted(Heun):
        name = "miscounted"
        nfe_per_step = 1

    config = SuiteConfig(quick=True)
    result = measure_order(Miscounted, PROBLEMS["nonlinear_tv"], "ode", config, _refs(config))
    assert not result.nfe_ok and not result.passed


def test_reference_dtype_is_float64_by_default() -> None:
    assert SuiteConfig().dtype == torch.float64
