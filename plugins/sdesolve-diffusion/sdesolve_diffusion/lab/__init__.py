"""The lab: ``sdesolve compare`` (accuracy per NFE against exact targets and the peers), ``sdesolve bench`` (speed
against the peers) and the dimension-scaling study."""
