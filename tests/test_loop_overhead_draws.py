"""The solve loop's allocation-free draw and update (issue 11, goal 7): same numbers, same generator state."""

from __future__ import annotations

import pytest
import torch

import sdesolve
from sdesolve import SemilinearSDE
from sdesolve.coefficients import GridCoefficients
from sdesolve.finite import _FLUSH, FiniteMonitor
from sdesolve.noise import GaussianNoise
from sdesolve.random import _RAND_BLOCK, _VECTORISE_FROM, DrawScratch, SeedStreams, randn

F64 = torch.float64
CPU = torch.device("cpu")
SIZES = [_VECTORISE_FROM, _VECTORISE_FROM + 5, 2 * _RAND_BLOCK, 2 * _RAND_BLOCK + 16, 2 * _RAND_BLOCK + 23]


def test_uniforms_drawn_block_by_block_are_those_of_one_call() -> None:
    """What the blocked draw relies on: torch's CPU float64 ``rand`` takes one word per number, in order."""
    one, blocks = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    whole = torch.rand(3 * _RAND_BLOCK + 40, generator=one, dtype=F64)
    parts = [torch.rand(n, generator=blocks, dtype=F64) for n in (_RAND_BLOCK, _RAND_BLOCK, _RAND_BLOCK, 24, 16)]
    assert torch.equal(whole, torch.cat(parts))
    assert torch.equal(one.get_state(), blocks.get_state())


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [torch.float32, F64, torch.bfloat16])
def test_scratch_and_out_change_no_bit(n: int, dtype: torch.dtype) -> None:
    """A reused DrawScratch and ``out`` buffer give, draw after draw, the bits of a fresh draw; the generator ends
    where ``torch.randn`` leaves it, and the float64 numbers are torch's own to round-off."""
    fresh, reused, torch_gen = (torch.Generator().manual_seed(9) for _ in range(3))
    scratch, out = DrawScratch(), torch.full((n,), float("nan"), dtype=dtype)
    for _ in range(3):
        a = randn((n,), fresh, CPU, dtype)
        b = randn((n,), reused, CPU, dtype, scratch=scratch, out=out)
        c = torch.randn(n, generator=torch_gen, dtype=F64)
        assert b is out
        assert torch.equal(a, b)
        atol = 4 * 8.6 * torch.finfo(F64).eps if dtype == F64 else 64 * 8.6 * torch.finfo(torch.float32).eps
        if dtype != torch.bfloat16:
            torch.testing.assert_close(b.double(), c, rtol=0, atol=atol)
    assert torch.equal(reused.get_state(), torch_gen.get_state())


def test_out_is_filled_for_every_kind_of_generator() -> None:
    shape = (3, 5000)
    for make in (lambda: SeedStreams([1, 2, 3]), lambda: [torch.Generator().manual_seed(s) for s in (1, 2, 3)]):
        out = torch.empty(shape)
        b = randn(shape, make(), CPU, torch.float32, out=out)
        assert b is out and torch.equal(out, randn(shape, make(), CPU, torch.float32))


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_add_increment_is_the_scaled_increment_to_round_off(dtype: torch.dtype) -> None:
    """``add_increment_`` folds √|h| into the weight: ``y + w √|h| ξ`` with the ξ ``increment`` draws."""
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: x, g=2.0)
    coef = GridCoefficients(sde, torch.tensor([1.0, 0.7, 0.1], dtype=F64), device="cpu", dtype=dtype)
    y0 = torch.randn(64, 300, dtype=dtype)
    ours = GaussianNoise(coef, torch.Generator().manual_seed(2))
    theirs = GaussianNoise(coef, torch.Generator().manual_seed(2))
    for k in (0, 1):
        weight = float(coef.g0[k])
        got = ours.add_increment_(k, y0.clone(), weight)
        want = y0 + weight * theirs.increment(k, y0)
        eps = torch.finfo(dtype).eps
        torch.testing.assert_close(got, want, rtol=4 * eps, atol=4 * eps * float(want.abs().max()))
        assert not torch.equal(got, y0)


def test_euler_maruyama_keeps_its_numbers_and_states() -> None:
    """The fused update against the textbook formula with the same draws (float64: round-off), trajectories and
    callbacks see distinct tensors (the reused draw buffer never leaks out), and float32 sees float64's noise."""
    sde = SemilinearSDE(a=lambda t: -0.5 * t, b=lambda t: 1.0 + 0 * t, nonlinear=lambda t, x: torch.sin(x), g=0.8)
    ts = torch.linspace(1.0, 0.0, 6, dtype=F64)
    x0 = torch.randn(128, 100, dtype=F64, generator=torch.Generator().manual_seed(1))
    seen: list[torch.Tensor] = []
    traj = sdesolve.solve(
        sde, x0, ts, "euler_maruyama", generator=torch.Generator().manual_seed(5), trajectory=True,
        callback=lambda k, x: seen.append(x),
    )  # fmt: skip
    gen, x = torch.Generator().manual_seed(5), x0
    for k in range(5):
        t, h = float(ts[k]), float(ts[k + 1] - ts[k])
        xi = torch.randn(x.shape, generator=gen, dtype=F64)
        x = x + h * (-0.5 * t * x + torch.sin(x)) + 0.8 * abs(h) ** 0.5 * xi
        torch.testing.assert_close(traj[k + 1], x, rtol=1e-13, atol=1e-13)
    assert len({s.data_ptr() for s in seen}) == 5
    x32 = sdesolve.solve(sde, x0.float(), ts, "euler_maruyama", generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(x32.double(), traj[-1], rtol=0, atol=1e-4)


def test_monitor_finds_the_first_bad_step_across_batches_and_dtypes() -> None:
    good, bad = torch.zeros(2, 3), torch.tensor([[0.0, float("nan"), 0.0], [0.0, 0.0, 0.0]])
    for first_bad in (0, _FLUSH - 1, _FLUSH, 3 * _FLUSH + 7):
        monitor = FiniteMonitor(CPU)
        for k in range(4 * _FLUSH):
            monitor.update(k, bad if k >= first_bad else good)
        assert int(monitor.first) == first_bad
    monitor = FiniteMonitor(CPU)  # steps out of order, dtypes changing, the first bad one kept
    for k, x in [(7, good), (3, good.double()), (9, bad.half()), (2, bad), (11, good)]:
        monitor.update(k, x)
    assert int(monitor.first) == 9
    monitor.update(1, -bad.abs() / 0)  # -inf and nan: still 9, the first seen
    with pytest.raises(sdesolve.finite.NonFiniteError, match="step 9") as info:
        monitor.check(lambda k: f"step {k}")
    assert info.value.step == 9
    empty = FiniteMonitor(CPU)
    empty.update(0, torch.zeros(0, 3))
    assert int(empty.first) == -1
