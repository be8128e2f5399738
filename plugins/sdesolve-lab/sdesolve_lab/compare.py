"""``sdesolve compare``: accuracy per score evaluation of every sampler (and the peers) on an exact-score target."""

from __future__ import annotations

import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

import sdesolve
from sdesolve.dtypes import DTYPES, F64
from sdesolve.reference import brownian_interval, odeint_reference, sdeint_reference
from sdesolve.report import table
from sdesolve_lab.methods import Method, our_methods, peer_methods
from sdesolve_lab.metrics import GaussianW2, SlicedW1, strong_error
from sdesolve_lab.problem import LabProblem, make_problem

__all__ = ["CompareConfig", "Row", "compare", "format_table", "plot"]

DEFAULT_NFE = (10, 20, 50, 100, 200)
QUICK_NFE = (10, 20, 50)
QUICK_SAMPLERS = ["euler_maruyama_sde", "exponential_euler_sde", "ddram", "ddim", "dpm_solver_pp_2m", "edm_heun"]


@dataclass
class CompareConfig:
    target: str = "gmm"
    dim: int = 16
    samplers: list[str] | None = None
    nfe: tuple[int, ...] = DEFAULT_NFE
    n: int = 10_000
    paths: int = 256
    peers: bool = False
    device: str = "cpu"
    dtype: str = "float64"
    seed: int = 0
    quick: bool = False

    @classmethod
    def quick_defaults(cls, **overrides: Any) -> CompareConfig:
        base = dict(samplers=QUICK_SAMPLERS, nfe=QUICK_NFE, n=2000, paths=64, quick=True)
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**base)


@dataclass
class Row:
    method: str
    library: str
    stochastic: bool
    budget: int
    nfe: int
    error: float
    within_floor: bool
    strong_error: float | None
    seconds: float
    samples_per_second: float
    failure: str | None = None


def _references(pb: LabProblem, cfg: CompareConfig, x_T: torch.Tensor) -> tuple[torch.Tensor, Any, torch.Tensor]:
    """Probability-flow ODE (torchdiffeq dopri5, rtol 1e-9, restarted at every timestep) and reverse SDE (torchsde
    srk, 4000 steps, on a shared BrownianInterval) solutions from the same ``x_T``, finished with the exact denoiser."""
    model = pb.model()
    ad = pb.adapter(model)
    span = [pb.t_max, pb.t_end]
    end = torch.full((x_T.shape[0],), pb.t_end, dtype=F64)
    # log ᾱ has kinks at whole timesteps; the last jump at t_end keeps dopri5 from stepping past the end
    jumps = torch.arange(int(pb.t_end), int(pb.t_max), dtype=F64)
    ode = odeint_reference(
        pb.process.sde(ad, "score", eta=0.0), x_T, span, rtol=1e-9, atol=1e-11, options={"jump_t": jumps}
    )
    bm = brownian_interval(span, tuple(x_T.shape), seed=cfg.seed + 7, dtype=x_T.dtype)
    steps = 1000 if cfg.quick else 4000
    sde = sdeint_reference(
        pb.process.sde(ad, "score", eta=1.0), x_T, span, bm, method="srk", dt=(pb.t_max - pb.t_end) / steps
    )
    return ad.data(end, ode), bm, ad.data(end, sde)


def compare(cfg: CompareConfig, progress: bool = True) -> dict[str, Any]:
    """Run the comparison; returns the JSON-ready result (rows, floor, configuration, machine)."""
    dtype = DTYPES[cfg.dtype]
    pb = make_problem(cfg.target, cfg.dim, seed=cfg.seed)
    metric = (GaussianW2 if cfg.target == "gaussian" else SlicedW1)(pb.target, cfg.n, seed=cfg.seed)
    methods: list[Method] = our_methods(cfg.samplers) + (peer_methods() if cfg.peers else [])
    x_T = pb.prior(cfg.n, cfg.seed, dtype, cfg.device)
    x_paths = pb.prior(cfg.paths, cfg.seed + 1)
    ode_ref, bm, sde_ref = _references(pb, cfg, x_paths)
    rows: list[Row] = []
    bar = tqdm(total=len(methods) * len(cfg.nfe), desc="compare", disable=not progress)
    for method in methods:
        for budget in cfg.nfe:
            bar.set_postfix_str(f"{method.name} @ {budget} NFE")
            try:
                start = time.perf_counter()
                x, nfe = method.run(pb, x_T, budget, cfg.seed + budget)
                seconds = time.perf_counter() - start
                err = metric(x)
                strong = None
                if not method.stochastic:
                    out, _ = method.run(pb, x_paths, budget, cfg.seed + budget)
                    strong = strong_error(out, ode_ref)
                elif method.path:
                    out, _ = method.run(pb, x_paths, budget, cfg.seed + budget, bm=bm)
                    strong = strong_error(out, sde_ref)
                rows.append(
                    Row(
                        method.name,
                        method.library,
                        method.stochastic,
                        budget,
                        nfe,
                        err,
                        err <= 1.5 * metric.floor,
                        strong,
                        seconds,
                        cfg.n / seconds,
                    )
                )
            except Exception as exc:  # a peer failing on this problem is a result, not a crash
                rows.append(
                    Row(
                        method.name,
                        method.library,
                        method.stochastic,
                        budget,
                        0,
                        math.nan,
                        False,
                        None,
                        math.nan,
                        math.nan,
                        failure=f"{type(exc).__name__}: {exc}"[:200],
                    )
                )
            bar.update(1)
    bar.close()
    return {
        "problem": {
            "target": cfg.target,
            "dim": cfg.dim,
            "description": pb.description,
            "n": cfg.n,
            "paths_for_strong_error": cfg.paths,
        },
        "metric": metric.name,
        "floor": metric.floor,
        "config": asdict(cfg) | {"nfe": list(cfg.nfe)},
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device": cfg.device,
            "sdesolve": sdesolve.__version__,
        },
        "rows": [asdict(r) for r in rows],
    }


def format_table(result: dict[str, Any]) -> str:
    floor = result["floor"]
    lines = [
        f"{result['problem']['description']}; {result['problem']['n']} samples per run",
        f"distribution error: {result['metric']}; noise floor (exact samples): {floor:.4f}",
        "strong error: RMS distance to torchdiffeq dopri5 (deterministic) or torchsde srk on the same Brownian paths "
        f"(stochastic, path-driven methods), {result['problem']['paths_for_strong_error']} paths",
        "",
    ]
    header = ["method", "kind", "NFE", "error", "strong", "seconds", "samples/s"]
    body = []
    for r in result["rows"]:
        if r.get("failure"):
            body.append(
                [r["method"], "SDE" if r["stochastic"] else "ODE", "-", f"failed: {r['failure'][:60]}", "-", "-", "-"]
            )
            continue
        err = f"≤ floor ({r['error']:.4f})" if r["within_floor"] else f"{r['error']:.4f}"
        strong = "-" if r["strong_error"] is None else f"{r['strong_error']:.2e}"
        body.append(
            [
                r["method"],
                "SDE" if r["stochastic"] else "ODE",
                str(r["nfe"]),
                err,
                strong,
                f"{r['seconds']:.2f}",
                f"{r['samples_per_second']:.0f}",
            ]
        )
    lines.append(table(body, header))
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    """Error versus NFE, log-log, one line per method, the noise floor dashed."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in result["rows"]:
        if not r.get("failure"):
            by_method.setdefault(r["method"], []).append(r)
    for name, rs in by_method.items():
        rs = sorted(rs, key=lambda r: r["nfe"])
        style = "-" if name.startswith("sdesolve:") else ":"
        marker = "o" if any(r["stochastic"] for r in rs) else "s"
        ax.plot([r["nfe"] for r in rs], [max(r["error"], 1e-12) for r in rs], style, marker=marker, ms=4, label=name)
    ax.axhline(result["floor"], color="k", ls="--", lw=1, label="noise floor (exact samples)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    budgets = sorted({r["budget"] for r in result["rows"]})
    ax.set_xticks(budgets)
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("network evaluations (NFE)")
    ax.set_ylabel(result["metric"])
    ax.set_title(result["problem"]["description"], fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
