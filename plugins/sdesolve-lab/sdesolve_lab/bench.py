"""``sdesolve bench``: solver speed at equal steps, side by side with the peers, against the physical floor.

The problem is an isotropic Gaussian-mixture score (8 components) in ``d`` dimensions for a batch of ``B``; the
*budget* is the time of the score evaluations at the inputs of an Euler–Maruyama trajectory plus one normal draw
per step, the floor no sampler can beat. Every row runs the same number of steps on the same grid; times are the
best of ``repeats``.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import torch
from sdesolve_diffusion.processes import DiscreteProcess
from sdesolve_diffusion.targets import GaussianMixture

import sdesolve
from sdesolve import SemilinearSDE
from sdesolve.random import NativeDraws, seed_streams
from sdesolve.report import table
from sdesolve_lab.peers import load_kdiffusion_sampling

__all__ = ["MixtureProblem", "bench", "format_bench"]


BUDGET_ROW = "budget (score + randn only)"
RATIO_PAIRS = (  # (ours, theirs): the line says how many times as long theirs took
    ("sdesolve euler_maruyama (SDE)", "torchsde sdeint euler (default BrownianInterval)"),
    ("sdesolve euler_maruyama (ODE)", "torchdiffeq odeint euler (ODE)"),
    ("sdesolve ddim", "k-diffusion sample_euler (= DDIM)"),
    ("sdesolve ddim", "diffusers DDIMScheduler loop"),
    ("sdesolve euler_maruyama (SDE), torch.compile(score)", "sdesolve euler_maruyama (SDE)"),
    ("sdesolve euler_maruyama (SDE)", "sdesolve euler_maruyama (SDE), per-sample seeds"),
    ("sdesolve euler_maruyama (SDE), NativeDraws", "sdesolve euler_maruyama (SDE)"),
)


def _interleaved(jobs: dict[str, Callable[[], Any]], repeats: int, sync: Callable[[], None]) -> dict[str, float]:
    """Best time of each job over ``repeats`` rounds; rounds run every job in turn, so slow phases of a noisy
    machine hit all of them alike."""
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(repeats):
        for name, fn in jobs.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def bench(
    batch: int = 4096,
    dim: int = 64,
    steps: int = 100,
    device: str = "cpu",
    repeats: int = 5,
    dtype: torch.dtype = torch.float32,
    flush_denormal: bool = True,
    compile: bool = False,
) -> dict[str, Any]:
    """Time every row; with ``flush_denormal`` (default) denormal floats are flushed to zero on the CPU while timing,
    so that the score's cost does not depend on which trajectory a method follows."""
    flushed = torch.set_flush_denormal(True) if flush_denormal else False
    try:
        return _bench(batch, dim, steps, device, repeats, dtype, compile) | {"flush_denormal": flushed}
    finally:
        if flushed:
            torch.set_flush_denormal(False)


class MixtureProblem:
    """The benchmark problem: the reverse SDE (and probability-flow ODE) of an 8-component isotropic Gaussian mixture
    under the DDPM linear table, in the score splitting, ``steps`` uniform steps from t = 1000 to 1, and the budget.

    ``budget()`` is the floor: the score at exactly the inputs of one Euler–Maruyama trajectory (recorded once: score
    costs depend on the values, e.g. through denormals) plus one normal draw per step in the working dtype.
    """

    def __init__(self, batch: int, dim: int, steps: int, device: torch.device, dtype: torch.dtype) -> None:
        gen = torch.Generator().manual_seed(0)
        self.target = GaussianMixture(
            2 * torch.randn(8, dim, generator=gen, dtype=torch.float64) / dim**0.5,
            torch.full((8,), 0.1, dtype=torch.float64),
        )
        self.process = process = DiscreteProcess.linear()
        self.device, self.dtype = device, dtype
        self.x_T = torch.randn(batch, dim, generator=gen).to(device=device, dtype=dtype)
        self.times = torch.linspace(1000.0, 1.0, steps + 1, dtype=torch.float64)
        f = process.dlog_alpha
        # the reverse SDE / probability-flow ODE in the score splitting, as every peer integrates them; score(t, x)
        # takes one time per sample, shape (batch,)
        self.sde = self.with_score(self.score)
        self.ode = SemilinearSDE(a=f, b=lambda t: -0.5 * process.g2(t), nonlinear=self.score, time_layout="batch")
        self.inputs: list[tuple[torch.Tensor, torch.Tensor]] = []
        recorder = self.with_score(lambda t, x: self.inputs.append((t.clone(), x.clone())) or self.score(t, x))
        sdesolve.solve(recorder, self.x_T, self.times, "euler_maruyama")

    def score(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        t64 = t.to(torch.float64)
        return self.target.noised_score(self.process.alpha(t64), self.process.sigma(t64), x)

    def with_score(self, score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> SemilinearSDE:
        process = self.process
        return SemilinearSDE(
            a=process.dlog_alpha,
            b=lambda t: -process.g2(t),
            g=lambda t: torch.sqrt(process.g2(t)),
            nonlinear=score,
            time_layout="batch",
        )

    def budget(self) -> None:
        for t, x in self.inputs:
            self.score(t, x)
            torch.randn(x.shape, device=self.device, dtype=self.dtype)


def _bench(
    batch: int, dim: int, steps: int, device: str, repeats: int, dtype: torch.dtype, compile: bool
) -> dict[str, Any]:
    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    prob = MixtureProblem(batch, dim, steps, dev, dtype)
    process, x_T, times, score, inputs = prob.process, prob.x_T, prob.times, prob.score, prob.inputs
    sde, ode = prob.sde, prob.ode
    alpha_T = process.alpha(torch.tensor(1000.0, dtype=torch.float64))
    f = process.dlog_alpha

    def eps_model(x: torch.Tensor, t_model: torch.Tensor) -> torch.Tensor:
        t = process.time_from_model(t_model.to(torch.float64))
        return -process.sigma(t).to(x.dtype)[:, None] * score(t, x)

    jobs: dict[str, Callable[[], Any]] = {}
    budget = prob.budget
    jobs[BUDGET_ROW] = budget
    jobs["sdesolve euler_maruyama (SDE)"] = lambda: sdesolve.solve(sde, x_T, times, "euler_maruyama")
    seeds = list(range(batch))
    jobs["sdesolve euler_maruyama (SDE), per-sample seeds"] = lambda: sdesolve.solve(
        sde, x_T, times, "euler_maruyama", generator=seed_streams(seeds)
    )
    jobs["sdesolve euler_maruyama (SDE), NativeDraws"] = lambda: sdesolve.solve(
        sde, x_T, times, "euler_maruyama", generator=NativeDraws()
    )
    jobs["sdesolve exponential_euler (SDE)"] = lambda: sdesolve.solve(sde, x_T, times, "exponential_euler")

    import torchsde

    from sdesolve.reference import TorchsdeProblem

    problem = TorchsdeProblem(sde, (dim,), -1.0)
    s = (-times).to(dev, dtype)

    def torchsde_euler() -> None:  # the BrownianInterval sdeint builds by default (it cannot infer it from g_prod)
        bm = torchsde.BrownianInterval(t0=float(s[0]), t1=float(s[-1]), size=(batch, dim), dtype=dtype, device=dev)
        torchsde.sdeint(problem, x_T, s[[0, -1]], bm=bm, method="euler", dt=float(s[1] - s[0]))

    jobs["torchsde sdeint euler (default BrownianInterval)"] = torchsde_euler

    jobs["sdesolve euler_maruyama (ODE)"] = lambda: sdesolve.solve(ode, x_T, times, "euler_maruyama")
    import torchdiffeq

    jobs["torchdiffeq odeint euler (ODE)"] = lambda: torchdiffeq.odeint(
        lambda t, x: ode.drift(t.to(torch.float64).expand(batch), x), x_T, times.to(dev, dtype), method="euler"
    )
    jobs["sdesolve ddim"] = lambda: sdesolve.sample(eps_model, x_T, "ddim", process=process, grid=times)
    kd = load_kdiffusion_sampling()
    if kd is not None:
        sigmas = process.edm_sigma(times).to(dev, dtype)

        def kd_denoiser(y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            t = process.t_from_edm_sigma(sigma.to(torch.float64))
            a = process.alpha(t).to(y.dtype)[:, None]
            return y - sigma[:, None] * eps_model(a * y, process.model_time(t))

        jobs["k-diffusion sample_euler (= DDIM)"] = lambda: kd.sample_euler(
            kd_denoiser, x_T / float(alpha_T), sigmas, disable=True
        )
    try:
        import diffusers

        def diffusers_ddim() -> None:
            sched = diffusers.DDIMScheduler(beta_schedule="linear", clip_sample=False)
            sched.set_timesteps(steps)
            x = x_T
            for t in sched.timesteps:
                x = sched.step(eps_model(x, torch.full((batch,), float(t), device=dev, dtype=dtype)), t, x).prev_sample

        jobs["diffusers DDIMScheduler loop"] = diffusers_ddim
    except ImportError:
        pass
    compile_seconds = None
    if compile:  # the score is where the time goes: compile it once (fixed shapes), then solve as usual
        compiled = torch.compile(score)
        start = time.perf_counter()
        for t, x in inputs[:2]:
            compiled(t, x)
        sync()
        compile_seconds = time.perf_counter() - start
        sde_c = SemilinearSDE(
            a=f,
            b=lambda t: -process.g2(t),
            g=lambda t: torch.sqrt(process.g2(t)),
            nonlinear=compiled,
            time_layout="batch",
        )

        def budget_compiled() -> None:
            for t, x in inputs:
                compiled(t, x)
                torch.randn(x.shape, device=dev, dtype=dtype)

        jobs["budget, torch.compile(score)"] = budget_compiled
        jobs["sdesolve euler_maruyama (SDE), torch.compile(score)"] = lambda: sdesolve.solve(
            sde_c, x_T, times, "euler_maruyama"
        )
    rows = _interleaved(jobs, repeats, sync)
    return {
        "problem": {
            "batch": batch,
            "dim": dim,
            "steps": steps,
            "repeats": repeats,
            "components": 8,
            "dtype": str(dtype).removeprefix("torch."),
            "device": device,
        },
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name() if dev.type == "cuda" else None,
        },
        "seconds": rows,
        "compile_seconds": compile_seconds,
    }


def format_bench(result: dict[str, Any]) -> str:
    """The timing table, a legend saying what each column means and which way is better, and the time ratios of
    ``RATIO_PAIRS`` (theirs / ours: above 1, ours is faster)."""
    p, sec = result["problem"], result["seconds"]
    budget = sec[BUDGET_ROW]
    rounds = f"best of {p['repeats']} rounds" if p.get("repeats") else "best of repeats"
    lines = [f"B={p['batch']}, d={p['dim']}, {p['steps']} steps, {p['dtype']} on {p['device']}; {rounds}", ""]
    rows = [
        [name, f"{t:.3f}", f"{t / budget:.2f}", f"{1e3 * (t - budget) / p['steps']:.2f}"] for name, t in sec.items()
    ]
    header = ["method", "seconds", "time / budget", "overhead/step (ms)"]
    lines.append(table(rows, header, align="<>>>", rule=False))
    lines += [
        "",
        "seconds: wall time of the whole solve, lower is better. budget: the score evaluations of the same steps plus",
        "one normal draw per step, the floor an SDE solver cannot beat (ODE solvers draw no noise: they can go under).",
        "time / budget: lower is better, 1.00 = no solver overhead. overhead/step: (time - budget) / steps, the",
        "solver's own cost per step, lower is better (negative: under the budget).",
    ]
    ratios = []
    for ours, theirs in RATIO_PAIRS:
        if ours in sec and theirs in sec:
            ratios.append(f"{theirs} took {sec[theirs] / sec[ours]:.2f}x the time of {ours}")
    if ratios:
        lines += ["", "time ratios at equal steps (above 1x: the second is faster, below 1x: the first is faster):"]
        lines += ratios
    if result.get("compile_seconds") is not None:
        lines.append(f"(torch.compile of the score took {result['compile_seconds']:.1f} s once, excluded above)")
    return "\n".join(lines)
