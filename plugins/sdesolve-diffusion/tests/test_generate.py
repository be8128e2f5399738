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

ROOT = Path(__file__).resolve().parent  # this tests folder: toy_model is importable from it
# the in-process runs sample the toy models without a checkpoint on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sdesolve_diffusion.generate.NoCheckpointWarning")
MODEL = "toy_model:TinyEps"


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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_checkpoints_load_weights_only(tmp_path) -> None:
    from toy_model import Pickled, TinyEps

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
    from toy_model import TinyEps

    import sdesolve

    model = TinyEps().to(model_dtype)
    x = sdesolve.sample(model, (8, 4), "ddram", steps=6, dtype=torch.float32, seeds=list(range(8)))
    reference = sdesolve.sample(TinyEps(), (8, 4), "ddram", steps=6, dtype=torch.float32, seeds=list(range(8)))
    assert x.dtype == torch.float32 and torch.isfinite(x).all()
    # half-precision network, float32 solver state: close relative to the samples' scale (the untrained network's
    # samples reach |x| ~ 200, where an elementwise atol says nothing)
    assert torch.linalg.norm(x - reference) <= 0.01 * torch.linalg.norm(reference)
    assert not torch.equal(x, reference)  # the network did run in half precision
    assert not x.requires_grad  # sampling runs without autograd


@pytest.mark.gpu
@pytest.mark.parametrize("sampler", ["ddram", "ddim", "edm_heun"])
def test_cpu_and_cuda_samples_agree_with_per_sample_seeds(sampler) -> None:
    """Per-sample seeds draw on the CPU, so CUDA sees the same noise; results agree to 1e-5 (float32 state)."""
    from toy_model import TinyEps

    import sdesolve

    cpu = sdesolve.sample(TinyEps(), (16, 4), sampler, steps=8, seeds=list(range(16)))
    gpu = sdesolve.sample(TinyEps().cuda(), (16, 4), sampler, steps=8, seeds=list(range(16)), device="cuda")
    assert torch.allclose(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)


# --- issue 9 §2: faults ------------------------------------------------------------------------------------------

SMALL = ["--model", MODEL, "--shape", "4", "--n", "6", "--batch", "2", "--sampler", "ddim", "--steps", "3", "--quiet"]


def _small(**kw) -> RunConfig:
    return RunConfig(**{"model": MODEL, "shape": [4], "n": 6, "batch": 2, "sampler": "ddim", "steps": 3, **kw})


def _torchrun(args: list[str], out: Path, port: int, env_extra: dict[str, str] | None = None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(port)]
    return subprocess.run(
        [*command, "-m", "sdesolve", "sample", *args, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_torchrun_ranks_follow_rank_0_even_when_they_start_late(tmp_path) -> None:
    """Fault 1: a rank that looks at --out after rank 0 wrote the manifest must join the run, not refuse it."""
    args = ["--model", MODEL, "--shape", "4", "--num-samples", "5", "--batch", "2", "--sampler", "ddim"]
    args += ["--steps", "3", "--quiet"]
    single = tmp_path / "single"
    assert _cli(*args, "--out", str(single)).returncode == 0
    slow = {"PYTHONPATH": f"{ROOT / 'slow_ranks'}{os.pathsep}{ROOT}"}
    result = _torchrun(args, tmp_path / "multi", 29518, {**slow, "SDESOLVE_TEST_SLOW_RANKS": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert _shard_bytes(tmp_path / "multi") == _shard_bytes(single)
    # a refusal reaches every rank with the same clear error
    result = _torchrun(args, tmp_path / "multi", 29518, {**slow, "SDESOLVE_TEST_SLOW_RANKS": "1"})
    assert result.returncode != 0
    assert result.stderr.count("already holds a run; pass --resume") == 2, result.stderr[-3000:]


def test_resume_does_not_compare_the_device(tmp_path) -> None:
    """Fault 2: under torchrun each rank records its own cuda:{LOCAL_RANK}; the device is not the run's identity."""
    run(_small(device="cpu"), tmp_path)
    reference = _shard_bytes(tmp_path)
    for name in ("shard-000001.npy", "shard-000001.sha256"):
        (tmp_path / name).unlink()
    manifest = run(_small(device="cpu:0"), tmp_path, resume=True)  # another spelling, as cuda:1 is for rank 1
    assert manifest["complete"] and manifest["config"]["device"] == "cpu:0"
    assert _shard_bytes(tmp_path) == reference


def test_foreign_and_swapped_shards_are_recomputed_on_resume(tmp_path) -> None:
    """Fault 3: a shard is bound to its run and index; a seed-8 shard or swapped shards never enter a seed-7 run."""
    seven, eight = tmp_path / "seven", tmp_path / "eight"
    run(_small(seed=7), seven)
    run(_small(seed=8), eight)
    reference = _shard_bytes(seven)
    expected = load_samples(seven)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for name, data in reference.items():
        (foreign / name).write_bytes(data)
    (foreign / "manifest.json").write_bytes((seven / "manifest.json").read_bytes())
    for name in ("shard-000001.npy", "shard-000001.sha256"):  # copied, with its checksum, from the seed-8 run
        (foreign / name).write_bytes((eight / name).read_bytes())
    run(_small(seed=7), foreign, resume=True)
    assert _shard_bytes(foreign) == reference
    np.testing.assert_array_equal(load_samples(foreign), expected)
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    for name, data in reference.items():  # shards 0 and 2 swapped together with their checksum files
        (swapped / name.replace("000000", "X").replace("000002", "000000").replace("X", "000002")).write_bytes(data)
    (swapped / "manifest.json").write_bytes((seven / "manifest.json").read_bytes())
    run(_small(seed=7), swapped, resume=True)
    assert _shard_bytes(swapped) == reference
    np.testing.assert_array_equal(load_samples(swapped), expected)


def test_a_new_run_does_not_adopt_shards_of_a_deleted_manifest(tmp_path) -> None:
    """Fault 4: with manifest.json deleted, a run with another seed recomputes every shard of the old run."""
    run(_small(seed=7), tmp_path / "old")
    (tmp_path / "old" / "manifest.json").unlink()
    run(_small(seed=8), tmp_path / "old")
    run(_small(seed=8), tmp_path / "fresh")
    assert _shard_bytes(tmp_path / "old") == _shard_bytes(tmp_path / "fresh")
    np.testing.assert_array_equal(load_samples(tmp_path / "old"), load_samples(tmp_path / "fresh"))


@pytest.mark.slow
def test_a_second_writer_is_refused_while_a_run_holds_the_folder(tmp_path) -> None:
    """Fault 5: two real processes on one --out: the second gets a clear error naming the folder."""
    out, gate = tmp_path / "run", tmp_path / "gate"
    args = ["--model", "toy_model:GatedEps", "--shape", "4", "--n", "6", "--batch", "2"]
    args += ["--sampler", "ddim", "--steps", "3", "--quiet", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDESOLVE_TEST_GATE=str(gate))
    first = subprocess.Popen(
        [sys.executable, "-m", "sdesolve", "sample", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120  # the first run holds the lock and waits at its first shard
        while not (out / "manifest.json").exists() and time.time() < deadline and first.poll() is None:
            time.sleep(0.05)
        assert (out / "manifest.json").exists() and first.poll() is None
        for extra in (["--resume"], ["--seed", "8"], ["--seed", "8", "--resume"]):
            second = subprocess.run(
                [sys.executable, "-m", "sdesolve", "sample", *args, *extra],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert second.returncode == 2, second.stderr
            assert f"{out} is in use: another `sdesolve sample` is writing to it" in second.stderr
        gate.touch()
        assert first.wait(timeout=300) == 0, first.stderr.read()
    finally:
        gate.touch()
        first.wait(timeout=300)
        first.stderr.close()
        first.stdout.close()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["config"]["seed"] == 0
    run(
        RunConfig(model="toy_model:GatedEps", shape=[4], n=6, batch=2, sampler="ddim", steps=3),
        gate.parent / "ref",
    )
    assert _shard_bytes(out) == _shard_bytes(gate.parent / "ref")


@pytest.mark.slow
def test_a_failed_start_writes_nothing_and_does_not_block_the_folder(tmp_path) -> None:
    """Fault 6: typos are refused before anything is written; a folder without shards may be replaced."""

    def without(flag: str) -> list[str]:
        i = SMALL.index(flag)
        return SMALL[:i] + SMALL[i + 2 :]

    bad = {
        "cannot import it": [*without("--model"), "--model", "toy_model:TinyEpz"],
        "unknown sampler 'ddimm'; did you mean 'ddim'": [*without("--sampler"), "--sampler", "ddimm"],
        "unknown process 'vq'": [*SMALL, "--process", "vq"],
        "--option etaa: not an option of sampler 'ddim'": [*SMALL, "--option", "etaa=0.5"],
        "fails on one sample of --shape 5": [*without("--shape"), "--shape", "5"],
        "does not exist": [*SMALL, "--checkpoint", str(tmp_path / "missing.pt")],
    }
    for i, (message, args) in enumerate(bad.items()):
        out = tmp_path / f"typo{i}"
        result = _cli(*args, "--out", str(out))
        assert result.returncode == 2 and message in result.stderr, (message, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
        assert not (out / "manifest.json").exists()
    # an option value the sampler refuses only once it runs: the manifest is written, no shard is
    for i, extra in enumerate(([], ["--resume"])):
        out = tmp_path / f"late{i}"
        result = _cli(*SMALL, "--option", "eta=-1", "--out", str(out))
        assert result.returncode == 2 and "eta must be a finite number" in result.stderr
        assert (out / "manifest.json").exists() and not list(out.glob("shard-*"))
        result = _cli(*SMALL, "--out", str(out), *extra)  # the corrected command, with and without --resume
        assert result.returncode == 0, result.stderr
        assert load_samples(out).shape == (6, 4)
    # a refused resume names the fields that differ, old value → new value
    with pytest.raises(ValueError, match=r"seed: 0 → 1; steps: 3 → 4"):
        run(_small(seed=1, steps=4), tmp_path / "late0", resume=True)


@pytest.mark.slow
def test_non_finite_denoise_output_is_never_written(tmp_path) -> None:
    """Fault 7: NaN from the final denoise call: exit non-zero, no shard holding NaN, the run stays incomplete."""
    out = tmp_path / "nan"
    args = ["--model", "toy_model:NanAtDenoise", "--shape", "4", "--n", "4", "--batch", "2"]
    args += ["--sampler", "ddim", "--steps", "4", "--option", "denoise=true", "--quiet", "--out", str(out)]
    result = _cli(*args)
    assert result.returncode == 1, result.stderr
    assert ("NaN or inf" in result.stderr or "non-finite" in result.stderr) and "Traceback" not in result.stderr
    assert not list(out.glob("shard-*"))
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    with pytest.raises(ValueError, match="incomplete run"):
        load_samples(out)
    # the same model without the denoise call is fine
    assert _cli(*args[: args.index("--option")], "--quiet", "--out", str(tmp_path / "ok")).returncode == 0


@pytest.mark.slow
def test_a_model_module_in_the_current_folder_is_found(tmp_path) -> None:
    """Fault 8a: `--model mine:Net` finds mine.py in the current folder, as torchrun and python -m do."""
    (tmp_path / "mine.py").write_text(
        "import torch\n\nclass Net(torch.nn.Module):\n    def forward(self, x, t):\n        return 0.1 * x\n"
    )
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    tail = ["--sampler", "ddim", "--steps", "2", "--quiet", "--out", "out"]
    result = subprocess.run(
        # -P: like the `sdesolve` console script, the interpreter puts nothing of the current folder on sys.path
        [sys.executable, "-P", "-m", "sdesolve", "sample", "--model", "mine:Net", "--shape", "4", "--n", "2", *tail],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert load_samples(tmp_path / "out").shape == (2, 4)


@pytest.mark.slow
def test_the_model_rule_classes_marked_factories_and_plain_callables(tmp_path) -> None:
    """Fault 8b: classes are instantiated, marked functions are factories, other callables must take (x, t)."""
    from sdesolve_diffusion.generate import load_model
    from toy_model import TinyEps

    assert isinstance(load_model(MODEL), TinyEps)
    marked = load_model("toy_model:build_marked")
    assert isinstance(marked, TinyEps) and float(marked.lin.bias.detach().sum()) != float(
        TinyEps().lin.bias.detach().sum()
    )
    x = torch.ones(2, 4)
    assert torch.equal(load_model("toy_model:eps_function")(x, torch.zeros(2)), 0.1 * x)
    with pytest.raises(ValueError, match=r"cannot be called as model\(x, t\).*_sdesolve_factory = True"):
        load_model("toy_model:build_unmarked")
    result = _cli(*SMALL[2:], "--model", "toy_model:build_unmarked", "--out", str(tmp_path / "u"))
    assert result.returncode == 2 and "_sdesolve_factory = True" in result.stderr and "Traceback" not in result.stderr
    assert _cli(*SMALL[2:], "--model", "toy_model:build_marked", "--out", str(tmp_path / "m")).returncode == 0


@pytest.mark.slow
def test_without_a_checkpoint_every_process_builds_the_same_weights_and_is_warned(tmp_path) -> None:
    """Fault 8c: random initialisation is seeded from the run seed; a loud warning says no checkpoint was given."""
    args = ["--model", "toy_model:RandomInit", *SMALL[2:]]
    first, second = _cli(*args, "--out", str(tmp_path / "a")), _cli(*args, "--out", str(tmp_path / "b"))
    assert first.returncode == second.returncode == 0
    assert "WARNING: no --checkpoint given" in first.stderr
    assert _shard_bytes(tmp_path / "a") == _shard_bytes(tmp_path / "b")
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    from sdesolve_diffusion.generate import load_model

    assert torch.equal(
        load_model("toy_model:RandomInit", seed=5).lin.weight,
        load_model("toy_model:RandomInit", seed=5).lin.weight,
    )
    assert torch.equal(torch.random.get_rng_state(), before)  # the caller's RNG is left alone


@pytest.mark.slow
def test_damaged_manifests_and_missing_checkpoints_are_clear_errors(tmp_path) -> None:
    """Fault 8d: unreadable/truncated manifests and missing checkpoints: a message naming the file, no traceback."""
    out = tmp_path / "run"
    run(_small(), out)
    manifest = out / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:40])  # truncated
    result = _cli(*SMALL, "--out", str(out), "--resume")
    assert result.returncode == 2 and f"{manifest} cannot be read as a run manifest" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(ValueError, match="cannot be read as a run manifest"):
        load_samples(out)
    manifest.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="cannot be read as a run manifest"):
        run(_small(), out, resume=True)
    result = _cli(*SMALL, "--checkpoint", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "c"))
    assert result.returncode == 2 and "nope.pt' does not exist" in result.stderr
    assert "pickled" not in result.stderr


def test_output_files_follow_the_umask(tmp_path) -> None:
    """Fault 8e: shards, checksums and manifest are created 0o666 & ~umask, not mkstemp's 0600."""
    old = os.umask(0o022)
    try:
        run(_small(), tmp_path)
    finally:
        os.umask(old)
    files = [*tmp_path.glob("shard-*"), tmp_path / "manifest.json"]
    assert files and {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o644)}


def test_a_tuple_shape_can_be_resumed(tmp_path) -> None:
    """Fault 8f: RunConfig(shape=(4,)) is normalised to a list, so --resume recognises its own run."""
    run(_small(shape=(4,)), tmp_path)
    (tmp_path / "shard-000002.npy").unlink()
    assert run(_small(shape=(4,)), tmp_path, resume=True)["complete"]
    assert load_samples(tmp_path).shape == (6, 4)


def test_the_progress_bar_reaches_n_when_n_is_not_a_multiple_of_batch(tmp_path, capsys) -> None:
    """Fault 8g: the bar counts samples, not shards × batch."""
    run(RunConfig(model=MODEL, shape=[4], n=10, batch=4, sampler="ddim", steps=2), tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "10/10" in err and "/12" not in err


@pytest.mark.parametrize(
    "sampler,options,ok",
    [
        ("ddram", {"distribution": "uniform", "eta": 0.5, "splitting": "score", "subdivisions": 4}, True),
        ("ddram", {"distributionn": "uniform"}, False),
        ("ddim", {"eta": 0.3, "denoise": True}, True),
        ("ddim", {"distribution": "uniform"}, False),  # a stepper option of another sampler
    ],
)
def test_options_are_checked_against_what_the_sampler_declares(sampler: str, options: dict, ok: bool) -> None:
    """The accepted ``--option`` names are the sampler's ``options()`` (a recipe's include its stepper's), not a
    reading of ``run``'s signature."""
    from sdesolve_diffusion.generate import _check_names

    import sdesolve

    cfg = _small(sampler=sampler, options=options)
    if ok:
        _check_names(cfg)
        return
    with pytest.raises(ValueError, match=rf"--option {next(iter(options))}: not an option of sampler '{sampler}'") as e:
        _check_names(cfg)
    for name in sdesolve.registry().get("sampler", sampler).options():
        assert name in str(e.value)
