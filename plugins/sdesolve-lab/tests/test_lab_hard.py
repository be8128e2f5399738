"""The harder lab (issue 11, goal 5): who-wins-per-NFE summary (ties, floor, budget), the new problems' exact targets
(scores against autograd of the log-density, quantiles against sampling) and their metrics."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from sdesolve_diffusion.targets import GaussianMixture, SubspaceMixture
from sdesolve_lab.compare import SECTIONS, TIE_RATIO, format_summary, summarize, verdict, write_summary_csv
from sdesolve_lab.metrics import FrechetDistance, QuantileW1, ReferenceSlicedW1
from sdesolve_lab.problem import DEFAULTS, PROBLEMS, make_problem, sharp_mixture_1d

F64 = torch.float64


# --- verdicts ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ours", "peer", "floor", "ratio", "text"),
    [
        (0.01, 0.02, 0.0, 2.0, "ours ahead 2x"),
        (0.02, 0.01, 0.0, 0.5, "peer ahead 2x"),
        (0.010, 0.0119, 0.0, 1.19, "tie (within 1.2x)"),
        (0.0119, 0.010, 0.0, 0.010 / 0.0119, "tie (within 1.2x)"),
        (0.010, 0.012, 0.0, 1.2, "ours ahead 1.2x"),  # a win is >= 1.2x
        (0.001, 0.0004, 0.001, 0.4, "tie (both at the floor)"),  # 2.5x apart, but both within 1.5 x floor
        (0.0015, 0.01, 0.001, 10 / 1.5, "ours ahead 6.67x (ours at the floor: at least this)"),
        (0.01, 0.001, 0.001, 0.1, "peer ahead 10x (peer at the floor: at least this)"),
        (0.0, 0.01, 0.0, math.inf, "ours ahead"),
        (0.01, 0.0, 0.0, 0.0, "peer ahead"),
    ],
)
def test_verdict(ours, peer, floor, ratio, text) -> None:
    r, v = verdict(ours, peer, floor)
    assert v == text
    assert r == pytest.approx(ratio)


def test_verdict_refuses_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        verdict(math.nan, 0.1, 0.0)


def _row(method, library, stochastic, budget, nfe, error, strong=None, failure=None):
    return {
        "method": method,
        "library": library,
        "stochastic": stochastic,
        "budget": budget,
        "nfe": nfe,
        "error": error,
        "strong_error": strong,
        "failure": failure,
    }


def test_summary_picks_the_best_within_budget_per_section() -> None:
    rows = [
        _row("sdesolve:a", "sdesolve", True, 10, 10, 0.05),
        _row("sdesolve:b", "sdesolve", True, 10, 9, 0.03),
        _row("sdesolve:c", "sdesolve", True, 10, 12, 0.001),  # over budget: left out
        _row("kd:x", "k-diffusion", True, 10, 10, 0.09),
        _row("kd:y", "k-diffusion", True, 10, 0, math.nan, failure="RuntimeError: boom"),
        _row("sdesolve:ode", "sdesolve", False, 10, 10, 0.2, strong=0.004),
        _row("tdq:ode", "torchdiffeq", False, 10, 10, 0.1, strong=0.0045),
        _row("sdesolve:a", "sdesolve", True, 20, 20, 0.002),
        _row("kd:x", "k-diffusion", True, 20, 20, 0.0021),
    ]
    s = summarize(rows, floor=0.001, flow_floor=1e-8)
    assert set(s) == set(SECTIONS)
    sde10, sde20 = s["stochastic"]
    assert sde10["ours"] == {"method": "sdesolve:b", "error": 0.03, "nfe": 9}
    assert sde10["peer"]["method"] == "kd:x" and sde10["ratio"] == pytest.approx(3.0)
    assert sde10["verdict"] == "ours ahead 3x" and sde10["excluded_over_budget"] == ["sdesolve:c"]
    assert sde20["verdict"] == f"tie (within {TIE_RATIO:g}x)"
    flow10 = s["deterministic"][0]  # ranked by the distance to the exact flow, not the distribution error
    assert flow10["ours"]["error"] == 0.004 and flow10["verdict"] == "tie (within 1.2x)"
    dist10 = s["deterministic_distribution"][0]
    assert dist10["verdict"] == "peer ahead 2x" and dist10["floor"] == 0.001
    assert s["deterministic"][1]["verdict"] == "no sdesolve method"  # no ODE row at 20


def test_summary_table_and_csv(tmp_path) -> None:
    rows = [_row("sdesolve:a", "sdesolve", True, 10, 10, 0.05), _row("kd:x", "k-diffusion", True, 10, 10, 0.01)]
    result = {"metric": "W1", "summary": summarize(rows, 0.001, 0.0)}
    text = format_summary(result)
    assert "peer ahead 5x" in text and "> 1: ours ahead" in text and "no sdesolve method" in text
    write_summary_csv(result, tmp_path / "s.csv")
    lines = list(csv.DictReader(open(tmp_path / "s.csv")))
    assert len(lines) == 3 and lines[0]["section"] == "stochastic"
    assert float(lines[0]["ratio_peer_over_ours"]) == pytest.approx(0.2) and lines[0]["peer_method"] == "kd:x"


# --- exact targets ---------------------------------------------------------------------------------------------------
def _mixture_logpdf(m: GaussianMixture, alpha: float, sigma: float, x: torch.Tensor) -> torch.Tensor:
    """Log-density of ``α x₀ + σ ε`` by the mixture formula, in plain torch (autograd-able)."""
    comps = []
    for k in range(m.components):
        cov = alpha**2 * m.cov[k] + sigma**2 * torch.eye(m.dim, dtype=F64)
        dist = torch.distributions.MultivariateNormal(alpha * m.means[k], covariance_matrix=cov)
        comps.append(m.weights[k].log() + dist.log_prob(x))
    return torch.logsumexp(torch.stack(comps), 0)


def _autograd_score(logpdf, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(logpdf(x).sum(), x)
    return g


@pytest.mark.parametrize(("alpha", "sigma"), [(1.0, 0.01), (0.9, 0.05), (0.3, 0.9)])
def test_sharp_mixture_score_matches_autograd(alpha, sigma) -> None:
    m = sharp_mixture_1d()
    x = torch.linspace(-0.7, 0.6, 41, dtype=F64)[:, None] * alpha
    n = x.shape[0]
    ours = m.noised_score(torch.full((n,), alpha, dtype=F64), torch.full((n,), sigma, dtype=F64), x)
    ref = _autograd_score(lambda y: _mixture_logpdf(m, alpha, sigma, y), x)
    assert torch.allclose(ours, ref, rtol=1e-9, atol=1e-8 / sigma**2)


@pytest.mark.parametrize(("alpha", "sigma"), [(1.0, 0.01), (0.8, 0.4)])
def test_subspace_mixture_score_matches_autograd(alpha, sigma) -> None:
    t = SubspaceMixture.random(16, 3, 5, seed=2)
    x = t.sample(7, alpha=alpha, sigma=sigma, generator=torch.Generator().manual_seed(1))
    n = x.shape[0]
    u = t.basis

    def logpdf(y):  # in-subspace mixture density times the orthogonal complement's N(0, σ² I)
        coords = y @ u
        perp = y - coords @ u.T
        d_perp = t.dim - t.rank
        gauss = -0.5 * (perp**2).sum(1) / sigma**2 - 0.5 * d_perp * math.log(2 * math.pi * sigma**2)
        return _mixture_logpdf(t.inner, alpha, sigma, coords) + gauss

    ours = t.noised_score(torch.full((n,), alpha, dtype=F64), torch.full((n,), sigma, dtype=F64), x)
    assert torch.allclose(ours, _autograd_score(logpdf, x), rtol=1e-9, atol=1e-7)
    # and it is the mixture formula with the singular embedded covariance
    embedded = GaussianMixture(t.inner.means @ u.T, u @ t.inner.cov @ u.T, t.inner.weights)
    full = embedded.noised_score(torch.full((n,), alpha, dtype=F64), torch.full((n,), sigma, dtype=F64), x)
    assert torch.allclose(ours, full, atol=1e-8)


def test_subspace_mixture_samples_moments_and_projection() -> None:
    t = SubspaceMixture.random(32, 4, 6, seed=0)
    x = t.sample(40_000, alpha=0.7, sigma=0.2, generator=torch.Generator().manual_seed(0))
    mean, cov = t.moments(0.7, 0.2)
    assert torch.allclose(x.mean(0), mean, atol=0.01) and torch.allclose(torch.cov(x.T), cov, atol=0.01)
    theta = torch.randn(32, dtype=F64)
    theta = theta / theta.norm()
    one_d = t.projected(theta)
    probs = torch.tensor([0.1, 0.5, 0.9], dtype=F64)
    exact = one_d.quantiles_1d(probs)
    drawn = torch.quantile(t.sample(40_000, generator=torch.Generator().manual_seed(3)) @ theta, probs)
    assert torch.allclose(drawn, exact, atol=0.02)
    with pytest.raises(ValueError, match="orthonormal"):
        SubspaceMixture(t.inner, 2 * t.basis)


# --- the problems and their metrics ----------------------------------------------------------------------------------
def test_problem_names_agree_with_the_cli() -> None:
    from sdesolve_lab.commands import PROBLEM_NAMES

    assert tuple(PROBLEM_NAMES) == PROBLEMS == tuple(DEFAULTS)
    with pytest.raises(ValueError, match="1-dimensional"):
        make_problem("sharp1d", 2)
    with pytest.raises(ValueError, match="must be one of"):
        make_problem("nope")


def test_sharp1d_starts_from_the_exact_prior_and_its_quantiles_match_sampling() -> None:
    pb = make_problem("sharp1d")
    x_T = pb.prior(20_000, seed=0)
    t = torch.tensor(pb.t_max, dtype=F64)
    mean, cov = pb.target.moments(float(pb.process.alpha(t)), float(pb.process.sigma(t)))
    assert abs(float(x_T.mean()) - float(mean)) < 0.03 and abs(float(x_T.var()) - float(cov)) < 0.03
    n = 20_000
    metric = QuantileW1.for_denoised_mixture(pb, n, seed=0)
    assert len(metric.floor_draws) == 2 and 0 < metric.floor < 0.005
    # the exact quantiles of D(X₁) agree with the empirical quantiles of independent exact draws of D(X₁)
    draws = pb.exact_output(n, torch.Generator().manual_seed(9))[:, 0].sort().values
    idx = torch.tensor([n // 10, n // 2, 9 * n // 10])
    assert torch.allclose(draws[idx], metric.quantiles[idx], atol=5e-3)
    assert metric(draws[:, None]) < 2 * metric.floor
    # the data law is not the law an exact solver returns: the final denoiser shrinks the sharp modes
    data = pb.target.sample(n, generator=torch.Generator().manual_seed(9))
    assert metric(data) > 2 * metric.floor
    assert metric(draws[:, None] + 0.01) > 5 * metric.floor
    with pytest.raises(ValueError, match="built for"):
        metric(draws[:10, None])


def test_subspace_mixture_metric_floor_and_sensitivity() -> None:
    pb = make_problem("subspace_mixture", 32)
    metric = ReferenceSlicedW1.for_problem(pb, 2000, seed=0, projections=8, factor=5)
    assert metric.theta.shape == (8, 32)
    # the directions lie in the target's subspace
    assert torch.allclose(metric.theta @ pb.target.basis @ pb.target.basis.T, metric.theta, atol=1e-12)
    exact = pb.exact_output(2000, torch.Generator().manual_seed(77))
    assert metric(exact) < 2 * metric.floor
    assert metric(exact * 1.1) > 3 * metric.floor


def test_frechet_distance() -> None:
    gen = torch.Generator().manual_seed(0)
    ref = torch.randn(20_000, 3, generator=gen, dtype=F64)
    metric = FrechetDistance(ref, 20_000, floor_sample=torch.randn(20_000, 3, generator=gen, dtype=F64))
    assert metric.floor < 0.01
    shifted = torch.randn(20_000, 3, generator=gen, dtype=F64) + torch.tensor([0.5, 0.0, 0.0], dtype=F64)
    assert metric(shifted) == pytest.approx(0.25, abs=0.02)
    scaled = 2 * torch.randn(20_000, 3, generator=gen, dtype=F64)
    assert metric(scaled) == pytest.approx(3.0, abs=0.1)  # Σ (2 - 1)²


def test_digits_model_trains_seeded_and_caches(tmp_path, monkeypatch) -> None:
    pytest.importorskip("sklearn")
    from sdesolve_lab.digits import DigitsModel, cache_dir
    from sdesolve_lab.problem import _ddpm_linear

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    process = _ddpm_linear()
    a = DigitsModel.load_or_train(process, {"steps": 20}, progress=False)
    files = list(cache_dir().glob("digits-*.pt"))
    assert len(files) == 1 and cache_dir().is_relative_to(tmp_path)
    b = DigitsModel.load_or_train(process, {"steps": 20}, progress=False)  # from the cache
    x, t = torch.randn(5, 64, dtype=F64), torch.full((5,), 500.0, dtype=F64)
    assert torch.equal(a.network(x, t), b.network(x, t)) and a.network(x, t).dtype == F64
    assert a.train.shape[0] + a.heldout.shape[0] == 1797 and a.heldout.shape[0] == 539
    files[0].unlink()
    c = DigitsModel.load_or_train(process, {"steps": 20}, progress=False)  # retrained: the same weights (seeded)
    assert torch.equal(a.network(x, t), c.network(x, t))


def test_compare_refuses_an_unknown_peer_before_running() -> None:
    from sdesolve_lab.compare import CompareConfig, compare

    with pytest.raises(ValueError, match="unknown peer"):
        compare(CompareConfig(samplers=["ddim"], peer_names=["k-diffusion:nope"], n=100, dim=2), progress=False)
    with pytest.raises(ValueError, match="--problem must be one of"):
        compare(CompareConfig(target="nope"), progress=False)
