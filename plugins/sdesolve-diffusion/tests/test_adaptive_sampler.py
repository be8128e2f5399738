"""The ``adaptive`` sampler: a tolerance instead of a step count, on a Gaussian target whose probability flow is in
closed form (per coordinate, ``(x_t - α_t m)/√(α_t² s² + σ_t²)`` is constant along the flow)."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
from sdesolve_diffusion import GaussianMixture

import sdesolve
from sdesolve import StepSizeError, registry
from sdesolve.counting import CountedCalls

F64 = torch.float64
MEAN, STD = (0.7, -0.4), 0.5


@pytest.fixture(scope="module")
def gaussian() -> GaussianMixture:
    return GaussianMixture(torch.tensor([MEAN]), torch.tensor([[STD**2, STD**2]]), torch.tensor([1.0]))


def _flow(process, x_T: torch.Tensor, t0: float, t: float) -> torch.Tensor:
    """The exact probability flow of N(MEAN, STD² I) data from (t0, x_T) to t."""
    a0, s0, a, s = (float(f(torch.tensor(v, dtype=F64))) for v in (t0, t) for f in (process.alpha, process.sigma))
    m = torch.tensor(MEAN, dtype=F64)
    scale = ((a * STD) ** 2 + s**2) ** 0.5 / ((a0 * STD) ** 2 + s0**2) ** 0.5
    return a * m + scale * (x_T - a0 * m)


def _setup(name: str, gaussian):
    proc = registry().get("process", name)
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(0)) * proc.prior_std
    grid = registry().get("grid", "edm")(proc, 1)
    return proc, x_T, float(grid[0]), float(grid[-1])


def _rms(x: torch.Tensor, ref: torch.Tensor) -> float:
    return float(((x - ref) ** 2).sum(-1).mean().sqrt())


@pytest.mark.parametrize("process", ["vp", "edm"])
def test_reaches_the_closed_form_flow_and_the_error_falls_with_rtol(process, gaussian) -> None:
    proc, x_T, t0, t1 = _setup(process, gaussian)
    ref = _flow(proc, x_T, t0, t1)
    errors, nfes = [], []
    for tol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
        model = CountedCalls(gaussian.model(proc, "eps"))
        seen: list[dict] = []
        x = sdesolve.sample(model, x_T, "adaptive", process=process, rtol=tol, atol=tol, callback=seen.append)
        errors.append(_rms(x, ref))
        nfes.append(model.nfe)
        assert len(seen) == 1 and seen[0]["nfe"] == model.nfe  # steps=1: one report, the run's NFE
        assert seen[0]["n_accepted"] * 3 <= model.nfe  # bosh3: 3 per accepted step (FSAL), plus rejections
    # measured error/tol: vp 0.14-0.25, edm 0.38-3.1 (over 1e-2 ... 1e-6)
    assert all(e <= 6 * tol for e, tol in zip(errors, (1e-2, 1e-3, 1e-4, 1e-5, 1e-6), strict=True)), errors
    assert errors[-1] <= 1e-5 and all(b < a for a, b in pairwise(errors)), errors
    assert all(b > a for a, b in pairwise(nfes)), nfes  # tighter tolerance, more NFE


def test_the_exponential_pair_and_per_sample_steps(gaussian) -> None:
    proc, x_T, t0, t1 = _setup("vp", gaussian)
    ref = _flow(proc, x_T, t0, t1)
    model = gaussian.model(proc, "eps")
    x = sdesolve.sample(model, x_T, "adaptive", process="vp", rtol=1e-4, atol=1e-4, pair="exponential_rk2")
    assert _rms(x, ref) <= 3e-4  # measured 6.4e-5 (relative splitting)
    one = sdesolve.sample(model, x_T[:1], "adaptive", process="vp", rtol=1e-4, atol=1e-4, per_sample=True)
    many = sdesolve.sample(model, x_T, "adaptive", process="vp", rtol=1e-4, atol=1e-4, per_sample=True)
    assert torch.allclose(many[:1], one, rtol=0, atol=1e-12)  # batch-invariant
    assert _rms(many, ref) <= 6e-4


def test_grid_times_are_forced_stops_reported_in_order(gaussian) -> None:
    proc, x_T, t0, _ = _setup("vp", gaussian)
    seen: list[dict] = []
    model = gaussian.model(proc, "eps")
    sdesolve.sample(model, x_T, "adaptive", steps=4, process="vp", rtol=1e-6, atol=1e-6, callback=seen.append)
    times = registry().get("grid", "edm")(proc, 4)
    assert [d["i"] for d in seen] == [0, 1, 2, 3]
    for d, t in zip(seen, times[1:].tolist(), strict=True):
        assert d["t"] == t and _rms(d["x"], _flow(proc, x_T, t0, t)) < 1e-5


def test_sde_variant_is_seeded_per_sample(gaussian) -> None:
    proc = registry().get("process", "vp")
    model = gaussian.model(proc, "eps")
    opts = dict(process="vp", rtol=1e-2, atol=1e-2, eta=1.0, dtype=F64)
    full = sdesolve.sample(model, (3, 2), "adaptive", seeds=[4, 5, 6], **opts)
    alone = sdesolve.sample(model, (1, 2), "adaptive", seeds=[5], **opts)
    assert torch.isfinite(full).all() and torch.allclose(full[1], alone[0], rtol=0, atol=1e-12)
    assert not torch.allclose(full, sdesolve.sample(model, (3, 2), "adaptive", seeds=[7, 8, 9], **opts))


def test_metadata_and_defaults() -> None:
    smp = registry().get("sampler", "adaptive")
    assert smp.adaptive is True and smp.nfe_per_step == 3 and smp.order == 3.0 and not smp.stochastic
    opts = smp.options()
    assert opts["rtol"] == 1e-3 and opts["atol"] == 1e-3 and opts["pair"] is None and opts["eta"] == 0.0


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"rtol": -1.0}, ValueError, "rtol"),
        ({"atol": 0.0}, ValueError, "atol"),
        ({"pair": "euler_maruyama"}, ValueError, "no embedded error estimate"),
        ({"pair": "bosh3", "eta": 1.0}, ValueError, "bosh3"),
        ({"per_sample": "yes"}, TypeError, "per_sample"),
        ({"splitting": "nope"}, ValueError, "splitting"),
        ({"steps_per": 3}, TypeError, "steps_per"),
    ],
)
def test_bad_options_are_refused_naming_them(options, error, match, gaussian) -> None:
    proc = registry().get("process", "vp")
    with pytest.raises(error, match=match):
        sdesolve.sample(gaussian.model(proc, "eps"), (2, 2), "adaptive", process="vp", **options)


def test_max_steps_and_a_grid_ending_at_sigma_zero(gaussian) -> None:
    proc = registry().get("process", "vp")
    model = gaussian.model(proc, "eps")
    with pytest.raises(StepSizeError, match="max_steps"):
        sdesolve.sample(model, (2, 2), "adaptive", process="vp", rtol=1e-8, atol=1e-8, max_steps=5)
    with pytest.raises(ValueError, match="σ = 0"):
        sdesolve.sample(model, (2, 2), "adaptive", process="vp", grid=torch.tensor([1.0, 0.0], dtype=F64))
