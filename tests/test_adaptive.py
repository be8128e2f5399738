"""Adaptive ODE solves (sdesolve.adaptive): tolerance proportionality, agreement with torchdiffeq dopri5, step
rejection and its counting, forced stops, the pairs against the fixed-grid steppers, refusals."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from sdesolve import SemilinearSDE, solve
from sdesolve.adaptive import (
    BOSH3,
    HEUN_EULER,
    EmbeddedTableau,
    ExponentialRK2Pair,
    PIController,
    StepSizeError,
    _Context,
    get_pair,
    solve_adaptive,
)
from sdesolve.coefficients import build_tables
from sdesolve.conformance.problems import PROBLEMS
from sdesolve.tableau import ButcherTableau

torchdiffeq = pytest.importorskip("torchdiffeq")

PAIRS = ("exponential_rk2", "heun", "bosh3")


def _setup(name: str, batch: int = 8):
    p = PROBLEMS[name]
    sde = p.make(False)
    grid = p.grid(1)
    t0, t1 = float(grid[0]), float(grid[-1])
    x0 = p.initial(batch, torch.float64, "cpu", 0)
    return p, sde, t0, t1, x0


def _dopri5(sde: SemilinearSDE, x0, t0: float, t1: float, tol: float = 1e-10):
    def f(t, x):
        return sde.drift(t.expand(x.shape[0]), x)

    ts = torch.tensor([t0, t1], dtype=torch.float64)
    return torchdiffeq.odeint(f, x0, ts, rtol=tol, atol=tol, method="dopri5")[-1]


# --- accuracy -------------------------------------------------------------------------------------------------
# Measured (batch 8, seed 0, error = max |x - dopri5(rtol=atol=1e-10)| over the batch, tol = rtol = atol):
# err/tol at tol 1e-3, 1e-4, 1e-5, 1e-6
#   linear_closed_form: exponential_rk2 0.19 0.26 0.28 0.30; heun 0.49 0.54 0.59 0.63; bosh3 14.3 5.0 4.5 4.7
#   linear_backward:    exponential_rk2 3.2 9.7 10.4 12.2;   heun 6.7 8.4 11.6 14.1;   bosh3 7.8 8.8 11.9 14.2
# (the backward problem grows |x| about 4x, so its absolute error is larger): spread (max/min of err/tol) <= 3.8.
SPREAD = 4.5
MULTIPLE = 20.0


@pytest.mark.parametrize("method", PAIRS)
@pytest.mark.parametrize("name", ["linear_closed_form", "linear_backward"])
def test_tolerance_proportionality(name, method):
    p, sde, t0, t1, x0 = _setup(name)
    ref = _dopri5(sde, x0, t0, t1)
    exact = p.exact(x0, t0, t1)
    assert float((ref - exact).abs().max()) < 1e-8  # the reference is right to far below the tolerances used
    ratios = []
    for tol in (1e-3, 1e-4, 1e-5, 1e-6):
        r = solve_adaptive(sde, x0, (t0, t1), method, rtol=tol, atol=tol)
        ratios.append(float((r.x - ref).abs().max()) / tol)
    assert max(ratios) <= MULTIPLE, ratios  # the error is a small multiple of the tolerance
    assert max(ratios) / min(ratios) <= SPREAD, ratios  # ... and falls in proportion to it over three decades


@pytest.mark.parametrize("method", PAIRS)
def test_agrees_with_dopri5_at_tight_tolerance(method):
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    ref = _dopri5(sde, x0, t0, t1)
    tol = {"bosh3": 1e-9, "heun": 1e-6, "exponential_rk2": 1e-6}[method]
    r = solve_adaptive(sde, x0, (t0, t1), method, rtol=tol, atol=tol)
    err = float((r.x - ref).abs().max())
    assert err <= 2 * tol, err  # measured: 0.4-0.5 tol


def test_reverse_time_mixture_probability_flow():
    _, sde, t0, t1, x0 = _setup("ou_mixture_reverse")
    ref = _dopri5(sde, x0, t0, t1)
    r = solve_adaptive(sde, x0, (t0, t1), "bosh3", rtol=1e-7, atol=1e-7)
    assert t1 < t0 and float(r.ts[-1]) == t1
    assert float((r.x - ref).abs().max()) <= 5e-7  # measured 1.9e-7


# --- the pairs are the fixed-grid steppers on the accepted grid -----------------------------------------------
@pytest.mark.parametrize("name", ["nonlinear_tv", "linear_backward"])
@pytest.mark.parametrize(
    ("method", "stepper", "options"), [("exponential_rk2", "exponential_rk2", {"r": 1.0}), ("heun", "heun", {})]
)
def test_pair_is_the_fixed_grid_stepper(name, method, stepper, options):
    _, sde, t0, t1, x0 = _setup(name)
    r = solve_adaptive(sde, x0, (t0, t1), method, rtol=1e-4, atol=1e-4)
    fixed = solve(sde, x0, r.ts, stepper, **options)
    assert torch.allclose(r.x, fixed, rtol=1e-12, atol=1e-12), float((r.x - fixed).abs().max())


def test_exponential_pair_midpoint_is_the_fixed_grid_stepper():
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    r = solve_adaptive(sde, x0, (t0, t1), ExponentialRK2Pair(r=0.5), rtol=1e-4, atol=1e-4)
    fixed = solve(sde, x0, r.ts, "exponential_rk2", r=0.5)
    assert torch.allclose(r.x, fixed, rtol=1e-11, atol=1e-11), float((r.x - fixed).abs().max())


@pytest.mark.parametrize("r", [1.0, 0.5])
@pytest.mark.parametrize("h", [0.7, -0.3, 1e-4, -2e-9])
def test_constant_factor_closed_forms_match_the_tables(r, h):
    sde = SemilinearSDE(a=-1.3, b=0.7, nonlinear=lambda t, x: x)
    pair = ExponentialRK2Pair(r=r)
    ctx = _Context(sde, torch.zeros(1, 1, dtype=torch.float64), subdivisions=32)
    closed = pair.weights(ctx, 0.4, h)
    quad_sde = SemilinearSDE(a=lambda t: -1.3 + 0 * t, b=0.7, nonlinear=lambda t, x: x)  # no closed form
    quad = pair.weights(_Context(quad_sde, torch.zeros(1, 1, dtype=torch.float64), 32), 0.4, h)
    # the quadrature's nodes t + h x carry a relative round-off of about eps |t| / |h| in (v - t)
    rel = 1e-13 + 10 * np.finfo(float).eps * 0.4 / abs(h)
    for c, q in zip(closed, quad, strict=True):
        assert c == pytest.approx(q, rel=rel, abs=1e-300)
    z = -1.3 * h  # and against the Taylor series of the closed forms (exact to round-off for |z| < 1e-3)
    if abs(z) < 1e-3:
        assert closed[1] == pytest.approx(0.7 * h * (1 + z / 2 + z * z / 6 + z**3 / 24), rel=1e-15)
        assert closed[2] == pytest.approx(0.7 * h * h * (0.5 + z / 6 + z * z / 24 + z**3 / 120), rel=1e-15)
    tab = build_tables(sde, torch.tensor([0.4], dtype=torch.float64), torch.tensor([0.4 + h], dtype=torch.float64), 32)
    assert closed[2] == pytest.approx(float(torch.exp(tab.L[0, -1]) * tab.K[0, -1]), rel=1e-13)


@pytest.mark.parametrize("name", ["linear_closed_form", "nonlinear_tv", "ou_mixture_reverse"])
@pytest.mark.parametrize("h", [0.5, 0.05, -0.5, -0.05])
def test_two_cells_suffice_on_one_step(name, h):
    # the adaptive exponential pair tabulates each step with subdivisions=2; the fixed grid uses 32
    sde = PROBLEMS[name].make(False)
    t0 = torch.tensor([0.7], dtype=torch.float64)
    few, many = build_tables(sde, t0, t0 + h, 2), build_tables(sde, t0, t0 + h, 32)
    for field in ("L", "P", "K"):
        assert abs(float(getattr(few, field)[0, -1] - getattr(many, field)[0, -1])) <= 4e-16


# --- controller behaviour ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", PAIRS)
def test_rejections_happen_and_are_counted(method):
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    r = solve_adaptive(sde, x0, (t0, t1), method, rtol=1e-5, atol=1e-5, dt0=1.0)  # far too large a first step
    assert r.n_rejected >= 1
    assert r.n_accepted == len(r.ts) - 1
    # N(t, x) is kept across a rejection; first-same-as-last pairs reuse the last stage after an acceptance
    expected = {
        "exponential_rk2": 2 * r.n_accepted + r.n_rejected,
        "heun": 2 * r.n_accepted + r.n_rejected,
        "bosh3": 1 + 3 * (r.n_accepted + r.n_rejected),
    }[method]
    assert r.nfe == expected


def test_counts_without_dt0_include_the_initial_selection():
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    r = solve_adaptive(sde, x0, (t0, t1), "bosh3", rtol=1e-6, atol=1e-6)
    assert r.nfe == 2 + 3 * (r.n_accepted + r.n_rejected)  # N(t0, x0) is reused as the first stage


@pytest.mark.parametrize("direction", [1, -1])
def test_forced_stops_and_t_eval_are_hit_exactly(direction):
    p, sde, t0, t1, x0 = _setup("linear_closed_form")
    if direction < 0:
        t0, t1 = 1.7, 0.1
    stops = [0.3, 1.1, 0.7, 5.0, -3.0]  # unsorted; those outside (t0, t1) are ignored
    ctl = PIController(rtol=1e-6, atol=1e-6, step_ts=stops)
    t_eval = [0.25, 0.5, 1.0, 1.5] if direction > 0 else [1.5, 1.0, 0.5, 0.25]
    r = solve_adaptive(sde, x0, (t0, t1), "bosh3", controller=ctl, t_eval=t_eval)
    ts = r.ts.tolist()
    for v in (0.3, 0.7, 1.1, *t_eval, t0, t1):
        assert v in ts
    assert ts[0] == t0 and ts[-1] == t1
    assert all(direction * (b - a) > 0 for a, b in itertools.pairwise(ts))
    assert r.x_eval.shape == (4, *x0.shape)
    for v, xv in zip(t_eval, r.x_eval, strict=True):
        exact = p.exact(x0, t0, v)
        assert bool(((xv - exact).abs() <= MULTIPLE * 1e-6 * (1 + exact.abs())).all())


def test_dt_max_and_dt_min():
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    r = solve_adaptive(sde, x0, (t0, t1), "bosh3", controller=PIController(rtol=1e-3, atol=1e-3, dt_max=0.05))
    assert float(np.diff(r.ts.numpy()).max()) <= 0.05 + 1e-15
    with pytest.raises(StepSizeError, match="dt_min"):
        solve_adaptive(sde, x0, (t0, t1), "heun", controller=PIController(rtol=1e-9, atol=1e-9, dt_min=0.1))


def test_pi_coefficients_run():
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    ref = _dopri5(sde, x0, t0, t1)
    ctl = PIController(rtol=1e-7, atol=1e-7, pcoeff=0.3, icoeff=0.4)
    r = solve_adaptive(sde, x0, (t0, t1), "bosh3", controller=ctl)
    assert float((r.x - ref).abs().max()) <= 2e-7


def test_float32_state():
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    ref = _dopri5(sde, x0, t0, t1)
    r = solve_adaptive(sde, x0.float(), (t0, t1), "bosh3", rtol=1e-5, atol=1e-5)
    assert r.x.dtype == torch.float32
    assert float((r.x.double() - ref).abs().max()) <= 2e-5


# --- data ---------------------------------------------------------------------------------------------------
def test_tableaus():
    assert BOSH3.fsal and not HEUN_EULER.fsal
    assert get_pair("bosh3").nfe_per_step == 3 and get_pair("heun").nfe_per_step == 2
    # order conditions of the embedded weights: Σ b̂ = 1, Σ b̂ c = 1/2 (order 2) for Bogacki–Shampine's b̂
    c = np.array(BOSH3.tableau.c)
    assert float(np.dot(BOSH3.b_low, c)) == pytest.approx(0.5)
    assert float(np.dot(BOSH3.tableau.b, c**2)) == pytest.approx(1 / 3)
    tab = ButcherTableau(c=(0.0, 1.0), A=((), (1.0,)), b=(0.5, 0.5))
    with pytest.raises(ValueError, match="b_low must sum to 1"):
        EmbeddedTableau(tab, b_low=(0.5, 0.4), order=2, embedded_order=1)
    with pytest.raises(ValueError, match="one per stage"):
        EmbeddedTableau(tab, b_low=(1.0,), order=2, embedded_order=1)


# --- refusals -----------------------------------------------------------------------------------------------
def test_refuses_pairs_without_an_sde_form():
    sde = PROBLEMS["nonlinear_tv"].make(True)
    with pytest.raises(ValueError, match="'bosh3' does not support noise"):
        solve_adaptive(sde, torch.zeros(2, 2, dtype=torch.float64), (0.0, 1.0), "bosh3", rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match=r"'exponential_rk2' with option r=0.5 has no per-sample form"):
        solve_adaptive(
            sde, torch.zeros(2, 2, dtype=torch.float64), (0.0, 1.0), ExponentialRK2Pair(r=0.5), rtol=1e-3, atol=1e-3
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rtol": 0.0, "atol": 1e-3}, "rtol must be > 0"),
        ({"rtol": -1e-3, "atol": 1e-3}, "rtol must be > 0"),
        ({"rtol": 1e-3, "atol": math.nan}, "atol must be > 0"),
        ({"rtol": math.inf, "atol": 1e-3}, "rtol must be > 0"),
        ({"rtol": 1e-3}, "needs rtol and atol"),
        ({"rtol": 1e-3, "atol": 1e-3, "controller": PIController(1e-3, 1e-3)}, "not both"),
        ({"rtol": 1e-3, "atol": 1e-3, "max_steps": 0}, "max_steps"),
        ({"rtol": 1e-3, "atol": 1e-3, "dt0": 0.0}, "dt0 must be > 0"),
        ({"rtol": 1e-3, "atol": 1e-3, "t_eval": [0.5, 0.2]}, "monotone"),
        ({"rtol": 1e-3, "atol": 1e-3, "t_eval": [0.5, 2.0]}, "within"),
    ],
)
def test_input_checks(kwargs, match):
    sde = PROBLEMS["nonlinear_tv"].make(False)
    with pytest.raises(ValueError, match=match):
        solve_adaptive(sde, torch.zeros(2, 2, dtype=torch.float64), (0.0, 1.0), **kwargs)


def test_refuses_bad_times_state_and_method():
    sde = PROBLEMS["nonlinear_tv"].make(False)
    x0 = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="must differ"):
        solve_adaptive(sde, x0, (0.5, 0.5), rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="finite"):
        solve_adaptive(sde, x0, (0.0, math.inf), rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="x0 must be finite"):
        solve_adaptive(sde, torch.full((2, 2), math.nan, dtype=torch.float64), (0.0, 1.0), rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="no adaptive method 'dopri5'"):
        solve_adaptive(sde, x0, (0.0, 1.0), "dopri5", rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="factor_min < 1 < factor_max"):
        PIController(1e-3, 1e-3, factor_max=0.5)
    with pytest.raises(ValueError, match="safety"):
        PIController(1e-3, 1e-3, safety=1.5)
    with pytest.raises(ValueError, match="step_ts must be finite"):
        PIController(1e-3, 1e-3, step_ts=[0.1, math.nan])


def test_step_below_round_off_is_refused():
    _, sde, _, _, x0 = _setup("nonlinear_tv")
    with pytest.raises(StepSizeError, match="round-off"):
        solve_adaptive(sde, x0, (1.0, 2.0), "exponential_rk2", rtol=1e-3, atol=1e-3, dt0=1e-300)


def test_max_steps_reached_says_so():
    _, sde, t0, t1, x0 = _setup("nonlinear_tv")
    with pytest.raises(StepSizeError, match="max_steps=5"):
        solve_adaptive(sde, x0, (t0, t1), "heun", rtol=1e-8, atol=1e-8, max_steps=5)


def test_blow_up_is_refused_not_returned():
    # dx/dt = x² from x(0) = 1 blows up at t = 1: the solve must not return a number past it
    sde = SemilinearSDE(a=0.0, nonlinear=lambda t, x: x * x)
    x0 = torch.ones(2, 1, dtype=torch.float64)
    with pytest.raises(StepSizeError):
        solve_adaptive(sde, x0, (0.0, 2.0), "bosh3", rtol=1e-6, atol=1e-6, max_steps=20_000)


def test_non_finite_candidate_is_rejected_and_retried():
    # dx/dt = -5x, but N is infinite below x = -2: the too-large first Euler predictor (x = 1 - 5 h < -2) yields a
    # non-finite candidate, which is rejected (NaN error) and retried with a smaller step
    def nonlinear(t, x):
        return torch.where(x < -2.0, torch.full_like(x, math.inf), -5.0 * x)

    sde = SemilinearSDE(a=0.0, nonlinear=nonlinear)
    x0 = torch.ones(1, 1, dtype=torch.float64)
    r = solve_adaptive(sde, x0, (0.0, 2.0), "heun", rtol=1e-6, atol=1e-6, dt0=2.0)
    assert r.n_rejected >= 1 and bool(torch.isfinite(r.x).all())
    assert float(r.x) == pytest.approx(math.exp(-10.0), abs=1e-5)
