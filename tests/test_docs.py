"""Every hook, registered stepper, sampler, process, grid and example has an entry in the docs."""

from __future__ import annotations

from pathlib import Path

import pytest

import sdesolve
from sdesolve import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _text(name: str) -> str:
    return (DOCS / name).read_text()


@pytest.mark.parametrize("hook", [n for n in dir(hookspecs) if n.startswith("sdesolve_")])
def test_every_hook_is_documented(hook: str) -> None:
    assert f"`{hook}" in _text("plugins.md"), f"{hook} has no entry in docs/plugins.md"


@pytest.mark.parametrize("stepper", sorted(sdesolve.steppers()))
def test_every_stepper_is_documented(stepper: str) -> None:
    text = _text("steppers.md")
    assert (f"`{stepper}`" in text and f"## {stepper}" in text) or f"`{stepper}` (plugin" in text, stepper


@pytest.mark.parametrize(
    "kind,page", [("sampler", "diffusion.md"), ("process", "diffusion.md"), ("grid", "diffusion.md")]
)
def test_every_sampler_process_and_grid_is_documented(kind: str, page: str) -> None:
    text = _text(page)
    missing = [name for name in sdesolve.registry().items[kind] if f"`{name}`" not in text]
    assert not missing, f"{kind}s without an entry in docs/{page}: {missing}"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_is_listed(script: str) -> None:
    assert f"examples/{script}" in _text("examples.md"), f"{script} is not listed in docs/examples.md"
