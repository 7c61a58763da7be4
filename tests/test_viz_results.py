"""The results view's reading of result folders, without a browser (folders laid out as
the commands leave them, with small tables)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cellsim.viz.results import ResultsError, _event_table, find_results, open_results

PNG = b"\x89PNG"


def manifest(folder, **fields) -> None:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"status": "complete", **fields}))


@pytest.fixture
def body_run(tmp_path):
    """A body's run folder: the primary tissue (liver) and a second (gut)."""
    folder = tmp_path / "body"
    manifest(folder, kind="scenario", name="tiny_body")
    scenario = {
        "body": {"tissues": ["liver", "gut"]},
        "base": {"tissues": [{"name": "liver", "kind": "somatic"}, {"name": "gut"}]},
    }
    (folder / "scenario.resolved.json").write_text(json.dumps({"scenario": scenario}))
    pd.DataFrame(
        {
            "run_id": ["a/r0", "a/r1", "b/r0", "b/r1"],
            "arm": ["a", "a", "b", "b"],
            "tissue": "liver",
            "end_day": [900.0, 1000.0, 1100.0, 1200.0],
            "exhaustion_day": [800.0, np.nan, 700.0, np.nan],
            "gut.exhaustion_day": [500.0, 900.0, np.nan, np.nan],
            "failure_day": np.nan,
            "gut.failure_day": np.nan,
        }
    ).to_parquet(folder / "runs.parquet")
    return folder


def test_a_bodys_first_exhaustion_is_the_earliest_tissue(body_run):
    res = open_results(body_run)
    assert res.kind == "run" and res.arms == ["a", "b"]
    assert res.events[:2] == ["exhaustion of any tissue", "failure of any tissue"]
    assert "gut.exhaustion" in res.events and "liver.exhaustion" in res.events
    table, name = _event_table(res, "exhaustion of any tissue")
    days = table[f"{name}_day"].tolist()
    assert days[:3] == [500.0, 900.0, 700.0] and np.isnan(days[3])
    assert _event_table(res, "liver.exhaustion")[1] == "exhaustion"  # the primary's columns
    assert res.survival_png(("a", "b"), "exhaustion of any tissue").startswith(PNG)
    with pytest.raises(ResultsError, match="event = 'nope'"):
        res.survival_png(("a",), "nope")
    with pytest.raises(ResultsError, match=r"arms: a, b"):
        res.check_arm("c")


def test_sweep_sensitivity_and_calibration_folders(tmp_path):
    sweep = tmp_path / "sweep"
    manifest(sweep, kind="sweep", name="s", grid_parameters=["x", "y"], parameters=["x", "y"])
    pd.DataFrame(
        {
            "point_id": ["p0", "p1", "p2", "p3"],
            "x": [1.0, 1.0, 2.0, 2.0],
            "y": [0.1, 0.2, 0.1, 0.2],
            "n_runs": 2,
            **{
                f"{e}_{k}": v
                for e in ("exhaustion", "failure")
                for k, v in (
                    ("median_years", [1.0, 2.0, 3.0, 4.0]),
                    ("ci_low_years", np.nan),
                    ("ci_high_years", np.nan),
                    ("followup_max_years", 5.0),
                    ("censored_fraction", 0.0),
                )
            },
        }
    ).to_csv(sweep / "summary.csv", index=False)
    res = open_results(sweep)
    assert res.kind == "sweep" and res.sweep_parameters == ["x", "y"]
    assert res.heatmap_png("x", "y", "exhaustion").startswith(PNG)
    assert res.heatmap_png("y", None, "failure").startswith(PNG)
    with pytest.raises(ResultsError, match="parameter = 'z'"):
        res.heatmap_png("z", None, "exhaustion")

    study = tmp_path / "study"
    manifest(study, kind="sweep", name="st", parameters=["x"])
    (study / "sensitivity").mkdir()
    pd.DataFrame(
        {"output": "age", "parameter": ["x", "y"], "S1": [0.6, 0.2], "S1_conf": 0.05,
         "ST": [0.7, 0.3], "ST_conf": 0.05}
    ).to_parquet(study / "sensitivity" / "indices.parquet")  # fmt: skip
    res = open_results(study)
    assert res.kind == "sensitivity" and res.outputs == ["age"]
    assert res.sobol_png("age").startswith(PNG)

    calib = tmp_path / "calib"
    manifest(calib, kind="calibration", name="c")
    rng = np.random.default_rng(1)
    pd.DataFrame({"a": rng.normal(size=50), "weight": 1 / 50}).to_parquet(
        calib / "posterior.parquet"
    )
    res = open_results(calib)
    assert res.parameters == ["a"] and res.observables == []
    assert res.marginal_png("a").startswith(PNG)

    found = find_results(tmp_path)
    assert [p.name for p in found] == ["calib", "study", "sweep"]


def test_folders_that_hold_no_result(tmp_path):
    with pytest.raises(ResultsError, match="not found"):
        find_results(tmp_path / "gone")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match="not a result"):
        find_results(tmp_path / "empty")
    manifest(tmp_path / "pending", kind="calibration", name="c", status="running")
    with pytest.raises(ResultsError, match=r"no posterior\.parquet yet"):
        open_results(tmp_path / "pending")


def test_the_table_says_not_reached_where_a_median_or_bound_is_unbounded():
    """An empty median or CI bound (the curve never came that far down) reads "not
    reached"; another empty cell is blank; never "NaN"."""
    pytest.importorskip("solara")
    from cellsim.viz.results_page import table_html

    table = pd.DataFrame(
        {
            "arm": ["control", "senolytic"],
            "n_runs": [3, 3],
            "exhaustion_median_years": [0.41341, np.nan],
            "exhaustion_ci_high_years": [np.nan, np.nan],
            "exhaustion_logrank_p": [np.nan, 0.56249],
        }
    )
    html = table_html(table)
    assert "NaN" not in html and "nan" not in html
    assert html.count("not reached") == 3
    assert "<td>0.4134</td>" in html and "<td>0.5625</td>" in html and "<td>3</td>" in html
    assert html.count("<td></td>") == 1
