"""The whole-body analysis (analysis.body) against values computed by hand from small
synthetic tables, not against its own output."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.body import (
    REMOVAL_COUNTERS,
    answer_table,
    body_burden,
    body_divisions_per_day,
    body_divisions_per_day_mean,
    body_turnover,
    first_tissue,
    format_answer,
    plot_body,
    tissue_event_days,
    tissue_scales,
    tissue_table,
    turnover_shares,
)
from analysis.exhaustion import kaplan_meier

Y = 365.25  # days per year

# A (gut): 100 slots for 1e6 cells, scale 1e4; B (skin): the whole tissue, scale 1;
# E (erythrocytes, blood): scale 1e6, not in the burden; L (blood): scale 1e6;
# H (stem): the whole compartment, scale 1.
TISSUES = pd.DataFrame(
    {
        "tissue": ["A", "B", "E", "L", "H"],
        "n_cells": [100, 50, 200, 100, 10],
        "cells_in_body": [1e6, np.nan, 2e8, 1e8, np.nan],
        "group": ["gut", "skin", "blood", "blood", "stem"],
        "in_burden": [True, True, False, True, True],
    }
)


def body(*names: str) -> pd.DataFrame:
    return TISSUES[TISSUES["tissue"].isin(names)].reset_index(drop=True)


def traj_rows(run_id: str, tissue: str, days, arm: str = "x", **columns) -> pd.DataFrame:
    """Trajectory rows of one run and tissue; ``columns`` give one value per day."""
    n = len(days)
    data = {
        "run_id": run_id,
        "arm": arm,
        "replicate": int(run_id[-1]),
        "tissue": tissue,
        "day": np.asarray(days, float),
        "age_years": np.asarray(days, float) / Y,
    }
    for name, values in columns.items():
        data[name] = np.asarray(values, float) if np.ndim(values) else np.full(n, float(values))
    return pd.DataFrame(data)


# --------------------------------------------------------------------------------------
# scales and events
# --------------------------------------------------------------------------------------


def test_scales_are_real_cells_per_slot_and_one_for_a_whole_tissue():
    s = tissue_scales(TISSUES)
    assert s.to_dict() == {"A": 1e4, "B": 1.0, "E": 1e6, "L": 1e6, "H": 1.0}
    no_body = tissue_scales(pd.DataFrame({"tissue": ["a", "b"], "n_cells": [5, 7]}))
    assert no_body.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="more than once"):
        tissue_scales(pd.DataFrame({"tissue": ["a", "a"], "n_cells": [5, 7]}))


def events_runs() -> pd.DataFrame:
    """Primary tissue A, others B and H: exhaustion days per run (NaN: not reached)."""
    return pd.DataFrame(
        {
            "run_id": ["x/r0", "x/r1", "x/r2", "x/r3"],
            "arm": "x",
            "replicate": [0, 1, 2, 3],
            "tissue": "A",
            "end_day": [9000.0, 8000.0, 7000.0, 6000.0],
            "exhaustion_day": [5000.0, np.nan, 1000.0, np.nan],
            "B.exhaustion_day": [3000.0, np.nan, 1000.0, np.nan],
            "H.exhaustion_day": [100.0, np.nan, np.nan, 2500.0],
        }
    )


def test_event_days_put_the_primary_tissue_first_under_its_name():
    d = tissue_event_days(events_runs(), "exhaustion")
    assert list(d.columns) == ["run_id", "arm", "replicate", "end_day", "A", "B", "H"]
    assert d["A"].tolist()[0] == 5000.0 and math.isnan(d["A"].iloc[1])
    assert d["B"].tolist()[0] == 3000.0
    # a standard event without columns is never reached
    f = tissue_event_days(events_runs(), "failure")
    assert list(f.columns) == ["run_id", "arm", "replicate", "end_day", "A"]
    assert f["A"].isna().all()


def test_first_tissue_names_the_earlier_one_and_censors_runs_without_any():
    f = first_tissue(events_runs(), "exhaustion", ["A", "B"])
    # r0: B (3000) before A (5000); r1: none; r2: a tie at 1000, A first in the order;
    # r3: only H reached it, which is not considered
    assert f["first_tissue"].tolist() == ["B", None, "A", None]
    assert f["first_day"].tolist()[0] == 3000.0 and f["first_day"].tolist()[2] == 1000.0
    assert f["first_day"].isna().tolist() == [False, True, False, True]
    assert f["n_tied"].tolist() == [1, 0, 2, 0]
    assert f["observed"].tolist() == [True, False, True, False]
    assert f["time_years"].tolist() == pytest.approx([3000 / Y, 8000 / Y, 1000 / Y, 6000 / Y])
    # the order of the considered tissues breaks ties; all tissues by default
    assert first_tissue(events_runs(), "exhaustion", ["B", "A"])["first_tissue"][2] == "B"
    everyone = first_tissue(events_runs(), "exhaustion")
    assert everyone["first_tissue"].tolist() == ["H", None, "A", "H"]
    with pytest.raises(ValueError, match="Z"):
        first_tissue(events_runs(), "exhaustion", ["A", "Z"])


# --------------------------------------------------------------------------------------
# burden, divisions, turnover
# --------------------------------------------------------------------------------------


def test_burden_is_the_scaled_senescent_cells_over_the_scaled_slots():
    traj = pd.concat(
        [
            traj_rows("x/r0", "A", [0, 20, 30], n_senescent=[10, 30, 40]),
            traj_rows("x/r0", "B", [0, 30], n_senescent=[5, 25]),
            traj_rows("x/r0", "E", [0, 30], n_senescent=[100, 100]),  # not in the burden
            traj_rows("x/r1", "A", [0, 10], n_senescent=[1, 2]),
            traj_rows("x/r1", "B", [10], n_senescent=[3]),  # first recorded at day 10
        ]
    )
    b = body_burden(traj, body("A", "B", "E"))
    body_cells = 1e4 * 100 + 1 * 50  # E is left out
    r0 = b[b["run_id"] == "x/r0"]
    assert r0["day"].tolist() == [0.0, 20.0, 30.0]
    # day 20: A's own record, B's from day 0
    assert r0["senescent_real_cells"].tolist() == [100_005.0, 300_005.0, 400_025.0]
    assert r0["body_real_cells"].tolist() == [body_cells] * 3
    assert r0["senescent_burden_fraction"].tolist() == pytest.approx(
        [100_005 / body_cells, 300_005 / body_cells, 400_025 / body_cells], rel=1e-12
    )
    r1 = b[b["run_id"] == "x/r1"]
    assert math.isnan(r1["senescent_burden_fraction"].iloc[0])  # B not yet recorded
    assert r1["senescent_real_cells"].iloc[1] == 2e4 + 3
    assert b["arm"].eq("x").all() and r1["replicate"].eq(1).all()


def test_divisions_per_day_by_age_and_over_the_run():
    traj = pd.concat(
        [
            traj_rows("x/r0", "A", [0, 30, 60], divisions_cumulative=[0, 3, 9]),
            traj_rows("x/r0", "B", [0, 30, 60], divisions_cumulative=[0, 30, 30]),
        ]
    )
    d = body_divisions_per_day(traj, body("A", "B"))
    assert d["day"].tolist() == [30.0, 60.0] and d["from_day"].tolist() == [0.0, 30.0]
    # (1e4 * 3 + 30) / 30 and (1e4 * 6 + 0) / 30
    assert d["divisions_real_per_day"].tolist() == pytest.approx([1001.0, 2000.0])

    runs = pd.DataFrame(
        {
            "run_id": ["x/r0"],
            "arm": "x",
            "tissue": "A",
            "start_day": 20.0,
            "end_day": 120.0,
            "divisions_total": 5.0,
            "B.divisions_total": 20.0,
        }
    )
    m = body_divisions_per_day_mean(runs, body("A", "B"))
    assert m["run_days"].tolist() == [100.0]
    assert m["divisions_real_per_day"].tolist() == pytest.approx([(5 * 1e4 + 20) / 100])


def turnover_traj() -> pd.DataFrame:
    zeros = dict.fromkeys((f"{c}_cumulative" for c in REMOVAL_COUNTERS), 0.0)
    days = [0, 50, 100]

    def rows(tissue, deaths, cleared=(0, 0, 0)):
        cols = {**zeros, "deaths_cumulative": deaths, "cleared_immune_cumulative": cleared}
        return traj_rows("x/r0", tissue, days, **cols)

    return pd.concat(
        [
            rows("E", [0, 10, 50]),
            rows("L", [0, 5, 10], [0, 1, 2]),
            rows("A", [0, 350, 700]),
            rows("B", [0, 500, 1000]),
        ]
    )


def test_turnover_shares_by_group_are_the_hand_computed_ones():
    tissues = body("A", "B", "E", "L")
    t = body_turnover(turnover_traj(), tissues).set_index("group")
    # per day over days 0-100: E 0.5 slots * 1e6; L (0.1 + 0.02) * 1e6; A 7 * 1e4; B 10 * 1
    blood, gut, skin = 5e5 + 1.2e5, 7e4, 10.0
    total = blood + gut + skin
    assert t.loc[["gut", "skin", "blood"], "replaced_real_cells_per_day"].tolist() == (
        pytest.approx([gut, skin, blood])
    )
    assert t["body_replaced_real_cells_per_day"].tolist() == pytest.approx([total] * 3)
    assert t.loc["blood", "share_fraction"] == pytest.approx(blood / total)
    assert t.loc["gut", "share_fraction"] == pytest.approx(gut / total)
    assert t.loc["skin", "share_fraction"] == pytest.approx(skin / total)
    assert (t["from_day"].tolist(), t["to_day"].tolist()) == ([0.0] * 3, [100.0] * 3)

    # the second half only, by tissue: E 40 deaths in 50 days; the others as before
    late = body_turnover(turnover_traj(), tissues, from_day=50, to_day=500, by="tissue")
    late = late.set_index("tissue")["replaced_real_cells_per_day"]
    assert late.to_dict() == pytest.approx({"A": 7e4, "B": 10.0, "E": 8e5, "L": 1.2e5})

    shares = turnover_shares(body_turnover(turnover_traj(), tissues)).set_index("group")
    assert shares.loc["blood", "share_fraction"] == pytest.approx(blood / total)
    assert shares["runs"].tolist() == [1, 1, 1]


def test_turnover_of_a_tissue_the_run_did_not_record_is_unknown():
    traj = turnover_traj()
    traj = pd.concat(
        [
            traj,
            traj_rows(
                "x/r1", "A", [0, 100], **{f"{c}_cumulative": [0, 100] for c in REMOVAL_COUNTERS}
            ),
        ]
    )
    t = body_turnover(traj, body("A", "B", "E", "L"))
    r1 = t[t["run_id"] == "x/r1"].set_index("group")
    assert r1.loc["gut", "replaced_real_cells_per_day"] == pytest.approx(5 * 1e4)
    assert np.isnan(r1.loc["blood", "replaced_real_cells_per_day"])
    assert r1["share_fraction"].isna().all()


# --------------------------------------------------------------------------------------
# the answer table
# --------------------------------------------------------------------------------------


def answer_runs() -> pd.DataFrame:
    """Arm x: 4 runs to 50 years; A primary, B and H (stem) others. First exhaustion of A
    or B at 10 (A), 20 (B), 30 (B), 40 (B) years; H exhausts first in r0 (at 5) but is a
    stem compartment; no failure; H neoplastic at 35 years in r0. Arm y: earlier."""
    end = 50 * Y
    x = pd.DataFrame(
        {
            "run_id": [f"x/r{i}" for i in range(4)],
            "arm": "x",
            "replicate": range(4),
            "tissue": "A",
            "start_day": 0.0,
            "end_day": end,
            "exhaustion_day": np.array([10, 25, np.nan, 45]) * Y,
            "failure_day": np.nan,
            "neoplasia_day": np.nan,
            "divisions_total": np.array([1, 2, 3, 4]) * end / 1e4 * 1000,
            "B.exhaustion_day": np.array([12, 20, 30, 40]) * Y,
            "B.failure_day": np.nan,
            "B.neoplasia_day": np.nan,
            "B.divisions_total": 0.0,
            "H.exhaustion_day": np.array([5, np.nan, np.nan, np.nan]) * Y,
            "H.failure_day": np.nan,
            "H.neoplasia_day": np.array([35, np.nan, np.nan, np.nan]) * Y,
            "H.divisions_total": 0.0,
        }
    )
    y = x.assign(
        run_id=[f"y/r{i}" for i in range(4)],
        arm="y",
        exhaustion_day=np.array([2, 3, 4, 6]) * Y,
        **{"B.exhaustion_day": np.nan, "H.exhaustion_day": np.nan, "H.neoplasia_day": np.nan},
    )
    return pd.concat([x, y], ignore_index=True)


def test_answer_table_first_tissue_and_kaplan_meier_median_by_hand():
    tissues = body("A", "B", "H")
    table = answer_table(answer_runs(), tissues).set_index("arm")
    x = table.loc["x"]
    assert x["n_runs"] == 4
    assert (x["first_exhaustion_tissue"], x["first_exhaustion_tissue_runs"]) == ("B", 3)
    assert x["first_exhaustion_tissue_share"] == 0.75
    # four uncensored times 10, 20, 30, 40: S = 0.5 from 20 on, so the median is 20
    assert x["first_exhaustion_median_years"] == pytest.approx(20.0)
    assert x["first_exhaustion_censored"] == 0
    assert x["first_exhaustion_ci_low_years"] <= 20.0
    assert np.isnan(x["first_exhaustion_ci_high_years"])  # the upper band stays above 0.5
    # no failure anywhere: all censored at 50 years
    assert x["first_failure_tissue"] is None and x["first_failure_censored"] == 4
    assert math.isnan(x["first_failure_median_years"])
    assert x["first_failure_followup_max_years"] == pytest.approx(50.0)
    # neoplasia looks at every tissue, the stem compartment too: 1 of 4, S = 0.75
    assert (x["first_neoplasia_tissue"], x["first_neoplasia_tissue_runs"]) == ("H", 1)
    assert math.isnan(x["first_neoplasia_median_years"]) and x["first_neoplasia_censored"] == 3
    # A's divisions: 1000, 2000, 3000, 4000 real divisions per day, mean 2500
    assert x["body_divisions_real_per_day_mean"] == pytest.approx(2500.0)

    y = table.loc["y"]
    assert y["first_exhaustion_tissue"] == "A" and y["first_exhaustion_median_years"] == 3.0
    assert y["first_neoplasia_tissue"] is None and y["first_neoplasia_tissue_runs"] == 0
    assert math.isnan(x["first_exhaustion_logrank_p"])  # the control
    expected = stats.logrank(
        stats.CensoredData.right_censored(np.array([2.0, 3, 4, 6]), np.zeros(4, bool)),
        stats.CensoredData.right_censored(np.array([10.0, 20, 30, 40]), np.zeros(4, bool)),
    ).pvalue
    assert y["first_exhaustion_logrank_p"] == pytest.approx(expected)


def test_answer_table_tissues_considered_and_level():
    tissues = body("A", "B", "H")
    only_a = answer_table(answer_runs(), tissues, tissues_considered=["A"]).iloc[0]
    # A alone: 10, 25, 45 and one censored at 50: S = 0.75, 0.5 (at 25), 0.25
    assert only_a["first_exhaustion_median_years"] == pytest.approx(25.0)
    assert only_a["first_exhaustion_censored"] == 1
    assert (only_a["first_exhaustion_tissue"], only_a["first_exhaustion_tissue_runs"]) == ("A", 3)
    # with H: H first in r0 at 5 years, then 20, 30, 40
    with_h = answer_table(answer_runs(), tissues, tissues_considered=["A", "B", "H"]).iloc[0]
    assert with_h["first_exhaustion_median_years"] == pytest.approx(20.0)

    km = kaplan_meier(np.array([10.0, 20, 30, 40]), np.ones(4, bool))
    t95 = answer_table(answer_runs(), tissues).iloc[0]
    assert t95["first_exhaustion_ci_low_years"] == km.median_ci_low_years
    t50 = answer_table(answer_runs(), tissues, level=0.5).iloc[0]
    assert t50["first_exhaustion_median_years"] == pytest.approx(20.0)
    assert t50["first_exhaustion_ci_low_years"] >= t95["first_exhaustion_ci_low_years"]
    with pytest.raises(ValueError, match="level"):
        answer_table(answer_runs(), tissues, level=95)


def test_format_answer_is_a_fixed_width_table():
    lines = format_answer(answer_table(answer_runs(), body("A", "B", "H")))
    assert len(lines) == 4 and set(lines[1]) <= {"-", " "}
    assert "first exhausted" in lines[0] and "95% CI" in lines[0]
    x = lines[2]
    assert x.startswith("x ") and "B (3/4)" in x and "20.0 [" in x
    assert "> 50.0 (4/4 censored)" in x and "none" in x and "2.5e+03" in x
    assert "(control)" in x
    # the columns line up: every cell of the header starts where the rows' cells start
    start = lines[0].index("first exhausted")
    assert lines[2][start : start + 7] == "B (3/4)"


# --------------------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------------------


def test_plot_body_writes_a_png(tmp_path):
    parts = []
    days = np.arange(0, 3001, 300)
    for arm in ("control", "treated"):
        for r in range(3):
            run = f"{arm}/r{r}"
            for tissue, pool0 in (("A", 100), ("B", 50), ("E", 200)):
                fall = (1 + r) * (2 if arm == "control" else 1) / 6000
                pool = np.maximum(pool0 * (1 - fall * days), 0)
                parts.append(
                    traj_rows(run, tissue, days, arm=arm, pool_size=pool, n_senescent=pool0 - pool)
                )
    traj = pd.concat(parts, ignore_index=True)
    out = plot_body(traj, body("A", "B", "E"), tmp_path / "figs" / "body.png")
    assert out == tmp_path / "figs" / "body.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    one = plot_body(traj, body("A", "B", "E"), tmp_path / "treated.png", arms=["treated"])
    assert one.exists()
    assert not list(tmp_path.glob("**/*.tmp"))
    with pytest.raises(ValueError, match="nope"):
        plot_body(traj, body("A", "B", "E"), tmp_path / "x.png", arms=["nope"])


def test_tissue_table_gives_each_tissue_its_own_median_and_divisions():
    table = tissue_table(answer_runs(), body("A", "B", "H")).set_index(["arm", "tissue"])
    a = table.loc[("x", "A")]
    # A exhausts at 10, 25, 45 years, one run censored at 50: S = 3/4 after 10, 2/4 after
    # 25: the median is 25
    assert a["exhaustion_runs"] == 3 and a["exhaustion_median_years"] == pytest.approx(25.0)
    b = table.loc[("x", "B")]
    assert b["exhaustion_median_years"] == pytest.approx(20.0) and b["exhaustion_runs"] == 4
    assert b["failure_runs"] == 0 and math.isnan(b["failure_median_years"])
    # A's real divisions: scale 1e4 x (end/1e4 x 1000 x (1, 2, 3, 4)): mean 2.5 x 1000 x end
    assert a["divisions_real_total_mean"] == pytest.approx(2500.0 * 50 * Y)
    assert table.loc[("y", "B"), "exhaustion_runs"] == 0
    assert list(table.loc["x"].index) == ["A", "B", "H"]
