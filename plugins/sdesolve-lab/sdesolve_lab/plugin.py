"""Hook implementations of the lab: the entry point ``[project.entry-points.sdesolve] lab = "sdesolve_lab.plugin"``.

The lab registers no sampler, process or grid; it adds the ``compare``, ``bench`` and ``tune-grid`` subcommands.
"""

from __future__ import annotations

from typing import Any

from sdesolve import hookimpl
from sdesolve_lab.commands import (
    BENCH_HELP,
    COMPARE_HELP,
    TUNE_HELP,
    configure_bench,
    configure_compare,
    configure_tune,
    run_bench,
    run_compare,
    run_tune,
)


@hookimpl
def sdesolve_register_commands(register: Any) -> None:
    register("compare", COMPARE_HELP, configure_compare, run_compare)
    register("bench", BENCH_HELP, configure_bench, run_bench)
    register("tune-grid", TUNE_HELP, configure_tune, run_tune)
