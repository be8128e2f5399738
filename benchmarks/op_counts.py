"""Tensor operations per step: sdesolve's loops against the budget and against diffusers' scheduler loops.

On a GPU at the sizes where a step is a few dozen small kernels, the time is the number of operations (each one a
Python dispatch and a kernel launch, about 10 µs), so this count is the solver's overhead there. The counts are ATen
operations dispatched, measured with a ``TorchDispatchMode`` on any device; on CUDA, ``--kernels`` also counts the
kernels the profiler saw launched.

    python benchmarks/op_counts.py                 # CPU, every row
    python benchmarks/op_counts.py --device cuda --kernels

Rows: the mixture-score problem of ``sdesolve bench`` (B = 64, d = 8 by default: the counts do not depend on the
size) solved with Euler–Maruyama (default generator, per-sample seeds, no finiteness check) against its budget (the
score plus one ``torch.randn``), and ``sample(...)`` with a near-free ε-model (``0.1·x``) for ``ddim`` and the
multistep samplers against diffusers' ``DDIMScheduler``, ``DPMSolverMultistepScheduler`` and
``UniPCMultistepScheduler`` loops (same number of steps, model calls included in both).
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import sdesolve
from sdesolve.random import SeedStreams

VIEWS = {
    "view",
    "select",
    "slice",
    "expand",
    "unsqueeze",
    "detach",
    "alias",
    "t",
    "transpose",
    "as_strided",
    "lift_fresh",
}


class _Count(TorchDispatchMode):
    """Counts the ATen operations dispatched (views, which launch nothing, apart)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def count(fn: Callable[[], Any]) -> tuple[int, int]:
    """``(operations, views)`` of one call of ``fn`` (after a warm-up call)."""
    fn()
    with _Count() as c:
        fn()
    views = sum(n for name, n in c.ops.items() if name in VIEWS)
    return sum(c.ops.values()) - views, views


def kernels(fn: Callable[[], Any]) -> int:
    """CUDA kernels launched by one call of ``fn`` (after a warm-up call), from the profiler's device events."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return sum(e.count for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA)


def rows(device: torch.device, steps: int, batch: int, dim: int) -> dict[str, Callable[[], Any]]:
    from sdesolve_lab.bench import MixtureProblem

    prob = MixtureProblem(batch, dim, steps, device, torch.float32)
    process = prob.process
    x_T = prob.x_T

    def solve(**kw: Any) -> Any:
        return sdesolve.solve(prob.sde, x_T, prob.times, "euler_maruyama", **kw)

    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.1 * x

    def ours(name: str) -> Callable[[], Any]:
        return lambda: sdesolve.sample(eps, x_T, name, steps=steps, process=process)

    jobs: dict[str, Callable[[], Any]] = {
        "budget: score + torch.randn": prob.budget,
        "euler_maruyama through solve": lambda: solve(generator=torch.Generator(device).manual_seed(0)),
        "euler_maruyama, check_finite=False": lambda: solve(
            generator=torch.Generator(device).manual_seed(0), check_finite=False
        ),
        "euler_maruyama, per-sample seeds": lambda: solve(generator=SeedStreams(range(batch))),
        "ε-model alone (0.1·x), per call": lambda: [eps(x_T, x_T[:, 0]) for _ in range(steps)],
        "sdesolve ddim": ours("ddim"),
        "sdesolve edm_heun": ours("edm_heun"),
        "sdesolve dpm_solver_pp_2m": ours("dpm_solver_pp_2m"),
        "sdesolve unipc": ours("unipc"),
        "sdesolve dpm_solver_pp_2m_sde": ours("dpm_solver_pp_2m_sde"),
    }
    try:
        import diffusers
    except ImportError:
        return jobs

    def loop(cls: Any, **options: Any) -> Callable[[], Any]:
        def run() -> None:
            sched = cls(beta_schedule="linear", **options)
            sched.set_timesteps(steps)
            x = x_T
            for t in sched.timesteps:
                x = sched.step(eps(x, torch.full((batch,), float(t), device=device)), t, x).prev_sample

        return run

    jobs["diffusers DDIMScheduler loop"] = loop(diffusers.DDIMScheduler, clip_sample=False)
    jobs["diffusers DPMSolverMultistepScheduler loop"] = loop(diffusers.DPMSolverMultistepScheduler)
    jobs["diffusers UniPCMultistepScheduler loop"] = loop(diffusers.UniPCMultistepScheduler)
    jobs["diffusers DPMSolverMultistep sde-dpmsolver++ loop"] = loop(
        diffusers.DPMSolverMultistepScheduler, algorithm_type="sde-dpmsolver++"
    )
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--kernels", action="store_true", help="also count CUDA kernel launches (CUDA only)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.kernels and device.type != "cuda":
        parser.error("--kernels needs --device cuda")
    jobs = rows(device, args.steps, args.batch, args.dim)
    width = max(map(len, jobs))
    head = f"{'':<{width}}  {'ops/step':>8}  {'views/step':>10}" + (f"  {'kernels/step':>12}" if args.kernels else "")
    print(f"torch {torch.__version__}, {device}, {args.steps} steps, B = {args.batch}, d = {args.dim}\n{head}")
    for name, fn in jobs.items():
        ops, views = count(fn)
        line = f"{name:<{width}}  {ops / args.steps:8.1f}  {views / args.steps:10.1f}"
        if args.kernels:
            line += f"  {kernels(fn) / args.steps:12.1f}"
        print(line)


if __name__ == "__main__":
    main()
