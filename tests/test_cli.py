"""The sdesolve command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sdesolve
from sdesolve import plugins
from sdesolve.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plugins_json_lists_builtins(capsys) -> None:
    code, out, _ = _run(capsys, "plugins", "--json")
    assert code == 0
    records = {r["name"]: r for r in json.loads(out)}
    assert records["sdesolve.steppers.heun"]["registers"] == {"stepper": ["heun"]}
    assert records["sdesolve.steppers.heun"]["builtin"] is True


def test_plugins_table_shows_errors(capsys, fresh_plugins, monkeypatch) -> None:
    from importlib import metadata

    eps = [metadata.EntryPoint("broken", "tests.no_such_module_xyz", "sdesolve")]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    with pytest.warns(RuntimeWarning):
        code, out, _ = _run(capsys, "plugins")
    assert code == 0 and "broken" in out and "ERROR: failed to import" in out


def test_list_json_has_declared_orders(capsys) -> None:
    code, out, _ = _run(capsys, "list", "--json")
    data = json.loads(out)
    steppers = {s["name"]: s for s in data["steppers"]}
    assert steppers["randomized_midpoint"]["nfe_per_step"] == 2
    assert steppers["exponential_ab2"]["ode_order"] == 2.0
    assert steppers["randomized_midpoint"]["options"] == {"distribution": "importance"}
    declared = {kind.plural for kind in sdesolve.registry().kinds.values()} - {"commands"}
    assert set(data) == declared and {"steppers", "samplers"} <= declared
    code, out, _ = _run(capsys, "list")
    assert code == 0 and "exponential_rk2" in out and "nfe/step" in out


def test_verify_quick_json_passes_and_reports_measured_orders(capsys) -> None:
    code, out, _ = _run(
        capsys, "verify", "--quick", "--json", "--stepper", "exponential_euler", "--problem", "nonlinear_tv"
    )
    data = json.loads(out)
    assert code == 0 and data["summary"]["passed"] is True
    kinds = {r["kind"]: r for r in data["results"]}
    assert set(kinds) == {"ode", "strong"}
    assert kinds["ode"]["measured"] == pytest.approx(1.0, abs=0.2)


def test_verify_exits_1_when_a_stepper_misses_its_order(capsys, fresh_plugins) -> None:
    from sdesolve import hookimpl
    from sdesolve.steppers.euler_maruyama import EulerMaruyama

    class Overclaiming(EulerMaruyama):
        name = "overclaiming_cli"
        ode_order = 2.0

    class Plugin:
        @hookimpl
        def sdesolve_register_steppers(self, register):
            register(Overclaiming)

    plugins.register_plugin(Plugin(), name="overclaiming")
    code, out, _ = _run(capsys, "verify", "--quick", "--stepper", "overclaiming_cli", "--problem", "nonlinear_tv")
    assert code == 1 and "FAIL" in out and "FAILED" in out


def test_verify_unknown_stepper_exits_2_with_suggestion(capsys) -> None:
    code, _, err = _run(capsys, "verify", "--stepper", "heum")
    assert code == 2 and "did you mean 'heun'" in err
    code, _, err = _run(capsys, "verify", "--stepper", "Heun")  # a case difference gets a suggestion too
    assert code == 2 and "did you mean 'heun'?" in err


def _register_stepper(cls, name: str) -> None:
    from sdesolve import hookimpl

    class Plugin:
        @hookimpl
        def sdesolve_register_steppers(self, register):
            register(cls)

    plugins.register_plugin(Plugin(), name=name)


def test_verify_reports_a_broken_stepper_as_an_error_row_and_measures_the_others(capsys, fresh_plugins) -> None:
    """Regression: one stepper raising in step() ended the whole `sdesolve verify` run with a traceback."""
    from sdesolve.steppers.euler_maruyama import EulerMaruyama

    class Broken(EulerMaruyama):
        name = "broken_cli"

        def step(self, ctx, k, x, state):
            raise RuntimeError("kaboom")

    _register_stepper(Broken, "broken_cli_plugin")
    argv = ["verify", "--quick", "--stepper", "broken_cli", "--stepper", "exponential_euler"]
    argv += ["--problem", "nonlinear_tv", "--kind", "ode"]
    code, out, _ = _run(capsys, *argv)
    assert code == 1
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("broken_cli", "exponential_euler"))}
    assert "ERROR" in rows["broken_cli"] and "RuntimeError: kaboom" in rows["broken_cli"]
    assert "PASS" in rows["exponential_euler"]
    code, out, _ = _run(capsys, *argv, "--json")
    data = json.loads(out)
    assert code == 1 and data["summary"]["passed"] is False and data["summary"]["errors"] == 1
    results = {r["stepper"]: r for r in data["results"]}
    assert results["broken_cli"]["passed"] is False and results["broken_cli"]["status"] == "ERROR"
    assert results["broken_cli"]["error"] == "RuntimeError: kaboom"
    assert results["exponential_euler"]["passed"] is True


def test_verify_measures_the_weak_order_and_fails_an_overclaim(capsys, fresh_plugins) -> None:
    """Regression: the declared weak order was never measured; Euler–Maruyama claiming weak order 3 passed."""
    from sdesolve.steppers.euler_maruyama import EulerMaruyama

    class WeakOverclaiming(EulerMaruyama):
        name = "weak_overclaiming_cli"
        weak_order = 3.0

    _register_stepper(WeakOverclaiming, "weak_overclaiming")
    code, out, _ = _run(capsys, "verify", "--quick", "--json", "--stepper", "weak_overclaiming_cli", "--kind", "weak")
    data = json.loads(out)
    assert code == 1 and data["summary"]["passed"] is False
    [result] = data["results"]
    assert result["kind"] == "weak" and result["problem"] == "linear_weak_forward" and result["status"] == "FAIL"
    assert result["declared"] == 3.0 and result["measured"] == pytest.approx(1.0, abs=0.25)


def test_plugins_command_survives_a_plugin_calling_sys_exit(capsys, fresh_plugins, monkeypatch, tmp_path) -> None:
    from importlib import metadata

    (tmp_path / "sdesolve_exiting_cli_xyz.py").write_text("import sys\nsys.exit('bye')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    eps = [
        metadata.EntryPoint("exiting", "sdesolve_exiting_cli_xyz", "sdesolve"),
        metadata.EntryPoint("dup", "tests.plugin_fixtures:heun_and_more", "sdesolve"),
    ]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    with pytest.warns(RuntimeWarning):
        code, out, _ = _run(capsys, "plugins")
    assert code == 0
    table, details = out.split("\n\n", 1)
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith(("exiting", "dup"))}
    assert "ERROR (below)" in rows["exiting"]
    assert "stepper: euler_copy" in rows["dup"] and "PARTLY LEFT OUT" in rows["dup"]
    below = {block.split("\n", 1)[0]: block.replace("\n    ", " ") for block in details.strip().split("\n\n")}
    assert "ERROR: failed to import 'sdesolve_exiting_cli_xyz': SystemExit: bye" in below["exiting"]
    assert "'heun'" in below["dup"]


def test_console_script_and_module_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sdesolve", "list", "--json"], capture_output=True, text=True, check=True
    )
    assert "euler_maruyama" in out.stdout


def _command_plugin(name: str, configure=None, run=None):
    from sdesolve import hookimpl

    def default_configure(parser):
        parser.add_argument("--word", default="hello")

    def default_run(args):
        print(f"{name}: {args.word}")
        return 3

    class Plugin:
        @hookimpl
        def sdesolve_register_commands(self, register):
            register(name, f"the {name} test command", configure or default_configure, run or default_run)

    return Plugin()


def test_a_plugin_adds_a_command_through_the_hook(capsys, fresh_plugins) -> None:
    plugins.register_plugin(_command_plugin("greet"), name="greeter")
    code, out, _ = _run(capsys, "greet", "--word", "hi")
    assert code == 3 and out == "greet: hi\n"
    assert plugins.registry().owners["command"]["greet"] == "greeter"
    assert {r.name: r for r in plugins.plugin_records()}["greeter"].registers == {"command": ["greet"]}
    code, out, _ = _run(capsys, "list", "--json")  # commands are not one of list's registries
    assert "greet" not in out


def test_a_command_name_held_by_another_plugin_is_refused_naming_both(fresh_plugins) -> None:
    with pytest.raises(
        plugins.DuplicateNameError, match=r"command 'list' is registered by both plugin 'sdesolve\.cli'"
    ):
        plugins.register_plugin(_command_plugin("list"), name="list_again")
    assert "list_again" not in {r.name for r in plugins.plugin_records()}
    plugins.register_plugin(_command_plugin("greet"), name="first")
    with pytest.raises(plugins.DuplicateNameError, match=r"'first' and plugin 'second'"):
        plugins.register_plugin(_command_plugin("greet"), name="second")


@pytest.mark.parametrize(
    "name,configure,run,expected",
    [
        ("Bad Name", None, None, "lower-case letters, digits and '-'"),
        ("ok", 42, None, "configure of command 'ok' to be a function configure\\(parser\\)"),
        ("ok", None, lambda: 0, "run of command 'ok' cannot be called as run\\(args\\)"),
    ],
)
def test_invalid_commands_are_refused_at_registration(fresh_plugins, name, configure, run, expected) -> None:
    with pytest.raises(plugins.PluginError, match=expected):
        plugins.register_plugin(_command_plugin(name, configure, run), name="bad_command")


def test_a_command_whose_configure_raises_is_left_out_and_the_others_work(capsys, fresh_plugins) -> None:
    def broken(parser):
        raise RuntimeError("no parser today")

    plugins.register_plugin(_command_plugin("broken", configure=broken), name="broken_command")
    with pytest.warns(RuntimeWarning, match="command 'broken' left out: configure\\(parser\\) raised RuntimeError"):
        code, out, _ = _run(capsys, "plugins", "--json")
    assert code == 0 and "broken_command" in out
    with pytest.warns(RuntimeWarning), pytest.raises(SystemExit):
        main(["broken"])


def test_the_core_commands_come_from_a_built_in_plugin() -> None:
    reg = plugins.registry()
    assert {n for n, owner in reg.owners["command"].items() if owner == "sdesolve.cli"} == {"plugins", "list", "verify"}
    assert "sdesolve.cli" in plugins.DEFAULT_PLUGINS
    steppers = [m for m in plugins.DEFAULT_PLUGINS if m.startswith("sdesolve.steppers.")]
    assert steppers == sorted(steppers) and "sdesolve.steppers.base" not in steppers


def test_plugins_table_stays_readable_in_a_terminal(capsys, fresh_plugins, monkeypatch) -> None:
    """Regression: a plugin registering many names made rows ~400 characters wide; long lists go below the table,
    wrapped, with any error in full."""
    from importlib import metadata

    eps = [
        metadata.EntryPoint("good", "tests.plugin_fixtures:good", "sdesolve"),
        metadata.EntryPoint("dup", "tests.plugin_fixtures:heun_and_more", "sdesolve"),
    ]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    with pytest.warns(RuntimeWarning):
        code, out, _ = _run(capsys, "plugins")
    assert code == 0
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 140
    assert "PARTLY LEFT OUT (below)" in out and "stepper 'heun' is registered by both" in out.replace("\n    ", " ")


def test_threads_option_sets_torch_threads_and_refuses_nonsense(capsys) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        assert main(["--threads", "1", "list", "--json"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    capsys.readouterr()
    for bad in ("0", "-2", "two"):
        with pytest.raises(SystemExit) as exc:
            main(["--threads", bad, "list"])
        assert exc.value.code == 2
        assert "--threads: expected a positive integer" in capsys.readouterr().err


def test_the_command_sets_a_passive_openmp_wait_policy_before_torch_starts(tmp_path) -> None:
    """Regression: spinning OpenMP threads made runs 17x slower on a busy 2-core machine; the command (not a
    library import) sets OMP_WAIT_POLICY=PASSIVE before torch is imported, and keeps a value the user set."""
    import os

    probe = "import os, sys; sys.argv = ['sdesolve']; import sdesolve; print(os.environ.get('OMP_WAIT_POLICY'))"
    library = "import os, sdesolve; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = lambda code, **extra: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert run(probe) == "PASSIVE"
    assert run(probe, OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
    assert run(library) == "None"
    out = subprocess.run(
        [sys.executable, "-m", "sdesolve", "--help"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "OMP_WAIT_POLICY=PASSIVE" in out and "--threads N" in out


def test_verify_shows_progress_on_stderr_unless_quiet() -> None:
    args = ["-m", "sdesolve", "verify", "--quick", "--stepper", "heun", "--kind", "ode"]
    args += ["--problem", "linear_closed_form"]
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True)
    assert "[0/1] measuring heun" in out.stderr and "status" in out.stdout
    quiet = subprocess.run([sys.executable, *args, "--quiet"], capture_output=True, text=True, check=True)
    assert quiet.stderr == ""
