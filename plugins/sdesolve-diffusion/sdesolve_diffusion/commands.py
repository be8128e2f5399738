"""The ``sdesolve sample`` command: sample a model into checksummed shards (registered through the
``sdesolve_register_commands`` hook by :mod:`sdesolve_diffusion.plugin`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import Any

import torch

from sdesolve.dtypes import DTYPES

__all__ = ["DEFAULT_STEPS", "HELP", "configure_sample", "default_steps", "run_sample"]

HELP = "sample a model into checksummed shards (resumable; torchrun for processes)"


def _option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--option expects key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def configure_sample(p: argparse.ArgumentParser) -> None:
    """The options of ``sdesolve sample``."""
    p.add_argument(
        "--model",
        required=True,
        help="module:attr (the current folder is importable): a model(x, t); a class, instantiated with no "
        "arguments; or a function marked fn._sdesolve_factory = True, called with no arguments",
    )
    p.add_argument(
        "--checkpoint",
        help="a state_dict (.pt, loaded with weights_only=True) or .safetensors; without it the weights are the "
        "constructor's, seeded with --seed (a warning says so)",
    )
    p.add_argument("--shape", required=True, help="event shape of one sample, e.g. 3,32,32")
    p.add_argument(
        "--n",
        "--num-samples",
        dest="n",
        type=int,
        required=True,
        help="number of samples (spell it --num-samples under torchrun, whose parser claims --n)",
    )
    p.add_argument("--batch", type=int, default=64, help="samples per batch (and per shard) (default: 64)")
    p.add_argument("--sampler", default="ddram", help="a registered sampler, see `sdesolve list` (default: ddram)")
    p.add_argument(
        "--process",
        default="vp",
        help="the noising process the model was trained with, e.g. vp, ve, edm, discrete (default: vp)",
    )
    p.add_argument(
        "--prediction", default="eps", help="what the model predicts: eps, x0, v, score or edm (default: eps)"
    )
    p.add_argument(
        "--steps",
        type=int,
        help="sampler steps; NFE = steps x the sampler's NFE per step (default: 50; 1 for an adaptive sampler, "
        "whose steps are forced stops; or the steps of a --grid file)",
    )
    p.add_argument(
        "--grid",
        metavar="NAME|FILE.json",
        help='the time grid: a registered grid name (see `sdesolve list`), or a JSON file holding a "grid" list of '
        "decreasing diffusion times, as `sdesolve tune-grid` writes (default: the sampler's grid)",
    )
    p.add_argument("--seed", type=int, default=0, help="sample i depends on (seed, i) only (default: 0)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu, cuda, cuda:1 (default: cpu)")
    p.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="solver state dtype (default: float32)")
    p.add_argument(
        "--option",
        action="append",
        type=_option,
        help="sampler option key=value, value parsed as JSON when it can be, e.g. eta=0.5 (repeatable)",
    )
    p.add_argument("--out", required=True, help="output folder (locked while a run writes to it)")
    p.add_argument("--resume", action="store_true", help="continue a killed run in --out (same configuration)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


DEFAULT_STEPS = 50
"""``--steps`` when not given, for a sampler with a step count (an adaptive sampler gets 1)."""


def default_steps(sampler: str) -> int:
    """``--steps`` when not given: 1 for an adaptive sampler (its grid times are forced stops, so the end points
    alone give the fully adaptive solve; 50 would force 50 stops and waste evaluations), else
    :data:`DEFAULT_STEPS`. An unknown sampler gets the latter; it is refused by name later, with the other names."""
    import sdesolve

    try:
        obj = sdesolve.registry().get("sampler", sampler)
    except (KeyError, TypeError):
        return DEFAULT_STEPS
    return 1 if getattr(obj, "adaptive", False) is True else DEFAULT_STEPS


def _grid_option(args: argparse.Namespace, options: dict[str, Any]) -> int:
    """Put ``--grid`` into the sampler options (a name as given; a JSON file as its list of times, checked against
    ``--process`` and ``--steps``) and return the step count (:func:`default_steps` when ``--steps`` is not given)."""
    steps = args.steps
    if args.grid is None:
        return default_steps(args.sampler) if steps is None else steps
    if "grid" in options:
        raise ValueError("--grid and --option grid both name a grid; give one")
    if not (args.grid.endswith(".json") or os.path.isfile(args.grid)):
        options["grid"] = args.grid  # a registered name, resolved with the other names before anything runs
        return default_steps(args.sampler) if steps is None else steps
    from sdesolve_diffusion.grid_search import load_grid

    times = load_grid(args.grid, process=args.process)
    if steps is not None and steps != times.numel() - 1:
        raise ValueError(f"--steps {steps}, but --grid {args.grid} holds {times.numel() - 1} steps")
    options["grid"] = times.tolist()
    return times.numel() - 1


def run_sample(args: argparse.Namespace) -> int:
    from sdesolve_diffusion.generate import RunConfig, run

    try:
        shape = [int(v) for v in args.shape.split(",") if v.strip()]
    except ValueError:
        print(f"error: --shape must be comma-separated sizes such as 3,32,32, got {args.shape!r}", file=sys.stderr)
        return 2
    options = dict(args.option or [])
    try:
        steps = _grid_option(args, options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = RunConfig(
        model=args.model,
        shape=shape,
        n=args.n,
        batch=args.batch,
        sampler=args.sampler,
        process=args.process,
        prediction=args.prediction,
        steps=steps,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        checkpoint=args.checkpoint,
        options=options,
    )
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, barrier, broadcast, dist = 0, None, None, None
    if world > 1:
        import torch.distributed as dist

        cuda = args.device.startswith("cuda")
        if cuda:  # the device is not part of the run's identity: each rank uses its own GPU
            cfg.device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
            torch.cuda.set_device(cfg.device)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        rank, world, barrier = dist.get_rank(), dist.get_world_size(), dist.barrier

        def broadcast(obj: Any) -> Any:  # rank 0's decision (run id or error) reaches every rank
            box = [obj]
            dist.broadcast_object_list(box, src=0)
            return box[0]

    def show(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
        print(f"WARNING: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            manifest = run(
                cfg,
                args.out,
                resume=args.resume,
                progress=not args.quiet,
                rank=rank,
                world=world,
                barrier=barrier,
                broadcast=broadcast,
            )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:  # NaN/inf: nothing non-finite is written, the run stays incomplete
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if dist is not None:
            dist.destroy_process_group()
    if rank == 0:
        print(f"{cfg.n} samples in {len(manifest['shards'])} shards under {args.out} (manifest.json)", file=sys.stderr)
    return 0
