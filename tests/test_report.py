"""The shared table printer and dtype map."""

from __future__ import annotations

import pytest
import torch

from sdesolve.dtypes import DTYPES, dtype
from sdesolve.report import table


def test_table_pads_columns_and_aligns_numbers_right() -> None:
    text = table([["a", 1.5], ["bbb", 10]], ["name", "x"], align="<>")
    assert text.splitlines() == ["name    x", "----  ---", "a     1.5", "bbb    10"]
    assert table([["a"]], ["h"], rule=False) == "h\na"
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        table([["a"]], ["h", "i"])
    with pytest.raises(ValueError, match="align needs one"):
        table([["a"]], ["h"], align="<>")


def test_one_dtype_map() -> None:
    assert DTYPES == {"float32": torch.float32, "float64": torch.float64}
    assert dtype("float32") is torch.float32
    with pytest.raises(ValueError, match="expected one of float32, float64"):
        dtype("half")
