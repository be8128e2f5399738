"""The diffusion plugin declares its own kinds, ``process`` and ``grid``, with their hook specifications."""

from __future__ import annotations

from typing import Any

import pytest

import sdesolve
from sdesolve import hookimpl, plugins


class _BadTimes:
    name = "bad_times"
    t_min, t_max = 1.0, 0.5

    def sigma(self, t):
        return t

    def log_alpha(self, t):
        return t


def _registering(kind: str, name: str, obj: Any) -> Any:
    class Plugin:
        if kind == "process":

            @hookimpl
            def sdesolve_register_processes(self, register: Any) -> None:
                register(name, obj)

        else:

            @hookimpl
            def sdesolve_register_grids(self, register: Any) -> None:
                register(name, obj)

    return Plugin()


def test_process_and_grid_are_kinds_of_the_diffusion_plugin() -> None:
    kinds = sdesolve.registry().kinds
    assert kinds["process"].declared_by == "diffusion" and kinds["process"].plural == "processes"
    assert kinds["grid"].declared_by == "diffusion"
    assert {"vp", "ve", "edm"} <= set(sdesolve.registry().items["process"])
    from sdesolve import hookspecs

    assert not hasattr(hookspecs, "sdesolve_register_processes")  # the core declares no diffusion concept


@pytest.mark.parametrize(
    "kind,name,obj,expected",
    [
        ("process", "not_a_process", object(), r"expected a process object with methods sigma\(t\) and log_alpha"),
        ("process", "a_class", _BadTimes, r"got the class _BadTimes; register an instance"),
        ("process", "bad_times", _BadTimes(), r"0 <= t_min < t_max"),
        ("grid", "not_a_grid", 42, r"expected a callable grid\(process, steps"),
    ],
)
def test_unusable_processes_and_grids_are_refused_naming_the_plugin(kind: str, name: str, obj, expected: str) -> None:
    with pytest.raises(plugins.PluginError, match=rf"plugin 'bad_plugin': {kind} '{name}' refused: .*{expected}"):
        plugins.register_plugin(_registering(kind, name, obj), name="bad_plugin")
    assert name not in sdesolve.registry().items[kind]


def test_a_third_party_process_is_found_by_name() -> None:
    vp = sdesolve.registry().get("process", "vp")
    plugins.register_plugin(_registering("process", "my_vp", vp), name="my_processes")
    try:
        assert sdesolve.registry().get("process", "my_vp") is vp
        x = sdesolve.sample(lambda x, t: x * 0, (4, 2), "ddim", process="my_vp", steps=3)
        assert x.shape == (4, 2) and bool(x.isfinite().all())
    finally:
        plugins.unregister_plugin("my_processes")


def test_an_unknown_process_name_is_refused_with_suggestions() -> None:
    with pytest.raises(ValueError, match=r"process: unknown process 'vpp'; did you mean 'vp'"):
        sdesolve.sample(lambda x, t: x * 0, (4, 2), "ddim", process="vpp", steps=3)
