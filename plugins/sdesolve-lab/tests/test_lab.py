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


def test_diagonal_mixture_score_matches_the_general_formula() -> None:
    from sdesolve_lab.problem import DiagonalMixture, make_problem

    general = GaussianMixture.default(6, 4, seed=3)
    diagonal = DiagonalMixture.default(6, 4, seed=3)
    x = torch.randn(13, 6, dtype=F64, generator=torch.Generator().manual_seed(1))
    alpha, sigma = torch.rand(13, dtype=F64), torch.rand(13, dtype=F64) + 0.05
    assert torch.allclose(diagonal.noised_score(alpha, sigma, x), general.noised_score(alpha, sigma, x), atol=1e-12)
    assert isinstance(make_problem("gmm", 4).target, DiagonalMixture)
    full = torch.tensor([[[1.0, 0.3], [0.3, 1.0]]], dtype=F64)
    with pytest.raises(ValueError, match="covariances must be diagonal"):
        DiagonalMixture(torch.zeros(1, 2, dtype=F64), full)


def test_ddpm_table_is_the_one_diffusers_builds() -> None:
    diffusers = pytest.importorskip("diffusers")
    from sdesolve_lab.problem import _ddpm_linear

    expected = diffusers.DDPMScheduler(beta_schedule="linear").alphas_cumprod.to(F64)
    assert torch.equal(_ddpm_linear().alphas_cumprod, expected)


def test_mixture_quantiles_match_bisection_and_the_sliced_w1_formula(mixture2d) -> None:
    from sdesolve_lab.metrics import mixture_quantiles

    metric = SlicedW1(mixture2d, 3000, projections=8, seed=4)
    probs = (torch.arange(3000, dtype=F64) + 0.5) / 3000
    slow = []
    for th in metric.theta:  # one projected mixture at a time, 80 bisection steps
        var = torch.einsum("d,kde,e->k", th, mixture2d.cov, th)
        slow.append(GaussianMixture((mixture2d.means @ th)[:, None], var, mixture2d.weights).quantiles_1d(probs))
    slow = torch.stack(slow)
    assert (metric.quantiles - slow).abs().max() < 1e-10
    x = mixture2d.sample(3000, generator=torch.Generator().manual_seed(9)) * 1.1
    direct = float(((x @ metric.theta.T).T.sort(dim=1).values - slow).abs().mean())
    assert metric(x) == pytest.approx(direct, rel=1e-12)
    one = mixture_quantiles(torch.tensor([[0.0]], dtype=F64), torch.tensor([[1.0]], dtype=F64), torch.ones(1), probs)
    normal = torch.distributions.Normal(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64))
    assert torch.allclose(one[0], normal.icdf(probs), atol=1e-10)


def test_peer_methods_build_only_the_libraries_asked_for() -> None:
    from sdesolve_lab.methods import peer_methods

    refs = peer_methods(("torchsde", "torchdiffeq"))
    assert {m.library for m in refs} == {"torchsde", "torchdiffeq"} and len(refs) == 5
    with pytest.raises(ValueError, match="unknown peer libraries"):
        peer_methods(("torchsde", "jax"))


@pytest.mark.slow
def test_references_report_their_accuracy_and_share_the_methods_path() -> None:
    """The flow reference (dopri5) is within 1e-8 of rk4 with a step per timestep; the SDE reference (srk, 1000
    steps for budgets up to 100) within a few hundredths of srk at half the steps on the same path. The methods
    query the shared Brownian path *before* the reference is solved on it (compare's order): torchsde's srk at 500
    steps, run first, still ends within a few hundredths of the reference, while the flow ends far from it."""
    from sdesolve_lab.compare import CompareConfig, _references
    from sdesolve_lab.methods import peer_methods
    from sdesolve_lab.problem import make_problem

    from sdesolve.reference import brownian_interval

    pb = make_problem("gmm", 4)
    x = pb.prior(32, 1)
    bm = brownian_interval([pb.t_max, pb.t_end], tuple(x.shape), seed=7)
    (srk,) = [m for m in peer_methods(("torchsde",)) if m.name == "torchsde:srk"]
    first, nfe = srk.run(pb, x, 3 * 500 + 1, 0, bm=bm)
    assert nfe >= 1500
    ode, sde, flow_floor, sde_floor = _references(pb, CompareConfig(nfe=(10, 80)), x, bm)
    assert 0 < flow_floor < 1e-8 and 0 < sde_floor < 0.05
    assert strong_error(first, sde) < 0.05 < strong_error(ode, sde)


@pytest.mark.gpu
def test_compare_runs_on_cuda_and_agrees_with_the_cpu_run() -> None:
    """Regression (first GPU runs, 2026-11-27): every row of ``sdesolve compare --device cuda`` failed, because the
    metrics' references live on the CPU; then the torchsde rows, whose Brownian path was made on the CPU. The
    starts and the samplers' noise are drawn on the CPU, so sdesolve's rows on CUDA score what the CPU run scores,
    to float64 round-off."""
    from sdesolve_lab.compare import CompareConfig, compare

    def run(device: str) -> dict:
        samplers = ["ddim", "ddpm", "dpm_solver_pp_2m", "ddram"]
        cfg = CompareConfig(samplers=samplers, nfe=(10,), n=400, paths=16, device=device, references=True)
        return compare(cfg, progress=False)

    cpu, cuda = run("cpu"), run("cuda")
    assert not [r for r in cuda["rows"] if r.get("failure")]
    assert {r["method"] for r in cuda["rows"]} == {r["method"] for r in cpu["rows"]}
    on_cpu = {r["method"]: r for r in cpu["rows"]}
    ours = [r for r in cuda["rows"] if r["library"] == "sdesolve"]
    assert len(ours) == 4
    for r in ours:
        assert r["error"] == pytest.approx(on_cpu[r["method"]]["error"], rel=1e-6), r["method"]
