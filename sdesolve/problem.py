"""The semilinear problem ``dX = (a(t) X + b(t) N(t, X)) dt + g(t) dW``.

``a``, ``b`` and ``g`` are scalar functions of time (tensor in, tensor of the same shape out; a Python number is
accepted for a constant), ``N`` is the batched nonlinear part and carries the score in diffusion sampling.
``b`` (default 1) is the scalar weight of ``N``: exponential steppers freeze ``N`` over a step and integrate
``b`` exactly with the integrating factor — this is what makes DDIM and DPM-Solver exponential integrators
(they freeze the predicted noise or data, not the whole drift). ``g=None`` makes the problem an ODE.

**The time argument of N.** With ``time_layout="broadcast"`` (the default) ``N`` receives ``t`` shaped
``(batch, 1, …, 1)`` — one time per sample, shaped to broadcast against ``x`` — so a drift written as for
torchsde, torchdiffeq or diffrax (``lambda t, x: -(1 + 3 * t) * x``) is right for every stepper, including the
randomized midpoint, whose samples sit at different times. With ``time_layout="batch"`` ``N`` receives ``t`` of
shape ``(batch,)``, the convention of networks called as ``net(x, t)`` (k-diffusion, diffusers).

Time may run forwards or backwards. For a decreasing grid the noise is a Brownian motion in *solver time*
``s = -t`` (so every increment has variance ``|dt|``), which is also how torchsde integrates reverse-time
SDEs; see :mod:`sdesolve.noise`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from sdesolve.factors import ConstantFactor, IntegratingFactor

ScalarFn = Callable[[Tensor], Tensor]
Nonlinear = Callable[[Tensor, Tensor], Tensor]

__all__ = ["TIME_LAYOUTS", "SemilinearSDE"]

TIME_LAYOUTS = ("broadcast", "batch")


def _as_function(value: float | ScalarFn, name: str) -> tuple[ScalarFn, float | None]:
    """Return ``(fn, constant)`` where ``constant`` is the value when ``value`` was a number."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number or a callable t -> tensor, got a bool")
    if isinstance(value, (int, float)):
        c = float(value)
        if not math.isfinite(c):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return (lambda t: torch.full_like(t, c)), c
    if callable(value):
        return value, None
    raise TypeError(f"{name} must be a number or a callable t -> tensor, got {type(value).__name__}")


@dataclass(frozen=True, eq=False)
class SemilinearSDE:
    """``dX = (a(t) X + b(t) N(t, X)) dt + g(t) dW`` on batched states ``X`` of shape ``(batch, *event)``.

    Args:
        a: linear coefficient, a number or a function of a time tensor (evaluated in float64 when the grid
            coefficients are precomputed).
        nonlinear: ``N(t, x)`` with ``x`` of shape ``(batch, *event)`` and ``t`` one time per sample (the
            randomized midpoint evaluates every sample at its own time), laid out as ``time_layout`` says;
            returns a tensor shaped like ``x``.
        g: noise scale, a number, a function of time, or ``None`` for an ODE.
        b: scalar weight of ``N``, a number or a function of time (default 1).
        factor: closed forms of the integrating-factor integrals (an :class:`IntegratingFactor`). When
            ``a``, ``b`` and ``g`` are numbers a closed form is used automatically; otherwise the integrals are
            computed by vectorised Gauss–Legendre quadrature in float64, once per time grid.
        name: a label used in reports.
        time_layout: how ``N`` receives ``t``: ``"broadcast"`` (default) — shape ``(batch, 1, …, 1)``, so
            elementwise drifts written as for torchsde/torchdiffeq broadcast correctly; ``"batch"`` — shape
            ``(batch,)``, for networks ``net(x, t)`` that embed one time per sample.
    """

    a: float | ScalarFn
    nonlinear: Nonlinear
    g: float | ScalarFn | None = None
    factor: IntegratingFactor | None = None
    name: str = ""
    b: float | ScalarFn | None = None
    time_layout: str = "broadcast"
    _a_fn: ScalarFn = field(init=False, repr=False)
    _b_fn: ScalarFn = field(init=False, repr=False)
    _g_fn: ScalarFn | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        a_fn, a_const = _as_function(self.a, "a")
        b_fn, b_const = _as_function(1.0 if self.b is None else self.b, "b")
        if self.g is None:
            g_fn, g_const = None, 0.0
        else:
            g_fn, g_const = _as_function(self.g, "g")
        if not callable(self.nonlinear):
            raise TypeError(f"nonlinear must be a callable N(t, x) -> tensor, got {type(self.nonlinear).__name__}")
        if self.time_layout not in TIME_LAYOUTS:
            raise ValueError(
                f"time_layout must be one of {TIME_LAYOUTS} ('broadcast': N gets t shaped (batch, 1, ..., 1); "
                f"'batch': N gets t shaped (batch,)), got {self.time_layout!r}"
            )
        if self.factor is not None and not isinstance(self.factor, IntegratingFactor):
            raise TypeError(f"factor must be an sdesolve.IntegratingFactor, got {type(self.factor).__name__}")
        object.__setattr__(self, "_a_fn", a_fn)
        object.__setattr__(self, "_b_fn", b_fn)
        object.__setattr__(self, "_g_fn", g_fn)
        if self.factor is None and None not in (a_const, b_const, g_const):
            object.__setattr__(self, "factor", ConstantFactor(a_const, g_const, b_const))

    @property
    def is_ode(self) -> bool:
        """True when the problem has no noise (``g is None``)."""
        return self._g_fn is None

    def linear(self, t: Tensor) -> Tensor:
        """``a(t)``, checked to be shaped like ``t``."""
        return _checked(self._a_fn, t, "a")

    def weight(self, t: Tensor) -> Tensor:
        """``b(t)``, checked to be shaped like ``t``."""
        return _checked(self._b_fn, t, "b")

    def diffusion(self, t: Tensor) -> Tensor:
        """``g(t)`` (zeros for an ODE), checked to be shaped like ``t``."""
        if self._g_fn is None:
            return torch.zeros_like(t)
        return _checked(self._g_fn, t, "g")

    def time_for(self, t: Tensor, x: Tensor) -> Tensor:
        """Per-sample times ``t`` (shape ``(batch,)``) laid out as ``N`` receives them (see ``time_layout``)."""
        if self.time_layout == "batch":
            return t
        return t.reshape(t.shape + (1,) * (x.dim() - 1))

    def evaluate(self, t: Tensor, x: Tensor) -> Tensor:
        """``N(t, x)`` for per-sample times ``t`` of shape ``(batch,)``, with the result checked.

        ``t`` is handed to ``N`` in the problem's ``time_layout``. The result must be a floating tensor shaped
        like ``x``; it is cast to ``x``'s dtype (a float64 ``N`` does not turn a float32 solve into float64).
        """
        try:
            out = self.nonlinear(self.time_for(t, x), x)
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            if hasattr(exc, "add_note"):
                exc.add_note(_layout_hint(self.time_layout, t, x))
            raise
        if not isinstance(out, Tensor):
            raise TypeError(f"nonlinear N(t, x) must return a tensor, got {type(out).__name__}")
        if out.shape != x.shape:
            raise ValueError(
                f"nonlinear N(t, x) returned shape {tuple(out.shape)} for x of shape {tuple(x.shape)}; it must "
                f"return a tensor shaped like x. {_layout_hint(self.time_layout, t, x)}"
            )
        if not (out.is_floating_point() and not out.is_complex()):
            raise TypeError(f"nonlinear N(t, x) must return a real floating tensor like x ({x.dtype}), got {out.dtype}")
        return out if out.dtype == x.dtype else out.to(x.dtype)

    def drift(self, t: Tensor, x: Tensor) -> Tensor:
        """The full drift ``a(t) x + b(t) N(t, x)`` for a per-sample time tensor ``t`` of shape ``(batch,)``."""
        shape = t.shape + (1,) * (x.dim() - 1)
        tt = t.to(torch.float64)
        a = self.linear(tt).reshape(shape).to(x.dtype)
        b = self.weight(tt).reshape(shape).to(x.dtype)
        return a * x + b * self.evaluate(t, x)


def _layout_hint(layout: str, t: Tensor, x: Tensor) -> str:
    """The time convention of ``N``, in words, with the one-line fix for the other convention."""
    if layout == "batch":
        return (
            f"Note: this problem has time_layout='batch', so N(t, x) receives t of shape {tuple(t.shape)} (one "
            f"time per sample) for x of shape {tuple(x.shape)}; an elementwise drift must reshape it, "
            "t.reshape(-1, *[1] * (x.dim() - 1)), or use the default time_layout='broadcast'."
        )
    shape = tuple(t.shape) + (1,) * (x.dim() - 1)
    return (
        f"Note: sdesolve calls N(t, x) with t of shape {shape} (one time per sample, broadcastable against x of "
        f"shape {tuple(x.shape)}; time_layout='broadcast'): use it elementwise as a tensor, not as a number "
        "(float(t), t.item()). A network that wants t of shape (batch,) can take "
        "t.flatten() — nonlinear=lambda t, x: net(x, t.flatten()) — or declare SemilinearSDE(..., "
        "time_layout='batch')."
    )


def _checked(fn: ScalarFn, t: Tensor, name: str) -> Tensor:
    out = fn(t)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(t) must return a tensor, got {type(out).__name__}")
    if out.shape != t.shape:
        try:
            out = out.expand(t.shape)
        except RuntimeError:
            raise ValueError(
                f"{name}(t) must return a tensor shaped like t {tuple(t.shape)}, got {tuple(out.shape)}"
            ) from None
    return out
