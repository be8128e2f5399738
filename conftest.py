"""Shared by every package's tests (the core's `tests/` and each plugin's `tests/`): GPU tests skip without CUDA."""

from __future__ import annotations

import os

# before torch is imported (importing sdesolve imports it): OpenMP threads must not spin-wait for a core another
# process holds on a shared machine (see sdesolve/threads.py); a value set by the user is kept
if "torch" not in __import__("sys").modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
