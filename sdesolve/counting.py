"""Counting evaluations: the one NFE counter of sdesolve and its plugins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CountedCalls"]


class CountedCalls:
    """``fn`` wrapped to count its calls: ``nfe`` grows by one per call, whatever the batch size.

    The solve loop counts ``N`` with it (``SolveContext.nfe``, ``SolveResult.nfe``), the diffusion plugin's model
    adapter counts network calls with it, and the lab counts what each peer spends: an NFE means the same thing
    everywhere.
    """

    __slots__ = ("fn", "nfe")

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"expected a callable to count, got {type(fn).__name__} {fn!r}")
        self.fn = fn
        self.nfe = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.nfe += 1
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"CountedCalls({self.fn!r}, nfe={self.nfe})"
