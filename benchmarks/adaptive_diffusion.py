"""Adaptive probability-flow sampling on the lab's ``gmm`` problem: NFE at matched error, sdesolve's adaptive solve
vs k-diffusion's ``sample_dpm_adaptive`` vs fixed grids, in one run.

The lab's ``gmm`` problem (4-component anisotropic Gaussian mixture in d = 16, exact ε, the DDPM linear table,
``t`` from ``T = 1000`` down to the first timestep ``t = 1``), 500 samples of ``x_T ~ N(0, I)`` (seed 0), float64.
Error: RMS over samples of ``|x(t_end) - x_ref|`` with ``x_ref`` the probability-flow ODE solved by torchdiffeq
dopri5 at ``rtol = atol = 1e-10`` from the same ``x_T`` (the error of the solver, not of the law). NFE: calls of
the model (``CountedCalls``), one per batched call. Methods:

* sdesolve adaptive, ``integrate(sde, x_T, (T, 1), pair, rtol=tol, atol=tol)`` on the process's probability flow
  (``process.sde(adapter, splitting, eta=0)``): ``bosh3`` on the score splitting, ``exponential_rk2`` on the data
  splitting (exponential Heun in x̂₀: the adaptive DPM-Solver-2 form), batch-shared steps, and the latter with
  ``PIController(per_sample=True)`` (each sample its own steps; NFE counts batched calls);
* the registered ``adaptive`` sampler, ``sdesolve.sample(model, x_T, "adaptive", steps=1, rtol=tol, atol=tol)``
  (its default ``bosh3``, and ``pair="exponential_rk2"`` on its default ``relative`` splitting; ``steps=1``: no
  forced stops between ``T`` and the last time);
* k-diffusion ``sample_dpm_adaptive`` (DPM-Solver-12/23 with its PID controller, ``order=2`` and ``3``,
  ``rtol = atol = tol``) in its σ-parametrisation (``x/α``; the result is scaled back);
* fixed EDM grids (``n = 4, 6, 8, 11, 16, …`` steps): ``exponential_rk2`` (``r = 1/2``) on the data splitting,
  ``heun`` on the score splitting.

Adaptive methods sweep ``tol = 10^{-1}, 10^{-1.5}, …, 10^{-4.5}``. For each target error, the fewest NFE among the runs
whose error is within it (``—``: none of the sweep).

    OMP_NUM_THREADS=1 python benchmarks/adaptive_diffusion.py [--targets 1e-1,1e-2,1e-3] [--n 500]
"""

from __future__ import annotations

import argparse
import time

import torch
import torchdiffeq
from sdesolve_lab.peers import load_kdiffusion_sampling
from sdesolve_lab.problem import make_problem

import sdesolve
from sdesolve import PIController, integrate, solve

F64 = torch.float64
TOLS = [10 ** (-k / 2) for k in range(2, 10)]
STEPS = sorted({max(4, round(2 ** (k / 2))) for k in range(4, 17)})


def _rms(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float(((x - ref) ** 2).sum(-1).mean().sqrt())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", default="1e-1,3e-2,1e-2,3e-3,1e-3")
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    targets = [float(v) for v in args.targets.split(",")]
    start = time.perf_counter()
    pb = make_problem("gmm")
    proc = pb.process
    t_max, t_end = float(pb.t_max), float(pb.t_end)
    x_T = pb.prior(args.n, seed=0)

    def flow(splitting: str):
        model = pb.model()
        return model, proc.sde(pb.adapter(model), splitting, eta=0.0)

    _, ref_sde = flow("score")

    def rhs(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return ref_sde.drift(t.to(F64).expand(x.shape[0]), x)

    span = torch.tensor([t_max, t_end], dtype=F64)
    ref = torchdiffeq.odeint(rhs, x_T, span, rtol=1e-10, atol=1e-10, options={"jump_t": span[1:]})[-1]

    runs: dict[str, list[tuple[int, float]]] = {}
    for label, pair, splitting, per_sample in (
        ("sdesolve bosh3 (adaptive, score)", "bosh3", "score", False),
        ("sdesolve exponential_rk2 (adaptive, data)", "exponential_rk2", "data", False),
        ("sdesolve exponential_rk2 (adaptive, data, per sample)", "exponential_rk2", "data", True),
    ):
        out = runs[label] = []
        for tol in TOLS:
            model, sde = flow(splitting)
            ctl = PIController(rtol=tol, atol=tol, per_sample=per_sample)
            r = integrate(sde, x_T, (t_max, t_end), pair, controller=ctl, max_steps=10**5)
            out.append((model.nfe, _rms(r.x, ref)))
    for label, options in (
        ("sdesolve.sample 'adaptive' (bosh3)", {}),
        ("sdesolve.sample 'adaptive', pair='exponential_rk2' (relative)", {"pair": "exponential_rk2"}),
    ):
        out = runs[label] = []
        for tol in TOLS:
            model = pb.model()
            x = sdesolve.sample(
                model,
                x_T,
                "adaptive",
                steps=1,
                process=proc,
                grid_options={"t_min": t_end},
                rtol=tol,
                atol=tol,
                max_steps=10**5,
                **options,
            )
            out.append((model.nfe, _rms(x, ref)))
    kd = load_kdiffusion_sampling()
    sigma_max, sigma_min = (float(proc.edm_sigma(torch.tensor(t, dtype=F64))) for t in (t_max, t_end))
    alpha_max, alpha_end = (float(proc.alpha(torch.tensor(t, dtype=F64))) for t in (t_max, t_end))
    if kd is not None:
        for order in (2, 3):
            out = runs[f"k-diffusion dpm_adaptive order {order}"] = []
            for tol in TOLS:
                model = pb.model()
                ad = pb.adapter(model)

                def denoiser(y: torch.Tensor, sigma: torch.Tensor, _ad=ad) -> torch.Tensor:
                    t = proc.t_from_edm_sigma(sigma.to(F64)).expand(y.shape[0])
                    return _ad.data(t, proc.alpha(t).to(y.dtype)[:, None] * y)

                y = kd.sample_dpm_adaptive(
                    denoiser, x_T / alpha_max, sigma_min, sigma_max, order=order, rtol=tol, atol=tol, disable=True
                )
                out.append((model.nfe, _rms(y * alpha_end, ref)))
    grid = sdesolve.registry().get("grid", "edm")
    for label, stepper, splitting, options in (
        ("sdesolve exponential_rk2 (fixed EDM grid, data)", "exponential_rk2", "data", {}),
        ("sdesolve heun (fixed EDM grid, score)", "heun", "score", {}),
    ):
        out = runs[label] = []
        for n in STEPS:
            model, sde = flow(splitting)
            x = solve(sde, x_T, grid(proc, n, t_min=t_end), stepper, **options)
            out.append((model.nfe, _rms(x, ref)))
    print(f"{pb.description}; {args.n} samples; fewest NFE with flow error <= target")
    print("| method | " + " | ".join(f"≤ {t:g}" for t in targets) + " |")
    print("|---|" + "---|" * len(targets))
    for label, out in runs.items():
        cells = [min((nfe for nfe, err in out if err <= t), default=None) for t in targets]
        print(f"| {label} | " + " | ".join("—" if c is None else str(c) for c in cells) + " |")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
