"""The ``sa_solver`` stepper: the orders of its options, exactness where the method is exact, the identities with
``unipc``, per-solve history, refusals."""

from __future__ import annotations

import pytest
import torch

from sdesolve import SemilinearSDE, integrate, solve
from sdesolve.coefficients import GridCoefficients
from sdesolve.conformance import fit_order
from sdesolve.reference import odeint_reference
from sdesolve.steppers.sa_solver import SASolver
from sdesolve.steppers.unipc import UniPC
from tests.helpers import constant_drift_sde, linear_mean, tv_sde

F64 = torch.float64


def _graded(n: int, t0: float = 0.0, t1: float = 1.5) -> torch.Tensor:
    """A non-uniform grid (steps shrinking quadratically towards t1)."""
    u = torch.linspace(0, 1, n + 1, dtype=F64)
    return t0 + (t1 - t0) * (1 - (1 - u) ** 2)


def test_lower_order_start_and_lower_order_final() -> None:
    coef = GridCoefficients(tv_sde(noise=False), _graded(6), device=torch.device("cpu"), dtype=F64)
    plan = SASolver(predictor_order=3, corrector_order=4).plan(coef)
    assert plan.predictor_order.tolist() == [1, 2, 3, 3, 3, 3]
    assert plan.corrector_order.tolist() == [2, 3, 4, 4, 4, 4]
    plan = SASolver(predictor_order=3, corrector_order=3, lower_order_final=True).plan(coef)
    assert plan.predictor_order.tolist() == [1, 2, 3, 3, 2, 1]
    assert plan.corrector_order.tolist() == [2, 3, 3, 3, 3, 2]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"predictor_order": 1, "corrector_order": 0},
        {"predictor_order": 4, "corrector_order": 4},
        {"variant": "bh1"},
    ],
)
def test_exact_for_a_constant_nonlinearity(options) -> None:
    """``N ≡ c``: every weight set sums to ``phi1`` and the step is the exact exponential integral."""
    a, c = -0.7, 0.9
    x0 = torch.linspace(-1, 1, 8, dtype=F64)[:, None]
    x = solve(constant_drift_sde(a, c, None), x0, _graded(9), SASolver(**options))
    exact = torch.tensor([[linear_mean(a, c, float(v), 1.5)] for v in x0], dtype=F64)
    assert float((x - exact).abs().max()) < 1e-13


@pytest.mark.parametrize("orders", [(2, 2), (2, 3), (3, 4), (4, 4)])
def test_exact_for_a_linear_forcing_with_the_corrector(orders: tuple[int, int]) -> None:
    """``a = 0, N = c₀ + c₁ t``: every corrector (two points or more, the start's included) and the last step's
    predictor (``p ≥ 2``) integrate the line exactly; without the corrector the first-order start is not exact."""
    sde = SemilinearSDE(a=0.0, nonlinear=lambda t, x: (0.4 - 1.1 * t).to(x.dtype) + 0 * x)
    x0 = torch.zeros(4, 1, dtype=F64)
    exact = 0.4 * 1.5 - 1.1 * 1.5**2 / 2
    p, c = orders
    x = solve(sde, x0, _graded(7), SASolver(predictor_order=p, corrector_order=c))
    assert float((x - exact).abs().max()) < 1e-13
    x = solve(sde, x0, _graded(7), SASolver(predictor_order=p, corrector_order=0))
    assert float((x - exact).abs().max()) > 1e-4


@pytest.mark.parametrize(
    "options,expected",
    [
        ({"predictor_order": 1, "corrector_order": 0}, 1.0),
        ({"predictor_order": 2, "corrector_order": 0}, 2.0),
        ({"predictor_order": 3, "corrector_order": 0}, 2.0),  # the first-order start limits it
        ({"predictor_order": 1, "corrector_order": 1}, 1.0),
        ({"predictor_order": 1, "corrector_order": 2}, 2.0),
        ({"predictor_order": 2, "corrector_order": 2}, 2.0),
        ({}, 3.0),
        ({"variant": "bh1"}, 3.0),
        ({"predictor_order": 3, "corrector_order": 3}, 3.0),
        ({"predictor_order": 4, "corrector_order": 4}, 3.0),  # the corrected start limits it
    ],
)
def test_orders_of_the_options_on_a_non_uniform_grid(options, expected) -> None:
    sde = tv_sde(noise=False)
    x0 = torch.linspace(-2, 2, 32, dtype=F64)[:, None]
    ref = odeint_reference(sde, x0, [0.0, 1.5], rtol=1e-12, atol=1e-14)
    steps = [16, 32, 64, 128]
    errors = []
    for n in steps:
        res = integrate(sde, x0, _graded(n), SASolver(**options))
        assert res.nfe == n  # one evaluation per step: the corrector reuses it
        errors.append(float((res.x - ref).pow(2).mean().sqrt()))
    measured = fit_order(steps, errors)
    assert expected - 0.25 <= measured <= expected + 0.5, (options, errors)


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("order", [2, 3])
def test_bh1_is_unipc_bh1_with_one_more_corrector_point(order: int, noise: bool) -> None:
    """UniPC's UniC of order ``p`` is the stochastic Adams corrector with ``p + 1`` points, and both fix the order-2
    weights to ``B(h)/2`` with ``bh1``: the two steppers agree step for step, the noise draws included."""
    sde = tv_sde(noise=noise)
    x0 = torch.linspace(-2, 2, 16, dtype=F64)[:, None]
    ours = solve(
        sde,
        x0,
        _graded(11),
        SASolver(predictor_order=order, corrector_order=order + 1, variant="bh1"),
        generator=torch.Generator().manual_seed(3),
    )
    theirs = solve(sde, x0, _graded(11), UniPC(order=order, variant="bh1"), generator=torch.Generator().manual_seed(3))
    assert float((ours - theirs).abs().max()) < 1e-13


def test_noise_is_the_exact_integral_added_once_per_step() -> None:
    """``N ≡ c``: every step is ``e^L x + phi1 c + η`` with one exact draw per step (predictor and corrector share
    it), so ``sa_solver`` equals ``exponential_ab2`` on the same draws."""
    sde = constant_drift_sde(-0.7, 0.9, 0.5)
    x0 = torch.linspace(-1, 1, 64, dtype=F64)[:, None]
    ours = solve(sde, x0, _graded(9), SASolver(), generator=torch.Generator().manual_seed(4))
    theirs = solve(sde, x0, _graded(9), "exponential_ab2", generator=torch.Generator().manual_seed(4))
    assert float((ours - theirs).abs().max()) < 1e-13
    ode = solve(constant_drift_sde(-0.7, 0.9, None), x0, _graded(9), SASolver())
    assert float((ours - ode).abs().max()) > 1e-2  # the noise is there


def test_history_does_not_leak_between_solves() -> None:
    """One instance, three solves: the history and the plan are per solve (a fresh grid gets its own weights)."""
    stepper = SASolver(predictor_order=3, corrector_order=3)
    sde = tv_sde(noise=False)
    x0 = torch.linspace(-2, 2, 8, dtype=F64)[:, None]
    first = solve(sde, x0, _graded(9), stepper)
    other = solve(sde, x0, _graded(5, t1=0.8), stepper)
    again = solve(sde, x0, _graded(9), stepper)
    assert torch.equal(first, again)
    fresh = solve(sde, x0, _graded(5, t1=0.8), SASolver(predictor_order=3, corrector_order=3))
    assert torch.equal(other, fresh)


def test_bad_options_are_refused() -> None:
    bad_options = (
        {"predictor_order": 0},
        {"predictor_order": 5},
        {"predictor_order": True},
        {"predictor_order": 2.0},
        {"corrector_order": -1},
        {"corrector_order": 5},
        {"variant": "bh2"},
        {"lower_order_final": 1},
    )
    for bad in bad_options:
        name = next(iter(bad))
        with pytest.raises(ValueError, match=f"sa_solver option {name}"):
            SASolver(**bad)
    assert SASolver.options() == {
        "predictor_order": 2,
        "corrector_order": 3,
        "variant": "exact",
        "lower_order_final": False,
    }
