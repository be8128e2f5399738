"""Per-sample seeds and solve-loop overhead, side by side in one run (issue 11, goals 6 and 7).

Every part runs its rows interleaved (each round runs every row once, in turn, so the slow phases of a shared
machine hit all rows alike) and reports the best of ``--repeats`` rounds.

    python benchmarks/seeded_noise.py            # all parts
    python benchmarks/seeded_noise.py sample     # goal 6: sample(..., "ddpm"): one generator, seeds, generator lists
    python benchmarks/seeded_noise.py draw       # one draw: torch.randn vs SeedStreams (and the Philox alternative)
    python benchmarks/seeded_noise.py loop       # goal 7: Euler–Maruyama through solve against the score + RNG budget

Goal 6 problem: B = 2048, d = 64, 50 ``ddpm`` steps on the default process, a cheap ε-model (``0.1 · x``), float32.
Goal 7 problem: ``sdesolve bench``'s (an 8-component Gaussian-mixture score, B = 4096, d = 64, 100 steps, float32,
denormals flushed); the budget is the score at the inputs of one Euler–Maruyama trajectory plus one float32
``torch.randn`` per step. Its table also gives each row's minor page faults per step: the score's 8 MiB temporaries
are fresh pages whenever glibc has handed them back to the kernel, which happens or not depending on the allocation
history, so the same row costs 1–4× as much CPU (system) time from one run to the next. ``--steady-malloc`` reruns
the script with glibc's mmap and trim thresholds fixed (``GLIBC_TUNABLES``): no row then faults, and the times are
the computation's.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

import sdesolve
from sdesolve.random import DrawScratch, NativeDraws, SeedStreams, randn

STEADY_MALLOC = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"


def interleaved(
    jobs: dict[str, Callable[[], Any]], repeats: int, sync: Callable[[], None]
) -> dict[str, tuple[float, float, int]]:
    """Best wall-clock and best CPU (process) time of each job over ``repeats`` interleaved rounds, and the fewest
    minor page faults of a round. On a shared machine the CPU time of a single-threaded run is the steadier figure
    (time slices lost to other processes do not count); the wall time is what a user waits."""
    best = {name: (math.inf, math.inf, sys.maxsize) for name in jobs}
    for _ in range(repeats):
        for name, fn in jobs.items():
            sync()
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            sync()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
            b = best[name]
            best[name] = (min(b[0], wall), min(b[1], cpu), min(b[2], faults))
    return best


def show(title: str, best: dict[str, tuple[float, float, int]], reference: str, per: int = 0) -> None:
    """The table; with ``per`` (steps), a last column of minor page faults per step."""
    print(f"\n{title}")
    width = max(map(len, best))
    ref_wall, ref_cpu, _ = best[reference]
    faults = f"  {'faults/step':>11}" if per else ""
    print(f"  {'':<{width}}  {'wall s':>8}  {'× ref':>6}  {'CPU s':>8}  {'× ref':>6}{faults}   (ref: {reference})")
    for name, (wall, cpu, flt) in best.items():
        faults = f"  {flt / per:11.0f}" if per else ""
        print(f"  {name:<{width}}  {wall:8.4f}  {wall / ref_wall:6.2f}  {cpu:8.4f}  {cpu / ref_cpu:6.2f}{faults}")


def part_sample(args: argparse.Namespace, sync: Callable[[], None]) -> None:
    batch, dim, steps = args.batch, args.dim, args.steps
    device = torch.device(args.device)
    seeds = list(range(batch))

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.1 * x

    def run(**kw: Any) -> torch.Tensor:
        return sdesolve.sample(model, (batch, dim), "ddpm", steps=steps, device=device, **kw)

    jobs = {
        "one torch.Generator": lambda: run(generator=torch.Generator().manual_seed(0)),
        **(
            {"one torch.Generator on the device": lambda: run(generator=torch.Generator(device).manual_seed(0))}
            if device.type != "cpu"
            else {}
        ),
        "seeds=... (SeedStreams)": lambda: run(seeds=seeds),
        "generator=SeedStreams(seeds)": lambda: run(generator=SeedStreams(seeds)),
    }
    if not args.skip_lists:
        jobs["one torch.Generator per sample (former scheme)"] = lambda: run(
            generator=[torch.Generator().manual_seed(s) for s in seeds]
        )
    best = interleaved(jobs, args.repeats, sync)
    title = f"sample(model, ({batch}, {dim}), 'ddpm', steps={steps}) on {device}, cheap model"
    show(title, best, "one torch.Generator")


def philox_words(keys: torch.Tensor, blocks: int) -> torch.Tensor:
    """Philox4x32-10 (Salmon et al. 2011) with torch int64 operations: ``blocks`` counters per key, 4 words each.

    Checked against the Random123 known-answer vectors in :func:`check_philox`."""
    mask = 0xFFFFFFFF
    counter = torch.arange(blocks, dtype=torch.int64, device=keys.device)
    lo = counter.expand(keys.shape[0], blocks)
    x0, x1, x2, x3 = lo & mask, torch.zeros_like(lo), torch.zeros_like(lo), torch.zeros_like(lo)
    k0, k1 = (keys & mask)[:, None], ((keys >> 32) & mask)[:, None]
    for _ in range(10):
        p0, p1 = x0 * 0xD2511F53, x2 * 0xCD9E8D57
        x0, x1, x2, x3 = ((p1 >> 32) & mask) ^ x1 ^ k0, p1 & mask, ((p0 >> 32) & mask) ^ x3 ^ k1, p0 & mask
        k0, k1 = (k0 + 0x9E3779B9) & mask, (k1 + 0xBB67AE85) & mask
    return torch.stack([x0, x1, x2, x3], dim=-1)


def check_philox() -> None:
    """Random123's kat_vectors for philox4x32_10: counter 0, key 0 → 6627e8d5 e169c58d bc57ac4c 9b00dbd8."""
    out = philox_words(torch.zeros(1, dtype=torch.int64), 1)[0, 0].tolist()
    assert out == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], [hex(v) for v in out]


def _draw_jobs(shape: tuple[int, ...], device: torch.device) -> dict[str, Callable[[], Any]]:
    n = math.prod(shape[1:])
    gen = torch.Generator(device=device).manual_seed(0)
    streams = SeedStreams(range(shape[0]))
    keys = torch.arange(shape[0], dtype=torch.int64, device=device)
    return {
        "torch.randn float32 (no dtype invariance)": lambda: torch.randn(shape, generator=gen, device=device),
        "torch.randn float64 → float32": lambda: torch.randn(
            shape, generator=gen, device=device, dtype=torch.float64
        ).float(),
        "sdesolve randn, one generator": lambda: randn(shape, gen, device, torch.float32),
        "sdesolve randn, SeedStreams": lambda: randn(shape, streams, device, torch.float32),
        "SeedStreams words only (SplitMix64)": lambda: streams.words(2 * ((n + 1) // 2), device),
        "Philox4x32-10 words only (same bits)": lambda: philox_words(keys, (n + 1) // 2),
    }


def _unet_jobs(shape: tuple[int, ...], device: torch.device) -> dict[str, Callable[[], Any]]:
    """One forward of a DDPM-sized UNet at ``shape``: the step a draw of that shape feeds (CUDA and diffusers only).

    diffusers' ``UNet2DModel`` with google/ddpm-cifar10-32's blocks (35.7 M parameters, attention at the second
    level), randomly initialised, in float32 and under bfloat16 autocast; no gradients."""
    if device.type != "cuda":
        return {}
    try:
        from diffusers import UNet2DModel
    except ImportError:
        print("(diffusers not importable: no UNet rows)")
        return {}
    unet = UNet2DModel(
        sample_size=shape[-1],
        in_channels=shape[1],
        out_channels=shape[1],
        block_out_channels=(128, 256, 256, 256),
        layers_per_block=2,
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    ).to(device)
    x = torch.randn(shape, device=device)
    t = torch.full((shape[0],), 500, device=device)

    @torch.no_grad()
    def forward(autocast: bool) -> Any:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            return unet(x, t).sample

    return {
        "UNet2DModel forward, float32 (context)": lambda: forward(False),
        "UNet2DModel forward, bf16 autocast (context)": lambda: forward(True),
    }


def part_draw(args: argparse.Namespace, sync: Callable[[], None]) -> None:
    device = torch.device(args.device)
    check_philox()
    for shape in [(args.batch, args.dim), (256, 3, 64, 64)]:
        jobs = _draw_jobs(shape, device)
        if len(shape) == 4:
            jobs.update(_unet_jobs(shape, device))
        best = interleaved(jobs, args.repeats, sync)
        show(f"one draw of {shape} on {device}", best, "sdesolve randn, one generator")


def part_loop(args: argparse.Namespace, sync: Callable[[], None]) -> None:
    from sdesolve_lab.bench import MixtureProblem

    device = torch.device(args.device)
    batch, steps = args.loop_batch, args.loop_steps
    flushed = torch.set_flush_denormal(True)
    try:
        prob = MixtureProblem(batch, args.dim, steps, device, torch.float32)
        seeds = list(range(batch))

        def solve(**kw: Any) -> Any:
            return sdesolve.solve(prob.sde, prob.x_T, prob.times, "euler_maruyama", **kw)

        def budget_invariant() -> None:  # the score plus the draw sdesolve makes (53-bit uniforms, any dtype)
            gen = torch.Generator(device=device).manual_seed(0)
            scratch, out = DrawScratch(), torch.empty_like(prob.x_T)  # reused, as GaussianNoise does in the loop
            for t, x in prob.inputs:
                prob.score(t, x)
                randn(x.shape, gen, device, x.dtype, scratch=scratch, out=out)

        def budget_uniforms() -> None:  # the part of that draw no transform can avoid: one 64-bit word per number
            gen = torch.Generator(device=device).manual_seed(0)
            out = torch.empty(prob.x_T.shape, dtype=torch.float64, device=device)
            for t, x in prob.inputs:
                prob.score(t, x)
                torch.rand(x.shape, generator=gen, device=device, dtype=torch.float64, out=out)

        jobs = {
            "budget (score + randn only)": prob.budget,
            "score + float64 torch.rand (the uniforms alone)": budget_uniforms,
            "budget with sdesolve's dtype-invariant draw": budget_invariant,
            "euler_maruyama, one generator": lambda: solve(generator=torch.Generator(device=device).manual_seed(0)),
            "euler_maruyama, default generator": solve,
            "euler_maruyama, check_finite=False": lambda: solve(check_finite=False),
            "euler_maruyama, per-sample seeds": lambda: solve(generator=SeedStreams(seeds)),
            "euler_maruyama, NativeDraws (float32 randn)": lambda: solve(
                generator=NativeDraws(torch.Generator(device=device).manual_seed(0))
            ),
            "euler_maruyama, NativeDraws, check_finite=False": lambda: solve(
                generator=NativeDraws(torch.Generator(device=device).manual_seed(0)), check_finite=False
            ),
        }
        best = interleaved(jobs, args.repeats, sync)
    finally:
        if flushed:
            torch.set_flush_denormal(False)
    title = f"solve(..., 'euler_maruyama'), B={batch}, d={args.dim}, {steps} steps, float32 on {device}"
    show(title, best, "budget (score + randn only)", per=steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help="sample, draw and/or loop (default: all three)")
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--loop-batch", type=int, default=4096)
    parser.add_argument("--loop-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-lists", action="store_true", help="leave out the one-generator-per-sample row")
    parser.add_argument(
        "--steady-malloc",
        action="store_true",
        help=f"rerun under GLIBC_TUNABLES={STEADY_MALLOC} (no page faults from returned memory; glibc only)",
    )
    args = parser.parse_args()
    if args.steady_malloc and os.environ.get("GLIBC_TUNABLES") != STEADY_MALLOC:
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "GLIBC_TUNABLES": STEADY_MALLOC})
    sync = torch.cuda.synchronize if torch.device(args.device).type == "cuda" else (lambda: None)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS')}, cpu capability {torch.backends.cpu.get_cpu_capability()}, "
        f"load average {os.getloadavg()[0]:.1f}, GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES')}"
    )
    parts = {"sample": part_sample, "draw": part_draw, "loop": part_loop}
    unknown = sorted(set(args.parts) - set(parts))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(parts)}")
    for part in args.parts or list(parts):
        parts[part](args, sync)


if __name__ == "__main__":
    main()
