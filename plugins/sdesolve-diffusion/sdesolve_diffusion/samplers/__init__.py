"""The registered diffusion samplers."""

from sdesolve_diffusion.samplers.ancestral import DDIM, DDPM
from sdesolve_diffusion.samplers.base import DiffusionSampler
from sdesolve_diffusion.samplers.karras import DPMSolver2, DPMSolverPP2M, EDMHeun
from sdesolve_diffusion.samplers.li import LiAcceleratedODE, LiAcceleratedSDE
from sdesolve_diffusion.samplers.solver import DDRaM, DDRaMODE, EulerMaruyamaSDE, ExponentialEulerSDE

SAMPLERS: tuple[type[DiffusionSampler], ...] = (
    DDPM,
    DDIM,
    EulerMaruyamaSDE,
    ExponentialEulerSDE,
    DDRaM,
    DDRaMODE,
    EDMHeun,
    DPMSolver2,
    DPMSolverPP2M,
    LiAcceleratedODE,
    LiAcceleratedSDE,
)

__all__ = ["SAMPLERS", "DiffusionSampler"]
