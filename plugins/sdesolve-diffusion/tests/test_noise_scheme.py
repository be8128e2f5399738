"""`sdesolve sample` records the per-sample noise scheme: a run started under another one is refused on resume."""

from __future__ import annotations

import json

import pytest
from sdesolve_diffusion.generate import RunConfig, run

from sdesolve.random import NOISE_SCHEME

pytestmark = pytest.mark.filterwarnings("ignore::sdesolve_diffusion.generate.NoCheckpointWarning")


def test_a_run_from_another_noise_scheme_is_refused_on_resume(tmp_path) -> None:
    cfg = RunConfig(model="toy_model:TinyEps", shape=[4], n=4, batch=2, sampler="ddpm", steps=3)
    manifest = run(cfg, tmp_path)
    assert manifest["identity"]["noise"] == NOISE_SCHEME
    # a manifest written before the scheme was recorded (one torch.Generator per sample): no "noise" field
    path = tmp_path / "manifest.json"
    old = json.loads(path.read_text())
    del old["identity"]["noise"]
    old["complete"] = False
    path.write_text(json.dumps(old))
    with pytest.raises(ValueError, match=r"configuration differs .*noise: null → .*seed-streams-v1.*refusing to mix"):
        run(cfg, tmp_path, resume=True)
