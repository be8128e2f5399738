"""The lab: metrics with noise floors, compare (ours and peers), bench and the scaling study, at small sizes."""

from __future__ import annotations

import json
import math

import pytest
import torch
from sdesolve_diffusion import GaussianMixture
from sdesolve_lab.metrics import GaussianW2, SlicedW1, strong_error

F64 = torch.float64


def test_sliced_w1_floor_and_sensitivity(mixture2d) -> None:
    metric = SlicedW1(mixture2d, 2000, projections=16)
    exact = mixture2d.sample(2000, generator=torch.Generator().manual_seed(50))
    assert metric(exact) < 2 * metric.floor
    shifted = exact + torch.tensor([0.3, 0.0], dtype=F64)
    assert metric(shifted) > 5 * metric.floor
    with pytest.raises(ValueError, match="built for 2000 samples"):
        metric(exact[:10])


def test_gaussian_w2_measures_a_mean_shift() -> None:
    g = GaussianMixture.gaussian(torch.zeros(3, dtype=F64), torch.diag(torch.tensor([1.0, 0.5, 0.2], dtype=F64)))
    metric = GaussianW2(g, 20_000)
    draws = g.sample(20_000, generator=torch.Generator().manual_seed(1)) + torch.tensor([0.4, 0.0, 0.0], dtype=F64)
    assert metric(draws) == pytest.approx(0.4, abs=3 * metric.floor + 0.01)
    assert metric.floor < 0.05
    assert strong_error(draws, draws) == 0.0


def test_isotropic_fast_path_matches_the_general_score() -> None:
    means = torch.randn(5, 7, dtype=F64, generator=torch.Generator().manual_seed(0))
    iso = GaussianMixture(means, torch.linspace(0.1, 0.5, 5, dtype=F64), torch.arange(1.0, 6.0, dtype=F64))
    assert iso.isotropic
    general = GaussianMixture(means, torch.linspace(0.1, 0.5, 5, dtype=F64), torch.arange(1.0, 6.0, dtype=F64))
    general.isotropic = False
    x = torch.randn(11, 7, dtype=F64)
    alpha, sigma = torch.rand(11, dtype=F64), torch.rand(11, dtype=F64) + 0.1
    assert torch.allclose(iso.noised_score(alpha, sigma, x), general.noised_score(alpha, sigma, x), atol=1e-12)


@pytest.fixture(scope="module")
def small_compare(tmp_path_factory):
    from sdesolve_lab.compare import CompareConfig, compare, format_table, plot

    cfg = CompareConfig(samplers=["ddim", "ddram"], nfe=(10, 20), n=400, paths=16, peers=True, quick=True)
    result = compare(cfg, progress=False)
    out = tmp_path_factory.mktemp("compare")
    plot(result, out / "compare.png")
    return result, format_table(result), out


@pytest.mark.slow
def test_compare_reports_every_method_and_budget(small_compare) -> None:
    result, table, out = small_compare
    methods = {r["method"] for r in result["rows"]}
    assert {"sdesolve:ddim", "sdesolve:ddram", "torchsde:euler", "torchsde:srk", "torchdiffeq:rk4"} <= methods
    assert {"k-diffusion:heun", "diffusers:DDIM", "diffusers:UniPCMultistep"} <= methods
    failures = [r for r in result["rows"] if r.get("failure")]
    assert not failures, failures
    for r in result["rows"]:
        assert r["nfe"] > 0 and math.isfinite(r["error"]) and r["seconds"] > 0
        if not r["stochastic"] or r["method"] in ("sdesolve:ddram", "torchsde:euler", "torchsde:srk"):
            assert r["strong_error"] is not None and r["strong_error"] >= 0
    ddim = {r["budget"]: r for r in result["rows"] if r["method"] == "sdesolve:ddim"}
    assert ddim[20]["strong_error"] < ddim[10]["strong_error"]  # converges to the flow
    assert result["floor"] > 0 and "noise floor" in table
    json.dumps(result)
    assert (out / "compare.png").stat().st_size > 10_000


@pytest.mark.slow
def test_compare_cli_writes_results(tmp_path, capsys) -> None:
    from sdesolve.cli import main

    argv = ["compare", "--samplers", "ddim", "--nfe", "10", "--n", "300", "--out", str(tmp_path), "--json"]
    code = main([*argv, "--no-references"])  # the CLI adds the torchsde/torchdiffeq rows unless told not to
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in data["rows"]] == ["sdesolve:ddim"]
    assert (tmp_path / "results.json").exists() and (tmp_path / "compare.png").exists()
    assert main(["compare", "--samplers", "nope", "--nfe", "10", "--n", "100", "--out", str(tmp_path)]) == 2


def test_scaling_study_fits_an_exponent() -> None:
    from sdesolve_lab.scaling import format_scaling, scaling_study

    result = scaling_study(
        dims=(2, 8), samplers=("exponential_euler_sde",), epsilon=0.5, n=1000, steps=(2, 4, 8, 16, 32), progress=False
    )
    r = result["samplers"]["exponential_euler_sde"]
    assert all(s is not None and s > 0 for s in r["steps_needed"])
    assert r["steps_needed"][1] >= r["steps_needed"][0]  # more dimensions, more steps
    assert r["exponent"] is not None and "exponent" in format_scaling(result)


def test_bench_runs_side_by_side() -> None:
    from sdesolve_lab.bench import bench, format_bench

    result = bench(batch=64, dim=8, steps=5, repeats=1)
    sec = result["seconds"]
    assert {
        "budget (score + randn only)",
        "sdesolve euler_maruyama (SDE)",
        "torchsde sdeint euler (default BrownianInterval)",
        "torchdiffeq odeint euler (ODE)",
    } <= set(sec)
    assert all(v > 0 for v in sec.values())
    assert "torchsde sdeint euler" in format_bench(result)
