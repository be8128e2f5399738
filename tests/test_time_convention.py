"""The time argument of ``N``: torchsde-style drifts are right for every stepper, or refused with the convention named.

``N(t, x)`` receives one time per sample shaped ``(batch, 1, …, 1)`` (``time_layout="broadcast"``, the default), or
``(batch,)`` with ``time_layout="batch"``. The dangerous case is batch == event size, where a ``(batch,)`` time would
broadcast along the last event axis without any error.
"""

from __future__ import annotations

import pytest
import torch

import sdesolve
from sdesolve import SemilinearSDE, solve
from sdesolve.random import generators_from_seeds

F64 = torch.float64
STEPPERS = sorted(sdesolve.steppers())


def torchsde_style(t, x):
    """How torchsde / torchdiffeq / diffrax users write a drift: ``t`` is used like a scalar."""
    return -(1 + 3 * t) * x + torch.sin(x) * torch.cos(2 * t)


def _problem(layout: str = "broadcast", noise: bool = True) -> SemilinearSDE:
    nonlinear = torchsde_style
    if layout == "batch":

        def nonlinear(t, x):  # the same drift, written for one time per sample of shape (batch,)
            return torchsde_style(t.reshape(-1, *[1] * (x.dim() - 1)), x)

    return SemilinearSDE(
        a=lambda t: -0.5 - 0.2 * t,
        nonlinear=nonlinear,
        g=(lambda t: 0.3 + 0.1 * t) if noise else None,
        time_layout=layout,
    )


def _one_by_one(sde, x0, ts, method, seeds):
    """Each sample solved alone (batch of 1: no broadcasting can mix samples), with its own generator."""
    rows = [
        solve(sde, x0[i : i + 1], ts, method, generator=generators_from_seeds([s], "cpu")) for i, s in enumerate(seeds)
    ]
    return torch.cat(rows)


@pytest.mark.parametrize("method", STEPPERS)
@pytest.mark.parametrize("shape", [(8, 8), (3, 3, 3, 3), (4, 2, 4)])
def test_a_torchsde_style_drift_is_right_for_every_stepper_when_batch_equals_event_size(method, shape) -> None:
    """Batch == event size: a (batch,) time would broadcast along the last axis silently; here it must not."""
    cls = sdesolve.get_stepper(method)
    sde = _problem(noise=cls.supports_noise)
    x0 = torch.randn(*shape, dtype=F64, generator=torch.Generator().manual_seed(1))
    ts = torch.linspace(1.0, 0.2, 6, dtype=F64)
    seeds = list(range(shape[0]))
    batched = solve(sde, x0, ts, method, generator=generators_from_seeds(seeds, "cpu"))
    torch.testing.assert_close(batched, _one_by_one(sde, x0, ts, method, seeds), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", STEPPERS)
def test_both_layouts_give_the_same_numbers(method) -> None:
    cls = sdesolve.get_stepper(method)
    x0 = torch.randn(8, 8, dtype=F64, generator=torch.Generator().manual_seed(2))
    ts = torch.linspace(0.0, 1.0, 5, dtype=F64)
    out = [
        solve(_problem(layout, cls.supports_noise), x0, ts, method, generator=torch.Generator().manual_seed(3))
        for layout in ("broadcast", "batch")
    ]
    torch.testing.assert_close(out[0], out[1], rtol=1e-13, atol=1e-13)


def test_n_receives_the_declared_time_layout() -> None:
    seen: dict[str, list[tuple[int, ...]]] = {"broadcast": [], "batch": []}
    for layout in seen:

        def nonlinear(t, x, layout=layout):
            seen[layout].append(tuple(t.shape))
            return torch.zeros_like(x)

        sde = SemilinearSDE(a=-1.0, nonlinear=nonlinear, g=1.0, time_layout=layout)
        solve(sde, torch.zeros(6, 2, 5), [1.0, 0.5], "randomized_midpoint", generator=torch.Generator().manual_seed(0))
    assert seen == {"broadcast": [(6, 1, 1)] * 2, "batch": [(6,)] * 2}


def test_a_network_taking_one_time_per_sample_is_one_step_away() -> None:
    """``net(x, t)`` with ``t`` of shape ``(batch,)``: ``t.flatten()``, or ``time_layout="batch"``."""
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Linear(5, 4)

        def forward(self, x, t):
            assert t.shape == (x.shape[0],)
            return self.body(torch.cat([x, t[:, None]], dim=1))

    net = Net().double()
    x0 = torch.randn(4, 4, dtype=F64)
    ts = torch.linspace(1.0, 0.0, 5, dtype=F64)
    with torch.no_grad():
        a = solve(SemilinearSDE(a=-1.0, nonlinear=lambda t, x: net(x, t.flatten())), x0, ts, "heun")
        b = solve(SemilinearSDE(a=-1.0, nonlinear=lambda t, x: net(x, t), time_layout="batch"), x0, ts, "heun")
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_drift_written_for_the_other_layout_is_a_clear_error_not_a_wrong_number() -> None:
    # written for (batch,) times but given (batch, 1): the broadcast shape is wrong, and the error says why
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: t[:, None] * x, g=1.0)
    with pytest.raises(ValueError, match=r"returned shape \(8, 8, 8\).*time_layout='broadcast'.*t.flatten\(\)"):
        solve(sde, torch.ones(8, 8), [1.0, 0.5], "euler_maruyama")
    # a torchsde-style drift under time_layout="batch" with batch != event size: torch's own error gets a note
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: (1 + t) * x, time_layout="batch")
    with pytest.raises(RuntimeError, match="size of tensor") as info:
        solve(sde, torch.ones(5, 64), [1.0, 0.5], "euler_maruyama")
    assert "time_layout='batch'" in "".join(getattr(info.value, "__notes__", [])) or not hasattr(info.value, "add_note")
    # using t as a Python number fails loudly, naming the convention
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: x * float(t))
    with pytest.raises((RuntimeError, ValueError), match="Python scalars") as info:
        solve(sde, torch.ones(3, 2), [1.0, 0.5], "euler_maruyama")
    assert "time_layout='broadcast'" in "".join(getattr(info.value, "__notes__", [])) or not hasattr(
        info.value, "add_note"
    )
    with pytest.raises(ValueError, match="time_layout must be one of"):
        SemilinearSDE(a=-1.0, nonlinear=torchsde_style, time_layout="per_sample")


@pytest.mark.parametrize("method", STEPPERS)
def test_the_dtype_of_n_does_not_leak_into_the_state(method) -> None:
    cls = sdesolve.get_stepper(method)
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: torch.sin(x).to(F64), g=1.0 if cls.supports_noise else None)
    out = solve(sde, torch.ones(3, 2), [1.0, 0.5, 0.0], method, generator=torch.Generator().manual_seed(0))
    assert out.dtype == torch.float32
    complex_sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: x.to(torch.complex64))
    with pytest.raises(TypeError, match="must return a real floating tensor"):
        solve(complex_sde, torch.ones(3, 2), [1.0, 0.5], method, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("method", ["randomized_midpoint", "euler_maruyama", "exponential_rk2"])
def test_float32_and_float64_with_the_same_seed_differ_by_round_off_only(method) -> None:
    x0 = torch.randn(64, 3, dtype=F64, generator=torch.Generator().manual_seed(4))
    ts = torch.linspace(1.0, 0.1, 31, dtype=F64)
    sde = _problem()
    out = {
        dtype: solve(sde, x0.to(dtype), ts, method, generator=torch.Generator().manual_seed(5)).to(F64)
        for dtype in (torch.float32, F64)
    }
    torch.testing.assert_close(out[torch.float32], out[F64], rtol=1e-4, atol=1e-4)
