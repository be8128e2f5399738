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
