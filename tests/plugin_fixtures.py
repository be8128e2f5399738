"""Plugins used by the plugin-system tests (loaded through fake entry points or register_plugin)."""

from __future__ import annotations

from typing import Any

from sdesolve import hookimpl
from sdesolve.steppers.euler_maruyama import EulerMaruyama


class EulerCopy(EulerMaruyama):
    name = "euler_copy"
    summary = "third-party copy of Euler–Maruyama (test plugin)"


class Good:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        register(EulerCopy)

    @hookimpl
    def sdesolve_register_grids(self, register: Any) -> None:
        register("test_grid", object())


class DuplicateHeun:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        class FakeHeun(EulerMaruyama):
            name = "heun"

        register(FakeHeun)


class Raising:
    @hookimpl
    def sdesolve_register_steppers(self, register: Any) -> None:
        raise RuntimeError("boom")


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


good = Good()
duplicate_heun = DuplicateHeun()
raising = Raising()
misspelled = Misspelled()
wrong_arguments = WrongArguments()
not_a_stepper = NotAStepper()
