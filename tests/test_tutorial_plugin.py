"""The plugin tutorial of docs/plugins.md, copied verbatim, makes a plugin that installs and passes ``sdesolve verify``.

The tutorial's files are the code blocks captioned ``File `sdesolve-tutorial/<path>`:`` (the line right before the
fence). They are written into a temporary folder and installed for real with pip into a separate target folder —
offline (``--no-index``), without dependencies or build isolation, so the test environment is not touched — and the
page's own ``sdesolve plugins`` and ``sdesolve verify`` commands run in a subprocess that sees the target folder
through ``PYTHONPATH`` and loads only the tutorial's entry point.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "plugins.md"
FOLDER = "sdesolve-tutorial"
MODULE = f"{FOLDER}/sdesolve_tutorial/__init__.py"
PYPROJECT = f"{FOLDER}/pyproject.toml"
CAPTIONED = re.compile(r"^File `([^`]+)`:\n\n```\w*\n(.*?)^```", re.S | re.M)
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
STATUSES = ("PASS", "FAIL", "ERROR", "UNMEASURABLE")


def tutorial_section(text: str) -> str:
    start = text.index("## Tutorial:")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def tutorial_files(text: str) -> dict[str, str]:
    """The captioned files of the tutorial, by path relative to the folder that holds ``sdesolve-tutorial/``."""
    files: dict[str, str] = {}
    for path, code in CAPTIONED.findall(tutorial_section(text)):
        assert path not in files, f"docs/plugins.md captions {path} twice"
        files[path] = code
    return files


def tutorial_command(text: str, subcommand: str) -> list[str]:
    """The words of the tutorial's ``sdesolve <subcommand> ...`` line for the hand-written stepper (Part 2)."""
    part2 = tutorial_section(text).split("### Part 2", 1)[1]
    for lang, code in FENCE.findall(part2):
        if lang != "bash":
            continue
        for line in code.splitlines():
            words = shlex.split(line, comments=True)
            if words[:2] == ["sdesolve", subcommand]:
                return words
    raise AssertionError(f"the tutorial's Part 2 gives no `sdesolve {subcommand}` command")


def write_package(text: str, dest: Path) -> Path:
    files = tutorial_files(text)
    assert {MODULE, PYPROJECT} <= set(files), f"docs/plugins.md must caption {MODULE} and {PYPROJECT}: {sorted(files)}"
    for path, code in files.items():
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
    return dest / FOLDER


def test_the_tutorial_gives_a_whole_package() -> None:
    """Fast check (no install): both files are on the page, the module compiles, the entry point names its package."""
    text = PAGE.read_text()
    files = tutorial_files(text)
    assert {MODULE, PYPROJECT} <= set(files), f"docs/plugins.md must caption {MODULE} and {PYPROJECT}: {sorted(files)}"
    compile(files[MODULE], MODULE, "exec")
    assert "from __future__" not in files[MODULE], "the page's python blocks run in sequence: no __future__ import"
    section = re.search(r"^\[project\.entry-points\.sdesolve\]\n((?:[^\[\n][^\n]*\n)+)", files[PYPROJECT], re.M)
    assert section, "pyproject.toml has no [project.entry-points.sdesolve] table"
    values = re.findall(r'^\s*[\w.-]+\s*=\s*"([^"]+)"', section.group(1), re.M)
    assert values, "the [project.entry-points.sdesolve] table names no module"
    for value in values:
        module = value.split(":")[0]
        path = f"{FOLDER}/{module.replace('.', '/')}"
        assert f"{path}/__init__.py" in files or f"{path}.py" in files, f"entry point {value!r}: no such module"
    stepper = tutorial_command(text, "verify")
    assert "--stepper" in stepper and f'name = "{stepper[stepper.index("--stepper") + 1]}"' in files[MODULE]


def _run(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_tutorial_plugin_installs_and_passes_verify(tmp_path: Path) -> None:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building the tutorial's package offline (--no-build-isolation) needs setuptools installed")
    text = PAGE.read_text()
    package = write_package(text, tmp_path / "src")
    site = tmp_path / "site"
    install = _run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(site), str(package)],
        env={**os.environ, "PIP_NO_INPUT": "1"},
        cwd=tmp_path,
        timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, f"pip could not install the tutorial's package:\n{install.stdout}\n{install.stderr}"

    dists = [d for d in importlib.metadata.distributions(path=[str(site)]) if d.metadata["Name"] == FOLDER]
    assert len(dists) == 1, f"{FOLDER} is not installed in {site}"
    entry_points = [ep for ep in dists[0].entry_points if ep.group == "sdesolve"]
    assert entry_points, "the installed distribution has no entry point in the group 'sdesolve'"
    names = [ep.name for ep in entry_points]

    env = {k: v for k, v in os.environ.items() if k not in ("SDESOLVE_LOAD_PLUGINS", "SDESOLVE_DISABLE_PLUGINS")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
        SDESOLVE_LOAD_PLUGINS=",".join(names),  # the tutorial's plugin only (the built-ins always load)
        OMP_NUM_THREADS="1",
    )
    run_dir = tmp_path / "run"  # an empty working folder: the package is found only where pip installed it
    run_dir.mkdir()

    verify = tutorial_command(text, "verify")
    stepper = verify[verify.index("--stepper") + 1]
    plugins = _run([sys.executable, "-m", "sdesolve", "plugins"], env, run_dir, timeout=300)
    assert plugins.returncode == 0, plugins.stderr
    for name in names:
        rows = [line.split() for line in plugins.stdout.splitlines() if line.split()[:1] == [name]]
        assert rows, f"`sdesolve plugins` does not list the plugin {name!r}:\n{plugins.stdout}\n{plugins.stderr}"
        row = " ".join(rows[0])
        assert FOLDER in row and f"stepper: {stepper}" in row and row.endswith(" ok"), row

    proc = _run([sys.executable, "-m", "sdesolve", *verify[1:]], env, run_dir, timeout=900)
    rows = [line.split() for line in proc.stdout.splitlines() if line.split()[:1] == [stepper]]
    report = f"`{' '.join(verify)}` on the tutorial's plugin:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, report
    assert {row[2] for row in rows} == {"ode", "strong", "weak"}, report
    for row in rows:
        status = next(word for word in row if word in STATUSES)
        assert status == "PASS", report
