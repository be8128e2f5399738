"""The methods the lab compares: every registered sampler, and the peers' samplers through their public APIs.

A method is ``run(problem, x_T, budget, seed, bm=None) -> (x0, nfe)``: it spends about ``budget`` network
evaluations (the actual count is returned) and, when it accepts a Brownian path ``bm``, it is driven by it (strong
error against a reference on the same path).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

import sdesolve
from sdesolve.dtypes import F64
from sdesolve.reference import brownian_interval, sdeint_reference
from sdesolve_lab.peers import load_kdiffusion_sampling
from sdesolve_lab.problem import LabProblem

__all__ = [
    "DIFFUSERS_SA_SOLVER",
    "KD_SAMPLERS",
    "PEER_LIBRARIES",
    "Method",
    "budget_tolerance",
    "diffusers_sa_solver_method",
    "kdiffusion_method",
    "mean_error",
    "our_method",
    "our_methods",
    "peer_methods",
]


@dataclass(frozen=True)
class Method:
    name: str
    library: str
    stochastic: bool
    run: Callable[..., tuple[Tensor, int]]
    path: bool = False  # accepts a shared Brownian path


# --- sdesolve -----------------------------------------------------------------------------------------------------
#: an adaptive method's tolerance for an NFE budget (torchdiffeq's dopri5 and sdesolve's ``adaptive`` sampler): the
#: budget picks the tolerance, the method spends what it needs, and the lab records that count
_BUDGET_TOLERANCE = {10: 1e-1, 20: 1e-2, 50: 1e-3, 100: 1e-4, 200: 1e-5}


def budget_tolerance(budget: int) -> float:
    """The tolerance an adaptive method runs at for an NFE ``budget`` (a table at 10-200, else ``10^-round(b/25)``
    within ``10^-1 … 10^-8``)."""
    return _BUDGET_TOLERANCE.get(budget, 10.0 ** (-min(8, max(1, round(budget / 25)))))


def _label(name: str, options: dict[str, Any]) -> str:
    return " ".join([name, *(f"{k}={v}" for k, v in options.items())])


def our_method(name: str, **options: Any) -> Method:
    """The registered sampler ``name`` run the lab's way, with extra sampler ``options``.

    ``run(problem, x_T, budget, seed, bm=None)``: ``sdesolve.sample`` from ``x_T`` with the problem's process, the
    grid ending at the problem's ``t_end`` (``grid_options={"t_min": pb.t_end}``), ``denoise=True`` and a generator
    seeded with ``seed``; ``max(1, (budget - 1) // nfe_per_step)`` steps, or, for an adaptive sampler, one step at
    the budget's tolerance (:func:`budget_tolerance`, unless ``options`` give ``rtol``/``atol``); driven by ``bm``
    when given. The row is ``sdesolve:NAME`` followed by the options as ``key=value``.
    """
    reg = sdesolve.registry().items["sampler"]
    if name not in reg:
        raise ValueError(f"unknown sampler {name!r}; registered: {', '.join(sorted(reg))}")
    smp = reg[name]
    adaptive = getattr(smp, "adaptive", False)
    per_step = int(smp.nfe_per_step)

    def run(pb: LabProblem, x_T: Tensor, budget: int, seed: int, bm=None) -> tuple[Tensor, int]:
        model = pb.model()
        opts = {"bm": bm} if bm is not None else {}
        if adaptive:  # a tolerance, not a step count: the NFE is what it spends
            tol = budget_tolerance(budget)
            steps, opts = 1, {"rtol": tol, "atol": tol}
        else:
            steps = max(1, (budget - 1) // per_step)
        x = sdesolve.sample(
            model,
            x_T,
            name,
            steps=steps,
            process=pb.process,
            denoise=True,
            grid_options={"t_min": pb.t_end},
            generator=torch.Generator().manual_seed(seed),
            **(opts | options),
        )
        return x, model.nfe

    return Method(f"sdesolve:{_label(name, options)}", "sdesolve", smp.stochastic, run, path=hasattr(smp, "stepper"))


def mean_error(
    run: Callable[..., tuple[Tensor, int]], pb: LabProblem, metric: Any, budget: int, n: int, seeds: int
) -> tuple[float, int]:
    """``run`` at ``budget`` over ``seeds`` seeds, the benchmarks' protocol (seed ``s``: ``x_T = pb.prior(n, s)``,
    the method's seed ``s + budget``): the mean of ``metric`` over the seeds and the largest NFE spent."""
    errors, nfes = [], []
    for seed in range(seeds):
        x, nfe = run(pb, pb.prior(n, seed), budget, seed + budget)
        errors.append(float(metric(x)))
        nfes.append(nfe)
    return sum(errors) / len(errors), max(nfes)


def our_methods(names: list[str] | None = None) -> list[Method]:
    """:func:`our_method` for every registered sampler (or ``names``), with the samplers' default options."""
    reg = sdesolve.registry().items["sampler"]
    names = sorted(reg) if names is None else names
    for name in names:
        if name not in reg:
            raise ValueError(f"--samplers: unknown sampler {name!r}; registered: {', '.join(sorted(reg))}")
    return [our_method(name) for name in names]


# --- torchsde / torchdiffeq -------------------------------------------------------------------------------------
def _torchsde(method: str, nfe: int) -> Method:
    def run(pb: LabProblem, x_T: Tensor, budget: int, seed: int, bm=None):
        model = pb.model()
        ad = pb.adapter(model)
        steps = max(1, (budget - 1) // nfe)
        sde = pb.process.sde(ad, "score", eta=1.0)
        span = [pb.t_max, pb.t_end]
        if bm is None:
            bm = brownian_interval(
                span, tuple(x_T.shape), seed=seed, dtype=x_T.dtype, device=x_T.device, levy_area=method == "srk"
            )
        x = sdeint_reference(sde, x_T, span, bm, method=method, dt=(pb.t_max - pb.t_end) / steps)
        return ad.data(pb.t_end, x), model.nfe

    return Method(f"torchsde:{method}", "torchsde", True, run, path=True)


def _torchdiffeq(method: str, nfe: int | None) -> Method:
    import torchdiffeq

    def run(pb: LabProblem, x_T: Tensor, budget: int, seed: int, bm=None):
        model = pb.model()
        ad = pb.adapter(model)
        sde = pb.process.sde(ad, "score", eta=0.0)
        batch = x_T.shape[0]

        def rhs(t: Tensor, x: Tensor) -> Tensor:
            return sde.drift(t.to(F64).expand(batch), x)

        if nfe is None:  # adaptive: the budget picks a tolerance, the NFE is what dopri5 spends
            rtol = budget_tolerance(budget)
            span = torch.tensor([pb.t_max, pb.t_end], dtype=F64)  # jump_t: stop exactly at t_end (σ → 0 beyond)
            x = torchdiffeq.odeint(
                rhs, x_T, span, method=method, rtol=rtol, atol=rtol * 1e-2, options={"jump_t": span[1:]}
            )[-1]
        else:
            steps = max(1, (budget - 1) // nfe)
            grid = sdesolve.registry().get("grid", "edm")(pb.process, steps, t_min=pb.t_end)
            x = torchdiffeq.odeint(rhs, x_T, grid, method=method)[-1]
        return ad.data(pb.t_end, x), model.nfe

    return Method(f"torchdiffeq:{method}", "torchdiffeq", False, run)


# --- k-diffusion --------------------------------------------------------------------------------------------------
# the k-diffusion samplers whose default noise sampler is a BrownianTreeNoiseSampler over [sigma_min, sigma_max]
KD_TREE_DEFAULT = frozenset({"dpmpp_sde", "dpmpp_2m_sde", "dpmpp_3m_sde"})


def _clamped_tree_sampler(kd, x: Tensor, sigmas: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    """The ``BrownianTreeNoiseSampler`` k-diffusion builds by default (same interval, same seed draw), with each
    query clamped into the tree's interval. torchsde's ``BrownianTree`` rounds its ends to its ``tol`` (1e-6):
    σ_max = 157.40726936571167 becomes 157.407269, so the first query, at σ_max, lies past the end and torchsde
    warns ``Should have tb<=t1`` (and clamps it itself). The clamp moves a query by at most that rounding."""
    positive = sigmas[sigmas > 0]
    sigma_min, sigma_max = positive.min(), sigmas.max()
    tree = kd.BrownianTreeNoiseSampler(x, sigma_min, sigma_max)
    trees = getattr(getattr(tree, "tree", None), "trees", None) or [None]
    interval = getattr(trees[0], "_interval", None)  # torchsde's BrownianInterval, whose ends are the rounded ones
    lo = max(float(sigma_min), getattr(interval, "_start", float(sigma_min)))
    hi = min(float(sigma_max), getattr(interval, "_end", float(sigma_max)))

    def sample(sigma: Tensor, sigma_next: Tensor) -> Tensor:
        return tree(torch.as_tensor(sigma).clamp(lo, hi), torch.as_tensor(sigma_next).clamp(lo, hi))

    return sample


#: the σ grids the lab gives k-diffusion: its usual Karras ρ = 7 grid (``get_sigmas_karras``, our ``edm``) and, for
#: the multistep samplers, the exponential one (``get_sigmas_exponential``, our ``logsnr``: uniform in log σ), on
#: which they are stronger at low NFE (docs/benchmarks.md, "SA-Solver"): the who-wins tables face both; ``quadratic``
#: (uniform in sqrt(σ)-like spacing, our ``quadratic``) for the benchmarks that compare solvers on one grid
KD_GRIDS = {"edm": "", "logsnr": "@logsnr", "quadratic": "@quadratic"}


#: the k-diffusion samplers the lab runs: name -> (two NFE per step, stochastic)
KD_SAMPLERS: dict[str, tuple[bool, bool]] = {
    "euler_ancestral": (False, True),
    "dpm_2_ancestral": (True, True),
    "heun": (True, False),
    "lms": (False, False),
    "dpmpp_2m": (False, False),
    "dpmpp_sde": (True, True),
    "dpmpp_2m_sde": (False, True),
    "dpmpp_3m_sde": (False, True),
}


def kdiffusion_method(name: str, *, grid: str = "edm", step_noise: bool = False) -> Method:
    """k-diffusion's ``sample_<name>`` run the lab's way (its NFE per step and whether it is stochastic from
    :data:`KD_SAMPLERS`; k-diffusion loaded by :func:`~sdesolve_lab.peers.load_kdiffusion_sampling`): on our
    ``grid`` (``edm``: Karras ρ = 7, row ``k-diffusion:NAME``; ``logsnr``: exponential σ, row
    ``k-diffusion:NAME@logsnr``), the last step to σ = 0; ``step_noise``: each step's Brownian increment by
    ``randn`` instead of k-diffusion's default tree (see :func:`_kdiffusion`). A bad ``grid`` or ``name`` raises a
    ``ValueError`` naming it; an ``ImportError`` when k-diffusion is not installed."""
    if grid not in KD_GRIDS:
        raise ValueError(f"grid must be one of {tuple(KD_GRIDS)}, got {grid!r}")
    if name not in KD_SAMPLERS:
        raise ValueError(f"name must be a k-diffusion sampler the lab runs, one of {tuple(KD_SAMPLERS)}; got {name!r}")
    kd = load_kdiffusion_sampling()
    if kd is None:
        raise ImportError("k-diffusion is not installed (pip install k-diffusion), so kdiffusion_method cannot run")
    two_nfe, stochastic = KD_SAMPLERS[name]
    return _kdiffusion(kd, name, two_nfe, stochastic, step_noise=step_noise, grid=grid)


def _kdiffusion(kd, name: str, two_nfe: bool, stochastic: bool, step_noise: bool = False, grid: str = "edm") -> Method:
    """``step_noise``: draw each step's normalised Brownian increment with ``randn`` instead of k-diffusion's default
    ``BrownianTreeNoiseSampler`` — the same law for samplers that query each step's interval once (``dpmpp_2m_sde``,
    ``dpmpp_3m_sde``), and an order of magnitude faster at 10⁵ samples. ``dpmpp_sde`` queries overlapping intervals
    and keeps the tree. ``grid``: ``edm`` (Karras ρ = 7, the row ``k-diffusion:NAME``) or ``logsnr`` (exponential σ,
    the row ``k-diffusion:NAME@logsnr``)."""
    if grid not in KD_GRIDS:
        raise ValueError(f"grid must be one of {tuple(KD_GRIDS)}, got {grid!r}")
    fn = getattr(kd, f"sample_{name}")

    def run(pb: LabProblem, x_T: Tensor, budget: int, seed: int, bm=None):
        model = pb.model()
        ad = pb.adapter(model)
        proc = pb.process
        n = max(1, (budget + 1) // 2) if two_nfe else max(1, budget)
        times = sdesolve.registry().get("grid", grid)(proc, max(n - 1, 1), t_min=pb.t_end)
        sigmas = torch.cat([proc.edm_sigma(times), torch.zeros(1, dtype=F64)]).to(x_T.dtype)

        def denoiser(y: Tensor, sigma: Tensor) -> Tensor:
            t = proc.t_from_edm_sigma(sigma.to(F64))
            return ad.data(t, proc.alpha(t).to(y.dtype)[:, None] * y)

        torch.manual_seed(seed)
        x = x_T / float(proc.alpha(times[0]))
        if step_noise:
            extra = {"noise_sampler": kd.default_noise_sampler(x)}
        elif name in KD_TREE_DEFAULT:  # k-diffusion's default tree, its queries clamped into the tree's interval
            extra = {"noise_sampler": _clamped_tree_sampler(kd, x, sigmas)}
        else:
            extra = {}
        y = fn(denoiser, x, sigmas, disable=True, **extra)
        return y, model.nfe

    return Method(f"k-diffusion:{name}{KD_GRIDS[grid]}", "k-diffusion", stochastic, run)


# --- diffusers ----------------------------------------------------------------------------------------------------
def _diffusers(cls_name: str, stochastic: bool) -> Method:
    def run(pb: LabProblem, x_T: Tensor, budget: int, seed: int, bm=None):
        import diffusers

        model = pb.model()
        ancestral = cls_name in ("DDPMScheduler", "DDIMScheduler")
        sched = getattr(diffusers, cls_name)(beta_schedule="linear", **({"clip_sample": False} if ancestral else {}))
        sched.set_timesteps(budget)
        gen = torch.Generator().manual_seed(seed)
        x = x_T.clone()
        for t in sched.timesteps:
            eps = model(x, torch.full((x.shape[0],), float(t), dtype=x.dtype))
            kwargs = {"generator": gen} if ancestral else {}
            x = sched.step(eps, t, x, **kwargs).prev_sample
        return x, model.nfe

    return Method(f"diffusers:{cls_name.removesuffix('Scheduler')}", "diffusers", stochastic, run)


#: diffusers' ``SASolverScheduler`` configurations the lab runs: its defaults (orders 2/2, τ = 1 only for timesteps
#: 200-800) and τ = 1 throughout with the paper's orders 3/3 on its Karras noise levels (docs/benchmarks.md "SA-Solver")
DIFFUSERS_SA_SOLVER: dict[str, dict[str, Any]] = {
    "diffusers:SASolver": {},
    "diffusers:SASolver@karras-p3c3": {
        "predictor_order": 3,
        "corrector_order": 3,
        "tau_func": lambda t: 1.0,
        "use_karras_sigmas": True,
    },
}


def diffusers_sa_solver_method(name: str) -> Method:
    """diffusers' ``SASolverScheduler`` (a configuration of :data:`DIFFUSERS_SA_SOLVER`) on the problem's DDPM table:
    ``budget - 1`` steps over its own timesteps, ending at timestep 0 (the problem's ``t_end``), then the exact
    denoiser there, as sdesolve's samplers end: ``budget`` NFE. Stochastic, its noise from a generator seeded
    ``seed``."""
    if name not in DIFFUSERS_SA_SOLVER:
        raise ValueError(f"unknown SASolver configuration {name!r}; known: {', '.join(DIFFUSERS_SA_SOLVER)}")
    config = DIFFUSERS_SA_SOLVER[name]

    def run(pb: LabProblem, x_T: Tensor, budget: int, seed: int, bm=None):
        import diffusers

        model = pb.model()
        sched = diffusers.SASolverScheduler(beta_schedule="linear", **config)
        sched.set_timesteps(max(1, budget - 1))
        gen = torch.Generator().manual_seed(seed)
        x = x_T.clone()
        for t in sched.timesteps:
            eps = model(x, torch.full((x.shape[0],), float(t), dtype=x.dtype))
            x = sched.step(eps, t, x, generator=gen).prev_sample
        x = pb.adapter(model).data(pb.t_end, x)
        return x, model.nfe

    return Method(name, "diffusers", True, run)


PEER_LIBRARIES = ("torchsde", "torchdiffeq", "k-diffusion", "diffusers")


def peer_methods(libraries: tuple[str, ...] | None = None) -> list[Method]:
    """The peers that are installed: torchsde, torchdiffeq, k-diffusion, diffusers (only ``libraries``, when
    given: the references alone need not load k-diffusion)."""
    wanted = PEER_LIBRARIES if libraries is None else libraries
    unknown = sorted(set(wanted) - set(PEER_LIBRARIES))
    if unknown:
        raise ValueError(f"unknown peer libraries {unknown}; known: {', '.join(PEER_LIBRARIES)}")
    out = []
    if "torchsde" in wanted:
        out += [_torchsde("euler", 1), _torchsde("srk", 3)]
    if "torchdiffeq" in wanted:
        out += [_torchdiffeq("euler", 1), _torchdiffeq("rk4", 4), _torchdiffeq("dopri5", None)]
    if "k-diffusion" in wanted and load_kdiffusion_sampling() is not None:
        out += [
            kdiffusion_method(name, step_noise=name in ("dpmpp_2m_sde", "dpmpp_3m_sde")) for name in KD_SAMPLERS
        ] + [
            kdiffusion_method("dpmpp_2m", grid="logsnr"),
            kdiffusion_method("dpmpp_2m_sde", step_noise=True, grid="logsnr"),
            kdiffusion_method("dpmpp_3m_sde", step_noise=True, grid="logsnr"),
        ]
    if "diffusers" in wanted and importlib.util.find_spec("diffusers") is not None:
        out += [
            _diffusers("DDPMScheduler", True),
            _diffusers("DDIMScheduler", False),
            _diffusers("DPMSolverMultistepScheduler", False),
            _diffusers("UniPCMultistepScheduler", False),
            _diffusers("DEISMultistepScheduler", False),
            *(diffusers_sa_solver_method(name) for name in DIFFUSERS_SA_SOLVER),
        ]
    return out
