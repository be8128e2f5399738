"""Sampler base class and the one driver loop.

:class:`DiffusionSampler` resolves the process, grid, model adapter, initial noise and per-sample generators, then
runs the driver loop (:meth:`DiffusionSampler.run`): it owns the iteration over the grid and, after every step, the
reporting — NaN/inf check, progress bar and user callback. A sampler supplies only the update: ``init(ctx, x)``
(per-run state, optional) and ``step(ctx, i, x, state) -> (x, state, extra)`` for ``ctx.times[i] → ctx.times[i+1]``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from sdesolve import registry
from sdesolve.finite import FiniteMonitor, NonFiniteError
from sdesolve.options import check_options
from sdesolve.random import check_generators, generators_from_seeds, randn
from sdesolve_diffusion.adapters import ModelAdapter
from sdesolve_diffusion.grids import resolve_grid
from sdesolve_diffusion.processes import Process

__all__ = ["DiffusionSampler", "Reporter", "SamplingContext", "StepResult"]


class Reporter:
    """Progress bar and user callback, called once per step."""

    def __init__(self, callback: Callable[[dict[str, Any]], None] | None, progress: bool, times: Tensor, name: str):
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable as callback(info: dict), got {type(callback).__name__}")
        self.callback = callback
        self.times = times
        self.bar = tqdm(total=times.numel() - 1, desc=name, disable=not progress, leave=False)
        self.monitor: FiniteMonitor | None = None
        self.steps = 0  # steps reported so far

    def __call__(self, i: int, t: float, x: Tensor, **extra: Any) -> None:
        if i != self.steps:
            raise RuntimeError(
                f"step {i} reported when step {self.steps} was due: the driver loop (DiffusionSampler.run) reports "
                "every step once, in order; a sampler's step() must not call ctx.report itself"
            )
        self.steps += 1
        if self.monitor is None:
            self.monitor = FiniteMonitor(x.device)
        self.monitor.update(i, x)
        self.bar.update(1)
        if self.callback is not None:
            self.callback({"i": i, "t": t, "x": x, **extra})

    def check(self) -> None:
        """Raise :class:`sdesolve.NonFiniteError` naming the first step that produced NaN/inf (one host read)."""
        if self.monitor is not None:
            n = self.times.numel() - 1
            self.monitor.check(
                lambda k: f"step {k} of {n} (t = {float(self.times[k]):g} → {float(self.times[k + 1]):g})"
            )

    def close(self) -> None:
        self.bar.close()


class SamplingContext(NamedTuple):
    """What a sampler's ``init``/``step`` work with, besides the state."""

    adapter: ModelAdapter
    process: Process
    times: Tensor  # decreasing float64 diffusion times
    generator: Any  # a generator, one per sample, or None
    report: Reporter  # called by the driver loop after every step; samplers never call it


StepResult = tuple[Tensor, Any, Mapping[str, Any] | None]
_RESERVED = frozenset({"i", "t", "x"})


def resolve_process(process: Process | str) -> Process:
    """A registered process name (``"vp"``, …) or a :class:`Process` object, as a :class:`Process`."""
    if isinstance(process, str):
        try:
            return registry().get("process", process)
        except KeyError as exc:
            raise ValueError(f"process: {exc.args[0]}") from None
    if not isinstance(process, Process):
        raise TypeError(f"process must be a registered process name or a Process, got {type(process).__name__}")
    return process


class DiffusionSampler:
    """A registered diffusion sampler; subclasses implement the update :meth:`step` (and :meth:`init` if they keep
    state across steps).

    The driver loop :meth:`run` calls ``state = init(ctx, x)`` once, then for ``i = 0 … n-1``
    ``x, state, extra = step(ctx, i, x, state)`` (``ctx.times[i] → ctx.times[i+1]``) and reports after every step:
    the NaN/inf check (:class:`sdesolve.NonFiniteError` naming the first bad step), the progress bar and the
    callback ``callback({"i", "t", "x", **extra})`` — a sampler writes no reporting code and cannot skip it.
    Overriding :meth:`run` is refused. The sampler's options are the keyword-only parameters of ``init`` and
    ``step`` (each receives the ones it declares); :meth:`options` lists them with their defaults.

    ``denoise=True`` finishes every sampler with the denoiser at the last time (skipped where ``σ = 0`` already).
    Sampling runs without autograd unless ``grad=True``, and an ``nn.Module`` model in eval mode (its own and its
    submodules' train/eval flags are restored afterwards). Options are checked against :meth:`options`.

    Class attributes: ``name``; ``stochastic``; ``nfe_per_step`` (network calls per step); ``order``
    (deterministic samplers: ODE order; stochastic: weak order); ``default_grid``; ``vp_only`` (formulas that
    need ``α² + σ² = 1``); ``summary``.
    """

    name: ClassVar[str] = ""
    stochastic: ClassVar[bool] = False
    nfe_per_step: ClassVar[float] = 1
    order: ClassVar[float] = 1.0
    default_grid: ClassVar[str] = "edm"
    default_process: ClassVar[str] = "vp"  # what ``sdesolve.sample`` uses when called without ``process=``
    vp_only: ClassVar[bool] = False
    summary: ClassVar[str] = ""
    _init_options: ClassVar[dict[str, Any]] = {}
    _step_options: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "run" in vars(cls):
            raise TypeError(
                f"{cls.__qualname__} overrides run(): the driver loop DiffusionSampler.run owns the iteration over "
                "the grid, the NaN check, the progress bar and the callback; implement step(self, ctx, i, x, state) "
                "-> (x, state, extra) (and init(self, ctx, x) -> state if the sampler keeps state) instead"
            )
        cls._init_options = _keyword_options(cls.init, 3)  # after (self, ctx, x)
        cls._step_options = _keyword_options(cls.step, 5)  # after (self, ctx, i, x, state)
        clash = sorted(
            k for k in set(cls._init_options) & set(cls._step_options) if cls._init_options[k] != cls._step_options[k]
        )
        if clash:
            raise TypeError(f"{cls.__qualname__}: init() and step() give option(s) {clash} different defaults")
        cls.run = _advertised_run(cls, *cls._run_parameters())

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "stochastic": self.stochastic,
            "nfe_per_step": self.nfe_per_step,
            "order": self.order,
            "default_grid": self.default_grid,
            "vp_only": self.vp_only,
            "summary": self.summary,
        }

    @classmethod
    def _run_parameters(cls) -> tuple[dict[str, Any], str | None]:
        """The keyword-only parameters :meth:`run` shows, and the name of its ``**`` parameter for more (if any)."""
        return cls.options(), None

    @classmethod
    def options(cls) -> dict[str, Any]:
        """The sampler's own options (the keyword parameters of :meth:`init` and :meth:`step`, also shown as the
        keyword-only parameters of :meth:`run`) with their defaults."""
        return {**cls._init_options, **cls._step_options}

    def _defaults(self) -> dict[str, Any]:
        """Option values the sampler uses when the caller gives none, beyond its parameters' own defaults."""
        return {}

    def check_options(self, options: dict[str, Any]) -> None:
        """Raise a ``TypeError`` listing the accepted options when ``options`` holds an unknown one."""
        check_options(
            f"sampler {self.name!r}",
            options,
            self.options(),
            always="for every sampler: steps, process, prediction, grid, generator, seeds, callback, progress, device, "
            "dtype, grid_options, denoise, grad",
        )

    def __call__(
        self,
        model: Callable[..., Tensor],
        x_T: Tensor | Sequence[int],
        *,
        steps: int = 50,
        process: Process | str,
        prediction: str = "eps",
        grid: Any = None,
        generator: Any = None,
        seeds: Sequence[int] | None = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
        progress: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        grid_options: dict[str, Any] | None = None,
        denoise: bool = False,
        grad: bool = False,
        **options: Any,
    ) -> Tensor:
        process = resolve_process(process)
        if self.vp_only and not process.variance_preserving:
            raise ValueError(
                f"sampler {self.name!r} needs a variance-preserving process (α² + σ² = 1); {process.name!r} is not"
            )
        self.check_options(options)
        adapter = ModelAdapter(model, process, prediction)
        times = resolve_grid(self.default_grid if grid is None else grid, process, steps, **(grid_options or {}))
        adapter.tabulate(times)  # α, σ and the model time of every grid time, once, for float-time calls
        x, gens = self._initial(x_T, process, generator, seeds, device, dtype)
        reporter = Reporter(callback, progress, times, self.name)
        with torch.set_grad_enabled(grad), _eval_mode(model):
            try:
                x = self.run(SamplingContext(adapter, process, times, gens, reporter), x, **options)
            finally:
                reporter.close()
            reporter.check()
            t_end = float(times[-1])
            if denoise and float(process.sigma(torch.tensor(t_end, dtype=torch.float64))) > 0:
                x = adapter.data(float(t_end), x)  # the jump to σ = 0: Tweedie's mean, one more NFE
                if not bool(torch.isfinite(x).all()):
                    raise NonFiniteError(
                        f"non-finite values (NaN or inf) in the final denoising call of {self.name!r} at t = "
                        f"{t_end:g} (after all {times.numel() - 1} steps were finite)",
                        times.numel() - 1,
                    )
        return x

    def _initial(
        self, x_T: Any, process: Process, generator: Any, seeds: Sequence[int] | None, device: Any, dtype: Any
    ) -> tuple[Tensor, Any]:
        if isinstance(x_T, np.ndarray):
            x_T = torch.from_numpy(x_T)
        if isinstance(x_T, Tensor):
            if not x_T.is_floating_point() or x_T.dim() < 1:
                raise ValueError(
                    f"x_T must be a floating tensor of shape (batch, *event), got dtype {x_T.dtype} and shape "
                    f"{tuple(x_T.shape)}"
                )
            if not bool(torch.isfinite(x_T).all()):
                raise ValueError("x_T must be finite")
            x = x_T.to(device=device or x_T.device, dtype=dtype or x_T.dtype)
            draw = False
        else:
            x = torch.empty(_shape(x_T), device=device or "cpu", dtype=dtype or torch.float32)
            draw = True
        if seeds is not None:
            if generator is not None:  # one would be silently ignored
                raise ValueError(
                    f"give seeds or generator, not both (got seeds and generator={generator!r}); seeds makes its own "
                    "per-sample streams"
                )
            seeds = list(seeds)
            if len(seeds) != x.shape[0]:
                raise ValueError(f"seeds holds {len(seeds)} seeds for a batch of {x.shape[0]}; give one per sample")
            generator = generators_from_seeds(seeds, "cpu")  # CPU streams: the same noise on every device
        check_generators(generator, x.shape[0], x.device)
        if draw:
            x = randn(x.shape, generator, x.device, x.dtype) * process.prior_std
        return x, generator

    def init(self, ctx: SamplingContext, x: Tensor) -> Any:
        """Per-run state before the first step (default: none). Keyword-only parameters are options."""
        return None

    def step(self, ctx: SamplingContext, i: int, x: Tensor, state: Any) -> StepResult:
        """Advance ``x`` from ``ctx.times[i]`` to ``ctx.times[i+1]``; return ``(x, state, extra)`` with ``extra`` the
        sampler's own entries for the callback (e.g. ``{"denoised": x0}``; ``None`` or ``{}`` for none).
        Keyword-only parameters are options."""
        raise NotImplementedError(f"sampler {self.name!r} implements no step(self, ctx, i, x, state)")

    def run(self, ctx: SamplingContext, x: Tensor, **options: Any) -> Tensor:
        """The driver loop: advance ``x`` over ``ctx.times``, reporting after every step (``ctx.report``); return
        ``x`` at the last time (``denoise`` is handled by the caller). Not overridable: subclasses implement
        :meth:`step`."""
        return self._drive(ctx, x, {**self._defaults(), **options})

    def _drive(self, ctx: SamplingContext, x: Tensor, options: dict[str, Any]) -> Tensor:
        n = ctx.times.numel() - 1
        done = 0

        def on_step(i: int, x_i: Tensor, extra: Mapping[str, Any] | None = None) -> None:
            nonlocal done
            if i != done:
                raise RuntimeError(f"sampler {self.name!r}: step {i} finished when step {done} was due")
            extra = {} if extra is None else extra
            if not isinstance(extra, Mapping) or _RESERVED & set(extra):
                raise TypeError(
                    f"sampler {self.name!r}: step() must return (x, state, extra) with extra a dict of callback "
                    f"entries other than i, t, x; got {extra!r}"
                )
            done += 1
            ctx.report(i, float(ctx.times[i + 1]), x_i, **extra)

        x = self._advance(ctx, x, on_step, options)
        if done != n:
            raise RuntimeError(f"sampler {self.name!r} reported {done} of {n} steps")
        return x

    def _advance(
        self,
        ctx: SamplingContext,
        x: Tensor,
        on_step: Callable[..., None],
        options: dict[str, Any],
    ) -> Tensor:
        """The engine under the driver: ``init`` once, then ``step`` over the grid, handing every result to
        ``on_step(i, x, extra)``. Recipes over a core stepper replace it (:class:`~.solver.SolverSampler`)."""
        state = self.init(ctx, x, **{k: v for k, v in options.items() if k in self._init_options})
        step_options = {k: v for k, v in options.items() if k in self._step_options}
        for i in range(ctx.times.numel() - 1):
            out = self.step(ctx, i, x, state, **step_options)
            if not (isinstance(out, tuple) and len(out) == 3 and isinstance(out[0], Tensor)):
                raise TypeError(
                    f"sampler {self.name!r}: step() must return a tuple (x, state, extra), got {type(out).__name__}"
                )
            x, state, extra = out
            on_step(i, x, extra)
        return x


def _keyword_options(fn: Callable[..., Any], skip: int) -> dict[str, Any]:
    """The parameters of ``fn`` after its first ``skip`` (``*args``/``**kwargs`` excluded) with their defaults."""
    return {
        p.name: (None if p.default is inspect.Parameter.empty else p.default)
        for p in list(inspect.signature(fn).parameters.values())[skip:]
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _advertised_run(cls: type[DiffusionSampler], keywords: dict[str, Any], more: str | None) -> Callable[..., Tensor]:
    """``cls.run``: the driver loop, its signature listing the sampler's options as keyword-only parameters (what
    ``inspect.signature(sampler.run)`` shows, e.g. to the ``sdesolve sample --option`` check)."""

    def run(self: DiffusionSampler, ctx: SamplingContext, x: Tensor, **options: Any) -> Tensor:
        return self._drive(ctx, x, {**self._defaults(), **options})

    P = inspect.Parameter
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [P("self", P.POSITIONAL_OR_KEYWORD), P("ctx", P.POSITIONAL_OR_KEYWORD), P("x", P.POSITIONAL_OR_KEYWORD)]
        + [P(k, P.KEYWORD_ONLY, default=v) for k, v in keywords.items()]
        + ([P(more, P.VAR_KEYWORD)] if more else [])
    )
    run.__doc__ = DiffusionSampler.run.__doc__
    run.__qualname__ = f"{cls.__qualname__}.run"
    run.__module__ = cls.__module__
    return run


def _shape(x_T: Any) -> tuple[int, ...]:
    """``x_T`` given as a shape ``(batch, *event)``: a sequence of positive integers, checked."""
    if not isinstance(x_T, (tuple, list, torch.Size)):
        raise TypeError(
            "x_T must be the initial noise (a tensor or NumPy array of shape (batch, *event)) or a shape "
            f"(a tuple of positive integers), got {type(x_T).__name__} {x_T!r}"
        )
    if not x_T or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in x_T):
        raise ValueError(f"x_T as a shape must be a non-empty tuple of positive integers, got {tuple(x_T)!r}")
    return tuple(int(s) for s in x_T)


@contextlib.contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Run an ``nn.Module`` in eval mode (dropout off, batch-norm running statistics used and left unchanged),
    then restore every submodule's own train/eval flag."""
    if not isinstance(model, torch.nn.Module):
        yield
        return
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


def time_per_sample(t: float, x: Tensor) -> Tensor:
    """The scalar time ``t`` for every sample of ``x`` (float64, on ``x``'s device). The model adapter also takes
    ``t`` itself, a float, which looks its coefficients up once instead of per sample (:meth:`ModelAdapter.tabulate`);
    this tensor form is for a caller that needs one."""
    return torch.full((x.shape[0],), t, dtype=torch.float64, device=x.device)


def bcast(v: Tensor, x: Tensor) -> Tensor:
    return v.to(x.dtype).reshape((-1,) + (1,) * (x.dim() - 1))
