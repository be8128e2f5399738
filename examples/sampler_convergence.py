"""Convergence of every registered diffusion sampler against exact-score Gaussian-mixture targets.

    python examples/sampler_convergence.py

Prints two markdown tables (the settings of plugins/sdesolve-diffusion/tests/test_samplers.py): deterministic
samplers against the probability-flow ODE solved by torchdiffeq, stochastic samplers by exact W1 in one dimension.
"""

import torch
from sdesolve_diffusion import GaussianMixture, ModelAdapter

import sdesolve
from sdesolve import registry
from sdesolve.conformance import fit_order
from sdesolve.reference import odeint_reference

F64 = torch.float64
m2 = GaussianMixture(
    torch.tensor([[-1.0, 0.5], [1.0, -0.3], [0.2, 1.2]]),
    torch.tensor([[0.3**2, 0.5**2], [0.4**2, 0.2**2], [0.25**2, 0.25**2]]),
    torch.tensor([0.5, 0.3, 0.2]),
)
m1 = GaussianMixture(torch.tensor([[-1.0], [1.0]]), torch.tensor([0.25**2, 0.25**2]), torch.tensor([0.4, 0.6]))
proc = registry().get("process", "vp")
x_T = torch.randn(256, 2, dtype=F64, generator=torch.Generator().manual_seed(1))
ref = odeint_reference(
    proc.sde(ModelAdapter(m2.model(proc, "eps"), proc, "eps"), "score", eta=0.0),
    x_T,
    [proc.t_max, 0.02],
    rtol=1e-11,
    atol=1e-12,
)
print("| sampler | declared | measured | RMS error at n = 20, 40, 80, 160 |")
print("|---|---|---|---|")
for s in sorted(registry().items["sampler"]):
    smp = registry().get("sampler", s)
    if smp.stochastic:
        continue
    errs = []
    for n in [20, 40, 80, 160]:
        x = sdesolve.sample(
            m2.model(proc, "eps"),
            x_T,
            s,
            steps=n,
            process="vp",
            grid="logsnr",
            grid_options={"t_min": 0.02},
            generator=torch.Generator().manual_seed(n),
        )
        errs.append(float(((x - ref) ** 2).sum(-1).mean().sqrt()))
    print(
        f"| `{s}` | {smp.order:g} | {fit_order([20, 40, 80, 160], errs):.2f} | "
        + ", ".join(f"{e:.1e}" for e in errs)
        + " |"
    )
n, t_min = 60_000, 0.02
tm = torch.tensor(t_min, dtype=F64)
a, sg = float(proc.alpha(tm)), float(proc.sigma(tm))
exact = m1.quantiles_1d((torch.arange(n, dtype=F64) + 0.5) / n, a, sg)


def w1(x):
    return float((x.flatten().sort().values - exact).abs().mean())


floor = w1(m1.sample(n, alpha=a, sigma=sg, generator=torch.Generator().manual_seed(9)))
print(f"\nW1 noise floor (exact samples): {floor:.4f}\n")
print("| sampler | declared | measured | W1 at n = 5, 10, 20, 40 |")
print("|---|---|---|---|")
for s in sorted(registry().items["sampler"]):
    smp = registry().get("sampler", s)
    if not smp.stochastic:
        continue
    errs = []
    for k in [5, 10, 20, 40]:
        x = sdesolve.sample(
            m1.model(proc, "eps"),
            (n, 1),
            s,
            steps=k,
            process=proc,
            grid="edm",
            grid_options={"t_min": t_min},
            generator=torch.Generator().manual_seed(k),
            dtype=F64,
        )
        errs.append(w1(x))
    above = [(k, e) for k, e in zip([5, 10, 20, 40], errs, strict=True) if e > 3 * floor]
    print(
        f"| `{s}` | {smp.order:g} | {fit_order([k for k, _ in above], [e for _, e in above]):.2f} | "
        + ", ".join(f"{e:.4f}" for e in errs)
        + " |"
    )
