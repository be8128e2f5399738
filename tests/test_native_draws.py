"""``NativeDraws``: torch's own draws in the working dtype — the exact numbers, what it gives up, bad input."""

from __future__ import annotations

import math

import pytest
import torch

import sdesolve
from sdesolve import SemilinearSDE, solve
from sdesolve.random import NativeDraws, SeedStreams, check_generators, rand, randn

CPU = torch.device("cpu")
F32, F64 = torch.float32, torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("dtype", [F32, F64, torch.bfloat16], ids=["f32", "f64", "bf16"])
@pytest.mark.parametrize("shape", [(3, 5), (64, 300), (4, 4)], ids=["small", "vectorised", "batch==event"])
def test_normals_are_torch_randn_in_the_working_dtype_and_the_stream_continues(dtype, shape) -> None:
    src, g = NativeDraws(_gen(3)), _gen(3)
    first = randn(shape, src, CPU, dtype)
    out = torch.full(shape, math.nan, dtype=dtype)
    second = randn(shape, src, CPU, dtype, out=out)
    assert second is out
    assert first.dtype == dtype and torch.equal(first, torch.randn(shape, generator=g, dtype=dtype))
    assert torch.equal(second, torch.randn(shape, generator=g, dtype=dtype))
    assert torch.equal(rand(7, src, CPU, dtype), torch.rand(7, generator=g, dtype=dtype))


def test_default_generator_when_none() -> None:
    torch.manual_seed(11)
    a = randn((2, 40), NativeDraws(), CPU, F32)
    torch.manual_seed(11)
    assert torch.equal(a, torch.randn(2, 40))


def test_euler_maruyama_adds_exactly_torchs_float32_increments() -> None:
    """The solve draws one ``torch.randn`` of the state's shape and dtype per step, nothing else: the same numbers
    fed through a Brownian path give the same result to float32 round-off."""
    sde = SemilinearSDE(a=lambda t: -0.5 - 0.1 * t, nonlinear=lambda t, x: torch.tanh(x) * (1 + t), g=0.7)
    x0 = torch.randn(6, 6, generator=_gen(1))  # batch == event size: a transposed draw would go unnoticed
    ts = torch.linspace(0.0, 1.0, 9, dtype=F64)
    native = solve(sde, x0, ts, "euler_maruyama", generator=NativeDraws(_gen(5)))
    g = _gen(5)
    xi = [torch.randn(6, 6, generator=g) for _ in range(8)]
    s = ts.tolist()

    def bm(sa: float, sb: float) -> torch.Tensor:
        k = min(range(8), key=lambda i: abs(s[i] - sa))
        return xi[k] * math.sqrt(sb - sa)

    torch.testing.assert_close(native, solve(sde, x0, ts, "euler_maruyama", bm=bm), rtol=2e-6, atol=2e-6)
    assert not torch.equal(native, solve(sde, x0, ts, "euler_maruyama", generator=_gen(5)))  # not the f64 draw


def test_float32_and_float64_runs_see_different_noise_as_documented() -> None:
    """The guarantee the default sources keep and this one gives up (docs/reliability.md): with a plain generator
    the two dtypes agree to round-off, with NativeDraws they do not."""
    sde = SemilinearSDE(a=-0.5, nonlinear=lambda t, x: -x, g=0.5)
    x0 = torch.zeros(4, 300, dtype=F64)
    ts = torch.linspace(0.0, 1.0, 5, dtype=F64)
    plain = [solve(sde, x0.to(d), ts, "euler_maruyama", generator=_gen(2)).double() for d in (F32, F64)]
    native = [solve(sde, x0.to(d), ts, "euler_maruyama", generator=NativeDraws(_gen(2))).double() for d in (F32, F64)]
    assert float((plain[0] - plain[1]).abs().max()) < 1e-5
    assert float((native[0] - native[1]).abs().max()) > 0.1


@pytest.mark.parametrize("method", ["randomized_midpoint", "exponential_euler", "euler_maruyama"])
def test_every_draw_of_a_solve_comes_from_the_wrapped_generator(method: str) -> None:
    if method not in sdesolve.steppers():
        pytest.skip(f"{method} is not registered")
    sde = SemilinearSDE(a=lambda t: -0.5 - 0.2 * t, nonlinear=lambda t, x: torch.sin(x) * torch.cos(2 * t), g=0.4)
    x0 = torch.randn(5, 3, generator=_gen(1))
    ts = torch.linspace(1.0, 0.2, 6, dtype=F64)
    a = solve(sde, x0, ts, method, generator=NativeDraws(_gen(8)))
    b = solve(sde, x0, ts, method, generator=NativeDraws(_gen(8)))
    c = solve(sde, x0, ts, method, generator=NativeDraws(_gen(9)))
    assert torch.equal(a, b) and not torch.equal(a, c) and bool(torch.isfinite(a).all())
    g = _gen(8)
    solve(sde, x0, ts, method, generator=NativeDraws(g))
    h = _gen(8)
    solve(sde, x0, ts, method, generator=NativeDraws(h))
    assert torch.equal(g.get_state(), h.get_state()) and not torch.equal(g.get_state(), _gen(8).get_state())


def test_adaptive_sde_solve_and_nan_detection_work_with_native_draws() -> None:
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: torch.cos(x), g=0.3)
    x0 = torch.randn(8, 2, generator=_gen(0), dtype=F64)
    ts = torch.tensor([0.0, 1.0], dtype=F64)
    a = solve(sde, x0, ts, "exponential_rk2", generator=NativeDraws(_gen(4)), rtol=1e-3, atol=1e-4)
    b = solve(sde, x0, ts, "exponential_rk2", generator=NativeDraws(_gen(4)), rtol=1e-3, atol=1e-4)
    assert torch.equal(a, b) and bool(torch.isfinite(a).all())
    bad = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: x / (t - 0.5).clamp(min=0), g=0.3)
    with pytest.raises(sdesolve.NonFiniteError):
        solve(bad, x0, torch.linspace(0.0, 1.0, 5, dtype=F64), "euler_maruyama", generator=NativeDraws(_gen(4)))


def test_bad_sources_are_refused_naming_the_argument() -> None:
    check_generators(NativeDraws(), 3, CPU)
    check_generators(NativeDraws(_gen()), 3, CPU)
    with pytest.raises(TypeError, match=r"per-sample streams .* always draw in float64"):
        NativeDraws([_gen(), _gen()])
    with pytest.raises(TypeError, match="per-sample streams"):
        NativeDraws(SeedStreams([1, 2]))
    with pytest.raises(TypeError, match=r"takes one torch\.Generator or None, got int"):
        NativeDraws(0)
    with pytest.raises(ValueError, match="out must be a contiguous tensor of shape"):
        randn((3, 4), NativeDraws(_gen()), CPU, F32, out=torch.empty(6, 4))
    with pytest.raises(ValueError, match="out must be a contiguous tensor"):
        randn((3, 4), NativeDraws(_gen()), CPU, F32, out=torch.empty(3, 4, dtype=F64))
    assert "NativeDraws(<torch._C.Generator" in repr(NativeDraws(_gen()))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cpu_generator_feeds_a_cuda_state_and_a_cuda_generator_a_cpu_state_is_refused() -> None:
    cuda = torch.device("cuda")
    a = randn((4, 100), NativeDraws(_gen(6)), cuda, F32)
    assert a.device.type == "cuda" and torch.equal(a.cpu(), torch.randn(4, 100, generator=_gen(6)))
    out = torch.empty(4, 100, device=cuda)
    assert torch.equal(randn((4, 100), NativeDraws(_gen(6)), cuda, F32, out=out).cpu(), a.cpu())
    g = torch.Generator(device=cuda).manual_seed(1)
    with pytest.raises(ValueError, match=r"generator\.generator is on device cuda"):
        check_generators(NativeDraws(g), 4, CPU)
    with pytest.raises(ValueError, match="out must be"):
        randn((4, 100), NativeDraws(g), cuda, F32, out=torch.empty(4, 100))
