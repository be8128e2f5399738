"""``solve``/``integrate`` with ``rtol``/``atol`` or ``controller``: dispatch to the adaptive drivers, forced stops
from the grid, the result's counts, refusals; the fixed grid unchanged; registry-declared embedded pairs."""

from __future__ import annotations

import pytest
import torch

from sdesolve import AdaptiveResult, PIController, SolveResult, hookimpl, integrate, plugins, solve
from sdesolve.adaptive import HEUN_EULER, RungeKuttaPair, StepSizeError, adaptive_methods, adaptive_pair, solve_adaptive
from sdesolve.conformance.problems import PROBLEMS
from sdesolve.steppers.euler_maruyama import EulerMaruyama


def _ode(name: str = "nonlinear_tv", batch: int = 8):
    p = PROBLEMS[name]
    return p.make(False), p.initial(batch, torch.float64, "cpu", 0)


def test_fixed_grid_calls_are_unchanged():
    sde, x0 = _ode()
    ts = PROBLEMS["nonlinear_tv"].grid(16)
    default = integrate(sde, x0, ts)
    assert isinstance(default, SolveResult) and default.stepper.name == "exponential_euler"
    explicit = solve(sde, x0, ts, "exponential_euler", subdivisions=32)
    assert torch.equal(default.x, explicit)  # bit for bit: the old defaults (method, subdivisions)
    noisy = PROBLEMS["nonlinear_tv"].make(True)
    a = solve(noisy, x0, ts, "heun", generator=torch.Generator().manual_seed(3), trajectory=True)
    b = solve(noisy, x0, ts, "heun", generator=torch.Generator().manual_seed(3), trajectory=True)
    assert a.shape == (17, *x0.shape) and torch.equal(a, b)


def test_tolerance_dispatches_to_the_adaptive_driver():
    sde, x0 = _ode()
    direct = solve_adaptive(sde, x0, (0.0, 1.5), "bosh3", rtol=1e-6, atol=1e-6)
    via = integrate(sde, x0, (0.0, 1.5), "bosh3", rtol=1e-6, atol=1e-6)
    assert isinstance(via, AdaptiveResult)
    assert torch.equal(via.x, direct.x) and via.nfe == direct.nfe
    assert (via.n_accepted, via.n_rejected) == (direct.n_accepted, direct.n_rejected) and via.n_accepted > 0
    assert torch.equal(solve(sde, x0, [0.0, 1.5], rtol=1e-6, atol=1e-6), direct.x)  # ODE default: bosh3
    ctl = PIController(rtol=1e-6, atol=1e-6, pcoeff=0.3, icoeff=0.4)
    assert torch.equal(
        solve(sde, x0, (0.0, 1.5), "bosh3", controller=ctl),
        solve_adaptive(sde, x0, (0.0, 1.5), "bosh3", controller=ctl).x,
    )


def test_a_grid_of_more_times_is_forced_stops_with_the_states_recorded():
    p = PROBLEMS["linear_closed_form"]
    sde, x0 = p.make(False), p.initial(4, torch.float64, "cpu", 0)
    ts = torch.tensor([0.0, 0.3, 0.9, 2.0], dtype=torch.float64)
    r = integrate(sde, x0, ts, "heun", rtol=1e-7, atol=1e-7)
    for v in ts.tolist():
        assert v in r.ts.tolist()  # stepped to exactly
    traj = solve(sde, x0, ts, "heun", rtol=1e-7, atol=1e-7, trajectory=True)
    assert traj.shape == (4, *x0.shape) and torch.equal(traj, r.x_eval) and torch.equal(traj[0], x0)
    for v, xv in zip(ts.tolist(), traj, strict=True):
        assert float((xv - p.exact(x0, 0.0, v)).abs().max()) < 2e-6
    final = solve(sde, x0, ts, "heun", rtol=1e-7, atol=1e-7)
    assert torch.equal(final, traj[-1])  # without trajectory: the state at ts[-1], as on a fixed grid
    two = solve(sde, x0, (0.0, 2.0), "heun", rtol=1e-7, atol=1e-7, trajectory=True)
    assert two.shape == (2, *x0.shape)


def test_driver_options_pass_through():
    sde, x0 = _ode()
    r = integrate(sde, x0, (0.0, 1.5), "heun", rtol=1e-5, atol=1e-5, dt0=1.0, max_steps=500)
    assert r.n_rejected >= 1 and r.nfe == 2 * r.n_accepted + r.n_rejected  # dt0 given: no initial selection
    with pytest.raises(StepSizeError, match="max_steps=3"):
        integrate(sde, x0, (0.0, 1.5), "heun", rtol=1e-5, atol=1e-5, max_steps=3)


def test_stepper_options_reach_the_pair():
    sde, x0 = _ode()
    half = integrate(sde, x0, (0.0, 1.5), "exponential_rk2", r=0.5, rtol=1e-5, atol=1e-5)
    one = integrate(sde, x0, (0.0, 1.5), "exponential_rk2", rtol=1e-5, atol=1e-5)
    assert not torch.equal(half.x, one.x)
    fixed = solve(sde, x0, half.ts, "exponential_rk2", r=0.5)
    assert torch.allclose(half.x, fixed, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "euler_maruyama", "rtol": 1e-3, "atol": 1e-3}, "'euler_maruyama' has no embedded error estimate"),
        ({"method": "randomized_midpoint", "rtol": 1e-3, "atol": 1e-3}, "methods with one: bosh3"),
        ({"method": "heun", "rtol": 1e-3, "atol": 1e-3, "callback": print}, "callback is a fixed-grid option"),
        ({"method": "heun", "rtol": 1e-3, "atol": 1e-3, "check_finite": False}, "check_finite is a fixed-grid"),
        ({"method": "heun", "rtol": 1e-3}, "needs rtol and atol"),
        ({"method": "heun", "rtol": 1e-3, "atol": 1e-3, "controller": PIController(1e-3, 1e-3)}, "not both"),
    ],
)
def test_refusals_name_the_argument(kwargs, match):
    sde, x0 = _ode()
    with pytest.raises(ValueError, match=match):
        solve(sde, x0, (0.0, 1.0), **kwargs)


def test_refused_options_and_types():
    sde, x0 = _ode()
    with pytest.raises(TypeError, match=r"'heun'.*unexpected keyword argument 'distribution'"):
        solve(sde, x0, (0.0, 1.0), "heun", rtol=1e-3, atol=1e-3, distribution="uniform")
    with pytest.raises(TypeError, match="EmbeddedPair is an adaptive method"):
        solve(sde, x0, (0.0, 1.0), RungeKuttaPair("heun", HEUN_EULER))
    with pytest.raises(ValueError, match="bm was given but the problem is an ODE"):
        solve(sde, x0, (0.0, 1.0), "heun", rtol=1e-3, atol=1e-3, bm=lambda a, b: torch.zeros_like(x0))
    with pytest.raises(ValueError, match="strictly monotone"):
        solve(sde, x0, (0.0, 1.0, 0.5), "heun", rtol=1e-3, atol=1e-3)
    with pytest.raises(TypeError, match="per_sample must be True, False or None"):
        PIController(1e-3, 1e-3, per_sample="yes")


def test_a_third_party_stepper_declaring_an_embedded_pair_is_adaptive_by_name(fresh_plugins):
    class EulerWithHeun(EulerMaruyama):
        name = "euler_with_heun"
        embedded_pair = staticmethod(lambda: RungeKuttaPair("euler_with_heun", HEUN_EULER, noise=True))

    class Plugin:
        @hookimpl
        def sdesolve_register_steppers(self, register):
            register(EulerWithHeun)

    plugins.register_plugin(Plugin(), name="embedded_plugin")
    assert "euler_with_heun" in adaptive_methods() and "euler_maruyama" not in adaptive_methods()
    sde, x0 = _ode()
    r = integrate(sde, x0, (0.0, 1.5), "euler_with_heun", rtol=1e-5, atol=1e-5)
    assert r.method == "euler_with_heun"
    assert torch.equal(r.x, solve_adaptive(sde, x0, (0.0, 1.5), "heun", rtol=1e-5, atol=1e-5).x)
    assert adaptive_pair(EulerWithHeun).name == "euler_with_heun"


def test_builtin_steppers_declare_their_embedded_pairs():
    """``heun`` and ``exponential_rk2`` declare ``embedded_pair`` as a class attribute (no mapping by name), so the
    stepper class and an instance find the same pair; a stepper without one declares ``None``."""
    from sdesolve.adaptive import ExponentialRK2Pair, HeunEulerPair, declared_pair
    from sdesolve.steppers.exponential_rk2 import ExponentialRK2
    from sdesolve.steppers.heun import Heun

    assert Heun.embedded_pair is HeunEulerPair and declared_pair(Heun()) is HeunEulerPair
    assert ExponentialRK2.embedded_pair is ExponentialRK2Pair
    assert EulerMaruyama.embedded_pair is None and declared_pair(EulerMaruyama) is None
    assert isinstance(adaptive_pair(Heun), HeunEulerPair)
    assert adaptive_pair("exponential_rk2", r=0.5).r == 0.5
