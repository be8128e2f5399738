"""``sdesolve tune-grid``: the JSON it writes is a grid ``sample`` and ``load_grid`` accept, and bad arguments are
refused with exit status 2."""

from __future__ import annotations

import json

import pytest
import torch
from sdesolve_diffusion import load_grid
from sdesolve_lab.problem import make_problem

import sdesolve
from sdesolve.cli import main

SMALL = ["--calibration", "64", "--heldout", "64", "--max-evals", "20"]


def test_tune_grid_writes_a_grid_that_sample_uses(tmp_path, capsys) -> None:
    out = tmp_path / "grid.json"
    argv = ["tune-grid", "--problem", "sharp1d", "--sampler", "dpm_solver_pp_2m", "--nfe", "6", *SMALL]
    assert main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "calibration (64 draws): edm grid" in text and "held-out (64 other draws)" in text and "σ/α" in text
    data = json.loads(out.read_text())
    assert data["steps"] == 5 and data["nfe"] == 6 and data["problem"] == "sharp1d" and not data["stochastic"]
    assert data["options"] == {"denoise": True} and data["process"] == "discrete"
    assert data["proxy"] <= data["initial_proxy"] and data["evaluations"] <= 20
    grid = load_grid(out, process="discrete")
    assert grid.numel() == 6 and bool((grid[1:] < grid[:-1]).all()) and (float(grid[0]), float(grid[-1])) == (1e3, 1.0)
    pb = make_problem("sharp1d")
    model = pb.model()
    x = sdesolve.sample(model, pb.prior(32, 5), "dpm_solver_pp_2m", process=pb.process, grid=grid, denoise=True)
    assert x.shape == (32, 1) and bool(torch.isfinite(x).all()) and model.nfe == 6


def test_tune_grid_for_a_stochastic_sampler_prints_json(tmp_path, capsys) -> None:
    out = tmp_path / "sde.json"
    argv = ["tune-grid", "--problem", "gmm", "--dim", "2", "--sampler", "dpm_solver_pp_2m_sde", "--nfe", "5"]
    assert main([*argv, *SMALL, "--heldout", "0", "--json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["stochastic"] and printed["proxy"] <= printed["initial_proxy"] and "heldout_proxy" not in printed


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--nfe", "1"], "--nfe must be at least 2"),
        (["--sampler", "nope"], "unknown sampler 'nope'"),
        (["--sampler", "ddpm"], "draws its own noise"),
        (["--sampler", "edm_heun", "--nfe", "2"], "leaves no step"),
        (["--heldout", "-1"], "--heldout must be >= 0"),
        (["--init", "nope"], "grid: "),
    ],
)
def test_tune_grid_refuses_bad_arguments(tmp_path, capsys, extra: list[str], message: str) -> None:
    assert main(["tune-grid", *SMALL, *extra, "--out", str(tmp_path / "g.json")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()
