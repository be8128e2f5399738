"""The solve loop: shapes, dtypes, trajectories, both time directions, no host syncs inside the loop."""

from __future__ import annotations

import contextlib

import pytest
import torch

import sdesolve
from sdesolve import integrate, solve
from sdesolve.reference import brownian_interval
from tests.helpers import tv_sde

F64 = torch.float64
STEPPERS = sorted(sdesolve.steppers())


@pytest.mark.parametrize("method", STEPPERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_image_shaped_batches_and_dtypes(method: str, dtype: torch.dtype) -> None:
    x0 = torch.randn(3, 2, 4, 4, dtype=dtype)
    ts = torch.linspace(1.0, 0.1, 6)
    out = solve(tv_sde(), x0, ts, method, generator=torch.Generator().manual_seed(0))
    assert out.shape == x0.shape and out.dtype == dtype and torch.isfinite(out).all()
    traj = solve(tv_sde(), x0, ts, method, generator=torch.Generator().manual_seed(0), trajectory=True)
    assert traj.shape == (6, *x0.shape)
    assert torch.equal(traj[0], x0) and torch.equal(traj[-1], out)


@pytest.mark.parametrize("method", STEPPERS)
def test_a_shared_path_works_for_image_shaped_states(method: str) -> None:
    x0 = torch.randn(3, 2, 4, 4, dtype=F64)
    ts = torch.linspace(0.0, 1.0, 5, dtype=F64)
    bm = brownian_interval(ts, tuple(x0.shape), seed=0)
    out = solve(tv_sde(), x0, ts, method, bm=bm, generator=torch.Generator().manual_seed(0))
    again = solve(tv_sde(), x0, ts, method, bm=bm, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_the_same_generator_seed_reproduces_and_x0_is_not_modified() -> None:
    x0 = torch.randn(5, 2, dtype=F64)
    copy = x0.clone()
    a = solve(tv_sde(), x0, [0.0, 0.5, 1.0], "randomized_midpoint", generator=torch.Generator().manual_seed(7))
    b = solve(tv_sde(), x0, [0.0, 0.5, 1.0], "randomized_midpoint", generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and torch.equal(x0, copy)


def test_nonlinearity_receives_per_sample_times() -> None:
    seen = []

    def nonlinear(t, x):
        seen.append(t.clone())
        return torch.zeros_like(x)

    sde = sdesolve.SemilinearSDE(a=-1.0, nonlinear=nonlinear, g=1.0)
    solve(
        sde, torch.zeros(6, 2, dtype=F64), [1.0, 0.5], "randomized_midpoint", generator=torch.Generator().manual_seed(0)
    )
    assert [t.shape for t in seen] == [(6, 1), (6, 1)]  # one time per sample, broadcastable against x
    assert torch.all(seen[0] == 1.0)
    assert torch.all((seen[1] <= 1.0) & (seen[1] >= 0.5)) and seen[1].unique().numel() == 6


@contextlib.contextmanager
def _forbid_host_reads():
    """Any tensor → Python conversion (the way a loop synchronises with a device) raises."""
    names = ("item", "tolist", "__bool__", "__float__", "__int__", "numpy")
    saved = {n: getattr(torch.Tensor, n) for n in names}

    def forbidden(self, *args, **kwargs):
        raise AssertionError("host read of a tensor inside the time loop")

    try:
        for n in names:
            setattr(torch.Tensor, n, forbidden)
        yield
    finally:
        for n, f in saved.items():
            setattr(torch.Tensor, n, f)


@pytest.mark.parametrize("method", STEPPERS)
@pytest.mark.parametrize("noise", [True, False])
def test_steps_read_nothing_back_from_tensors(method: str, noise: bool) -> None:
    """Coefficients are precomputed: no .item()/.tolist()/bool() on tensors inside step()."""
    stepper = sdesolve.make_stepper(method)
    original = stepper.step

    def guarded(ctx, k, x, state):
        with _forbid_host_reads():
            return original(ctx, k, x, state)

    stepper.step = guarded
    res = integrate(tv_sde(noise), torch.randn(4, 3, dtype=F64), torch.linspace(1.0, 0.0, 5), stepper)
    assert res.nfe == 4 * stepper.nfe_per_step


@pytest.mark.gpu
@pytest.mark.parametrize("method", STEPPERS)
def test_cuda_loop_has_no_synchronisation(method: str) -> None:
    """CUDA sync debug mode: the number of synchronising calls does not grow with the number of steps."""
    import warnings

    x0 = torch.randn(64, 8, device="cuda")
    gen = torch.Generator(device="cuda").manual_seed(0)

    def count(n: int) -> int:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                solve(tv_sde(), x0, torch.linspace(1.0, 0.0, n + 1), method, generator=gen)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    count(2)  # first-use initialisation (kernels, generator state, allocator) may synchronise once: not counted
    assert count(16) == count(2)


@pytest.mark.gpu
@pytest.mark.parametrize("method", STEPPERS)
def test_cuda_and_cpu_agree_on_the_same_path(method: str) -> None:
    """The same Brownian path (recorded on the CPU) and the same CPU generator for anything else a stepper draws
    (randomized midpoints, bridge values): a CPU generator feeds every device the same numbers."""
    x0 = torch.randn(32, 3, dtype=F64)
    ts = torch.linspace(0.0, 1.0, 9, dtype=F64)
    bm_cpu = brownian_interval(ts, tuple(x0.shape), seed=0)
    dw = {}

    def recorded(sa, sb, return_U=False):
        key = (sa, sb, return_U)
        if key not in dw:
            dw[key] = bm_cpu(sa, sb, return_U=return_U)
        return dw[key]

    def on_cuda(sa, sb, return_U=False):
        out = recorded(sa, sb, return_U)
        return tuple(o.cuda() for o in out) if isinstance(out, tuple) else out.cuda()

    cpu = solve(tv_sde(), x0, ts, method, bm=recorded, generator=torch.Generator().manual_seed(1))
    gpu = solve(tv_sde(), x0.cuda(), ts, method, bm=on_cuda, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-10)


@pytest.mark.parametrize("method", ["euler_maruyama", "randomized_midpoint", "exponential_rk2"])
def test_one_generator_per_sample_makes_samples_independent_of_the_batch(method: str) -> None:
    x0 = torch.randn(4, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    ts = torch.linspace(1.0, 0.0, 6, dtype=F64)

    def gens(seeds):
        return [torch.Generator().manual_seed(s) for s in seeds]

    full = solve(tv_sde(), x0, ts, method, generator=gens([10, 11, 12, 13]))
    alone = solve(tv_sde(), x0[2:3], ts, method, generator=gens([12]))
    swapped = solve(tv_sde(), x0[[3, 1]], ts, method, generator=gens([13, 11]))
    assert torch.allclose(full[2:3], alone, rtol=0, atol=1e-14)
    assert torch.allclose(full[[3, 1]], swapped, rtol=0, atol=1e-14)


def test_generator_lists_are_checked() -> None:
    x0 = torch.zeros(3, 2, dtype=F64)
    with pytest.raises(ValueError, match="generator holds 2 generators for a batch of 3"):
        solve(tv_sde(), x0, [0.0, 1.0], generator=[torch.Generator(), torch.Generator()])
    with pytest.raises(TypeError, match="a list of them"):
        solve(tv_sde(), x0, [0.0, 1.0], generator=[torch.Generator(), 1, torch.Generator()])


def test_callback_sees_every_step() -> None:
    seen = []
    solve(tv_sde(), torch.zeros(2, 2, dtype=F64), torch.linspace(0, 1, 5), callback=lambda k, x: seen.append(k))
    assert seen == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="callback must be a callable"):
        solve(tv_sde(), torch.zeros(2, 2, dtype=F64), [0.0, 1.0], callback=3)


def test_non_finite_values_are_reported_with_their_step() -> None:
    sde = sdesolve.SemilinearSDE(a=-1.0, nonlinear=lambda t, x: torch.where(t > 0.55, x, x / 0), g=1.0)
    with pytest.raises(sdesolve.NonFiniteError, match=r"first appeared after step 5 of 10 \(t = 0.5 → 0.4\)") as info:
        solve(sde, torch.ones(3, 2, dtype=F64), torch.linspace(1, 0, 11, dtype=F64), "euler_maruyama")
    assert info.value.step == 5
    out = solve(sde, torch.ones(3, 2, dtype=F64), torch.linspace(1, 0, 11, dtype=F64), check_finite=False)
    assert not torch.isfinite(out).all()
