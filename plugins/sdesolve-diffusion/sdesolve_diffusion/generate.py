"""``sdesolve sample``: sample a user's model at scale, in atomically written shards, resumable, multi-process.

* **Reproducible noise.** Sample ``i`` gets its own generator seeded by ``sample_seed(seed, i)`` (SHA-256 of
  ``"{seed}:{i}"``), so it depends on ``(seed, i)`` only — not on the batch size, its position in a batch, the
  number of shards or of processes.
* **Run identity.** The configuration without the device (which may differ between ranks and between a run and its
  resume), plus the SHA-256 of the checkpoint, is the run's *identity*; ``run_id`` is the start of its SHA-256.
* **Shards.** Indices are cut into shards of ``batch`` consecutive samples; shard ``k`` holds samples
  ``[k·batch, min((k+1)·batch, n))`` as ``shard-{k:06d}.npy``, written to a temporary file, fsynced and renamed, so a
  shard file is either complete or absent. Beside it ``shard-{k:06d}.sha256`` (written the same way) records the
  run id, the shard index, the index range and the SHA-256 of the data: a shard counts as done only if that record
  names this run and this shard and the data matches it (and has the expected shape, dtype and finite values).
  A shard holding NaN or inf is never written: the run stops with :class:`NonFiniteSamplesError`.
* **Manifest.** ``manifest.json`` records the configuration, the identity and run id, the seed rule, package
  versions and, once the run is complete, every shard with its index range and checksum. ``--resume`` refuses a
  different identity (naming the fields that differ), skips shards bound to this run, and recomputes the others:
  the result is byte-identical to an uninterrupted run. A folder holding a manifest but no shard (a start that
  failed) is simply replaced.
* **Validation first.** Before anything is written: sampler, process, prediction and grid names are resolved through
  ``sdesolve.registry()``, options are checked against the sampler, the checkpoint must exist and load, the model
  is imported, built and called once on one sample of ``shape``.
* **One writer.** The run's owner holds an exclusive ``fcntl.flock`` on ``.sdesolve-sample.lock`` in the folder for
  the whole run; a second writer is refused.
* **Processes.** Under ``torchrun`` (``WORLD_SIZE > 1``) rank 0 alone validates, locks and decides, then broadcasts
  the decision (the run id, or the error) so every rank proceeds with the same run or exits with the same error.
  Rank ``r`` of ``W`` takes shards ``k ≡ r (mod W)``; rank 0 writes the final manifest after a barrier. The shards
  are the single-process shards, byte for byte.
* **Models.** ``--model module:attr`` (the current folder is importable): a class is instantiated with no
  arguments; a function marked ``fn._sdesolve_factory = True`` is called with no arguments; anything else is the
  model itself and must be callable as ``model(x, t)``. Construction runs under ``torch.manual_seed(seed)`` (in a
  forked RNG state), so every process and every resume builds the same weights even without a checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
import json
import numbers
import os
import pickle
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import sdesolve
from sdesolve.dtypes import DTYPES as _DTYPES

__all__ = [
    "NoCheckpointWarning",
    "NonFiniteSamplesError",
    "RunConfig",
    "load_model",
    "load_samples",
    "run",
    "sample_seed",
]

MANIFEST = "manifest.json"
LOCK = ".sdesolve-sample.lock"
SEED_RULE = "sample i uses sha256(f'{seed}:{i}')[:8] >> 1"
# keyword arguments of DiffusionSampler.__call__ that ``--option`` may set besides the sampler's own
_CALL_OPTIONS = ("grid", "grid_options", "denoise")


class NonFiniteSamplesError(FloatingPointError):
    """A shard came out holding NaN or inf; it was not written and the run is left incomplete."""


class NoCheckpointWarning(UserWarning):
    """No checkpoint was given: the weights are whatever the model's constructor makes (seeded from the run seed)."""


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample ``index`` of a run seeded ``seed`` (63 bits of SHA-256)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{index}".encode()).digest()[:8], "little") >> 1


def _import(spec: str) -> Any:
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise ValueError(f"--model must look like 'package.module:attribute', got {spec!r}")
    module_name, attr = spec.split(":", 1)
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:  # like `python -m` and torchrun: the current folder is importable
        sys.path.insert(0, cwd)
    try:
        obj = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"--model {spec!r}: cannot import it ({type(exc).__name__}: {exc})") from exc
    return obj


def _callable_as_model(obj: Any) -> bool:
    """Whether ``obj(x, t)`` binds (``nn.Module``\\ s are checked through ``forward``)."""
    if isinstance(obj, torch.nn.Module):
        target = obj.forward
    elif callable(obj):
        target = obj
    else:
        return False
    try:
        inspect.signature(target).bind(None, None)
    except TypeError:
        return False
    except ValueError:  # no signature (builtins): give it the benefit of the doubt
        return True
    return True


def load_model(
    spec: str, checkpoint: str | None = None, device: str = "cpu", seed: int | None = None
) -> Callable[..., torch.Tensor]:
    """The model named ``module:attr`` (the current folder is importable).

    The rule: a **class** is instantiated with no arguments; a **function marked** ``fn._sdesolve_factory = True``
    is called with no arguments; **anything else** is the model and must be callable as ``model(x, t)``. With
    ``seed`` the import and construction run under ``torch.manual_seed(seed)`` in a forked RNG state, so randomly
    initialised weights are the same in every process and every resume. With ``checkpoint`` the ``state_dict`` is
    loaded *safely*: ``.safetensors`` files through safetensors, anything else through
    ``torch.load(weights_only=True)`` — never by unpickling objects.
    """
    target = torch.device(device)
    forked = [target.index or 0] if target.type == "cuda" else []  # only the GPU this process uses
    with torch.random.fork_rng(devices=forked):
        if seed is not None:
            torch.manual_seed(seed)
        obj = _import(spec)
        if isinstance(obj, type):
            try:
                model = obj()
            except TypeError as exc:
                raise ValueError(
                    f"--model {spec!r} is a class; sdesolve instantiates it with no arguments: {exc}"
                ) from exc
        elif getattr(obj, "_sdesolve_factory", False):
            model = obj()
        else:
            model = obj
            if inspect.isfunction(obj) and not _callable_as_model(obj):
                raise ValueError(
                    f"--model {spec!r} is a function that cannot be called as model(x, t). If it builds the model, "
                    f"mark it as a factory: {obj.__name__}._sdesolve_factory = True (it is then called with no "
                    "arguments)"
                )
    if checkpoint is not None:
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"--checkpoint needs an nn.Module model; {spec!r} gave {type(model).__name__}")
        state = load_state_dict(checkpoint)
        try:
            model.load_state_dict(state)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"--checkpoint {checkpoint!r} does not fit --model {spec!r}: {exc}") from exc
    if isinstance(model, torch.nn.Module):
        model = model.to(device).eval()
    if not _callable_as_model(model):
        raise ValueError(f"--model {spec!r} gave {type(model).__name__}, which is not callable as model(x, t)")
    return model


def load_state_dict(path: str) -> dict[str, torch.Tensor]:
    """Tensors only: safetensors, or ``torch.load(weights_only=True)`` with a clear error for pickled objects."""
    if not Path(path).is_file():
        raise ValueError(f"--checkpoint {path!r} does not exist (or is not a file)")
    if path.endswith(".safetensors"):
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise ValueError("reading .safetensors needs the safetensors package (pip install safetensors)") from exc
        try:
            return load_file(path)
        except Exception as exc:
            raise ValueError(f"--checkpoint {path!r} is not a readable .safetensors file ({exc})") from exc
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if not isinstance(exc, pickle.UnpicklingError):
            raise ValueError(
                f"--checkpoint {path!r} cannot be read by torch.load ({type(exc).__name__}: {exc})"
            ) from exc
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

    def __post_init__(self) -> None:
        def plain(v: Any) -> Any:  # numpy/torch integers become ints (JSON and the manifest comparison need them)
            return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v

        for name in ("n", "batch", "steps", "seed"):
            setattr(self, name, plain(getattr(self, name)))
        if isinstance(self.shape, (tuple, list, torch.Size)):
            self.shape = [plain(v) for v in self.shape]  # a tuple would never compare equal to the manifest's list
        self.options = dict(self.options or {})

    def validate(self) -> None:
        """The checks that need nothing but the configuration."""
        for name in ("n", "batch", "steps", "seed"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise ValueError(f"--{name} must be an integer, got {getattr(self, name)!r}")
        if self.n < 1 or self.batch < 1 or self.steps < 1:
            raise ValueError(f"--n, --batch and --steps must be positive, got {self.n}, {self.batch}, {self.steps}")
        if (
            not isinstance(self.shape, list)
            or not self.shape
            or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in self.shape)
        ):
            raise ValueError(f"--shape must be positive sizes, got {self.shape}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"--dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"--device {self.device!r} is not a torch device ({exc})") from None
        try:
            json.dumps(self.options)
        except TypeError as exc:
            raise ValueError(f"--option values must be JSON values ({exc})") from None

    @property
    def shards(self) -> int:
        return -(-self.n // self.batch)

    def indices(self, k: int) -> tuple[int, int]:
        """The sample indices ``[lo, hi)`` of shard ``k``."""
        return k * self.batch, min((k + 1) * self.batch, self.n)

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run: the configuration without the device, normalised through JSON."""
        config = asdict(self)
        config.pop("device")
        config["noise"] = sdesolve.random.NOISE_SCHEME  # a run started under another noise scheme is refused on resume
        return json.loads(json.dumps(config, sort_keys=True))


def _run_id(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask's set-and-restore races with other threads)
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; the result follows the umask like any other file
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
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _shard_name(k: int) -> str:
    return f"shard-{k:06d}.npy"


def _record_name(k: int) -> str:
    return f"shard-{k:06d}.sha256"


def _shard_record(run_id: str, k: int, lo: int, hi: int, digest: str) -> bytes:
    return json.dumps({"run": run_id, "shard": k, "indices": [lo, hi], "sha256": digest}, indent=2).encode()


def _verified_shard(out: Path, k: int, run_id: str, cfg: RunConfig) -> str | None:
    """The SHA-256 of shard ``k`` if it belongs to run ``run_id`` and is intact; ``None`` if it must be computed."""
    data_path, record_path = out / _shard_name(k), out / _record_name(k)
    if not (data_path.is_file() and record_path.is_file()):
        return None
    lo, hi = cfg.indices(k)
    try:
        record = json.loads(record_path.read_text())
        data = data_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    digest = hashlib.sha256(data).hexdigest()
    if (
        record.get("run") != run_id
        or record.get("shard") != k
        or record.get("indices") != [lo, hi]
        or record.get("sha256") != digest
    ):
        return None
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError):
        return None
    if array.shape != (hi - lo, *cfg.shape) or array.dtype != np.dtype(cfg.dtype) or not np.isfinite(array).all():
        return None
    return digest


def _versions() -> dict[str, str]:
    from sdesolve_diffusion import __version__ as plugin_version

    return {
        "sdesolve": sdesolve.__version__,
        "sdesolve-diffusion": plugin_version,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, ``None`` if there is none, a clear error if it cannot be read."""
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{path} cannot be read as a run manifest ({type(exc).__name__}: {exc}); it is damaged or truncated — "
            "move it away (the shards are checked against the run when it is started again) or choose another --out"
        ) from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
        raise ValueError(f"{path} is not an sdesolve sample manifest (no 'config' object)")
    return manifest


def _previous_identity(manifest: dict[str, Any]) -> dict[str, Any]:
    identity = manifest.get("identity")
    if isinstance(identity, dict):
        return identity
    config = dict(manifest["config"])  # manifests without an identity: the configuration without the device
    config.pop("device", None)
    return config


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = [k for k in {**old, **new} if old.get(k) != new.get(k)]
    return "; ".join(f"{k}: {json.dumps(old.get(k))} → {json.dumps(new.get(k))}" for k in keys)


def _has_shards(out: Path) -> bool:
    return any(out.glob("shard-*.npy")) or any(out.glob("shard-*.sha256"))


def _check_names(cfg: RunConfig) -> tuple[Any, Any, Any]:
    """Resolve sampler, process and grid through the registry and check the options against the sampler."""
    from sdesolve_diffusion.adapters import PREDICTIONS
    from sdesolve_diffusion.grids import resolve_grid

    reg = sdesolve.registry()

    def lookup(kind: str, name: str, flag: str | None = None) -> Any:
        try:
            return reg.get(kind, name)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{flag or '--' + kind}: {exc.args[0]}") from None

    sampler = lookup("sampler", cfg.sampler)
    process = lookup("process", cfg.process)
    if cfg.prediction not in PREDICTIONS:
        raise ValueError(f"--prediction must be one of {', '.join(PREDICTIONS)}, got {cfg.prediction!r}")
    if getattr(sampler, "vp_only", False) and not getattr(process, "variance_preserving", True):
        raise ValueError(f"--sampler {cfg.sampler!r} needs a variance-preserving process; {cfg.process!r} is not")
    allowed = set(_CALL_OPTIONS)
    open_ended = False
    if callable(getattr(sampler, "options", None)):  # a DiffusionSampler: its own options, a recipe's stepper's too
        allowed |= set(sampler.options())
    else:  # another plugin's sampler: what its __call__ names, anything if it takes **options
        params = inspect.signature(sampler).parameters.values()
        allowed |= {p.name for p in params if p.kind == p.KEYWORD_ONLY}
        open_ended = any(p.kind == p.VAR_KEYWORD for p in params)
    unknown = sorted(set(cfg.options) - allowed)
    if unknown and not open_ended:
        raise ValueError(
            f"--option {', '.join(unknown)}: not an option of sampler {cfg.sampler!r} "
            f"(its options: {', '.join(sorted(allowed))})"
        )
    grid = cfg.options.get("grid", getattr(sampler, "default_grid", "edm"))
    grid_options = cfg.options.get("grid_options") or {}
    if not isinstance(grid_options, dict):
        raise ValueError(f"--option grid_options must be a JSON object, got {grid_options!r}")
    grid = lookup("grid", grid, "--option grid") if isinstance(grid, str) else grid
    try:
        times = resolve_grid(grid, process, cfg.steps, **grid_options)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"--option grid/grid_options, --process {cfg.process!r}, --steps {cfg.steps}: {exc}") from None
    return sampler, process, times


def _try_model(model: Any, cfg: RunConfig, process: Any, times: torch.Tensor) -> None:
    """One network call on one sample of ``shape`` at the first time of the grid: catches a wrong ``--shape``."""
    from sdesolve_diffusion.adapters import ModelAdapter

    x = torch.zeros((1, *cfg.shape), dtype=_DTYPES[cfg.dtype], device=cfg.device)
    try:
        with torch.no_grad():
            ModelAdapter(model, process, cfg.prediction).eps(float(times[0]), x)
    except Exception as exc:
        raise ValueError(
            f"--model {cfg.model!r} fails on one sample of --shape {','.join(map(str, cfg.shape))} "
            f"({type(exc).__name__}: {exc})"
        ) from None


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Lock:
    """An exclusive ``fcntl.flock`` on ``out/.sdesolve-sample.lock``, held until :meth:`release`."""

    def __init__(self, out: Path) -> None:
        import fcntl

        self.path = out / LOCK
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise ValueError(
                f"{out} is in use: another `sdesolve sample` is writing to it (it holds the lock {self.path}); "
                "wait for it to finish, then --resume, or choose another --out"
            ) from None

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = -1


def _start(cfg: RunConfig, out: Path, resume: bool) -> tuple[dict[str, Any], Any, _Lock]:
    """Rank 0: validate everything, then lock the folder and (re)write the manifest. Returns the decision."""
    cfg.validate()
    _, process, times = _check_names(cfg)
    identity = cfg.identity()
    if cfg.checkpoint is not None:
        load_state_dict(cfg.checkpoint)  # exists, and holds tensors only
        identity["checkpoint_sha256"] = _file_sha256(cfg.checkpoint)
    model = load_model(cfg.model, cfg.checkpoint, cfg.device, seed=cfg.seed)
    _try_model(model, cfg, process, times)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    # everything is valid: only now is anything written
    out.mkdir(parents=True, exist_ok=True)
    lock = _Lock(out)
    try:
        manifest_path = out / MANIFEST
        previous = _read_manifest(manifest_path)
        if previous is not None and _has_shards(out):  # a folder with a manifest but no shard may be replaced
            if not resume:
                raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
            diff = _differences(_previous_identity(previous), identity)
            if diff:
                raise ValueError(
                    f"--resume: the configuration differs from the one in {manifest_path} ({diff}); "
                    "refusing to mix runs"
                )
        run_id = _run_id(identity)
        for stale in [*out.glob(".shard-*.tmp"), *out.glob(f".{MANIFEST}.*.tmp")]:  # left by a killed run
            stale.unlink(missing_ok=True)
        for path in [*out.glob("shard-*.npy"), *out.glob("shard-*.sha256")]:  # beyond this run's shards: not ours
            index = path.name[len("shard-") :].split(".")[0]
            if not index.isdigit() or int(index) >= cfg.shards:
                path.unlink(missing_ok=True)
        header = {"config": asdict(cfg), "identity": identity, "run_id": run_id, "complete": False}
        _atomic_write(manifest_path, json.dumps(header, indent=2).encode())
    except BaseException:
        lock.release()
        raise
    return {"run_id": run_id, "identity": identity}, model, lock


def run(
    cfg: RunConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = False,
    rank: int = 0,
    world: int = 1,
    barrier: Callable[[], None] | None = None,
    broadcast: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Generate (this rank's share of) the shards and, on rank 0, the final manifest.

    With ``world > 1``, ``broadcast(obj)`` must return rank 0's ``obj`` on every rank (e.g. through
    ``torch.distributed.broadcast_object_list``) and ``barrier()`` must wait for every rank: rank 0 alone
    validates, locks the folder and decides; the other ranks follow its decision or raise its error.
    """
    out = Path(out)
    if world > 1 and (broadcast is None or barrier is None):
        raise ValueError("run() with world > 1 needs broadcast and barrier (torch.distributed)")
    lock: _Lock | None = None
    model: Any = None
    try:
        if rank == 0:
            try:
                decision, model, lock = _start(cfg, out, resume)
            except Exception as exc:
                if world > 1:
                    message = str(exc) if isinstance(exc, ValueError) else f"rank 0: {type(exc).__name__}: {exc}"
                    broadcast({"error": message})
                raise
            if world > 1:
                broadcast(decision)
            if cfg.checkpoint is None:
                warnings.warn(
                    f"no --checkpoint given: {cfg.model} is sampled with the weights its constructor makes "
                    f"(seeded with torch.manual_seed({cfg.seed})), not trained ones",
                    NoCheckpointWarning,
                    stacklevel=2,
                )
        else:
            decision = broadcast(None)
            if "error" in decision:
                raise ValueError(decision["error"])
            cfg.validate()
            mine_identity = cfg.identity()
            if "checkpoint_sha256" in decision["identity"]:
                mine_identity["checkpoint_sha256"] = decision["identity"]["checkpoint_sha256"]
            if mine_identity != decision["identity"]:
                diff = _differences(decision["identity"], mine_identity)
                raise ValueError(f"rank {rank} was started with another configuration than rank 0 ({diff})")
        run_id = decision["run_id"]
        dtype = _DTYPES[cfg.dtype]
        mine = [k for k in range(cfg.shards) if k % world == rank]
        todo = [k for k in mine if _verified_shard(out, k, run_id, cfg) is None]
        from tqdm.auto import tqdm

        size = {k: cfg.indices(k)[1] - cfg.indices(k)[0] for k in mine}
        bar = tqdm(
            total=sum(size.values()),
            initial=sum(size.values()) - sum(size[k] for k in todo),
            unit="sample",
            disable=not progress,
            desc=f"rank {rank}" if world > 1 else "sample",
        )
        for k in todo:
            if model is None:
                model = load_model(cfg.model, cfg.checkpoint, cfg.device, seed=cfg.seed)
            lo, hi = cfg.indices(k)
            x = sdesolve.sample(
                model,
                (hi - lo, *cfg.shape),
                cfg.sampler,
                steps=cfg.steps,
                process=cfg.process,
                prediction=cfg.prediction,
                seeds=[sample_seed(cfg.seed, i) for i in range(lo, hi)],
                device=cfg.device,
                dtype=dtype,
                **cfg.options,
            )
            array = x.detach().cpu().numpy()
            if not np.isfinite(array).all():
                bad = int((~np.isfinite(array)).reshape(len(array), -1).any(axis=1).sum())
                raise NonFiniteSamplesError(
                    f"shard {k} (samples {lo}..{hi - 1}) holds NaN or inf in {bad} of {hi - lo} samples; it was not "
                    f"written and the run in {out} is incomplete. Check the model (and --option denoise), the "
                    "process and the grid"
                )
            data = _npy_bytes(array)
            _atomic_write(out / _shard_name(k), data)
            _atomic_write(out / _record_name(k), _shard_record(run_id, k, lo, hi, hashlib.sha256(data).hexdigest()))
            bar.update(hi - lo)
        bar.close()
        if barrier is not None:
            barrier()
        if rank != 0:
            return {"run_id": run_id, "complete": False}
        shards = []
        for k in range(cfg.shards):
            digest = _verified_shard(out, k, run_id, cfg)
            if digest is None:
                raise RuntimeError(f"shard {k} is missing or corrupt after the run")
            shards.append({"file": _shard_name(k), "indices": list(cfg.indices(k)), "sha256": digest})
        manifest = {
            "config": asdict(cfg),
            "identity": decision["identity"],
            "run_id": run_id,
            "complete": True,
            "seed_rule": SEED_RULE,
            "versions": _versions(),
            "shards": shards,
        }
        _atomic_write(out / MANIFEST, json.dumps(manifest, indent=2).encode())
        return manifest
    finally:
        if lock is not None:
            lock.release()


def load_samples(out: str | Path) -> np.ndarray:
    """All samples of a complete run, in index order, checksums verified."""
    out = Path(out)
    manifest = _read_manifest(out / MANIFEST)
    if manifest is None:
        raise ValueError(f"{out} holds no {MANIFEST}")
    if not manifest.get("complete"):
        raise ValueError(f"{out} holds an incomplete run; finish it with --resume")
    parts = []
    for shard in manifest["shards"]:
        data = (out / shard["file"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != shard["sha256"]:
            raise ValueError(f"{shard['file']} does not match its checksum in the manifest")
        parts.append(np.load(io.BytesIO(data), allow_pickle=False))
    return np.concatenate(parts)
