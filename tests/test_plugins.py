"""The plugin system: built-ins as hook implementations, entry points, failures kept apart, env vars."""

from __future__ import annotations

from importlib import metadata

import pluggy
import pytest

import sdesolve
from sdesolve import plugins
from sdesolve.conformance import run_conformance
from tests import plugin_fixtures

BUILTINS = {"euler_maruyama", "exponential_euler", "randomized_midpoint", "heun", "exponential_rk2", "exponential_ab2"}


def _fake_entry_points(monkeypatch, *specs: tuple[str, str]) -> None:
    eps = [metadata.EntryPoint(name, value, "sdesolve") for name, value in specs]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)


def test_builtins_are_ordinary_hook_implementations(fresh_plugins) -> None:
    reg = plugins.registry()
    assert BUILTINS <= set(reg.steppers)
    for name in BUILTINS:
        owner = reg.owners["stepper"][name]
        assert owner in plugins.DEFAULT_PLUGINS
        assert plugins.plugin_manager().get_plugin(owner) is not None


def test_hookspecs_are_prefixed_and_verb_first() -> None:
    from sdesolve import hookspecs

    names = [n for n in dir(hookspecs) if n.startswith("sdesolve_")]
    assert set(names) == {
        "sdesolve_register_steppers",
        "sdesolve_register_samplers",
        "sdesolve_register_commands",
        "sdesolve_register_kinds",
    }


def test_entry_point_plugins_load_and_failures_are_isolated(fresh_plugins, monkeypatch) -> None:
    _fake_entry_points(
        monkeypatch,
        ("good", "tests.plugin_fixtures:good"),
        ("broken_import", "tests.no_such_module_xyz"),
        ("misspelled", "tests.plugin_fixtures:misspelled"),
        ("wrong_arguments", "tests.plugin_fixtures:wrong_arguments"),
        ("raising", "tests.plugin_fixtures:raising"),
    )
    with pytest.warns(RuntimeWarning) as caught:
        reg = plugins.registry()
    assert "euler_copy" in reg.steppers and BUILTINS <= set(reg.steppers)
    assert reg.owners["stepper"]["euler_copy"] == "good"
    assert reg.items["widget"] == {"test_widget": plugin_fixtures.fixture_widget}
    records = {r.name: r for r in plugins.plugin_records()}
    assert records["good"].error is None
    assert records["good"].registers == {"stepper": ["euler_copy"], "widget": ["test_widget"]}
    assert records["good"].kinds == ["widget"]
    assert "failed to import" in records["broken_import"].error
    assert "ModuleNotFoundError" in records["broken_import"].error
    assert "invalid hooks" in records["misspelled"].error and "sdesolve_register_stepper" in records["misspelled"].error
    assert "invalid hooks" in records["wrong_arguments"].error
    assert "raised RuntimeError: boom" in records["raising"].error
    text = " ".join(str(w.message) for w in caught)
    for name in ("broken_import", "misspelled", "wrong_arguments", "raising"):
        assert name in text


def test_duplicate_names_are_reported_naming_both_plugins_and_leave_the_others(fresh_plugins, monkeypatch) -> None:
    _fake_entry_points(
        monkeypatch, ("dup", "tests.plugin_fixtures:heun_and_more"), ("good", "tests.plugin_fixtures:good")
    )
    with pytest.warns(RuntimeWarning) as caught:
        reg = plugins.registry()
    messages = [str(w.message) for w in caught]
    assert any(
        "stepper 'heun' is registered by both plugin 'sdesolve.steppers.heun' and plugin 'dup'" in m for m in messages
    )
    assert any("stepper 'euler_copy' is registered by both plugin 'dup' and plugin 'good'" in m for m in messages)
    assert reg.owners["stepper"]["heun"] == "sdesolve.steppers.heun"  # the built-in keeps it
    assert BUILTINS <= set(reg.steppers)
    records = {r.name: r for r in plugins.plugin_records()}
    # only the colliding name is left out: dup's other stepper stays registered (and 'good' loses its copy)
    assert reg.owners["stepper"]["euler_copy"] == "dup"
    assert records["dup"].registers == {"stepper": ["euler_copy"]}
    assert "registered by both" in records["dup"].error and "'heun'" in records["dup"].error
    assert records["good"].registers == {"widget": ["test_widget"]}
    assert "'euler_copy' is registered by both plugin 'dup' and plugin 'good'" in records["good"].error


def _real_entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group="sdesolve"))


@pytest.mark.needs_plugin("diffusion")
@pytest.mark.parametrize("third_party_first", [True, False])
def test_a_third_party_sampler_named_like_a_first_party_one_loses_only_that_name(
    fresh_plugins, monkeypatch, third_party_first: bool
) -> None:
    """Regression: a third-party 'ddram' used to replace the diffusion plugin's whole sampler hook (all eleven
    samplers gone) or lose its own, depending on entry-point discovery order."""
    real = _real_entry_points()
    assert "diffusion" in {ep.name for ep in real}
    fake = metadata.EntryPoint("aaa_third_party", "tests.plugin_fixtures:third_party_ddram", "sdesolve")
    eps = [fake, *real] if third_party_first else [*real, fake]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    with pytest.warns(RuntimeWarning) as caught:
        reg = plugins.registry()
    samplers = reg.items["sampler"]
    assert reg.owners["sampler"]["ddram"] == "diffusion"
    assert type(samplers["ddram"]).__module__.startswith("sdesolve_diffusion")
    records = {r.name: r for r in plugins.plugin_records()}
    from sdesolve_diffusion.samplers import SAMPLERS

    expected = [cls.name for cls in SAMPLERS]
    assert records["diffusion"].registers["sampler"] == expected and records["diffusion"].error is None
    assert records["aaa_third_party"].registers == {"sampler": ["my_sampler"]}  # its other name stays
    assert reg.owners["sampler"]["my_sampler"] == "aaa_third_party"
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert any("'ddram'" in m and "'diffusion'" in m and "'aaa_third_party'" in m for m in messages), messages


def test_third_party_entry_points_rank_by_distribution_and_name_not_discovery_order(fresh_plugins, monkeypatch) -> None:
    a = metadata.EntryPoint("a_plugin", "tests.plugin_fixtures:duplicate_heun", "sdesolve")
    b = metadata.EntryPoint("b_plugin", "tests.plugin_fixtures:heun_and_more", "sdesolve")
    owners = []
    for order in ([a, b], [b, a]):
        plugins.reset()
        monkeypatch.setattr(plugins, "_entry_points", lambda order=order: order)
        with pytest.warns(RuntimeWarning):
            reg = plugins.registry()
        owners.append((reg.owners["stepper"]["heun"], reg.owners["stepper"]["euler_copy"]))
    assert owners == [("sdesolve.steppers.heun", "b_plugin")] * 2


def test_env_vars_restrict_and_disable_external_plugins(fresh_plugins, monkeypatch) -> None:
    _fake_entry_points(
        monkeypatch, ("good", "tests.plugin_fixtures:good"), ("dup", "tests.plugin_fixtures:duplicate_heun")
    )
    monkeypatch.setenv(plugins.ENV_DISABLE, "dup")
    assert "euler_copy" in plugins.registry().steppers
    plugins.reset()
    monkeypatch.delenv(plugins.ENV_DISABLE)
    monkeypatch.setenv(plugins.ENV_LOAD, "")
    reg = plugins.registry()
    assert "euler_copy" not in reg.steppers and BUILTINS <= set(reg.steppers)
    plugins.reset()
    monkeypatch.setenv(plugins.ENV_LOAD, "good")
    assert "euler_copy" in plugins.registry().steppers


def test_register_plugin_at_run_time_is_strict(fresh_plugins) -> None:
    with pytest.raises(pluggy.PluginValidationError, match="unknown hook 'sdesolve_register_stepper'"):
        plugins.register_plugin(plugin_fixtures.Misspelled(), name="misspelled_rt")
    assert not plugins.plugin_manager().has_plugin("misspelled_rt")
    with pytest.raises(plugins.DuplicateNameError, match=r"'heun'.*'sdesolve\.steppers\.heun'.*'dup_rt'"):
        plugins.register_plugin(plugin_fixtures.DuplicateHeun(), name="dup_rt")
    assert plugins.registry().owners["stepper"]["heun"] == "sdesolve.steppers.heun"
    with pytest.raises(plugins.DuplicateNameError, match="'heun'"):  # strict: nothing of it is kept
        plugins.register_plugin(plugin_fixtures.HeunAndMore(), name="dup_more_rt")
    assert "euler_copy" not in plugins.registry().steppers
    assert not plugins.plugin_manager().has_plugin("dup_more_rt")
    name = plugins.register_plugin(plugin_fixtures.Good(), name="good_rt")
    assert plugins.registry().owners["stepper"]["euler_copy"] == name
    plugins.unregister_plugin(name)
    assert "euler_copy" not in plugins.registry().steppers


def test_invalid_stepper_classes_are_refused(fresh_plugins, monkeypatch) -> None:
    with pytest.raises(plugins.PluginError, match=r"expects a subclass of sdesolve\.Stepper"):
        plugins.register_plugin(plugin_fixtures.NotAStepper(), name="not_a_stepper")
    assert not plugins.plugin_manager().has_plugin("not_a_stepper")
    _fake_entry_points(monkeypatch, ("not_a_stepper", "tests.plugin_fixtures:not_a_stepper"))
    plugins.reset()
    with pytest.warns(RuntimeWarning, match=r"expects a subclass of sdesolve\.Stepper"):
        reg = plugins.registry()
    records = {r.name: r for r in plugins.plugin_records()}
    assert "expects a subclass" in records["not_a_stepper"].error
    assert BUILTINS <= set(reg.steppers)


def test_a_plugin_calling_sys_exit_at_import_is_reported_not_fatal(fresh_plugins, monkeypatch, tmp_path) -> None:
    """Regression: SystemExit (a BaseException) at import used to end every command."""
    (tmp_path / "sdesolve_exiting_plugin_xyz.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_entry_points(monkeypatch, ("exiting", "sdesolve_exiting_plugin_xyz"), ("good", "tests.plugin_fixtures:good"))
    with pytest.warns(RuntimeWarning, match="exiting"):
        reg = plugins.registry()
    records = {r.name: r for r in plugins.plugin_records()}
    assert "failed to import" in records["exiting"].error and "SystemExit: 3" in records["exiting"].error
    assert "euler_copy" in reg.steppers and BUILTINS <= set(reg.steppers)


def test_a_hook_calling_sys_exit_is_reported_not_fatal(fresh_plugins, monkeypatch) -> None:
    _fake_entry_points(
        monkeypatch, ("exiting_hook", "tests.plugin_fixtures:exiting_hook"), ("good", "tests.plugin_fixtures:good")
    )
    with pytest.warns(RuntimeWarning, match="raised SystemExit: plugin gave up"):
        reg = plugins.registry()
    records = {r.name: r for r in plugins.plugin_records()}
    assert "raised SystemExit" in records["exiting_hook"].error
    assert "euler_copy" in reg.steppers and BUILTINS <= set(reg.steppers)
    plugins.reset()
    with pytest.raises(plugins.PluginError, match="raised SystemExit"):  # strict at run time, still no exit
        plugins.register_plugin(plugin_fixtures.ExitingHook(), name="exiting_rt")
    assert not plugins.plugin_manager().has_plugin("exiting_rt")


def test_keyboard_interrupt_in_a_hook_still_propagates(fresh_plugins) -> None:
    from sdesolve import hookimpl

    class Interrupted:
        @hookimpl
        def sdesolve_register_steppers(self, register):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        plugins.register_plugin(Interrupted(), name="interrupted")


class _NotCallable:
    name = "not_callable"

    def describe(self):
        return {}


@pytest.mark.parametrize(
    "kind,name,obj,expected",
    [
        ("stepper", "abstract_stepper", plugin_fixtures.AbstractStepper, r"is abstract: it does not implement step"),
        ("stepper", "nan_order", plugin_fixtures.NanOrder, r"weak_order must be a finite non-negative number, got nan"),
        ("stepper", "inf_order", plugin_fixtures.InfOrder, r"ode_order must be a finite non-negative number, got inf"),
        (
            "stepper",
            "noise_as_string",
            plugin_fixtures.NoiseAsString,
            r"supports_noise must be True or False, got 'no'",
        ),
        (
            "stepper",
            "wrong_step_signature",
            plugin_fixtures.WrongStepSignature,
            r"expected step\(self, ctx, k, x, state\)",
        ),
        (
            "stepper",
            "init_not_callable",
            plugin_fixtures.InitNotCallable,
            r"init must be a method init\(self, ctx, x0\), got 5",
        ),
        ("stepper", "init_wrong_signature", plugin_fixtures.InitWrongSignature, r"expected init\(self, ctx, x0\)"),
        ("stepper", "needs_argument", plugin_fixtures.NeedsArgument, r"constructible without arguments"),
        ("sampler", "fortytwo", 42, r"expected a callable sampler object"),
        ("sampler", "a_class", plugin_fixtures.FakeSampler, r"got the class FakeSampler; register an instance"),
        ("sampler", "not_callable", _NotCallable(), r"expected a callable sampler object"),
        ("widget", "not_a_widget", 42, r"expected a callable widget, got 42"),
    ],
)
def test_unusable_objects_are_refused_at_registration_naming_plugin_name_and_expectation(
    fresh_plugins, monkeypatch, kind: str, name: str, obj, expected: str
) -> None:
    """Regression: abstract steppers, NaN/inf orders, supports_noise='no', a step or init that cannot be called,
    sampler=42 and the like used to be registered and fail later, far from the plugin."""
    with pytest.raises(plugins.PluginError, match=rf"plugin 'bad_plugin': {kind} '{name}' refused: .*{expected}"):
        plugins.register_plugin(plugin_fixtures.registering(kind, name, obj), name="bad_plugin")
    assert not plugins.plugin_manager().has_plugin("bad_plugin")
    assert name not in plugins.registry().items.get(kind, {})  # a kind the plugin declared went with it
    # through an entry point: reported and left out by name, the other plugins load
    monkeypatch.setattr(plugin_fixtures, "bad_plugin", plugin_fixtures.registering(kind, name, obj), raising=False)
    _fake_entry_points(
        monkeypatch, ("bad_plugin", "tests.plugin_fixtures:bad_plugin"), ("good", "tests.plugin_fixtures:good")
    )
    plugins.reset()
    with pytest.warns(RuntimeWarning, match=expected):
        reg = plugins.registry()
    assert name not in reg.items[kind] and "euler_copy" in reg.steppers and BUILTINS <= set(reg.steppers)
    records = {r.name: r for r in plugins.plugin_records()}
    assert f"{kind} '{name}' refused" in records["bad_plugin"].error


@pytest.mark.needs_plugin("diffusion")
def test_the_registered_objects_of_the_repository_pass_validation() -> None:
    records = {r.name: r for r in sdesolve.plugin_records()}
    assert all(r.error is None for r in records.values()), {n: r.error for n, r in records.items() if r.error}
    from sdesolve_diffusion.samplers import SAMPLERS

    assert set(sdesolve.registry().items["sampler"]) == {cls.name for cls in SAMPLERS}


@pytest.mark.parametrize(
    "kind,wrong,right",
    [
        pytest.param("sampler", "DDRaM", "ddram", marks=pytest.mark.needs_plugin("diffusion")),
        ("stepper", "Heun", "heun"),
    ],
)
def test_a_wrong_case_name_is_refused_with_a_suggestion(kind: str, wrong: str, right: str) -> None:
    """Regression: difflib missed case differences ('DDRaM' got no suggestion); look-ups stay exact."""
    with pytest.raises(
        KeyError, match=rf"unknown {kind} '{wrong}'; did you mean '{right}'\? \(names are case-sensitive\)"
    ):
        sdesolve.registry().get(kind, wrong)
    assert sdesolve.registry().get(kind, right) is not None


@pytest.mark.slow
def test_third_party_stepper_gets_the_conformance_suite(fresh_plugins) -> None:
    plugins.register_plugin(plugin_fixtures.Good(), name="good_conformance")
    results = run_conformance(quick=True, problems=["nonlinear_tv"])
    checked = {r.stepper for r in results}
    assert "euler_copy" in checked and BUILTINS <= checked
    assert all(r.passed for r in results if r.stepper == "euler_copy")


def test_sample_without_a_sampler_plugin_says_what_to_install(fresh_plugins, monkeypatch) -> None:
    monkeypatch.setenv(plugins.ENV_LOAD, "")
    with pytest.raises(LookupError, match="no sampler is registered; install the diffusion plugin"):
        sdesolve.sample(lambda x, t: x, (2, 2), "ddim")
