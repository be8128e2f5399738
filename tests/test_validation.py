"""Bad input fails with an error that names the argument and what was expected."""

from __future__ import annotations

import math

import pytest
import torch

from sdesolve import SemilinearSDE, Stepper, solve
from sdesolve.reference import brownian_interval
from tests.helpers import tv_sde

F64 = torch.float64


@pytest.fixture
def x0() -> torch.Tensor:
    return torch.zeros(4, 2, dtype=F64)


@pytest.mark.parametrize(
    "ts, message",
    [
        ([0.0, 0.5, 0.4, 1.0], "strictly monotone"),
        ([0.0, 0.5, 0.5, 1.0], "strictly monotone"),
        ([0.0], "at least 2"),
        ([], "at least 2"),
        ([[0.0, 1.0]], "1-D"),
        ([0.0, math.nan], "finite"),
        ([0.0, math.inf], "finite"),
    ],
)
def test_bad_time_grids(x0, ts, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        solve(tv_sde(), x0, ts, "euler_maruyama")
    assert "ts" in str(info.value)


def test_non_monotone_grid_reports_where(x0) -> None:
    with pytest.raises(ValueError, match=r"index 2: ts\[1\]=0.5, ts\[2\]=0.4"):
        solve(tv_sde(), x0, [0.0, 0.5, 0.4], "euler_maruyama")


def test_nonlinear_output_shape_mismatch(x0) -> None:
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: x.sum(-1), g=1.0)
    with pytest.raises(ValueError, match=r"nonlinear N\(t, x\) returned shape \(4,\) for x of shape \(4, 2\)"):
        solve(sde, x0, [0.0, 1.0])


def test_nonlinear_must_return_a_tensor(x0) -> None:
    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: 1.0)
    with pytest.raises(TypeError, match="must return a tensor"):
        solve(sde, x0, [0.0, 1.0])


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_initial_state(x0, bad) -> None:
    x0[1, 0] = bad
    with pytest.raises(ValueError, match="x0 must be finite"):
        solve(tv_sde(), x0, [0.0, 1.0])


def test_initial_state_type_and_dtype() -> None:
    with pytest.raises(TypeError, match=r"x0 must be a torch\.Tensor"):
        solve(tv_sde(), [[0.0, 1.0]], [0.0, 1.0])
    with pytest.raises(TypeError, match="x0 must have a floating dtype"):
        solve(tv_sde(), torch.zeros(2, 2, dtype=torch.int64), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"x0 must have shape \(batch, \*event\)"):
        solve(tv_sde(), torch.zeros((), dtype=F64), [0.0, 1.0])


def test_unknown_stepper_suggests_close_matches(x0) -> None:
    with pytest.raises(ValueError, match=r"unknown stepper 'huen'; did you mean 'heun'") as info:
        solve(tv_sde(), x0, [0.0, 1.0], "huen")
    assert "registered:" in str(info.value) and "method" in str(info.value)
    with pytest.raises(ValueError, match="did you mean 'exponential_euler'"):
        solve(tv_sde(), x0, [0.0, 1.0], "exponential_eulr")


def test_unknown_stepper_option(x0) -> None:
    with pytest.raises(
        TypeError,
        match=r"stepper 'randomized_midpoint' got unknown option\(s\) distrib \(did you mean 'distribution'\?\); "
        r"accepted options: distribution",
    ):
        solve(tv_sde(), x0, [0.0, 1.0], "randomized_midpoint", distrib="uniform")


@pytest.mark.parametrize(
    "method, options, message",
    [
        ("randomized_midpoint", {"distribution": "beta"}, "distribution must be one of"),
        ("exponential_rk2", {"r": 0.0}, r"r must be a number in \(0, 1\]"),
        ("exponential_rk2", {"r": 1.5}, r"r must be a number in \(0, 1\]"),
    ],
)
def test_bad_stepper_option_values(x0, method, options, message) -> None:
    with pytest.raises(ValueError, match=message):
        solve(tv_sde(), x0, [0.0, 1.0], method, **options)


class OdeOnly(Stepper):
    name = "ode_only_test"
    ode_order = 1.0
    nfe_per_step = 1
    supports_noise = False

    def step(self, ctx, k, x, state):
        return x + ctx.coef.h[k] * ctx.sde.drift(ctx.time(k), x), state


def test_noise_given_to_an_ode_only_stepper(x0) -> None:
    with pytest.raises(ValueError, match=r"stepper 'ode_only_test' supports ODEs only.*problem has noise g"):
        solve(tv_sde(noise=True), x0, [0.0, 1.0], OdeOnly)
    out = solve(tv_sde(noise=False), x0, [0.0, 1.0], OdeOnly)  # fine without noise
    assert torch.isfinite(out).all()


def test_bm_with_an_ode_and_bm_of_wrong_shape(x0) -> None:
    with pytest.raises(ValueError, match="bm was given but the problem is an ODE"):
        solve(tv_sde(noise=False), x0, [0.0, 1.0], bm=lambda a, b: torch.zeros(4, 2))
    bm = brownian_interval([0.0, 1.0], (4, 3), seed=0)
    with pytest.raises(ValueError, match=r"bm\(ta, tb\) returned shape \(4, 3\); expected \(4, 2\)"):
        solve(tv_sde(), x0, [0.0, 1.0], "euler_maruyama", bm=bm)
    with pytest.raises(TypeError, match="bm must be a callable"):
        solve(tv_sde(), x0, [0.0, 1.0], bm=42)


@pytest.mark.needs_plugin("sra")
def test_space_time_area_is_required_with_a_plain_path(x0) -> None:
    bm = brownian_interval([0.0, 1.0], (4, 2), seed=0, levy_area=False)
    with pytest.raises(TypeError, match="space-time Lévy area"):
        solve(tv_sde(), x0, [0.0, 1.0], "sra1", bm=bm)


def test_problem_definition_errors() -> None:
    with pytest.raises(TypeError, match="a must be a number or a callable"):
        SemilinearSDE(a="1", nonlinear=lambda t, x: x)
    with pytest.raises(ValueError, match="g must be finite"):
        SemilinearSDE(a=1.0, nonlinear=lambda t, x: x, g=math.nan)
    with pytest.raises(TypeError, match="nonlinear must be a callable"):
        SemilinearSDE(a=1.0, nonlinear=None)
    with pytest.raises(TypeError, match=r"factor must be an sdesolve\.IntegratingFactor"):
        SemilinearSDE(a=1.0, nonlinear=lambda t, x: x, factor=object())


def test_scalar_functions_must_keep_the_time_shape(x0) -> None:
    sde = SemilinearSDE(a=lambda t: torch.ones(3, 3, dtype=t.dtype), nonlinear=lambda t, x: x)
    with pytest.raises(ValueError, match=r"a\(t\) must return a tensor shaped like t"):
        solve(sde, x0, [0.0, 1.0])


def test_sde_and_generator_types(x0) -> None:
    with pytest.raises(TypeError, match=r"sde must be an sdesolve\.SemilinearSDE"):
        solve(object(), x0, [0.0, 1.0])
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        solve(tv_sde(), x0, [0.0, 1.0], generator=0)
    with pytest.raises(TypeError, match="method must be a stepper name"):
        solve(tv_sde(), x0, [0.0, 1.0], method=3)
    with pytest.raises(ValueError, match="subdivisions must be a positive integer"):
        solve(tv_sde(), x0, [0.0, 1.0], subdivisions=0)


def test_gradients_flow_through_x0_and_n_and_are_refused_where_they_would_be_dropped() -> None:
    """Coefficients are float64 constants: a ts or an a/b/g that needs gradients is refused, never silently cut."""
    w = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    x0 = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    ts = torch.linspace(0.0, 1.0, 9, dtype=torch.float64)

    def loss(weight: torch.Tensor, start: torch.Tensor, method: str) -> torch.Tensor:
        sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: torch.sin(weight * x) + t)
        return solve(sde, start, ts, method, generator=torch.Generator().manual_seed(1)).square().sum()

    for method in ("exponential_euler", "heun", "randomized_midpoint"):
        gw, gx = torch.autograd.grad(loss(w, x0, method), (w, x0))
        eps = 1e-6
        with torch.no_grad():
            fd = (loss(w + eps, x0, method) - loss(w - eps, x0, method)) / (2 * eps)
        assert torch.isclose(gw, fd, rtol=1e-6), method
        assert gx.shape == x0.shape and torch.isfinite(gx).all()

    sde = SemilinearSDE(a=-1.0, nonlinear=lambda t, x: x)
    with pytest.raises(ValueError, match=r"ts requires grad.*gradients through x0 and through N's parameters are"):
        solve(sde, x0, ts.clone().requires_grad_(), "heun")
    for name in ("a", "b", "g"):
        kwargs = {"a": -1.0, "nonlinear": lambda t, x: x, name: lambda t: w * (1 + t)}
        with pytest.raises(ValueError, match=rf"{name}\(t\) returns a tensor that requires grad"):
            solve(SemilinearSDE(**kwargs), x0, ts, "euler_maruyama")
        with torch.no_grad():  # nothing to drop: allowed
            solve(SemilinearSDE(**kwargs), x0, ts, "euler_maruyama")
