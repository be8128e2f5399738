"""The lab: ``sdesolve compare`` (accuracy per NFE against exact targets and the peers), ``sdesolve bench`` (speed
against the peers) and the dimension-scaling study. A distribution of its own (``sdesolve-lab``), so that the
runtime samplers (``sdesolve-diffusion``) need neither matplotlib nor the peers."""

__version__ = "0.1.0"
