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
    if kind not in sdesolve.registry().kinds:
        pytest.skip(f"no installed plugin declares the kind {kind!r} (the core alone)")
    text = _text(page)
    missing = [name for name in sdesolve.registry().items[kind] if f"`{name}`" not in text]
    assert not missing, f"{kind}s without an entry in docs/{page}: {missing}"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_is_listed(script: str) -> None:
    assert f"examples/{script}" in _text("examples.md"), f"{script} is not listed in docs/examples.md"


ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = [line.strip() for line in readme.splitlines() if line.startswith("    python3 -m venv .venv")]
    assert len(commands) == 2, "README gives exactly two set-up commands (main job, tests)"
    assert all("-e plugins/sdesolve-lab" in c for c in commands), "both set-up commands install the lab"
    test_command = commands[1]
    assert test_command.endswith("python -m pytest -q")
    assert test_command in (ROOT / ".ci" / "run").read_text(), ".ci/run must run the README's test command verbatim"
    assert "lint-imports" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("command", sorted(sdesolve.registry().items["command"]))
def test_every_command_is_documented(command: str) -> None:
    assert f"`sdesolve {command}" in _text("cli.md"), f"sdesolve {command} has no entry in docs/cli.md"


def test_the_plugin_tutorial_command_example_runs_as_written(capsys) -> None:
    """The code block of docs/plugins.md's "Commands" section, run as written."""
    text = _text("plugins.md")
    section = text[text.index("## Commands") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = code[: code.index("```")]
    try:
        exec(compile(code, "docs/plugins.md", "exec"), {"__name__": "docs_example"})
    finally:
        if "count_example" in {r.name for r in sdesolve.plugin_records()}:
            sdesolve.unregister_plugin("count_example")
    out = capsys.readouterr().out
    assert "stepper" in out and "registered" in out
