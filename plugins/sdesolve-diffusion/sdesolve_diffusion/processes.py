"""Forward noising processes ``x_t = α(t) x₀ + σ(t) ε`` and the semilinear problems of their reverse dynamics.

All functions take and return float64 tensors of any shape (on any device). With ``f = dlog α/dt`` and
``g² = dσ²/dt - 2 f σ²`` the forward SDE is ``dx = f x dt + g dW``; the reverse-time family with churn ``η``
(``η = 1``: the reverse SDE, ``η = 0``: the probability-flow ODE) is

    dx = (f x - c g² ∇log p_t(x)) dt + η g dW̄,   c = (1 + η²)/2,

split as ``a x + b N`` in one of four ways (:meth:`Process.sde`):

========== ====================================== ======================= ======================
splitting  a(t)                                   b(t)                    N
========== ====================================== ======================= ======================
score      f                                      -c g²                   score
relative   f + c g²/σ*²                           -c g²                   score + x/σ*²
data       (1 - 2c) f + 2c dlog σ/dt              -c g² α/σ²              denoiser D (x₀)
eps        f                                      c g²/σ                  ε
skip       f + c g²/v,  v = α² σ_d² + σ²           -c g² α/v               D + σ_d² α ∇log p_t
========== ====================================== ======================= ======================

``σ*`` is 1 (``sigma_star``). On variance-exploding processes (``α = 1``) ``relative`` is VP's relative score carried
over: ``a = c g²/w``, ``b = -c g²/√w``, ``N = √w ∇log p_t + x/√w`` with ``w = σ*² + σ²`` (the score relative to the
noised law of N(0, σ*²) data, scaled as VP's ``s + x`` is in ``x/α``), so an exponential stepper gives the same
iterates in ``x/α`` on ``edm``/``ve`` as on ``vp`` with the same ``σ/α`` grid. (The reference ``σ* = σ_max`` of DDRaM,
App. C.2.2, left the relative score nearly the plain score there: exponential Euler then adds the step's whole noise
variance with the score frozen, and ``ddram``/``exponential_euler_sde`` were 2-8× less accurate than on ``vp``.)

``skip`` is the data splitting with the noise variance ``σ̂² = (σ/α)²`` replaced by ``w = σ_d² + σ̂²`` (``σ_d`` the
process's ``sigma_data``, default 0.1): ``N = (D - c_skip x/α)/(1 - c_skip)`` with EDM's skip weight
``c_skip = σ_d²/w`` (DDRaM App. C.2.2, "skip connection"). ``N`` is exactly constant in time for Gaussian data of
variance ``σ_d²`` and tends to ``D`` when ``σ̂ ≫ σ_d``: a frozen ``N`` is damped at every noise level, where the
relative score (frozen across a large ``σ`` ratio) is amplified and the plain denoiser (stiff ``a = 2c/σ̂``) is slow
once ``σ̂`` is below the data's scale. Its closed forms hold on every process (``D = log(w_u/w_t)``):
``L = Δlog α + c D``, ``P = α(t) expm1(-c D)``, ``Q = η² α(t)² w_t D φ₁((1-2c) D)``, so exponential steppers on it
give the same iterates in ``x/α`` on every process with the same ``σ̂`` grid.
The integrating factor is in closed form for every splitting; the drift weight too for ``data`` and ``eps``
(``P = α(t) expm1(2c Δλ)`` and ``P = 2c σ(t) expm1(-Δλ)`` with ``λ = log(α/σ)``), so exponential Euler on
them is DDIM exactly; and the noise integral for ``data`` (``e^{2L} Q = σ(u)² expm1(-2η² Δλ)``, the DPM-Solver++ SDE
noise), exact on the DDPM table, where quadrature in ``t`` crosses a kink of ``log ᾱ`` at every timestep.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from sdesolve import IntegratingFactor, SemilinearSDE
from sdesolve.dtypes import F64
from sdesolve.factors import phi1

__all__ = [
    "EDM",
    "OU",
    "SPLITTINGS",
    "VE",
    "VP",
    "DiscreteProcess",
    "Process",
    "VPCosine",
]

SPLITTINGS = ("score", "relative", "data", "eps", "skip")


def _f64(t: Any) -> Tensor:
    return torch.as_tensor(t, dtype=F64)


class Process:
    """Base class. Subclasses define ``log_alpha``, ``sigma``, ``dlog_alpha``, ``dlog_sigma``, ``int_g2``."""

    name: str = ""
    t_min: float = 1e-3  #: default early-stopping time δ
    t_max: float = 1.0  #: default start time T
    sigma_star: float = 1.0  #: reference std of the relative score
    sigma_data: float = 0.1  #: σ_d of the ``skip`` splitting (best of 0-1 measured on issue 11's mixture)
    discrete: bool = False  #: timesteps are integers (a DDPM table)
    variance_preserving: bool = False

    # --- to define -------------------------------------------------------------------------------------------
    def log_alpha(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def sigma(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def dlog_alpha(self, t: Tensor) -> Tensor:
        """``f(t) = dlog α/dt``."""
        raise NotImplementedError

    def dlog_sigma(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def int_g2(self, t: Tensor, u: Tensor) -> Tensor:
        """``∫_t^u g²``."""
        raise NotImplementedError

    def t_from_edm_sigma(self, s: Tensor) -> Tensor:
        """The time at which ``σ(t)/α(t) = s``."""
        raise NotImplementedError

    # --- derived ---------------------------------------------------------------------------------------------
    def alpha(self, t: Tensor) -> Tensor:
        return torch.exp(self.log_alpha(t))

    def alpha_sigma(self, t: Tensor) -> tuple[Tensor, Tensor]:
        """``(α(t), σ(t))`` together: a model call needs both, and a process may share their work (the VP ones
        evaluate ``log α`` once)."""
        return self.alpha(t), self.sigma(t)

    def g2(self, t: Tensor) -> Tensor:
        """``g² = 2 σ² (dlog σ/dt - f)``."""
        return 2.0 * self.sigma(t) ** 2 * (self.dlog_sigma(t) - self.dlog_alpha(t))

    def edm_sigma(self, t: Tensor) -> Tensor:
        """``σ(t)/α(t)``: the noise level of the scaled variable ``x/α`` (EDM's σ)."""
        return self.sigma(t) / self.alpha(t)

    def log_snr(self, t: Tensor) -> Tensor:
        """``λ(t) = log(α/σ)``."""
        return self.log_alpha(t) - torch.log(self.sigma(t))

    def model_time(self, t: Tensor) -> Tensor:
        """The time value a network is called with (diffusion time by default)."""
        return t

    def time_from_model(self, m: Tensor) -> Tensor:
        """Inverse of :meth:`model_time`."""
        return m

    @property
    def prior_std(self) -> float:
        """Std of ``x_T`` for unit-variance data: ``√(α(T)² + σ(T)²)``."""
        t = _f64(self.t_max)
        return float(torch.sqrt(self.alpha(t) ** 2 + self.sigma(t) ** 2))

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "t_min": self.t_min,
            "t_max": self.t_max,
            "sigma_star": self.sigma_star,
            "discrete": self.discrete,
            "variance_preserving": self.variance_preserving,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(t_min={self.t_min}, t_max={self.t_max})"

    # --- the semilinear problems -----------------------------------------------------------------------------
    def sde(
        self, nonlinear: Any, splitting: str = "relative", eta: float = 1.0, eta_data: float | None = None
    ) -> SemilinearSDE:
        """The reverse-time family with churn ``eta`` as a :class:`SemilinearSDE` in diffusion time.

        ``nonlinear`` is an object with methods ``score``, ``data`` and ``eps`` of ``(t, x)`` (a
        :class:`~sdesolve_diffusion.adapters.ModelAdapter`); the splitting picks which one is ``N``.

        ``eta_data`` (``data`` splitting only) makes the noise level depend on the noise: ``η(t)² = η_d² + (η² -
        η_d²) s²/(1 + s²)`` with ``s = σ/α``, so ``eta`` at high noise, ``eta_data`` near the data, halfway at
        ``s = 1`` (the scale of data normalised to unit variance); every member of the family has the same
        marginals. The integrating-factor integrals stay closed (:class:`NoiseSchedule`).
        """
        if splitting not in SPLITTINGS:
            raise ValueError(f"splitting must be one of {SPLITTINGS}, got {splitting!r}")
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta < 0:
            raise ValueError(f"eta must be a finite number >= 0, got {eta!r}")
        if eta_data is not None:
            _check_eta_data(eta_data)
            if eta_data != eta:
                if splitting != "data":
                    raise ValueError(
                        f"eta_data (a noise level that depends on σ/α) needs splitting='data', got {splitting!r}"
                    )
                return self._scheduled_data_sde(nonlinear, NoiseSchedule(self, eta, eta_data))
        c = (1.0 + eta * eta) / 2.0
        s2 = self.sigma_star**2
        if splitting == "score":
            a, b, fn = self.dlog_alpha, (lambda t: -c * self.g2(t)), nonlinear.score
        elif splitting == "relative" and isinstance(self, _VEType):
            # VP's relative score carried to α = 1: the score relative to N(0, w), w = σ*² + σ² (the noised law of
            # N(0, σ*²) data), scaled by √w as VP's N = s + x is in x/α; the same iterates as on VP (σ* = 1)
            def w(t: Tensor) -> Tensor:
                return s2 + self.sigma(t) ** 2

            def fn(t: Tensor, x: Tensor) -> Tensor:
                root = torch.sqrt(w(t.to(F64))).to(x.dtype).reshape((-1,) + (1,) * (x.dim() - 1))
                return nonlinear.score(t, x) * root + x / root

            a, b = (lambda t: c * self.g2(t) / w(t)), (lambda t: -c * self.g2(t) / torch.sqrt(w(t)))
        elif splitting == "relative":

            def fn(t: Tensor, x: Tensor) -> Tensor:
                return nonlinear.score(t, x) + x / s2

            a, b = (lambda t: self.dlog_alpha(t) + c * self.g2(t) / s2), (lambda t: -c * self.g2(t))
        elif splitting == "data":
            a = lambda t: (1 - 2 * c) * self.dlog_alpha(t) + 2 * c * self.dlog_sigma(t)  # noqa: E731
            b = lambda t: -2 * c * self.alpha(t) * (self.dlog_sigma(t) - self.dlog_alpha(t))  # noqa: E731
            fn = nonlinear.data
        elif splitting == "skip":
            sd2 = self._sigma_data_squared()

            def v(t: Tensor) -> Tensor:  # α² σ_d² + σ²: the noised variance of N(0, σ_d²) data
                return self.alpha(t) ** 2 * sd2 + self.sigma(t) ** 2

            a = lambda t: self.dlog_alpha(t) + c * self.g2(t) / v(t)  # noqa: E731
            b = lambda t: -c * self.g2(t) * self.alpha(t) / v(t)  # noqa: E731
            fn = _skip_nonlinear(self, nonlinear, sd2)
        else:
            a, b, fn = (
                self.dlog_alpha,
                (lambda t: 2 * c * self.sigma(t) * (self.dlog_sigma(t) - self.dlog_alpha(t))),
                (nonlinear.eps),
            )
        g = (lambda t: eta * torch.sqrt(self.g2(t))) if eta > 0 else None
        return SemilinearSDE(
            a=a,
            b=b,
            nonlinear=fn,
            g=g,
            factor=ProcessFactor(self, splitting, c),
            name=f"{self.name}/{splitting}/eta={eta:g}",
            time_layout="batch",  # the model adapter (and the user's network) takes one time per sample
        )

    def _scheduled_data_sde(self, nonlinear: Any, schedule: NoiseSchedule) -> SemilinearSDE:
        """The ``data`` splitting with ``c(t) = (1 + η(t)²)/2`` (see :meth:`sde`'s ``eta_data``)."""

        def c(t: Tensor) -> Tensor:
            return 0.5 * (1.0 + schedule.eta2(t))

        def a(t: Tensor) -> Tensor:
            two_c = 2 * c(t)
            return (1 - two_c) * self.dlog_alpha(t) + two_c * self.dlog_sigma(t)

        def b(t: Tensor) -> Tensor:
            return -2 * c(t) * self.alpha(t) * (self.dlog_sigma(t) - self.dlog_alpha(t))

        def g(t: Tensor) -> Tensor:
            return torch.sqrt(schedule.eta2(t) * self.g2(t))

        return SemilinearSDE(
            a=a,
            b=b,
            nonlinear=nonlinear.data,
            g=g if schedule.high > 0 or schedule.low > 0 else None,
            factor=ScheduledDataFactor(schedule),
            name=f"{self.name}/data/eta={schedule.eta:g}..{schedule.eta_data:g}",
            time_layout="batch",
        )

    def _sigma_data_squared(self) -> float:
        sd = self.sigma_data
        if isinstance(sd, bool) or not isinstance(sd, (int, float)) or not math.isfinite(sd) or sd < 0:
            raise ValueError(f"{self.name}: sigma_data must be a finite number >= 0, got {sd!r}")
        return float(sd) ** 2


def _skip_nonlinear(process: Process, nonlinear: Any, sd2: float):
    """``N = D + σ_d² α ∇log p_t = D - σ_d² ε/σ̂`` (``σ̂ = σ/α``) from one model call where the adapter gives
    ``data_and_eps``; from ``data`` alone otherwise (``N = D + σ_d² (D - x/α)/σ̂²``)."""
    both = getattr(nonlinear, "data_and_eps", None)

    def fn(t: Tensor, x: Tensor) -> Tensor:
        t64 = t.to(F64)
        shape = (-1,) + (1,) * (x.dim() - 1)
        if both is not None:
            d, eps = both(t, x)
            return d - (sd2 / process.edm_sigma(t64)).to(x.dtype).reshape(shape) * eps
        d = nonlinear.data(t, x)
        alpha = process.alpha(t64).to(x.dtype).reshape(shape)
        return d + (sd2 / process.edm_sigma(t64) ** 2).to(x.dtype).reshape(shape) * (d - x / alpha)

    return fn


def _check_eta_data(eta_data: Any) -> None:
    if (
        isinstance(eta_data, bool)
        or not isinstance(eta_data, (int, float))
        or not math.isfinite(eta_data)
        or eta_data < 0
    ):
        raise ValueError(f"eta_data must be a finite number >= 0 or None, got {eta_data!r}")


class NoiseSchedule:
    """``η(t)² = η_d² + (η² - η_d²) s²/(1 + s²)``, ``s = σ/α`` (:meth:`Process.sde`'s ``eta_data``), and its
    integral in ``λ = log(α/σ)``: ``E(t) = ∫^λ η² dλ = η_d² λ - (η² - η_d²)/2 · log(1 + s²)``."""

    def __init__(self, process: Process, eta: float, eta_data: float) -> None:
        _check_eta_data(eta_data)
        self.process, self.eta, self.eta_data = process, float(eta), float(eta_data)
        self.high, self.low = self.eta**2, self.eta_data**2

    def eta2(self, t: Tensor) -> Tensor:
        s2 = self.process.edm_sigma(t) ** 2
        return self.low + (self.high - self.low) * (s2 / (1.0 + s2))

    def delta_e(self, t: Tensor, u: Tensor) -> Tensor:
        """``E(u) - E(t)``."""
        p = self.process
        dlam = p.log_snr(u) - p.log_snr(t)
        return self.low * dlam - 0.5 * (self.high - self.low) * (
            torch.log1p(p.edm_sigma(u) ** 2) - torch.log1p(p.edm_sigma(t) ** 2)
        )


class ScheduledDataFactor(IntegratingFactor):
    """Closed forms of the ``data`` splitting with a noise level that depends on ``σ/α`` (:class:`NoiseSchedule`):
    with ``Δλ`` and ``ΔE = ∫ η² dλ`` over the step, ``L = Δ log α - Δλ - ΔE``, ``P = α_t (e^{Δλ + ΔE} - 1)`` and
    ``Q = -σ_t² (e^{2ΔE} - 1)`` — the constant-``η`` forms with ``η² Δλ`` replaced by ``ΔE`` (``e^{-L} b dt`` and
    ``e^{-2L} g² dt`` are exact differentials in ``λ``)."""

    def __init__(self, schedule: NoiseSchedule) -> None:
        self.schedule, self.process = schedule, schedule.process

    def log_growth(self, t: Tensor, u: Tensor) -> Tensor:
        p = self.process
        return (p.log_alpha(u) - p.log_alpha(t)) - (p.log_snr(u) - p.log_snr(t)) - self.schedule.delta_e(t, u)

    def drift_integral(self, t: Tensor, u: Tensor) -> Tensor:
        p = self.process
        return p.alpha(t) * torch.expm1((p.log_snr(u) - p.log_snr(t)) + self.schedule.delta_e(t, u))

    def noise_integral(self, t: Tensor, u: Tensor) -> Tensor:
        return -(self.process.sigma(t) ** 2) * torch.expm1(2 * self.schedule.delta_e(t, u))


class ProcessFactor(IntegratingFactor):
    """Closed-form integrating-factor integrals of a process's splitting (see the module table).

    ``L`` is closed for every splitting. The drift weight ``P`` (and the importance-sampling inverse CDF) are
    closed for ``data`` and ``eps`` on any process, and for ``score`` and ``relative`` on variance-preserving
    (``α² + σ² = 1``) and variance-exploding (``α = 1``) processes, where ``e^{-L} b`` is the derivative of an
    exponential of ``Δ log α`` or ``Δσ²``:

    * VP: ``P = 2c Δ φ₁(kΔ)``, ``Δ = log α(u) - log α(t)``, ``k = -1`` (score) or ``2c - 1`` (relative);
    * VE, score: ``P = -c Δ``, ``Δ = σ(u)² - σ(t)²``; relative (VP's, carried over): ``P = -c √w_t D φ₁((½ - c) D)``,
      ``D = log(w_u/w_t)``, ``w = σ*² + σ²``;

    and the noise integral likewise (``Q = -2η² Δ φ₁(2kΔ)``, ``η² Δ`` and ``η² w_t D φ₁((1 - 2c) D)``).
    """

    def __init__(self, process: Process, splitting: str, c: float) -> None:
        self.process, self.splitting, self.c = process, splitting, c
        self.family = None
        if splitting == "skip":
            self.sd2 = process._sigma_data_squared()
            # the inverse CDF needs t(σ̂): every variance-preserving and variance-exploding process has it
            self.invertible = isinstance(process, (_VPType, _VEType))
            return
        if splitting in ("score", "relative"):
            if isinstance(process, _VPType):
                self.family, self.k = "vp", (-1.0 if splitting == "score" else 2 * c - 1)
            elif isinstance(process, _VEType) and splitting == "score":
                self.family, self.k = "ve", 0.0
            elif isinstance(process, _VEType):  # VP's relative score carried to α = 1 (see Process.sde)
                self.family, self.sd2 = "ve_rel", process.sigma_star**2

    def provides(self, name: str) -> bool:
        if name == "log_growth":
            return True
        if self.splitting == "skip":
            return name in ("drift_integral", "noise_integral") or (name == "sample_time" and self.invertible)
        if name == "drift_integral":
            return self.splitting in ("data", "eps") or self.family is not None
        if name == "noise_integral" and self.splitting == "data":
            return True
        if name in ("sample_time", "noise_integral"):
            return self.family is not None
        return False

    def _w(self, t: Tensor) -> Tensor:
        """``w = σ_d² + σ̂²``, the ``skip`` splitting's variance in the variable ``x/α``."""
        return self.sd2 + self.process.edm_sigma(t) ** 2

    def _log_w_ratio(self, t: Tensor, u: Tensor) -> Tensor:
        return torch.log(self._w(u)) - torch.log(self._w(t))

    def log_growth(self, t: Tensor, u: Tensor) -> Tensor:
        p, c = self.process, self.c
        dla = p.log_alpha(u) - p.log_alpha(t)
        if self.splitting == "skip" or self.family == "ve_rel":
            return dla + c * self._log_w_ratio(t, u)
        if self.splitting in ("score", "eps"):
            return dla
        if self.splitting == "relative":
            return dla + c * p.int_g2(t, u) / p.sigma_star**2
        return (1 - 2 * c) * dla + 2 * c * (torch.log(p.sigma(u)) - torch.log(p.sigma(t)))

    def _delta(self, t: Tensor, u: Tensor) -> Tensor:
        p = self.process
        if self.family == "vp":
            return p.log_alpha(u) - p.log_alpha(t)
        return p.sigma(u) ** 2 - p.sigma(t) ** 2

    def drift_integral(self, t: Tensor, u: Tensor) -> Tensor:
        p, c = self.process, self.c
        if self.splitting == "skip":  # e^{-L} b dt = -c α(t) w_t^c w^{-1-c} dw
            return p.alpha(t) * torch.expm1(-c * self._log_w_ratio(t, u))
        if self.family == "ve_rel":  # e^{-L} b dt = -c w_t^c w^{-c-1/2} dw
            d = self._log_w_ratio(t, u)
            return -c * torch.sqrt(self._w(t)) * d * phi1((0.5 - c) * d)
        if self.family == "vp":
            d = self._delta(t, u)
            return 2 * c * d * phi1(self.k * d)
        if self.family == "ve":
            d = self._delta(t, u)
            return -c * d * phi1(-self.k * d)
        dlam = p.log_snr(u) - p.log_snr(t)
        if self.splitting == "data":
            return p.alpha(t) * torch.expm1(2 * c * dlam)
        return 2 * c * p.sigma(t) * torch.expm1(-dlam)

    def noise_integral(self, t: Tensor, u: Tensor) -> Tensor:
        eta2 = 2 * self.c - 1  # η²
        if self.splitting == "data":  # e^{2L(t,u)} Q = σ(u)² (1 - e^{-2η²Δλ}): DPM-Solver++ SDE's noise, any schedule
            p = self.process
            dlam = p.log_snr(u) - p.log_snr(t)
            return torch.exp(-2 * self.log_growth(t, u)) * p.sigma(u) ** 2 * torch.expm1(-2 * eta2 * dlam)
        if self.splitting == "skip" or self.family == "ve_rel":  # e^{-2L} g² dt = α(t)² w_t^{2c} w^{-2c} dw
            d = self._log_w_ratio(t, u)
            return eta2 * self.process.alpha(t) ** 2 * self._w(t) * d * phi1((1 - 2 * self.c) * d)
        d = self._delta(t, u)
        if self.family == "vp":  # η² g² dv = -2η² dΔ, e^{-2L} = e^{2kΔ}
            return -2 * eta2 * d * phi1(2 * self.k * d)
        return eta2 * d * phi1(-2 * self.k * d)  # VE: η² g² dv = η² dΔσ², e^{-2L} = e^{-2κΔσ²}

    def sample_time(self, t: Tensor, u: Tensor, q: Tensor) -> Tensor:
        p = self.process
        if self.splitting == "skip":  # density ∝ e^{-cD} dD, D = log(w/w_t); then σ̂² = σ̂_t² e^D + σ_d² expm1(D)
            c = self.c
            d = -torch.log1p(q * torch.expm1(-c * self._log_w_ratio(t, u))) / c
            s2 = p.edm_sigma(t) ** 2 * torch.exp(d) + self.sd2 * torch.expm1(d)
            return p.t_from_edm_sigma(torch.sqrt(s2.clamp_min(0.0)))
        if self.family == "ve_rel":  # density ∝ e^{(1/2 - c) D} dD
            k, d_end = 0.5 - self.c, self._log_w_ratio(t, u)
            d = q * d_end if k == 0.0 else torch.log1p(q * torch.expm1(k * d_end)) / k
            s2 = p.sigma(t) ** 2 * torch.exp(d) + self.sd2 * torch.expm1(d)
            return p.t_from_edm_sigma(torch.sqrt(s2.clamp_min(0.0)))
        d_end = self._delta(t, u)
        k = self.k if self.family == "vp" else -self.k
        if k == 0.0:
            d = q * d_end
        else:
            d = torch.log1p(q * torch.expm1(k * d_end)) / k
        if self.family == "vp":
            return p.t_from_log_alpha(p.log_alpha(t) + d)
        return p.t_from_edm_sigma(torch.sqrt(p.sigma(t) ** 2 + d))


class _VPType(Process):
    """``α² + σ² = 1``; subclasses define ``log_alpha``, ``dlog_alpha`` and ``t_from_log_alpha``."""

    variance_preserving = True
    sigma_star = 1.0

    def sigma(self, t: Tensor) -> Tensor:
        return torch.sqrt(-torch.expm1(2.0 * self.log_alpha(t)))

    def alpha_sigma(self, t: Tensor) -> tuple[Tensor, Tensor]:
        la = self.log_alpha(t)
        return torch.exp(la), torch.sqrt(-torch.expm1(2.0 * la))

    def dlog_sigma(self, t: Tensor) -> Tensor:
        la = self.log_alpha(t)
        return -self.dlog_alpha(t) * torch.exp(2 * la) / -torch.expm1(2 * la)

    def g2(self, t: Tensor) -> Tensor:
        return -2.0 * self.dlog_alpha(t)

    def int_g2(self, t: Tensor, u: Tensor) -> Tensor:
        return -2.0 * (self.log_alpha(u) - self.log_alpha(t))

    def edm_sigma(self, t: Tensor) -> Tensor:
        return torch.sqrt(torch.expm1(-2.0 * self.log_alpha(t)))

    def log_snr(self, t: Tensor) -> Tensor:
        la = self.log_alpha(t)
        return la - 0.5 * torch.log(-torch.expm1(2 * la))

    def t_from_log_alpha(self, la: Tensor) -> Tensor:
        raise NotImplementedError

    def t_from_edm_sigma(self, s: Tensor) -> Tensor:
        return self.t_from_log_alpha(-0.5 * torch.log1p(s * s))


class OU(_VPType):
    """Ornstein–Uhlenbeck ``dX = -X dt + √2 dW``: ``α = e^{-t}`` (DDRaM's setting)."""

    name = "ou"
    t_min, t_max = 1e-3, 6.0

    def log_alpha(self, t: Tensor) -> Tensor:
        return -t

    def dlog_alpha(self, t: Tensor) -> Tensor:
        return -torch.ones_like(t)

    def t_from_log_alpha(self, la: Tensor) -> Tensor:
        return -la


class VP(_VPType):
    """Variance-preserving SDE with linear ``β(t) = β_min + t (β_max - β_min)`` on ``[0, 1]`` (DDPM continuous)."""

    name = "vp"
    t_min, t_max = 1e-3, 1.0

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0) -> None:
        if not 0 <= beta_min < beta_max:
            raise ValueError(f"need 0 <= beta_min < beta_max, got {beta_min}, {beta_max}")
        self.beta_min, self.beta_d = float(beta_min), float(beta_max - beta_min)

    def log_alpha(self, t: Tensor) -> Tensor:
        return -0.25 * t * t * self.beta_d - 0.5 * t * self.beta_min

    def dlog_alpha(self, t: Tensor) -> Tensor:
        return -0.5 * (self.beta_min + t * self.beta_d)

    def t_from_log_alpha(self, la: Tensor) -> Tensor:
        # (β_d/4) t² + (β_min/2) t + la = 0, rationalised for accuracy at small t
        return -4.0 * la / (self.beta_min + torch.sqrt(self.beta_min**2 - 4.0 * self.beta_d * la))


class VPCosine(_VPType):
    """Cosine schedule of Nichol & Dhariwal: ``α(t) = cos(π/2 (t + s)/(1 + s)) / cos(π/2 s/(1 + s))``."""

    name = "vp_cosine"
    t_min, t_max = 1e-3, 0.9946

    def __init__(self, s: float = 0.008) -> None:
        self.s = float(s)
        self._log_cos0 = math.log(math.cos(math.pi / 2 * self.s / (1 + self.s)))

    def _angle(self, t: Tensor) -> Tensor:
        return (t + self.s) / (1 + self.s) * (math.pi / 2)

    def log_alpha(self, t: Tensor) -> Tensor:
        return torch.log(torch.cos(self._angle(t))) - self._log_cos0

    def dlog_alpha(self, t: Tensor) -> Tensor:
        return -torch.tan(self._angle(t)) * (math.pi / 2) / (1 + self.s)

    def t_from_log_alpha(self, la: Tensor) -> Tensor:
        angle = torch.acos(torch.exp(la + self._log_cos0))
        return angle * 2 / math.pi * (1 + self.s) - self.s


class _VEType(Process):
    """``α = 1``."""

    def log_alpha(self, t: Tensor) -> Tensor:
        return torch.zeros_like(t)

    def dlog_alpha(self, t: Tensor) -> Tensor:
        return torch.zeros_like(t)

    def int_g2(self, t: Tensor, u: Tensor) -> Tensor:
        return self.sigma(u) ** 2 - self.sigma(t) ** 2

    def edm_sigma(self, t: Tensor) -> Tensor:
        return self.sigma(t)


class VE(_VEType):
    """Variance-exploding SDE: ``σ(t) = σ_min (σ_max/σ_min)^t`` on ``[0, 1]`` (Song et al.)."""

    name = "ve"
    t_min, t_max = 0.0, 1.0

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0) -> None:
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self._rate = math.log(sigma_max / sigma_min)

    def sigma(self, t: Tensor) -> Tensor:
        return self.sigma_min * torch.exp(self._rate * t)

    def dlog_sigma(self, t: Tensor) -> Tensor:
        return torch.full_like(t, self._rate)

    def t_from_edm_sigma(self, s: Tensor) -> Tensor:
        return torch.log(s / self.sigma_min) / self._rate


class EDM(_VEType):
    """EDM (Karras et al.): ``σ(t) = t``, ``s(t) = 1``, ``t ∈ [0.002, 80]``."""

    name = "edm"
    t_min, t_max = 0.002, 80.0

    def sigma(self, t: Tensor) -> Tensor:
        return t

    def dlog_sigma(self, t: Tensor) -> Tensor:
        return 1.0 / t

    def t_from_edm_sigma(self, s: Tensor) -> Tensor:
        return s


class DiscreteProcess(_VPType):
    """A DDPM table ``β_1..β_T``: ``log ᾱ`` is interpolated linearly between the integer timesteps.

    Diffusion time ``t ∈ [0, T]`` with ``ᾱ(k) = ∏_{j≤k} (1 - β_j)``; the network is called with the timestep index
    ``t - 1`` (diffusers' convention: ``alphas_cumprod[i]`` belongs to index ``i``). Presets:
    :meth:`linear`, :meth:`cosine`, :meth:`theory`.
    """

    name = "discrete"
    discrete = True

    def __init__(self, betas: Tensor | list[float], name: str = "discrete") -> None:
        betas = _f64(betas).flatten()
        if betas.numel() < 2 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must hold at least 2 values in (0, 1)")
        self.betas = betas
        self.name = name
        self.T = betas.numel()
        self.t_min, self.t_max = 1.0, float(self.T)  # early stop at the first timestep; denoise=True finishes
        log_abar = torch.cat([torch.zeros(1, dtype=F64), torch.cumsum(torch.log1p(-betas), 0)])
        self._knots: dict[tuple[str, int | None], Tensor] = {("cpu", None): log_abar}
        self.alphas_cumprod = torch.exp(log_abar[1:])

    @classmethod
    def from_alphas_cumprod(cls, alphas_cumprod: Tensor, name: str = "discrete") -> DiscreteProcess:
        """From a table ``ᾱ_1..ᾱ_T`` (e.g. a diffusers scheduler's ``alphas_cumprod``), kept exactly."""
        abar = _f64(alphas_cumprod).flatten()
        if abar.numel() < 2 or not bool(((abar > 0) & (abar < 1)).all()) or not bool((abar[1:] < abar[:-1]).all()):
            raise ValueError("alphas_cumprod must be a decreasing table of values in (0, 1)")
        prev = torch.cat([torch.ones(1, dtype=F64), abar[:-1]])
        process = cls(1 - abar / prev, name=name)
        knots = torch.cat([torch.zeros(1, dtype=F64), torch.log(abar)])
        process._knots = {("cpu", None): knots}
        process.alphas_cumprod = abar
        return process

    @classmethod
    def from_diffusers(cls, scheduler_or_config: Any) -> DiscreteProcess:
        """The β schedule of a diffusers scheduler (an instance, or its ``config`` mapping), in float64.

        Supports ``trained_betas`` and ``beta_schedule`` ``linear``, ``scaled_linear`` and ``squaredcos_cap_v2``
        (the schedules of DDPM, Stable Diffusion and improved DDPM); anything else is refused by name.
        """
        config = getattr(scheduler_or_config, "config", scheduler_or_config)
        get = config.get if hasattr(config, "get") else (lambda k, d=None: getattr(config, k, d))
        if get("rescale_betas_zero_snr", False):
            raise ValueError(
                "rescale_betas_zero_snr=True schedules end at ᾱ_T = 0 (σ/α infinite) and are not supported"
            )
        T = int(get("num_train_timesteps", 1000))
        trained = get("trained_betas", None)
        if trained is not None:
            return cls(_f64(trained), name="diffusers")
        schedule = get("beta_schedule", "linear")
        start, end = float(get("beta_start", 1e-4)), float(get("beta_end", 0.02))
        if schedule == "linear":
            return cls(torch.linspace(start, end, T, dtype=F64), name="diffusers")
        if schedule == "scaled_linear":
            return cls(torch.linspace(start**0.5, end**0.5, T, dtype=F64) ** 2, name="diffusers")
        if schedule == "squaredcos_cap_v2":
            return cls.cosine(T)
        raise ValueError(
            f"beta_schedule {schedule!r} is not supported; expected 'linear', 'scaled_linear', 'squaredcos_cap_v2' "
            "or trained_betas (or pass the scheduler's alphas_cumprod to DiscreteProcess.from_alphas_cumprod)"
        )

    @classmethod
    def linear(cls, T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> DiscreteProcess:
        """DDPM's linear schedule (diffusers ``beta_schedule="linear"``)."""
        return cls(torch.linspace(beta_start, beta_end, T, dtype=F64), name="discrete")

    @classmethod
    def cosine(cls, T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> DiscreteProcess:
        """Nichol & Dhariwal's cosine schedule (diffusers ``squaredcos_cap_v2``)."""
        i = torch.arange(T + 1, dtype=F64) / T
        f = torch.cos((i + s) / (1 + s) * math.pi / 2) ** 2
        betas = torch.clamp(1 - f[1:] / f[:-1], max=max_beta)
        return cls(betas, name="discrete_cosine")

    @classmethod
    def theory(cls, T: int = 1000, c0: float = 2.0, c1: float = 4.0) -> DiscreteProcess:
        """The two-phase schedule of the theory (Li et al. 2024): ``β_1 = T^{-c0}``, then
        ``β_{t+1} = (c1 log T / T) min(β_1 (1 + c1 log T / T)^t, 1)``."""
        rate = c1 * math.log(T) / T
        beta1 = T ** (-c0)
        t = torch.arange(1, T, dtype=F64)
        rest = rate * torch.clamp(beta1 * (1 + rate) ** t, max=1.0)
        return cls(torch.cat([torch.tensor([beta1], dtype=F64), rest]), name="discrete_theory")

    def _log_abar(self, like: Tensor) -> Tensor:
        key = (like.device.type, like.device.index)
        if key not in self._knots:
            self._knots[key] = self._knots[("cpu", None)].to(like.device)
        return self._knots[key]

    def log_alpha(self, t: Tensor) -> Tensor:
        knots = self._log_abar(t)
        i = t.floor().clamp(0, self.T - 1).long()
        w = (t - i.to(t.dtype)).clamp(0.0, 1.0)  # constant beyond [0, T]: never ᾱ > 1
        return 0.5 * torch.lerp(knots[i], knots[i + 1], w)

    def dlog_alpha(self, t: Tensor) -> Tensor:
        knots = self._log_abar(t)
        i = (t.ceil() - 1).clamp(0, self.T - 1).long()  # left segment at an integer: backward steps use it
        return 0.5 * (knots[i + 1] - knots[i])

    def t_from_log_alpha(self, la: Tensor) -> Tensor:
        knots = -self._log_abar(la)  # increasing
        target = (-2.0 * la).contiguous()
        j = (torch.searchsorted(knots, target) - 1).clamp(0, self.T - 1)
        k0, k1 = knots[j], knots[j + 1]
        return j.to(la.dtype) + (target - k0) / (k1 - k0)

    def model_time(self, t: Tensor) -> Tensor:
        return t - 1.0

    def time_from_model(self, m: Tensor) -> Tensor:
        return m + 1.0

    @property
    def prior_std(self) -> float:
        return 1.0

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"T": self.T}
