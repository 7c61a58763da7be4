"""Strict input model (issue 13 item 1): each rule turns a bad file into exit 2 and one line
naming the field, the value and what is allowed, before anything is written."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cellsim.engine.params import (
    MAX_REPLICATES,
    ModelParams,
    Senolytic,
    TissueParams,
    with_overrides,
)

from .test_cli import SMALL

SENOLYTIC = '\n[[base.interventions]]\nkind = "senolytic"\nstart_age_days = 100.0\n'


def _one_line_exit_2(cli, tmp_path, text: str, *words: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    res = cli("validate", str(path))
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
    return lines[0]


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # booleans and text are not numbers
        ("n_cells = 300", "n_cells = true", ["n_cells = True", "integer"]),
        ("lifespan_days = 5.0", "lifespan_days = false", ["lifespan_days = False", "number"]),
        ("replicates = 3", "replicates = true", ["replicates = True", "integer"]),
        ("seed = 5", "seed = 5.5", ["seed = 5.5", "integer"]),
        # non-finite numbers
        ("lifespan_days = 5.0", "lifespan_days = inf", ["lifespan_days = inf", "finite"]),
        ("lifespan_days = 5.0", "lifespan_days = nan", ["lifespan_days = nan", "finite"]),
        ("loss_mean_bp = 300.0", "loss_mean_bp = -inf", ["loss_mean_bp = -inf", "finite"]),
        ("horizon_days = 400.0", "horizon_days = inf", ["horizon_days = inf", "finite"]),
        # absurd sizes
        ("horizon_days = 400.0", "horizon_days = 1e6", ["horizon_days = 1000000.0", "73050"]),
        ("n_cells = 300", "n_cells = 1_000_000_000", ["n_cells = 1000000000", "100000000"]),
        ("replicates = 3", "replicates = 1_000_000", ["replicates = 1000000", "100000"]),
        (
            "loss_mean_bp = 300.0",
            "loss_mean_bp = 300.0\ninitial_mean_bp = 1e9",
            ["initial_mean_bp = 1000000000.0", "less than or equal"],
        ),
        # rates that would only make a run hang on events
        (
            "lifespan_days = 5.0",
            "lifespan_days = 1e-9",
            ["lifespan_days = 1e-09", "greater than or equal to 0.0001"],
        ),
        (
            "loss_mean_bp = 300.0",
            "loss_mean_bp = 300.0\n[base.tissues.clearance]\nrate_per_day = 1e300",
            ["clearance.rate_per_day = 1e+300", "less than or equal to 10000"],
        ),
        (
            "loss_mean_bp = 300.0",
            "loss_mean_bp = 300.0\n[base.tissues.stress]\nepigenetic_slope_per_day_per_year = 1e9",
            ["epigenetic_slope_per_day_per_year", "10000"],
        ),
        ("seed = 5", "seed = 18446744073709551616", ["seed", "9223372036854775807"]),
        # runs a machine could not hold
        (
            "replicates = 3",
            "replicates = 100000\n" + "".join(f'[[arms]]\nname = "x{i}"\n' for i in range(101)),
            ["runs = 103 arms x 100000 replicates", "at most 10000000 runs"],
        ),
        # names that become folders, file names and labels
        ('name = "small"', 'name = "../evil"', ["name = '../evil'", "allowed", "letters"]),
        ('name = "small"', 'name = ".hidden"', ["name = '.hidden'", "not starting with '.'"]),
        ('name = "small"', 'name = ""', ["name = ''", "allowed"]),
        ('name = "small"', 'name = "a b"', ["name = 'a b'", "allowed"]),
        ('name = "a"', 'name = "$x^2$"', ["arms.0.name = '$x^2$'", "allowed"]),
        ('name = "a"', 'name = "' + "a" * 65 + '"', ["arms.0.name", "1-64 characters"]),
        ('name = "t"', 'name = "t.x"', ["tissues.0.name = 't.x'", "no '.'"]),
        # dotted paths: plain, in-range indices only
        (
            'set = { "t.lifespan_days" = 8.0 }',
            'set = { "tissues.-1.lifespan_days" = 8.0 }',
            ["tissues.-1.lifespan_days", "unknown parameter"],
        ),
        (
            'set = { "t.lifespan_days" = 8.0 }',
            'set = { "tissues.1.lifespan_days" = 8.0 }',
            ["tissues.1.lifespan_days", "unknown parameter"],
        ),
        (
            'set = { "t.lifespan_days" = 8.0 }',
            'set = { "tissues.+0.lifespan_days" = 8.0 }',
            ["tissues.+0.lifespan_days", "unknown parameter"],
        ),
        # a tissue does not supply itself
        (
            'name = "t"',
            'name = "t"\nkind = "stem"\nsupply_from = "t"\nsupply_share = 0.5',
            ["supply_from", "not itself"],
        ),
        # end age before start age; empty target list
        (
            '[[arms]]\nname = "a"',
            SENOLYTIC + 'end_age_days = 50.0\n[[arms]]\nname = "a"',
            ["end_age_days=50", "start_age_days=100"],
        ),
        (
            '[[arms]]\nname = "a"',
            SENOLYTIC + 'tissues = []\n[[arms]]\nname = "a"',
            ["interventions.0.senolytic.tissues", "at least 1"],
        ),
    ],
)
def test_each_rule_is_one_line_exit_2(cli, tmp_path, old, new, words):
    assert old in SMALL
    _one_line_exit_2(cli, tmp_path, SMALL.replace(old, new, 1), *words)


def test_the_valid_small_file_still_passes(cli, tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(
        SMALL.replace('name = "a"', 'name = "a-1.v+2"', 1)
        + SENOLYTIC.replace("[[base.interventions]]", "[[arms.interventions]]")
        + "end_age_days = 100.0\n"
    )
    res = cli("validate", str(path))
    assert res.returncode == 0, res.stderr


def test_replicates_option_has_the_field_bound(cli, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    res = cli(
        "run", str(path), "--replicates", str(MAX_REPLICATES + 1), "--out", str(tmp_path / "o")
    )
    assert (
        res.returncode == 2 and "--replicates" in res.stderr and str(MAX_REPLICATES) in res.stderr
    )
    assert not (tmp_path / "o").exists()


def test_replicates_option_obeys_the_runs_bound(cli, tmp_path):
    path = tmp_path / "s.toml"
    big = SMALL + "".join(f'[[arms]]\nname = "x{i}"\n' for i in range(101))
    path.write_text(big.replace("replicates = 3", "replicates = 1", 1))
    res = cli("run", str(path), "--replicates", str(MAX_REPLICATES), "--out", str(tmp_path / "o"))
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    assert f"--replicates = {MAX_REPLICATES}: 103 arms" in lines[0] and "at most" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_the_api_refuses_the_same_values():
    with pytest.raises(ValidationError, match="valid integer"):
        TissueParams(n_cells=True)
    with pytest.raises(ValidationError, match="finite"):
        TissueParams(lifespan_days=float("inf"))
    with pytest.raises(ValidationError, match="at or after"):
        Senolytic(start_age_days=10.0, end_age_days=5.0)
    assert Senolytic(start_age_days=10.0, end_age_days=10.0).end_age_days == 10.0
    params = ModelParams()
    for key in ("tissues.-1.lifespan_days", "tissues.01x.lifespan_days", "tissues.٠.lifespan_days"):
        with pytest.raises(KeyError):
            with_overrides(params, {key: 3.0})
    assert with_overrides(params, {"tissues.0.lifespan_days": 3}).tissues[0].lifespan_days == 3.0
    with pytest.raises(ValidationError):
        with_overrides(params, {"tissues.0.n_cells": True})


SWEEP = """
name = "sw"
replicates = 2
[base.run]
horizon_days = 100.0
[[base.tissues]]
name = "t"
n_cells = 100
[parameters]
{axis}
"""


@pytest.mark.parametrize(
    ("axis", "words"),
    [
        ('"run.stop_at" = { start = 1, stop = 2, num = 2 }', ["run.stop_at", "not a number"]),
        (
            '"t.stress.age_dependent" = { start = 0, stop = 1, num = 2 }',
            ["age_dependent", "not a number"],
        ),
        (
            '"tissues.-1.lifespan_days" = [1.0, 2.0]',
            ["tissues.-1.lifespan_days", "unknown parameter"],
        ),
        ('"t.lifespan_days" = { start = 1, stop = inf, num = 2 }', ["stop = inf", "finite"]),
        ('"t.n_cells" = [100, true]', ["n_cells", "True", "integer"]),
    ],
)
def test_bad_sweep_axes_are_one_line_exit_2(cli, tmp_path, axis, words):
    path = tmp_path / "bad.toml"
    path.write_text(SWEEP.format(axis=axis))
    res = cli("sweep", str(path), "--dry-run")
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_figure_text_is_never_mathtext(tmp_path):
    from matplotlib.figure import Figure

    from analysis.plots import _save

    fig = Figure()
    ax = fig.subplots()
    ax.set_title("$\\frac{$")  # broken mathtext: would raise when drawn
    ax.plot([0, 1], [0, 1], label="arm $x")
    ax.legend()
    _save(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0


def test_a_sweep_of_more_runs_than_the_bound_is_refused(cli, tmp_path):
    path = tmp_path / "big.toml"
    axis = '"t.lifespan_days" = { start = 1, stop = 2, num = 100000 }'
    path.write_text(SWEEP.format(axis=axis).replace("replicates = 2", "replicates = 101"))
    res = cli("sweep", str(path), "--dry-run")
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    assert "runs = 100000 points x 101 replicates = 10100000" in lines[0], lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.toml"]
