"""Plugin loading and the registries of steppers, samplers, processes, time grids and subcommands.

Built-ins are ordinary hook implementations (:data:`DEFAULT_PLUGINS`): the core's commands (:mod:`sdesolve.cli`)
and every module of the :mod:`sdesolve.steppers` package except ``base`` and private ones, found by
:func:`pkgutil.iter_modules` and taken in name order (adding a stepper touches only its module; a module defining no
hook implementation, a helper, is skipped). Third-party plugins
are modules exposed under the entry-point group ``sdesolve``::

    [project.entry-points.sdesolve]
    my_plugin = "my_package.plugin_module"

Environment variables:

* ``SDESOLVE_LOAD_PLUGINS``: comma-separated entry-point names to load (all others are skipped); set it
  to an empty string to load no external plugin.
* ``SDESOLVE_DISABLE_PLUGINS``: comma-separated entry-point names never to load.

Precedence (deterministic, whatever the order in which entry points are discovered): the core built-ins
(:data:`DEFAULT_PLUGINS`, in that order), then the first-party distributions of this repository
(:data:`FIRST_PARTY_DISTRIBUTIONS`), then every other entry point sorted by (distribution, entry-point name),
then plugins added with :func:`register_plugin` in the order they were added. When two plugins register the same
name, the one earlier in this order keeps it; only that **one name** of the later plugin is left out (a
``RuntimeWarning`` naming both plugins), its other names stay registered.

A plugin that fails to import (any exception, ``SystemExit`` included; only ``KeyboardInterrupt`` propagates),
whose hooks do not match the specifications (strict ``check_pending``) or whose hook raises is reported
(:func:`plugin_records`, ``sdesolve plugins``, a ``RuntimeWarning``) and left out; an object that fails
validation at registration (see :func:`validate`) is left out by name. The others load normally.
:func:`register_plugin` is strict: it raises (:class:`DuplicateNameError` naming both plugins,
:class:`PluginError` otherwise) and leaves nothing of the plugin registered.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import itertools
import math
import os
import pkgutil
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from sdesolve import hookspecs
from sdesolve.steppers.base import Stepper

__all__ = [
    "CORE_KINDS",
    "DEFAULT_PLUGINS",
    "FIRST_PARTY_DISTRIBUTIONS",
    "Command",
    "DuplicateNameError",
    "Kind",
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
    "validate",
]

ENTRY_POINT_GROUP = "sdesolve"
ENV_LOAD = "SDESOLVE_LOAD_PLUGINS"
ENV_DISABLE = "SDESOLVE_DISABLE_PLUGINS"


def _builtin_modules() -> tuple[str, ...]:
    """The core's commands, then the stepper modules of :mod:`sdesolve.steppers` in name order."""
    import sdesolve.steppers as package

    names = sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if m.name != "base" and not m.name.startswith("_")
    )
    return ("sdesolve.cli", *(f"{package.__name__}.{name}" for name in names))


#: The built-in plugins, in precedence order (discovered, not listed by hand).
DEFAULT_PLUGINS: tuple[str, ...] = _builtin_modules()

#: Distributions shipped in this repository (``plugins/``): they rank right after the core built-ins.
FIRST_PARTY_DISTRIBUTIONS: tuple[str, ...] = ("sdesolve-diffusion", "sdesolve-lab", "sdesolve-sra")

_KIND_NAME = re.compile(r"[a-z][a-z0-9_]*")

_COMMAND_NAME = re.compile(r"[a-z][a-z0-9-]*")

_RUNTIME = itertools.count()


class PluginError(RuntimeError):
    """A plugin could not be used."""


@dataclass(frozen=True)
class Command:
    """An ``sdesolve`` subcommand registered through ``sdesolve_register_commands``.

    ``configure(parser)`` adds its options to an ``argparse.ArgumentParser``; ``run(args) -> int`` runs it.
    """

    name: str
    help: str
    configure: Any
    run: Any


class DuplicateNameError(PluginError):
    """Two plugins registered the same name."""


@dataclass(frozen=True)
class Kind:
    """A kind of registered object: the hook that registers it, its plural and how one object is checked.

    The core declares ``stepper``, ``sampler`` and ``command``; a plugin adds its own kinds (e.g. the diffusion
    plugin's ``process`` and ``grid``) through ``sdesolve_register_kinds``. ``check(obj)`` raises ``TypeError``
    saying what was expected; implementations of ``hook`` are called as ``hook(register)`` and call
    ``register(name, obj)``.
    """

    name: str
    hook: str
    plural: str
    check: Any = None
    declared_by: str = "sdesolve"


def _is_fatal(exc: BaseException) -> bool:
    """Exceptions a plugin may not swallow for us: only ``KeyboardInterrupt`` (the user asked to stop)."""
    return isinstance(exc, KeyboardInterrupt)


def _describe_exc(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _normalise_dist(name: str | None) -> str:
    return re.sub(r"[-_.]+", "-", name).lower() if name else ""


@dataclass
class PluginRecord:
    """One plugin: where it comes from, what it registered, and what was left out and why.

    ``kinds``: the kinds of registered objects it declares (``sdesolve_register_kinds``).
    ``load_error``: the plugin could not be loaded at all. ``issues``: hooks that raised and objects refused by
    validation. ``conflicts``: names left out because a plugin of higher precedence holds them.
    """

    name: str
    builtin: bool
    distribution: str | None = None
    version: str | None = None
    registers: dict[str, list[str]] = field(default_factory=dict)
    load_error: str | None = None
    issues: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    first_party: bool = False
    kinds: list[str] = field(default_factory=list)
    rank: tuple[Any, ...] = field(default=(3,), repr=False, compare=False)

    @property
    def hook_error(self) -> str | None:
        """Every problem met while calling the plugin's hooks (``None`` if there was none)."""
        return "; ".join(self.issues + self.conflicts) or None

    @property
    def error(self) -> str | None:
        """Why the plugin, one of its hooks or one of its names was left out, if anything was."""
        return self.load_error or self.hook_error

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "builtin": self.builtin,
            "first_party": self.first_party,
            "distribution": self.distribution,
            "version": self.version,
            "kinds": list(self.kinds),
            "registers": self.registers,
            "error": self.error,
            "issues": list(self.issues),
            "conflicts": list(self.conflicts),
        }


class Registry:
    """Names → registered objects, per kind, with the plugin that registered each."""

    def __init__(self, records: list[PluginRecord], kinds: dict[str, Kind] | None = None) -> None:
        self.records = records
        self.kinds: dict[str, Kind] = dict(CORE_KINDS if kinds is None else kinds)
        self.items: dict[str, dict[str, Any]] = {kind: {} for kind in self.kinds}
        self.owners: dict[str, dict[str, str]] = {kind: {} for kind in self.kinds}

    def add(self, kind: str, name: str, obj: Any, plugin: str) -> None:
        owner = self.owners[kind].get(name)
        if owner is not None:
            raise DuplicateNameError(_clash_message(kind, name, owner, plugin))
        self.items[kind][name] = obj
        self.owners[kind][name] = plugin

    @property
    def steppers(self) -> dict[str, type[Stepper]]:
        return dict(self.items["stepper"])

    def get(self, kind: str, name: str) -> Any:
        """The object registered as exactly ``name``; a ``KeyError`` suggesting close matches otherwise.

        Look-ups are case-sensitive: ``'DDRaM'`` is refused with ``did you mean 'ddram'?``.
        """
        if kind not in self.items:
            raise KeyError(
                f"unknown kind {kind!r}; the installed plugins declare {', '.join(self.kinds)} "
                "(a kind such as 'process' comes from the plugin that declares it: `sdesolve plugins` lists them)"
            )
        table = self.items[kind]
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
        if name not in table:
            raise KeyError(_unknown_message(kind, name, table))
        return table[name]


def _unknown_message(kind: str, name: str, table: dict[str, Any]) -> str:
    # difflib compares case-sensitively ('DDRaM' is far from 'ddram'): match case-folded names first.
    folded = name.casefold()
    same = sorted(k for k in table if k.casefold() == folded)
    if same:
        close = same
    else:
        by_fold = {k.casefold(): k for k in sorted(table)}
        close = [by_fold[c] for c in difflib.get_close_matches(folded, list(by_fold), n=3, cutoff=0.5)]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    case = " (names are case-sensitive)" if same else ""
    return f"unknown {kind} {name!r}{hint}{case} (registered: {', '.join(sorted(table)) or 'none'})"


def _clash_message(kind: str, name: str, owner: str, plugin: str) -> str:
    return (
        f"{kind} {name!r} is registered by both plugin {owner!r} and plugin {plugin!r}; plugin {owner!r} keeps it "
        f"and only this name of plugin {plugin!r} was left out (uninstall one of them or skip one with "
        f"{ENV_DISABLE}=<entry-point name>)"
    )


# --- validation at registration -----------------------------------------------------------------------------
def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _check_callable_member(cls: type, member: str, params: tuple[str, ...]) -> None:
    """``cls.<member>`` can be called on an instance as ``member(*params)``."""
    expected = f"{member}(self, {', '.join(params)})"
    raw = inspect.getattr_static(cls, member, None)
    if inspect.isfunction(raw):
        func, extra = raw, 1  # a plain method: called with self
    elif isinstance(raw, (staticmethod, classmethod)):
        func, extra = getattr(cls, member), 0
    elif callable(raw):
        func, extra = raw, 0
    else:
        raise TypeError(f"{cls.__qualname__}.{member} must be a method {expected}, got {raw!r}")
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # a builtin without a signature: cannot be checked, accepted
        return
    try:
        sig.bind(*(None,) * (len(params) + extra))
    except TypeError as exc:
        raise TypeError(
            f"{cls.__qualname__}.{member}{sig} cannot be called as {expected} ({exc}); expected {expected}"
        ) from None


def _check_stepper(cls: Any) -> str:
    if not (isinstance(cls, type) and issubclass(cls, Stepper)):
        raise TypeError(f"register() expects a subclass of sdesolve.Stepper, got {cls!r}")
    q = cls.__qualname__
    if not isinstance(cls.name, str) or not cls.name.isidentifier():
        raise TypeError(f"{q}.name must be a non-empty identifier string, got {cls.name!r}")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise TypeError(f"{q} is abstract: it does not implement {missing}; expected step(self, ctx, k, x, state)")
    for attr in ("ode_order", "strong_order", "weak_order"):
        value = getattr(cls, attr)
        if not _number(value) or value < 0:
            raise TypeError(f"{q}.{attr} must be a finite non-negative number, got {value!r}")
    nfe = cls.nfe_per_step
    if isinstance(nfe, bool) or not isinstance(nfe, int) or nfe < 1:
        raise TypeError(f"{q}.nfe_per_step must be a positive integer, got {nfe!r}")
    if not isinstance(cls.supports_noise, bool):
        raise TypeError(f"{q}.supports_noise must be True or False, got {cls.supports_noise!r}")
    if not isinstance(cls.summary, str):
        raise TypeError(f"{q}.summary must be a string, got {cls.summary!r}")
    _check_callable_member(cls, "step", ("ctx", "k", "x", "state"))
    _check_callable_member(cls, "init", ("ctx", "x0"))
    try:
        inspect.signature(cls).bind()
    except TypeError as exc:
        raise TypeError(
            f"{q}() must be constructible without arguments (every option needs a default): {exc}"
        ) from None
    except ValueError:  # no signature to check
        pass
    return cls.name


def _check_instance(kind: str, obj: Any, example: str) -> None:
    if isinstance(obj, type):
        raise TypeError(f"expected a {kind} object ({example}), got the class {obj.__qualname__}; register an instance")


def _check_sampler(obj: Any) -> None:
    example = "e.g. an instance of a sampler class of the plugin that registers it"
    _check_instance("sampler", obj, example)
    if not callable(obj):
        raise TypeError(
            f"expected a callable sampler object sampler(model, x_T, *, steps, process, ...) ({example}), "
            f"got {type(obj).__name__} {obj!r}"
        )
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"expected a sampler with a non-empty string attribute 'name', got name={name!r}")
    describe = getattr(obj, "describe", None)
    if not callable(describe):
        raise TypeError("expected a sampler with a describe() method returning a dict of its metadata")
    info = describe()
    if not isinstance(info, dict):
        raise TypeError(f"expected describe() to return a dict, got {type(info).__name__}")
    nfe = info.get("nfe_per_step", getattr(obj, "nfe_per_step", 1))
    if not _number(nfe) or nfe <= 0:
        raise TypeError(f"expected nfe_per_step to be a positive finite number, got {nfe!r}")


def _check_command(name: str, obj: Any) -> None:
    if not isinstance(obj, Command):
        raise TypeError(f"expected a command registered as register(name, help, configure, run), got {obj!r}")
    if not _COMMAND_NAME.fullmatch(name):
        raise TypeError(f"expected a command name of lower-case letters, digits and '-' (e.g. 'sample'), got {name!r}")
    if not isinstance(obj.help, str):
        raise TypeError(f"expected the help of command {name!r} to be a string, got {obj.help!r}")
    for role, func, expected in (("configure", obj.configure, "configure(parser)"), ("run", obj.run, "run(args)")):
        if not callable(func):
            raise TypeError(f"expected the {role} of command {name!r} to be a function {expected}, got {func!r}")
        try:
            inspect.signature(func).bind(None)
        except TypeError as exc:
            raise TypeError(f"the {role} of command {name!r} cannot be called as {expected} ({exc})") from None
        except ValueError:  # no signature to check
            pass


#: The kinds the core declares; plugins add theirs through ``sdesolve_register_kinds``.
CORE_KINDS: dict[str, Kind] = {
    "stepper": Kind("stepper", "sdesolve_register_steppers", "steppers", _check_stepper),
    "sampler": Kind("sampler", "sdesolve_register_samplers", "samplers", _check_sampler),
    "command": Kind("command", "sdesolve_register_commands", "commands"),
}


def validate(kind: str, name: Any, obj: Any) -> str:
    """Check one registered object; return its registry name or raise ``TypeError`` saying what was expected.

    * stepper: a concrete :class:`Stepper` subclass (``step`` implemented and callable as
      ``step(self, ctx, k, x, state)``, ``init`` callable as ``init(self, ctx, x0)``), an identifier ``name``,
      finite non-negative ``ode_order``/``strong_order``/``weak_order``, a positive integer ``nfe_per_step``,
      a boolean ``supports_noise``, constructible without arguments;
    * sampler: a callable instance with a non-empty string ``name`` and a ``describe()`` returning a dict
      (``nfe_per_step``, if given, positive);
    * command: a :class:`Command` whose name is lower-case letters, digits and ``-``, whose help is a string and
      whose ``configure`` and ``run`` are callable with one argument;
    * a kind a plugin declared: a non-empty string name, and the kind's own ``check(obj)``.
    """
    if kind == "stepper":
        return _check_stepper(obj)
    if not isinstance(name, str) or not name:
        raise TypeError(f"register(name, {kind}) expects a non-empty string name, got {name!r}")
    if kind == "command":
        _check_command(name, obj)
        return name
    declared = CORE_KINDS.get(kind) or (_state.kinds.get(kind) if _state is not None else None)
    if declared is None:
        raise KeyError(f"unknown kind {kind!r}")
    if declared.check is not None:
        declared.check(obj)
    return name


def _make_register(kind: str, sink: list[tuple[Any, Any]]):
    """The ``register`` callback handed to a hook: it only collects; validation happens after the hook returns."""
    if kind == "stepper":

        def register_stepper(cls: Any) -> None:
            sink.append((getattr(cls, "name", None), cls))

        return register_stepper
    if kind == "command":

        def register_command(name: str, help: str, configure: Any, run: Any) -> None:
            sink.append((name, Command(name, help, configure, run)))

        return register_command

    def register(name: str, obj: Any) -> None:
        sink.append((name, obj))

    return register


def _env_names(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def _dist_of(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    try:
        return dist.metadata["Name"], dist.version
    except Exception:  # broken metadata: still load the plugin
        return None, None


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


def _collect_kind(sink: list[tuple[Any, ...]], name: str, spec: Any, check: Any = None, plural: str | None = None):
    """The ``register`` callback of ``sdesolve_register_kinds``: collects; checked after the hook returns."""
    sink.append((name, spec, check, plural))


def _spec_arguments(spec: Any) -> list[str]:
    return [p for p in inspect.signature(spec).parameters if p != "self"]


class _State:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("sdesolve")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.kinds: dict[str, Kind] = dict(CORE_KINDS)
        self.registry: Registry | None = None
        self.building: Registry | None = None
        from sdesolve import __version__

        hooks = {kind.hook for kind in CORE_KINDS.values()} | {"sdesolve_register_kinds"}
        for i, module_name in enumerate(DEFAULT_PLUGINS):
            module = importlib.import_module(module_name)
            if not hooks & set(vars(module)):  # a helper module of the package, not a plugin
                continue
            self.pm.register(module, name=module_name)
            self.records[module_name] = PluginRecord(
                module_name, builtin=True, distribution="sdesolve", version=__version__, rank=(0, i)
            )
        self.pm.check_pending()
        self._load_entry_points()

    def _load_entry_points(self) -> None:
        allowed = _env_names(ENV_LOAD)
        disabled = _env_names(ENV_DISABLE) or set()
        candidates = []
        for ep in _entry_points():
            if ep.name in disabled or (allowed is not None and ep.name not in allowed):
                continue
            dist, version = _dist_of(ep)
            first_party = _normalise_dist(dist) in FIRST_PARTY_DISTRIBUTIONS
            rank = (1 if first_party else 2, _normalise_dist(dist), ep.name, ep.value)
            candidates.append((rank, ep, dist, version, first_party))
        loaded = []
        for rank, ep, dist, version, first_party in sorted(candidates, key=lambda c: c[0]):
            record = PluginRecord(
                ep.name, builtin=False, distribution=dist, version=version, first_party=first_party, rank=rank
            )
            key = ep.name if ep.name not in self.records else f"{ep.name} ({dist or ep.value})"
            self.records[key] = record
            if self.pm.has_plugin(ep.name):
                record.load_error = f"an already registered plugin has the name {ep.name!r}"
                _warn(f"sdesolve plugin {key!r} left out: {record.load_error}")
                continue
            try:
                plugin = ep.load()
            except BaseException as exc:  # SystemExit at import must not end the program
                if _is_fatal(exc):
                    raise
                record.load_error = f"failed to import {ep.value!r}: {_describe_exc(exc)}"
                _warn(f"sdesolve plugin {ep.name!r} {record.load_error}")
                continue
            try:
                self.pm.register(plugin, name=ep.name)
            except BaseException as exc:
                if _is_fatal(exc):
                    raise
                self._leave_out(ep.name, f"invalid hooks: {_describe_exc(exc)}")
                continue
            loaded.append(ep.name)
        # every plugin is registered before any declares its kinds: a plugin may implement another's hooks
        self._declare_kinds(loaded)
        self._check_pending(loaded, strict=False)

    def _leave_out(self, plugin_name: str, error: str) -> None:
        if self.pm.has_plugin(plugin_name):
            self.pm.unregister(name=plugin_name)
        self._record(plugin_name).load_error = error
        _warn(f"sdesolve plugin {plugin_name!r} has {error}")

    def _declare_kinds(self, plugin_names: list[str], strict: bool = False) -> None:
        """Call the ``sdesolve_register_kinds`` hooks of ``plugin_names`` (in precedence order) and add their
        specifications. A kind or hook that is already declared, or a malformed declaration, is refused
        (``PluginError`` when ``strict``, a recorded issue otherwise)."""
        impls = [
            impl for impl in self.pm.hook.sdesolve_register_kinds.get_hookimpls() if impl.plugin_name in plugin_names
        ]
        for impl in sorted(impls, key=lambda impl: self._record(impl.plugin_name).rank):
            plugin = impl.plugin_name
            declared: list[tuple[Any, ...]] = []
            try:
                impl.function(register=functools.partial(_collect_kind, declared))
            except BaseException as exc:
                if _is_fatal(exc):
                    raise
                declared, problem = [], f"hook sdesolve_register_kinds raised {_describe_exc(exc)}"
                self._issue(plugin, problem, strict)
            for name, spec, check, plural in declared:
                try:
                    kind = self._make_kind(plugin, name, spec, check, plural)
                except (TypeError, DuplicateNameError) as exc:
                    self._issue(plugin, f"kind {name!r} refused: {exc}", strict, type(exc))
                    continue
                self._verify_existing(kind.hook, spec, strict)
                caller = getattr(self.pm.hook, kind.hook, None)
                if caller is None or not caller.has_spec():  # declared again after its plugin was removed: kept
                    self.pm.add_hookspecs(type(f"{name}_spec", (), {kind.hook: staticmethod(spec)}))
                self.kinds[name] = kind

    def _issue(self, plugin: str, problem: str, strict: bool, error: type[Exception] = PluginError) -> None:
        if strict:
            raise (error if issubclass(error, PluginError) else PluginError)(f"plugin {plugin!r}: {problem}")
        self._record(plugin).issues.append(problem)
        _warn(f"sdesolve plugin {plugin!r}: {problem}")

    def _make_kind(self, plugin: str, name: Any, spec: Any, check: Any, plural: Any) -> Kind:
        expected = "register(name, spec, check=None, plural=None)"
        if not isinstance(name, str) or not _KIND_NAME.fullmatch(name):
            raise TypeError(f"{expected}: name must be lower-case letters, digits and '_', got {name!r}")
        if name in self.kinds:
            raise DuplicateNameError(
                f"kind {name!r} is declared by both {self.kinds[name].declared_by!r} and plugin {plugin!r}; "
                f"{self.kinds[name].declared_by!r} keeps it"
            )
        hook = getattr(spec, "__name__", None)
        if not callable(spec) or getattr(spec, "sdesolve_spec", None) is None or not str(hook).startswith("sdesolve_"):
            raise TypeError(
                f"{expected}: spec must be a function named sdesolve_... decorated with sdesolve.hookspec, got {spec!r}"
            )
        if _spec_arguments(spec) != ["register"]:
            raise TypeError(f"{expected}: spec {hook}{inspect.signature(spec)} must take exactly (register)")
        taken = [k.name for k in self.kinds.values() if k.hook == hook]
        caller = getattr(self.pm.hook, hook, None)
        if taken or (caller is not None and caller.has_spec() and caller.spec.function is not spec):
            owner = f"kind {taken[0]!r}" if taken else "another specification"
            raise DuplicateNameError(f"hook {hook!r} already has a specification ({owner})")
        if check is not None and not callable(check):
            raise TypeError(f"{expected}: check must be a function check(obj) raising TypeError, got {check!r}")
        if plural is not None and not isinstance(plural, str):
            raise TypeError(f"{expected}: plural must be a string, got {plural!r}")
        return Kind(name, hook, plural or f"{name}s", check, declared_by=plugin)

    def _verify_existing(self, hook: str, spec: Any, strict: bool) -> None:
        """Leave out the registered plugins whose implementation of ``hook`` does not match ``spec`` (pluggy would
        refuse the specification otherwise)."""
        caller = getattr(self.pm.hook, hook, None)
        if caller is None:
            return
        allowed = set(_spec_arguments(spec))
        for impl in list(caller.get_hookimpls()):
            extra = sorted(set(impl.argnames) - allowed)
            if extra:
                problem = f"invalid hooks: {hook} takes {', '.join(extra)}, not in its specification {hook}(register)"
                if strict:
                    raise PluginError(f"plugin {impl.plugin_name!r}: {problem}")
                self._leave_out(impl.plugin_name, problem)

    def _check_pending(self, plugin_names: list[str], strict: bool) -> None:
        """Every hook of ``plugin_names`` has a specification; a plugin with one that does not is left out."""
        for _ in range(len(plugin_names) + 1):
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin)
                if strict or name is None or name not in plugin_names:
                    raise
                self._leave_out(name, f"invalid hooks: {_describe_exc(exc)}")
        self.pm.check_pending()

    def _record(self, plugin_name: str) -> PluginRecord:
        if plugin_name not in self.records:
            self.records[plugin_name] = PluginRecord(plugin_name, builtin=False, rank=(3, next(_RUNTIME)))
        return self.records[plugin_name]

    def build(self) -> Registry:
        reg = Registry(list(self.records.values()), self.kinds)
        for name, record in self.records.items():
            record.kinds = [kind.name for kind in self.kinds.values() if kind.declared_by == name]
            record.registers = {}
            record.issues = [i for i in record.issues if i.startswith(("hook sdesolve_register_kinds", "kind "))]
            record.conflicts = []
        self.building = reg  # registry() called while building (e.g. a sampler's describe()) sees this one
        try:
            for kind in self.kinds.values():
                hook = getattr(self.pm.hook, kind.hook)
                impls = sorted(hook.get_hookimpls(), key=lambda impl: self._record(impl.plugin_name).rank)
                for impl in impls:
                    self._call(reg, kind.name, kind.hook, impl)
        finally:
            self.building = None
        reg.records = list(self.records.values())
        return reg

    def _call(self, reg: Registry, kind: str, hook_name: str, impl: Any) -> None:
        plugin = impl.plugin_name
        record = self._record(plugin)
        sink: list[tuple[Any, Any]] = []
        try:
            impl.function(register=_make_register(kind, sink))
        except BaseException as exc:  # a hook calling sys.exit() is reported like any failure
            if _is_fatal(exc):
                raise
            issue = f"hook {hook_name} raised {_describe_exc(exc)}; nothing it registered was kept"
            record.issues.append(issue)
            _warn(f"sdesolve plugin {plugin!r}: {issue}")
            return
        for name, obj in sink:
            try:
                name = validate(kind, name, obj)
            except BaseException as exc:  # describe() of a sampler is plugin code too
                if _is_fatal(exc):
                    raise
                reason = str(exc) if isinstance(exc, TypeError) else f"validation raised {_describe_exc(exc)}"
                issue = f"{kind} {name!r} refused: {reason}"
                record.issues.append(issue)
                _warn(f"sdesolve plugin {plugin!r}: {issue}")
                continue
            owner = reg.owners[kind].get(name)
            if owner is not None:
                clash = _clash_message(kind, name, owner, plugin)
                record.conflicts.append(clash)
                _warn(f"sdesolve plugin {plugin!r}: {clash}")
                continue
            reg.add(kind, name, obj, plugin)
            record.registers.setdefault(kind, []).append(name)


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
    """The registries, built on first use and cached until plugins change.

    Plugin code that runs while the registry is being built (a sampler's ``describe()`` checked at registration)
    gets the registry under construction: every kind registered before its own (steppers first) is complete.
    """
    state = _get_state()
    if state.building is not None:  # asked for by plugin code while the registry is built: the partial one
        return state.building
    if state.registry is None:
        state.registry = state.build()
    return state.registry


def plugin_records() -> list[PluginRecord]:
    """Every plugin seen (loaded, or failed with its error)."""
    return registry().records


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object (module or instance with hook implementations) at run time.

    Strict: hooks that match no specification raise ``pluggy.PluginValidationError``; a name another plugin
    holds raises :class:`DuplicateNameError` naming both; a hook that raises or an object refused by
    :func:`validate` raises :class:`PluginError`. On error nothing of the plugin stays registered. Run-time
    plugins rank after every entry point.
    """
    state = _get_state()
    plugin_name = state.pm.register(plugin, name=name)
    if plugin_name is None:
        raise PluginError(f"plugin {name or plugin!r} is already registered")
    state.records[plugin_name] = PluginRecord(plugin_name, builtin=False, rank=(3, next(_RUNTIME)))
    try:
        state._declare_kinds([plugin_name], strict=True)
        state.pm.check_pending()
    except BaseException:
        unregister_plugin(plugin_name)
        raise
    state.registry = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            registry()
    except BaseException:
        unregister_plugin(plugin_name)
        raise
    record = state.records[plugin_name]
    if record.conflicts or record.issues:  # strict: a plugin registered by hand that cannot be used is an error
        unregister_plugin(plugin_name)
        error_cls = DuplicateNameError if record.conflicts else PluginError
        raise error_cls(f"plugin {plugin_name!r}: " + "; ".join(record.conflicts + record.issues))
    return plugin_name


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered by name (e.g. one added with :func:`register_plugin`)."""
    state = _get_state()
    if state.pm.has_plugin(name):
        state.pm.unregister(name=name)
    state.records.pop(name, None)
    state.kinds = {kind: k for kind, k in state.kinds.items() if k.declared_by != name}
    state.registry = None


def reset() -> None:
    """Forget all plugin state; the next use reloads built-ins and entry points (honours the env vars)."""
    global _state
    _state = None


def get_stepper(name: str) -> type[Stepper]:
    """The stepper class registered as ``name`` (``KeyError`` with close matches otherwise)."""
    return registry().get("stepper", name)
