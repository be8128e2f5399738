"""Adaptive SDE steps (and per-sample adaptive ODE steps): the driver behind ``solve(..., rtol=, atol=)`` for SDEs.

``dX = (a(t) X + b(t) N(t, X)) dt + g(t) dW`` from ``t0`` to ``t1`` with an embedded pair whose two solutions are
driven by the **same** Brownian increment (Jolicoeur-Martineau et al. 2021, "Gotta Go Fast"):

* ``heun``: the Euler–Maruyama step ``x̃ = x + h F(t, x) + g(t) ΔW`` and the improved-Euler (stochastic Heun)
  step ``x' = x + h/2 (F(t, x) + F(t', x̃)) + (g(t) + g(t'))/2 ΔW``, error ``x' - x̃``;
* ``exponential_rk2``: the exponential Euler step ``x_E = (Φ(t)/Φ(t')) x + phi1 N(t, x) + w̄ ΔW`` and exponential
  Heun (ETD2RK) ``x' = x_E + (phi2/h)(N(t', x_E) - N(t, x))``, error ``x' - x_E`` (``w̄``: the mean of the weight
  ``Φ(u) g(u)/Φ(t')`` over the step, so ``w̄ ΔW`` is the conditional mean of the weighted noise integral).

Both advance the higher-order solution (local extrapolation) and cost 2 NFE per attempt. The scaled error is the
RMS over each sample's coordinates of ``err / (atol + rtol max(|x|, |x_new|))``; with additive noise ``err`` is
``O(h^{3/2})`` (the drift's response to the increment), so the controller's exponent is ``1/1.5``
(``EmbeddedPair.noise_error_order``).

**Per-sample steps (default without ``bm``).** Every sample has its own time, step size, controller memory and
Brownian path (:class:`~sdesolve.brownian.BrownianBridgePath`): a rejected step is retried on the same path,
the shorter increment drawn from the Brownian bridge. All samples are attempted together (one batched call of
``N`` per stage, with per-sample times), accepted or rejected one by one; finished samples wait (their rows are
still evaluated, at their final time). With :class:`~sdesolve.random.SeedStreams` or one generator per sample,
sample ``i`` depends only on its own seed: results are batch-invariant.

**Batch-shared steps (with ``bm``, or ``PIController(per_sample=False)``).** The error is the maximum over the
batch and all samples take the same steps, so a user path ``bm(sa, sb)`` (a ``torchsde.BrownianInterval``, which
answers one time for the whole batch) can be re-queried after a rejection. On the accepted times the result is the
fixed-grid stepper's with the same ``bm`` (``heun``; ``exponential_rk2`` with ``r = 1``).

**Synchronisation.** The controller runs on the host: one ``(batch,)`` read of the scaled errors per attempt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sdesolve.adaptive import (
    AdaptiveResult,
    BatchContext,
    EmbeddedPair,
    PIController,
    StepSizeError,
    _check_span,
    _check_state,
    _positive_finite,
    forced_stops,
    get_pair,
    hnw_first_guess,
    hnw_refine,
)
from sdesolve.brownian import BrownianBridgePath, UserPath
from sdesolve.dtypes import F64
from sdesolve.problem import SemilinearSDE
from sdesolve.random import Generators, check_generators

__all__ = ["solve_adaptive_sde"]


def _factors(ctl: PIController, e: np.ndarray, e_prev: np.ndarray, accepted: np.ndarray, k: float) -> np.ndarray:
    """:meth:`PIController.factor`, vectorised over samples."""
    beta1 = (ctl.pcoeff + ctl.icoeff) / k
    beta2 = -ctl.pcoeff / k
    finite = np.isfinite(e)
    ee = np.maximum(np.where(finite, e, 1.0), 1e-10)
    f = ctl.safety * ee ** (-beta1) * np.maximum(e_prev, 1e-10) ** (-beta2)
    lo = np.where(accepted, 1.0, ctl.factor_min)
    hi = np.where(accepted, ctl.factor_max, ctl.safety)
    return np.where(finite, np.clip(f, lo, hi), ctl.factor_min)


def _scaled_errors(ctl: PIController, err: Tensor, x: Tensor, x_new: Tensor) -> np.ndarray:
    """Per-sample RMS of ``err / (atol + rtol max(|x|, |x_new|))``, NaN where ``x_new`` is not finite (host)."""
    scale = torch.maximum(x.abs(), x_new.abs()).mul_(ctl.rtol).add_(ctl.atol)
    per_sample = (err / scale).flatten(1).square().mean(dim=1).sqrt()
    flag = x_new.flatten(1).abs().amax(dim=1) * 0.0  # NaN for a non-finite row
    return (per_sample + flag).detach().to(device="cpu", dtype=F64).numpy()


def _initial_steps(
    ctx: BatchContext,
    pair: EmbeddedPair,
    ctl: PIController,
    t0: float,
    x0: Tensor,
    direction: float,
    k: float,
    span: float,
) -> tuple[np.ndarray, Tensor]:
    """Hairer, Nørsett & Wanner (1993, II.4) per sample, from the drift only (2 NFE, one host read); the trial stays
    inside the integration interval (length ``span``)."""
    batch = x0.shape[0]
    t = np.full(batch, t0)
    n0 = ctx.nonlinear(t, x0)
    f0 = ctx.coefficient("a", t) * x0 + ctx.coefficient("b", t) * n0
    scale = x0.abs().mul(ctl.rtol).add_(ctl.atol)

    def rms(v: Tensor) -> Tensor:
        return (v / scale).flatten(1).square().mean(dim=1).sqrt()

    d = torch.stack([rms(x0), rms(f0)]).to(device="cpu", dtype=F64).numpy()
    h0 = hnw_first_guess(d[0], d[1], ctl.dt_max, span)
    t1 = t0 + direction * h0
    x1 = x0 + ctx.rows(direction * h0) * f0
    f1 = ctx.coefficient("a", t1) * x1 + ctx.coefficient("b", t1) * ctx.nonlinear(t1, x1)
    return hnw_refine(h0, d[1], rms(f1 - f0).to(device="cpu", dtype=F64).numpy() / h0, k), n0


def solve_adaptive_sde(
    sde: SemilinearSDE,
    x0: Tensor,
    t_span: tuple[float, float] | Sequence[float],
    method: str | EmbeddedPair = "exponential_rk2",
    *,
    rtol: float | None = None,
    atol: float | None = None,
    controller: PIController | None = None,
    bm: Callable[..., Tensor] | None = None,
    generator: Generators = None,
    dt0: float | None = None,
    max_steps: int = 100_000,
    t_eval: Sequence[float] | Tensor | None = None,
    subdivisions: int = 2,
) -> AdaptiveResult:
    """Integrate ``sde`` (an SDE, or an ODE with per-sample steps) from ``t_span[0]`` to ``t_span[1]`` adaptively.

    Args:
        sde: the problem (additive noise ``g(t)``; ``g=None`` for an ODE).
        x0: initial state, shape ``(batch, *event)``, finite.
        t_span: ``(t0, t1)``; ``t1 < t0`` integrates backwards (noise in solver time ``s = -t``).
        method: ``"exponential_rk2"`` (default), ``"heun"``, or an :class:`~sdesolve.adaptive.EmbeddedPair` with a
            per-sample form (``attempt_batch``) that supports noise.
        rtol: relative tolerance (> 0); give ``rtol`` and ``atol`` or ``controller``.
        atol: absolute tolerance (> 0).
        controller: a :class:`~sdesolve.adaptive.PIController`; its ``per_sample`` chooses per-sample step sizes
            (default: per sample without ``bm``, batch-shared with it; per sample with ``bm`` is refused).
        bm: a Brownian path in solver time, ``bm(sa, sb) -> W(sb) - W(sa)`` (e.g. ``torchsde.BrownianInterval``
            of size ``(batch, prod(event))``); it is re-queried after a rejection. Implies batch-shared steps.
        generator: the randomness of the default path (a ``torch.Generator``, one per sample, or
            :class:`~sdesolve.random.SeedStreams`: then each sample depends only on its seed).
        dt0: the first step size (``|dt0|``); default: chosen per sample from the drift (2 NFE).
        max_steps: the most attempts (accepted + rejected) of any sample before :class:`StepSizeError`.
        t_eval: times in ``[t0, t1]`` (monotone) to record the state at; stepped to exactly.
        subdivisions: cells of the per-step quadrature of the exponential pair's weights.

    Returns:
        An :class:`~sdesolve.adaptive.AdaptiveResult`. With per-sample steps ``ts`` is ``None`` and ``n_accepted``,
        ``n_rejected`` are the maxima over samples (``sample_accepted``/``sample_rejected`` hold each sample's);
        ``nfe`` counts batched evaluations of ``N`` (every sample is evaluated in each).
    """
    if not isinstance(sde, SemilinearSDE):
        raise TypeError(f"sde must be an sdesolve.SemilinearSDE, got {type(sde).__name__}")
    x0 = _check_state(x0)
    t0, t1 = _check_span(t_span)
    ctl = _controller(rtol, atol, controller)
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    if isinstance(subdivisions, bool) or not isinstance(subdivisions, (int, np.integer)) or subdivisions < 1:
        raise ValueError(f"subdivisions must be a positive integer, got {subdivisions!r}")
    if bm is not None and sde.is_ode:
        raise ValueError("bm was given but the problem is an ODE (g is None); drop bm or give g")
    per_sample = bm is None if ctl.per_sample is None else ctl.per_sample
    if per_sample and bm is not None:
        raise ValueError(
            "PIController(per_sample=True) cannot be combined with bm: a user Brownian path (e.g. "
            "torchsde.BrownianInterval) answers one time for the whole batch; drop bm (the default path is per "
            "sample) or per_sample"
        )
    pair = get_pair(method)
    if not pair.batched:
        r = getattr(pair, "r", None)
        which = f"{pair.name!r}" if r is None else f"{pair.name!r} with option r={r!r}"
        raise ValueError(
            f"the adaptive pair {which} has no per-sample form (attempt_batch), needed for SDEs and per-sample "
            "steps; use 'exponential_rk2' (r = 1) or 'heun'"
        )
    if not sde.is_ode and not pair.supports_noise:
        raise ValueError(
            f"the adaptive pair {pair.name!r} does not support noise; for SDEs use 'exponential_rk2' (exponential "
            "Euler embedded) or 'heun' (Euler–Maruyama embedded)"
        )
    check_generators(generator, x0.shape[0], x0.device)
    direction = 1.0 if t1 > t0 else -1.0
    k = float(pair.error_order if sde.is_ode else pair.noise_error_order)

    stops, eval_times = forced_stops(t0, t1, ctl.step_ts, t_eval)
    stop_arr = np.array(stops, dtype=np.float64)
    eval_of_stop = [[j for j, v in enumerate(eval_times) if v == s] for s in stops]

    batch = x0.shape[0]
    ctx = BatchContext(sde, x0, int(subdivisions))
    n0: Tensor | None = None
    if dt0 is None:
        h_abs, n0 = _initial_steps(ctx, pair, ctl, t0, x0, direction, k, abs(t1 - t0))
        if not per_sample:
            h_abs = np.full(batch, float(h_abs.min()))
    else:
        if isinstance(dt0, (int, float)) and not isinstance(dt0, bool):
            dt0 = abs(dt0)
        h_abs = np.full(batch, _positive_finite("dt0", dt0))
    h_abs = np.clip(h_abs, ctl.dt_min, ctl.dt_max)
    path: BrownianBridgePath | UserPath | None = None
    if not sde.is_ode:
        path = (
            UserPath(bm, x0, direction * t0)
            if bm is not None
            else BrownianBridgePath(x0, np.full(batch, direction * t0), generator)
        )

    x = x0
    t = np.full(batch, t0)
    e_prev = np.ones(batch)
    stop_i = np.zeros(batch, dtype=np.int64)
    done = np.zeros(batch, dtype=bool)
    n_acc = np.zeros(batch, dtype=np.int64)
    n_rej = np.zeros(batch, dtype=np.int64)
    recorded = [x0.clone() if v == t0 else None for v in eval_times]
    accepted_ts = [t0]
    attempts = 0
    # the placeholder step of finished rows (evaluated with the batch, never applied): back into the interval, so N
    # is never asked for a time beyond t1 (a diffusion model may not accept t < 0)
    tiny_step = -direction * 1e-3 * abs(t1 - t0)
    while not done.all():
        if int((n_acc + n_rej).max()) >= max_steps:
            worst = int(np.argmax(np.where(done, -1, n_acc + n_rej)))
            raise StepSizeError(
                f"solve_adaptive: max_steps={max_steps} steps attempted ({n_acc[worst]} accepted, {n_rej[worst]} "
                f"rejected, sample {worst}) and t = {t[worst]} has not reached t1 = {t1}; raise max_steps or loosen "
                "rtol/atol",
                float(t[worst]),
            )
        active = ~done
        target = stop_arr[np.minimum(stop_i, len(stops) - 1)]
        landing = h_abs >= np.abs(target - t)
        t_new = np.where(landing, target, t + direction * h_abs)
        h = np.where(active, t_new - t, 0.0)
        if np.any(active & (h == 0.0)):
            i = int(np.argmax(active & (h == 0.0)))
            raise StepSizeError(f"solve_adaptive: step size {h_abs[i]:.3g} at t = {t[i]} is below round-off", t[i])
        h_eval = np.where(active, h, tiny_step)
        dw = None if path is None else path.increment(direction * np.where(active, t_new, t), active)
        x_new, err, n_used = pair.attempt_batch(ctx, t, h_eval, x, n0, dw)
        attempts += 1
        e = _scaled_errors(ctl, err, x, x_new)
        if not per_sample:
            e = np.full(batch, float(np.max(e[active])))  # NaN when any row is not finite
        accepted = active & (e <= 1.0)
        rejected = active & ~accepted
        f = _factors(ctl, e, e_prev, accepted, k)
        if accepted.any():
            mask = torch.from_numpy(accepted).to(x.device).reshape((-1,) + (1,) * (x.dim() - 1))
            x = torch.where(mask, x_new, x)
            if path is not None:
                path.accept(accepted)
            if not per_sample:
                accepted_ts.append(float(t_new[accepted][0]))
        n_acc += accepted
        n_rej += rejected
        t = np.where(accepted, t_new, t)
        e_prev = np.where(accepted, e, e_prev)
        grown = np.where(landing, np.maximum(np.abs(h) * f, h_abs), np.abs(h) * f)
        h_abs = np.where(accepted, grown, np.where(rejected, np.abs(h) * f, h_abs))
        if rejected.any():
            tiny = 16 * np.finfo(np.float64).eps * np.maximum(np.maximum(np.abs(t), abs(t1)), 1.0)
            stuck = rejected & (np.abs(h) <= np.maximum(ctl.dt_min, tiny))
            if stuck.any():
                i = int(np.argmax(stuck))
                why = f"scaled error {e[i]:.3g} > 1" if math.isfinite(e[i]) else "the state became non-finite"
                raise StepSizeError(
                    f"solve_adaptive: step size {abs(h[i]):.3g} at t = {t[i]} (sample {i}) reached "
                    f"{'dt_min' if ctl.dt_min >= tiny[i] else 'round-off'} and the step still fails ({why})",
                    float(t[i]),
                )
        landed = accepted & landing
        if landed.any():
            for si in np.unique(stop_i[landed]):
                rows = landed & (stop_i == si)
                for j in eval_of_stop[si]:
                    keep = torch.from_numpy(rows).to(x.device).reshape((-1,) + (1,) * (x.dim() - 1))
                    recorded[j] = torch.where(keep, x, recorded[j] if recorded[j] is not None else x)
            stop_i = stop_i + landed
            done = stop_i >= len(stops)
        h_abs = np.clip(h_abs, ctl.dt_min, ctl.dt_max)
        n0 = n_used if not accepted.any() else None  # N(t, x) is still right only where nothing moved
    te = xe = None
    if eval_times:
        te = torch.tensor(eval_times, dtype=F64)
        xe = torch.stack(recorded)  # type: ignore[arg-type]
    return AdaptiveResult(
        x=x,
        ts=None if per_sample else torch.tensor(accepted_ts, dtype=F64),
        n_accepted=int(n_acc.max()),
        n_rejected=int(n_rej.max()),
        nfe=ctx.evaluate.nfe,
        method=pair.name,
        t_eval=te,
        x_eval=xe,
        sample_accepted=torch.from_numpy(n_acc),
        sample_rejected=torch.from_numpy(n_rej),
        n_attempts=attempts,
    )


def _controller(rtol: Any, atol: Any, controller: PIController | None) -> PIController:
    if controller is None:
        if rtol is None or atol is None:
            raise ValueError("solve_adaptive needs rtol and atol (or controller=PIController(rtol, atol, ...))")
        return PIController(rtol=rtol, atol=atol)
    if not isinstance(controller, PIController):
        raise TypeError(f"controller must be an sdesolve.adaptive.PIController, got {type(controller).__name__}")
    if rtol is not None or atol is not None:
        raise ValueError("give rtol/atol or a controller (which carries them), not both")
    return controller
