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
