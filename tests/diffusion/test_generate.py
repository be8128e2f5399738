"""The sampling engine: shards, manifest, kill-and-resume, batch/shard invariance, 2-process gloo, safe loading."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from sdesolve_diffusion.generate import RunConfig, load_samples, run, sample_seed

ROOT = Path(__file__).resolve().parents[2]
MODEL = "tests.diffusion.toy_model:TinyEps"


def _cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "sdesolve", "sample", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _shard_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("shard-*"))}


def test_seeds_depend_on_seed_and_index_only() -> None:
    assert sample_seed(0, 5) == sample_seed(0, 5) != sample_seed(0, 6) != sample_seed(1, 5)
    assert 0 <= sample_seed(123, 10**9) < 2**63


def test_run_writes_checksummed_shards_and_a_manifest(tmp_path) -> None:
    cfg = RunConfig(model=MODEL, shape=[4], n=10, batch=4, sampler="ddim", steps=5)
    manifest = run(cfg, tmp_path)
    assert manifest["complete"] and [s["indices"] for s in manifest["shards"]] == [[0, 4], [4, 8], [8, 10]]
    assert set(manifest["versions"]) >= {"sdesolve", "torch"}
    x = load_samples(tmp_path)
    assert x.shape == (10, 4) and x.dtype == np.float32 and np.isfinite(x).all()
    (tmp_path / "shard-000001.npy").write_bytes(b"corrupt")
    with pytest.raises(ValueError, match="does not match its checksum"):
        load_samples(tmp_path)
    with pytest.raises(ValueError, match="already holds a run; pass --resume"):
        run(cfg, tmp_path)
    other = RunConfig(model=MODEL, shape=[4], n=10, batch=4, sampler="ddim", steps=6)
    with pytest.raises(ValueError, match="configuration differs"):
        run(other, tmp_path, resume=True)
    run(cfg, tmp_path, resume=True)  # recomputes the corrupt shard
    np.testing.assert_array_equal(load_samples(tmp_path), x)


@pytest.mark.parametrize("sampler", ["ddram", "ddpm"])
def test_samples_do_not_depend_on_batch_size_or_shards(tmp_path, sampler) -> None:
    runs = {}
    for batch in (3, 5, 12):
        cfg = RunConfig(model=MODEL + "64", shape=[4], n=12, batch=batch, sampler=sampler, steps=6, dtype="float64")
        run(cfg, tmp_path / str(batch))
        runs[batch] = load_samples(tmp_path / str(batch))
    # per-sample generators make the noise identical; the network's batched matmul may round differently
    np.testing.assert_allclose(runs[3], runs[12], rtol=1e-12, atol=0)
    np.testing.assert_allclose(runs[5], runs[12], rtol=1e-12, atol=0)


def test_kill_mid_run_and_resume_gives_the_same_bytes(tmp_path) -> None:
    args = [
        "--model",
        MODEL,
        "--shape",
        "4",
        "--n",
        "48",
        "--batch",
        "2",
        "--sampler",
        "ddram",
        "--steps",
        "150",
        "--quiet",
    ]
    reference = tmp_path / "reference"
    assert _cli(*args, "--out", str(reference)).returncode == 0
    killed = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdesolve", "sample", *args, "--out", str(killed)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while len(list(killed.glob("shard-*.sha256"))) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(killed.glob("shard-*.sha256")))
    assert 3 <= done < 24, f"the run should have been killed mid-way ({done} of 24 shards)"
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["complete"] is False
    result = _cli(*args, "--out", str(killed), "--resume")
    assert result.returncode == 0, result.stderr
    assert _shard_bytes(killed) == _shard_bytes(reference)
    assert (
        json.loads((killed / "manifest.json").read_text())["shards"]
        == json.loads((reference / "manifest.json").read_text())["shards"]
    )
    assert not list(killed.glob(".shard-*.tmp"))


def test_two_gloo_processes_equal_one_process_byte_for_byte(tmp_path) -> None:
    args = [
        "--model",
        MODEL,
        "--shape",
        "4",
        "--num-samples",
        "10",
        "--batch",
        "3",
        "--sampler",
        "ddram",
        "--steps",
        "8",
        "--quiet",
    ]
    single = tmp_path / "single"
    assert _cli(*args, "--out", str(single)).returncode == 0
    multi = tmp_path / "multi"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-port",
            "29517",
            "-m",
            "sdesolve",
            "sample",
            *args,
            "--out",
            str(multi),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert _shard_bytes(multi) == _shard_bytes(single)
    assert (
        json.loads((multi / "manifest.json").read_text())["shards"]
        == json.loads((single / "manifest.json").read_text())["shards"]
    )


def test_checkpoints_load_weights_only(tmp_path) -> None:
    from tests.diffusion.toy_model import Pickled, TinyEps

    model = TinyEps()
    with torch.no_grad():
        model.lin.bias.add_(1.0)
    good = tmp_path / "weights.pt"
    torch.save(model.state_dict(), good)
    cfg = RunConfig(model=MODEL, shape=[4], n=4, batch=4, sampler="ddim", steps=3, checkpoint=str(good))
    run(cfg, tmp_path / "with")
    run(RunConfig(model=MODEL, shape=[4], n=4, batch=4, sampler="ddim", steps=3), tmp_path / "without")
    assert not np.array_equal(load_samples(tmp_path / "with"), load_samples(tmp_path / "without"))
    bad = tmp_path / "pickled.pt"
    torch.save({"model": Pickled()}, bad)
    result = _cli(
        "--model",
        MODEL,
        "--shape",
        "4",
        "--n",
        "2",
        "--checkpoint",
        str(bad),
        "--out",
        str(tmp_path / "bad"),
        "--quiet",
    )
    assert result.returncode == 2 and "never unpickles" in result.stderr
    result = _cli("--model", "nope.nothing:Model", "--shape", "4", "--n", "2", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "cannot import it" in result.stderr


@pytest.mark.parametrize("model_dtype", [torch.bfloat16, torch.float16])
def test_a_half_precision_network_with_a_float32_state(model_dtype) -> None:
    import sdesolve
    from tests.diffusion.toy_model import TinyEps

    model = TinyEps().to(model_dtype)
    x = sdesolve.sample(model, (8, 4), "ddram", steps=6, dtype=torch.float32, seeds=list(range(8)))
    reference = sdesolve.sample(TinyEps(), (8, 4), "ddram", steps=6, dtype=torch.float32, seeds=list(range(8)))
    assert x.dtype == torch.float32 and torch.isfinite(x).all()
    assert torch.allclose(x, reference, rtol=0.02, atol=0.05)  # half-precision network, float32 solver state
    assert not x.requires_grad  # sampling runs without autograd


@pytest.mark.gpu
@pytest.mark.parametrize("sampler", ["ddram", "ddim", "edm_heun"])
def test_cpu_and_cuda_samples_agree_with_per_sample_seeds(sampler) -> None:
    """Per-sample seeds draw on the CPU, so CUDA sees the same noise; results agree to 1e-5 (float32 state)."""
    import sdesolve
    from tests.diffusion.toy_model import TinyEps

    cpu = sdesolve.sample(TinyEps(), (16, 4), sampler, steps=8, seeds=list(range(16)))
    gpu = sdesolve.sample(TinyEps().cuda(), (16, 4), sampler, steps=8, seeds=list(range(16)), device="cuda")
    assert torch.allclose(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
