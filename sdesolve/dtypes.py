"""The dtypes the command line and the plugins accept by name (``--dtype float32``), in one public map."""

from __future__ import annotations

import torch

__all__ = ["DTYPES", "F64", "dtype"]

#: The dtype of every precomputed coefficient, quadrature and exact reference (one name for it everywhere).
F64 = torch.float64

#: Name → floating-point dtype of a state.
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


def dtype(name: str) -> torch.dtype:
    """The dtype called ``name``; a ``ValueError`` listing the accepted names otherwise."""
    try:
        return DTYPES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dtype {name!r}; expected one of {', '.join(sorted(DTYPES))}") from None
