"""Samplers that are a recipe on the core: process + splitting + churn ``η`` + grid + a registered stepper.

========================= ====================== ========= ==========
sampler                   stepper                η         splitting
========================= ====================== ========= ==========
``euler_maruyama_sde``    ``euler_maruyama``     1 (SDE)   score
``exponential_euler_sde`` ``exponential_euler``  1 (SDE)   relative
``ddram``                 ``randomized_midpoint`` 1 (SDE)  relative
``ddram_ode``             ``randomized_midpoint`` 0 (ODE)  relative
========================= ====================== ========= ==========

``splitting="auto"``: ``skip`` on a coarse grid, ``relative`` otherwise (:func:`auto_splitting`). A process that is not
variance-preserving (``edm``, ``ve``) is integrated on ``vp`` at the same noise levels
(:func:`_on_variance_preserving`), so every recipe is as accurate there as on ``vp``; the callback still sees the
process's own coordinates.

Options: ``splitting``, ``eta``, ``bm`` (a Brownian path, as ``sdesolve.solve`` takes it), ``subdivisions`` (cells
per step of the coefficient tables), ``denoise`` (finish with the denoiser at the last time) and the stepper's own
options (e.g. ``distribution="uniform"`` for the randomized midpoint).

A recipe names its stepper (``stepper``, the registry name); ``nfe_per_step``, ``order`` (the stepper's
``ode_order`` when ``η = 0``, its ``weak_order`` otherwise) and ``stochastic`` (``η ≠ 0``) are read from the stepper
class when asked for, never copied by hand.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor

from sdesolve import get_stepper, solve
from sdesolve_diffusion.samplers.base import DiffusionSampler, SamplingContext

__all__ = [
    "AUTO_ETA_DATA",
    "AUTO_SKIP_RATIO",
    "COARSE_RATIO",
    "DDRaM",
    "DDRaMODE",
    "EulerMaruyamaSDE",
    "ExponentialEulerSDE",
    "SolverSampler",
    "auto_splitting",
    "coarse_grid",
    "resolve_eta_data",
]

_SOLVE_OPTIONS = ("bm", "subdivisions")  # keywords of sdesolve.solve a recipe sampler passes through
_DERIVED = ("stepper_class", "nfe_per_step", "order", "stochastic")


class _FromStepper:
    """A recipe's metadata, read from its stepper class whenever it is asked for (on the class or an instance)."""

    def __init__(self, read: Callable[[type[SolverSampler]], Any]) -> None:
        self.read = read

    def __get__(self, obj: Any, owner: type[SolverSampler]) -> Any:
        return self.read(owner)


class SolverSampler(DiffusionSampler):
    """Integrates the reverse dynamics of the process with a core stepper (``sdesolve.solve``), under the driver loop:
    the base class hands the driver's per-step report to ``solve`` as its callback, so a recipe cannot skip it.

    A recipe sets ``name``, ``stepper`` (a registered stepper's name), ``eta`` and ``splitting``; ``stepper_class``,
    ``nfe_per_step``, ``order`` and ``stochastic`` come from the stepper (setting them is refused).
    """

    stepper: ClassVar[str] = ""
    eta: ClassVar[float] = 1.0
    #: the noise level near the data, when it differs from ``eta`` (``Process.sde``'s ``eta_data``; ``data``
    #: splitting only); advertised as an option by the recipes that use it (:class:`MultistepSampler`)
    eta_data: ClassVar[float | str | None] = None
    splitting: ClassVar[str] = "relative"
    #: integrate a process that is not variance-preserving on ``vp`` at the same noise levels (a recipe whose own
    #: time variable matters, e.g. a multistep method's clock, sets False)
    on_vp: ClassVar[bool] = True
    #: the recipe's defaults for options of its stepper, where the measured best differs from the stepper's
    stepper_defaults: ClassVar[dict[str, Any]] = {}
    stepper_class = _FromStepper(lambda cls: get_stepper(cls.stepper))
    nfe_per_step = _FromStepper(lambda cls: cls.stepper_class.nfe_per_step)
    order = _FromStepper(lambda cls: cls.stepper_class.weak_order if cls.eta != 0 else cls.stepper_class.ode_order)
    stochastic = _FromStepper(lambda cls: cls.eta != 0)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        copied = sorted(set(_DERIVED) & set(vars(cls)))
        if copied:
            raise TypeError(
                f"{cls.__qualname__} sets {', '.join(copied)}: a recipe derives them from its stepper "
                "(nfe_per_step; order = ode_order when eta = 0, else weak_order; stochastic = eta != 0)"
            )
        super().__init_subclass__(**kwargs)

    @classmethod
    def _solve_options(cls) -> dict[str, Any]:
        """``splitting``, ``eta`` and the options ``solve`` takes for the integration itself (``bm``, a Brownian
        path; ``subdivisions`` of the coefficient tables)."""
        solve_options = {name: inspect.signature(solve).parameters[name].default for name in _SOLVE_OPTIONS}
        return {"splitting": cls.splitting, "eta": cls.eta, **solve_options}

    @classmethod
    def options(cls) -> dict[str, Any]:
        """``splitting``, ``eta``, the options ``solve`` takes for the integration itself (``bm``, a Brownian path;
        ``subdivisions`` of the coefficient tables) and the options of the stepper it runs, with the recipe's own
        defaults for them (``stepper_defaults``)."""
        stepper = cls.stepper_class.options()
        unknown = sorted(set(cls.stepper_defaults) - set(stepper))
        if unknown:
            raise TypeError(
                f"{cls.__qualname__}.stepper_defaults names {', '.join(unknown)}, not options of stepper "
                f"{cls.stepper!r} (its options: {', '.join(stepper) or 'none'})"
            )
        return {**cls._solve_options(), **stepper, **cls.stepper_defaults}

    def _defaults(self) -> dict[str, Any]:
        return dict(self.stepper_defaults)

    @classmethod
    def _run_parameters(cls) -> tuple[dict[str, Any], str | None]:
        # as before the driver loop: splitting and eta, then **stepper_options (bm, subdivisions, the stepper's own);
        # `sdesolve sample --option` accepts what this shows plus the stepper's options
        return {"splitting": cls.splitting, "eta": cls.eta}, "stepper_options"

    def _take_eta(self, ctx: SamplingContext, options: dict[str, Any]) -> tuple[float, float | None]:
        """Pop ``eta`` and ``eta_data`` from ``options`` (the recipe's defaults where absent); ``eta_data`` resolved
        by :func:`resolve_eta_data`."""
        eta = options.pop("eta", None)
        eta = self.eta if eta is None else eta
        return eta, resolve_eta_data(self.name, eta, options.pop("eta_data", self.eta_data), ctx)

    def _advance(
        self,
        ctx: SamplingContext,
        x: Tensor,
        on_step: Callable[..., None],
        options: dict[str, Any],
    ) -> Tensor:
        if float(ctx.process.sigma(ctx.times[-1])) <= 0:
            raise ValueError(
                f"{self.name}: the grid ends at t={float(ctx.times[-1]):g} where σ = 0 and the score is singular; "
                "stop early (t_min > 0) and pass denoise=True to finish with the denoiser"
            )
        stepper_options = dict(options)
        splitting = stepper_options.pop("splitting", None) or self.splitting
        if splitting == "auto":
            splitting = auto_splitting(ctx.process, ctx.times)
        eta, eta_data = self._take_eta(ctx, stepper_options)
        if self.on_vp and not ctx.process.variance_preserving and stepper_options.get("bm") is None:
            return _on_variance_preserving(self.stepper, ctx, x, on_step, splitting, eta, stepper_options, eta_data)
        sde = ctx.process.sde(ctx.adapter, splitting, eta, eta_data)
        return solve(
            sde,
            x,
            ctx.times,
            self.stepper,
            generator=ctx.generator,
            callback=on_step,  # the driver's report, after every step
            check_finite=False,  # the driver's reporter watches every sampler's states
            **stepper_options,
        )


#: a grid is coarse when its steps divide the noise level ``σ/α`` by more than this on average (geometric mean,
#: ``(σ_first/σ_last)^(1/steps)``, whatever the grid's shape): over the lab's σ/α range (80-157 down to 0.01) that is
#: 10 or fewer steps. ``clock="auto"``, ``eta_data="auto"`` and ``sa_solver``'s ``corrector_order="auto"`` switch on
#: it (measured: docs/benchmarks.md "Defaults revised on 2026-11-27").
COARSE_RATIO = 2.5


def coarse_grid(process: Any, times: Tensor, ratio: float = COARSE_RATIO) -> bool:
    """Whether the grid ``times`` is coarse: its steps divide ``σ/α`` by more than ``ratio`` on average."""
    sigma = process.edm_sigma(times[[0, -1]].to(torch.float64))
    steps = times.numel() - 1
    return steps > 0 and float(sigma[0] / sigma[1]) ** (1.0 / steps) > ratio


#: ``eta_data="auto"``: the noise level near the data, as a fraction of ``eta``, on a coarse grid (measured:
#: docs/benchmarks.md "A noise level that falls near the data")
AUTO_ETA_DATA = 0.5


def resolve_eta_data(name: str, eta: float, eta_data: Any, ctx: SamplingContext) -> float | None:
    """``eta_data`` resolved (``"auto"``: ``AUTO_ETA_DATA · eta`` on a coarse grid, see
    :func:`coarse_grid`, else ``eta`` everywhere) and checked against ``eta``:
    a run with ``eta = 0`` is the probability-flow ODE, and a noise level near the data would make it stochastic
    behind the recipe's back."""
    if isinstance(eta_data, str):
        if eta_data != "auto":
            raise ValueError(f"{name}: eta_data must be a number >= 0, None or 'auto', got {eta_data!r}")
        return AUTO_ETA_DATA * eta if eta > 0 and coarse_grid(ctx.process, ctx.times) else None
    if eta_data is not None and eta == 0 and eta_data != 0:
        raise ValueError(
            f"{name}: eta_data={eta_data!r} with eta=0 would add noise to the probability-flow ODE; give eta > 0 "
            "(the noise level at high noise) for a stochastic run"
        )
    return eta_data


#: ``splitting="auto"`` takes ``skip`` when some step divides the noise level ``σ/α`` by more than this.
AUTO_SKIP_RATIO = 4.0


def auto_splitting(process: Any, times: Tensor) -> str:
    """``"skip"`` on a coarse grid (a step dividing ``σ/α`` by more than :data:`AUTO_SKIP_RATIO`), else
    ``"relative"``.

    Measured for ``ddram`` (W1 on the two-mode mixture, docs/benchmarks.md): ``skip`` damps the frozen ``N`` across
    a large σ ratio (10 NFE: 0.21 against 0.95 and tails to |x| ~ 40; 20 NFE: 0.089 against 0.128), the relative score
    is 4-20x more accurate once every ratio is small (40 NFE: 0.0094 against 0.040). On the EDM ρ = 7 grid (σ 80 →
    0.002) the largest step ratio is 25 at 5 steps, 6.0 at 10 and 2.6 at 20: 10 and 20 NFE take ``skip``.
    """
    levels = process.edm_sigma(times.to(torch.float64))
    positive = levels[levels > 0]
    ratios = positive[:-1] / positive[1:]
    return "skip" if ratios.numel() and float(ratios.max()) > AUTO_SKIP_RATIO else "relative"


class _VPView:
    """The model adapter of a process ``P`` seen on the variance-preserving process ``Q`` with the same noise
    levels: ``t_P(t_Q)`` has ``σ_P/α_P = σ_Q/α_Q``, the state is ``x_Q = x_P α_Q/α_P``, and the data and noise
    predictions are the same (``x = α x̂₀ + σ ε̂`` in both)."""

    def __init__(self, adapter: Any, source: Any, vp: Any) -> None:
        self.adapter, self.source, self.vp = adapter, source, vp

    def _to_source(self, t: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        t64 = t.to(torch.float64)
        t_p = self.source.t_from_edm_sigma(self.vp.edm_sigma(t64))
        ratio = (self.source.alpha(t_p) / self.vp.alpha(t64)).to(x.dtype).reshape((-1,) + (1,) * (x.dim() - 1))
        return t_p, x * ratio

    def data(self, t: Tensor, x: Tensor) -> Tensor:
        return self.adapter.data(*self._to_source(t, x))

    def eps(self, t: Tensor, x: Tensor) -> Tensor:
        return self.adapter.eps(*self._to_source(t, x))

    def data_and_eps(self, t: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.adapter.data_and_eps(*self._to_source(t, x))

    def score(self, t: Tensor, x: Tensor) -> Tensor:
        sigma = self.vp.sigma(t.to(torch.float64)).to(x.dtype).reshape((-1,) + (1,) * (x.dim() - 1))
        return -self.eps(t, x) / sigma


def _on_variance_preserving(
    stepper: str,
    ctx: SamplingContext,
    x: Tensor,
    on_step: Callable[..., None],
    splitting: str,
    eta: float,
    options: dict[str, Any],
    eta_data: float | None = None,
) -> Tensor:
    """Integrate a non-variance-preserving process's reverse dynamics on ``vp`` at the same noise levels.

    The two are one family of laws in two coordinates (``x_VP = x α_VP/α``), but a stepper that is not an
    exponential integrator (Euler–Maruyama), or the ``score`` splitting, discretises them differently: measured
    2-5x more accurate on ``vp`` than on ``edm`` at 10-40 NFE (docs/benchmarks.md). Exponential steppers with the
    ``relative``/``skip`` splittings give the same iterates either way (to round-off). Not used with a user's
    Brownian path ``bm``, which lives in the process's own time.
    """
    from sdesolve import registry

    vp = registry().get("process", "vp")
    times = vp.t_from_edm_sigma(ctx.process.edm_sigma(ctx.times))
    scale = vp.alpha(times) / ctx.process.alpha(ctx.times)  # x_VP = x_P · scale, float64, one per grid time

    def report(i: int, x_i: Tensor, *extra: Any) -> None:
        on_step(i, x_i / float(scale[i + 1]), *extra)

    sde = vp.sde(_VPView(ctx.adapter, ctx.process, vp), splitting, eta, eta_data)
    out = solve(
        sde,
        x * float(scale[0]),
        times,
        stepper,
        generator=ctx.generator,
        callback=report,
        check_finite=False,
        **options,
    )
    return out / float(scale[-1])


class EulerMaruyamaSDE(SolverSampler):
    name = "euler_maruyama_sde"
    stepper = "euler_maruyama"
    splitting = "score"
    summary = "EMD: Euler–Maruyama on the reverse SDE"


class ExponentialEulerSDE(SolverSampler):
    name = "exponential_euler_sde"
    stepper = "exponential_euler"
    summary = "EED: exponential Euler on the reverse SDE, relative-score splitting"


class DDRaM(SolverSampler):
    """The relative score by default: unbiased whatever the data's scale, the most accurate from 40 NFE on issue 11's
    sharp mixture (W1 0.0094 and 0.0005 at 40 and 80 NFE against 0.040 and 0.0115 with ``skip``). On coarse grids
    over sharp modes its frozen score is amplified (10 NFE: W1 0.95, |x| up to 40): ``splitting="skip"`` with
    ``process.sigma_data`` set to the modes' scale, or ``"auto"`` (skip on coarse grids), fixes that (0.21, bounded)
    but with the default ``sigma_data = 0.1`` it shrinks unit-scale data (std 0.73 for 1.0 at 10 NFE), so neither is
    the default (docs/samplers/ddram.md)."""

    name = "ddram"
    stepper = "randomized_midpoint"
    summary = "DDRaM: randomized midpoint on the reverse SDE, importance-sampled τ, relative score"


class DDRaMODE(SolverSampler):
    """The relative score by default (as ``ddram``): ``splitting="skip"`` is more accurate on issue 11's sharp
    mixture (W1 0.092, 0.027, 0.0085, 0.0023 at 10-80 NFE against 0.53, 0.045, 0.012, 0.0026) when
    ``process.sigma_data`` matches the modes' scale, and biased otherwise (std 0.86 for unit-scale data at 10 NFE)."""

    name = "ddram_ode"
    stepper = "randomized_midpoint"
    eta = 0.0
    summary = "randomized midpoint on the probability-flow ODE, relative score"
