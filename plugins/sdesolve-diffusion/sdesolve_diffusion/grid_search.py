"""Optimised time grids: for a model, a sampler, a process and a step count, the grid that minimises a measured error
proxy on a calibration batch (in the spirit of "Align Your Steps", Sabour et al. 2024).

**The proxy** (:class:`GridObjective`): the per-sample distance ``|x − x_ref|`` between the sampler's output on a grid
and a fine reference solve from the *same* calibration draws ``x_T``, averaged (``statistic="mean"``) or
root-mean-squared (``"rms"``). The reference is the same sampler (or ``reference_sampler``) on ``reference_steps``
steps of the reference grid (default: the sampler's default grid) between the same end times. A deterministic
sampler's reference is its probability-flow ODE solution; a stochastic sampler (one that takes a Brownian path
``bm=``) is driven by one fixed Brownian path, and its reference is the fine solve on that path: the proxy is then a
*strong* error, a proxy for the distribution (weak) error that need not rank grids as it would. Calibration draws,
the path and every sampler's generator are fixed (common random numbers), so the proxy is a deterministic function
of the grid. ``reference_error`` (the distance between the reference and a solve at half its steps) bounds the
reference's own error for a method of order ≥ 1: it must be far below the proxies compared.

The mean by default. On mixtures a few starts near the boundary between two modes' basins (1 % of them carry 82–96 %
of the squared flow distance of ``dpm_solver_pp_2m`` at 20 NFE on the lab's problems) flip mode under any coarse
solver: the RMS ranks ODE grids by those few draws, the mean by the bulk; and for stochastic samplers the RMS of the
reference's own error was 0.26–0.69 of the optimised proxy, the mean's 0.05–0.32 (docs/grid-search.md).

**The search** (:func:`optimize_grid`): the ends ``t_max``, ``t_min`` stay fixed; the steps' lengths in
``u = log σ`` (``σ = σ/α``, ``process.edm_sigma``) are ``softmax(v) · (u_max − u_min)``, so every ``v`` is a strictly
decreasing grid. The search moves ``v = v_init + B w`` along ``basis`` smooth directions ``B`` (Chebyshev polynomials
of the step's position; ``basis=None``: every step free), starting at ``w = 0``, the initial grid (default: the
sampler's default grid), with a Hooke–Jeeves pattern search: coordinate moves of ``±δ`` in ``w``, pattern moves along
the last improvement, ``δ`` halved when a sweep fails, until ``δ < tol`` or ``max_evals`` sampler runs. It is
derivative-free (the solvers refuse a grid that requires gradients). The result is never worse than the initial
grid on the calibration batch (the initial grid is the first point).

**Cost**: 2 reference runs (at ``reference_steps`` and half of it) plus at most ``max_evals`` runs at ``steps`` on
the calibration batch, once; the grid is then reused for every later sample.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sdesolve import registry
from sdesolve.dtypes import F64
from sdesolve.finite import NonFiniteError
from sdesolve_diffusion.grids import resolve_grid
from sdesolve_diffusion.processes import Process
from sdesolve_diffusion.samplers.base import resolve_process

__all__ = ["GridObjective", "GridSearchResult", "load_grid", "optimize_grid", "save_grid"]

STATISTICS = ("mean", "rms")
#: the most values a stochastic sampler's fixed Brownian path may hold (1.6 GB in float64)
MAX_PATH_VALUES = 200_000_000

#: what ``GridObjective`` sets itself and refuses among the sampler options
_OWNED = ("bm", "generator", "seeds", "grid", "steps", "callback", "progress")


def _sampler(sampler: Any) -> Any:
    if not isinstance(sampler, str):
        return sampler
    try:
        return registry().get("sampler", sampler)
    except KeyError as exc:
        raise ValueError(f"sampler: {exc.args[0]}") from None


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _calibration(calibration: Any, process: Process, seed: int) -> Tensor:
    """The calibration draws: a floating tensor ``(batch, *event)``, or a shape to draw ``N(0, prior_std² I)``."""
    if isinstance(calibration, Tensor):
        if not calibration.is_floating_point() or calibration.dim() < 2 or calibration.shape[0] < 1:
            raise ValueError(
                "calibration must be a floating tensor of shape (batch, *event) with batch >= 1, got dtype "
                f"{calibration.dtype} and shape {tuple(calibration.shape)}"
            )
        if not bool(torch.isfinite(calibration).all()):
            raise ValueError("calibration must be finite")
        return calibration
    if (
        not isinstance(calibration, (tuple, list, torch.Size))
        or len(calibration) < 2
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in calibration)
    ):
        raise ValueError(
            "calibration must be the starting draws x_T (a tensor (batch, *event)) or their shape (a tuple of at "
            f"least two positive integers, (batch, *event)), got {calibration!r}"
        )
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(tuple(calibration), generator=gen, dtype=F64) * process.prior_std


class _KnotPath:
    """A fixed Brownian path in solver time ``s = −t``: exact Gaussian increments between the knots (the reference
    grid, so the reference solve reads an exact path) and linear interpolation between them, so any grid between
    the same ends reads the same path whatever the order of its queries (torchsde's ``BrownianInterval`` answers
    depend on its query history). Returns ``(batch, numel)`` increments, as a ``BrownianInterval`` does."""

    def __init__(self, times: Tensor, batch: int, numel: int, seed: int, dtype: torch.dtype, device: Any) -> None:
        self.s = (-times.to(F64)).cpu()  # increasing
        gen = torch.Generator().manual_seed(seed)
        dw = torch.randn(self.s.numel() - 1, batch, numel, generator=gen, dtype=F64)
        dw *= self.s.diff().sqrt()[:, None, None]
        self.w = torch.cat([torch.zeros(1, batch, numel, dtype=F64), dw.cumsum(0)]).to(device=device, dtype=dtype)

    def _at(self, s: float) -> Tensor:
        s = min(max(s, float(self.s[0])), float(self.s[-1]))
        j = min(int(torch.searchsorted(self.s, torch.tensor([s], dtype=F64), right=True)) - 1, self.s.numel() - 2)
        lo, hi = float(self.s[j]), float(self.s[j + 1])
        frac = (s - lo) / (hi - lo)
        return self.w[j] if frac == 0 else torch.lerp(self.w[j], self.w[j + 1], frac)

    def __call__(self, sa: Any, sb: Any, *args: Any, **kwargs: Any) -> Tensor:
        if args or kwargs:
            raise ValueError("the grid search's Brownian path answers increments only (no Lévy area)")
        return self._at(float(sb)) - self._at(float(sa))


class GridObjective:
    """The error proxy of grids for one sampler (module docstring): ``objective(grid) -> float``, the mean (or RMS)
    distance of the sampler's output from ``calibration`` on ``grid`` to the reference solve from the same draws
    (and, for a stochastic sampler, the same Brownian path); ``inf`` when the run gives NaN or inf.

    A stochastic sampler's path holds ``(reference_steps + 1) × calibration.numel()`` float64 values (refused above
    :data:`MAX_PATH_VALUES`): calibrate images on a few dozen draws, or lower ``reference_steps``.

    Args:
        model: the network, ``model(x, t)`` as for :func:`sdesolve.sample`.
        sampler: a registered sampler name or a sampler object; a stochastic one must take a Brownian path (``bm``).
        calibration: the starting draws ``x_T`` ``(batch, *event)``, or their shape (drawn from the prior with
            ``seed``).
        process: a registered process name or object; default: the sampler's ``default_process``.
        prediction: what the model predicts; default: the sampler's.
        t_max: the grids' first time; default: the process's.
        t_min: the grids' last time; default: the process's.
        reference_steps: steps of the reference solve (default 400).
        reference_grid: the reference's grid name; default: the sampler's default grid.
        reference_sampler: the sampler of the reference solve; default: ``sampler``.
        seed: seeds the drawn calibration, the Brownian path and the samplers' generators.
        statistic: ``"mean"`` (default) or ``"rms"`` of the per-sample distances (docs/grid-search.md).
        **options: sampler options (e.g. ``denoise=True``), the same for every run.
    """

    def __init__(
        self,
        model: Callable[..., Tensor],
        sampler: str | Any,
        *,
        calibration: Tensor | Sequence[int],
        process: str | Process | None = None,
        prediction: str | None = None,
        t_max: float | None = None,
        t_min: float | None = None,
        reference_steps: int = 400,
        reference_grid: str | None = None,
        reference_sampler: str | Any | None = None,
        seed: int = 0,
        statistic: str = "mean",
        **options: Any,
    ) -> None:
        if statistic not in STATISTICS:
            raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
        self.statistic = statistic
        self.sampler = _sampler(sampler)
        self.reference_sampler = self.sampler if reference_sampler is None else _sampler(reference_sampler)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        owned = sorted(set(options) & set(_OWNED))
        if owned:
            raise ValueError(f"options {owned} are set by the grid search itself (it fixes the noise and the grid)")
        self.process = resolve_process(process if process is not None else self.sampler.default_process)
        self.model, self.seed, self.options = model, seed, options
        self.prediction = {} if prediction is None else {"prediction": prediction}
        self.stochastic = bool(getattr(self.sampler, "stochastic", False))
        for smp in {id(self.sampler): self.sampler, id(self.reference_sampler): self.reference_sampler}.values():
            if self.stochastic and not (callable(getattr(smp, "options", None)) and "bm" in smp.options()):
                takes = sorted(
                    n for n, s in registry().items["sampler"].items() if s.stochastic and "bm" in s.options()
                )
                raise ValueError(
                    f"sampler {smp.name!r} is stochastic and draws its own noise: the proxy (the strong error on a "
                    f"fixed Brownian path) needs a sampler that takes a path bm=; those that do: {', '.join(takes)}"
                )
        if bool(getattr(self.reference_sampler, "stochastic", False)) != self.stochastic:
            raise ValueError("reference_sampler must be stochastic exactly when sampler is")
        self.x_T = _calibration(calibration, self.process, seed)
        self.reference_steps = _positive_int(reference_steps, "reference_steps")
        grid_name = reference_grid or getattr(self.reference_sampler, "default_grid", "edm")
        self.reference_times = resolve_grid(grid_name, self.process, self.reference_steps, t_max=t_max, t_min=t_min)
        self.t_max, self.t_min = float(self.reference_times[0]), float(self.reference_times[-1])
        self.path = None
        if self.stochastic:
            numel = self.x_T[0].numel()
            values = self.reference_times.numel() * self.x_T.numel()
            if values > MAX_PATH_VALUES:
                raise ValueError(
                    f"calibration: the Brownian path over {self.reference_steps} reference steps for draws of shape "
                    f"{tuple(self.x_T.shape)} would hold {values:.3g} values (at most {MAX_PATH_VALUES:.3g}); use "
                    "fewer calibration draws or fewer reference_steps"
                )
            self.path = _KnotPath(
                self.reference_times, self.x_T.shape[0], numel, seed + 7, self.x_T.dtype, self.x_T.device
            )
        try:
            self.reference = self._run(self.reference_sampler, self.reference_times)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"calibration: the reference solve fails on draws of shape {tuple(self.x_T.shape)} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        except NonFiniteError as exc:
            raise ValueError(f"the reference solve ({self.reference_steps} steps) is not finite: {exc}") from exc
        half = resolve_grid(
            grid_name, self.process, max(1, self.reference_steps // 2), t_max=self.t_max, t_min=self.t_min
        )
        try:
            self.reference_error = self._distance(self._run(self.reference_sampler, half))
        except NonFiniteError as exc:
            raise ValueError(f"the reference's check ({half.numel() - 1} steps) is not finite: {exc}") from exc
        self.runs = 2  # sampler runs so far: the reference and its check

    def _run(self, sampler: Any, times: Tensor) -> Tensor:
        extra = {} if self.path is None else {"bm": self.path}
        return sampler(
            self.model,
            self.x_T,
            process=self.process,
            grid=times,
            generator=torch.Generator(device=self.x_T.device).manual_seed(self.seed + 1),
            **self.prediction,
            **extra,
            **self.options,
        )

    def distances(self, x: Tensor) -> Tensor:
        """Per-sample Euclidean distances of ``x`` to the reference (float64)."""
        return (x.to(F64) - self.reference.to(F64)).flatten(1).norm(dim=1)

    def _distance(self, x: Tensor) -> float:
        if not bool(torch.isfinite(x).all()):
            return math.inf
        d = self.distances(x)
        return float(d.mean() if self.statistic == "mean" else d.pow(2).mean().sqrt())

    def check_grid(self, grid: Any) -> Tensor:
        """``grid`` as float64 times, refused unless strictly decreasing between this objective's ends."""
        if isinstance(grid, str):
            raise ValueError(f"the grid must be explicit times here (a tensor or a sequence), not a name ({grid!r})")
        times = resolve_grid(grid, self.process, 1)
        ends = (float(times[0]), float(times[-1]))
        if not (math.isclose(ends[0], self.t_max, rel_tol=1e-9) and math.isclose(ends[1], self.t_min, rel_tol=1e-9)):
            raise ValueError(
                f"the grid runs from {ends[0]:g} to {ends[1]:g}; this objective's reference runs from {self.t_max:g} "
                f"to {self.t_min:g}"
            )
        return times

    def __call__(self, grid: Tensor | Sequence[float]) -> float:
        times = self.check_grid(grid)
        self.runs += 1
        try:
            return self._distance(self._run(self.sampler, times))
        except NonFiniteError:
            return math.inf


@dataclass(frozen=True)
class GridSearchResult:
    """What :func:`optimize_grid` found: ``grid`` (float64, decreasing, ``steps + 1`` times, the ends of
    ``initial_grid``), its ``proxy`` and the ``initial_proxy`` of the starting grid on the calibration batch,
    ``reference_error`` (the reference's own accuracy bound), ``evaluations`` (sampler runs at ``steps``; the
    reference added ``reference_runs`` runs at ``reference_steps``) and ``history`` (the best proxy after each
    evaluation)."""

    grid: Tensor
    initial_grid: Tensor
    proxy: float
    initial_proxy: float
    reference_error: float
    evaluations: int
    history: list[float] = field(repr=False)
    sampler: str
    process: str
    steps: int
    init: str
    stochastic: bool
    statistic: str
    seed: int
    calibration_size: int
    reference_steps: int
    reference_runs: int = 2

    @property
    def gain(self) -> float:
        """``initial_proxy / proxy`` (≥ 1)."""
        return self.initial_proxy / self.proxy if self.proxy > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the grid as a list of floats, and every field but ``history``."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("grid", "initial_grid", "history")}
        return {"grid": self.grid.tolist(), "initial_grid": self.initial_grid.tolist(), **out, "gain": self.gain}


def _log_steps(times: Tensor, process: Process) -> tuple[Tensor, float, float]:
    """``(v, u_max, u_min)``: the log-lengths ``v_i = log(u_i − u_{i+1})`` of the steps of ``times`` in
    ``u = log σ`` (``σ = process.edm_sigma``), and the ends ``u_max``, ``u_min``."""
    sig = process.edm_sigma(times.to(F64))
    if not float(sig[-1]) > 0:
        raise ValueError(f"the grid search works in log σ and needs σ(t_min) > 0; t_min={float(times[-1]):g} has σ = 0")
    u = sig.log()
    d = u[:-1] - u[1:]
    if not bool((d > 0).all()):
        raise ValueError("the initial grid's noise levels σ/α must be strictly decreasing")
    return d.log(), float(u[0]), float(u[-1])


def _basis(steps: int, size: int | None) -> Tensor:
    """``(steps, k)``: the directions the search moves the steps' log-lengths along. ``size=None`` or
    ``≥ steps − 1``: one per step but the last (free form); else Chebyshev polynomials ``T_1 … T_size`` of the
    step's position in ``[−1, 1]`` (smooth changes of the grid; ``T_0`` is a common shift, which changes nothing)."""
    if size is None or size >= steps - 1:
        return torch.eye(steps, steps - 1, dtype=F64)
    pos = (torch.arange(steps, dtype=F64) + 0.5) / steps * 2 - 1
    return torch.stack([torch.cos(k * torch.arccos(pos)) for k in range(1, size + 1)], dim=1)


def _times(v: Tensor, u_max: float, u_min: float, process: Process, t_max: float, t_min: float) -> Tensor:
    """The grid whose steps in ``log σ`` have log-lengths ``v`` up to a common shift (softmax), between the ends."""
    d = torch.softmax(v, 0) * (u_max - u_min)
    u = u_max - torch.cat([torch.zeros(1, dtype=F64), d.cumsum(0)])
    ts = process.t_from_edm_sigma(u.exp())
    ts[0], ts[-1] = t_max, t_min
    return ts


def optimize_grid(
    model: Callable[..., Tensor],
    sampler: str | Any,
    steps: int,
    *,
    calibration: Tensor | Sequence[int],
    process: str | Process | None = None,
    prediction: str | None = None,
    init: str | Tensor | Sequence[float] | None = None,
    grid_options: dict[str, Any] | None = None,
    reference_steps: int | None = None,
    reference_grid: str | None = None,
    reference_sampler: str | Any | None = None,
    seed: int = 0,
    max_evals: int = 300,
    tol: float = 0.03,
    step: float = 0.5,
    basis: int | None = 6,
    statistic: str = "mean",
    progress: bool = False,
    **options: Any,
) -> GridSearchResult:
    """The grid of ``steps`` steps that minimises the error proxy of ``sampler`` on a calibration batch (module
    docstring): use it as ``sample(model, x_T, sampler, grid=result.grid, ...)`` with the same process, prediction
    and options.

    Args:
        model: the network, ``model(x, t)`` as for :func:`sdesolve.sample`.
        sampler: a registered sampler name or object; a stochastic one must take a Brownian path (``bm``).
        steps: steps of the grid (NFE = steps × the sampler's NFE per step, one more with ``denoise=True``).
        calibration: the starting draws ``x_T`` ``(batch, *event)`` (a few hundred to a thousand), or their shape.
        process: a registered process name or object; default: the sampler's ``default_process``.
        prediction: what the model predicts; default: the sampler's.
        init: the starting grid: a registered grid name or explicit times (``steps + 1``); default: the sampler's
            default grid. Its ends are kept.
        grid_options: options of the ``init`` grid (e.g. ``{"t_min": 1.0, "rho": 7}``).
        reference_steps: steps of the reference solve; default ``max(400, 20 × steps)``.
        reference_grid: the reference's grid name; default: the sampler's default grid.
        reference_sampler: the reference's sampler; default: ``sampler``.
        seed: seeds the drawn calibration, the Brownian path and the samplers' generators.
        max_evals: the most sampler runs at ``steps`` (the initial grid's included).
        tol: the search stops when its move ``δ`` (in log-shares) falls below ``tol``.
        step: the first move ``δ``: a step's share of ``log σ_max − log σ_min`` changes by about ``e^δ``.
        basis: the number of smooth directions searched (Chebyshev polynomials ``T_1 … T_basis`` of the step's
            position); ``None`` or ``≥ steps − 1``: every step free. A few directions reached what free steps
            reached in a fifth of the runs (docs/grid-search.md).
        statistic: the proxy, ``"mean"`` (default) or ``"rms"`` of the per-sample distances to the reference.
        progress: print the best proxy after each improvement.
        **options: sampler options, the same for every run (e.g. ``denoise=True``).
    """
    smp = _sampler(sampler)
    steps = _positive_int(steps, "steps")
    max_evals = _positive_int(max_evals, "max_evals")
    if basis is not None:
        basis = _positive_int(basis, "basis")
    if not (tol > 0 and step > tol):
        raise ValueError(f"need 0 < tol < step, got tol={tol!r}, step={step!r}")
    proc = resolve_process(process if process is not None else smp.default_process)
    init_name = init if isinstance(init, str) else ("explicit" if init is not None else smp.default_grid)
    start = resolve_grid(smp.default_grid if init is None else init, proc, steps, **(grid_options or {}))
    if start.numel() != steps + 1:
        raise ValueError(f"init holds {start.numel() - 1} steps, but steps={steps}")
    if reference_steps is None:
        reference_steps = max(400, 20 * steps)
    objective = GridObjective(
        model,
        smp,
        calibration=calibration,
        process=proc,
        prediction=prediction,
        t_max=float(start[0]),
        t_min=float(start[-1]),
        reference_steps=reference_steps,
        reference_grid=reference_grid or smp.default_grid,
        reference_sampler=reference_sampler,
        seed=seed,
        statistic=statistic,
        **options,
    )
    initial = objective(start)
    if not math.isfinite(initial):
        raise ValueError(f"sampler {smp.name!r} gives non-finite samples on the initial grid {init_name!r}")
    history = [initial]
    best_f, best_t = initial, start
    if steps > 1:
        v0, u_max, u_min = _log_steps(start, proc)
        directions = _basis(steps, basis)
        t_max, t_min = float(start[0]), float(start[-1])
        cache: dict[tuple[float, ...], float] = {}

        def f(w: Tensor) -> float:
            nonlocal best_f, best_t
            key = tuple(round(v, 10) for v in w.tolist())
            if key in cache:
                return cache[key]
            times = _times(v0 + directions @ w, u_max, u_min, proc, t_max, t_min)
            value = objective(times) if bool((times[1:] < times[:-1]).all()) else math.inf
            cache[key] = value
            if value < best_f:
                best_f, best_t = value, times
                if progress:
                    print(f"evaluation {len(history) + 1}: proxy {value:.4g}", flush=True)
            history.append(best_f)
            return value

        w0 = torch.zeros(directions.shape[1], dtype=F64)
        cache[tuple(w0.tolist())] = initial
        _hooke_jeeves(f, w0, initial, step, tol, lambda: len(history) >= max_evals)
    return GridSearchResult(
        grid=best_t.clone(),
        initial_grid=start.clone(),
        proxy=best_f,
        initial_proxy=initial,
        reference_error=objective.reference_error,
        evaluations=len(history),
        history=history,
        sampler=smp.name,
        process=proc.name,
        steps=steps,
        init=init_name,
        stochastic=objective.stochastic,
        statistic=objective.statistic,
        seed=seed,
        calibration_size=int(objective.x_T.shape[0]),
        reference_steps=reference_steps,
    )


def _hooke_jeeves(
    f: Callable[[Tensor], float], x: Tensor, fx: float, delta: float, tol: float, spent: Callable[[], bool]
) -> Tensor:
    """Hooke–Jeeves pattern search from ``x`` (``f(x) = fx``): exploratory coordinate moves of ``±delta`` (the
    direction that last succeeded first), pattern moves ``x + (x − x_prev)`` while they pay, ``delta`` halved when
    a sweep finds nothing; stops at ``delta < tol`` or when ``spent()``."""
    sign = torch.ones_like(x)

    def explore(base: Tensor, f_base: float) -> tuple[Tensor, float]:
        y = base.clone()
        for i in range(y.numel()):
            for s in (sign[i].item(), -sign[i].item()):
                if spent():
                    return y, f_base
                trial = y.clone()
                trial[i] += s * delta
                ft = f(trial)
                if ft < f_base:
                    y, f_base, sign[i] = trial, ft, s
                    break
        return y, f_base

    while delta >= tol and not spent():
        y, fy = explore(x, fx)
        if fy >= fx:
            delta /= 2
            continue
        while not spent():  # pattern moves along the improvement
            pattern = y + (y - x)
            x, fx = y, fy
            fp = f(pattern)
            z, fz = explore(pattern, fp)
            if fz >= fx:
                break
            y, fy = z, fz
    return x


def save_grid(result: GridSearchResult, path: str | Path, **extra: Any) -> None:
    """Write ``result`` (and ``extra`` entries, e.g. the problem) as JSON: ``load_grid`` and ``sdesolve sample
    --grid FILE`` read its ``"grid"``."""
    Path(path).write_text(json.dumps({**result.to_dict(), **extra}, indent=2) + "\n")


def load_grid(path: str | Path, *, process: str | None = None) -> Tensor:
    """The ``"grid"`` of a JSON file written by :func:`save_grid` (or ``sdesolve tune-grid``), as float64 times,
    checked: at least 2 finite, strictly decreasing numbers. With ``process`` (a name), a file recording another
    process is refused: its times would mean other noise levels."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"grid file {str(path)!r}: cannot read it as JSON ({exc})") from None
    values = data.get("grid") if isinstance(data, dict) else data
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f'grid file {str(path)!r} must hold a list of times under "grid"')
    recorded = data.get("process") if isinstance(data, dict) else None
    if process is not None and recorded is not None and recorded != process:
        raise ValueError(f"grid file {str(path)!r} was tuned for process {recorded!r}, not {process!r}")
    try:
        return resolve_grid(values, None, len(values) - 1)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ValueError(f"grid file {str(path)!r}: {exc}") from None
