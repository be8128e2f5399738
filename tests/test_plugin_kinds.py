"""Kinds a plugin declares (``sdesolve_register_kinds``): its own hook specifications and registries."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pytest

import sdesolve
from sdesolve import hookimpl, hookspec, plugins
from tests import plugin_fixtures


@hookspec
def sdesolve_register_gadgets(register: Any) -> None:
    """A second test kind."""


def not_a_spec(register: Any) -> None:
    pass


class DeclaresWidgetToo:
    """Declares the kind ``widget`` that ``good`` already declares."""

    @hookimpl
    def sdesolve_register_kinds(self, register: Any) -> None:
        register("widget", sdesolve_register_gadgets)


class BadDeclarations:
    @hookimpl
    def sdesolve_register_kinds(self, register: Any) -> None:
        register("Bad Name", sdesolve_register_gadgets)
        register("gadget", not_a_spec)


class WrongWidgetArguments:
    @hookimpl
    def sdesolve_register_widgets(self, reg: Any) -> None:  # the spec's argument is 'register'
        pass


class UsesUndeclaredKind:
    @hookimpl
    def sdesolve_register_gadgets(self, register: Any) -> None:
        register("g", object())


class AsksTheRegistryWhileBuilt:
    """A sampler whose describe() looks its stepper up: runs while the registry is being built."""

    class Sampler:
        name = "asks"
        nfe_per_step = 1

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

        def describe(self) -> dict[str, Any]:
            stepper = sdesolve.registry().get("stepper", "heun")
            return {"nfe_per_step": stepper.nfe_per_step}

    @hookimpl
    def sdesolve_register_samplers(self, register: Any) -> None:
        register("asks", self.Sampler())


def _entry_points(monkeypatch, *specs: tuple[str, str]) -> None:
    eps = [metadata.EntryPoint(name, value, "sdesolve") for name, value in specs]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)


def _bind(monkeypatch, **objects: Any) -> None:
    for name, obj in objects.items():
        monkeypatch.setattr(plugin_fixtures, name, obj, raising=False)


def test_a_plugin_declares_a_kind_that_others_implement(fresh_plugins, monkeypatch) -> None:
    class MoreWidgets:  # loaded before the plugin that declares the kind: still accepted
        @hookimpl
        def sdesolve_register_widgets(self, register: Any) -> None:
            register("other_widget", len)

    _bind(monkeypatch, more_widgets=MoreWidgets())
    _entry_points(monkeypatch, ("a_more", "tests.plugin_fixtures:more_widgets"), ("good", "tests.plugin_fixtures:good"))
    reg = plugins.registry()
    assert set(reg.items["widget"]) == {"test_widget", "other_widget"}
    assert reg.kinds["widget"].declared_by == "good" and reg.kinds["widget"].plural == "widgets"
    assert reg.get("widget", "other_widget") is len
    records = {r.name: r for r in plugins.plugin_records()}
    assert records["a_more"].error is None and records["a_more"].kinds == []


def test_the_core_alone_declares_no_diffusion_kind(fresh_plugins, monkeypatch) -> None:
    monkeypatch.setenv(plugins.ENV_LOAD, "")
    reg = plugins.registry()
    assert set(reg.kinds) == {"stepper", "sampler", "command"}
    with pytest.raises(KeyError, match=r"unknown kind 'process'; the installed plugins declare stepper, sampler"):
        reg.get("process", "vp")


def test_a_kind_declared_twice_is_refused_naming_both(fresh_plugins, monkeypatch) -> None:
    _bind(monkeypatch, widget_too=DeclaresWidgetToo())
    _entry_points(monkeypatch, ("good", "tests.plugin_fixtures:good"), ("too", "tests.plugin_fixtures:widget_too"))
    with pytest.warns(RuntimeWarning, match=r"kind 'widget' is declared by both 'good' and plugin 'too'"):
        reg = plugins.registry()
    assert reg.kinds["widget"].declared_by == "good" and "test_widget" in reg.items["widget"]
    records = {r.name: r for r in plugins.plugin_records()}
    assert "kind 'widget' refused" in records["too"].error
    plugins.registry()  # a rebuild keeps the declaration issue
    assert "kind 'widget' refused" in {r.name: r for r in plugins.plugin_records()}["too"].error


def test_malformed_declarations_are_refused_saying_what_was_expected(fresh_plugins) -> None:
    with pytest.raises(plugins.PluginError, match=r"kind 'Bad Name' refused: .*lower-case letters"):
        plugins.register_plugin(BadDeclarations(), name="bad_kinds")
    assert not plugins.plugin_manager().has_plugin("bad_kinds")

    class OnlyNotASpec:
        @hookimpl
        def sdesolve_register_kinds(self, register: Any) -> None:
            register("gadget", not_a_spec)

    with pytest.raises(plugins.PluginError, match=r"spec must be a function named sdesolve_\.\.\. decorated"):
        plugins.register_plugin(OnlyNotASpec(), name="not_a_spec")
    assert "gadget" not in plugins.registry().kinds


def test_an_implementation_that_does_not_match_the_declared_spec_is_left_out(fresh_plugins, monkeypatch) -> None:
    _bind(monkeypatch, wrong_widget=WrongWidgetArguments(), undeclared=UsesUndeclaredKind())
    _entry_points(
        monkeypatch,
        ("a_wrong", "tests.plugin_fixtures:wrong_widget"),
        ("b_undeclared", "tests.plugin_fixtures:undeclared"),
        ("good", "tests.plugin_fixtures:good"),
    )
    with pytest.warns(RuntimeWarning) as caught:
        reg = plugins.registry()
    records = {r.name: r for r in plugins.plugin_records()}
    assert "sdesolve_register_widgets takes reg" in records["a_wrong"].load_error
    assert "invalid hooks" in records["b_undeclared"].load_error
    assert "sdesolve_register_gadgets" in records["b_undeclared"].load_error
    assert records["good"].error is None and "test_widget" in reg.items["widget"]
    text = " ".join(str(w.message) for w in caught)
    assert "a_wrong" in text and "b_undeclared" in text


def test_a_kind_registered_at_run_time_goes_with_its_plugin(fresh_plugins) -> None:
    plugins.register_plugin(plugin_fixtures.Good(), name="good_now")
    assert "test_widget" in plugins.registry().items["widget"]
    plugins.unregister_plugin("good_now")
    assert "widget" not in plugins.registry().kinds
    plugins.register_plugin(plugin_fixtures.Good(), name="good_again")  # the same spec declared again
    assert plugins.registry().owners["widget"]["test_widget"] == "good_again"


def test_plugin_code_asking_for_the_registry_while_it_is_built_sees_it(fresh_plugins) -> None:
    """Regression: a sampler's describe() that called registry() during the build started a second build."""
    plugins.register_plugin(AsksTheRegistryWhileBuilt(), name="asks")
    reg = plugins.registry()
    assert reg.get("sampler", "asks").describe() == {"nfe_per_step": 2}
    assert {r.name: r for r in plugins.plugin_records()}["asks"].error is None
