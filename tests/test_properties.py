"""Property-based tests: for any shapes, dtypes, grids and options, solve and sample either return finite output of
the right shape or raise an error that names the argument and the expectation."""

from __future__ import annotations

import math

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdesolve
from tests.helpers import tv_sde

STEPPERS = sorted(sdesolve.steppers())
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

shapes = st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple)
dtypes = st.sampled_from([torch.float32, torch.float64])


@st.composite
def monotone_grids(draw):
    n = draw(st.integers(1, 6))
    steps = draw(st.lists(st.floats(0.01, 0.5), min_size=n, max_size=n))
    start = draw(st.floats(-1.0, 1.0))
    ts = [start]
    for h in steps:
        ts.append(ts[-1] + h)
    return ts[::-1] if draw(st.booleans()) else ts


@SETTINGS
@given(
    shape=shapes,
    dtype=dtypes,
    grid=monotone_grids(),
    method=st.sampled_from(STEPPERS),
    noise=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_solve_returns_finite_states_of_the_right_shape(shape, dtype, grid, method, noise, seed) -> None:
    x0 = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    out = sdesolve.solve(tv_sde(noise), x0, grid, method, generator=torch.Generator().manual_seed(seed))
    assert out.shape == x0.shape and out.dtype == dtype and torch.isfinite(out).all()


@SETTINGS
@given(grid=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=6))
def test_any_grid_is_solved_or_refused_with_a_message_about_ts(grid) -> None:
    x0 = torch.zeros(2, 2, dtype=torch.float64)
    try:
        out = sdesolve.solve(tv_sde(), x0, grid, "euler_maruyama")
    except ValueError as exc:
        assert "ts" in str(exc)
        return
    except sdesolve.NonFiniteError:
        return  # a huge but valid grid can overflow the state; that is reported, not silent
    assert len(grid) >= 2 and all(math.isfinite(t) for t in grid)
    assert out.shape == x0.shape


@SETTINGS
@given(
    options=st.dictionaries(
        st.sampled_from(["distribution", "r", "order", "eta"]),
        st.one_of(st.floats(-2, 2), st.text(max_size=8), st.none()),
        max_size=2,
    ),
    method=st.sampled_from(STEPPERS),
)
def test_any_stepper_options_work_or_are_refused_by_name(options, method) -> None:
    x0 = torch.zeros(2, 2, dtype=torch.float64)
    try:
        out = sdesolve.solve(tv_sde(), x0, [0.0, 0.5, 1.0], method, **options)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        assert any(name in message for name in options) or "option" in message, message
        return
    assert torch.isfinite(out).all()
