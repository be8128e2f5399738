"""The one sampler driver loop (issue 10, item 4): a sampler supplies only its update step; the driver owns the
iteration, the NaN check, the progress bar and the callback. Recipe samplers derive their metadata from their
stepper."""

from __future__ import annotations

import inspect
from typing import ClassVar

import pytest
import torch
from sdesolve_diffusion import SAMPLERS, DiffusionSampler
from sdesolve_diffusion.samplers import base
from sdesolve_diffusion.samplers.base import time_per_sample
from sdesolve_diffusion.samplers.solver import SolverSampler

import sdesolve
from sdesolve import registry

F64 = torch.float64


class Minimal(DiffusionSampler):
    """A third-party sampler: the deterministic DDIM update and nothing else — no loop, no reporting code."""

    name = "minimal_ddim"
    default_grid = "uniform"

    def step(self, ctx, i, x, state, *, scale: float = 1.0):
        t, s = ctx.times[i : i + 2]
        x0, eps = ctx.adapter.data_and_eps(time_per_sample(float(t), x), x)
        x = float(ctx.process.alpha(s)) * x0 + scale * float(ctx.process.sigma(s)) * eps
        return x, state, {"denoised": x0}


def _model(x, t):
    return torch.tanh(x) * 0.5 + 0.1 * t[:, None].to(x.dtype) * x


class _CountingBar:
    """Stands in for tqdm: counts the driver's progress updates."""

    made: ClassVar[list[_CountingBar]] = []

    def __init__(self, total, desc, disable, leave):
        self.total, self.desc, self.disable, self.n, self.closed = total, desc, disable, 0, False
        _CountingBar.made.append(self)

    def update(self, k):
        self.n += k

    def close(self):
        self.closed = True


def test_a_step_only_sampler_gets_callback_progress_and_options(monkeypatch) -> None:
    vp = registry().get("process", "vp")
    _CountingBar.made.clear()
    monkeypatch.setattr(base, "tqdm", _CountingBar)
    seen = []
    x = Minimal()(_model, (3, 2), steps=6, process=vp, seeds=[1, 2, 3], callback=seen.append, progress=True)
    times = base.resolve_grid("uniform", vp, 6)
    assert [d["i"] for d in seen] == list(range(6))
    assert [d["t"] for d in seen] == [float(t) for t in times[1:]]
    assert all(set(d) == {"i", "t", "x", "denoised"} and d["x"].shape == (3, 2) for d in seen)
    assert torch.equal(seen[-1]["x"], x)
    (bar,) = _CountingBar.made
    assert (bar.total, bar.n, bar.disable, bar.closed, bar.desc) == (6, 6, False, True, "minimal_ddim")
    # the update is DDIM's (η = 0): the driver adds nothing to the numbers
    ddim = registry().get("sampler", "ddim")(_model, (3, 2), steps=6, process=vp, seeds=[1, 2, 3])
    assert torch.allclose(x, ddim, rtol=0, atol=1e-6)
    # options are the step's keyword parameters: listed, passed, checked
    assert Minimal.options() == {"scale": 1.0}
    assert list(inspect.signature(Minimal().run).parameters) == ["ctx", "x", "scale"]
    y = Minimal()(_model, (3, 2), steps=6, process=vp, seeds=[1, 2, 3], scale=0.5)
    assert not torch.allclose(x, y)
    with pytest.raises(
        TypeError,
        match=r"'minimal_ddim' got unknown option\(s\) scal \(did you mean 'scale'\?\); accepted options: scale=1.0",
    ):
        Minimal()(_model, (3, 2), process=vp, scal=0.5)


def test_a_step_only_sampler_gets_the_nan_check() -> None:
    vp = registry().get("process", "vp")

    def exploding(x, t):  # finite while t > 0.5, NaN after
        return torch.where(t[:, None] > 0.5, torch.tanh(x), x * float("nan"))

    times = base.resolve_grid("uniform", vp, 10)
    first = next(k for k in range(10) if float(times[k]) <= 0.5)  # the first step that evaluates at t <= 0.5
    with pytest.raises(sdesolve.NonFiniteError, match=rf"first appeared after step {first} of 10 \(t = ") as info:
        Minimal()(exploding, (4, 2), steps=10, process=vp)
    assert info.value.step == first


def test_the_driver_owns_the_loop() -> None:
    with pytest.raises(TypeError, match=r"overrides run\(\).*implement step"):

        class Legacy(DiffusionSampler):
            name = "legacy"

            def run(self, ctx, x):
                return x

    class ReportsItself(Minimal):
        name = "reports_itself"

        def step(self, ctx, i, x, state):
            x, state, extra = super().step(ctx, i, x, state)
            ctx.report(i, float(ctx.times[i + 1]), x)
            return x, state, extra

    vp = registry().get("process", "vp")
    with pytest.raises(RuntimeError, match=r"must not call ctx\.report"):
        ReportsItself()(_model, (2, 2), steps=3, process=vp)

    class BadReturn(Minimal):
        name = "bad_return"

        def step(self, ctx, i, x, state):
            return x

    with pytest.raises(TypeError, match=r"step\(\) must return a tuple \(x, state, extra\)"):
        BadReturn()(_model, (2, 2), steps=3, process=vp)


@pytest.mark.parametrize("cls", SAMPLERS, ids=lambda c: c.name)
def test_every_sampler_is_driven(cls) -> None:
    assert cls.run.__qualname__ == f"{cls.__qualname__}.run"  # the base class's driver, with the sampler's options
    vp = registry().get("process", "vp")
    seen = []
    cls()(_model, (2, 2), steps=4, process=vp, seeds=[5, 6], callback=seen.append, grid_options={"t_min": 0.01})
    assert [d["i"] for d in seen] == [0, 1, 2, 3]
    params = inspect.signature(cls().run).parameters.values()
    shown = {p.name: p.default for p in params if p.kind == p.KEYWORD_ONLY}
    if issubclass(cls, SolverSampler):  # then **stepper_options: solve's bm, subdivisions and the stepper's options
        assert [p.name for p in params if p.kind == p.VAR_KEYWORD] == ["stepper_options"]
        assert list(shown)[:2] == ["splitting", "eta"]  # then a recipe family's own (e.g. the multistep clock)
        solve_options = {"bm": None, "subdivisions": cls.options()["subdivisions"]}
        shown |= solve_options | cls.stepper_class.options() | cls.stepper_defaults
    assert shown == cls.options()


@pytest.mark.parametrize("cls", [c for c in SAMPLERS if issubclass(c, SolverSampler)], ids=lambda c: c.name)
def test_recipe_metadata_is_the_steppers(cls) -> None:
    stepper = sdesolve.get_stepper(cls.stepper)
    assert cls.stepper_class is stepper  # what the registry holds under the name is what runs
    assert cls.nfe_per_step == stepper.nfe_per_step
    assert cls.stochastic == (cls.eta != 0)
    assert cls.order == (stepper.weak_order if cls.eta != 0 else stepper.ode_order)
    info = registry().get("sampler", cls.name).describe()
    assert (info["nfe_per_step"], info["order"], info["stochastic"]) == (cls.nfe_per_step, cls.order, cls.stochastic)
    assert set(cls.stepper_defaults) <= set(stepper.options())  # a recipe may only re-default its stepper's options
    assert {**stepper.options(), **cls.stepper_defaults}.items() <= cls.options().items()


def test_recipe_metadata_values() -> None:
    """The derived values are the ones the samplers were hand-copied with before (`sdesolve list`)."""
    got = {c.name: (c.stepper, c.nfe_per_step, c.order, c.stochastic) for c in SAMPLERS if issubclass(c, SolverSampler)}
    assert got == {
        "euler_maruyama_sde": ("euler_maruyama", 1, 1.0, True),
        "exponential_euler_sde": ("exponential_euler", 1, 1.0, True),
        "ddram": ("randomized_midpoint", 2, 1.0, True),
        "ddram_ode": ("randomized_midpoint", 2, 1.5, False),
        "ddram_ms": ("randomized_midpoint_ms", 1, 1.0, True),
        "dpm_solver_pp_2m_sde": ("exponential_ab2", 1, 1.0, True),
        "dpm_solver_pp_3m_sde": ("exponential_ab3", 1, 1.0, True),
        "dpm_solver_pp_3m": ("exponential_ab3", 1, 3.0, False),
        "unipc": ("unipc", 1, 3.0, False),
        "sa_solver": ("sa_solver", 1, 1.0, True),
    }


def test_recipes_cannot_hand_copy_metadata() -> None:
    with pytest.raises(TypeError, match="sets nfe_per_step: a recipe derives them from its stepper"):

        class Copied(SolverSampler):
            name = "copied"
            stepper = "exponential_euler"
            nfe_per_step = 2

    class HalfChurn(SolverSampler):
        name = "half_churn"
        stepper = "randomized_midpoint"
        eta = 0.5

    assert (HalfChurn.stepper, HalfChurn.nfe_per_step, HalfChurn.order, HalfChurn.stochastic) == (
        "randomized_midpoint",
        2,
        1.0,
        True,
    )


def test_a_recipe_may_re_default_its_steppers_options() -> None:
    """``stepper_defaults``: a recipe may run its stepper with other defaults; the stepper keeps its own."""
    from sdesolve_diffusion.samplers.unipc import UniPCSampler

    class UniPC3(UniPCSampler):
        name = "unipc_order3_test"
        stepper_defaults: ClassVar[dict] = {"order": 3}

    assert sdesolve.get_stepper("unipc").options()["order"] == 2 and UniPCSampler.options()["order"] == 2
    assert UniPC3.options()["order"] == 3
    vp = registry().get("process", "vp")

    def model(x, t):
        return x * vp.sigma(t.to(torch.float64)).to(x.dtype)[:, None]  # the exact ε of N(0, I) data

    x_T = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    order3 = UniPC3()
    run = lambda sampler=order3, **o: sdesolve.sample(model, x_T, sampler, steps=6, process="vp", **o)  # noqa: E731
    assert torch.equal(run(), run(order=3)) and not torch.equal(run(), run(order=2))
    assert torch.equal(run("unipc"), run(order=2))

    class BadDefaults(SolverSampler):
        name = "bad_defaults"
        stepper = "heun"
        stepper_defaults: ClassVar[dict] = {"order": 3}

    with pytest.raises(TypeError, match=r"stepper_defaults names order, not options of stepper 'heun'"):
        BadDefaults.options()
