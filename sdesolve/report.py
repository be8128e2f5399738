"""Plain-text tables, shared by the command line and the plugins' commands (one look for every table printed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["table"]


def table(rows: Sequence[Sequence[Any]], header: Sequence[str], *, align: str | None = None, rule: bool = True) -> str:
    """Rows under a header, columns padded to their widest cell and separated by two spaces.

    Args:
        rows: the cells (anything ``str()`` can print), one sequence per row, as long as ``header``.
        header: column titles.
        align: one character per column, ``"<"`` (left, the default) or ``">"`` (right, for numbers).
        rule: a line of dashes under the header.
    """
    cells = [[str(c) for c in header], *([str(c) for c in r] for r in rows)]
    n = len(header)
    if any(len(r) != n for r in cells):
        raise ValueError(f"every row needs {n} cells (the header's), got {sorted({len(r) for r in cells})}")
    align = align or "<" * n
    if len(align) != n or set(align) - {"<", ">"}:
        raise ValueError(f"align needs one '<' or '>' per column ({n}), got {align!r}")
    widths = [max(len(r[i]) for r in cells) for i in range(n)]

    def line(r: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(r, widths, align, strict=True))

    out = [line(cells[0])]
    if rule:
        out.append(line(["-" * w for w in widths]))
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)
