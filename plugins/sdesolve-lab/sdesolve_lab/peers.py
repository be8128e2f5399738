"""Loading the peers the lab compares against, in one public place (the lab's methods, ``sdesolve bench`` and the
tests use it)."""

from __future__ import annotations

import importlib.util
import sys
import types

__all__ = ["load_kdiffusion_sampling"]


def load_kdiffusion_sampling():
    """``k_diffusion.sampling`` without importing the package (whose ``__init__`` needs torchvision, clip, wandb…);
    the module only uses ``utils.append_dims`` from its package."""
    if "_sdesolve_kdiff.sampling" in sys.modules:
        return sys.modules["_sdesolve_kdiff.sampling"]
    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = spec.submodule_search_locations[0]
    package = types.ModuleType("_sdesolve_kdiff")
    package.__path__ = [root]
    utils = types.ModuleType("_sdesolve_kdiff.utils")
    utils.append_dims = lambda x, n: x[(...,) + (None,) * (n - x.ndim)]
    sys.modules["_sdesolve_kdiff"], sys.modules["_sdesolve_kdiff.utils"] = package, utils
    loader = importlib.util.spec_from_file_location("_sdesolve_kdiff.sampling", f"{root}/sampling.py")
    module = importlib.util.module_from_spec(loader)
    sys.modules["_sdesolve_kdiff.sampling"] = module
    loader.loader.exec_module(module)
    return module
