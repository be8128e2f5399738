"""The solve loop: validate, precompute grid coefficients once, step; with a tolerance, dispatch to the adaptive
drivers (:mod:`sdesolve.adaptive`, :mod:`sdesolve.adaptive_sde`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sdesolve.adaptive import AdaptiveResult, EmbeddedPair, PIController, adaptive_pair, solve_adaptive
from sdesolve.coefficients import DEFAULT_SUBDIVISIONS, GridCoefficients
from sdesolve.finite import FiniteMonitor
from sdesolve.noise import GaussianNoise, Noise, PathNoise, check_levy_area
from sdesolve.options import check_options
from sdesolve.plugins import get_stepper, registry
from sdesolve.problem import SemilinearSDE
from sdesolve.random import Generators, check_generators
from sdesolve.steppers.base import SolveContext, Stepper

__all__ = ["SolveResult", "as_time_grid", "integrate", "make_stepper", "solve"]

Grid = Tensor | Sequence[float] | np.ndarray


@dataclass(frozen=True)
class SolveResult:
    """Result of :func:`integrate`: the final state, the trajectory (``None`` unless asked) and the NFE."""

    x: Tensor
    trajectory: Tensor | None
    nfe: int
    stepper: Stepper


def as_time_grid(ts: Grid) -> Tensor:
    """``ts`` as a float64 CPU tensor, checked: 1-D, at least 2 finite strictly monotone times."""
    if isinstance(ts, Tensor):
        grid = ts.detach().to(device="cpu", dtype=torch.float64)
    else:
        try:
            grid = torch.as_tensor(np.asarray(ts, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"ts must be a 1-D tensor or sequence of times, got {type(ts).__name__}") from exc
    if grid.dim() != 1:
        raise ValueError(f"ts must be 1-D, got shape {tuple(grid.shape)}")
    if grid.numel() < 2:
        raise ValueError(f"ts must hold at least 2 times (one step), got {grid.numel()}")
    if not bool(torch.isfinite(grid).all()):
        raise ValueError("ts must be finite")
    diffs = grid[1:] - grid[:-1]
    if not (bool((diffs > 0).all()) or bool((diffs < 0).all())):
        bad = int(torch.nonzero(torch.sign(diffs) != torch.sign(diffs[0]))[0]) if bool(diffs[0] != 0) else 0
        raise ValueError(
            "ts must be strictly monotone (all increasing or all decreasing); "
            f"it breaks at index {bad + 1}: ts[{bad}]={float(grid[bad])}, ts[{bad + 1}]={float(grid[bad + 1])}"
        )
    return grid


def make_stepper(method: str | Stepper | type[Stepper], **options: Any) -> Stepper:
    """A stepper instance from a registered name (or a class/instance), with its options checked."""
    if isinstance(method, Stepper):
        if options:
            raise TypeError("stepper options cannot be combined with a stepper instance; configure the instance")
        return method
    if isinstance(method, type) and issubclass(method, Stepper):
        cls = method
    elif isinstance(method, str):
        try:
            cls = get_stepper(method)
        except KeyError as exc:
            raise ValueError(f"method: {exc.args[0]}{_sampler_hint(method)}") from None
    else:
        raise TypeError(f"method must be a stepper name, class or instance, got {type(method).__name__}")
    check_options(f"stepper {cls.name!r}", options, cls.options())
    return cls(**options)


def _refuse_untracked_gradients(sde: SemilinearSDE, ts: Any) -> None:
    """Gradients flow through ``x0`` and ``N`` only: the grid's coefficients are float64 constants computed once.

    Rather than drop them silently, refuse a ``ts`` or an ``a``/``b``/``g`` that would carry gradients.
    """
    if not torch.is_grad_enabled():
        return
    why = (
        "sdesolve precomputes the step coefficients from ts, a, b and g once, in float64, as constants, so "
        "gradients with respect to them are not tracked (gradients through x0 and through N's parameters are)"
    )
    if isinstance(ts, Tensor) and ts.requires_grad:
        raise ValueError(f"ts requires grad: {why}; pass ts.detach(), or use torchsde/torchdiffeq for those gradients")
    probe = torch.tensor([0.0], dtype=torch.float64)
    if isinstance(ts, Tensor) and ts.numel() > 0:
        probe = ts.detach().reshape(-1)[:1].to(device="cpu", dtype=torch.float64)
    for name, fn in (("a", sde.linear), ("b", sde.weight), ("g", sde.diffusion)):
        try:
            value = fn(probe)
        except Exception:  # reported with its own message when the grid's coefficients are computed
            continue
        if isinstance(value, Tensor) and value.requires_grad:
            raise ValueError(
                f"{name}(t) returns a tensor that requires grad (it depends on learnable parameters): {why}; "
                f"compute {name}(t) under torch.no_grad() / with detached parameters, or use torchsde/torchdiffeq "
                "for those gradients"
            )


def _sampler_hint(name: str) -> str:
    """When ``name`` is a registered diffusion sampler rather than a stepper, say so and name its stepper."""
    sampler = registry().items["sampler"].get(name)
    if sampler is None:
        return ""
    stepper = getattr(sampler, "stepper", None)
    uses = f"; its stepper is {stepper!r}, pass method={stepper!r} to solve" if stepper else ""
    return f". {name!r} is a diffusion sampler: call sdesolve.sample(model, x_T, {name!r}, ...){uses}"


def _check_state(x0: Any) -> Tensor:
    if not isinstance(x0, Tensor):
        raise TypeError(f"x0 must be a torch.Tensor of shape (batch, *event), got {type(x0).__name__}")
    if not x0.is_floating_point():
        raise TypeError(f"x0 must have a floating dtype, got {x0.dtype}")
    if x0.dim() < 1 or x0.shape[0] < 1:
        raise ValueError(f"x0 must have shape (batch, *event) with batch >= 1, got {tuple(x0.shape)}")
    if not bool(torch.isfinite(x0).all()):
        raise ValueError("x0 must be finite; it contains NaN or infinite values")
    return x0


def integrate(
    sde: SemilinearSDE,
    x0: Tensor,
    ts: Grid,
    method: str | Stepper | type[Stepper] | EmbeddedPair | None = None,
    *,
    bm: Callable[..., Tensor] | None = None,
    generator: Generators = None,
    trajectory: bool = False,
    subdivisions: int | None = None,
    callback: Callable[[int, Tensor], None] | None = None,
    check_finite: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    controller: PIController | None = None,
    **stepper_options: Any,
) -> SolveResult | AdaptiveResult:
    """Like :func:`solve`, returning a :class:`SolveResult` (with the number of ``N`` evaluations), or with a
    tolerance an :class:`~sdesolve.adaptive.AdaptiveResult` (accepted and rejected steps, NFE)."""
    if rtol is not None or atol is not None or controller is not None:
        return _integrate_adaptive(
            sde, x0, ts, method, bm, generator, trajectory, subdivisions, callback, check_finite, rtol, atol,
            controller, stepper_options,
        )  # fmt: skip
    if method is None:
        method = "exponential_euler"
    if subdivisions is None:
        subdivisions = DEFAULT_SUBDIVISIONS
    if isinstance(method, EmbeddedPair):
        raise TypeError("an EmbeddedPair is an adaptive method: give rtol and atol (or controller=) with it")
    if not isinstance(sde, SemilinearSDE):
        raise TypeError(f"sde must be an sdesolve.SemilinearSDE, got {type(sde).__name__}")
    x0 = _check_state(x0)
    _refuse_untracked_gradients(sde, ts)
    grid = as_time_grid(ts)
    stepper = make_stepper(method, **stepper_options)
    if not sde.is_ode and not stepper.supports_noise:
        raise ValueError(
            f"stepper {stepper.name!r} supports ODEs only (supports_noise=False) but the problem has noise "
            "g; pass g=None or choose a stepper that supports noise"
        )
    if bm is not None and sde.is_ode:
        raise ValueError("bm was given but the problem is an ODE (g is None); drop bm or give g")
    if bm is not None and getattr(stepper, "needs_levy_area", False):
        check_levy_area(bm, stepper.name)  # up front: not after a solve's worth of steps
    check_generators(generator, x0.shape[0], x0.device)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a callable callback(k, x), got {type(callback).__name__}")
    if isinstance(subdivisions, bool) or not isinstance(subdivisions, int) or subdivisions < 1:
        raise ValueError(f"subdivisions must be a positive integer, got {subdivisions!r}")

    coef = GridCoefficients(sde, grid, device=x0.device, dtype=x0.dtype, subdivisions=subdivisions)
    noise: Noise | None = None
    if not sde.is_ode:
        noise = GaussianNoise(coef, generator) if bm is None else PathNoise(coef, bm, generator)
    ctx = SolveContext(sde, coef, noise, generator, batch=x0.shape[0])
    state = stepper.init(ctx, x0)
    x = x0
    states = [x0] if trajectory else None
    monitor = FiniteMonitor(x0.device) if check_finite else None
    for k in range(coef.n):
        x, state = stepper.step(ctx, k, x, state)
        if monitor is not None:
            monitor.update(k, x)
        if states is not None:
            states.append(x)
        if callback is not None:
            callback(k, x)
    if monitor is not None:
        monitor.check(lambda k: f"step {k} of {coef.n} (t = {coef.ts[k].item():g} → {coef.ts[k + 1].item():g})")
    traj = torch.stack(states) if states is not None else None
    return SolveResult(x=x, trajectory=traj, nfe=ctx.nfe, stepper=stepper)


def solve(
    sde: SemilinearSDE,
    x0: Tensor,
    ts: Grid,
    method: str | Stepper | type[Stepper] | EmbeddedPair | None = None,
    *,
    bm: Callable[..., Tensor] | None = None,
    generator: Generators = None,
    trajectory: bool = False,
    subdivisions: int | None = None,
    callback: Callable[[int, Tensor], None] | None = None,
    check_finite: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    controller: PIController | None = None,
    **stepper_options: Any,
) -> Tensor:
    """Integrate ``sde`` from ``x0`` at ``ts[0]`` over the step grid ``ts`` (each consecutive pair is a step), or,
    with ``rtol``/``atol`` or ``controller``, with adaptive steps.

    Args:
        sde: the problem.
        x0: initial state, shape ``(batch, *event)``, any floating dtype and device.
        ts: strictly monotone times (increasing, or decreasing for reverse-time sampling). Adaptive: ``ts[0]``
            and ``ts[-1]`` are the interval and every time of ``ts`` is a forced stop (the state is recorded
            there, as torchdiffeq's ``t``).
        method: a registered stepper name (see ``sdesolve list``), or a stepper class or instance (default
            ``"exponential_euler"``). Adaptive: a method with an embedded error estimate — ``"bosh3"`` (the ODE
            default), ``"heun"``, ``"exponential_rk2"`` (the SDE default), a stepper declaring ``embedded_pair``,
            or an :class:`~sdesolve.adaptive.EmbeddedPair` (:func:`sdesolve.adaptive.adaptive_pair`).
        bm: a Brownian path in solver time, ``bm(sa, sb) -> W(sb) - W(sa)`` (``s = t`` for increasing
            ``ts``, ``s = -t`` for decreasing); e.g. a ``torchsde.BrownianInterval`` of size
            ``(batch, prod(event))``. Default: fresh Gaussian noise from ``generator``.
        generator: the ``torch.Generator`` for fresh noise and random midpoints (on ``x0``'s device or the CPU),
            a list with one generator per sample (each sample then depends only on its own generator),
            :class:`~sdesolve.random.SeedStreams` (per-sample seeds), or :class:`~sdesolve.random.NativeDraws`
            (torch's draws in ``x0``'s dtype: fastest, but float32 and float64 runs then see different noise).
        trajectory: return all ``len(ts)`` states stacked on a new leading dimension.
        subdivisions: cells per step of the coefficient tables (per-sample midpoints interpolate them).
        callback: called as ``callback(k, x)`` after step ``k`` (no device synchronisation is implied).
        check_finite: raise :class:`sdesolve.finite.NonFiniteError` naming the first step after which the state
            held a NaN or an infinity (tracked on the device; one host read after the loop).
        rtol: relative tolerance of adaptive steps (with ``atol``; see :mod:`sdesolve.adaptive`).
        atol: absolute tolerance of adaptive steps.
        controller: a :class:`~sdesolve.adaptive.PIController` (instead of ``rtol``/``atol``): PI coefficients,
            step bounds, extra forced stops, per-sample or batch-shared steps.
        **stepper_options: options of the stepper (e.g. ``distribution="uniform"``); adaptive solves also take
            the driver's ``dt0`` and ``max_steps`` (:func:`sdesolve.adaptive.solve_adaptive`).

    Returns:
        The state at ``ts[-1]``, or the trajectory: the states at every time of ``ts``. For the numbers of
        accepted and rejected steps and NFE of an adaptive solve, call :func:`integrate`.
    """
    result = integrate(
        sde,
        x0,
        ts,
        method,
        bm=bm,
        generator=generator,
        trajectory=trajectory,
        subdivisions=subdivisions,
        callback=callback,
        check_finite=check_finite,
        rtol=rtol,
        atol=atol,
        controller=controller,
        **stepper_options,
    )
    return result.trajectory if trajectory else result.x


def _integrate_adaptive(
    sde: SemilinearSDE,
    x0: Tensor,
    ts: Grid,
    method: Any,
    bm: Callable[..., Tensor] | None,
    generator: Generators,
    trajectory: bool,
    subdivisions: int | None,
    callback: Any,
    check_finite: bool,
    rtol: float | None,
    atol: float | None,
    controller: PIController | None,
    stepper_options: dict[str, Any],
) -> AdaptiveResult:
    """``integrate`` with a tolerance: refuse the fixed-grid-only options, resolve the pair, run the driver."""
    if callback is not None:
        raise ValueError(
            "callback is a fixed-grid option (called after step k of ts); adaptive steps (rtol/atol/controller) do "
            "not take it: record states with a grid of more times (forced stops) and trajectory=True"
        )
    if check_finite is not True:
        raise ValueError(
            "check_finite is a fixed-grid option; adaptive steps always reject a non-finite step and retry it smaller "
            "(StepSizeError when that fails): drop check_finite"
        )
    if not isinstance(sde, SemilinearSDE):
        raise TypeError(f"sde must be an sdesolve.SemilinearSDE, got {type(sde).__name__}")
    x0 = _check_state(x0)
    _refuse_untracked_gradients(sde, ts)
    grid = as_time_grid(ts)
    if method is None:
        method = "bosh3" if sde.is_ode else "exponential_rk2"
    options = dict(stepper_options)
    driver = {k: options.pop(k) for k in ("dt0", "max_steps") if k in options}  # the driver's, not the pair's
    pair = adaptive_pair(method, **options)
    if bm is not None and sde.is_ode:
        raise ValueError("bm was given but the problem is an ODE (g is None); drop bm or give g")
    t_eval = grid if (trajectory or grid.numel() > 2) else None
    return solve_adaptive(
        sde,
        x0,
        (float(grid[0]), float(grid[-1])),
        pair,
        rtol=rtol,
        atol=atol,
        controller=controller,
        t_eval=t_eval,
        subdivisions=2 if subdivisions is None else subdivisions,
        bm=bm,
        generator=generator,
        **driver,
    )
