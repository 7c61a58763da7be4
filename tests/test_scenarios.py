"""The shipped scenario files validate, and the flagship script runs at reduced size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cellsim.config.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))  # sweeps/, validation/: own formats


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_validate(path):
    sc = load_scenario(path)
    assert sc.resolved()
    text = path.read_text()
    for arm in sc.arms:  # every arm says what it tests
        assert arm.description, f"{path.name}: arm {arm.name} has no description"
    assert text.lstrip().startswith("#"), f"{path.name} starts with no comment"


def test_flagship_arms_are_those_of_the_question():
    sc = load_scenario(ROOT / "scenarios" / "hayflick_question.toml")
    assert [a.name for a in sc.arms] == [
        "control",
        "senolytics",
        "senolytics+partial",
        "senolytics+full",
        "stem_supply",
    ]


@pytest.mark.slow
def test_flagship_script_runs_reduced(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scenarios" / "flagship_script.py"),
            "--n-cells",
            "1000",
            "--replicates",
            "2",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["arm"]) == [
        "control",
        "senolytics",
        "senolytics+partial",
        "senolytics+full",
        "stem_supply",
    ]
    assert (tmp_path / "functional_and_pool.png").stat().st_size > 10_000
    assert "exhaustion" in res.stdout
