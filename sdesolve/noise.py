"""Brownian noise for the steppers: fresh Gaussian draws, or a user's Brownian path.

Every quantity is in *solver time* ``s`` (``s = t`` for an increasing grid, ``s = -t`` for a decreasing one),
so increments always have variance ``|h|``. What a stepper asks for, and how each source answers:

========================  ==================================  ==============================================
request                    :class:`GaussianNoise` (default)    :class:`PathNoise` (``bm(sa, sb)``)
========================  ==================================  ==============================================
``increment``              ``√|h| ξ``                          ``bm(s_k, s_{k+1})``
``integral`` (∫ w dW)      ``std · ξ`` — exact in law          ``w̄ · ΔW`` with ``w̄`` the mean of ``w`` on the
                                                               step: the conditional mean given the path's
                                                               increment (local error ``O(|h|^{3/2})``)
``split`` (η₁, η₂)         Lemma 2: ``η₁ = std₁ ξ₁``,          ``ΔW₁`` over ``[t, τ]`` (queried for a per-step
                           ``η₂ = x₂ η₁ + std₂ ξ₂`` — exact     ``τ``; Brownian bridge from ``generator`` for a
                           joint law                           per-sample ``τ``), ``ΔW₂ = ΔW - ΔW₁``, each
                                                               projected with its mean weight
``space_time``             ``(ΔW, ∫(W - W_s)ds)`` jointly      ``bm(sa, sb, return_U=True)`` (a torchsde
                           Gaussian                            ``BrownianInterval`` with
                                                               ``levy_area_approximation="space-time"``)
========================  ==================================  ==============================================

Path projection keeps every stepper at strong order 1 against a reference driven by the same path.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from sdesolve.coefficients import GridCoefficients, SplitWeights
from sdesolve.random import DrawScratch, Generators, randn

__all__ = ["GaussianNoise", "Noise", "PathNoise", "check_levy_area"]

LEVY_AREA_HINT = (
    "build the path with sdesolve.reference.brownian_interval(ts, x0.shape, seed=..., levy_area=True) or "
    "torchsde.BrownianInterval(..., levy_area_approximation='space-time'), or drop bm to draw (ΔW, U) exactly"
)


def _per_sample(v: Any, like: Tensor) -> Any:
    """Reshape a per-sample ``(B,)`` tensor to broadcast against ``like``; numbers pass through."""
    if isinstance(v, Tensor):
        return v.reshape(v.shape + (1,) * (like.dim() - 1))
    return v


class Noise:
    """Source of Brownian quantities for one solve on one grid."""

    def __init__(self, coef: GridCoefficients, generator: Generators) -> None:
        self.coef = coef
        self.generator = generator

    def normal(self, like: Tensor) -> Tensor:
        return randn(like.shape, self.generator, like.device, like.dtype)

    def increment(self, k: int, like: Tensor) -> Tensor:
        """``W(s_{k+1}) - W(s_k)``, shaped like ``like``."""
        raise NotImplementedError

    def add_increment_(self, k: int, y: Tensor, weight: float) -> Tensor:
        """``y += weight · (W(s_{k+1}) - W(s_k))`` in place; returns ``y``. For a stepper that only adds the
        increment: a source may then skip materialising it (:class:`GaussianNoise` folds ``√|h|`` into ``weight``
        and draws into a reused buffer)."""
        return y.add_(self.increment(k, y), alpha=weight)

    def integral(self, k: int, like: Tensor) -> Tensor:
        """``∫ exp(∫_u^{t_{k+1}} a) g(u) dW_u`` over step ``k``."""
        raise NotImplementedError

    def split(self, k: int, like: Tensor, sw: SplitWeights) -> tuple[Tensor, Tensor]:
        """``(η₁, η₂)``: the weighted integrals over ``[t, τ]`` (to ``τ``) and ``[t, t']`` (to ``t'``), jointly."""
        raise NotImplementedError

    def space_time(self, k: int, like: Tensor) -> tuple[Tensor, Tensor]:
        """``(ΔW, U)`` with ``U = ∫_{s_k}^{s_{k+1}} (W(s) - W(s_k)) ds``, jointly."""
        raise NotImplementedError


class GaussianNoise(Noise):
    """Fresh standard normals from ``generator`` (exact in law for every request).

    The draws of one solve share a :class:`~sdesolve.random.DrawScratch` (the CPU transform's work buffers), and
    :meth:`add_increment_` draws into one reused buffer: in the loop a draw then allocates nothing."""

    def __init__(self, coef: GridCoefficients, generator: Generators) -> None:
        super().__init__(coef, generator)
        self._scratch = DrawScratch()
        self._buffer: Tensor | None = None

    def normal(self, like: Tensor) -> Tensor:
        return randn(like.shape, self.generator, like.device, like.dtype, scratch=self._scratch)

    def increment(self, k: int, like: Tensor) -> Tensor:
        return self.normal(like).mul_(self.coef.sqrt_h[k])

    def add_increment_(self, k: int, y: Tensor, weight: float) -> Tensor:
        buf = self._buffer
        if buf is None or buf.shape != y.shape or buf.dtype != y.dtype or buf.device != y.device:
            buf = self._buffer = torch.empty_like(y, memory_format=torch.contiguous_format)
        xi = randn(y.shape, self.generator, y.device, y.dtype, scratch=self._scratch, out=buf)
        return y.add_(xi, alpha=weight * self.coef.sqrt_h[k])  # one pass: √|h| folded into the weight

    def integral(self, k: int, like: Tensor) -> Tensor:
        return self.normal(like).mul_(self.coef.noise_std[k])

    def split(self, k: int, like: Tensor, sw: SplitWeights) -> tuple[Tensor, Tensor]:
        eta1 = self.normal(like).mul_(_per_sample(sw.head_noise_std, like))
        eta2 = self.normal(like).mul_(_per_sample(sw.tail_noise_std, like))
        if isinstance(sw.tail_state_weight, Tensor):
            return eta1, eta2.addcmul_(eta1, _per_sample(sw.tail_state_weight, like))
        return eta1, eta2.add_(eta1, alpha=sw.tail_state_weight)

    def space_time(self, k: int, like: Tensor) -> tuple[Tensor, Tensor]:
        h = float(self.coef.abs_h[k])
        dw = self.normal(like).mul_(h**0.5)
        u = self.normal(like).mul_((h**3 / 12.0) ** 0.5).add_(dw, alpha=0.5 * h)
        return dw, u


class PathNoise(Noise):
    """Noise read from a Brownian path ``bm(sa, sb) -> W(sb) - W(sa)`` in solver time.

    Tensors returned by ``bm`` are never modified in place (a ``BrownianInterval`` returns its cache).

    ``bm`` may return shape ``like.shape`` or ``(batch, prod(event))`` (torchsde's layout); ``generator`` only
    feeds Brownian bridges at per-sample midpoints.
    Times are handed to ``bm`` as Python floats (the grid coefficients are ``numpy.float64`` arrays).
    """

    def __init__(self, coef: GridCoefficients, bm: Callable[..., Any], generator: Generators) -> None:
        super().__init__(coef, generator)
        if not callable(bm):
            raise TypeError(f"bm must be a callable bm(ta, tb) -> W(tb) - W(ta), got {type(bm).__name__}")
        self.bm = bm

    def _shape(self, w: Any, like: Tensor, what: str = "bm(ta, tb)") -> Tensor:
        if not isinstance(w, Tensor):
            raise TypeError(f"{what} must return a tensor, got {type(w).__name__}")
        if w.numel() != like.numel() or w.shape[:1] != like.shape[:1]:
            raise ValueError(
                f"{what} returned shape {tuple(w.shape)}; expected {tuple(like.shape)} or "
                f"({like.shape[0]}, {like[0].numel()}) to match the state"
            )
        return w.reshape(like.shape).to(dtype=like.dtype, device=like.device)

    def query(self, sa: float, sb: float, like: Tensor) -> Tensor:
        return self._shape(self.bm(sa, sb), like)

    def increment(self, k: int, like: Tensor) -> Tensor:
        return self.query(float(self.coef.s[k]), float(self.coef.s[k + 1]), like)

    def integral(self, k: int, like: Tensor) -> Tensor:
        return self.increment(k, like) * self.coef.path_mean[k]  # never in place: bm may return its cached tensors

    def split(self, k: int, like: Tensor, sw: SplitWeights) -> tuple[Tensor, Tensor]:
        s0, s1 = float(self.coef.s[k]), float(self.coef.s[k + 1])
        if isinstance(sw.frac, Tensor):
            dw = self.increment(k, like)
            f = _per_sample(sw.frac, like)
            bridge = (f * (1 - f) * float(self.coef.abs_h[k])).clamp_min(0).sqrt()
            dw1 = dw * f + self.normal(like) * bridge
        else:
            sm = s0 + float(sw.frac) * (s1 - s0)
            dw1 = self.query(s0, sm, like)
            dw = dw1 + self.query(sm, s1, like)
        dw2 = dw - dw1
        eta1 = dw1 * _per_sample(sw.head_path_mean, like)
        eta2 = dw1 * _per_sample(sw.step_path_mean_head, like) + dw2 * _per_sample(sw.step_path_mean_tail, like)
        return eta1, eta2

    def space_time(self, k: int, like: Tensor) -> tuple[Tensor, Tensor]:
        s0, s1 = float(self.coef.s[k]), float(self.coef.s[k + 1])
        need = (
            "this stepper needs the space-time Lévy area U = ∫(W(s) - W(s_k)) ds: pass a bm accepting "
            f"return_U=True; {LEVY_AREA_HINT}"
        )
        try:
            out = self.bm(s0, s1, return_U=True)
        except TypeError as exc:
            raise TypeError(f"{need} (the given bm failed with: {exc})") from exc
        if not (isinstance(out, tuple) and len(out) == 2) or out[1] is None:
            raise TypeError(f"{need}; bm(ta, tb, return_U=True) did not return a pair (W, U)")
        return self._shape(out[0], like), self._shape(out[1], like, "bm(ta, tb, return_U=True)[1]")


def check_levy_area(bm: Any, stepper: str) -> None:
    """Refuse, before any step, a path ``bm`` that cannot answer the space-time Lévy area ``stepper`` needs.

    A torchsde ``BrownianInterval`` tells through its ``levy_area_approximation``; any other callable must at least
    accept ``return_U`` (a named parameter or ``**kwargs``) — whether it returns a pair ``(W, U)`` is then checked
    at the first step. Nothing is queried (a query could change which increments a ``BrownianInterval`` returns).
    """
    if not callable(bm):
        return  # PathNoise says what bm must be
    need = f"stepper {stepper!r} needs the space-time Lévy area U = ∫(W(s) - W(s_k)) ds of the path"
    approximation = getattr(bm, "levy_area_approximation", None)
    if approximation is not None:
        if str(approximation) == "none":
            raise TypeError(f"{need}, but bm was built with levy_area_approximation='none'; {LEVY_AREA_HINT}")
        return
    try:
        params = inspect.signature(bm).parameters.values()
    except (TypeError, ValueError):  # no signature to read: the first step will tell
        return
    if not any(p.name == "return_U" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        raise TypeError(
            f"{need}, but bm takes no return_U argument (bm(ta, tb, return_U=True) -> (W, U)); {LEVY_AREA_HINT}"
        )
