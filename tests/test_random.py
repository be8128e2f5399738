"""Per-sample seed streams (sdesolve.random.SeedStreams): the exact integers, the laws, the batch guarantee."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

import sdesolve
from sdesolve import SemilinearSDE, solve
from sdesolve.random import (
    _GAMMA,
    _MASK64,
    NOISE_SCHEME,
    SeedStreams,
    check_generators,
    generators_from_seeds,
    mix64,
    rand,
    randn,
    seed_streams,
)

F64 = torch.float64
CPU = torch.device("cpu")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _reference_words(seed: int, draw: int, count: int) -> list[int]:
    """The scheme of the module docstring, in Python integers."""
    key = mix64(seed + _GAMMA)
    draw_key = mix64(key + (draw + 1) * _GAMMA)
    return [mix64(draw_key + (e + 1) * _GAMMA) for e in range(count)]


def _reference_normals(seed: int, draw: int, count: int) -> list[float]:
    pairs = (count + 1) // 2
    u = [((w >> 11) - (1 << 53 if w >> 63 else 0)) * 2.0**-53 + 0.5 for w in _reference_words(seed, draw, 2 * pairs)]
    r = [math.sqrt(-2 * math.log(1 - v)) for v in u[:pairs]]
    theta = [2 * math.pi * (v - 0.5) for v in u[pairs:]]
    return ([r[p] * math.sin(theta[p]) for p in range(pairs)] + [r[p] * math.cos(theta[p]) for p in range(pairs)])[
        :count
    ]


def test_mix64_is_splitmix64() -> None:
    # SplitMix64 seeded with 0: the first outputs of the reference C implementation (Vigna)
    assert [mix64(k * _GAMMA) for k in (1, 2, 3)] == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**63, 2**64 - 1])
def test_words_and_normals_follow_the_documented_scheme(seed: int) -> None:
    streams = SeedStreams([seed, 7])
    for draw in range(3):
        words = streams.words(5, CPU)
        assert [int(w) & _MASK64 for w in words[0]] == _reference_words(seed, draw, 5)
    normals = streams.normal(7, CPU)  # draw 3, an odd count
    np.testing.assert_allclose(normals[0].numpy(), _reference_normals(seed, 3, 7), rtol=1e-13, atol=1e-13)
    assert streams.draws == 4
    streams.reset()
    assert [int(w) & _MASK64 for w in streams.words(2, CPU)[0]] == _reference_words(seed, 0, 2)


def test_a_sample_depends_on_its_seed_only() -> None:
    seeds = [11, 3, 2**64 - 1, 0, 99]
    full = SeedStreams(seeds)
    parts = {s: SeedStreams([s]) for s in seeds}
    reordered = SeedStreams(seeds[::-1])
    for shape in [(3, 4), (2, 3, 5), (7,)]:
        x = randn((5, *shape), full, CPU, F64)
        y = randn((5, *shape), reordered, CPU, F64)
        torch.testing.assert_close(x, y.flip(0), rtol=0, atol=0)
        for i, s in enumerate(seeds):
            torch.testing.assert_close(x[i], randn((1, *shape), parts[s], CPU, F64)[0], rtol=0, atol=0)
    u = rand(5, full, CPU, F64)
    torch.testing.assert_close(u, rand(5, reordered, CPU, F64).flip(0), rtol=0, atol=0)
    assert all(float(u[i]) == float(rand(1, parts[s], CPU, F64)) for i, s in enumerate(seeds))


def test_float32_and_float64_draw_the_same_numbers_to_float32_round_off() -> None:
    """The same 53-bit uniforms; a float32 draw runs log/sqrt/sin/cos in float32: a few float32 ulps of the
    radius (≤ 8.6) and of the angle (≤ π), i.e. at most 64 · 2⁻²³ · 8.6 ≈ 7e-5 absolute."""
    a = randn((4000, 9), SeedStreams(range(4000)), CPU, torch.float32)
    b = randn((4000, 9), SeedStreams(range(4000)), CPU, F64)
    assert a.dtype == torch.float32
    torch.testing.assert_close(a.double(), b, rtol=0, atol=64 * torch.finfo(torch.float32).eps * 8.6)
    assert float((a.double() - b).abs().mean()) < 1e-6


def test_normals_have_the_standard_normal_law() -> None:
    z = randn((1000, 1001), SeedStreams(range(1000)), CPU, F64)  # odd: the dropped last cosine is exercised
    flat = z.flatten().numpy()
    n = flat.size
    assert abs(flat.mean()) < 5 / math.sqrt(n)
    assert abs(flat.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(flat)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(flat)) < 5 * math.sqrt(24 / n)
    assert stats.kstest(flat, "norm").pvalue > 1e-4
    assert stats.kstest(z[:, 500].numpy(), "norm").pvalue > 1e-4  # one element across samples (a sine)
    assert stats.kstest(z[:, 501].numpy(), "norm").pvalue > 1e-4  # a cosine


def _max_abs_corr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest |correlation| between matching columns of ``a`` and ``b`` (rows are observations)."""
    a = (a - a.mean(0)) / a.std(0)
    b = (b - b.mean(0)) / b.std(0)
    return float((a * b).mean(0).abs().max())


def test_normals_are_independent_across_samples_draws_and_elements() -> None:
    n = 20_000  # observations; 5/√n bounds each correlation at ~5 standard errors (a family of ≤ 64 per check)
    tol = 5.5 / math.sqrt(n)
    streams = SeedStreams(range(n))  # consecutive seeds: the hardest keys
    first, second = randn((n, 64), streams, CPU, F64), randn((n, 64), streams, CPU, F64)
    assert _max_abs_corr(first, second) < tol  # the same sample and element, consecutive draws
    assert _max_abs_corr(first[:, :32], first[:, 32:]) < tol  # the sine and cosine of one Box–Muller pair
    assert _max_abs_corr(first[:, :32] ** 2, first[:, 32:] ** 2) < tol  # ... and their squares (a shared radius)
    assert _max_abs_corr(first[:, :-1], first[:, 1:]) < tol  # neighbouring elements
    assert _max_abs_corr(first[:-1], first[1:]) < tol  # neighbouring seeds, same element
    pooled = torch.corrcoef(torch.stack([first[:-1].flatten(), first[1:].flatten()]))[0, 1]
    assert abs(float(pooled)) < 5 / math.sqrt(first[1:].numel())  # neighbouring seeds, pooled over elements


def test_uniforms_are_uniform_and_independent() -> None:
    streams = SeedStreams(range(100_000))
    u = [rand(100_000, streams, CPU, F64) for _ in range(3)]
    assert all(float(v.min()) >= 0 and float(v.max()) < 1 for v in u)
    assert stats.kstest(u[0].numpy(), "uniform").pvalue > 1e-4
    assert abs(float(torch.corrcoef(torch.stack(u[:2]))[0, 1])) < 5 / math.sqrt(100_000)
    assert abs(float(torch.corrcoef(torch.stack([u[2][:-1], u[2][1:]]))[0, 1])) < 5 / math.sqrt(100_000)


def test_seed_streams_are_accepted_where_generators_are_and_checked() -> None:
    check_generators(seed_streams([1, 2]), 2, CPU)
    with pytest.raises(ValueError, match="2 seed streams for a batch of 3"):
        check_generators(SeedStreams([1, 2]), 3, CPU)
    with pytest.raises(ValueError, match="the batch must match"):
        randn((3, 2), SeedStreams([1, 2]), CPU, F64)
    with pytest.raises(ValueError, match="one per sample"):
        rand(3, SeedStreams([1, 2]), CPU, F64)
    with pytest.raises(ValueError, match=r"seeds\[1\] must be an integer in \[0, 2\*\*64\)"):
        SeedStreams([0, -1])
    with pytest.raises(TypeError, match=r"seeds\[0\] must be an int"):
        SeedStreams([1.0])
    with pytest.raises(ValueError, match="seeds is empty"):
        SeedStreams([])
    assert isinstance(generators_from_seeds([1, 2], "cpu"), SeedStreams)
    assert "SplitMix64" in NOISE_SCHEME and SeedStreams.scheme == NOISE_SCHEME


def test_a_list_of_torch_generators_works_as_before() -> None:
    gens = [torch.Generator().manual_seed(s) for s in (4, 5)]
    x = randn((2, 3), gens, CPU, torch.float32)
    expected = torch.stack([torch.randn(3, generator=torch.Generator().manual_seed(s), dtype=F64) for s in (4, 5)])
    assert torch.equal(x, expected.float())
    u = rand(2, gens, CPU, F64)
    for v, s in zip(u, (4, 5), strict=True):  # the second draw on each generator
        g = torch.Generator().manual_seed(s)
        torch.randn(3, generator=g, dtype=F64)
        assert float(v) == float(torch.rand(1, generator=g, dtype=F64))


@pytest.mark.parametrize("method", ["euler_maruyama", "randomized_midpoint", "exponential_euler"])
def test_solve_with_seed_streams_is_batch_invariant(method: str) -> None:
    """Noise and random midpoints (one uniform per sample) both come from the sample's own stream."""
    if method not in sdesolve.steppers():
        pytest.skip(f"{method} is not registered")
    sde = SemilinearSDE(a=lambda t: -0.5 - 0.2 * t, nonlinear=lambda t, x: torch.sin(x) * torch.cos(2 * t), g=0.4)
    x0 = torch.randn(5, 3, dtype=F64, generator=torch.Generator().manual_seed(1))
    ts = torch.linspace(1.0, 0.2, 6, dtype=F64)
    seeds = [5, 9, 1, 0, 2**64 - 1]
    batched = solve(sde, x0, ts, method, generator=seed_streams(seeds))
    for i, s in enumerate(seeds):
        alone = solve(sde, x0[i : i + 1], ts, method, generator=seed_streams([s]))
        torch.testing.assert_close(batched[i : i + 1], alone, rtol=1e-13, atol=1e-13)


@pytest.mark.gpu
@cuda
def test_cuda_draws_the_same_integers_and_normals_to_round_off() -> None:
    seeds = list(range(0, 2**64 - 1, 2**54 + 12345))[:300]
    cpu_words = SeedStreams(seeds).words(1000, "cpu")
    gpu_words = SeedStreams(seeds).words(1000, "cuda")
    assert torch.equal(cpu_words, gpu_words.cpu())
    a = randn((len(seeds), 3, 17, 5), SeedStreams(seeds), CPU, F64)
    b = randn((len(seeds), 3, 17, 5), SeedStreams(seeds), torch.device("cuda"), F64)
    torch.testing.assert_close(b.cpu(), a, rtol=1e-12, atol=1e-12)
    u = rand(len(seeds), SeedStreams(seeds), torch.device("cuda"), F64)
    assert torch.equal(u.cpu(), rand(len(seeds), SeedStreams(seeds), CPU, F64))


@pytest.mark.parametrize("count", [8, 7, 1])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_seed_streams_normal_fills_out_with_the_allocating_draw(count: int, dtype: torch.dtype) -> None:
    """``out`` only saves an allocation: even and odd counts (an odd count cannot be written in place) and both
    dtypes give the numbers of the draw without it, and ``out`` holds them."""
    out = torch.full((3, count), math.nan, dtype=dtype)
    got = SeedStreams([1, 2, 3]).normal(count, CPU, dtype, out=out)
    want = SeedStreams([1, 2, 3]).normal(count, CPU, dtype)
    assert torch.equal(out, want) and torch.equal(got.reshape(3, count), want)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: torch.empty(8, 3),  # more rows: copy_ would have broadcast one draw into both halves
        lambda: torch.empty(4, 6),
        lambda: torch.empty(4, 3, dtype=torch.float64),  # dtype differs
        lambda: torch.empty(3, 4).T,  # not contiguous
    ],
    ids=["rows", "columns", "dtype", "strided"],
)
@pytest.mark.parametrize("kind", ["generator", "streams", "list"])
def test_a_wrong_out_is_refused_naming_what_was_expected(bad, kind: str) -> None:
    gen = {
        "generator": torch.Generator().manual_seed(0),
        "streams": SeedStreams(range(4)),
        "list": [torch.Generator().manual_seed(s) for s in range(4)],
    }[kind]
    with pytest.raises(ValueError, match=r"out must be a contiguous tensor of shape \(4, 3\), dtype torch.float32"):
        randn((4, 3), gen, CPU, torch.float32, out=bad())


@pytest.mark.parametrize("block", [1, 5, 64])
def test_draw_keys_made_in_blocks_equal_the_per_draw_formula(block: int, monkeypatch) -> None:
    """The keys of up to _KEY_BLOCK draws are made at once; every draw's words are still the scheme's
    ``mix(mix(mix(seed + γ) + (j + 1) γ) + (e + 1) γ)``, across block boundaries and after reset()."""
    import sdesolve.random as R

    monkeypatch.setattr(R, "_KEY_BLOCK", block)
    seeds = [0, 7, 2**64 - 1]
    streams = SeedStreams(seeds)

    def expected(j: int) -> list[list[int]]:
        return [
            [
                R._signed(R.mix64(R.mix64(R.mix64(s + R._GAMMA) + (j + 1) * R._GAMMA) + (e + 1) * R._GAMMA))
                for e in range(3)
            ]
            for s in seeds
        ]

    for j in range(12):
        assert streams.words(3, CPU).tolist() == expected(j), j
    streams.reset()
    assert streams.words(3, CPU).tolist() == expected(0)
    assert streams.words(3, CPU).tolist() == expected(1)
