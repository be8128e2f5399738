"""Random draws from one ``torch.Generator`` or from one generator per sample.

With a list of generators (one per batch item, e.g. from per-sample seeds) sample ``i`` depends only on its own
generator, so results do not change with the batch size or the sample's position in the batch. CPU generators may
feed a state on any device: the numbers are drawn on the CPU and copied, so a CUDA run sees the same noise as a
CPU run (device generators are faster but produce a different stream).

Every draw is made in float64 and then cast to the requested dtype: torch's generators give different streams for
float32 and float64 requests (CPU ``randn`` of 16 or more numbers, and ``rand`` always, consume the generator
differently), so drawing in the working dtype would make a float32 and a float64 run with the same seeds entirely
different. With one draw dtype, changing ``dtype`` changes round-off only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["Generators", "check_generators", "generators_from_seeds", "rand", "randn"]

Generators = torch.Generator | Sequence[torch.Generator] | None

DRAW_DTYPE = torch.float64  # every random number is drawn in this dtype, then cast


def _where(generator: Generators, device: torch.device) -> torch.device:
    """Draw on the generators' device: CPU generators feed any device (the same numbers everywhere)."""
    first = generator if isinstance(generator, torch.Generator) else (generator[0] if generator else None)
    return torch.device("cpu") if first is not None and first.device.type == "cpu" else torch.device(device)


def randn(shape: Sequence[int], generator: Generators, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Standard normals of ``shape`` (``shape[0]`` is the batch when ``generator`` is a list), drawn in float64."""
    where = _where(generator, device)
    if generator is None or isinstance(generator, torch.Generator):
        out = torch.randn(tuple(shape), generator=generator, device=where, dtype=DRAW_DTYPE)
    else:
        out = torch.stack(
            [torch.randn(tuple(shape[1:]), generator=g, device=where, dtype=DRAW_DTYPE) for g in generator]
        )
    return out.to(device=device, dtype=dtype, non_blocking=True)


def rand(count: int, generator: Generators, device: torch.device, dtype: torch.dtype) -> Tensor:
    """``count`` uniforms on ``[0, 1)`` (one per sample from its own generator when given a list), drawn in float64."""
    where = _where(generator, device)
    if generator is None or isinstance(generator, torch.Generator):
        out = torch.rand(count, generator=generator, device=where, dtype=DRAW_DTYPE)
    else:
        out = torch.cat([torch.rand(1, generator=g, device=where, dtype=DRAW_DTYPE) for g in generator])
    return out.to(device=device, dtype=dtype, non_blocking=True)


def generators_from_seeds(seeds: Sequence[int], device: torch.device | str) -> list[torch.Generator]:
    """One generator per seed, on ``device``."""
    out = []
    for i, seed in enumerate(seeds):
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seeds[{i}] must be an int, got {type(seed).__name__}")
        if not 0 <= seed < 2**64:  # torch seeds are 64-bit; -1 and 2**64 - 1 would silently share a stream
            raise ValueError(
                f"seeds[{i}] must be an integer in [0, 2**64), got {seed}; reduce a larger seed first, e.g. "
                "int.from_bytes(hashlib.sha256(str(seed).encode()).digest()[:8], 'little')"
            )
        out.append(torch.Generator(device=device).manual_seed(seed))
    return out


def check_generators(generator: Generators, batch: int, device: torch.device, name: str = "generator") -> None:
    """Raise a clear error unless ``generator`` is ``None``, a generator, or one generator per sample, on ``device``."""
    if generator is None:
        return
    gens = [generator] if isinstance(generator, torch.Generator) else generator
    if not isinstance(generator, torch.Generator):
        if not isinstance(generator, (list, tuple)):
            raise TypeError(
                f"{name} must be a torch.Generator or a list of them (one per sample), got {type(generator).__name__}"
            )
        if len(gens) != batch:
            raise ValueError(f"{name} holds {len(gens)} generators for a batch of {batch}; give one per sample")
    for g in gens:
        if not isinstance(g, torch.Generator):
            raise TypeError(f"{name} must be a torch.Generator or a list of them, got an item {type(g).__name__}")
        if g.device.type not in ("cpu", device.type):
            raise ValueError(
                f"{name} is on device {g.device} but the state is on {device}; create it on the state's device "
                "(or on the CPU: CPU generators feed any device, identically)"
            )
