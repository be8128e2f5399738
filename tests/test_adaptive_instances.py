"""Adaptive solves given a configured stepper *instance*: its options reach the embedded pair, or are refused by
name; never silently dropped (regression: ``ExponentialRK2(r=0.5)`` with ``rtol`` used to run the pair's ``r = 1``)."""

from __future__ import annotations

import pytest
import torch

from sdesolve import integrate, solve
from sdesolve.adaptive import BOSH3, HEUN_EULER, HeunEulerPair, RungeKuttaPair, adaptive_pair, instance_pair_options
from sdesolve.conformance.problems import PROBLEMS
from sdesolve.random import SeedStreams
from sdesolve.steppers.euler_maruyama import EulerMaruyama
from sdesolve.steppers.exponential_rk2 import ExponentialRK2
from sdesolve.steppers.heun import Heun

TOL = {"rtol": 1e-4, "atol": 1e-4}


def _problem(noise: bool = False, batch: int = 8):
    p = PROBLEMS["nonlinear_tv"]
    return p.make(noise), p.initial(batch, torch.float64, "cpu", 0)


def test_an_exponential_rk2_instance_keeps_its_r():
    sde, x0 = _problem()
    inst = integrate(sde, x0, (0.0, 1.5), ExponentialRK2(r=0.5), **TOL)
    named = integrate(sde, x0, (0.0, 1.5), "exponential_rk2", r=0.5, **TOL)
    default = integrate(sde, x0, (0.0, 1.5), "exponential_rk2", **TOL)  # the pair's default r = 1
    assert torch.equal(inst.x, named.x) and inst.nfe == named.nfe and inst.n_accepted == named.n_accepted
    assert not torch.equal(inst.x, default.x)  # the old code ran r = 1 here
    assert (inst.x - default.x).abs().max().item() > 1e-9
    assert adaptive_pair(ExponentialRK2(r=0.3)).r == 0.3
    assert adaptive_pair(ExponentialRK2()).r == 0.5  # the instance's own r (the stepper's default), not the pair's 1
    assert adaptive_pair(ExponentialRK2(r=1.0)).r == 1.0
    assert instance_pair_options(ExponentialRK2(r=0.25), ExponentialRK2.embedded_pair) == {"r": 0.25}


def test_an_exponential_rk2_instance_on_an_sde_needs_r_1():
    sde, x0 = _problem(noise=True)
    with pytest.raises(ValueError, match=r"'exponential_rk2' with option r=0.5 has no per-sample form"):
        solve(sde, x0, (0.0, 1.5), ExponentialRK2(r=0.5), **TOL)
    inst = integrate(sde, x0, (0.0, 1.5), ExponentialRK2(r=1.0), generator=SeedStreams(range(8)), **TOL)
    named = integrate(sde, x0, (0.0, 1.5), "exponential_rk2", generator=SeedStreams(range(8)), **TOL)
    assert torch.equal(inst.x, named.x) and inst.nfe == named.nfe


def test_a_heun_instance_is_heun_by_name():
    ode, x0 = _problem()
    assert isinstance(adaptive_pair(Heun()), HeunEulerPair)
    assert torch.equal(solve(ode, x0, (0.0, 1.5), Heun(), **TOL), solve(ode, x0, (0.0, 1.5), "heun", **TOL))
    sde, _ = _problem(noise=True)
    a = solve(sde, x0, (0.0, 1.5), Heun(), generator=SeedStreams(range(8)), **TOL)
    assert torch.equal(a, solve(sde, x0, (0.0, 1.5), "heun", generator=SeedStreams(range(8)), **TOL))
    with pytest.raises(TypeError, match="cannot be combined with a stepper instance"):
        adaptive_pair(Heun(), r=0.5)


class _Pick(EulerMaruyama):
    """A third-party stepper whose option its pair takes."""

    name = "pick_pair"
    embedded_pair = staticmethod(lambda bosh=False: RungeKuttaPair("pick_pair", BOSH3 if bosh else HEUN_EULER))

    def __init__(self, *, bosh: bool = False) -> None:
        self.bosh = bosh


class _Scaled(EulerMaruyama):
    """A third-party stepper with an option its pair does not take."""

    name = "scaled_pair"
    embedded_pair = staticmethod(lambda: RungeKuttaPair("scaled_pair", HEUN_EULER))

    def __init__(self, *, scale: float = 1.0) -> None:
        self.scale = scale


class _Hidden(_Scaled):
    """Keeps its option under another name: unreadable."""

    def __init__(self, *, scale: float = 1.0) -> None:
        self._scale = scale


class _Declared(_Hidden):
    """Says itself what its pair gets."""

    embedded_pair = staticmethod(lambda bosh=False: RungeKuttaPair("declared", BOSH3 if bosh else HEUN_EULER))

    def pair_options(self):
        return {"bosh": self._scale != 1.0}


def test_third_party_instance_options_reach_the_pair_or_are_refused():
    ode, x0 = _problem()
    assert adaptive_pair(_Pick(bosh=True)).table is BOSH3 and adaptive_pair(_Pick()).table is HEUN_EULER
    assert torch.equal(solve(ode, x0, (0.0, 1.5), _Pick(bosh=True), **TOL), solve(ode, x0, (0.0, 1.5), "bosh3", **TOL))
    assert adaptive_pair(_Scaled()).table is HEUN_EULER  # at the default: the stepper by name
    assert adaptive_pair(_Scaled(scale=1)).table is HEUN_EULER
    with pytest.raises(ValueError, match=r"option scale=2.0, which its embedded pair .* does not take"):
        solve(ode, x0, (0.0, 1.5), _Scaled(scale=2.0), **TOL)
    with pytest.raises(ValueError, match=r"option 'scale' cannot be read"):
        adaptive_pair(_Hidden())
    assert adaptive_pair(_Declared(scale=2.0)).table is BOSH3 and adaptive_pair(_Declared()).table is HEUN_EULER
