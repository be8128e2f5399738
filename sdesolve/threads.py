"""CPU threading defaults for the command line and the tests (imports no torch: it must run before torch does).

On a shared machine, OpenMP worker threads that *spin* while waiting for a core another process holds can make
PyTorch many times slower: measured on 2 cores with one other busy process, a 10,000-sample
``dpm_solver_pp_2m`` run at 100 steps took 93 s with torch's default two spinning threads and 5.5 s with
``OMP_WAIT_POLICY=PASSIVE`` (docs/cli.md#threads). The OpenMP runtime reads the policy once, when torch is first
imported, so the default has to be set before that: :func:`passive_wait_by_default` does it for the ``sdesolve``
command (called from ``sdesolve/__init__.py``) and for the test suites (their ``conftest.py``). A value the user
set is never changed; a library import (``import sdesolve`` in your program) changes nothing.
"""

from __future__ import annotations

import os
import sys

__all__ = ["is_command_line", "passive_wait_by_default", "set_threads"]


def is_command_line() -> bool:
    """Whether this process is the ``sdesolve`` command (the console script or ``python -m sdesolve``)."""
    prog = os.path.basename(sys.argv[0]) if sys.argv else ""
    if prog in ("sdesolve", "sdesolve.exe"):
        return True
    argv = list(getattr(sys, "orig_argv", []))
    return any(a == "-m" and argv[i + 1 : i + 2] == ["sdesolve"] for i, a in enumerate(argv))


def passive_wait_by_default() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless it is set or torch is already imported; return whether it did."""
    if "OMP_WAIT_POLICY" in os.environ or "torch" in sys.modules:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def set_threads(threads: int | None) -> None:
    """``torch.set_num_threads(threads)`` (``None``: leave torch's default, one per core); refuse ``threads < 1``."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"--threads must be a positive integer, got {threads!r}")
    import torch

    torch.set_num_threads(threads)
