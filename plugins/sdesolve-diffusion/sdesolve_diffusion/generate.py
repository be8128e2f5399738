"""``sdesolve sample``: sample a user's model at scale, in atomically written shards, resumable, multi-process.

* **Reproducible noise.** Sample ``i`` gets its own generator seeded by ``sample_seed(seed, i)`` (SHA-256 of
  ``"{seed}:{i}"``), so it depends on ``(seed, i)`` only — not on the batch size, its position in a batch, the
  number of shards or of processes.
* **Shards.** Indices are cut into shards of ``batch`` consecutive samples; shard ``k`` holds samples
  ``[k·batch, min((k+1)·batch, n))`` as ``shard-{k:06d}.npy``, written to a temporary file, fsynced and renamed, so a
  shard file is either complete or absent. Its SHA-256 goes into ``shard-{k:06d}.sha256`` (written the same way).
* **Manifest.** ``manifest.json`` records the configuration, the seed rule, package versions and, once the run is
  complete, every shard with its index range and checksum. ``--resume`` refuses a different configuration, skips
  shards whose checksum verifies, and recomputes the others: the result is byte-identical to an uninterrupted run.
* **Processes.** Under ``torchrun`` (``WORLD_SIZE > 1``) rank ``r`` of ``W`` takes shards ``k ≡ r (mod W)``; rank 0
  writes the final manifest after a barrier. The shards are the single-process shards, byte for byte.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import sdesolve

__all__ = ["RunConfig", "load_model", "run", "sample_seed"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample ``index`` of a run seeded ``seed`` (63 bits of SHA-256)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:8], "little") >> 1


def load_model(spec: str, checkpoint: str | None = None, device: str = "cpu") -> Callable[..., torch.Tensor]:
    """The model named ``module:attr``: a callable ``model(x, t)``, or a factory (an ``nn.Module`` class or a function
    of no arguments) returning one. With ``checkpoint`` its ``state_dict`` is loaded *safely*: ``.safetensors`` files
    through safetensors, anything else through ``torch.load(weights_only=True)`` — never by unpickling objects."""
    if ":" not in spec:
        raise ValueError(f"--model must look like 'package.module:attribute', got {spec!r}")
    module_name, attr = spec.split(":", 1)
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--model {spec!r}: cannot import it ({type(exc).__name__}: {exc})") from exc
    model = obj() if isinstance(obj, type) or getattr(obj, "_sdesolve_factory", False) else obj
    if checkpoint is not None:
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"--checkpoint needs an nn.Module model; {spec!r} gave {type(model).__name__}")
        model.load_state_dict(load_state_dict(checkpoint))
    if isinstance(model, torch.nn.Module):
        model = model.to(device).eval()
    if not callable(model):
        raise ValueError(f"--model {spec!r} is not callable as model(x, t)")
    return model


def load_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Tensors only: safetensors, or ``torch.load(weights_only=True)`` with a clear error for pickled objects."""
    if path.endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ValueError("reading .safetensors needs the safetensors package (pip install safetensors)") from exc
        return load_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"--checkpoint {path!r} could not be loaded with torch.load(weights_only=True): it holds pickled objects "
            "beyond tensors, which sdesolve never unpickles (unpickling runs arbitrary code). Save the model's "
            f"state_dict (torch.save(model.state_dict(), path)) or a .safetensors file. ({type(exc).__name__})"
        ) from exc
    if not isinstance(state, dict):
        raise ValueError(
            f"--checkpoint {path!r} must hold a state_dict (a dict of tensors), got {type(state).__name__}"
        )
    return state


@dataclass
class RunConfig:
    model: str
    shape: list[int]
    n: int
    batch: int = 64
    sampler: str = "ddram"
    process: str = "vp"
    prediction: str = "eps"
    steps: int = 50
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    checkpoint: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if self.n < 1 or self.batch < 1 or self.steps < 1:
            raise ValueError(f"--n, --batch and --steps must be positive, got {self.n}, {self.batch}, {self.steps}")
        if not self.shape or any(s < 1 for s in self.shape):
            raise ValueError(f"--shape must be positive sizes, got {self.shape}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"--dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")

    @property
    def shards(self) -> int:
        return -(-self.n // self.batch)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _shard_done(out: Path, k: int) -> bool:
    data, check = out / f"shard-{k:06d}.npy", out / f"shard-{k:06d}.sha256"
    if not (data.exists() and check.exists()):
        return False
    return hashlib.sha256(data.read_bytes()).hexdigest() == check.read_text().strip()


def _versions() -> dict[str, str]:
    from sdesolve_diffusion import __version__ as plugin_version

    return {
        "sdesolve": sdesolve.__version__,
        "sdesolve-diffusion": plugin_version,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def run(
    cfg: RunConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = False,
    rank: int = 0,
    world: int = 1,
    barrier: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Generate (this rank's share of) the shards and, on rank 0, the final manifest."""
    cfg.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    config = asdict(cfg)
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text())
        if not resume:
            raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        if previous["config"] != config:
            raise ValueError(
                f"--resume: the configuration differs from the one in {manifest_path}; refusing to mix runs"
            )
    elif rank == 0:
        _atomic_write(manifest_path, json.dumps({"config": config, "complete": False}, indent=2).encode())
    if rank == 0:
        for stale in out.glob(".shard-*.tmp"):  # left by a killed run: never part of the result
            stale.unlink(missing_ok=True)
    model = load_model(cfg.model, cfg.checkpoint, cfg.device)
    dtype = _DTYPES[cfg.dtype]
    mine = [k for k in range(cfg.shards) if k % world == rank]
    todo = [k for k in mine if not _shard_done(out, k)]
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(mine) * cfg.batch,
        initial=(len(mine) - len(todo)) * cfg.batch,
        unit="sample",
        disable=not progress,
        desc=f"rank {rank}" if world > 1 else "sample",
    )
    for k in todo:
        lo, hi = k * cfg.batch, min((k + 1) * cfg.batch, cfg.n)
        seeds = [sample_seed(cfg.seed, i) for i in range(lo, hi)]
        x = sdesolve.sample(
            model,
            (hi - lo, *cfg.shape),
            cfg.sampler,
            steps=cfg.steps,
            process=cfg.process,
            prediction=cfg.prediction,
            seeds=seeds,
            device=cfg.device,
            dtype=dtype,
            **cfg.options,
        )
        data = _npy_bytes(x.detach().cpu().numpy())
        _atomic_write(out / f"shard-{k:06d}.npy", data)
        _atomic_write(out / f"shard-{k:06d}.sha256", hashlib.sha256(data).hexdigest().encode())
        bar.update(hi - lo)
    bar.close()
    if barrier is not None:
        barrier()
    manifest = {"config": config, "complete": False}
    if rank == 0:
        shards = []
        for k in range(cfg.shards):
            if not _shard_done(out, k):
                raise RuntimeError(f"shard {k} is missing or corrupt after the run")
            shards.append(
                {
                    "file": f"shard-{k:06d}.npy",
                    "indices": [k * cfg.batch, min((k + 1) * cfg.batch, cfg.n)],
                    "sha256": (out / f"shard-{k:06d}.sha256").read_text().strip(),
                }
            )
        manifest = {
            "config": config,
            "complete": True,
            "seed_rule": "sample i uses sha256(f'{seed}:{i}')[:8] >> 1",
            "versions": _versions(),
            "shards": shards,
        }
        _atomic_write(manifest_path, json.dumps(manifest, indent=2).encode())
    return manifest


def load_samples(out: str | Path) -> np.ndarray:
    """All samples of a complete run, in index order, checksums verified."""
    out = Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    if not manifest.get("complete"):
        raise ValueError(f"{out} holds an incomplete run; finish it with --resume")
    parts = []
    for shard in manifest["shards"]:
        data = (out / shard["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != shard["sha256"]:
            raise ValueError(f"{shard['file']} does not match its checksum in the manifest")
        parts.append(np.load(out / shard["file"], allow_pickle=False))
    return np.concatenate(parts)
