from __future__ import annotations

import pytest
import torch

import sdesolve.plugins as plugins


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs CUDA (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


@pytest.fixture
def fresh_plugins():
    """Plugin state reloaded before and after the test (env vars and fakes take effect)."""
    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture
def f64():
    return torch.float64
