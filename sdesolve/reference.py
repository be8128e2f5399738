"""Reference solutions from the peer libraries: torchsde for SDEs, torchdiffeq for ODEs.

Both integrate the same :class:`~sdesolve.SemilinearSDE` in solver time ``s`` (``s = t`` for an increasing
grid, ``s = -t`` for a decreasing one), so that ``torchsde.sdeint`` and :func:`sdesolve.solve` can be
driven by the very same Brownian path ``bm``.
"""

from __future__ import annotations

from typing import Any

import torch
import torchdiffeq
import torchsde
from torch import Tensor

from sdesolve.problem import SemilinearSDE
from sdesolve.solve import Grid, as_time_grid

__all__ = ["TorchsdeProblem", "brownian_interval", "odeint_reference", "sdeint_reference"]


class TorchsdeProblem(torch.nn.Module):
    """A :class:`SemilinearSDE` as a torchsde Itô SDE with additive noise, in solver time, on flat states.

    ``f(s, y) = sign · (a(t) y + N(t, y))`` and ``g(s) = g(t)`` with ``t = sign · s``; ``y`` has shape
    ``(batch, prod(event))``.
    """

    noise_type = "additive"
    sde_type = "ito"

    def __init__(self, sde: SemilinearSDE, event_shape: tuple[int, ...], sign: float) -> None:
        super().__init__()
        self.sde = sde
        self.event_shape = event_shape
        self.sign = sign

    def _t(self, s: Tensor, batch: int, like: Tensor) -> Tensor:
        return (self.sign * s).to(like.dtype).expand(batch)

    def f(self, s: Tensor, y: Tensor) -> Tensor:
        x = y.reshape(y.shape[0], *self.event_shape)
        return (self.sign * self.sde.drift(self._t(s, y.shape[0], y), x)).reshape(y.shape)

    def g_prod(self, s: Tensor, y: Tensor, v: Tensor) -> Tensor:
        t = (self.sign * s).to(torch.float64).reshape(1)
        return self.sde.diffusion(t).to(y.dtype) * v


def _solver_times(grid: Tensor) -> tuple[Tensor, float]:
    sign = 1.0 if float(grid[1] - grid[0]) > 0 else -1.0
    return sign * grid, sign


def brownian_interval(
    ts: Grid,
    shape: tuple[int, ...],
    *,
    seed: int,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    levy_area: bool = True,
    **kwargs: Any,
) -> torchsde.BrownianInterval:
    """A torchsde ``BrownianInterval`` over the solver-time span of ``ts`` for states of ``shape``.

    Usable as ``bm`` by both :func:`sdesolve.solve` and :func:`sdeint_reference`; with ``levy_area`` it also
    answers the space-time Lévy area (needed by torchsde's ``srk`` and by SRA-type steppers).
    """
    grid = as_time_grid(ts)
    s, _ = _solver_times(grid)
    batch, rest = shape[0], shape[1:]
    size = (batch, int(torch.tensor(rest).prod()) if rest else 1)
    return torchsde.BrownianInterval(
        t0=float(s[0]),
        t1=float(s[-1]),
        size=size,
        dtype=dtype,
        device=device,
        entropy=seed,
        levy_area_approximation="space-time" if levy_area else "none",
        **kwargs,
    )


def sdeint_reference(
    sde: SemilinearSDE,
    x0: Tensor,
    ts: Grid,
    bm: Any,
    *,
    method: str = "srk",
    dt: float | None = None,
    trajectory: bool = False,
) -> Tensor:
    """Solve with ``torchsde.sdeint`` on the path ``bm`` (fixed step ``dt``, default: the grid's smallest step).

    Returns the state at ``ts[-1]`` (or at every ``ts`` with ``trajectory=True``) shaped like ``x0``.
    """
    if sde.is_ode:
        raise ValueError("sdeint_reference needs noise (g); use odeint_reference for ODEs")
    grid = as_time_grid(ts)
    s, sign = _solver_times(grid)
    step = float((s[1:] - s[:-1]).min()) if dt is None else float(dt)
    problem = TorchsdeProblem(sde, tuple(x0.shape[1:]), sign)
    y0 = x0.reshape(x0.shape[0], -1)
    ys = torchsde.sdeint(problem, y0, s.to(x0.dtype).to(x0.device), bm=bm, method=method, dt=step)
    ys = ys.reshape(ys.shape[0], *x0.shape)
    return ys if trajectory else ys[-1]


def odeint_reference(
    sde: SemilinearSDE,
    x0: Tensor,
    ts: Grid,
    *,
    method: str = "dopri5",
    rtol: float = 1e-10,
    atol: float = 1e-12,
    trajectory: bool = False,
    options: dict[str, Any] | None = None,
) -> Tensor:
    """Solve the ODE ``dx = (a x + b N) dt`` (noise ignored) with ``torchdiffeq.odeint`` (dopri5, tight tolerances).

    ``options`` go to torchdiffeq (e.g. ``{"jump_t": times}`` where the coefficients jump, as between the
    timesteps of a DDPM table).
    """
    grid = as_time_grid(ts)
    batch = x0.shape[0]

    def rhs(t: Tensor, x: Tensor) -> Tensor:
        return sde.drift(t.to(x.dtype).expand(batch), x)

    ys = torchdiffeq.odeint(
        rhs, x0, grid.to(x0.dtype).to(x0.device), method=method, rtol=rtol, atol=atol, options=options
    )
    return ys if trajectory else ys[-1]
