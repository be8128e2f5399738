"""ModelAdapter with one float time for the batch (the ancestral, Karras and Li samplers' calls): the same numbers
as per-sample time tensors, coefficients looked up from ``tabulate`` instead of evaluated per call."""

from __future__ import annotations

import pytest
import torch
from sdesolve_diffusion import ModelAdapter
from sdesolve_diffusion.adapters import PREDICTIONS

from sdesolve import registry

F64 = torch.float64


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("process", ["discrete", "vp", "edm"])
@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_a_float_time_gives_what_per_sample_times_give(prediction, process, dtype, mixture2d) -> None:
    proc = registry().get("process", process)
    model = mixture2d.model(proc, prediction)
    times: list[torch.Tensor] = []

    def recording(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        times.append(t)
        return model(x, t)

    adapter = ModelAdapter(recording, proc, prediction)
    x = torch.randn(9, 2, dtype=dtype, generator=torch.Generator().manual_seed(0))
    t = float(proc.t_max) * 0.37
    per_sample = adapter.data_and_eps(torch.full((9,), t, dtype=F64), x)
    at_float = adapter.data_and_eps(t, x)
    tol = 1e-12 if dtype == F64 else 1e-5
    for a, b in zip(per_sample, at_float, strict=True):
        torch.testing.assert_close(b, a, rtol=tol, atol=tol)
    assert times[1].shape == (9,) and times[1].dtype == dtype
    torch.testing.assert_close(times[1], times[0], rtol=tol, atol=0.0)
    torch.testing.assert_close(
        adapter.score(t, x), adapter.score(torch.full((9,), t, dtype=F64), x), rtol=tol, atol=tol
    )


def test_tabulated_times_are_looked_up_not_evaluated(mixture2d) -> None:
    proc = registry().get("process", "discrete")
    calls = []
    adapter = ModelAdapter(mixture2d.model(proc, "eps"), proc, "eps")
    grid = torch.linspace(999.0, 1.0, 11, dtype=F64)
    adapter.tabulate(grid)
    original = proc.alpha_sigma
    proc.alpha_sigma = lambda t: calls.append(t) or original(t)  # the adapter's own evaluations from here on
    try:
        x = torch.randn(5, 2, dtype=F64)
        for t in grid.tolist():
            adapter.data(t, x)
        assert calls == [] or all(c.numel() == 5 for c in calls)  # the exact model's own (per-sample) calls only
        n_model = len(calls)
        adapter.data(123.25, x)  # not on the grid: tabulated on the fly, once
        adapter.data(123.25, x)
        assert len(calls) - n_model == 3  # one tabulation (1 time) + the model's two per-sample evaluations
    finally:
        del proc.alpha_sigma


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_float_time_is_refused(bad, mixture2d) -> None:
    proc = registry().get("process", "vp")
    adapter = ModelAdapter(mixture2d.model(proc, "eps"), proc, "eps")
    with pytest.raises(ValueError, match="t must be a finite diffusion time"):
        adapter.data(bad, torch.zeros(3, 2))


def test_an_int_or_numpy_time_is_one_time_for_the_batch_and_other_types_are_refused(mixture2d) -> None:
    import numpy as np

    proc = registry().get("process", "discrete")
    adapter = ModelAdapter(mixture2d.model(proc, "eps"), proc, "eps")
    x = torch.randn(4, 2, dtype=F64, generator=torch.Generator().manual_seed(1))
    want = adapter.data(500.0, x)
    assert torch.equal(adapter.data(500, x), want) and torch.equal(adapter.data(np.float64(500.0), x), want)
    for bad in (True, "500", [500.0]):
        with pytest.raises(TypeError, match="t must be a per-sample time tensor or a number"):
            adapter.data(bad, x)


@pytest.mark.parametrize("process", ["discrete", "vp", "edm"])
def test_coefficients_are_the_process_alpha_and_sigma(process, mixture2d) -> None:
    """``coefficients(t)``, the Karras samplers' α per call, reads the table: the process's float64 α and σ."""
    proc = registry().get("process", process)
    adapter = ModelAdapter(mixture2d.model(proc, "eps"), proc, "eps")
    t = float(proc.t_max) * 0.61
    alpha, sigma = adapter.coefficients(t)
    t64 = torch.tensor([t], dtype=F64)
    assert alpha == float(proc.alpha(t64)) and sigma == float(proc.sigma(t64))
    with pytest.raises(ValueError, match="t must be a finite diffusion time"):
        adapter.coefficients(float("nan"))
