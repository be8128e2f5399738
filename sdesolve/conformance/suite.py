"""Measure every registered stepper's convergence orders and compare them with the declared ones.

* **ODE order**: RMS error at the final time over a batch of initial states (and, for randomized steppers,
  of internal random draws) against the closed form or ``torchdiffeq`` dopri5 (rtol 1e-11, atol 1e-13),
  for a sequence of refined grids; the order is the least-squares slope of ``log error`` against
  ``log n``.
* **Strong order** (steppers with ``supports_noise``): RMS pathwise error against ``torchsde`` ``srk``
  (SRA1, strong order 1.5) at ``1/8`` of the finest step, with the stepper and torchsde driven by the same
  ``BrownianInterval``.

A measurement fails when it is below the declared order by more than ``tolerance`` (0.25), or when the
counted evaluations of ``N`` differ from ``nfe_per_step`` × steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sdesolve.conformance.problems import PROBLEMS, Problem
from sdesolve.plugins import registry
from sdesolve.reference import brownian_interval, odeint_reference, sdeint_reference
from sdesolve.solve import integrate
from sdesolve.steppers.base import Stepper

__all__ = ["OrderResult", "SuiteConfig", "fit_order", "measure_order", "run_conformance"]

TOLERANCE = 0.25


@dataclass(frozen=True)
class SuiteConfig:
    """Sizes of the measurement; ``quick`` halves the work."""

    quick: bool = False
    device: str = "cpu"
    dtype: torch.dtype = torch.float64
    seed: int = 0
    tolerance: float = TOLERANCE

    @property
    def ode_steps(self) -> tuple[int, ...]:
        return (16, 32, 64, 128) if self.quick else (16, 32, 64, 128, 256)

    @property
    def sde_steps(self) -> tuple[int, ...]:
        return (8, 16, 32, 64) if self.quick else (8, 16, 32, 64, 128)

    @property
    def ode_batch(self) -> int:
        return 128 if self.quick else 256

    @property
    def sde_paths(self) -> int:
        return 256 if self.quick else 512

    refine: int = 8


@dataclass
class OrderResult:
    """One measured order."""

    stepper: str
    problem: str
    kind: str
    declared: float
    measured: float
    steps: list[int]
    errors: list[float]
    reference: str
    nfe_ok: bool
    tolerance: float
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.passed = bool(
            np.isfinite(self.measured) and self.measured >= self.declared - self.tolerance and self.nfe_ok
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_order(steps: list[int], errors: list[float]) -> float:
    """Least-squares slope of ``-log(error)`` against ``log(steps)`` (``nan`` if any error is not positive)."""
    e = np.asarray(errors, dtype=float)
    if not np.all(np.isfinite(e)) or np.any(e <= 0):
        return float("nan")
    slope = np.polyfit(np.log(np.asarray(steps, dtype=float)), np.log(e), 1)[0]
    return float(-slope)


def _rms(x: Tensor, ref: Tensor) -> float:
    return float(((x - ref) ** 2).flatten(1).sum(1).mean().sqrt())


class _References:
    """Reference solutions, computed once per problem and shared by every stepper."""

    def __init__(self, config: SuiteConfig) -> None:
        self.config = config
        self._ode: dict[str, tuple[Tensor, Tensor, str]] = {}
        self._sde: dict[str, tuple[Tensor, Any, Tensor]] = {}

    def ode(self, problem: Problem) -> tuple[Tensor, Tensor, str]:
        if problem.name not in self._ode:
            c = self.config
            x0 = problem.initial(c.ode_batch, c.dtype, c.device, c.seed)
            grid = problem.grid(max(c.ode_steps))
            t0, t1 = float(grid[0]), float(grid[-1])
            if problem.exact is not None:
                ref, how = problem.exact(x0, t0, t1), "closed form"
            else:
                sde = problem.make(False)
                ref = odeint_reference(sde, x0, [t0, t1], rtol=1e-11, atol=1e-13)
                how = "torchdiffeq dopri5 (rtol 1e-11, atol 1e-13)"
            self._ode[problem.name] = (x0, ref, how)
        return self._ode[problem.name]

    def sde(self, problem: Problem) -> tuple[Tensor, Any, Tensor]:
        if problem.name not in self._sde:
            c = self.config
            x0 = problem.initial(c.sde_paths, c.dtype, c.device, c.seed + 1)
            finest = problem.grid(max(c.sde_steps))
            bm = brownian_interval(finest, tuple(x0.shape), seed=c.seed + 2, dtype=c.dtype, device=c.device)
            span = abs(float(finest[-1] - finest[0]))
            dt = span / (max(c.sde_steps) * c.refine)
            ref = sdeint_reference(problem.make(True), x0, [float(finest[0]), float(finest[-1])], bm, dt=dt)
            self._sde[problem.name] = (x0, bm, ref)
        return self._sde[problem.name]


def measure_order(
    stepper: type[Stepper], problem: Problem, kind: str, config: SuiteConfig, refs: _References
) -> OrderResult:
    """Measure one order (``kind`` is ``"ode"`` or ``"strong"``) of ``stepper`` on ``problem``."""
    errors: list[float] = []
    nfe_ok = True
    if kind == "ode":
        x0, ref, how = refs.ode(problem)
        steps = list(config.ode_steps)
        sde = problem.make(False)
        declared = float(stepper.ode_order)
        for n in steps:
            gen = torch.Generator(device=config.device).manual_seed(config.seed + n)
            res = integrate(sde, x0, problem.grid(n), stepper, generator=gen)
            errors.append(_rms(res.x, ref))
            nfe_ok &= res.nfe == stepper.nfe_per_step * n
    elif kind == "strong":
        x0, bm, ref = refs.sde(problem)
        how = f"torchsde srk, dt = finest step / {config.refine}, same BrownianInterval"
        steps = list(config.sde_steps)
        sde = problem.make(True)
        declared = float(stepper.strong_order)
        for n in steps:
            gen = torch.Generator(device=config.device).manual_seed(config.seed + n)
            res = integrate(sde, x0, problem.grid(n), stepper, bm=bm, generator=gen)
            errors.append(_rms(res.x, ref))
            nfe_ok &= res.nfe == stepper.nfe_per_step * n
    else:
        raise ValueError(f"kind must be 'ode' or 'strong', got {kind!r}")
    return OrderResult(
        stepper=stepper.name,
        problem=problem.name,
        kind=kind,
        declared=declared,
        measured=fit_order(steps, errors),
        steps=steps,
        errors=errors,
        reference=how,
        nfe_ok=bool(nfe_ok),
        tolerance=config.tolerance,
    )


def run_conformance(
    steppers: list[str] | None = None,
    *,
    quick: bool = False,
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
    problems: list[str] | None = None,
    seed: int = 0,
) -> list[OrderResult]:
    """Measure the ODE order (every stepper) and strong order (steppers supporting noise) on every problem.

    ``steppers`` defaults to every registered stepper, so a third-party plugin is checked like a built-in.
    """
    config = SuiteConfig(quick=quick, device=device, dtype=dtype, seed=seed)
    table = registry().steppers
    names = sorted(table) if steppers is None else steppers
    for name in names:
        registry().get("stepper", name)  # clear error for unknown names
    chosen = [PROBLEMS[p] for p in (problems or list(PROBLEMS))]
    refs = _References(config)
    results = []
    for name in names:
        cls = table[name]
        for problem in chosen:
            results.append(measure_order(cls, problem, "ode", config, refs))
            if cls.supports_noise:
                results.append(measure_order(cls, problem, "strong", config, refs))
    return results
