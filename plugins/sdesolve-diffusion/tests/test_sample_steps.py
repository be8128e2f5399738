"""``sdesolve sample`` without ``--steps``: 50 for a sampler with a step count, 1 for an adaptive sampler (its grid
times are forced stops: 50 would force 50 stops and waste evaluations); an explicit ``--steps`` is honoured."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sdesolve_diffusion.commands import DEFAULT_STEPS, default_steps
from sdesolve_diffusion.generate import load_samples

from sdesolve.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::sdesolve_diffusion.generate.NoCheckpointWarning")
COMMON = ["sample", "--model", "toy_model:TinyEps", "--shape", "4", "--n", "4", "--batch", "4", "--quiet"]


def _config(out) -> dict:
    return json.loads((out / "manifest.json").read_text())["config"]


def test_default_steps_follow_the_sampler() -> None:
    assert default_steps("adaptive") == 1
    assert default_steps("ddim") == DEFAULT_STEPS == 50
    assert default_steps("no_such_sampler") == 50  # refused by name later, with the other names


def test_an_adaptive_sample_without_steps_solves_end_to_end(tmp_path) -> None:
    adaptive = [*COMMON, "--sampler", "adaptive", "--option", "rtol=1e-2", "--option", "atol=1e-2"]
    assert main([*adaptive, "--out", str(tmp_path / "default")]) == 0
    assert _config(tmp_path / "default")["steps"] == 1  # was 50: 50 forced stops
    assert main([*adaptive, "--steps", "1", "--out", str(tmp_path / "one")]) == 0
    np.testing.assert_array_equal(load_samples(tmp_path / "default"), load_samples(tmp_path / "one"))
    assert main([*adaptive, "--steps", "8", "--grid", "edm", "--out", str(tmp_path / "eight")]) == 0
    assert _config(tmp_path / "eight")["steps"] == 8  # explicit --steps honoured
    assert not np.array_equal(load_samples(tmp_path / "default"), load_samples(tmp_path / "eight"))
    assert main([*COMMON, "--sampler", "ddim", "--out", str(tmp_path / "ddim")]) == 0
    assert _config(tmp_path / "ddim")["steps"] == 50
