"""One adapter from whatever the network predicts to what the samplers need (score, ε, x₀ = denoiser).

With ``x = α x₀ + σ ε``:

============ ============================== ============================== ==========================
prediction   network output                 x₀ (data)                      ε
============ ============================== ============================== ==========================
``eps``      ε̂                              ``(x - σ ε̂)/α``                ε̂
``x0``       x̂₀                             x̂₀                             ``(x - α x̂₀)/σ``
``v``        ``v̂ = α ε - σ x₀``             ``(α x - σ v̂)/(α² + σ²)``      ``(σ x + α v̂)/(α² + σ²)``
``score``    ŝ ≈ ∇log p_t                   ``(x + σ² ŝ)/α``               ``-σ ŝ``
``edm``      ``D(x/α; σ/α)`` (EDM precond.)  D                              ``(x - α D)/σ``
============ ============================== ============================== ==========================

and ``score = -ε/σ``. The network is called as ``model(x, t_model)`` with a per-sample time tensor
(``process.model_time(t)``: diffusion time, or the timestep index for discrete processes) — or
``model(x/α, σ/α)`` for ``edm``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from sdesolve.counting import CountedCalls
from sdesolve_diffusion.processes import Process

__all__ = ["PREDICTIONS", "ModelAdapter"]


def _module_dtype(model: object) -> torch.dtype | None:
    """The floating dtype of an ``nn.Module``'s parameters (``None`` for plain callables)."""
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            if p.is_floating_point():
                return p.dtype
    return None


PREDICTIONS = ("eps", "x0", "v", "score", "edm")


class ModelAdapter:
    """Turns ``model`` (predicting ``prediction``) into ``eps``, ``data`` and ``score`` of ``(t, x)``.

        ``t`` is a per-sample diffusion-time tensor of shape ``(batch,)``; coefficients are computed in float64
        and cast to ``x``'s dtype. An ``nn.Module`` is called in the dtype of its parameters (e.g. float16) and its
    output cast back to the state's dtype. ``nfe`` counts network calls.
    """

    def __init__(self, model: Callable[[Tensor, Tensor], Tensor], process: Process, prediction: str) -> None:
        if not callable(model):
            raise TypeError(f"model must be callable as model(x, t), got {type(model).__name__}")
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        self.model = model
        self.process = process
        self.prediction = prediction
        self._network = CountedCalls(model)
        self.model_dtype = _module_dtype(model)

    @property
    def nfe(self) -> int:
        """Network calls so far (:class:`sdesolve.counting.CountedCalls`)."""
        return self._network.nfe

    def _coef(self, t: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        t64 = t.to(torch.float64)
        shape = (-1,) + (1,) * (x.dim() - 1)
        alpha, sigma = self.process.alpha_sigma(t64)
        return t64, alpha.to(x.dtype).reshape(shape), sigma.to(x.dtype).reshape(shape)

    def _call(self, t64: Tensor, x: Tensor, alpha: Tensor, sigma: Tensor) -> Tensor:
        dtype = self.model_dtype or x.dtype  # the network may run in float16/bfloat16; the state keeps its dtype
        if self.prediction == "edm":
            out = self._network((x / alpha).to(dtype), (sigma / alpha).reshape(-1).to(dtype))
        else:
            out = self._network(x.to(dtype), self.process.model_time(t64).to(dtype))
        if not isinstance(out, Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"model(x, t) must return a tensor shaped like x {tuple(x.shape)}, got {got}")
        return out.to(x.dtype)

    def _predict(self, t: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(x̂₀, ε̂, σ, raw output)`` from one network call (consistent: ``x = α x̂₀ + σ ε̂``)."""
        t64, alpha, sigma = self._coef(t, x)
        out = self._call(t64, x, alpha, sigma)
        p = self.prediction
        if p == "eps":
            return (x - sigma * out) / alpha, out, sigma, out
        if p in ("x0", "edm"):
            return out, (x - alpha * out) / sigma, sigma, out
        if p == "v":
            norm = alpha**2 + sigma**2
            return (alpha * x - sigma * out) / norm, (sigma * x + alpha * out) / norm, sigma, out
        return (x + sigma**2 * out) / alpha, -sigma * out, sigma, out

    def data(self, t: Tensor, x: Tensor) -> Tensor:
        """The denoiser ``x̂₀(t, x)``."""
        return self._predict(t, x)[0]

    def eps(self, t: Tensor, x: Tensor) -> Tensor:
        """The noise prediction ``ε̂(t, x)``."""
        return self._predict(t, x)[1]

    def data_and_eps(self, t: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(x̂₀, ε̂)`` from one network call."""
        x0, eps, _, _ = self._predict(t, x)
        return x0, eps

    def score(self, t: Tensor, x: Tensor) -> Tensor:
        """The score ``∇log p_t(x)`` (``-ε̂/σ``, or the network's output for ``prediction="score"``)."""
        _, eps, sigma, out = self._predict(t, x)
        return out if self.prediction == "score" else -eps / sigma
