"""Diffusion samplers for sdesolve: noising processes, time grids, model adapters, exact-score targets and the
samplers of the seeds (DDPM, DDIM, DDRaM, EDM-Heun, DPM-Solver, Li et al. 2024), registered as a plugin."""

from sdesolve_diffusion.adapters import PREDICTIONS, ModelAdapter
from sdesolve_diffusion.grid_search import GridObjective, GridSearchResult, load_grid, optimize_grid, save_grid
from sdesolve_diffusion.grids import GRIDS, resolve_grid
from sdesolve_diffusion.processes import EDM, OU, SPLITTINGS, VE, VP, DiscreteProcess, Process, VPCosine
from sdesolve_diffusion.samplers import SAMPLERS, DiffusionSampler
from sdesolve_diffusion.targets import GaussianMixture

__version__ = "0.1.0"

__all__ = [
    "EDM",
    "GRIDS",
    "OU",
    "PREDICTIONS",
    "SAMPLERS",
    "SPLITTINGS",
    "VE",
    "VP",
    "DiffusionSampler",
    "DiscreteProcess",
    "GaussianMixture",
    "GridObjective",
    "GridSearchResult",
    "ModelAdapter",
    "Process",
    "VPCosine",
    "load_grid",
    "optimize_grid",
    "resolve_grid",
    "save_grid",
]
