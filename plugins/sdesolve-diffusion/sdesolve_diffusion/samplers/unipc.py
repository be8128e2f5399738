"""``unipc``: the core ``unipc`` stepper (UniP-p predictor + UniC corrector) on the probability-flow ODE.

A :class:`~sdesolve_diffusion.samplers.multistep.MultistepSampler` recipe: data splitting, ``η = 0``, solved in the
``log_snr`` clock by default. The stepper interpolates ``N`` (the denoiser) polynomially in the time variable of the
problem it is given; UniPC interpolates in ``λ = log(α/σ)``, where the denoiser is smooth on every process. In
``λ`` the stepper's weights are the paper's (``M_m = α_{t'} h m! φ_{m+1}(-h)``, ``B₁(h) = h``, ``B₂(h) = e^h - 1``),
so the recipe is diffusers' ``UniPCMultistepScheduler(predict_x0=True, solver_order=order, solver_type=variant,
lower_order_final=...)`` on any process, to round-off (``plugins/sdesolve-lab/tests/test_peer_unipc.py``).
``clock="time"`` runs the same stepper in the process's own time (a different, worse method: see
docs/samplers/unipc.md).
"""

from __future__ import annotations

from sdesolve_diffusion.samplers.multistep import MultistepSampler

__all__ = ["UniPCSampler"]


class UniPCSampler(MultistepSampler):
    """UniPC (Zhao et al. 2023) on the probability-flow ODE, data prediction, in log-SNR time. 1 NFE per step.

    Options: the stepper's ``order`` (1-3), ``variant`` (``"bh1"``/``"bh2"``), ``corrector`` and
    ``lower_order_final``; ``clock``, ``splitting``, ``subdivisions``. Deterministic (``eta = 0``); ``eta > 0``
    adds the exact noise integral per step (weak order 1, not UniPC's published method).
    """

    name = "unipc"
    stepper = "unipc"
    eta = 0.0
    clock = "log_snr"  # UniPC's variable: the sampler is diffusers' UniPC in it (measured: docs/samplers/unipc.md)
    default_grid = "logsnr"  # measured best of edm/logsnr/quadratic across vp, edm and the lab problem
    # order: the stepper's default 2 (diffusers' too). order=3 is better on exact scores from 40 NFE (1.5-2.9x) but
    # 2.5-6.3x worse at every NFE on the lab's trained network (digits) and 1.9x worse at 10 NFE on sharp1d
    # (docs/samplers/unipc.md, "Order")
    summary = "UniPC: multistep predictor + UniC corrector in log-SNR time (diffusers UniPCMultistepScheduler)"
