"""The registered diffusion samplers."""

from sdesolve_diffusion.samplers.adaptive import AdaptiveSampler
from sdesolve_diffusion.samplers.ancestral import DDIM, DDPM
from sdesolve_diffusion.samplers.base import DiffusionSampler
from sdesolve_diffusion.samplers.ddram_ms import DDRaMMultistep
from sdesolve_diffusion.samplers.karras import DPMSolver2, DPMSolverPP2M, EDMHeun
from sdesolve_diffusion.samplers.li import LiAcceleratedODE, LiAcceleratedSDE
from sdesolve_diffusion.samplers.multistep import DPMSolverPP2MSDE, DPMSolverPP3M, DPMSolverPP3MSDE
from sdesolve_diffusion.samplers.sa_solver import SASolverSampler
from sdesolve_diffusion.samplers.solver import DDRaM, DDRaMODE, EulerMaruyamaSDE, ExponentialEulerSDE
from sdesolve_diffusion.samplers.unipc import UniPCSampler

SAMPLERS: tuple[type[DiffusionSampler], ...] = (
    DDPM,
    DDIM,
    EulerMaruyamaSDE,
    ExponentialEulerSDE,
    DDRaM,
    DDRaMODE,
    DDRaMMultistep,
    EDMHeun,
    DPMSolver2,
    DPMSolverPP2M,
    LiAcceleratedODE,
    LiAcceleratedSDE,
    DPMSolverPP2MSDE,
    DPMSolverPP3MSDE,
    DPMSolverPP3M,
    UniPCSampler,
    AdaptiveSampler,
    SASolverSampler,
)

__all__ = ["SAMPLERS", "DiffusionSampler"]
