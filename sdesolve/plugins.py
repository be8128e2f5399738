"""Plugin loading and the registries of steppers, samplers, processes and time grids.

Built-in steppers are ordinary hook implementations listed in :data:`DEFAULT_PLUGINS`. Third-party plugins
are modules exposed under the entry-point group ``sdesolve``::

    [project.entry-points.sdesolve]
    my_plugin = "my_package.plugin_module"

Environment variables:

* ``SDESOLVE_LOAD_PLUGINS``: comma-separated entry-point names to load (all others are skipped); set it
  to an empty string to load no external plugin.
* ``SDESOLVE_DISABLE_PLUGINS``: comma-separated entry-point names never to load.

A plugin that fails to import, whose hooks do not match the specifications (strict ``check_pending``), whose
hook raises, or that registers a name another plugin already holds is reported (:func:`plugin_records`,
``sdesolve plugins``, a ``RuntimeWarning`` naming both plugins for a duplicate) and left out; the others load
normally. :func:`register_plugin` is strict: it raises (:class:`DuplicateNameError` naming both plugins).
"""

from __future__ import annotations

import difflib
import importlib
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from sdesolve import hookspecs
from sdesolve.steppers.base import Stepper

__all__ = [
    "DEFAULT_PLUGINS",
    "DuplicateNameError",
    "PluginError",
    "PluginRecord",
    "Registry",
    "get_stepper",
    "plugin_manager",
    "plugin_records",
    "register_plugin",
    "registry",
    "reset",
    "unregister_plugin",
]

ENTRY_POINT_GROUP = "sdesolve"
ENV_LOAD = "SDESOLVE_LOAD_PLUGINS"
ENV_DISABLE = "SDESOLVE_DISABLE_PLUGINS"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "sdesolve.steppers.euler_maruyama",
    "sdesolve.steppers.exponential_euler",
    "sdesolve.steppers.randomized_midpoint",
    "sdesolve.steppers.heun",
    "sdesolve.steppers.exponential_rk2",
    "sdesolve.steppers.exponential_ab2",
)

KINDS = {
    "stepper": "sdesolve_register_steppers",
    "sampler": "sdesolve_register_samplers",
    "process": "sdesolve_register_processes",
    "grid": "sdesolve_register_grids",
}


class PluginError(RuntimeError):
    """A plugin could not be used."""


class DuplicateNameError(PluginError):
    """Two plugins registered the same name."""


@dataclass
class PluginRecord:
    """One plugin: where it comes from and what it registered (or why it failed)."""

    name: str
    builtin: bool
    distribution: str | None = None
    version: str | None = None
    registers: dict[str, list[str]] = field(default_factory=dict)
    load_error: str | None = None
    hook_error: str | None = None

    @property
    def error(self) -> str | None:
        """Why the plugin (or one of its hooks) was left out, if it was."""
        return self.load_error or self.hook_error

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "builtin": self.builtin,
            "distribution": self.distribution,
            "version": self.version,
            "registers": self.registers,
            "error": self.error,
        }


class Registry:
    """Names → registered objects, per kind, with the plugin that registered each."""

    def __init__(self, records: list[PluginRecord]) -> None:
        self.records = records
        self.items: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self.owners: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}

    def add(self, kind: str, name: str, obj: Any, plugin: str) -> None:
        owner = self.owners[kind].get(name)
        if owner is not None:
            raise DuplicateNameError(
                f"{kind} {name!r} is registered by both plugin {owner!r} and plugin {plugin!r}; uninstall one "
                f"of them or skip one with {ENV_DISABLE}=<entry-point name>"
            )
        self.items[kind][name] = obj
        self.owners[kind][name] = plugin

    def clash(self, kind: str, names: list[str], plugin: str) -> str | None:
        """The duplicate-name error ``names`` would raise for ``plugin``, or ``None``."""
        seen: set[str] = set()
        for name in names:
            owner = self.owners[kind].get(name) or (plugin if name in seen else None)
            if owner is not None:
                return (
                    f"{kind} {name!r} is registered by both plugin {owner!r} and plugin {plugin!r}; the latter was "
                    f"left out (uninstall one of them or skip one with {ENV_DISABLE}=<entry-point name>)"
                )
            seen.add(name)
        return None

    @property
    def steppers(self) -> dict[str, type[Stepper]]:
        return dict(self.items["stepper"])

    def get(self, kind: str, name: str) -> Any:
        """The object registered as ``name``; a ``KeyError`` suggesting close matches otherwise."""
        table = self.items[kind]
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if name not in table:
            close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(f"unknown {kind} {name!r}{hint} (registered: {', '.join(sorted(table)) or 'none'})")
        return table[name]


def _validate_stepper(cls: Any) -> str:
    if not (isinstance(cls, type) and issubclass(cls, Stepper)):
        raise TypeError(f"register() expects a subclass of sdesolve.Stepper, got {cls!r}")
    if not isinstance(cls.name, str) or not cls.name.isidentifier():
        raise TypeError(f"{cls.__qualname__}.name must be a non-empty identifier string, got {cls.name!r}")
    for attr in ("ode_order", "strong_order", "weak_order"):
        value = getattr(cls, attr)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise TypeError(f"{cls.__qualname__}.{attr} must be a non-negative number, got {value!r}")
    nfe = cls.nfe_per_step
    if isinstance(nfe, bool) or not isinstance(nfe, int) or nfe < 1:
        raise TypeError(f"{cls.__qualname__}.nfe_per_step must be a positive integer, got {nfe!r}")
    return cls.name


def _make_register(kind: str, sink: list[tuple[str, Any]]):
    if kind == "stepper":

        def register_stepper(cls: Any) -> None:
            sink.append((_validate_stepper(cls), cls))

        return register_stepper

    def register(name: str, obj: Any) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"register(name, {kind}) expects a non-empty string name, got {name!r}")
        sink.append((name, obj))

    return register


def _env_names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


class _State:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("sdesolve")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.registry: Registry | None = None
        from sdesolve import __version__

        for module_name in DEFAULT_PLUGINS:
            module = importlib.import_module(module_name)
            self.pm.register(module, name=module_name)
            self.records[module_name] = PluginRecord(
                module_name, builtin=True, distribution="sdesolve", version=__version__
            )
        self.pm.check_pending()
        self._load_entry_points()

    def _load_entry_points(self) -> None:
        allowed = _env_names(ENV_LOAD)
        disabled = _env_names(ENV_DISABLE) or set()
        for ep in _entry_points():
            if ep.name in disabled or (allowed is not None and ep.name not in allowed):
                continue
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                ep.name,
                builtin=False,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            self.records[ep.name] = record
            if self.pm.has_plugin(ep.name):
                record.load_error = f"an already registered plugin has the name {ep.name!r}"
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                record.load_error = f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}"
                warnings.warn(f"sdesolve plugin {ep.name!r} {record.load_error}", RuntimeWarning, stacklevel=2)
                continue
            try:
                self.pm.register(plugin, name=ep.name)
                self.pm.check_pending()
            except Exception as exc:
                if self.pm.has_plugin(ep.name):
                    self.pm.unregister(name=ep.name)
                record.load_error = f"invalid hooks: {type(exc).__name__}: {exc}"
                warnings.warn(f"sdesolve plugin {ep.name!r} has {record.load_error}", RuntimeWarning, stacklevel=2)

    def build(self) -> Registry:
        reg = Registry(list(self.records.values()))
        for record in self.records.values():
            record.registers = {}
            record.hook_error = None
        for kind, hook_name in KINDS.items():
            hook = getattr(self.pm.hook, hook_name)
            for impl in hook.get_hookimpls():
                record = self.records.setdefault(impl.plugin_name, PluginRecord(impl.plugin_name, builtin=False))
                sink: list[tuple[str, Any]] = []
                try:
                    impl.function(register=_make_register(kind, sink))
                except Exception as exc:
                    record.hook_error = f"hook {hook_name} raised {type(exc).__name__}: {exc}"
                    warnings.warn(
                        f"sdesolve plugin {impl.plugin_name!r}: {record.hook_error}", RuntimeWarning, stacklevel=2
                    )
                    continue
                clash = reg.clash(kind, [name for name, _ in sink], impl.plugin_name)
                if clash is not None:  # left out whole, reported, the others stay loaded
                    record.hook_error = clash
                    warnings.warn(f"sdesolve plugin {impl.plugin_name!r}: {clash}", RuntimeWarning, stacklevel=2)
                    continue
                for name, obj in sink:
                    reg.add(kind, name, obj, impl.plugin_name)
                    record.registers.setdefault(kind, []).append(name)
        reg.records = list(self.records.values())
        return reg


_state: _State | None = None


def _get_state() -> _State:
    global _state
    if _state is None:
        _state = _State()
    return _state


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (built-ins and entry points loaded)."""
    return _get_state().pm


def registry() -> Registry:
    """The registries, built on first use and cached until plugins change."""
    state = _get_state()
    if state.registry is None:
        state.registry = state.build()
    return state.registry


def plugin_records() -> list[PluginRecord]:
    """Every plugin seen (loaded, or failed with its error)."""
    return registry().records


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object (module or instance with hook implementations) at run time.

    Strict: hooks that match no specification raise ``pluggy.PluginValidationError``.
    """
    state = _get_state()
    plugin_name = state.pm.register(plugin, name=name)
    if plugin_name is None:
        raise PluginError(f"plugin {name or plugin!r} is already registered")
    try:
        state.pm.check_pending()
    except Exception:
        state.pm.unregister(name=plugin_name)
        raise
    state.records[plugin_name] = PluginRecord(plugin_name, builtin=False)
    state.registry = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry()
    error = state.records[plugin_name].hook_error
    if error is not None:  # strict: a plugin registered by hand that cannot be used is an error
        unregister_plugin(plugin_name)
        raise (DuplicateNameError if "registered by both" in error else PluginError)(error)
    return plugin_name


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered by name (e.g. one added with :func:`register_plugin`)."""
    state = _get_state()
    if state.pm.has_plugin(name):
        state.pm.unregister(name=name)
    state.records.pop(name, None)
    state.registry = None


def reset() -> None:
    """Forget all plugin state; the next use reloads built-ins and entry points (honours the env vars)."""
    global _state
    _state = None


def get_stepper(name: str) -> type[Stepper]:
    """The stepper class registered as ``name`` (``KeyError`` with close matches otherwise)."""
    return registry().get("stepper", name)
