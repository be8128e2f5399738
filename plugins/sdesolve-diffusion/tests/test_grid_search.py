"""Optimised time grids (``sdesolve_diffusion.grid_search``): the grid's form, the proxy never rising, the true error
falling on a closed-form Gaussian flow, determinism, bad inputs, and the JSON file read by ``sample`` and
``sdesolve sample --grid``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from sdesolve_diffusion import GaussianMixture, GridObjective, load_grid, optimize_grid, save_grid
from sdesolve_diffusion.generate import load_samples

import sdesolve
from sdesolve.cli import main

F64 = torch.float64
MEAN = torch.tensor([0.5, -1.0], dtype=F64)
VAR = torch.tensor([0.3, 1.2], dtype=F64) ** 2


@pytest.fixture(scope="module")
def vp():
    return sdesolve.registry().get("process", "vp")


@pytest.fixture(scope="module")
def model(vp):
    return GaussianMixture.gaussian(MEAN, torch.diag(VAR)).model(vp, "eps")


def exact_flow(process, x_T: torch.Tensor, t_max: float, t_min: float) -> torch.Tensor:
    """The probability-flow map of ``N(MEAN, diag VAR)`` from ``t_max`` to ``t_min``: per coordinate
    ``x_t = α_t μ + s_t / s_T (x_T − α_T μ)`` with ``s_t² = α_t² c + σ_t²``."""
    a0, s0, a1, s1 = (
        float(f(torch.tensor(t, dtype=F64))) for t in (t_max, t_min) for f in (process.alpha, process.sigma)
    )
    sd0, sd1 = (a0**2 * VAR + s0**2).sqrt(), (a1**2 * VAR + s1**2).sqrt()
    return a1 * MEAN + sd1 / sd0 * (x_T - a0 * MEAN)


@pytest.fixture(scope="module")
def found(model):
    """dpm_solver_pp_2m at 3 steps on vp, from its default (EDM) grid, 64 calibration draws."""
    return optimize_grid(model, "dpm_solver_pp_2m", 3, calibration=(64, 2), process="vp", seed=3, max_evals=80)


def test_the_grid_is_strictly_decreasing_between_the_fixed_ends_and_the_proxy_never_rises(found, vp) -> None:
    g = found.grid
    assert g.dtype == F64 and g.numel() == 4 and bool((g[1:] < g[:-1]).all())
    assert float(g[0]) == vp.t_max and float(g[-1]) == vp.t_min
    assert torch.equal(found.initial_grid, sdesolve.registry().get("grid", "edm")(vp, 3))
    assert found.proxy <= found.initial_proxy and found.gain >= 1 and found.statistic == "mean"
    assert found.history == sorted(found.history, reverse=True) and found.history[-1] == found.proxy
    assert 1 < found.evaluations == len(found.history) <= 80
    assert found.reference_error < 0.05 * found.proxy  # the reference is far finer than what it ranks


def test_the_optimised_grid_lowers_the_true_error_on_a_gaussian(found, model, vp) -> None:
    x_T = torch.randn(512, 2, generator=torch.Generator().manual_seed(99), dtype=F64)  # held out
    exact = exact_flow(vp, x_T, vp.t_max, vp.t_min)

    def error(grid: torch.Tensor) -> float:
        x = sdesolve.sample(model, x_T, "dpm_solver_pp_2m", process="vp", grid=grid)
        return float((x - exact).norm(dim=1).mean())

    before, after = error(found.initial_grid), error(found.grid)
    assert after < before / 4, (before, after)  # measured: 0.151 -> 0.0095


def test_a_fixed_seed_gives_the_same_grid(model) -> None:
    runs = [
        optimize_grid(model, "dpm_solver_pp_2m_sde", 3, calibration=(32, 2), process="vp", seed=5, max_evals=25)
        for _ in range(2)
    ]
    assert torch.equal(runs[0].grid, runs[1].grid) and runs[0].history == runs[1].history
    assert runs[0].stochastic and runs[0].statistic == "mean" and runs[0].proxy <= runs[0].initial_proxy


def test_the_stochastic_proxy_is_a_deterministic_strong_error_on_a_fixed_path(model, vp) -> None:
    objective = GridObjective(
        model, "dpm_solver_pp_2m_sde", calibration=(64, 2), process="vp", reference_steps=200, seed=1
    )
    grid = sdesolve.registry().get("grid", "edm")(vp, 6)
    coarse = objective(grid)
    assert objective(grid) == coarse and objective.runs == 4  # the reference, its check, two runs
    assert objective.reference_error < coarse / 4
    finer = objective(sdesolve.registry().get("grid", "edm")(vp, 24))
    assert finer < coarse / 2  # the same path: the strong error falls with the steps


def test_the_objective_refuses_names_other_ends_and_oversized_paths(model, vp) -> None:
    objective = GridObjective(model, "ddim", calibration=(8, 2), process="vp", reference_steps=20)
    with pytest.raises(ValueError, match="explicit times here"):
        objective("edm")
    with pytest.raises(ValueError, match=r"reference runs from 1 to 0\.001"):
        objective(torch.tensor([0.9, 0.5, 1e-3], dtype=F64))
    with pytest.raises(ValueError, match=r"Brownian path over 400 reference steps .* would hold"):
        GridObjective(model, "dpm_solver_pp_2m_sde", calibration=(300_000, 2), process="vp")


def test_a_candidate_that_blows_up_scores_inf_and_the_search_goes_on(model) -> None:
    state = {"nan": False}

    def flaky(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = model(x, t)
        return out * float("nan") if state["nan"] else out

    objective = GridObjective(flaky, "ddim", calibration=(8, 2), process="vp", reference_steps=50)
    state["nan"] = True
    assert objective(torch.linspace(1.0, 1e-3, 5, dtype=F64)) == math.inf


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"steps": True}, "steps must be a positive integer"),
        ({"sampler": "nope"}, "sampler: .*nope"),
        ({"init": "nope"}, "grid: .*nope"),
        ({"init": [1.0, 0.5, 0.001]}, "init holds 2 steps, but steps=3"),
        ({"calibration": torch.zeros(8)}, "calibration must be a floating tensor of shape"),
        ({"calibration": torch.zeros(8, 2, dtype=torch.int64)}, "calibration must be a floating tensor"),
        ({"calibration": (8,)}, "calibration must be the starting draws"),
        ({"calibration": torch.full((4, 2), math.nan)}, "calibration must be finite"),
        ({"calibration": (4, 3)}, "calibration: the reference solve fails on draws of shape"),
        ({"sampler": "ddpm"}, "draws its own noise.*dpm_solver_pp_2m_sde"),
        ({"bm": object()}, r"options \['bm'\] are set by the grid search"),
        ({"max_evals": 0}, "max_evals must be a positive integer"),
        ({"basis": 0}, "basis must be a positive integer"),
        ({"tol": 0.0}, "need 0 < tol < step"),
        ({"statistic": "median"}, "statistic must be one of"),
    ],
)
def test_bad_inputs_are_clear_errors(model, kwargs: dict, match: str) -> None:
    args = {"sampler": "ddim", "steps": 3, "calibration": (8, 2), "process": "vp", "max_evals": 3} | kwargs
    with pytest.raises(ValueError, match=match):
        optimize_grid(model, args.pop("sampler"), args.pop("steps"), **args)


def test_a_non_finite_initial_grid_is_an_error(model) -> None:
    def bad(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # NaN at t = 0.65 only, where no reference steps
        return model(x, t) * (math.nan if bool((t == 0.65).any()) else 1.0)

    with pytest.raises(ValueError, match="non-finite samples on the initial grid 'explicit'"):
        grid = torch.tensor([1.0, 0.65, 1e-3], dtype=F64)
        optimize_grid(bad, "ddim", 2, calibration=(4, 2), process="vp", init=grid, reference_steps=7, max_evals=2)


def test_save_load_and_sample_with_the_grid(found, model, tmp_path) -> None:
    path = tmp_path / "grid.json"
    save_grid(found, path, note="test")
    data = json.loads(path.read_text())
    assert data["note"] == "test" and data["process"] == "vp" and data["steps"] == 3
    times = load_grid(path, process="vp")
    assert torch.equal(times, found.grid)
    x = sdesolve.sample(model, (16, 2), "ddim", process="vp", grid=times, generator=torch.Generator().manual_seed(0))
    assert x.shape == (16, 2) and bool(torch.isfinite(x).all())
    with pytest.raises(ValueError, match="tuned for process 'vp', not 'edm'"):
        load_grid(path, process="edm")
    (tmp_path / "bad.json").write_text(json.dumps({"grid": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="strictly decreasing"):
        load_grid(tmp_path / "bad.json")
    (tmp_path / "text.json").write_text("not json")
    with pytest.raises(ValueError, match="cannot read it as JSON"):
        load_grid(tmp_path / "text.json")
    with pytest.raises(ValueError, match="must hold a list of times"):
        (tmp_path / "list.json").write_text(json.dumps({"grid": "edm"}))
        load_grid(tmp_path / "list.json")


def test_sdesolve_sample_reads_a_grid_file(tmp_path) -> None:
    times = [1.0, 0.4, 0.05, 1e-3]
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({"grid": times, "process": "vp"}))
    common = ["--model", "toy_model:TinyEps", "--shape", "4", "--n", "6", "--sampler", "ddim", "--quiet"]
    assert main(["sample", *common, "--grid", str(path), "--out", str(tmp_path / "a")]) == 0
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["config"]["steps"] == 3 and manifest["config"]["options"]["grid"] == times
    listed = ["--steps", "3", "--option", f"grid={json.dumps(times)}", "--out", str(tmp_path / "b")]
    assert main(["sample", *common, *listed]) == 0
    np.testing.assert_array_equal(load_samples(tmp_path / "a"), load_samples(tmp_path / "b"))
    assert main(["sample", *common, "--grid", "edm", "--steps", "4", "--out", str(tmp_path / "c")]) == 0
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["config"]["options"]["grid"] == "edm"
    refused = [
        ["--grid", str(path), "--steps", "5"],
        ["--grid", str(path), "--process", "edm"],
        ["--grid", str(path), "--option", "grid=edm"],
        ["--grid", str(tmp_path / "missing.json")],
    ]
    for extra in refused:
        assert main(["sample", *common, *extra, "--out", str(tmp_path / "d")]) == 2, extra
