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
def test_every_stepper_has_a_page(stepper: str) -> None:
    page = DOCS / "steppers" / f"{stepper}.md"
    assert page.exists(), f"{stepper} has no page docs/steppers/{stepper}.md"
    assert f"`{stepper}`" in page.read_text() and f"steppers/{stepper}.md" in _text("steppers.md")


@pytest.mark.parametrize("sampler", sorted(sdesolve.registry().items["sampler"]))
def test_every_sampler_has_a_page(sampler: str) -> None:
    page = DOCS / "samplers" / f"{sampler}.md"
    assert page.exists(), f"{sampler} has no page docs/samplers/{sampler}.md"
    assert "NFE per step" in page.read_text() and f"samplers/{sampler}.md" in _text("diffusion.md")


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
