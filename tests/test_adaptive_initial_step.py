"""The adaptive drivers' starting-step heuristic (Hairer-Nørsett-Wanner II.4) probes ``F`` one Euler step ahead; the
probe must stay inside the integration interval. Found by the property test of ``sdesolve.sample``: the ``adaptive``
sampler with an x0-prediction model on the DDPM table probed t = 1000 - 2550 < 0, got an infinite slope there and
started with a zero step ("step size 0 at t = 1000 is below round-off"); that case is in the diffusion plugin's
``tests/test_adaptive_initial_step_sampler.py``."""

from __future__ import annotations

import torch

import sdesolve

F64 = torch.float64


def _undefined_beyond(t_lo: float, t_hi: float, g=None) -> sdesolve.SemilinearSDE:
    """A slow problem on [t_lo, t_hi] whose N is infinite outside it (as a table-driven schedule can be)."""

    def nonlinear(t, x):
        inside = (t >= t_lo - 1e-12) & (t <= t_hi + 1e-12)
        return torch.where(inside, 1e-6 * torch.tanh(x), torch.full_like(x, float("inf")))

    return sdesolve.SemilinearSDE(a=lambda t: 0.0 * t, b=lambda t: 1.0 + 0.0 * t, g=g, nonlinear=nonlinear)


def test_ode_driver_probes_inside_the_interval() -> None:
    x0 = torch.full((2, 1), 0.25, dtype=F64)
    out = sdesolve.integrate(_undefined_beyond(0.0, 1.0), x0, [1.0, 0.0], "bosh3", rtol=1e-3, atol=1e-3)
    assert torch.isfinite(out.x).all()
    assert torch.allclose(out.x, x0, atol=1e-5)  # the slope is 1e-6 · tanh(0.25)


def test_sde_driver_probes_inside_the_interval() -> None:
    x0 = torch.full((3, 1), 0.25, dtype=F64)
    sde = _undefined_beyond(0.0, 1.0, g=lambda t: 1e-3 + 0.0 * t)
    out = sdesolve.integrate(
        sde, x0, [1.0, 0.0], "exponential_rk2", rtol=1e-3, atol=1e-3, generator=torch.Generator().manual_seed(0)
    )
    assert torch.isfinite(out.x).all()


def test_the_shared_starting_step_formulas_scalar_and_per_sample() -> None:
    """hnw_first_guess/hnw_refine serve both drivers (one value, or one per sample): the same numbers either way."""
    import numpy as np

    from sdesolve.adaptive import hnw_first_guess, hnw_refine

    d0 = np.array([1.0, 1e-7, 2.0, 3.0])
    d1 = np.array([4.0, 1.0, 1e-9, 0.5])
    h0 = hnw_first_guess(d0, d1, dt_max=0.05, span=0.02)
    assert np.allclose(h0, [0.0025, 1e-6, 1e-6, 0.02])  # 0.01 d0/d1, tiny norms, capped by span < dt_max
    assert all(float(hnw_first_guess(a, b, 0.05, 0.02)) == h for a, b, h in zip(d0, d1, h0, strict=True))
    d2 = np.array([1e-20, np.nan, 4.0, 1e6])
    h = hnw_refine(h0, np.array([1e-20, 1.0, 1.0, 1.0]), d2, order=2.0)
    assert h[0] == max(1e-6, h0[0] * 1e-3)  # both derivatives negligible
    assert h[1] == h0[1] * 1e-3  # a failed trial starts small
    assert h[2] == min(100 * h0[2], (0.01 / 4.0) ** 0.5)  # capped at 100 h0
    assert h[3] == (0.01 / 1e6) ** 0.5
    assert all(float(hnw_refine(a, b, c, 2.0)) == v for a, b, c, v in zip(h0, [1e-20, 1, 1, 1], d2, h, strict=True))
