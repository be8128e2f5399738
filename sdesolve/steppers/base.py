"""The stepper interface: small classes with order metadata and a pure ``step``.

A stepper advances ``x`` over step ``k`` of a prepared grid. It reads per-step scalars from ``ctx.coef`` by name
(float64 NumPy arrays, computed on first use in chunks of steps; the names and formulas are listed in
:mod:`sdesolve.coefficients`), evaluates ``N`` through ``ctx.nonlinear`` (which counts evaluations) and draws
Brownian quantities from ``ctx.noise`` (``None`` for an ODE). Per-solve state (e.g. a multistep history) lives
in the value returned by :meth:`Stepper.init` and threaded through :meth:`Stepper.step`.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor

from sdesolve.coefficients import GridCoefficients
from sdesolve.counting import CountedCalls
from sdesolve.noise import Noise
from sdesolve.problem import SemilinearSDE
from sdesolve.random import Generators, rand

__all__ = ["SolveContext", "Stepper", "per_sample"]


def per_sample(v: Tensor, like: Tensor) -> Tensor:
    """Reshape a ``(B,)`` tensor to broadcast against ``like`` of shape ``(B, *event)``."""
    return v.reshape(v.shape + (1,) * (like.dim() - 1))


class SolveContext:
    """Everything a stepper may use during one solve; created by :func:`sdesolve.solve`."""

    def __init__(
        self,
        sde: SemilinearSDE,
        coef: GridCoefficients,
        noise: Noise | None,
        generator: Generators,
        batch: int,
    ) -> None:
        self.sde = sde
        self.coef = coef
        self.noise = noise
        self.generator = generator
        self.batch = batch
        self._evaluate = CountedCalls(sde.evaluate)

    @property
    def nfe(self) -> int:
        """Evaluations of ``N`` so far."""
        return self._evaluate.nfe

    def nonlinear(self, t: Tensor, x: Tensor) -> Tensor:
        """``N(t, x)`` for per-sample times ``t`` of shape ``(batch,)`` (handed to ``N`` in the problem's
        ``time_layout``); counts one evaluation, checks the output and casts it to ``x``'s dtype."""
        return self._evaluate(t, x)

    def time(self, k: int) -> Tensor:
        """``t_k`` for every sample, shape ``(batch,)`` (a view of a device tensor made once)."""
        return self.coef.times[k].expand(self.batch)

    def time_at(self, k: int, frac: Tensor) -> Tensor:
        """Per-sample times ``t_k + frac · h_k`` in the working dtype (``frac`` of shape ``(batch,)``)."""
        times = self.coef.times
        return (times[k].to(frac.dtype) + frac * self.coef.h[k]).to(times.dtype)

    def uniform(self, like: Tensor) -> Tensor:
        """``(batch,)`` uniforms on ``[0, 1)`` from the solve's generator, on ``like``'s device.

        Always drawn in float64, whatever the state's dtype: a float32 and a float64 solve with the same seeds
        then use the same random times (only the state's Gaussian noise is drawn in the state's dtype, and
        torch draws the same normals for both), so ``dtype`` changes round-off only.
        """
        return rand(self.batch, self.generator, like.device, torch.float64)


class Stepper(ABC):
    """Base class of every stepper (built-in or plugin).

    Class attributes (checked at registration):
        name: registry name.
        ode_order: convergence order on ODEs (RMS over any internal randomness).
        strong_order: strong (pathwise, RMS) order for additive noise ``g(t) dW``.
        weak_order: weak order for additive noise.
        nfe_per_step: evaluations of ``N`` per step.
        supports_noise: whether ``g`` may be given.
        needs_levy_area: whether a step asks ``ctx.noise.space_time`` for the space-time Lévy area; a user path
            (``bm=``) that cannot answer it is then refused before the first step.
        summary: one line for listings.
        embedded_pair: optional; a callable (an :class:`~sdesolve.adaptive.EmbeddedPair` subclass or a factory)
            taking the stepper's options and returning the pair that gives the step an embedded error estimate.
            Declaring it makes the stepper take ``rtol``/``atol`` (adaptive steps) and adds it to the conformance
            suite's tolerance check; ``None`` (default): fixed grids only.
    """

    name: ClassVar[str] = ""
    ode_order: ClassVar[float] = 0.0
    strong_order: ClassVar[float] = 0.0
    weak_order: ClassVar[float] = 0.0
    nfe_per_step: ClassVar[int] = 0
    supports_noise: ClassVar[bool] = True
    needs_levy_area: ClassVar[bool] = False
    summary: ClassVar[str] = ""
    embedded_pair: ClassVar[Any] = None

    def init(self, ctx: SolveContext, x0: Tensor) -> Any:
        """Per-solve state before the first step (default: none)."""
        return None

    @abstractmethod
    def step(self, ctx: SolveContext, k: int, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Advance ``x`` from ``t_k`` to ``t_{k+1}``; return the new state and the carried stepper state."""

    @classmethod
    def options(cls) -> dict[str, Any]:
        """The keyword options of the constructor with their defaults."""
        sig = inspect.signature(cls.__init__)
        return {
            p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Metadata as a JSON-ready dict."""
        return {
            "name": cls.name,
            "ode_order": cls.ode_order,
            "strong_order": cls.strong_order,
            "weak_order": cls.weak_order,
            "nfe_per_step": cls.nfe_per_step,
            "supports_noise": cls.supports_noise,
            "options": cls.options(),
            "summary": cls.summary,
        }
