"""The example plugin, installed through its entry point, as the core sees it."""

from __future__ import annotations

import json

import sdesolve
from sdesolve.cli import main


def test_example_plugin_is_installed_through_its_entry_point() -> None:
    records = {r.name: r for r in sdesolve.plugin_records()}
    assert "sra" in records, "install plugins/sdesolve-sra (pip install -e plugins/sdesolve-sra)"
    assert records["sra"].distribution == "sdesolve-sra" and records["sra"].version
    assert records["sra"].registers == {"stepper": ["sra1"]}
    assert sdesolve.registry().owners["stepper"]["sra1"] == "sra"


def test_plugins_json_lists_the_example_plugin(capsys) -> None:
    assert main(["plugins", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["sra"]["distribution"] == "sdesolve-sra"
