"""The solve loop's cheap parts: float64 normals from one CPU generator, the per-step finiteness check."""

from __future__ import annotations

import pytest
import torch

from sdesolve.finite import FiniteMonitor
from sdesolve.random import _VECTORISE_FROM, randn

F64 = torch.float64
CPU = torch.device("cpu")


@pytest.mark.parametrize("shape", [(16,), (_VECTORISE_FROM,), (_VECTORISE_FROM + 1,), (3, 5003), (4096, 64)])
def test_one_cpu_generator_draws_what_torch_randn_draws(shape) -> None:
    """The vectorised float64 transform is torch's own (same uniforms, same pairing, same tail), to round-off, and
    leaves the generator where torch.randn leaves it."""
    ours, theirs = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    x = randn(shape, ours, CPU, F64)
    y = torch.randn(shape, generator=theirs, dtype=F64)
    torch.testing.assert_close(x, y, rtol=0, atol=4 * torch.finfo(F64).eps * 8.6)
    assert torch.equal(ours.get_state(), theirs.get_state())
    x32 = randn(shape, torch.Generator().manual_seed(3), CPU, torch.float32)
    assert x32.dtype == torch.float32
    # float32 draws run the transcendental functions in float32 (see test_random.py for the bound)
    torch.testing.assert_close(x32.double(), y, rtol=0, atol=64 * torch.finfo(torch.float32).eps * 8.6)


def test_the_default_generator_too() -> None:
    torch.manual_seed(11)
    x = randn((2, _VECTORISE_FROM + 7), None, CPU, F64)
    torch.manual_seed(11)
    torch.testing.assert_close(x, torch.randn(2, _VECTORISE_FROM + 7, dtype=F64), rtol=0, atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, F64, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_the_finiteness_check_sees_one_bad_element_anywhere(dtype, bad) -> None:
    for n in (1, 15, 16, 17, 1000, 65_537):
        for pos in {0, n // 2, n - 1}:
            x = torch.randn(n, generator=torch.Generator().manual_seed(n)).to(dtype)
            big = torch.finfo(dtype).max
            x[(pos + 1) % n] = big  # the largest finite value is not flagged
            monitor = FiniteMonitor(CPU)
            monitor.update(0, x.reshape(1, -1))
            assert int(monitor.first) == -1
            x[pos] = bad
            monitor.update(4, x.reshape(1, -1))
            monitor.update(5, x.reshape(1, -1))
            assert int(monitor.first) == 4, (n, pos)
