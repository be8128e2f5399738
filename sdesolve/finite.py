"""Detecting non-finite values during integration without synchronising with the device on every step.

:class:`FiniteMonitor` keeps, on the device, the index of the first step whose state was not finite; the time loop
only launches one reduction per step, and the single host read happens in :meth:`FiniteMonitor.check` at the end.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["FiniteMonitor", "NonFiniteError"]

_FLUSH = 64  # updates whose extrema are combined at once (a handful of small operations per _FLUSH steps)


class NonFiniteError(FloatingPointError):
    """The state became NaN or infinite; ``step`` is the first step after which it was."""

    def __init__(self, message: str, step: int) -> None:
        super().__init__(message)
        self.step = step


class FiniteMonitor:
    """Remembers the first step ``k`` after which ``x`` held a NaN or an infinity.

    Each :meth:`update` launches one reduction, ``torch.aminmax(x)`` (one pass, no temporary; min and max propagate
    NaN, and both are finite exactly when every element is), and keeps its two scalars; every ``_FLUSH`` updates (and
    when :attr:`first` is read) they are combined into the first bad step by a few operations on the device.
    """

    def __init__(self, device: torch.device) -> None:
        self._first = torch.full((), -1, dtype=torch.long, device=device)
        self._steps: list[int] = []
        self._extrema: list[Tensor] = []

    @property
    def first(self) -> Tensor:
        """The first step after which the state was not finite, ``-1`` if none (a 0-d device tensor)."""
        self._flush()
        return self._first

    def update(self, k: int, x: Tensor) -> None:
        if x.numel() == 0:
            return
        if self._extrema and self._extrema[-1].dtype != x.dtype:
            self._flush()  # the extrema are stacked: one dtype per batch of updates
        self._extrema.extend(torch.aminmax(x))
        self._steps.append(k)
        if len(self._steps) >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        if not self._steps:
            return
        steps, extrema = self._steps, self._extrema
        self._steps, self._extrema = [], []
        bad = ~torch.isfinite(torch.stack(extrema)).view(-1, 2).all(dim=1)
        pos = torch.argmax(bad.to(torch.uint8))  # the first bad update of the batch (0 when none)
        if steps == list(range(steps[0], steps[0] + len(steps))):
            step = pos + steps[0]
        else:
            step = torch.tensor(steps, dtype=torch.long).to(bad.device, non_blocking=True)[pos]
        self._first = torch.where((self._first < 0) & bad.any(), step, self._first)

    def check(self, describe) -> None:
        """Raise :class:`NonFiniteError` (one host read); ``describe(k)`` words the step."""
        first = int(self.first)
        if first >= 0:
            raise NonFiniteError(f"non-finite values (NaN or inf) first appeared after {describe(first)}", first)
