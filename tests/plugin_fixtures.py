"""Plugins used by the plugin-system tests (loaded through fake entry points or register_plugin)."""

from __future__ import annotations

import sys
from typing import Any

from sdesolve import Stepper, hookimpl, hookspec
from sdesolve.steppers.euler_maruyama import EulerMaruyama


class EulerCopy(EulerMaruyama):
    name = "euler_copy"
    summary = "third-party copy of Euler–Maruyama (test plugin)"


@hookspec
def sdesolve_register_widgets(register: Any) -> None:
    """A kind declared by a test plugin: ``register(name, widget)`` with a callable widget."""


def check_widget(obj: Any) -> None:
    if not callable(obj):
        raise TypeError(f"expected a callable widget, got {obj!r}")


def fixture_widget(x: Any) -> Any:
    return x


class Good:
    """Registers a stepper, declares its own kind ``widget`` and registers one widget."""

    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        register(EulerCopy)

    @hookimpl
    def sdesolve_register_kinds(self, register: Any) -> None:
        register("widget", sdesolve_register_widgets, check_widget)

    @hookimpl
    def sdesolve_register_widgets(self, register: Any) -> None:
        register("test_widget", fixture_widget)


class DuplicateHeun:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        class FakeHeun(EulerMaruyama):
            name = "heun"

        register(FakeHeun)


class HeunAndMore:
    """Registers a built-in's name and one of its own: only 'heun' is left out."""

    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        class FakeHeun(EulerMaruyama):
            name = "heun"

        register(FakeHeun)
        register(EulerCopy)


class FakeSampler:
    """A minimal valid sampler object (callable, ``name``, ``describe()``)."""

    nfe_per_step = 1

    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "nfe_per_step": 1, "summary": "test sampler"}

    def __call__(self, model: Any, x_T: Any, **kwargs: Any) -> Any:
        return x_T


class ThirdPartyDdram:
    """A third-party plugin that registers a sampler named like the diffusion plugin's 'ddram', and another."""

    @hookimpl
    def sdesolve_register_samplers(self, register: Any) -> None:
        register("ddram", FakeSampler("ddram"))
        register("my_sampler", FakeSampler("my_sampler"))


class Raising:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        raise RuntimeError("boom")


class ExitingHook:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        sys.exit("plugin gave up")


class Misspelled:
    @hookimpl
    def sdesolve_register_stepper(self, register: Any) -> None:  # no such hook
        pass


class WrongArguments:
    @hookimpl
    def sdesolve_register_steppers(self, reg: Any) -> None:  # spec's argument is 'register'
        pass


class NotAStepper:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        register(object)


# --- objects refused by validation (one per rule) -----------------------------------------------------------
class AbstractStepper(Stepper):  # step not implemented
    name = "abstract_stepper"
    ode_order = strong_order = weak_order = 1.0
    nfe_per_step = 1


class NanOrder(EulerMaruyama):
    name = "nan_order"
    weak_order = float("nan")


class InfOrder(EulerMaruyama):
    name = "inf_order"
    ode_order = float("inf")


class NoiseAsString(EulerMaruyama):
    name = "noise_as_string"
    supports_noise = "no"  # type: ignore[assignment]


class WrongStepSignature(EulerMaruyama):
    name = "wrong_step_signature"

    def step(self, ctx: Any, x: Any) -> Any:  # type: ignore[override]
        return x, None


class InitNotCallable(EulerMaruyama):
    name = "init_not_callable"
    init = 5  # type: ignore[assignment]


class InitWrongSignature(EulerMaruyama):
    name = "init_wrong_signature"

    def init(self) -> Any:  # type: ignore[override]
        return None


class NeedsArgument(EulerMaruyama):
    name = "needs_argument"

    def __init__(self, scale: float) -> None:
        self.scale = scale


def registering(kind: str, name: str, obj: Any) -> Any:
    """A plugin object whose only hook registers ``obj`` (as ``name`` for the non-stepper kinds)."""

    class Plugin:
        if kind == "stepper":

            @hookimpl
            def sdesolve_register_steppers(self, register: Any) -> None:
                register(obj)

        elif kind == "sampler":

            @hookimpl
            def sdesolve_register_samplers(self, register: Any) -> None:
                register(name, obj)

        else:  # a kind the plugin declares itself

            @hookimpl
            def sdesolve_register_kinds(self, register: Any) -> None:
                register("widget", sdesolve_register_widgets, check_widget)

            @hookimpl
            def sdesolve_register_widgets(self, register: Any) -> None:
                register(name, obj)

    return Plugin()


good = Good()
duplicate_heun = DuplicateHeun()
heun_and_more = HeunAndMore()
third_party_ddram = ThirdPartyDdram()
raising = Raising()
exiting_hook = ExitingHook()
misspelled = Misspelled()
wrong_arguments = WrongArguments()
not_a_stepper = NotAStepper()
