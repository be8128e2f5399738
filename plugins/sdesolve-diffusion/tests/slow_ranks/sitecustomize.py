"""Test helper (put this folder on PYTHONPATH): ranks other than 0 sleep right after joining the process group.

It makes the torchrun start-up race deterministic: rank 0 is well into its start (validation, lock, manifest)
before the other ranks look at the output folder.
"""

import os

_DELAY = float(os.environ.get("SDESOLVE_TEST_SLOW_RANKS", "0") or 0)

if _DELAY > 0 and os.environ.get("RANK") not in (None, "0"):
    import time

    import torch.distributed as _dist

    _init = _dist.init_process_group

    def _slow_init(*args, **kwargs):
        result = _init(*args, **kwargs)
        time.sleep(_DELAY)
        return result

    _dist.init_process_group = _slow_init
