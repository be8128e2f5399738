"""``benchmarks/lab_hard.py``'s multi-seed tables: rows averaged over the seeds, the verdict recomputed from the means
(one seed's verdict on ``sharp1d`` at 40 NFE flips with the draw)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "lab_hard.py"


@pytest.fixture(scope="module")
def lab_hard():
    spec = importlib.util.spec_from_file_location("lab_hard", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(seed: int, ours: float, peer: float) -> dict:
    def row(method: str, library: str, error: float) -> dict:
        return {"method": method, "library": library, "stochastic": True, "budget": 10, "nfe": 10, "error": error,
                "strong_error": None, "failure": None}  # fmt: skip

    return {
        "problem": {"description": "toy", "n": 100},
        "metric": "W1",
        "floor": 0.001 * (1 + seed),
        "floor_draws": [0.001],
        "flow_floor": 0.0,
        "config": {"seed": seed},
        "machine": {"platform": "x", "threads": 1, "torch": "t"},
        "rows": [row("sdesolve:a", "sdesolve", ours), row("k-diffusion:b", "k-diffusion", peer)],
        "summary": {},
    }


def test_merge_averages_rows_and_recomputes_the_verdict(lab_hard) -> None:
    # seed 0 alone: peer 1.5x ahead; seed 1 alone: ours 2x ahead; the means (0.03 vs 0.035) are a tie
    merged = lab_hard.merge_seeds([_result(0, 0.03, 0.02), _result(1, 0.03, 0.05)])
    assert [r["error"] for r in merged["rows"]] == pytest.approx([0.03, 0.035])
    assert merged["floor"] == pytest.approx(0.0015)
    entry = merged["summary"]["stochastic"][0]
    assert entry["ours"]["error"] == pytest.approx(0.03) and entry["peer"]["error"] == pytest.approx(0.035)
    assert entry["verdict"].startswith("tie")
    assert merged["config"]["seed"] == "0, 1"


def test_merge_refuses_runs_with_other_rows(lab_hard) -> None:
    other = _result(1, 0.03, 0.05)
    other["rows"] = other["rows"][:1]
    with pytest.raises(ValueError, match="same rows"):
        lab_hard.merge_seeds([_result(0, 0.03, 0.02), other])


def test_markdown_reads_the_seed_folders(lab_hard, tmp_path) -> None:
    for seed in (0, 1):
        folder = tmp_path / "toy" / f"seed{seed}"
        folder.mkdir(parents=True)
        (folder / "results.json").write_text(json.dumps(_result(seed, 0.03, 0.02 if seed == 0 else 0.05)))
    text = lab_hard.markdown(str(tmp_path), ["toy"])
    assert "seeds 0, 1 (mean over the seeds)" in text
    assert "| 10 | `sdesolve:a` | 0.03 | `k-diffusion:b` | 0.035 |" in text
