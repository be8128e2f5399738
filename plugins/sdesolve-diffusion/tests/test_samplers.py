"""Every sampler through sdesolve.sample: every process it claims, float32/float64, CPU (and CUDA); convergence
against exact-score Gaussian-mixture targets at a rate consistent with the sampler's order."""

from __future__ import annotations

import pytest
import torch
from diffusion_cases import processes, samplers
from sdesolve_diffusion import ModelAdapter

import sdesolve
from sdesolve import registry
from sdesolve.conformance import fit_order
from sdesolve.counting import CountedCalls
from sdesolve.reference import odeint_reference

F64 = torch.float64


def _counting(model):
    def checked(x, t):
        assert t.shape == (x.shape[0],), "the network must receive one time per sample"
        return model(x, t)

    counted = CountedCalls(checked)
    return counted, counted


def _run_everywhere(sampler: str, process: str, dtype: torch.dtype, device: str, mixture2d) -> None:
    smp = registry().get("sampler", sampler)
    proc = registry().get("process", process)
    model, calls = _counting(mixture2d.model(proc, "eps"))
    kwargs = dict(
        steps=6, process=process, generator=torch.Generator(device=device).manual_seed(0), dtype=dtype, device=device
    )
    if smp.vp_only and not proc.variance_preserving:
        with pytest.raises(ValueError, match="variance-preserving"):
            sdesolve.sample(model, (16, 2), sampler, **kwargs)
        return
    seen: list[dict] = []
    x = sdesolve.sample(model, (16, 2), sampler, callback=seen.append, **kwargs)
    assert x.shape == (16, 2) and x.dtype == dtype and x.device.type == device
    assert torch.isfinite(x).all()
    # an adaptive sampler's NFE follows its tolerance: it reports the count (6 forced stops here)
    nfe = seen[-1]["nfe"] if getattr(smp, "adaptive", False) else 6 * smp.nfe_per_step
    assert calls.nfe == nfe and len(seen) == 6
    x = sdesolve.sample(model, (16, 2), sampler, denoise=True, callback=seen.append, **kwargs)
    again = seen[-1]["nfe"] if getattr(smp, "adaptive", False) else nfe  # new noise: a new adaptive count
    assert torch.isfinite(x).all() and calls.nfe == nfe + again + 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("process", processes())
@pytest.mark.parametrize("sampler", samplers())
def test_every_sampler_runs_on_every_process(sampler, process, dtype, mixture2d) -> None:
    _run_everywhere(sampler, process, dtype, "cpu", mixture2d)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("process", processes())
@pytest.mark.parametrize("sampler", samplers())
def test_every_sampler_runs_on_every_process_cuda(sampler, process, dtype, mixture2d) -> None:
    _run_everywhere(sampler, process, dtype, "cuda", mixture2d)


# fixed step counts (an adaptive sampler's steps are forced stops; its tolerance is tested in test_adaptive_sampler.py)
DETERMINISTIC = [
    s
    for s in samplers()
    if not (registry().get("sampler", s).stochastic or getattr(registry().get("sampler", s), "adaptive", False))
]
STOCHASTIC = [s for s in samplers() if registry().get("sampler", s).stochastic]


@pytest.fixture(scope="module")
def flow_reference(mixture2d):
    """The probability-flow ODE solved by torchdiffeq (dopri5, rtol 1e-11) from fixed x_T, VP, to t = 0.02."""
    proc = registry().get("process", "vp")
    x_T = torch.randn(256, 2, dtype=F64, generator=torch.Generator().manual_seed(1))
    sde = proc.sde(ModelAdapter(mixture2d.model(proc, "eps"), proc, "eps"), "score", eta=0.0)
    return x_T, odeint_reference(sde, x_T, [proc.t_max, 0.02], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("sampler", DETERMINISTIC)
def test_deterministic_samplers_converge_to_the_flow_at_their_order(sampler, mixture2d, flow_reference) -> None:
    smp = registry().get("sampler", sampler)
    proc = registry().get("process", "vp")
    x_T, ref = flow_reference
    steps = [20, 40, 80, 160]
    errors = []
    for n in steps:
        x = sdesolve.sample(
            mixture2d.model(proc, "eps"),
            x_T,
            sampler,
            steps=n,
            process="vp",
            grid="logsnr",
            grid_options={"t_min": 0.02},
            generator=torch.Generator().manual_seed(n),
        )
        errors.append(float(((x - ref) ** 2).sum(-1).mean().sqrt()))
    order = fit_order(steps, errors)
    assert order >= smp.order - 0.35, f"{sampler}: measured order {order:.2f} (errors {errors}), declared {smp.order}"


@pytest.fixture(scope="module")
def weak_setup(mixture1d):
    proc = registry().get("process", "vp")
    n, t_min = 60_000, 0.02
    tm = torch.tensor(t_min, dtype=F64)
    a, s = float(proc.alpha(tm)), float(proc.sigma(tm))
    exact = mixture1d.quantiles_1d((torch.arange(n, dtype=F64) + 0.5) / n, a, s)

    def w1(x: torch.Tensor) -> float:
        return float((x.flatten().sort().values - exact).abs().mean())

    floor = w1(mixture1d.sample(n, alpha=a, sigma=s, generator=torch.Generator().manual_seed(9)))
    return proc, n, t_min, w1, floor


@pytest.mark.parametrize("sampler", STOCHASTIC)
def test_stochastic_samplers_converge_in_law_at_their_order(sampler, mixture1d, weak_setup) -> None:
    """W1 (exact quantiles of the noised mixture at δ) against 60 000 samples; the noise floor is measured with
    exact samples, and the rate is fitted on the errors above three times the floor."""
    proc, n, t_min, w1, floor = weak_setup
    smp = registry().get("sampler", sampler)
    steps = [5, 10, 20, 40]
    errors = []
    for k in steps:
        x = sdesolve.sample(
            mixture1d.model(proc, "eps"),
            (n, 1),
            sampler,
            steps=k,
            process=proc,
            grid="edm",
            grid_options={"t_min": t_min},
            generator=torch.Generator().manual_seed(k),
            dtype=F64,
        )
        errors.append(w1(x))
    above = [(k, e) for k, e in zip(steps, errors, strict=True) if e > 3 * floor]
    assert errors[-1] < errors[0] / 4, f"{sampler}: W1 {errors} does not shrink"
    assert len(above) >= 2, f"{sampler}: too few errors above the floor {floor:.4f}: {errors}"
    order = fit_order([k for k, _ in above], [e for _, e in above])
    assert order >= smp.order - 0.3, f"{sampler}: rate {order:.2f} from W1 {errors} (floor {floor:.4f})"


def test_ddim_is_exponential_euler_on_the_data_splitting(mixture2d) -> None:
    proc = registry().get("process", "vp_cosine")
    model = mixture2d.model(proc, "eps")
    x_T = torch.randn(64, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    ddim = sdesolve.sample(model, x_T, "ddim", steps=12, process=proc, grid="logsnr")
    ts = registry().get("grid", "logsnr")(proc, 12)
    sde = proc.sde(ModelAdapter(model, proc, "eps"), "data", eta=0.0)
    ee = sdesolve.solve(sde, x_T, ts, "exponential_euler")
    assert torch.allclose(ddim, ee, rtol=0, atol=1e-12), (ddim - ee).abs().max()
    sde_eps = proc.sde(ModelAdapter(model, proc, "eps"), "eps", eta=0.0)
    assert torch.allclose(sdesolve.solve(sde_eps, x_T, ts, "exponential_euler"), ddim, rtol=0, atol=1e-12)


@pytest.mark.parametrize("process", ["vp", "ve", "edm", "discrete"])
def test_all_prediction_types_give_the_same_sampler_output(process, mixture2d) -> None:
    proc = registry().get("process", process)
    x_T = torch.randn(32, 2, dtype=F64, generator=torch.Generator().manual_seed(3)) * proc.prior_std
    outs = {
        p: sdesolve.sample(mixture2d.model(proc, p), x_T, "dpm_solver_pp_2m", steps=8, process=proc, prediction=p)
        for p in ("eps", "x0", "v", "score", "edm")
    }
    for p, out in outs.items():
        assert torch.allclose(out, outs["eps"], rtol=1e-9, atol=1e-9), p


@pytest.mark.parametrize("sampler", ["ddram", "ddpm", "edm_heun", "li_accelerated_sde"])
def test_per_sample_seeds_make_samples_independent_of_batch(sampler, mixture2d) -> None:
    proc = registry().get("process", "vp")
    model = mixture2d.model(proc, "eps")
    opts = dict(steps=5, process="vp", dtype=F64)
    if sampler == "edm_heun":
        opts["S_churn"] = 10.0
    full = sdesolve.sample(model, (4, 2), sampler, seeds=[11, 12, 13, 14], **opts)
    alone = sdesolve.sample(model, (1, 2), sampler, seeds=[13], **opts)
    reordered = sdesolve.sample(model, (2, 2), sampler, seeds=[13, 11], **opts)
    assert torch.allclose(full[2], alone[0], rtol=0, atol=1e-12)
    assert torch.allclose(full[[2, 0]], reordered, rtol=0, atol=1e-12)


def test_callback_and_progress(mixture2d) -> None:
    seen = []
    sdesolve.sample(
        mixture2d.model(registry().get("process", "vp"), "eps"),
        (4, 2),
        "ddram",
        steps=3,
        callback=seen.append,
        progress=True,
    )
    assert [d["i"] for d in seen] == [0, 1, 2] and all(d["x"].shape == (4, 2) for d in seen)
    assert seen[-1]["t"] == pytest.approx(registry().get("process", "vp").t_min)


def test_sampling_errors_are_clear(mixture2d) -> None:
    model = mixture2d.model(registry().get("process", "vp"), "eps")
    with pytest.raises(ValueError, match="did you mean 'ddram'"):
        sdesolve.sample(model, (2, 2), "ddrma")
    with pytest.raises(ValueError, match="did you mean 'vp'"):
        sdesolve.sample(model, (2, 2), "ddim", process="vq")
    with pytest.raises(ValueError, match="prediction must be one of"):
        sdesolve.sample(model, (2, 2), "ddim", prediction="noise")
    with pytest.raises(ValueError, match="seeds holds 1 seeds for a batch of 2"):
        sdesolve.sample(model, (2, 2), "ddim", seeds=[1])
    with pytest.raises(ValueError, match="σ = 0 and the score is singular"):
        sdesolve.sample(model, (2, 2), "ddram", grid=[1.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="model\\(x, t\\) must return a tensor shaped like x"):
        sdesolve.sample(lambda x, t: x[:, :1], (2, 2), "ddim")
    with pytest.raises(
        TypeError, match=r"unknown option\(s\) etta \(did you mean 'eta'\?\); accepted options: eta=0.0"
    ):
        sdesolve.sample(model, (2, 2), "ddim", etta=0.5)


def test_exact_score_matches_autograd(mixture2d) -> None:
    proc = registry().get("process", "vp")
    x = torch.randn(5, 2, dtype=F64, requires_grad=True)
    t = torch.full((5,), 0.3, dtype=F64)
    a, s = float(proc.alpha(t[0])), float(proc.sigma(t[0]))
    cov = a**2 * mixture2d.cov + s**2 * torch.eye(2, dtype=F64)
    comps = torch.distributions.MultivariateNormal(a * mixture2d.means, cov)
    logp = torch.logsumexp(comps.log_prob(x[:, None, :]) + mixture2d.weights.log(), dim=1).sum()
    (grad,) = torch.autograd.grad(logp, x)
    assert torch.allclose(mixture2d.score(proc, t, x.detach()), grad, atol=1e-12)


def test_subspace_gaussian_has_an_exact_noised_score() -> None:
    from sdesolve_diffusion import GaussianMixture

    g = GaussianMixture.subspace(6, 2, scale=1.5)
    assert torch.linalg.matrix_rank(g.cov[0]) == 2
    x = torch.randn(7, 6, dtype=F64)
    sigma = torch.full((7,), 0.4, dtype=F64)
    cov = g.cov[0] + 0.16 * torch.eye(6, dtype=F64)
    assert torch.allclose(g.noised_score(torch.ones(7, dtype=F64), sigma, x), -x @ torch.linalg.inv(cov), atol=1e-10)


def test_exact_moments_of_the_target(mixture2d) -> None:
    draws = mixture2d.sample(400_000, alpha=0.8, sigma=0.6, generator=torch.Generator().manual_seed(0))
    mean, cov = mixture2d.moments(0.8, 0.6)
    assert torch.allclose(draws.mean(0), mean, atol=0.01)
    assert torch.allclose(torch.cov(draws.T), cov, atol=0.01)


@pytest.mark.parametrize("sampler", ["ddim", "ddram", "edm_heun", "li_accelerated_sde"])
def test_samplers_report_the_step_where_values_became_non_finite(sampler) -> None:
    def exploding(x, t):  # finite at first, NaN once t < 0.5
        return torch.where(t[:, None] > 0.5, torch.tanh(x), x * float("nan"))

    with pytest.raises(sdesolve.NonFiniteError, match=r"first appeared after step \d+ of 10 \(t = ") as info:
        sdesolve.sample(exploding, (4, 2), sampler, steps=10, grid="uniform")
    assert 0 < info.value.step < 10


@pytest.mark.gpu
@pytest.mark.parametrize(
    "sampler", [s for s in samplers() if not getattr(registry().get("sampler", s), "adaptive", False)]
)
def test_sampling_loop_does_not_synchronise_per_step_cuda(sampler) -> None:
    """CUDA sync debug mode: the synchronising calls of a whole sample() (set-up, final checks) do not grow with the
    number of steps. The model is sync-free (ε = 0.1 x), the generator a CUDA one."""
    import warnings

    def count(steps: int) -> int:
        gen = torch.Generator(device="cuda").manual_seed(0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                sdesolve.sample(lambda x, t: 0.1 * x, (64, 8), sampler, steps=steps, generator=gen, device="cuda")
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    count(3)  # first-use initialisation is not counted
    assert count(12) == count(3)
