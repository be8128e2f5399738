"""Train a small score network on CPU and sample it with several samplers — real learned scores, not exact ones.

    python examples/train_and_sample.py --dataset moons  [--quick] [--out figures/]
    python examples/train_and_sample.py --dataset digits [--quick] [--out figures/]

``moons`` is scikit-learn's two-moons set (2-D; scatter plots), ``digits`` its bundled 8×8 handwritten digits
(64-D; image grids). The network is an MLP predicting ε under the VP process, trained by denoising score matching;
it is then sampled with DDIM, DPM-Solver++(2M), DDRaM and Euler–Maruyama at 20 network evaluations each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from sdesolve_lab.digits import EpsNet  # the MLP ε(x, t) the lab trains on digits too

import sdesolve

SAMPLERS = ("ddim", "dpm_solver_pp_2m", "ddram", "euler_maruyama_sde")
T_MIN = 0.02  # early stopping: a small network's ε is least accurate as σ → 0


def load(dataset: str) -> torch.Tensor:
    if dataset == "moons":
        from sklearn.datasets import make_moons

        x, _ = make_moons(4000, noise=0.05, random_state=0)
        x = torch.tensor(x, dtype=torch.float32)
        return (x - x.mean(0)) / x.std(0)
    from sklearn.datasets import load_digits

    x = torch.tensor(load_digits().data, dtype=torch.float32)
    return x / 8.0 - 1.0  # pixels 0..16 → [-1, 1]


def train(data: torch.Tensor, steps: int, seed: int = 0) -> EpsNet:
    torch.manual_seed(seed)
    process = sdesolve.registry().get("process", "vp")
    model = EpsNet(data.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(steps):
        x0 = data[torch.randint(0, data.shape[0], (256,))]
        t = process.t_min + (process.t_max - process.t_min) * torch.rand(256, dtype=torch.float64)
        alpha, sigma = process.alpha(t).float()[:, None], process.sigma(t).float()[:, None]
        eps = torch.randn_like(x0)
        loss = ((model(alpha * x0 + sigma * eps, t.float()) - eps) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(f"  step {step:5d}  loss {loss.item():.4f}")
    return model.eval()


def figure(dataset: str, data: torch.Tensor, samples: dict[str, torch.Tensor], path: Path) -> None:
    fig, axes = plt.subplots(1, len(samples) + 1, figsize=(3.2 * (len(samples) + 1), 3.4), dpi=100)
    panels = [("training data", data[: len(next(iter(samples.values())))]), *samples.items()]
    for ax, (name, x) in zip(axes, panels, strict=True):
        if dataset == "moons":
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.5)
            ax.set_xlim(-2.5, 2.5)
            ax.set_ylim(-2.5, 2.5)
        else:
            grid = x[:36].reshape(6, 6, 8, 8).permute(0, 2, 1, 3).reshape(48, 48)
            ax.imshow(grid.clamp(-1, 1).numpy(), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(name, fontsize=9)
    fig.suptitle(f"{dataset}: learned ε-network, 20 NFE per sampler", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["moons", "digits"], default="moons")
    parser.add_argument("--quick", action="store_true", help="a short training run (CI)")
    parser.add_argument("--out", default="figures", help="folder for the PNG figure")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load(args.dataset)
    steps = (300 if args.quick else 4000) if args.dataset == "moons" else (800 if args.quick else 6000)
    start = time.perf_counter()
    print(f"training on {args.dataset} ({tuple(data.shape)}), {steps} steps")
    model = train(data, steps)
    print(f"trained in {time.perf_counter() - start:.1f} s")
    n = 1000 if args.dataset == "moons" else 36
    samples = {}
    for name in SAMPLERS:
        nfe = sdesolve.registry().get("sampler", name).nfe_per_step
        samples[name] = sdesolve.sample(
            model, (n, data.shape[1]), name, steps=int(20 // nfe), process="vp", seeds=list(range(n)), denoise=True
        )
        x = samples[name]
        print(f"  {name:20s} mean {x.mean():+.3f} std {x.std():.3f} (data: {data.mean():+.3f} {data.std():.3f})")
    path = out / f"{args.dataset}.png"
    figure(args.dataset, data, samples, path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
