"""``randomized_midpoint_ms``: one evaluation per step, the stage predicted from earlier evaluations, the two
Brownian integrals of a step drawn jointly."""

from __future__ import annotations

import math

import pytest
import torch

from sdesolve import SemilinearSDE, solve
from sdesolve.steppers.randomized_midpoint_multistep import MAX_RATIO

F64 = torch.float64


class Recorder:
    """``N(t, x) = c x + t`` (or ``0``), recording every call's times, states and outputs."""

    def __init__(self, c: float = 0.7, zero: bool = False) -> None:
        self.c, self.zero = c, zero
        self.calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def __call__(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x) if self.zero else self.c * x + t.to(x.dtype).reshape(-1, 1)
        self.calls.append((t.clone(), x.clone(), out.clone()))
        return out


@pytest.mark.parametrize(("start", "extra"), [("zero", 0), ("fresh", 1)])
@pytest.mark.parametrize("predictor", ["previous", "extrapolate"])
def test_one_evaluation_per_step(start: str, extra: int, predictor: str) -> None:
    rec = Recorder()
    solve(
        SemilinearSDE(a=-0.5, g=0.8, nonlinear=rec),
        torch.ones(5, 1, dtype=F64),
        torch.linspace(0.0, 1.0, 8, dtype=F64),
        "randomized_midpoint_ms",
        predictor=predictor,
        start=start,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(rec.calls) == 7 + extra


@pytest.mark.parametrize("predictor", ["previous", "extrapolate"])
@pytest.mark.parametrize("start", ["zero", "fresh"])
def test_stage_uses_the_previous_evaluations_exactly(predictor: str, start: str) -> None:
    """``a = 0``, ``b = 1``, ``g = 0``, linear ``N``: ``τ`` is uniform, ``x_τ = x + (τ - t) Ñ`` and
    ``x' = x + h N(τ, x_τ)``, with ``Ñ`` the previous evaluation (or the clipped line through the last two, read at
    ``(t + τ)/2``)."""
    rec = Recorder()
    ts = torch.tensor([0.0, 0.3, 0.45, 0.8, 1.0], dtype=F64)
    x0 = torch.linspace(-1.0, 1.0, 6, dtype=F64).reshape(6, 1)
    out = solve(
        SemilinearSDE(a=0.0, nonlinear=rec),
        x0,
        ts,
        "randomized_midpoint_ms",
        predictor=predictor,
        start=start,
        generator=torch.Generator().manual_seed(3),
        trajectory=True,
    )
    stages = rec.calls[1:] if start == "fresh" else rec.calls
    history = [(rec.calls[0][0], rec.calls[0][2])] if start == "fresh" else []
    x = x0
    for k in range(4):
        t, h = ts[k], ts[k + 1] - ts[k]
        tau, x_tau, n_tau = stages[k]
        assert bool(((tau >= t) & (tau <= ts[k + 1])).all())
        if not history:
            predicted = torch.zeros_like(x)
        elif predictor == "previous" or len(history) == 1:
            predicted = history[-1][1]
        else:
            (s0, n0), (s1, n1) = history[-2], history[-1]
            ratio = ((0.5 * (t + tau) - s1) / (s1 - s0)).clamp(0.0, MAX_RATIO).reshape(-1, 1)
            predicted = n1 + ratio * (n1 - n0)
        expected_stage = x + (tau - t).reshape(-1, 1) * predicted
        assert torch.allclose(x_tau, expected_stage, rtol=0, atol=1e-12), (k, (x_tau - expected_stage).abs().max())
        x = x + h * n_tau
        assert torch.allclose(out[k + 1], x, rtol=0, atol=1e-12)
        history.append((tau, n_tau))


def test_stage_and_step_noise_are_one_brownian_path() -> None:
    """``N = 0``, ``a = 0``, ``g = 1``, one step ``[0, 1]``: the stage is ``η₁ = W(τ)``, the output ``η₂ = W(1)``. On
    one path ``W(1) - W(τ)`` is independent of ``W(τ)`` with variance ``1 - τ``; drawn independently,
    ``E[(η₂ - η₁)²]`` would be ``1 + E τ`` instead of ``1 - E τ``."""
    n = 200_000
    rec = Recorder(zero=True)
    out = solve(
        SemilinearSDE(a=0.0, g=1.0, nonlinear=rec),
        torch.zeros(n, 1, dtype=F64),
        [0.0, 1.0],
        "randomized_midpoint_ms",
        generator=torch.Generator().manual_seed(11),
    )
    tau, eta1, _ = rec.calls[0]
    eta1, eta2, tau = eta1[:, 0], out[:, 0], tau.to(F64).reshape(-1)
    tail = eta2 - eta1
    se = math.sqrt(2.0 / n)  # the std of the mean of n squared standard normals
    assert abs(float((eta1**2 / tau).mean()) - 1.0) < 5 * se
    assert abs(float((tail**2 / (1.0 - tau)).mean()) - 1.0) < 5 * se
    assert abs(float((eta1 * tail).mean())) < 5 * math.sqrt(0.25 / n)


@pytest.mark.parametrize(("option", "value"), [("predictor", "linear"), ("start", "prior"), ("distribution", "beta")])
def test_bad_options_are_named(option: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"randomized_midpoint_ms option {option} must be one of"):
        solve(
            SemilinearSDE(a=0.0, nonlinear=Recorder()),
            torch.zeros(2, 1, dtype=F64),
            [0.0, 1.0],
            "randomized_midpoint_ms",
            **{option: value},
        )
