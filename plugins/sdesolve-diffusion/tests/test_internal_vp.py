"""Recipe samplers integrate a non-variance-preserving process (edm, ve) on vp at the same noise levels, so every
SDE sampler is as accurate on edm/ve as on vp (issue 11: Euler–Maruyama was ~3x worse on edm)."""

from __future__ import annotations

import pytest
import torch
from sdesolve_diffusion import GaussianMixture

import sdesolve

F64 = torch.float64
SIGMAS = torch.tensor([80.0, 20.0, 5.0, 1.0, 0.3, 0.05, 0.002], dtype=F64)


@pytest.mark.parametrize("process", ["edm", "ve"])
@pytest.mark.parametrize("sampler", ["euler_maruyama_sde", "exponential_euler_sde", "ddram", "ddram_ode"])
def test_a_recipe_on_edm_or_ve_equals_the_same_run_on_vp(process: str, sampler: str) -> None:
    reg = sdesolve.registry()
    p, vp = reg.get("process", process), reg.get("process", "vp")
    sigmas = SIGMAS[SIGMAS <= float(p.edm_sigma(torch.tensor(p.t_max, dtype=F64)))]
    t_p, t_v = p.t_from_edm_sigma(sigmas), vp.t_from_edm_sigma(sigmas)
    target = GaussianMixture.default(dim=2, components=3)
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(0)) * float(p.sigma(t_p[0]))
    seen = []
    a = sdesolve.sample(
        target.model(p, "eps"),
        x_T,
        sampler,
        process=process,
        grid=t_p,
        seeds=range(64),
        dtype=F64,
        callback=seen.append,
    )
    b = sdesolve.sample(
        target.model(vp, "eps"),
        x_T * vp.alpha(t_v[0]) / p.alpha(t_p[0]),
        sampler,
        process="vp",
        grid=t_v,
        seeds=range(64),
        dtype=F64,
    )
    scale = p.alpha(t_p[-1]) / vp.alpha(t_v[-1])
    assert torch.allclose(a, b * scale, rtol=1e-10, atol=1e-10)
    # the callback reports the process's own coordinates at its own times
    assert [info["t"] for info in seen] == pytest.approx(t_p[1:].tolist())
    assert torch.equal(seen[-1]["x"], a)


def test_a_user_brownian_path_keeps_the_process_time() -> None:
    """A path ``bm`` lives in the process's time: such a run is not moved to vp (it follows the path exactly)."""
    from sdesolve.reference import brownian_interval

    edm = sdesolve.registry().get("process", "edm")
    t = edm.t_from_edm_sigma(SIGMAS)
    target = GaussianMixture.default(dim=2, components=3)
    x_T = torch.randn(8, 2, dtype=F64, generator=torch.Generator().manual_seed(1)) * 80
    bm = brownian_interval(t, (8, 2), seed=3)
    a = sdesolve.sample(target.model(edm, "eps"), x_T, "euler_maruyama_sde", process="edm", grid=t, bm=bm, dtype=F64)
    b = sdesolve.sample(target.model(edm, "eps"), x_T, "euler_maruyama_sde", process="edm", grid=t, bm=bm, dtype=F64)
    assert torch.equal(a, b) and bool(torch.isfinite(a).all())
