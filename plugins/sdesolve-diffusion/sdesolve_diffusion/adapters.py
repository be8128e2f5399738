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

import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

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
_HOST_CACHE = 1 << 16  # tabulated times kept (a grid is tens to thousands)


class ModelAdapter:
    """Turns ``model`` (predicting ``prediction``) into ``eps``, ``data`` and ``score`` of ``(t, x)``.

    ``t`` is a per-sample diffusion-time tensor of shape ``(batch,)`` (coefficients computed in float64 and cast to
    ``x``'s dtype), or a Python float, one time for the whole batch (coefficients from :meth:`tabulate`, as float64
    scalars). An ``nn.Module`` is called in the dtype of its parameters (e.g. float16) and its output cast back to
    the state's dtype. ``nfe`` counts network calls.
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
        self._host: dict[float, tuple[float, float, float]] = {}  # t -> (α, σ, model time), see tabulate()

    @property
    def nfe(self) -> int:
        """Network calls so far (:class:`sdesolve.counting.CountedCalls`)."""
        return self._network.nfe

    def tabulate(self, times: Tensor | Sequence[float]) -> None:
        """Compute α, σ and the model time at ``times`` once, in float64 on the host, for calls with a float ``t``.

        A sampler that steps on a grid calls this with the grid, and then passes each step's time as a Python float:
        the coefficients are then looked up instead of evaluated per sample on the state's device. On a GPU that is
        about 20 kernel launches less per call."""
        t64 = torch.as_tensor(times, dtype=torch.float64).detach().to("cpu").reshape(-1)
        if len(self._host) + t64.numel() > _HOST_CACHE:
            self._host.clear()
        alpha, sigma = self.process.alpha_sigma(t64)
        model_t = self.process.model_time(t64)
        rows = zip(alpha.tolist(), sigma.tolist(), model_t.tolist(), strict=True)
        self._host.update(zip(t64.tolist(), rows, strict=True))

    def _row(self, t: float) -> tuple[float, float, float]:
        """``(α, σ, model time)`` at the float time ``t``, from the table (tabulated on a miss)."""
        row = self._host.get(t)
        if row is None:
            if not math.isfinite(t):
                raise ValueError(f"t must be a finite diffusion time, got {t!r}")
            self.tabulate([t])
            row = self._host[t]
        return row

    def coefficients(self, t: float) -> tuple[float, float]:
        """``(α(t), σ(t))`` at a float time, as float64 numbers from the table the float-time calls read."""
        alpha, sigma, _ = self._row(float(t))
        return alpha, sigma

    def _coef(self, t: Tensor | float, x: Tensor) -> tuple[Tensor, Any, Any]:
        """``(the network's time argument, α, σ)``. For a float ``t`` (one time for the whole batch) α and σ are
        Python floats from :meth:`tabulate`; for per-sample times, tensors in ``x``'s dtype shaped to broadcast
        against ``x``. The time argument is ``process.model_time(t)`` (or ``σ/α`` for ``edm``), ``(batch,)``, in
        the network's dtype."""
        dtype = self.model_dtype or x.dtype  # the network may run in float16/bfloat16; the state keeps its dtype
        if isinstance(t, bool) or not isinstance(t, (Real, Tensor)):
            raise TypeError(f"t must be a per-sample time tensor or a number, got {type(t).__name__}")
        if not isinstance(t, Tensor):  # a float, int or NumPy scalar: one time for the whole batch
            alpha, sigma, model_t = self._row(float(t))
            model_t = sigma / alpha if self.prediction == "edm" else model_t
            return torch.full((x.shape[0],), model_t, dtype=dtype, device=x.device), alpha, sigma
        t64 = t.to(torch.float64)
        shape = (-1,) + (1,) * (x.dim() - 1)
        alpha, sigma = self.process.alpha_sigma(t64)
        alpha, sigma = alpha.to(x.dtype).reshape(shape), sigma.to(x.dtype).reshape(shape)
        if self.prediction == "edm":
            return (sigma / alpha).reshape(-1).to(dtype), alpha, sigma
        return self.process.model_time(t64).to(dtype), alpha, sigma

    def _call(self, model_t: Tensor, x: Tensor, alpha: Any) -> Tensor:
        dtype = self.model_dtype or x.dtype
        out = self._network(((x / alpha) if self.prediction == "edm" else x).to(dtype), model_t)
        if not isinstance(out, Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"model(x, t) must return a tensor shaped like x {tuple(x.shape)}, got {got}")
        return out.to(x.dtype)

    def _predict(self, t: Tensor | float, x: Tensor) -> tuple[Tensor, Tensor, Any, Tensor]:
        """``(x̂₀, ε̂, σ, raw output)`` from one network call (consistent: ``x = α x̂₀ + σ ε̂``)."""
        model_t, alpha, sigma = self._coef(t, x)
        out = self._call(model_t, x, alpha)
        p = self.prediction
        if p == "eps":
            return (x - sigma * out) / alpha, out, sigma, out
        if p in ("x0", "edm"):
            return out, (x - alpha * out) / sigma, sigma, out
        if p == "v":
            norm = alpha**2 + sigma**2
            return (alpha * x - sigma * out) / norm, (sigma * x + alpha * out) / norm, sigma, out
        return (x + sigma**2 * out) / alpha, -sigma * out, sigma, out

    def data(self, t: Tensor | float, x: Tensor) -> Tensor:
        """The denoiser ``x̂₀(t, x)``."""
        return self._predict(t, x)[0]

    def eps(self, t: Tensor | float, x: Tensor) -> Tensor:
        """The noise prediction ``ε̂(t, x)``."""
        return self._predict(t, x)[1]

    def data_and_eps(self, t: Tensor | float, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(x̂₀, ε̂)`` from one network call."""
        x0, eps, _, _ = self._predict(t, x)
        return x0, eps

    def score(self, t: Tensor | float, x: Tensor) -> Tensor:
        """The score ``∇log p_t(x)`` (``-ε̂/σ``, or the network's output for ``prediction="score"``)."""
        _, eps, sigma, out = self._predict(t, x)
        return out if self.prediction == "score" else -eps / sigma
