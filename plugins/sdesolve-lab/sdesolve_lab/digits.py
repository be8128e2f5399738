"""The ``digits`` problem's model: an ε-MLP trained in-repo on scikit-learn's 8×8 digits under the lab's DDPM table.

The architecture and training recipe follow ``examples/train_and_sample.py`` (which is a script, not importable),
with two differences: the time input is the DDPM timestep (scaled by ``1/T``), and the data are split 70/30 (seeded)
so the Fréchet distance is measured against digits the network never saw. Training is seeded and single-threaded
(bitwise reproducible on one machine); the weights are cached under ``$XDG_CACHE_HOME/sdesolve/lab`` (default
``~/.cache/sdesolve/lab``), keyed by the recipe, the table and the torch version.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import torch
from torch import Tensor, nn

__all__ = ["DigitsModel", "EpsNet", "cache_dir", "load_digits"]

RECIPE = {
    "version": 2,  # bump when the training code changes: the cache key
    "width": 128,
    "steps": 6000,
    "batch": 256,
    "lr": 2e-3,
    "seed": 0,
    "split_seed": 0,
    "heldout": 0.3,
}


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "sdesolve" / "lab"


def load_digits() -> Tensor:
    """The 1797 digits as ``(1797, 64)`` float32 in ``[-1, 1]`` (needs scikit-learn, which bundles the data)."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:
        raise ValueError("the digits problem needs scikit-learn (pip install scikit-learn)") from exc
    return torch.tensor(sk_load_digits().data, dtype=torch.float32) / 8.0 - 1.0


class EpsNet(nn.Module):
    """MLP ε(x, t) with sinusoidal time features (``t`` in ``[0, 1]``), as in ``examples/train_and_sample.py``."""

    def __init__(self, dim: int, width: int = 128) -> None:
        super().__init__()
        self.register_buffer("freqs", torch.exp(torch.linspace(0.0, math.log(200.0), 16)))
        self.net = nn.Sequential(
            nn.Linear(dim + 32, width),
            nn.SiLU(),
            nn.Linear(width, width),
            nn.SiLU(),
            nn.Linear(width, width),
            nn.SiLU(),
            nn.Linear(width, dim),
        )

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        angles = t[:, None] * self.freqs[None]
        return self.net(torch.cat([x, torch.sin(angles), torch.cos(angles)], dim=1))


class DigitsModel:
    """The trained network and the data split. ``network(x, timestep)`` predicts ε in the caller's dtype."""

    def __init__(self, net: EpsNet, process, train: Tensor, heldout: Tensor) -> None:
        self.net, self.process, self.train, self.heldout = net.eval(), process, train, heldout
        self.dim = train.shape[1]
        self.T = float(process.t_max)
        self._nets = {next(net.parameters()).device: self.net}  # the network per device, copied once to each

    def network(self, x: Tensor, t_model: Tensor) -> Tensor:
        """ε at ``x`` on ``x``'s device (the weights are copied there on first use)."""
        net = self._nets.get(x.device)
        if net is None:
            net = self._nets[x.device] = copy.deepcopy(self.net).to(x.device)
        with torch.no_grad():
            t = (t_model.to(device=x.device, dtype=torch.float32) + 1.0) / self.T  # t = timestep + 1 ∈ [1, T] → (0, 1]
            return net(x.to(torch.float32), t.expand(x.shape[0])).to(x.dtype)

    @staticmethod
    def split(data: Tensor, seed: int, heldout: float) -> tuple[Tensor, Tensor]:
        perm = torch.randperm(data.shape[0], generator=torch.Generator().manual_seed(seed))
        k = round(heldout * data.shape[0])
        return data[perm[k:]], data[perm[:k]]

    @classmethod
    def load_or_train(cls, process, recipe: dict | None = None, progress: bool = True) -> DigitsModel:
        recipe = {**RECIPE, **(recipe or {})}
        data = load_digits()
        train, heldout = cls.split(data, recipe["split_seed"], recipe["heldout"])
        abar = process.alpha(torch.arange(1, int(process.t_max) + 1, dtype=torch.float64)) ** 2
        key = hashlib.sha256(
            json.dumps({"recipe": recipe, "torch": torch.__version__.split("+")[0]}, sort_keys=True).encode()
            + abar.numpy().tobytes()
        ).hexdigest()[:16]
        path = cache_dir() / f"digits-{key}.pt"
        with torch.random.fork_rng():  # seeded initialisation, the caller's global RNG untouched
            torch.manual_seed(recipe["seed"])
            net = EpsNet(data.shape[1], recipe["width"])
        if path.exists():
            net.load_state_dict(torch.load(path, weights_only=True))
        else:
            cls._train(net, process, train, recipe, progress)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            torch.save(net.state_dict(), tmp)
            tmp.replace(path)
        return cls(net, process, train, heldout)

    @staticmethod
    def _train(net: EpsNet, process, data: Tensor, recipe: dict, progress: bool) -> None:
        """Denoising score matching on ``t ~ U[1, T]`` (continuous: the continuous-time samplers query between
        timesteps), Adam with cosine decay, seeded."""
        gen = torch.Generator().manual_seed(recipe["seed"])
        opt = torch.optim.Adam(net.parameters(), lr=recipe["lr"])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, recipe["steps"])
        t_max, b = float(process.t_max), recipe["batch"]
        net.train()
        for step in range(recipe["steps"]):
            x0 = data[torch.randint(0, data.shape[0], (b,), generator=gen)]
            t = 1.0 + (t_max - 1.0) * torch.rand(b, generator=gen, dtype=torch.float64)
            alpha, sigma = process.alpha(t).float()[:, None], process.sigma(t).float()[:, None]
            eps = torch.randn(x0.shape, generator=gen)
            loss = ((net(alpha * x0 + sigma * eps, (t / t_max).float()) - eps) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if progress and (step % max(1, recipe["steps"] // 5) == 0 or step == recipe["steps"] - 1):
                print(f"  digits: training step {step:5d}  loss {loss.item():.4f}", file=sys.stderr)
        net.eval()
