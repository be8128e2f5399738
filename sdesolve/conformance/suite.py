"""Measure every registered stepper's convergence orders and compare them with the declared ones.

* **ODE order**: RMS error at the final time over a batch of initial states (and, for randomized steppers,
  of internal random draws) against the closed form or ``torchdiffeq`` dopri5 (rtol 1e-11, atol 1e-13),
  for a sequence of refined grids; the order is the least-squares slope of ``log error`` against
  ``log n``.
* **Strong order** (steppers with ``supports_noise``): RMS pathwise error against ``torchsde`` ``srk``
  (SRA1, strong order 1.5) at ``1/8`` of the finest step, with the stepper and torchsde driven by the same
  ``BrownianInterval``.
* **Weak order** (steppers with ``supports_noise``): Monte-Carlo errors of the mean and the variance at the final
  time of linear additive-noise problems whose law there is Gaussian in closed form
  (:data:`~sdesolve.conformance.problems.WEAK_PROBLEMS`), on coarse grids. A moment's error at a grid counts only
  when it is at least :data:`RESOLVE` Monte-Carlo standard errors (computed from the samples) from zero; the
  order of a moment is fitted over the run of such grids, of one sign, ending at the finest one, when that run
  holds at least :data:`MIN_POINTS` grids; the measured weak order is the smallest order over the moments so
  measured. When no moment can be measured the claim is **unmeasurable**, which fails.

* **Tolerance proportionality** (steppers declaring an embedded error estimate,
  :func:`sdesolve.adaptive.declared_pair`): adaptive solves of closed-form ODEs
  (:data:`~sdesolve.conformance.problems.TOLERANCE_PROBLEMS`) at ``rtol = atol = 10^-3 … 10^-6``; the measured
  value is the least-squares slope of ``log error`` against ``log tol`` (declared 1: the error falls in proportion
  to the tolerance). It fails outside ``1 ± tolerance`` or when an error exceeds :data:`TOLERANCE_MULTIPLE` × tol.
  On the SDE problem (``noise=True``; steppers supporting noise whose pair has an SDE form) the strong error (RMS
  over :attr:`SuiteConfig.tolerance_paths` paths of the strong check's ``BrownianInterval``, against its fine-grid
  reference) is measured at ``tol = 10^-1 … 10^-3`` (10^-3.5 in the full run). The declared exponent is
  ``strong_order / noise_error_order`` (:func:`tolerance_exponent`; 2/3 for the built-in pairs: the controller
  holds the ``O(h^{3/2})`` local estimate at ``tol``, so ``h ~ tol^{2/3}``, and a strong-order-1 step's global
  error is ``O(h)``); it fails outside ``± SDE_TOLERANCE_BAND`` of it or when an error exceeds
  :data:`SDE_TOLERANCE_MULTIPLE` × ``tol^exponent``.

A measurement fails when it is below the declared order by more than ``tolerance`` (0.25), when it cannot be
measured, when the counted evaluations of ``N`` differ from ``nfe_per_step`` × steps, or when the stepper
raises (an ``ERROR`` result carrying the message; the other steppers are still measured).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sdesolve.adaptive import EmbeddedPair, declared_pair, solve_adaptive
from sdesolve.conformance.problems import (
    PROBLEMS,
    TOLERANCE_PROBLEMS,
    WEAK_PROBLEMS,
    Problem,
    ToleranceProblem,
    WeakProblem,
)
from sdesolve.plugins import registry
from sdesolve.reference import brownian_interval, odeint_reference, sdeint_reference
from sdesolve.solve import integrate
from sdesolve.steppers.base import Stepper

__all__ = [
    "KINDS",
    "SDE_TOLERANCE_BAND",
    "SDE_TOLERANCE_MULTIPLE",
    "TOLERANCE_MULTIPLE",
    "OrderResult",
    "SuiteConfig",
    "fit_order",
    "measure_order",
    "run_conformance",
    "tolerance_exponent",
    "weak_fit",
]

TOLERANCE = 0.25
#: A weak error counts at a grid only when it is at least this many Monte-Carlo standard errors.
RESOLVE = 6.0
#: Grids (of one sign, ending at the finest resolved one) needed to fit a weak order.
MIN_POINTS = 3
#: Tolerance proportionality: the error of an adaptive solve may not exceed this multiple of the tolerance.
TOLERANCE_MULTIPLE = 20.0
#: SDE tolerance check: the strong error may not exceed this multiple of ``tol^exponent``.
SDE_TOLERANCE_MULTIPLE = 5.0
#: SDE tolerance check: the measured exponent must lie within this of the declared one.
SDE_TOLERANCE_BAND = 0.2
KINDS = ("ode", "strong", "weak", "tolerance")


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

    @property
    def weak_steps(self) -> tuple[int, ...]:
        return (4, 8, 16, 32) if self.quick else (4, 8, 16, 32, 64)

    @property
    def weak_samples(self) -> int:
        """Independent scalar samples per grid (``weak_batch`` paths × ``weak_dim`` coordinates)."""
        return 2**19 if self.quick else 2**20

    weak_dim: int = 64

    @property
    def weak_problems(self) -> tuple[str, ...]:
        return ("linear_weak_forward",) if self.quick else tuple(WEAK_PROBLEMS)

    refine: int = 8

    #: ``rtol = atol = 10^-k`` for these ``k`` (three decades) in the tolerance check
    tolerance_exponents: tuple[int, ...] = (3, 4, 5, 6)
    tolerance_batch: int = 8
    #: paths (the first of the strong check's) in the SDE tolerance check
    tolerance_paths: int = 16

    @property
    def sde_tolerances(self) -> tuple[float, ...]:
        """``tol`` of the SDE tolerance check: ``10^-1 … 10^-3`` by decades (``quick``), else by half decades to
        ``10^-3.5``."""
        if self.quick:
            return (1e-1, 1e-2, 1e-3)
        return tuple(10 ** (-k / 2) for k in range(2, 8))


@dataclass
class OrderResult:
    """One measured order; ``status`` is ``PASS``, ``FAIL``, ``UNMEASURABLE`` or ``ERROR``."""

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
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    bounds_ok: bool = True
    passed: bool = field(init=False)
    status: str = field(init=False)

    def __post_init__(self) -> None:
        measured_ok = bool(np.isfinite(self.measured))
        self.passed = bool(
            self.error is None
            and measured_ok
            and self.measured >= self.declared - self.tolerance
            and self.nfe_ok
            and self.bounds_ok
        )
        if self.error is not None:
            self.status = "ERROR"
        elif self.passed:
            self.status = "PASS"
        elif self.kind == "weak" and not measured_ok:
            self.status = "UNMEASURABLE"
        else:
            self.status = "FAIL"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_order(steps: list[int], errors: list[float]) -> float:
    """Least-squares slope of ``-log(error)`` against ``log(steps)`` (``nan`` if any error is not positive)."""
    e = np.asarray(errors, dtype=float)
    if len(e) < 2 or not np.all(np.isfinite(e)) or np.any(e <= 0):
        return float("nan")
    slope = np.polyfit(np.log(np.asarray(steps, dtype=float)), np.log(e), 1)[0]
    return float(-slope)


def weak_fit(
    steps: list[int],
    errors: list[float],
    std_errors: list[float],
    *,
    resolve: float = RESOLVE,
    min_points: int = MIN_POINTS,
) -> tuple[float, list[int]]:
    """The order fitted to the resolved grids of one moment, and those grids (``nan`` and fewer grids if too few).

    Resolved: ``|error| >= resolve × standard error``. Used: the longest run of consecutive resolved grids whose
    errors share the sign of the finest resolved one, ending there (a sign change marks the pre-asymptotic range).
    """
    ok = [
        bool(np.isfinite(e) and np.isfinite(s) and abs(e) >= resolve * s)
        for e, s in zip(errors, std_errors, strict=True)
    ]
    if not any(ok):
        return float("nan"), []
    last = max(i for i, r in enumerate(ok) if r)
    sign = np.sign(errors[last])
    first = last
    while first > 0 and ok[first - 1] and np.sign(errors[first - 1]) == sign:
        first -= 1
    used = list(range(first, last + 1))
    grids = [steps[i] for i in used]
    if len(used) < min_points:
        return float("nan"), grids
    return fit_order(grids, [abs(errors[i]) for i in used]), grids


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


def _measure_weak(stepper: type[Stepper], problem: WeakProblem, config: SuiteConfig) -> OrderResult:
    mean, variance = problem.law()
    batch = config.weak_samples // config.weak_dim
    x0 = problem.initial(batch, config.weak_dim, config.dtype, config.device)
    sde = problem.make()
    steps = list(config.weak_steps)
    moments: dict[str, dict[str, Any]] = {m: {"errors": [], "std_errors": []} for m in ("mean", "variance")}
    nfe_ok = True
    for n in steps:
        gen = torch.Generator(device=config.device).manual_seed(config.seed + 1000 + n)
        res = integrate(sde, x0, problem.grid(n), stepper, generator=gen)
        nfe_ok &= res.nfe == stepper.nfe_per_step * n
        x = res.x.detach().to(torch.float64).reshape(batch, -1)
        # Standard errors from per-path averages: coordinates of one path may share randomness (a random midpoint).
        m_hat = x.mean()
        dev2 = (x - m_hat) ** 2
        for name, estimate, exact, per_path in (
            ("mean", m_hat, mean, x.mean(1)),
            ("variance", dev2.mean(), variance, dev2.mean(1)),
        ):
            moments[name]["errors"].append(float(estimate) - exact)
            moments[name]["std_errors"].append(float(per_path.std()) / math.sqrt(batch))
    orders = {}
    for name, m in moments.items():
        order, used = weak_fit(steps, m["errors"], m["std_errors"])
        m["order"], m["used_steps"] = order, used
        if np.isfinite(order):
            orders[name] = order
    if orders:
        governing = min(orders, key=orders.get)
        measured = orders[governing]
        errors = [abs(e) for e in moments[governing]["errors"]]
        note = f"governed by the {governing} (the smallest order over the moments measured: {', '.join(orders)})"
    else:
        measured, errors = float("nan"), [abs(e) for e in moments["mean"]["errors"]]
        note = (
            f"unmeasurable: no moment has {MIN_POINTS} grids with an error of one sign at least {RESOLVE:g} "
            "Monte-Carlo standard errors from zero"
        )
    samples = batch * config.weak_dim
    return OrderResult(
        stepper=stepper.name,
        problem=problem.name,
        kind="weak",
        declared=float(stepper.weak_order),
        measured=float(measured),
        steps=steps,
        errors=errors,
        reference=(
            f"Gaussian law in closed form (mean {mean:.6g}, variance {variance:.6g}); {samples} samples per grid; "
            f"errors count where >= {RESOLVE:g} standard errors"
        ),
        nfe_ok=bool(nfe_ok),
        tolerance=config.tolerance,
        details={"moments": moments, "note": note, "samples": samples},
    )


def tolerance_exponent(stepper: type[Stepper], pair: EmbeddedPair) -> float:
    """The declared exponent ``p`` of the adaptive SDE solve's strong error ``~ tol^p``:
    ``stepper.strong_order / pair.noise_error_order``.

    The controller keeps the pair's local estimate ``C h^{noise_error_order}`` near ``tol``, so the steps are
    ``h ~ tol^{1/noise_error_order}``; the strong error of the propagated solution is ``O(h^{strong_order})``.
    The built-in pairs (``heun``, ``exponential_rk2``): ``1 / 1.5 = 2/3``.
    """
    return float(stepper.strong_order) / float(pair.noise_error_order)


def _measure_sde_tolerance(
    stepper: type[Stepper], problem: ToleranceProblem, config: SuiteConfig, refs: _References, factory: Any
) -> OrderResult:
    x0, bm, ref = refs.sde(PROBLEMS[problem.base])
    n = min(config.tolerance_paths, x0.shape[0])
    x0, ref = x0[:n], ref[:n]

    def path(sa: float, sb: float) -> Tensor:  # the first n paths of the strong check's BrownianInterval
        return bm(sa, sb)[:n]

    pair = factory()
    declared = tolerance_exponent(stepper, pair)
    tols = list(config.sde_tolerances)
    errors: list[float] = []
    runs: list[dict[str, Any]] = []
    nfe_ok = True
    for tol in tols:
        r = solve_adaptive(problem.make(), x0, (problem.t0, problem.t1), factory(), rtol=tol, atol=tol, bm=path)
        errors.append(_rms(r.x, ref))
        runs.append({"tol": tol, "accepted": r.n_accepted, "rejected": r.n_rejected, "nfe": r.nfe})
        nfe_ok &= r.nfe >= r.n_accepted + r.n_rejected
    inverse = [1.0 / tol for tol in tols]
    slope = fit_order(inverse, errors)
    ratios = [e / tol**declared for e, tol in zip(errors, tols, strict=True)]
    band = SDE_TOLERANCE_BAND
    within = bool(max(ratios) <= SDE_TOLERANCE_MULTIPLE and abs(slope - declared) <= band)
    note = (
        f"slope {slope:.2f} (declared {declared:.2f} = strong order / {pair.noise_error_order:g}, band ±{band:g}); "
        f"error/tol^{declared:.2f} {min(ratios):.2g}-{max(ratios):.2g} (at most {SDE_TOLERANCE_MULTIPLE:g})"
    )
    return OrderResult(
        stepper=stepper.name,
        problem=problem.name,
        kind="tolerance",
        declared=declared,
        measured=slope,
        steps=[round(v) for v in inverse],
        errors=errors,
        reference=(
            f"torchsde srk on the strong check's BrownianInterval (first {n} paths); steps holds 1/tol "
            "(rtol = atol = tol), RMS strong error over paths"
        ),
        nfe_ok=bool(nfe_ok),
        tolerance=band,
        details={"ratios": ratios, "runs": runs, "note": note, "multiple": SDE_TOLERANCE_MULTIPLE, "tols": tols},
        bounds_ok=within,
    )


def _measure_tolerance(
    stepper: type[Stepper], problem: ToleranceProblem, config: SuiteConfig, refs: _References
) -> OrderResult:
    factory = declared_pair(stepper)
    if factory is None:
        raise ValueError(f"stepper {stepper.name!r} declares no embedded error estimate (embedded_pair)")
    if problem.noise:
        return _measure_sde_tolerance(stepper, problem, config, refs, factory)
    sde = problem.make()
    x0 = problem.initial(config.tolerance_batch, config.dtype, config.device, config.seed)
    exact = problem.exact(x0)
    inverse = [10**k for k in config.tolerance_exponents]
    errors: list[float] = []
    runs: list[dict[str, Any]] = []
    nfe_ok = True
    for inv in inverse:
        tol = 1.0 / inv
        r = solve_adaptive(sde, x0, (problem.t0, problem.t1), factory(), rtol=tol, atol=tol)
        errors.append(float((r.x - exact).abs().max()))
        runs.append({"tol": tol, "accepted": r.n_accepted, "rejected": r.n_rejected, "nfe": r.nfe})
        nfe_ok &= r.nfe >= r.n_accepted + r.n_rejected
    slope = fit_order(inverse, errors)
    ratios = [e * inv for e, inv in zip(errors, inverse, strict=True)]
    within = bool(max(ratios) <= TOLERANCE_MULTIPLE and slope <= 1.0 + config.tolerance)
    note = (
        f"slope {slope:.2f} (band {1 - config.tolerance:g}-{1 + config.tolerance:g}); error/tol "
        f"{min(ratios):.2g}-{max(ratios):.2g} (at most {TOLERANCE_MULTIPLE:g})"
    )
    return OrderResult(
        stepper=stepper.name,
        problem=problem.name,
        kind="tolerance",
        declared=1.0,
        measured=slope,
        steps=inverse,
        errors=errors,
        reference="closed form; steps holds 1/tol (rtol = atol = tol), max error over the batch",
        nfe_ok=bool(nfe_ok),
        tolerance=config.tolerance,
        details={"ratios": ratios, "runs": runs, "note": note, "multiple": TOLERANCE_MULTIPLE},
        bounds_ok=within,
    )


def measure_order(
    stepper: type[Stepper],
    problem: Problem | WeakProblem | ToleranceProblem,
    kind: str,
    config: SuiteConfig,
    refs: _References,
) -> OrderResult:
    """Measure one order (``kind`` is ``"ode"``, ``"strong"`` or ``"weak"``) of ``stepper`` on ``problem``.

    ``"weak"`` takes a :class:`~sdesolve.conformance.problems.WeakProblem`. Exceptions propagate (see
    :func:`run_conformance`, which turns them into ``ERROR`` results).
    """
    if kind == "weak":
        if not isinstance(problem, WeakProblem):
            raise TypeError(f"the weak order is measured on a WeakProblem (WEAK_PROBLEMS), got {problem!r}")
        return _measure_weak(stepper, problem, config)
    if kind == "tolerance":
        if not isinstance(problem, ToleranceProblem):
            raise TypeError(f"tolerance proportionality is measured on a ToleranceProblem, got {problem!r}")
        return _measure_tolerance(stepper, problem, config, refs)
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
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
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


def _declared(cls: Any, kind: str) -> float:
    try:
        return float(getattr(cls, f"{kind}_order"))
    except Exception:
        return float("nan")


def _errored(name: str, cls: Any, problem: str, kind: str, exc: BaseException, config: SuiteConfig) -> OrderResult:
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return OrderResult(
        stepper=name,
        problem=problem,
        kind=kind,
        declared=_declared(cls, kind),
        measured=float("nan"),
        steps=[],
        errors=[],
        reference="",
        nfe_ok=False,
        tolerance=config.tolerance,
        error=message,
    )


def _pair_has_noise(cls: Any) -> bool:
    """Whether the stepper's declared pair has an SDE form (``False`` when building it fails: the ODE rows then
    report the error)."""
    try:
        return bool(declared_pair(cls)().supports_noise)  # type: ignore[misc]
    except Exception:
        return False


def run_conformance(
    steppers: list[str] | None = None,
    *,
    quick: bool = False,
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
    problems: list[str] | None = None,
    seed: int = 0,
    kinds: list[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[OrderResult]:
    """Measure the ODE order (every stepper), the strong and weak orders (steppers supporting noise) and tolerance
    proportionality (steppers declaring an embedded error estimate).

    ``progress(done, total, label)`` is called before each measurement (``label``: stepper, order, problem).

    ``steppers`` defaults to every registered stepper, so a third-party plugin is checked like a built-in.
    ``problems`` selects among :data:`PROBLEMS` (ODE and strong), :data:`WEAK_PROBLEMS` (weak; default: the
    forward one with ``quick``, both otherwise) and :data:`TOLERANCE_PROBLEMS` (tolerance; default both);
    ``kinds`` among ``"ode"``, ``"strong"``, ``"weak"``, ``"tolerance"`` (default all). A stepper that raises
    gives an ``ERROR`` result with the message; the others are still measured.
    """
    config = SuiteConfig(quick=quick, device=device, dtype=dtype, seed=seed)
    table = registry().steppers
    names = sorted(table) if steppers is None else steppers
    for name in names:
        registry().get("stepper", name)  # clear error for unknown names
    kinds = list(KINDS) if kinds is None else kinds
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if problems is not None:
        unknown = [p for p in problems if p not in PROBLEMS and p not in WEAK_PROBLEMS and p not in TOLERANCE_PROBLEMS]
        if unknown:
            known = ", ".join([*PROBLEMS, *WEAK_PROBLEMS, *TOLERANCE_PROBLEMS])
            raise KeyError(f"unknown problem {unknown[0]!r} (known: {known})")
        chosen = [PROBLEMS[p] for p in problems if p in PROBLEMS]
        weak = [WEAK_PROBLEMS[p] for p in problems if p in WEAK_PROBLEMS]
        adaptive = [TOLERANCE_PROBLEMS[p] for p in problems if p in TOLERANCE_PROBLEMS]
    else:
        chosen = list(PROBLEMS.values())
        weak = [WEAK_PROBLEMS[p] for p in config.weak_problems]
        adaptive = list(TOLERANCE_PROBLEMS.values())
    refs = _References(config)
    jobs: list[tuple[str, Any, Problem | WeakProblem | ToleranceProblem, str]] = []
    for name in names:
        cls = table[name]
        noise = bool(getattr(cls, "supports_noise", False))
        for problem in chosen:
            jobs += [(name, cls, problem, k) for k in ("ode", "strong") if k in kinds and (k == "ode" or noise)]
        if "weak" in kinds and noise:
            jobs += [(name, cls, problem, "weak") for problem in weak]
        if "tolerance" in kinds and declared_pair(cls) is not None:
            sde_form = noise and _pair_has_noise(cls)
            jobs += [(name, cls, problem, "tolerance") for problem in adaptive if sde_form or not problem.noise]
    results = []
    for done, (name, cls, problem, kind) in enumerate(jobs):
        if progress is not None:
            progress(done, len(jobs), f"{name} {kind} {problem.name}")
        try:
            results.append(measure_order(cls, problem, kind, config, refs))
        except BaseException as exc:  # one broken stepper is one ERROR row, not the end of the run
            if isinstance(exc, KeyboardInterrupt):
                raise
            results.append(_errored(name, cls, problem.name, kind, exc, config))
    if progress is not None:
        progress(len(jobs), len(jobs), "done")
    return results
