"""``sdesolve compare``: accuracy per score evaluation of every sampler (and the peers) on an exact-score target."""

from __future__ import annotations

import csv
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
from sdesolve_lab.metrics import strong_error
from sdesolve_lab.problem import DEFAULTS, LabProblem, make_problem

__all__ = [
    "TIE_RATIO",
    "CompareConfig",
    "Row",
    "compare",
    "format_summary",
    "format_table",
    "plot",
    "summarize",
    "verdict",
    "write_summary_csv",
]

TIE_RATIO = 1.2  # best-of-ours and best-peer errors within this factor (either way) are a tie
REFERENCE_LIBRARIES = ("torchsde", "torchdiffeq")  # the peers `sdesolve compare` shows by default
FLOOR_FACTOR = 1.5  # an error within this factor of the floor is at the floor (indistinguishable from noise)

DEFAULT_NFE = (10, 20, 40, 80)  # the main job stays a few minutes on 2 cores; --nfe for a longer study
QUICK_NFE = (10, 20, 50)
QUICK_SAMPLERS = ["euler_maruyama_sde", "exponential_euler_sde", "ddram", "ddim", "dpm_solver_pp_2m", "edm_heun"]


@dataclass
class CompareConfig:
    target: str = "gmm"
    dim: int | None = None  # default: the problem's (sdesolve_lab.problem.DEFAULTS)
    samplers: list[str] | None = None
    nfe: tuple[int, ...] = DEFAULT_NFE
    n: int | None = None  # default: the problem's
    paths: int = 256
    peers: bool = False
    peer_names: list[str] | None = None  # only these peers (names as in the table, e.g. k-diffusion:dpmpp_3m_sde)
    references: bool = False  # the torchsde and torchdiffeq rows (the CLI turns them on by default)
    device: str = "cpu"
    dtype: str = "float64"
    seed: int = 0
    quick: bool = False

    @classmethod
    def quick_defaults(cls, **overrides: Any) -> CompareConfig:
        base: dict[str, Any] = dict(samplers=QUICK_SAMPLERS, nfe=QUICK_NFE, n=2000, paths=64, quick=True)
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


# srk steps of the SDE reference: SDE_REFERENCE_STEPS_PER_NFE per unit of the largest budget, at least the minimum
SDE_REFERENCE_STEPS_PER_NFE = 10
SDE_REFERENCE_MIN_STEPS = 1000


def _references(
    pb: LabProblem, cfg: CompareConfig, x_T: torch.Tensor, bm: Any
) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """``(ode_x0, sde_x0, flow_floor, sde_floor)`` from ``x_T``, each finished with the denoiser.

    Flow: torchdiffeq dopri5 at the problem's ``reference_rtol`` (1e-9 for exact scores), restarted at every
    timestep (log ᾱ has kinks there). ``flow_floor``, its accuracy bound: the RMS distance to torchdiffeq's rk4 (the
    3/8 rule) with one step per timestep, evaluated on the inner side of each kink (a dopri5 solve at a looser
    tolerance takes the same one step per timestep, so it measured nothing: ~1e-14).

    Reverse SDE: torchsde srk (strong order 1.5 for this additive noise) on the shared BrownianInterval ``bm``
    with ``max(1000, 10 × the largest budget)`` steps, at least 10 times finer than any method (on the default gmm
    problem, 1000 steps are within 0.008 RMS of 8000, while the path-driven SDE samplers' strong errors are 0.4 and
    more at 80 NFE); ``sde_floor``, its accuracy estimate: the RMS distance to srk with half the steps on the same
    path.
    """
    model = pb.model()
    ad = pb.adapter(model)
    span = [pb.t_max, pb.t_end]
    end = torch.full((x_T.shape[0],), pb.t_end, dtype=F64)
    # log ᾱ has kinks at whole timesteps; the last jump at t_end keeps dopri5 from stepping past the end
    jumps = torch.arange(int(pb.t_end), int(pb.t_max), dtype=F64)
    rtol = pb.reference_rtol
    flow = pb.process.sde(ad, "score", eta=0.0)
    ode = odeint_reference(flow, x_T, span, rtol=rtol, atol=rtol / 100, options={"jump_t": jumps})
    inner = jumps[(jumps > pb.t_end) & (jumps < pb.t_max)].flip(0)
    grid = torch.cat([torch.tensor([pb.t_max], dtype=F64), inner, torch.tensor([pb.t_end], dtype=F64)])
    rk4 = odeint_reference(flow, x_T, grid, method="rk4", options={"perturb": True})
    steps = max(SDE_REFERENCE_MIN_STEPS, SDE_REFERENCE_STEPS_PER_NFE * max(cfg.nfe))
    reverse, length = pb.process.sde(ad, "score", eta=1.0), pb.t_max - pb.t_end
    sde, half = (sdeint_reference(reverse, x_T, span, bm, method="srk", dt=length / k) for k in (steps, steps // 2))
    ode_x0, sde_x0 = ad.data(end, ode), ad.data(end, sde)
    return ode_x0, sde_x0, strong_error(ad.data(end, rk4), ode_x0), strong_error(ad.data(end, half), sde_x0)


def select_peers(cfg: CompareConfig) -> list[Method]:
    """The peers a run compares against: ``peer_names`` if given, else every installed peer with ``peers``, else
    the references (torchsde and torchdiffeq, ``REFERENCE_LIBRARIES``) with ``references``, else none."""
    if not (cfg.peers or cfg.peer_names or cfg.references):
        return []
    if cfg.peer_names is None and not cfg.peers:
        return peer_methods(REFERENCE_LIBRARIES)
    peers = peer_methods()
    if cfg.peer_names is not None:
        known = {m.name for m in peers}
        unknown = [p for p in cfg.peer_names if p not in known]
        if unknown:
            installed = ", ".join(sorted(known))
            raise ValueError(f"--peer-names: unknown peer(s) {', '.join(unknown)}; installed: {installed}")
        return [m for m in peers if m.name in cfg.peer_names]
    return peers


def compare(cfg: CompareConfig, progress: bool = True) -> dict[str, Any]:
    """Run the comparison; returns the JSON-ready result (rows, floor, configuration, machine)."""
    dtype = DTYPES[cfg.dtype]
    if cfg.target not in DEFAULTS:
        raise ValueError(f"--problem must be one of {tuple(DEFAULTS)}, got {cfg.target!r}")
    if cfg.dim is None:
        cfg.dim = DEFAULTS[cfg.target]["dim"]
    if cfg.n is None:
        cfg.n = DEFAULTS[cfg.target]["n"]
    pb = make_problem(cfg.target, cfg.dim, seed=cfg.seed)
    metric = pb.metric(cfg.n, cfg.seed)
    methods: list[Method] = our_methods(cfg.samplers) + select_peers(cfg)
    x_T = pb.prior(cfg.n, cfg.seed, dtype, cfg.device)
    x_paths = pb.prior(cfg.paths, cfg.seed + 1)
    # one Brownian path for the SDE reference and every path-driven method; the reference is solved after the
    # methods: a coarse query on a path already split at the reference's thousands of steps sums all those pieces
    bm = brownian_interval([pb.t_max, pb.t_end], tuple(x_paths.shape), seed=cfg.seed + 7, dtype=x_paths.dtype)
    rows: list[Row] = []
    paths: dict[int, tuple[torch.Tensor, bool]] = {}  # row index -> (path-method output, against the SDE reference)
    bar = tqdm(total=len(methods) * len(cfg.nfe) + 1, desc="compare", disable=not progress)
    for method in methods:
        for budget in cfg.nfe:
            bar.set_postfix_str(f"{method.name} @ {budget} NFE")
            try:
                start = time.perf_counter()
                x, nfe = method.run(pb, x_T, budget, cfg.seed + budget)
                seconds = time.perf_counter() - start
                err = metric(x)
                if not method.stochastic:
                    paths[len(rows)] = (method.run(pb, x_paths, budget, cfg.seed + budget)[0], False)
                elif method.path:
                    paths[len(rows)] = (method.run(pb, x_paths, budget, cfg.seed + budget, bm=bm)[0], True)
                within = err <= FLOOR_FACTOR * metric.floor
                rows.append(
                    Row(
                        method.name,
                        method.library,
                        method.stochastic,
                        budget,
                        nfe,
                        err,
                        within,
                        None,
                        seconds,
                        cfg.n / seconds,
                    )
                )
            except Exception as exc:  # a peer failing on this problem is a result, not a crash
                paths.pop(len(rows), None)
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
    bar.set_postfix_str("references (torchdiffeq dopri5, torchsde srk)")
    ode_ref, sde_ref, flow_floor, sde_floor = _references(pb, cfg, x_paths, bm)
    for i, (out, stochastic) in paths.items():
        rows[i].strong_error = strong_error(out, sde_ref if stochastic else ode_ref)
    bar.update(1)
    bar.close()
    row_dicts = [asdict(r) for r in rows]
    return {
        "problem": {
            "name": cfg.target,
            "target": cfg.target,
            "dim": cfg.dim,
            "description": pb.description,
            "n": cfg.n,
            "paths_for_strong_error": cfg.paths,
        },
        "metric": metric.name,
        "floor": metric.floor,
        "floor_draws": getattr(metric, "floor_draws", None),
        "flow_floor": flow_floor,
        "sde_reference_floor": sde_floor,
        "config": asdict(cfg) | {"nfe": list(cfg.nfe)},
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "device": cfg.device,
            "sdesolve": sdesolve.__version__,
        },
        "rows": row_dicts,
        "summary": summarize(row_dicts, metric.floor, flow_floor),
    }


# --- who wins per NFE --------------------------------------------------------------------------------------------
def verdict(ours: float, peer: float, floor: float) -> tuple[float | None, str]:
    """``(ratio, verdict)`` for the best-of-ours error ``ours`` and the best-peer error ``peer``: ``ratio = peer /
    ours`` (above 1: ours ahead). A tie when both are at the floor (``≤ 1.5 × floor``) or the two are within
    ``TIE_RATIO`` of each other; otherwise who is ahead and by how much, noting a side at the floor (its error is
    then noise, so the ratio only bounds the gap)."""
    if not (math.isfinite(ours) and math.isfinite(peer)):
        raise ValueError(f"errors must be finite, got ours={ours}, peer={peer}")
    ours_floor = floor > 0 and ours <= FLOOR_FACTOR * floor
    peer_floor = floor > 0 and peer <= FLOOR_FACTOR * floor
    if ours_floor and peer_floor:
        return (peer / ours if ours > 0 else None), "tie (both at the floor)"
    if ours == 0.0 or peer == 0.0:
        ratio = None if ours == peer else (math.inf if ours == 0.0 else 0.0)
    else:
        ratio = peer / ours
    if ratio is None or (ratio is not None and 1 / TIE_RATIO < ratio < TIE_RATIO):
        return ratio, f"tie (within {TIE_RATIO:g}x)"
    ahead = "ours" if ratio >= TIE_RATIO else "peer"
    factor = ratio if ahead == "ours" else (1 / ratio if ratio > 0 else math.inf)
    text = f"{ahead} ahead {factor:.3g}x" if math.isfinite(factor) else f"{ahead} ahead"
    if ours_floor or peer_floor:
        text += f" ({'ours' if ours_floor else 'peer'} at the floor: at least this)"
    return ratio, text


SECTIONS = {
    "stochastic": ("SDE samplers", "error", True),
    "deterministic": ("ODE samplers, distance to the exact flow from the same start", "strong_error", False),
    "deterministic_distribution": ("ODE samplers, distribution error", "error", False),
}


def summarize(rows: list[dict[str, Any]], floor: float, flow_floor: float) -> dict[str, list[dict[str, Any]]]:
    """Per section (``SECTIONS``) and budget: the best of ours (``library == "sdesolve"``) and the best peer among
    the rows that spent at most the budget, and :func:`verdict`. Failed rows and rows without the section's error
    are left out; ``excluded_over_budget`` names the rows that spent more than their budget."""
    out: dict[str, list[dict[str, Any]]] = {}
    budgets = sorted({r["budget"] for r in rows})
    for section, (_, key, stochastic) in SECTIONS.items():
        sec_floor = floor if key == "error" else flow_floor
        entries = []
        for b in budgets:
            cands = [
                r
                for r in rows
                if r["budget"] == b
                and r["stochastic"] == stochastic
                and not r.get("failure")
                and r.get(key) is not None
                and math.isfinite(r[key])
            ]
            ok = [r for r in cands if r["nfe"] <= b]
            best: dict[str, dict[str, Any] | None] = {}
            for side in ("ours", "peer"):
                pool = [r for r in ok if (r["library"] == "sdesolve") == (side == "ours")]
                best[side] = min(pool, key=lambda r: r[key]) if pool else None
            entry: dict[str, Any] = {"budget": b, "floor": sec_floor}
            for side in ("ours", "peer"):
                r = best[side]
                entry[side] = None if r is None else {"method": r["method"], "error": r[key], "nfe": r["nfe"]}
            if best["ours"] is None or best["peer"] is None:
                entry["ratio"] = None
                entry["verdict"] = "no peer" if best["ours"] is not None else "no sdesolve method"
            else:
                entry["ratio"], entry["verdict"] = verdict(best["ours"][key], best["peer"][key], sec_floor)
            entry["excluded_over_budget"] = sorted(r["method"] for r in cands if r["nfe"] > b)
            entries.append(entry)
        out[section] = entries
    return out


def format_summary(result: dict[str, Any]) -> str:
    """The per-NFE verdict tables (ratio = best peer error / best ours error: above 1, ours ahead)."""
    lines = [
        f"who wins per NFE (ratio = best peer error / best ours error, > 1: ours ahead; a tie within {TIE_RATIO:g}x "
        f"or when both are at the floor, error <= {FLOOR_FACTOR:g} x floor; rows that spent more than the budget "
        "are left out; '-': no method on that side, run with --peers for the peers)"
    ]
    for section, entries in result["summary"].items():
        title, key, _ = SECTIONS[section]
        floor = entries[0]["floor"] if entries else float("nan")
        what = result["metric"] if key == "error" else "RMS distance to the exact flow"
        lines.append(f"\n{title} ({what}; floor {floor:.3g})")
        body = []
        for e in entries:
            cells = [str(e["budget"])]
            for side in ("ours", "peer"):
                b = e[side]
                cells += ["-", "-"] if b is None else [b["method"], f"{b['error']:.3g}"]
            cells += ["-" if e["ratio"] is None else f"{e['ratio']:.3g}", e["verdict"]]
            body.append(cells)
        lines.append(table(body, ["NFE", "best sdesolve", "error", "best peer", "error", "peer/ours", "verdict"]))
    return "\n".join(lines)


CSV_COLUMNS = (
    "section",
    "nfe_budget",
    "floor",
    "ours_method",
    "ours_error",
    "ours_nfe",
    "peer_method",
    "peer_error",
    "peer_nfe",
    "ratio_peer_over_ours",
    "verdict",
)


def write_summary_csv(result: dict[str, Any], path: Path) -> None:
    """The summary as CSV: one line per section and budget."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for section, entries in result["summary"].items():
            for e in entries:
                o, p = e["ours"] or {}, e["peer"] or {}
                ours = (o.get("method"), o.get("error"), o.get("nfe"))
                peer = (p.get("method"), p.get("error"), p.get("nfe"))
                w.writerow((section, e["budget"], e["floor"], *ours, *peer, e["ratio"], e["verdict"]))


def table_legend(result: dict[str, Any]) -> list[str]:
    """What the table's columns and marks mean, printed under it (a reader need not open the docs)."""
    floor = result["floor"]
    return [
        "budget: the NFE the method was allowed. NFE: network evaluations per sample it actually made. A sampler",
        "  that spends k evaluations per step gets floor((budget - 1) / k) steps plus 1 evaluation for the final",
        "  denoise, so 2-evaluation samplers (ddram, ddram_ode, dpm_solver_2, edm_heun) show 9/19/49 at budgets",
        "  10/20/50 (4 steps x 2 + 1, 9 x 2 + 1, 24 x 2 + 1). Peers count their own way (torchdiffeq:rk4, 4 per",
        "  step: 9/17/49; torchdiffeq:dopri5 is adaptive, the budget sets its tolerance); rows whose NFE exceeds",
        "  the budget are left out of the who-wins tables.",
        f"error: {result['metric']} between the samples and the exact target, lower is better.",
        f"  '≤ floor (x)': within {FLOOR_FACTOR:g}x of the noise floor {floor:.3g} (the same statistic for exact",
        "  samples): as good as exact samples at this sample size.",
        "strong: RMS distance per path to the reference solution from the same start (and the same Brownian path for",
        "  SDE samplers), lower is better; '-': not computed (an SDE sampler that draws its own noise, so no",
        "  pathwise reference exists).",
        "Speed is not measured here (one run per cell is too noisy): see `sdesolve bench`; each run's seconds are",
        "  in results.json.",
    ]


def format_table(result: dict[str, Any]) -> str:
    """The accuracy table (one row per method and budget), its legend, and the who-wins tables."""
    floor = result["floor"]
    draws = result.get("floor_draws")
    each = "" if not draws else f" (draws: {', '.join(f'{d:.3g}' for d in draws)})"
    flow, sde = result.get("flow_floor"), result.get("sde_reference_floor")
    accuracy = "" if flow is None or sde is None else f"; reference accuracy: flow {flow:.2g}, SDE {sde:.2g}"
    lines = [
        f"{result['problem']['description']}; {result['problem']['n']} samples per run",
        f"distribution error: {result['metric']}; noise floor (exact samples): {floor:.4g}{each}",
        "strong error: RMS distance to torchdiffeq dopri5 (deterministic) or torchsde srk on the same Brownian paths "
        f"(stochastic, path-driven methods), {result['problem']['paths_for_strong_error']} paths{accuracy}",
        "",
    ]
    header = ["method", "kind", "budget", "NFE", "error", "strong"]
    body = []
    for r in result["rows"]:
        kind = "SDE" if r["stochastic"] else "ODE"
        if r.get("failure"):
            body.append([r["method"], kind, str(r["budget"]), "-", f"failed: {r['failure'][:60]}", "-"])
            continue
        err = f"≤ floor ({r['error']:.3g})" if r["within_floor"] else f"{r['error']:.3g}"
        strong = "-" if r["strong_error"] is None else f"{r['strong_error']:.2e}"
        body.append([r["method"], kind, str(r["budget"]), str(r["nfe"]), err, strong])
    lines.append(table(body, header))
    lines += ["", *table_legend(result)]
    if result.get("summary"):
        lines += ["", format_summary(result)]
    return "\n".join(lines)


def plot_label(method: str) -> str:
    """The legend label of a method: sdesolve's without the ``sdesolve:`` prefix (the legend groups them), a peer's
    with its library."""
    return method.removeprefix("sdesolve:")


OURS_COLOURS = ("tab10", "Dark2", "Set1", "tab20b")
PEER_COLOURS = ("Set1", "Dark2", "tab20b", "tab20c")


def line_styles(ours: list[str], peers: list[str]) -> dict[str, tuple[tuple[float, ...], str]]:
    """``{method: (colour, line style)}``: sdesolve's solid, the peers dashed, colours from qualitative colormaps
    (``OURS_COLOURS`` / ``PEER_COLOURS``, chained) so that no two methods of a group share a colour up to 30 of
    them; the line style tells the groups apart."""
    import matplotlib.pyplot as plt

    def colours(n: int, cmap_names: tuple[str, ...]) -> list:
        pool: list = []
        for name in cmap_names:
            pool += [c for c in plt.get_cmap(name).colors if c not in pool]
        return [tuple(pool[i % len(pool)]) for i in range(n)]

    style = {m: (c, "-") for m, c in zip(ours, colours(len(ours), OURS_COLOURS), strict=True)}
    style |= {m: (c, "--") for m, c in zip(peers, colours(len(peers), PEER_COLOURS), strict=True)}
    return style


def plot(result: dict[str, Any], path: Path) -> None:
    """Error versus NFE, log-log, one line per method: sdesolve's solid, the peers' dashed, each with its own
    colour within its group; circles for SDE samplers, squares for ODE samplers; the noise floor dashed black. A
    second panel shows the strong error when any row has one. The legend (right) groups ours and the peers."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    by_method: dict[str, list[dict[str, Any]]] = {}
    for r in result["rows"]:
        if not r.get("failure"):
            by_method.setdefault(r["method"], []).append(r)
    ours = [m for m in by_method if by_method[m][0]["library"] == "sdesolve"]
    peers = [m for m in by_method if m not in ours]
    has_strong = any(r.get("strong_error") is not None for rs in by_method.values() for r in rs)
    ncols = 2 if has_strong else 1
    entries = len(ours) + len(peers) + 9  # the lines, the group headers and the marker block of the legend
    legend_cols = 1 if entries <= 26 else 2  # one column holds about 26 entries at this height
    legend_width = 2.9 if legend_cols == 1 else 4.9
    height = max(5.6, 0.2 * math.ceil(entries / legend_cols) + 0.6)
    fig, axes = plt.subplots(1, ncols, figsize=(6.2 * ncols + legend_width, height), dpi=110, squeeze=False)
    panels = [(axes[0, 0], "error")] + ([(axes[0, 1], "strong_error")] if has_strong else [])

    style = line_styles(ours, peers)
    budgets = sorted({r["budget"] for r in result["rows"]})
    for ax, key in panels:
        for name in ours + peers:
            rs = sorted((r for r in by_method[name] if r.get(key) is not None), key=lambda r: r["nfe"])
            if not rs:
                continue
            colour, ls = style[name]
            marker = "o" if rs[0]["stochastic"] else "s"
            ax.plot(
                [r["nfe"] for r in rs],
                [max(r[key], 1e-12) for r in rs],
                ls=ls,
                color=colour,
                marker=marker,
                ms=5,
                lw=1.4,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(budgets)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("network evaluations per sample, NFE (log scale)")
        ax.grid(True, which="both", alpha=0.3)
    ax0 = axes[0, 0]
    ax0.axhline(result["floor"], color="k", ls=(0, (4, 3)), lw=1)
    ax0.set_ylabel(f"distribution error to the exact target (log scale)\n{result['metric']}; lower is better")
    ax0.set_title("How far the samples' distribution is from the target", fontsize=10)
    if has_strong:
        ax1 = axes[0, 1]
        ax1.set_ylabel("strong error (log scale): RMS distance per path to the\nreference solution; lower is better")
        ax1.set_title(
            "How far each path ends from the reference path\n(ODE: exact flow from the same start; SDE: same noise)",
            fontsize=10,
        )

    def header(text: str) -> Line2D:
        return Line2D([], [], ls="none", label=text)

    handles = [header("sdesolve (solid lines)")]
    handles += [Line2D([], [], color=style[m][0], ls="-", lw=1.4, label=plot_label(m)) for m in ours]
    if peers:
        handles += [header(""), header("peers (dashed lines)")]
        handles += [Line2D([], [], color=style[m][0], ls="--", lw=1.4, label=plot_label(m)) for m in peers]
    handles += [
        header(""),
        header("markers"),
        Line2D([], [], color="0.3", ls="none", marker="o", ms=6, label="circle: SDE sampler (stochastic)"),
        Line2D([], [], color="0.3", ls="none", marker="s", ms=6, label="square: ODE sampler (deterministic)"),
        Line2D([], [], color="k", ls=(0, (4, 3)), lw=1, label="noise floor: exact samples' error"),
    ]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False, handlelength=2.5, ncol=legend_cols)
    fig.suptitle(f"{result['problem']['description']}; {result['problem']['n']} samples per run", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1 - (legend_width - 0.1) / (6.2 * ncols + legend_width), 1))
    fig.savefig(path)
    plt.close(fig)
