"""The lab's output reads without the docs: bad option values are refused by name, every option says what it takes
and its default, the table explains its notation, the plot tells its lines apart."""

from __future__ import annotations

import pytest

from sdesolve.cli import main


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["compare", "--nfe", "0"], "--nfe"),
        (["compare", "--nfe", "1"], "--nfe"),
        (["compare", "--nfe", "-5"], "--nfe"),
        (["compare", "--nfe", "10,2.5"], "--nfe"),
        (["compare", "--nfe", "ten"], "--nfe"),
        (["compare", "--nfe", ","], "--nfe"),
        (["compare", "--n", "0"], "--n"),
        (["compare", "--n", "1.5"], "--n"),
        (["compare", "--dim", "-1"], "--dim"),
        (["compare", "--scaling", "--dims", "4,0"], "--dims"),
        (["bench", "--batch", "0"], "--batch"),
        (["bench", "--dim", "0"], "--dim"),
        (["bench", "--steps", "-3"], "--steps"),
        (["bench", "--repeats", "0.5"], "--repeats"),
    ],
)
def test_bad_counts_are_refused_naming_the_option(argv, option, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err
    assert "expected" in err


def test_good_counts_parse() -> None:
    from sdesolve_lab.commands import nfe_list, positive_int, positive_int_list

    assert nfe_list("10, 20,50") == [10, 20, 50]
    assert nfe_list("2") == [2]
    assert positive_int("1") == 1
    assert positive_int_list("4,16") == [4, 16]


@pytest.mark.parametrize("command", ["compare", "bench"])
def test_every_option_says_what_it_takes_and_its_default(command) -> None:
    import argparse

    from sdesolve_lab import commands

    p = argparse.ArgumentParser()
    getattr(commands, f"configure_{command}")(p)
    options = [a for a in p._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 8
    for action in options:
        assert action.help, f"{action.option_strings} has no help"
        assert "default" in action.help, f"{action.option_strings}: help names no default: {action.help!r}"


def test_help_prints(capsys) -> None:
    for command in ("compare", "bench"):
        with pytest.raises(SystemExit) as exc:
            main([command, "--help"])
        assert exc.value.code == 0
        assert "(default" in capsys.readouterr().out


def test_bench_ratios_say_which_way_they_point() -> None:
    from sdesolve_lab.bench import BUDGET_ROW, format_bench

    result = {
        "problem": {"batch": 8, "dim": 2, "steps": 10, "repeats": 3, "dtype": "float32", "device": "cpu"},
        "seconds": {
            BUDGET_ROW: 1.0,
            "sdesolve euler_maruyama (SDE)": 1.1,
            "torchsde sdeint euler (default BrownianInterval)": 4.4,
        },
    }
    text = format_bench(result)
    assert "time / budget" in text and "lower is better" in text and "best of 3 rounds" in text
    assert (
        "torchsde sdeint euler (default BrownianInterval) took 4.00x the time of sdesolve euler_maruyama (SDE)" in text
    )
    assert "1.10" in text  # sdesolve's time / budget


def test_quick_samplers_in_the_help_agree_with_the_lab() -> None:
    from sdesolve_lab.commands import QUICK_SAMPLERS
    from sdesolve_lab.compare import QUICK_SAMPLERS as LAB_QUICK

    assert list(QUICK_SAMPLERS) == list(LAB_QUICK)
