"""The ``adaptive`` sampler with a data-prediction model on the DDPM table: the starting-step heuristic's probe used to
leave the interval (t = 1000 - 2550 < 0) and start with a zero step ("step size 0 at t = 1000 is below round-off");
found by ``test_properties_sample.py``. The drivers' own regression tests: the core's
``tests/test_adaptive_initial_step.py``."""

from __future__ import annotations

import pytest
import torch

import sdesolve


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_the_adaptive_sampler_on_the_ddpm_table_with_a_data_prediction_model(prediction) -> None:
    def model(x, t):
        return 0.1 * torch.tanh(x)

    out = sdesolve.sample(model, (2, 1), "adaptive", steps=1, process="discrete", prediction=prediction, seeds=[0, 1])
    assert torch.isfinite(out).all()
