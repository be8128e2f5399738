"""``ddram_ms``: DDRaM at one network evaluation per step (the core ``randomized_midpoint_ms`` stepper).

Per step ``t → t'``: a random ``τ`` per sample (density ``∝ Φ b``, as ``ddram``), the stage ``x_τ`` predicted from
the previous steps' evaluations instead of a fresh ``N(t, x)``, one evaluation ``N(τ, x_τ)``, the full step with it;
the two Brownian integrals drawn jointly. That evaluation feeds the next steps' predictor. The first step predicts
with ``N = 0`` (the stepper's ``start="zero"``), so ``n`` steps cost ``n`` NFE.

A :class:`~sdesolve_diffusion.samplers.multistep.MultistepSampler` recipe so that ``clock`` (the time variable in which
``predictor="extrapolate"`` draws its line) can be chosen: ``"sigma"`` (``σ/α``, the default), or ``"time"`` (then it
runs on ``vp`` as ``ddram`` does), ``"log_snr"``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sdesolve_diffusion.samplers.multistep import MultistepSampler

__all__ = ["DDRaMMultistep"]


class DDRaMMultistep(MultistepSampler):
    """DDRaM with the stage predicted by the line through the last two evaluations: 1 NFE per step, data splitting.

    Options: the stepper's ``predictor`` (``"extrapolate"``, the recipe's default, or ``"previous"``), ``start``
    (``"zero"``/``"fresh"``, the latter one extra NFE) and ``distribution``; ``splitting``, ``eta``, ``clock``,
    ``subdivisions``, ``bm``.
    """

    name = "ddram_ms"
    stepper = "randomized_midpoint_ms"
    eta = 1.0
    splitting = "data"
    # measured (docs/samplers/ddram_ms.md): the process's time is 1.2-1.4x better at 10 NFE on the exact-score problems
    # but 7x worse on the trained digits network (Fréchet 11.6 against 1.63): σ/α
    clock = "sigma"
    on_vp: ClassVar[bool] = True
    # measured (docs/benchmarks.md): the logsnr grid is 1.4-2x better than edm at 10 NFE on sharp1d, gmm and
    # subspace_mixture, and at 20 NFE on sharp1d and gmm
    default_grid = "logsnr"
    # measured (docs/benchmarks.md "1-NFE randomized midpoint"): the line through the last two evaluations with the
    # data splitting is the best of the predictor x splitting pairs at 10-20 NFE on sharp1d, gmm and subspace_mixture
    stepper_defaults: ClassVar[dict[str, Any]] = {"predictor": "extrapolate"}
    summary = "DDRaM at 1 NFE per step: randomized midpoint, stage extrapolated from the last two evaluations"
