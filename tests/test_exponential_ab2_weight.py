"""``exponential_ab2``'s ``weight="midpoint"`` (k-diffusion's default 2M weight ``w_f h_k / 2``): second order on an
ODE like the exact weight, different iterates, and a bad ``weight`` refused naming it. Agreement with k-diffusion's
``sample_dpmpp_2m_sde`` to round-off: ``plugins/sdesolve-lab/tests/test_peer_multistep_sde.py``."""

from __future__ import annotations

import math

import pytest
import torch

import sdesolve
from sdesolve.steppers.exponential_ab2 import ExponentialAB2

F64 = torch.float64


def _problem() -> sdesolve.SemilinearSDE:
    return sdesolve.SemilinearSDE(
        a=lambda t: -1.0 + 0 * t, b=lambda t: 1.0 + 0 * t, nonlinear=lambda t, x: torch.cos(3 * t) * x.tanh()
    )


@pytest.mark.parametrize("weight", ["exact", "midpoint"])
def test_second_order_on_an_ode(weight) -> None:
    sde, x0 = _problem(), torch.ones(1, 1, dtype=F64)
    ref = sdesolve.solve(sde, x0, torch.linspace(0, 2, 20001, dtype=F64), ExponentialAB2())
    errors = [
        float(
            (sdesolve.solve(sde, x0, torch.linspace(0, 2, n + 1, dtype=F64), ExponentialAB2(weight=weight)) - ref)
            .abs()
            .max()
        )
        for n in (160, 320, 640)
    ]
    slopes = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(1.7 < s < 2.3 for s in slopes), (errors, slopes)


def test_the_weights_differ_and_a_bad_one_is_refused() -> None:
    sde, x0 = _problem(), torch.ones(1, 1, dtype=F64)
    ts = torch.linspace(0, 2, 11, dtype=F64)
    exact = sdesolve.solve(sde, x0, ts, "exponential_ab2")
    midpoint = sdesolve.solve(sde, x0, ts, "exponential_ab2", weight="midpoint")
    assert float((exact - midpoint).abs().max()) > 1e-6
    with pytest.raises(ValueError, match="weight"):
        ExponentialAB2(weight="heun")
