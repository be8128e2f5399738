"""How the diffusion plugin reaches the core, and what it registers (the import-linter contract in the root
pyproject.toml checks the same boundary for every package)."""

from __future__ import annotations

import sdesolve


def test_diffusion_plugin_reaches_the_core_only_through_the_public_api() -> None:
    """sdesolve_diffusion imports only sdesolve's public modules: the package, random, factors, finite, reference,
    dtypes, report, counting and options."""
    import ast
    import pathlib

    import sdesolve_diffusion

    allowed = {
        "sdesolve",
        "sdesolve.random",
        "sdesolve.factors",
        "sdesolve.reference",
        "sdesolve.finite",
        "sdesolve.dtypes",
        "sdesolve.report",
        "sdesolve.counting",
        "sdesolve.options",
    }
    root = pathlib.Path(sdesolve_diffusion.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sdesolve":
                assert node.module in allowed, f"{path.name} imports {node.module}"
    records = {r.name: r for r in sdesolve.plugin_records()}
    assert records["diffusion"].distribution == "sdesolve-diffusion"
    assert set(records["diffusion"].registers) == {"sampler", "process", "grid", "command"}
    assert records["diffusion"].kinds == ["process", "grid"]
    assert records["diffusion"].registers["command"] == ["sample"]
