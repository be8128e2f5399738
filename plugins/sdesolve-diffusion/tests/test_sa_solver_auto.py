"""``sa_solver``'s ``corrector_order="auto"``: 1 on a coarse grid (steps dividing σ/α by more than COARSE_RATIO on
average), 3 otherwise; the default, resolved before the stepper is built, and an explicit order always wins."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from sdesolve_diffusion.samplers.multistep import COARSE_RATIO
from sdesolve_diffusion.samplers.sa_solver import SASolverSampler, auto_corrector_order

import sdesolve


def _grid(process: str, steps: int, name: str = "logsnr") -> tuple[Any, torch.Tensor]:
    proc = sdesolve.registry().get("process", process)
    return proc, sdesolve.registry().get("grid", name)(proc, steps, t_min=0.002)


@pytest.mark.parametrize("grid", ["logsnr", "edm", "uniform"])
def test_auto_depends_on_the_mean_step_ratio_not_the_grid_shape(grid) -> None:
    proc, coarse = _grid("vp", 5, grid)
    _, fine = _grid("vp", 40, grid)
    sigma = proc.edm_sigma(coarse[[0, -1]])
    assert float(sigma[0] / sigma[1]) ** (1 / 5) > COARSE_RATIO  # the premise: 5 steps over the vp range are coarse
    assert auto_corrector_order(proc, coarse) == 1
    assert auto_corrector_order(proc, fine) == 3


def test_auto_is_the_default_and_equals_the_order_it_stands_for(mixture2d) -> None:
    assert SASolverSampler.options()["corrector_order"] == "auto"
    vp = sdesolve.registry().get("process", "vp")
    model = mixture2d.model(vp, "eps")
    x_T = torch.randn(64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def run(steps: int, **options) -> torch.Tensor:
        gen = torch.Generator().manual_seed(1)
        return sdesolve.sample(
            model, x_T, "sa_solver", steps=steps, process="vp", grid_options={"t_min": 0.002}, generator=gen, **options
        )

    for steps, order in ((5, 1), (40, 3)):
        default = run(steps)
        assert torch.equal(default, run(steps, corrector_order=order))
        other = 3 if order == 1 else 1
        assert not torch.allclose(default, run(steps, corrector_order=other))  # the choice changes the samples


def test_a_bad_corrector_order_is_refused_naming_it(mixture2d) -> None:
    vp = sdesolve.registry().get("process", "vp")
    model = mixture2d.model(vp, "eps")
    x_T = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises((TypeError, ValueError), match="corrector_order"):
        sdesolve.sample(model, x_T, "sa_solver", steps=5, process="vp", corrector_order="automatic")
