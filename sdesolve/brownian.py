"""Brownian paths that adaptive SDE solves can query, reject and re-query consistently.

An adaptive step ``[s, s + h]`` needs ``W(s + h) - W(s)``; when the step is rejected and retried shorter, the new
increment must come from the *same* path, conditionally on what was already drawn (drawing it afresh would favour
small increments and shrink the variance of the solution). Two sources, both in *solver time* ``s`` (``s = t`` for
a forward solve, ``s = -t`` backwards: every increment has variance ``|h|``):

* :class:`BrownianBridgePath` (the default noise): per sample, the values ``W(p) - W(s)`` at the points ``p > s``
  already drawn are kept; a new point ``u`` is drawn from the Brownian bridge between its nearest known neighbours
  ``l < u < r`` — mean ``W(l) + (u - l)/(r - l) (W(r) - W(l))``, variance ``(u - l)(r - u)/(r - l)`` — or, beyond
  the last known point, as ``W(l) + √(u - l) ξ``. By the Markov property of Brownian motion this is the exact
  conditional law given every value drawn before, so the accepted path is a Brownian path whatever the rejections.
  Each sample has its own times and its own points; each query is one draw of ``generator`` for the whole batch
  (one normal per element), so with :class:`~sdesolve.random.SeedStreams` (or one generator per sample) sample
  ``i``'s path depends only on its own seed and on its own sequence of queries.
* :class:`UserPath`: a path given as ``bm(sa, sb) -> W(sb) - W(sa)``, e.g. a ``torchsde.BrownianInterval``, which
  keeps itself consistent; it answers scalar times only, so every sample must be at the same times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sdesolve.random import Generators, randn

__all__ = ["BrownianBridgePath", "UserPath"]


def _rows(v: np.ndarray, like: Tensor) -> Tensor:
    """A host ``(B,)`` float64 array as a ``(B, 1, …, 1)`` tensor on ``like``'s device and dtype."""
    t = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
    return t.to(device=like.device, dtype=like.dtype).reshape((-1,) + (1,) * (like.dim() - 1))


class BrownianBridgePath:
    """A per-sample Brownian path refined by Brownian bridges (see the module docstring).

    ``increment(s1, active)`` draws (or reads) ``W(s1) - W(s)`` for every active sample (zero for the others) and
    remembers it; ``accept(mask)`` moves the samples in ``mask`` to their last queried time. Times are host float64
    arrays of shape ``(B,)``, strictly after each sample's current time for active samples.

    Memory: the points still ahead of each sample, ``K`` of them (``K`` grows by one per rejected attempt and
    shrinks as steps are accepted; one or two in practice), as a ``(B, K, *event)`` tensor.
    """

    def __init__(self, like: Tensor, s0: np.ndarray, generator: Generators) -> None:
        self.like = like
        self.generator = generator
        self.s = np.array(s0, dtype=np.float64).reshape(-1)
        batch = like.shape[0]
        if self.s.shape != (batch,):
            raise ValueError(f"s0 must hold one time per sample ({batch}), got shape {self.s.shape}")
        self.times = np.empty((batch, 0), dtype=np.float64)  # known points ahead, sorted, +inf padded
        self.values = like.new_zeros((batch, 0, *like.shape[1:]))  # W(point) - W(s)
        self._pending: tuple[np.ndarray, Tensor] | None = None
        self.draws = 0

    def increment(self, s1: np.ndarray, active: np.ndarray) -> Tensor:
        """``W(s1) - W(s)`` per sample (``0`` where ``active`` is false); one draw of the generator."""
        like = self.like
        batch = like.shape[0]
        s1 = np.asarray(s1, dtype=np.float64)
        active = np.asarray(active, dtype=bool)
        if np.any(active & ~(s1 > self.s)):
            raise ValueError("BrownianBridgePath.increment: each active sample's s1 must lie after its current time")
        inf = np.full((batch, 1), np.inf)
        times = np.concatenate([self.s[:, None], self.times, inf], axis=1)  # (B, K + 2)
        zero = like.new_zeros((batch, 1, *like.shape[1:]))
        values = torch.cat([zero, self.values, zero], dim=1)
        left = np.maximum((times < s1[:, None]).sum(axis=1) - 1, 0)
        right = left + 1
        rows = np.arange(batch)
        lt, rt = times[rows, left], times[rows, right]
        hit = active & (rt == s1)
        bounded = np.isfinite(rt)
        rb = np.where(bounded, rt, s1)  # finite stand-in where there is no right neighbour
        span = np.where(bounded, rb - lt, 1.0)
        frac = np.where(bounded, (s1 - lt) / span, 0.0)
        var = np.where(bounded, (s1 - lt) * (rb - s1) / span, s1 - lt)
        var = np.where(active & ~hit, np.maximum(var, 0.0), 0.0)
        frac = np.where(hit, 1.0, np.where(active, frac, 0.0))
        idx = torch.as_tensor(rows, device=like.device)
        lv = values[idx, torch.as_tensor(left, device=like.device)]
        rv = values[idx, torch.as_tensor(right, device=like.device)]
        z = randn(like.shape, self.generator, like.device, like.dtype)  # always drawn: one draw per query
        self.draws += 1
        w = lv + _rows(frac, like) * (rv - lv) + _rows(np.sqrt(var), like) * z
        new = active & ~hit
        if new.any():  # insert the new points (inf elsewhere) and keep each row sorted
            self.times, self.values = self._sorted(
                np.concatenate([self.times, np.where(new, s1, np.inf)[:, None]], axis=1),
                torch.cat([self.values, (w * _rows(new.astype(np.float64), like)).unsqueeze(1)], dim=1),
            )
        self._pending = (np.where(active, s1, self.s), w)
        return w

    def accept(self, mask: np.ndarray) -> None:
        """Move the samples in ``mask`` to the time of their last query (their step was accepted)."""
        if self._pending is None:
            raise RuntimeError("BrownianBridgePath.accept before increment")
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        s1, w = self._pending
        like = self.like
        m = _rows(mask.astype(np.float64), like).unsqueeze(1)
        values = self.values - m * w.unsqueeze(1)  # relative to the new current value W(s1)
        passed = mask[:, None] & (self.times <= s1[:, None])
        times = np.where(passed, np.inf, self.times)
        values = values * torch.as_tensor(~passed, device=like.device, dtype=like.dtype).reshape(
            passed.shape + (1,) * (like.dim() - 1)
        )
        self.s = np.where(mask, s1, self.s)
        self.times, self.values = self._sorted(times, values)

    @staticmethod
    def _sorted(times: np.ndarray, values: Tensor) -> tuple[np.ndarray, Tensor]:
        order = np.argsort(times, axis=1, kind="stable")
        times = np.take_along_axis(times, order, axis=1)
        keep = int(np.isfinite(times).any(axis=0).sum())  # finite points sort first: drop all-inf columns
        order, times = order[:, :keep], times[:, :keep]
        rows = torch.arange(times.shape[0], device=values.device)[:, None]
        return times, values[rows, torch.as_tensor(order, device=values.device)]

    @property
    def known_points(self) -> int:
        """The most points held ahead of any sample (``K``)."""
        return self.times.shape[1]


class UserPath:
    """A Brownian path ``bm(sa, sb) -> W(sb) - W(sa)`` (e.g. a ``torchsde.BrownianInterval``) for batch-shared
    steps: every active sample must be at the same time and query the same ``s1``."""

    def __init__(self, bm: Callable[..., Any], like: Tensor, s0: float) -> None:
        if not callable(bm):
            raise TypeError(f"bm must be a callable bm(ta, tb) -> W(tb) - W(ta), got {type(bm).__name__}")
        self.bm = bm
        self.like = like
        self.s = float(s0)
        self._pending: float | None = None

    def increment(self, s1: np.ndarray, active: np.ndarray) -> Tensor:
        s1 = np.asarray(s1, dtype=np.float64)
        active = np.asarray(active, dtype=bool)
        target = float(s1[active][0]) if active.any() else self.s
        if np.any(s1[active] != target):
            raise ValueError("a user Brownian path (bm) answers one time for the whole batch: steps must be shared")
        like = self.like
        w = self.bm(self.s, target)
        if not isinstance(w, Tensor):
            raise TypeError(f"bm(ta, tb) must return a tensor, got {type(w).__name__}")
        if w.numel() != like.numel() or w.shape[:1] != like.shape[:1]:
            raise ValueError(
                f"bm(ta, tb) returned shape {tuple(w.shape)}; expected {tuple(like.shape)} or "
                f"({like.shape[0]}, {like[0].numel()}) to match the state"
            )
        self._pending = target
        w = w.reshape(like.shape).to(dtype=like.dtype, device=like.device)  # never modified in place
        return w if active.all() else w * _rows(active.astype(np.float64), like)

    def accept(self, mask: np.ndarray) -> None:
        if np.asarray(mask, dtype=bool).any() and self._pending is not None:
            self.s = self._pending
