from __future__ import annotations

import pytest
import torch

import sdesolve.plugins as plugins


def pytest_collection_modifyitems(config, items):
    """The core's tests run without any plugin (``SDESOLVE_LOAD_PLUGINS= python -m pytest tests``): a check marked
    ``needs_plugin(name)`` skips when that entry point is not loaded."""
    loaded = None
    for item in items:
        for mark in item.iter_markers("needs_plugin"):
            if loaded is None:
                loaded = {r.name for r in plugins.plugin_records() if r.load_error is None}
            if mark.args[0] not in loaded:
                item.add_marker(pytest.mark.skip(reason=f"needs the plugin {mark.args[0]!r} (not loaded)"))


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Plugin state reloaded before and after the test (env vars and fakes take effect). The plugin env vars of the
    run (e.g. ``SDESOLVE_LOAD_PLUGINS=`` for the core alone) are cleared: a test sets the ones it checks."""
    monkeypatch.delenv(plugins.ENV_LOAD, raising=False)
    monkeypatch.delenv(plugins.ENV_DISABLE, raising=False)
    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture
def f64():
    return torch.float64
