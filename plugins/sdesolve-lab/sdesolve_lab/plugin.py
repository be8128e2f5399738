"""Hook implementations of the lab: the entry point ``[project.entry-points.sdesolve] lab = "sdesolve_lab.plugin"``.

The lab registers no sampler, process or grid; it adds the ``compare`` and ``bench`` subcommands.
"""

from __future__ import annotations

from typing import Any

from sdesolve import hookimpl
from sdesolve_lab.commands import BENCH_HELP, COMPARE_HELP, configure_bench, configure_compare, run_bench, run_compare


@hookimpl
def sdesolve_register_commands(register: Any) -> None:
    register("compare", COMPARE_HELP, configure_compare, run_compare)
    register("bench", BENCH_HELP, configure_bench, run_bench)
