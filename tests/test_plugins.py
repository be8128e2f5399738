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
        "sdesolve_register_processes",
        "sdesolve_register_grids",
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
    assert "test_grid" in reg.items["grid"]
    records = {r.name: r for r in plugins.plugin_records()}
    assert records["good"].error is None
    assert records["good"].registers == {"stepper": ["euler_copy"], "grid": ["test_grid"]}
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
        monkeypatch, ("dup", "tests.plugin_fixtures:duplicate_heun"), ("good", "tests.plugin_fixtures:good")
    )
    with pytest.warns(
        RuntimeWarning,
        match=r"stepper 'heun' is registered by both plugin "
        r"'sdesolve.steppers.heun' and plugin 'dup'",
    ):
        reg = plugins.registry()
    assert reg.owners["stepper"]["heun"] == "sdesolve.steppers.heun"  # the first holder keeps it
    assert "euler_copy" in reg.steppers and BUILTINS <= set(reg.steppers)
    records = {r.name: r for r in plugins.plugin_records()}
    assert "registered by both" in records["dup"].error and records["dup"].registers == {}


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
    with pytest.raises(plugins.DuplicateNameError, match="'heun'"):
        plugins.register_plugin(plugin_fixtures.DuplicateHeun(), name="dup_rt")
    assert plugins.registry().owners["stepper"]["heun"] == "sdesolve.steppers.heun"
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


def test_third_party_stepper_gets_the_conformance_suite(fresh_plugins) -> None:
    plugins.register_plugin(plugin_fixtures.Good(), name="good_conformance")
    results = run_conformance(quick=True, problems=["nonlinear_tv"])
    checked = {r.stepper for r in results}
    assert "euler_copy" in checked and BUILTINS <= checked
    assert all(r.passed for r in results if r.stepper == "euler_copy")


def test_example_plugin_is_installed_through_its_entry_point() -> None:
    records = {r.name: r for r in sdesolve.plugin_records()}
    assert "sra" in records, "install plugins/sdesolve-sra (pip install -e plugins/sdesolve-sra)"
    assert records["sra"].distribution == "sdesolve-sra" and records["sra"].version
    assert records["sra"].registers == {"stepper": ["sra1"]}
    assert sdesolve.registry().owners["stepper"]["sra1"] == "sra"


def test_sample_without_a_sampler_plugin_says_what_to_install(fresh_plugins, monkeypatch) -> None:
    monkeypatch.setenv(plugins.ENV_LOAD, "")
    with pytest.raises(LookupError, match="no sampler is registered; install the diffusion plugin"):
        sdesolve.sample(lambda x, t: x, (2, 2), "ddim")


def test_diffusion_plugin_reaches_the_core_only_through_the_public_api() -> None:
    """sdesolve_diffusion imports only sdesolve's public modules: the package, random, factors, finite and reference."""
    import ast
    import pathlib

    import sdesolve_diffusion

    allowed = {"sdesolve", "sdesolve.random", "sdesolve.factors", "sdesolve.reference", "sdesolve.finite"}
    root = pathlib.Path(sdesolve_diffusion.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sdesolve":
                assert node.module in allowed, f"{path.name} imports {node.module}"
    records = {r.name: r for r in sdesolve.plugin_records()}
    assert records["diffusion"].distribution == "sdesolve-diffusion"
    assert set(records["diffusion"].registers) == {"sampler", "process", "grid"}
