"""A diffusers ``UNet2DModel`` as the model of ``sdesolve.sample`` (built from a config; local weights only).

    python examples/diffusers_unet.py [--quick] [--weights unet.safetensors|state_dict.pt] [--out figures/]

The UNet predicts ε for the DDPM table (``process="discrete"``, timesteps as model time). Without ``--weights`` it is
randomly initialised (nothing is downloaded), so the images are noise: the point is the wiring — per-sample
timesteps, any sampler, per-sample seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

import sdesolve


def build_unet(quick: bool):
    from diffusers import UNet2DModel

    config = dict(
        sample_size=16 if quick else 32,
        in_channels=1,
        out_channels=1,
        layers_per_block=1,
        norm_num_groups=8,
        block_out_channels=(16, 32) if quick else (32, 64, 64),
        down_block_types=("DownBlock2D",) * (2 if quick else 3),
        up_block_types=("UpBlock2D",) * (2 if quick else 3),
    )
    torch.manual_seed(0)
    return UNet2DModel(**config).eval(), config["sample_size"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--weights", help="a local state_dict (.pt) or .safetensors file")
    parser.add_argument("--out", default="figures")
    args = parser.parse_args()
    unet, size = build_unet(args.quick)
    if args.weights:
        from sdesolve_diffusion.generate import load_state_dict

        unet.load_state_dict(load_state_dict(args.weights))

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # t: one timestep per sample
        return unet(x, t).sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(6, 3.2), dpi=100)
    for ax, name in zip(axes, ("ddim", "ddram"), strict=True):
        x = sdesolve.sample(
            model,
            (4, 1, size, size),
            name,
            steps=5 if args.quick else 25,
            process="discrete",
            seeds=[0, 1, 2, 3],
            denoise=True,
        )
        print(f"{name}: samples {tuple(x.shape)}, finite {bool(torch.isfinite(x).all())}")
        grid = x[:, 0].reshape(2, 2, size, size).permute(0, 2, 1, 3).reshape(2 * size, 2 * size)
        ax.imshow(grid.numpy(), cmap="gray")
        ax.set_title(name)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "diffusers_unet.png")
    print(f"wrote {out / 'diffusers_unet.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
