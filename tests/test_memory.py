"""Peak memory does not grow with the number of steps (issue 9, section 3).

Measurements run in a separate Python process (torch allocations are invisible to ``tracemalloc``): for each
configuration it solves once on a short grid (:data:`SHORT` steps), then on a long one (:data:`LONG` steps), and
reports the rise of the process's peak resident set size (``VmHWM``, reset to the current RSS, after handing freed
heap pages back, before each run). Whole-grid coefficient
tables made 10⁵ steps of ``exponential_euler`` or ``randomized_midpoint`` raise it by 5.6 GB (callable ``a``,
``g``) or 1.9 GB (constants); the budget is :data:`BUDGET_MIB`.

* ``test_long_solves_at_the_default_sub_cells_do_not_grow_memory`` (slow, about 40 s of CPU): the issue's cases
  with the default 32 sub-cells and callable ``a``, ``g``: a real 10⁵-step ``exponential_euler`` solve (every step,
  finite checks on: the solve loop itself keeps nothing per step) and ``randomized_midpoint`` across a 10⁵-step
  grid as below.
* ``test_every_stepper_visits_a_long_grid_in_bounded_memory`` (about 15 s of CPU): every built-in stepper ×
  callable/constant coefficients × SDE/ODE on a 10⁵-step grid, in one process (the peak is reset between runs),
  with :data:`MATRIX_SUBDIVISIONS` sub-cells (chunks hold the same number of values at any ``M``).

Running every step of a 2-NFE stepper takes minutes (about 1.7 ms per ``randomized_midpoint`` step on one core),
so in the ``visit`` runs the real stepper takes 3 consecutive steps every ``chunk_steps // 2`` steps and the last 3
(a multistep stepper keeps the history it expects; a wrapper passes the others, finite checks off): the coefficients
are prepared for the whole grid and every chunk of tables is built, in order, as in a full solve, which is where the
memory went.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import sdesolve
from sdesolve.coefficients import DEFAULT_SUBDIVISIONS, GridCoefficients, build_tables, chunk_steps

LONG = 100_000
SHORT = 100
BUDGET_MIB = 64.0
MATRIX_SUBDIVISIONS = 4  # cheap quadrature; whole-grid tables took 0.25-0.76 GB at 10⁵ steps
F64 = torch.float64

needs_proc = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and os.path.exists("/proc/self/clear_refs")),
    reason="measures the peak RSS through /proc/self/status (VmHWM) and /proc/self/clear_refs (Linux)",
)

_CHILD = r"""
import gc, json, re, sys
import torch
torch.set_num_threads(1)
import sdesolve
import sdesolve.coefficients
from sdesolve.steppers.base import Stepper

chunk_steps = getattr(sdesolve.coefficients, "chunk_steps", lambda m: 128)  # (a fallback to measure older code)

def peak_kib():
    return int(re.search(r"VmHWM:\s*(\d+) kB", open("/proc/self/status").read()).group(1))

def reset_peak():
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap pages back, so the next run cannot reuse them
    except (OSError, AttributeError):
        pass
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := current RSS

class Strided(Stepper):
    # The real stepper on 3 consecutive steps every stride-th step (and the last 3); other steps keep x.
    name = "strided"

    def __init__(self, inner, stride, n):
        self.inner, self.stride, self.n = inner, stride, n
        self.supports_noise = inner.supports_noise

    def init(self, ctx, x0):
        return self.inner.init(ctx, x0)

    def step(self, ctx, k, x, state):
        # visits of 3 consecutive steps: a multistep stepper's history (up to 3 evaluations) stays as long as it
        # expects; the numbers are meaningless, the memory is what is measured
        if k % self.stride >= 3 and k < self.n - 3:
            return x, state
        return self.inner.step(ctx, k, x, state)

def problem(coefficients, noise):
    if coefficients == "callable":
        g = (lambda t: torch.sqrt(1 + t)) if noise else None
        return sdesolve.SemilinearSDE(a=lambda t: -(1 + t), nonlinear=lambda t, x: torch.sin(x), g=g)
    return sdesolve.SemilinearSDE(a=-1.0, nonlinear=lambda t, x: torch.sin(x), g=1.0 if noise else None)

def run(method, coefficients, noise, mode, subdivisions, n):
    sde = problem(coefficients, noise)
    x0 = torch.zeros(8, 4, dtype=torch.float64)
    ts = torch.linspace(0.0, 1.0, n + 1, dtype=torch.float64)
    stepper = sdesolve.make_stepper(method)
    if mode == "visit":
        stepper = Strided(stepper, max(1, chunk_steps(subdivisions) // 2), n)
    out = sdesolve.solve(
        sde, x0, ts, stepper, generator=torch.Generator().manual_seed(0), subdivisions=subdivisions,
        check_finite=mode == "solve",
    )
    assert bool(torch.isfinite(out).all())

growth = []
for config in json.loads(sys.argv[1]):
    peaks = []
    for n in (int(sys.argv[2]), int(sys.argv[3])):
        reset_peak()
        run(*config, n)
        peaks.append(peak_kib())
    growth.append((peaks[1] - peaks[0]) / 1024.0)
print(json.dumps(growth))
"""


def _growth_mib(configs: list[tuple], timeout: float = 600.0) -> list[float]:
    """Peak-RSS growth (MiB) of a :data:`LONG`-step run over a :data:`SHORT`-step run, per configuration."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(configs), str(SHORT), str(LONG)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(configs: list[tuple]) -> None:
    growth = _growth_mib(configs)
    report = {str(c): round(g, 1) for c, g in zip(configs, growth, strict=True)}
    assert all(g < BUDGET_MIB for g in growth), f"peak memory grew by more than {BUDGET_MIB} MiB: {report}"


@needs_proc
@pytest.mark.slow
def test_long_solves_at_the_default_sub_cells_do_not_grow_memory() -> None:
    """The issue's cases at the default 32 sub-cells, callable a, g: 10⁵ real exponential-Euler steps of an SDE on
    an 8×4 state (every step, finite checks on), and randomized-midpoint steps across a 10⁵-step grid."""
    _check(
        [
            ("exponential_euler", "callable", True, "solve", DEFAULT_SUBDIVISIONS),
            ("randomized_midpoint", "callable", True, "visit", DEFAULT_SUBDIVISIONS),
        ]
    )


@pytest.mark.slow
@needs_proc
def test_every_stepper_visits_a_long_grid_in_bounded_memory() -> None:
    """Every built-in stepper × callable/constant coefficients × SDE/ODE on a 10⁵-step grid (one process)."""
    configs = [
        (method, coefficients, noise, "visit", MATRIX_SUBDIVISIONS)
        for method in sorted(sdesolve.steppers())
        for coefficients in ("callable", "constant")
        for noise in (True, False)
    ]
    _check(configs)


# --- the chunked coefficients are the whole-grid ones ---------------------------------------------------------


def _tv_sde(noise: bool = True, calls: list | None = None) -> sdesolve.SemilinearSDE:
    def a(t):
        if calls is not None:
            calls.append(t.dim())
        return -1.0 - 0.5 * torch.cos(t)

    return sdesolve.SemilinearSDE(
        a=a,
        b=lambda t: 1.0 + 0.3 * t,
        nonlinear=lambda t, x: torch.sin(x),
        g=(lambda t: 0.5 + 0.3 * torch.sin(t)) if noise else None,
    )


@pytest.mark.parametrize("noise", [True, False])
@pytest.mark.parametrize("backward", [False, True])
def test_chunked_coefficients_equal_the_whole_grid_tables(noise: bool, backward: bool) -> None:
    ts = torch.linspace(0.05, 1.3, 41, dtype=F64) ** 1.5
    ts = ts.flip(0) if backward else ts
    sde = _tv_sde(noise)
    whole = GridCoefficients(sde, ts, device="cpu", dtype=F64, chunk=10_000)
    chunked = GridCoefficients(sde, ts, device="cpu", dtype=F64, chunk=3)
    tables = build_tables(sde, ts[:-1], ts[1:], DEFAULT_SUBDIVISIONS)
    ex = torch.exp(tables.L[:, -1])
    expected = {
        "state_weight": ex,
        "phi1": ex * tables.P[:, -1],
        "noise_std": ex * tables.Q[:, -1].abs().sqrt(),
        "path_mean": ex * tables.G[:, -1] / tables.h,
        "phi2": ex * tables.K[:, -1],
    }
    for name, want in expected.items():
        for coef in (whole, chunked):
            got = torch.from_numpy(np.array(getattr(coef, name)))
            assert torch.allclose(got, want, rtol=1e-15, atol=0), name
    for name in ("h", "abs_h", "sqrt_h", "s", "a0", "a1", "b0", "b1", "g0", "g1"):
        assert np.array_equal(getattr(whole, name), getattr(chunked, name)), name
        assert isinstance(getattr(chunked, name)[3], float), name
    for got, want in zip(chunked.fixed_split(0.4), whole.fixed_split(0.4), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    gen = torch.Generator().manual_seed(0)
    for k in (17, 2, 39, 0, 18, 17):  # random access: chunks are rebuilt on demand
        q = torch.rand(5, dtype=F64, generator=gen)
        assert torch.allclose(chunked.importance_fraction(k, q), whole.importance_fraction(k, q), rtol=1e-15, atol=0)
        for got, want in zip(chunked.split(k, q), whole.split(k, q), strict=True):
            assert torch.allclose(got, want, rtol=1e-15, atol=1e-300)


def test_check_importance_streams_over_every_step() -> None:
    """b changes sign inside the very last step of a long grid: the streamed check still finds it."""
    n = 5_000
    sde = sdesolve.SemilinearSDE(a=lambda t: -(1 + t), b=lambda t: t - (1 - 0.5 / n), nonlinear=lambda t, x: x)
    coef = GridCoefficients(sde, torch.linspace(0.0, 1.0, n + 1, dtype=F64), device="cpu", dtype=F64, chunk=7)
    with pytest.raises(ValueError, match="one sign"):
        coef.check_importance("randomized_midpoint")
    ok = GridCoefficients(_tv_sde(), torch.linspace(0.0, 1.0, n + 1, dtype=F64), device="cpu", dtype=F64, chunk=7)
    ok.check_importance("randomized_midpoint")


@pytest.mark.parametrize("method", ["euler_maruyama", "heun", "sra1"])
def test_steppers_that_need_no_integrals_build_no_tables(method: str) -> None:
    """Euler–Maruyama, Heun and SRA1 read a, b, g at grid times only: a(t) is never called on a sub-grid."""
    if method not in sdesolve.steppers():
        pytest.skip(f"{method} is not installed")
    calls: list[int] = []
    sdesolve.solve(_tv_sde(calls=calls), torch.zeros(3, 2, dtype=F64), torch.linspace(0, 1, 50), method)
    assert calls and set(calls) == {1}, calls
    calls.clear()
    sdesolve.solve(_tv_sde(calls=calls), torch.zeros(3, 2, dtype=F64), torch.linspace(0, 1, 50), "exponential_euler")
    assert 4 in calls  # the exponential weights do need the nested quadrature of L


@pytest.mark.parametrize("method", sorted(sdesolve.steppers()))
def test_chunks_built_inside_the_loop_read_nothing_back(method: str) -> None:
    """With one step per chunk (4096 sub-cells) every step builds tables, and still reads no tensor back."""
    from tests.helpers import tv_sde
    from tests.test_solve import _forbid_host_reads

    assert chunk_steps(4096) == 1
    stepper = sdesolve.make_stepper(method)
    original = stepper.step

    def guarded(ctx, k, x, state):
        with _forbid_host_reads():
            return original(ctx, k, x, state)

    stepper.step = guarded
    res = sdesolve.integrate(
        tv_sde(), torch.randn(4, 3, dtype=F64), torch.linspace(1.0, 0.0, 6), stepper, subdivisions=4096
    )
    assert res.nfe == 5 * stepper.nfe_per_step
