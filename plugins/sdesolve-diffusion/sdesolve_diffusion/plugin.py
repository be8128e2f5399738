"""Hook implementations: the entry point ``[project.entry-points.sdesolve] diffusion = "sdesolve_diffusion.plugin"``.

Reaches sdesolve only through its public API (``hookimpl`` and the registration callbacks). Declares its own kinds,
``process`` and ``grid``, with their hook specifications (:mod:`sdesolve_diffusion.hookspecs`).
"""

from __future__ import annotations

from typing import Any

from sdesolve import hookimpl
from sdesolve_diffusion import hookspecs
from sdesolve_diffusion.grids import GRIDS
from sdesolve_diffusion.processes import EDM, OU, VE, VP, DiscreteProcess, VPCosine
from sdesolve_diffusion.samplers import SAMPLERS


@hookimpl
def sdesolve_register_kinds(register: Any) -> None:
    register("process", hookspecs.sdesolve_register_processes, hookspecs.check_process, "processes")
    register("grid", hookspecs.sdesolve_register_grids, hookspecs.check_grid)


@hookimpl
def sdesolve_register_processes(register: Any) -> None:
    for process in (OU(), VP(), VPCosine(), VE(), EDM()):
        register(process.name, process)
    register("discrete", DiscreteProcess.linear())
    register("discrete_cosine", DiscreteProcess.cosine())
    register("discrete_theory", DiscreteProcess.theory())


@hookimpl
def sdesolve_register_grids(register: Any) -> None:
    for name, grid in GRIDS.items():
        register(name, grid)


@hookimpl
def sdesolve_register_samplers(register: Any) -> None:
    for cls in SAMPLERS:
        register(cls.name, cls())


@hookimpl
def sdesolve_register_commands(register: Any) -> None:
    from sdesolve_diffusion.commands import HELP, configure_sample, run_sample

    register("sample", HELP, configure_sample, run_sample)
