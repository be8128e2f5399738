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


def _result(methods: list[tuple[str, str, bool, int]], with_strong: bool = True) -> dict:
    """A synthetic compare result: ``(method, library, stochastic, nfe_per_step)`` rows at budgets 10, 20, 50."""
    rows = []
    for i, (method, library, stochastic, k) in enumerate(methods):
        for budget in (10, 20, 50):
            nfe = (budget - 1) // k * k + 1
            err = 1.0 / nfe + 0.001 * i
            rows.append(
                dict(
                    method=method,
                    library=library,
                    stochastic=stochastic,
                    budget=budget,
                    nfe=nfe,
                    error=err,
                    within_floor=err <= 0.03,
                    strong_error=(10 * err if with_strong and not stochastic else None),
                    seconds=0.5,
                    samples_per_second=1000.0,
                    failure=None,
                )
            )
    return {
        "problem": {"description": "test problem", "n": 100, "paths_for_strong_error": 8},
        "metric": "sliced W1",
        "floor": 0.02,
        "floor_draws": None,
        "rows": rows,
    }


def test_table_explains_budget_nfe_floor_and_dash_and_has_no_seconds() -> None:
    from sdesolve_lab.compare import format_table

    result = _result([("sdesolve:ddram", "sdesolve", True, 2), ("sdesolve:ddim", "sdesolve", False, 1)])
    text = format_table(result)
    table_part, legend = text.split("budget: the NFE", 1)
    header = table_part.strip().splitlines()[4]
    assert header.split() == ["method", "kind", "budget", "NFE", "error", "strong"]
    assert "seconds" not in header and "samples/s" not in header
    ddram = [line.split() for line in table_part.splitlines() if line.startswith("sdesolve:ddram")]
    assert [(r[2], r[3]) for r in ddram] == [("10", "9"), ("20", "19"), ("50", "49")]
    assert "floor((budget - 1) / k) steps plus 1 evaluation for the final" in legend
    assert "9/19/49" in legend
    assert "'≤ floor (x)': within 1.5x of the noise floor" in legend
    assert "'-': not computed" in legend
    assert "lower is better" in legend and "sdesolve bench" in legend
    assert "≤ floor (0.0204)" in table_part  # ddram at 49 NFE: 1/49 is within 1.5 x 0.02


def test_nfe_legend_matches_what_the_sampler_spends() -> None:
    """The legend's arithmetic is the lab's: a 2-NFE-per-step sampler at budget 10 makes 9 evaluations."""
    import torch
    from sdesolve_lab.methods import our_methods
    from sdesolve_lab.problem import make_problem

    pb = make_problem("gmm", 2, seed=0)
    x_T = pb.prior(16, 0, torch.float64, "cpu")
    (ddram,) = our_methods(["ddram"])
    (ddim,) = our_methods(["ddim"])
    assert ddram.run(pb, x_T, 10, 0)[1] == 9
    assert ddram.run(pb, x_T, 20, 0)[1] == 19
    assert ddim.run(pb, x_T, 10, 0)[1] == 10


def test_line_styles_are_distinct_and_labels_drop_the_prefix() -> None:
    from sdesolve_lab.compare import line_styles, plot_label

    ours = [f"sdesolve:s{i}" for i in range(15)]
    peers = [f"lib:p{i}" for i in range(18)]
    style = line_styles(ours, peers)
    assert len({style[m][0] for m in ours}) == len(ours)
    assert len({style[m][0] for m in peers}) == len(peers)
    assert len(set(style.values())) == len(ours) + len(peers)
    assert {style[m][1] for m in ours} == {"-"} and {style[m][1] for m in peers} == {"--"}
    assert plot_label("sdesolve:ddim") == "ddim" and plot_label("torchsde:srk") == "torchsde:srk"


def test_plot_reads_without_the_docs(tmp_path, monkeypatch) -> None:
    import matplotlib.figure
    from sdesolve_lab.compare import plot

    figures = []
    real_savefig = matplotlib.figure.Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    methods = [
        ("sdesolve:ddim", "sdesolve", False, 1),
        ("sdesolve:ddram", "sdesolve", True, 2),
        ("sdesolve:li_accelerated_sde", "sdesolve", True, 1),
        ("torchsde:srk", "torchsde", True, 3),
        ("torchdiffeq:rk4", "torchdiffeq", False, 4),
    ]
    plot(_result(methods), tmp_path / "compare.png")
    assert (tmp_path / "compare.png").stat().st_size > 10_000
    (fig,) = figures
    assert len(fig.axes) == 2  # the strong error has its own panel
    for ax in fig.axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert "lower is better" in ax.get_ylabel() and "log scale" in ax.get_ylabel()
        assert "log scale" in ax.get_xlabel()
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert not any(label.startswith("sdesolve:") for label in labels)
    assert {"ddim", "ddram", "li_accelerated_sde", "torchsde:srk", "torchdiffeq:rk4"} <= set(labels)
    assert "sdesolve (solid lines)" in labels and "peers (dashed lines)" in labels
    assert any("circle: SDE" in label for label in labels) and any("square: ODE" in label for label in labels)
    lines = [line for line in fig.axes[0].get_lines() if len(line.get_xdata()) > 2]
    assert len({(line.get_color(), line.get_linestyle()) for line in lines}) == len(methods)

    figures.clear()
    plot(_result(methods, with_strong=False), tmp_path / "one.png")
    assert len(figures[0].axes) == 1


def test_kdiffusion_tree_queries_stay_inside_the_brownian_interval() -> None:
    """k-diffusion's ``sample_dpmpp_sde`` maps σ through exp(-(-log σ)); unclamped, its first query lands a rounding
    error past the tree's end and torchsde warns ``Should have tb<=t1``."""
    import warnings

    import torch
    from sdesolve_lab.methods import peer_methods
    from sdesolve_lab.problem import make_problem

    methods = {m.name: m for m in peer_methods()}
    if "k-diffusion:dpmpp_sde" not in methods:
        pytest.skip("k-diffusion is not installed")
    pb = make_problem("gmm", 16, seed=0)
    x_T = pb.prior(8, 0, torch.float64, "cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for budget in (10, 20):
            x, nfe = methods["k-diffusion:dpmpp_sde"].run(pb, x_T, budget, budget)
            assert torch.isfinite(x).all() and nfe == budget - 1
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "Should have" in m], messages


def test_reference_rows_are_shown_by_default_from_the_cli() -> None:
    import argparse

    from sdesolve_lab.commands import configure_compare
    from sdesolve_lab.compare import REFERENCE_LIBRARIES, CompareConfig, select_peers

    p = argparse.ArgumentParser()
    configure_compare(p)
    assert p.parse_args([]).no_references is False
    assert p.parse_args(["--no-references"]).no_references is True

    assert select_peers(CompareConfig()) == []  # the Python API stays opt-in
    refs = select_peers(CompareConfig(references=True))
    names = {m.name for m in refs}
    assert {"torchsde:euler", "torchsde:srk", "torchdiffeq:rk4", "torchdiffeq:dopri5"} <= names
    assert {m.library for m in refs} == set(REFERENCE_LIBRARIES)
    everyone = select_peers(CompareConfig(peers=True))
    assert names < {m.name for m in everyone} or {m.library for m in everyone} == set(REFERENCE_LIBRARIES)
    assert [m.name for m in select_peers(CompareConfig(references=True, peer_names=["torchsde:srk"]))] == [
        "torchsde:srk"
    ]


def test_kdiffusion_multistep_peers_also_run_on_the_logsnr_grid() -> None:
    """The who-wins tables face k-diffusion's multistep samplers on both grids: Karras ρ = 7 and exponential σ
    (uniform in log σ, our ``logsnr``), where they are stronger at low NFE."""
    import torch
    from sdesolve_lab.methods import _kdiffusion, load_kdiffusion_sampling, peer_methods
    from sdesolve_lab.problem import make_problem

    kd = load_kdiffusion_sampling()
    if kd is None:
        pytest.skip("k-diffusion is not installed")
    names = {m.name for m in peer_methods(("k-diffusion",))}
    assert {
        "k-diffusion:dpmpp_2m@logsnr",
        "k-diffusion:dpmpp_2m_sde@logsnr",
        "k-diffusion:dpmpp_3m_sde@logsnr",
    } <= names
    seen = []
    wrapped = kd.sample_dpmpp_2m

    class Spy:
        def __getattr__(self, attr):
            return getattr(kd, attr)

        def sample_dpmpp_2m(self, model, x, sigmas, **kw):
            seen.append(sigmas)
            return wrapped(model, x, sigmas, **kw)

    pb = make_problem("gmm", 16, seed=0)
    x_T = pb.prior(8, 0, torch.float64, "cpu")
    for grid in ("edm", "logsnr"):
        x, nfe = _kdiffusion(Spy(), "dpmpp_2m", False, False, grid=grid).run(pb, x_T, 10, 10)
        assert torch.isfinite(x).all() and nfe == 10
    karras, exponential = (s[:-1].log().diff() for s in seen)  # the last σ is 0
    assert torch.allclose(exponential, exponential[0].expand_as(exponential), rtol=1e-9)  # uniform in log σ
    assert not torch.allclose(karras, karras[0].expand_as(karras), rtol=1e-3)
    with pytest.raises(ValueError, match="grid must be one of"):
        _kdiffusion(kd, "dpmpp_2m", False, False, grid="karras")
