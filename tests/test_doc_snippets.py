"""Every code block of README.md and docs/ runs as written.

Python blocks: the blocks of one page run in order, in one fresh interpreter (a later block may use what an earlier
one defined), in an empty working folder. Shell blocks: every ``sdesolve ...`` line parses with the real command
line (options and subcommands exist), every ``python path.py`` or ``bash path.sh`` names an existing file; long
jobs are not run here (CI runs the README's two commands and the examples). A block that cannot run as written —
a placeholder, a missing import — fails this test."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
SHELL = {"bash", "sh", "shell", "console"}


def _blocks(page: Path, languages: set[str]) -> list[str]:
    return [code for lang, code in FENCE.findall(page.read_text()) if lang in languages]


def _rel(page: Path) -> str:
    return str(page.relative_to(ROOT))


PY_PAGES = [p for p in PAGES if _blocks(p, {"python"})]
SH_PAGES = [p for p in PAGES if _blocks(p, SHELL)]


def _plugins_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("sdesolve_diffusion", "sdesolve_lab", "sdesolve_sra"))


def test_the_snippet_finder_sees_the_pages_that_have_code() -> None:
    names = {_rel(p) for p in PY_PAGES}
    assert {"README.md", "docs/plugins.md", "docs/diffusion.md", "docs/problem.md"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("page", PY_PAGES, ids=_rel)
def test_python_blocks_run_as_written(page: Path, tmp_path: Path) -> None:
    if not _plugins_installed():
        pytest.skip("the documentation's examples use the repository's plugins (not installed)")
    code = "\n\n".join(_blocks(page, {"python"}))
    script = tmp_path / "snippets.py"
    script.write_text(code)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SDESOLVE_DOC_SNIPPETS": "1"}
    env.pop("SDESOLVE_LOAD_PLUGINS", None)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{_rel(page)}: its python blocks fail as written:\n{proc.stderr[-3000:]}"


def _shell_lines(code: str) -> list[str]:
    lines, pending = [], ""
    for raw in code.splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


@pytest.mark.parametrize("page", SH_PAGES, ids=_rel)
def test_shell_blocks_name_real_commands_and_files(page: Path) -> None:
    import sdesolve
    from sdesolve.cli import build_parser

    parser = build_parser()
    known = set(sdesolve.registry().items["command"])
    for block in _blocks(page, SHELL):
        for line in _shell_lines(block):
            for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
                words = shlex.split(part, comments=True)
                while words and "=" in words[0] and not words[0].startswith("-"):  # VAR=value prefixes
                    words = words[1:]
                if not words:
                    continue
                if words[0] == "sdesolve":
                    if len(words) > 1 and words[1] not in known and not words[1].startswith("-"):
                        pytest.skip(f"{_rel(page)}: `sdesolve {words[1]}` comes from a plugin not installed")
                    try:
                        parser.parse_args(words[1:] or ["--help"])
                    except SystemExit as exc:
                        assert exc.code == 0, f"{_rel(page)}: `{part}` does not parse"
                elif words[0] in ("python", "python3", "bash") and len(words) > 1 and words[1].endswith((".py", ".sh")):
                    assert (ROOT / words[1]).exists(), f"{_rel(page)}: `{part}` names a missing file"
