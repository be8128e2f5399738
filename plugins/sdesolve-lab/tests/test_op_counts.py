"""``benchmarks/op_counts.py``: operations per step are counts, not timings, so the launch-count work is guarded
here. These are the claims of docs/gpu.md: fewer operations per step than diffusers' scheduler loops for ``ddim``
and ``dpm_solver_pp_2m``, and per-sample seeds adding at most about 40 operations per draw."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "op_counts.py"


@pytest.fixture(scope="module")
def counts() -> dict[str, float]:
    pytest.importorskip("diffusers")
    spec = importlib.util.spec_from_file_location("op_counts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    steps = 20
    jobs = module.rows(torch.device("cpu"), steps, 8, 4)
    return {name: module.count(fn)[0] / steps for name, fn in jobs.items()}


def test_ddim_and_dpm_solver_make_fewer_operations_per_step_than_diffusers(counts) -> None:
    assert counts["sdesolve ddim"] < counts["diffusers DDIMScheduler loop"]
    assert counts["sdesolve dpm_solver_pp_2m"] < counts["diffusers DPMSolverMultistepScheduler loop"]
    assert counts["sdesolve unipc"] < counts["diffusers UniPCMultistepScheduler loop"]


def test_per_sample_seeds_cost_at_most_about_forty_operations_per_draw(counts) -> None:
    seeded = counts["euler_maruyama, per-sample seeds"] - counts["euler_maruyama through solve"]
    assert 0 < seeded <= 40, seeded
