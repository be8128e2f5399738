"""Solve one SDE with sdesolve and with torchsde on the same Brownian path, both time directions.

    python examples/reference_agreement.py

Prints the largest difference between sdesolve's euler_maruyama and torchsde's euler, and (when the example
plugin sdesolve-sra is installed) between sdesolve's sra1 and torchsde's srk, on a 32-step dyadic grid.
"""

from __future__ import annotations

import torch

import sdesolve
from sdesolve.reference import brownian_interval, sdeint_reference


def main() -> None:
    sde = sdesolve.SemilinearSDE(
        a=lambda t: -1.0 - 0.5 * torch.cos(t),
        b=lambda t: 1.0 + 0.3 * t,
        nonlinear=lambda t, x: torch.sin(x) + torch.cos(t),
        g=lambda t: 0.5 + 0.3 * torch.sin(t),
    )
    x0 = torch.randn(256, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    pairs = [("euler_maruyama", "euler")]
    if "sra1" in sdesolve.steppers():
        pairs.append(("sra1", "srk"))
    for direction, ts in (("forward", torch.arange(33) / 32), ("backward", torch.arange(32, -1, -1) / 32)):
        ts = ts.to(torch.float64)
        for ours, theirs in pairs:
            bm = brownian_interval(ts, tuple(x0.shape), seed=1)
            ref = sdeint_reference(sde, x0, ts, bm, method=theirs, trajectory=True)
            out = sdesolve.solve(sde, x0, ts, ours, bm=bm, trajectory=True)
            diff = float((out - ref).abs().max())
            print(f"{direction:8s} sdesolve {ours:15s} vs torchsde {theirs:6s}: max |difference| = {diff:.1e}")


if __name__ == "__main__":
    main()
