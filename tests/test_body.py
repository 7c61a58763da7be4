"""The organism: tissues of one body sharing one immune system (docs/MODEL.md, "One immune
system").

Tested against the clearance law, not against the engine's own output:

- a body of one tissue is exactly that tissue with the body's half saturation (bit for
  bit);
- a senescent burden in one tissue lowers clearance in another by ``r0 / (1 + S / K)``:
  the cleared count of the other tissue over a stretch agrees with the binomial
  expectation at that hazard (fixed seeds, 4 standard deviations), and without the burden
  with ``r0``;
- the body's burden ``S`` is the scale-weighted senescent fraction of the counted tissues;
- a systemic senolytic acts on every tissue, a local one on its tissue only (exact);
- slots are conserved per tissue and telomeres never grow without telomerase, every step,
  over random bodies (hypothesis).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellsim.engine.model import AgingModel, immune_coupling
from cellsim.engine.params import CellState, ModelParams
from cellsim.kernels.events import note_tissue, shared_rates
from cellsim.kernels.layout import C

QUIET = {"rate_per_day": 0.0, "age_dependent": False}
"""No stress senescence: the senescent cells are the insult's."""


def body(tissues: list[dict], shared: bool = True, half: float = 0.5, **run) -> ModelParams:
    """A body of ``tissues`` run to its horizon."""
    return ModelParams.model_validate(
        {
            "tissues": tissues,
            "immune": {"shared": shared, "half_saturation_fraction": half},
            "run": {"stop_at": "horizon", "horizon_days": 10.0, **run},
        }
    )


def still(name: str, n: int, cells_in_body: float, r0: float, **kw) -> dict:
    """A tissue whose cells neither die nor senesce on their own: only clearance acts."""
    return {
        "name": name,
        "n_cells": n,
        "cells_in_body": cells_in_body,
        "lifespan_days": 1e9,
        "stress": QUIET,
        "clearance": {"rate_per_day": r0},
        **kw,
    }


def insult(tissue: str, fraction: float) -> dict:
    return {"kind": "insult", "age_days": 0.0, "fraction": fraction, "tissues": [tissue]}


def test_a_body_of_one_tissue_is_that_tissue():
    tissue = {
        "name": "skin",
        "n_cells": 800,
        "lifespan_days": 20.0,
        "cells_in_body": 1.2e11,
        "stress": {"rate_per_day": 0.01},
        "clearance": {"rate_per_day": 0.2, "half_saturation_fraction": 0.3},
    }
    alone = ModelParams.model_validate(
        {"tissues": [tissue], "run": {"stop_at": "horizon", "horizon_days": 2000.0}}
    )
    own_k = {**tissue, "clearance": {"rate_per_day": 0.2, "half_saturation_fraction": 5.0}}
    as_body = body([own_k], half=0.3, horizon_days=2000.0)
    a = AgingModel(alone, rng=7).run().trajectories()
    b = AgingModel(as_body, rng=7).run().trajectories()
    assert a["n_senescent"].max() > 0
    assert a.equals(b)


def test_body_burden_weighs_tissues_by_their_scale():
    params = ModelParams.model_validate(
        {
            "tissues": [
                still("a", 200, 2e9, 0.0),
                still("b", 100, 1e8, 0.0),
                still("c", 50, 1e12, 0.0),
            ],
            "immune": {"shared": True, "tissues": ["a", "b"]},
            "interventions": [insult("a", 0.25), insult("b", 0.5), insult("c", 0.3)],
            "run": {"stop_at": "horizon", "horizon_days": 1.0},
        }
    )
    model = AgingModel(params, rng=3).run()  # the insults fire before the first step
    immune = model._immune
    n_sen = [t.cells.count(CellState.SENESCENT) for t in model.tissues]
    assert min(n_sen) > 0
    # by hand: real senescent cells over real cells of the counted tissues (c left out)
    s_body = (2e9 / 200 * n_sen[0] + 1e8 / 100 * n_sen[1]) / (2e9 + 1e8)
    # the kernel's own rates: each tissue's rate without clearance, plus its senescent
    # cells at r0 / (1 + S / K); c (r0 = 0.3 here) clears at the body's burden too
    model.tissues[2].kernel_params[6] = 0.3  # layout.P_CLEARANCE_RATE_PER_DAY
    n = len(model.tissues)
    r0, sen, base, rate = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for k, t in enumerate(model.tissues):
        note_tissue(t.cells.seg, t.kernel_params, 0.0, 0.0, k, r0, sen, base)
    shared_rates(immune, r0, sen, base, rate)
    assert list(sen) == n_sen
    assert rate[2] - base[2] == pytest.approx(0.3 / (1 + s_body / 0.5) * n_sen[2])
    assert rate[0] == pytest.approx(base[0])  # r0 = 0: no clearance, whatever the burden
    assert immune[0][2] == 0.0  # c weighs nothing in the burden


@pytest.mark.parametrize(
    ("burden", "shared"),
    [(0.6, True), (0.0, True), (0.6, False)],
)
def test_a_burden_in_one_tissue_slows_clearance_in_another(burden, shared):
    """Tissue b (2000 senescent cells, r0 = 0.1/day) beside tissue a (10^12 cells, no
    clearance of its own, a fraction ``burden`` senescent): b's cells are cleared at
    ``r0 / (1 + S / K)`` with S = a's fraction (b weighs 10^-9 of the body), so over 10 days
    b loses a binomial number of them with p = 1 - exp(-h t). Without sharing, b's
    clearance saturates in its own burden (then cleared cells leave vacancies no one
    fills: b has no competent cell): the solution of dn/dt = -r0 n / (1 + n/(N K))."""
    n, r0, half, days = 2000, 0.1, 0.5, 10.0
    params = ModelParams.model_validate(
        {
            "tissues": [
                still("a", 1000, 1e12, 0.0),
                still("b", n, float(n), r0),
            ],
            "immune": {"shared": shared, "half_saturation_fraction": half},
            "interventions": [insult("b", 1.0)] + ([insult("a", burden)] if burden > 0 else []),
            "run": {"stop_at": "horizon", "horizon_days": days},
        }
    )
    if not shared:
        params.tissues[1].clearance.half_saturation_fraction = half
    cleared = []
    for seed in range(4):
        model = AgingModel(params, rng=seed).run()
        # a keeps its burden (no clearance, no deaths): what b's cells saw all along
        s_a = model.tissues[0].cells.count(CellState.SENESCENT) / 1000
        cleared.append(int(model.tissues[1].counters[C["cleared_immune"]]))
    if shared:
        h = r0 / (1 + s_a / half) if burden > 0 else r0
        p_clear = 1 - math.exp(-h * days)
    else:  # the deterministic solution of the saturating law for b's own burden (exact
        # in the large-n limit; sd of the count ~ binomial's)
        x = 1.0  # senescent fraction of b
        steps = 100_000
        for _ in range(steps):
            x -= r0 * x / (1 + x / half) * days / steps
        p_clear = 1 - x
    mean = n * p_clear
    sd = math.sqrt(n * p_clear * (1 - p_clear))
    for c in cleared:
        assert abs(c - mean) < 4 * sd, (c, mean, sd)
    if burden > 0 and shared:
        # and it is slower than with no burden elsewhere, by the law's factor
        assert np.mean(cleared) < n * (1 - math.exp(-r0 * days)) - 10 * sd


@pytest.mark.parametrize("local", [False, True])
def test_systemic_senolytics_act_everywhere_and_local_ones_on_their_tissue(local):
    senolytic = {
        "kind": "senolytic",
        "start_age_days": 2.0,
        "interval_days": 1000.0,
        "efficacy_per_dose": 1.0,
    }
    if local:
        senolytic["tissues"] = ["gut"]
    params = ModelParams.model_validate(
        {
            "tissues": [still("gut", 300, 1e11, 0.0), still("skin", 300, 1e11, 0.0)],
            "immune": {"shared": True},
            "interventions": [insult("gut", 0.5), insult("skin", 0.5), senolytic],
            "run": {"stop_at": "horizon", "horizon_days": 5.0},
        }
    )
    model = AgingModel(params, rng=11).run(until_day=1.0)
    before = [t.cells.count(CellState.SENESCENT) for t in model.tissues]
    assert min(before) > 0
    model.run()
    after = [t.cells.count(CellState.SENESCENT) for t in model.tissues]
    killed = [int(t.counters[C["cleared_senolytic"]]) for t in model.tissues]
    assert after[0] == 0 and killed[0] == before[0]
    if local:
        assert after[1] == before[1] and killed[1] == 0
    else:
        assert after[1] == 0 and killed[1] == before[1]


tissue_strategy = st.fixed_dictionaries(
    {
        "n_cells": st.integers(2, 200),
        "cells_in_body": st.floats(1.0, 1e12),
        "lifespan_days": st.floats(1.0, 200.0),
        "telomere": st.fixed_dictionaries(
            {
                "initial_mean_bp": st.floats(3000.0, 12000.0),
                "loss_mean_bp": st.floats(0.0, 500.0),
                "senescence_threshold_bp": st.floats(0.0, 2900.0),
                "telomerase_stem": st.just(0.0),
                "telomerase_pluripotent": st.just(0.0),
                "telomerase_transformed": st.just(0.0),
            }
        ),
        "stress": st.fixed_dictionaries({"rate_per_day": st.floats(0.0, 0.05)}),
        "clearance": st.fixed_dictionaries(
            {"rate_per_day": st.floats(0.0, 2.0), "saturating": st.booleans()}
        ),
    }
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tissues=st.lists(tissue_strategy, min_size=2, max_size=4),
    half=st.floats(0.01, 5.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_tissue_of_a_body_keeps_its_slots_and_never_gains_telomere(tissues, half, seed):
    named = [{"name": f"t{i}", **t} for i, t in enumerate(tissues)]
    model = AgingModel(body(named, half=half, horizon_days=60.0), rng=seed)
    longest = [t.cells.telomere_bp.max() for t in model.tissues]
    for _ in range(60):
        model.step()
        for i, t in enumerate(model.tissues):
            counts = t.cells.counts()
            assert sum(counts.values()) == t.cells.n_slots
            assert t.cells.is_consistent()
            occupied = t.cells.state != CellState.EMPTY
            if occupied.any():
                top = t.cells.telomere_bp[occupied].max()
                assert top <= longest[i] + 1e-3
                longest[i] = top


def test_a_body_refuses_a_one_cell_tissue():
    with pytest.raises(ValueError, match="at least 2 cells"):
        ModelParams.model_validate({"tissues": [{"name": "a", "n_cells": 1}, {"name": "b"}]})


def test_immune_coupling_is_off_by_default_and_for_one_tissue():
    two = ModelParams.model_validate({"tissues": [{"name": "a"}, {"name": "b"}]})
    assert immune_coupling(two, [10, 10]) is None
    one = ModelParams.model_validate({"tissues": [{"name": "a"}], "immune": {"shared": True}})
    assert immune_coupling(one, [10]) is None


SMALL_BODY = """
name = "small_body"
seed = 17
replicates = 2
control = "control"

[base.run]
dt_days = 7.0
horizon_days = 7305.0
record_interval_days = 365.25
stop_at = "horizon"

[base.immune]
shared = true
tissues = ["gut", "liver"]

[body]
tissues = ["gut", "liver"]
groups = { gut = ["crypt", "gut"], liver = ["liver"] }

[[base.tissues]]
name = "crypt"
kind = "stem"
n_cells = 20
cells_in_body = 1e7
lifespan_days = 1e9
stem_divisions = { interval_days = 5.0 }
telomere = { telomerase_stem = 0.999, initial_mean_bp = 7000.0 }

[[base.tissues]]
name = "gut"
n_cells = 20
cells_in_body = 1e11
lifespan_days = 5.0
supply_from = "crypt"
supply_share = 1.0
initial_from_supply = true

[[base.tissues]]
name = "liver"
n_cells = 200
cells_in_body = 2e11
lifespan_days = 100.0
telomere = { initial_mean_bp = 7000.0 }

[[arms]]
name = "control"

[[arms]]
name = "senolytic"
interventions = [{ kind = "senolytic", start_age_days = 365.25, interval_days = 30.0 }]
"""


def test_cellsim_run_of_a_body_prints_and_writes_the_body_answer(cli, tmp_path):
    """The workflow of a ``[body]`` scenario: the answer table printed (not the first
    tissue's), its CSVs and figure written, and the first tissue named as the runs say."""
    import pandas as pd

    path = tmp_path / "body.toml"
    path.write_text(SMALL_BODY)
    out = tmp_path / "out"
    res = cli("run", str(path), "--out", str(out), "--workers", "1")
    assert res.returncode == 0, res.stderr
    assert "the whole body: which tissue runs out first" in res.stdout
    for name in (
        "body_answer.csv",
        "body_tissues.csv",
        "body_burden.csv",
        "body_turnover.csv",
        "figures/body.png",
    ):
        assert (out / name).is_file(), name
    answer = pd.read_csv(out / "body_answer.csv")
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(answer["arm"]) == ["control", "senolytic"]
    # the liver (100-day cells dividing 3.65 times a year, 2 kb above the critical length
    # at 100 bp a division) runs out within 20 years; the gut (its crypts lose 0.1 bp per
    # division, 73 divisions a year) does not
    assert runs["exhaustion_day"].isna().all()  # the gut, the primary tissue
    assert runs["liver.exhaustion_day"].notna().all()
    assert (answer["first_exhaustion_tissue"] == "liver").all()
    assert (answer["first_exhaustion_tissue_runs"] == 2).all()
    by_arm = runs.groupby("arm", sort=False)["liver.exhaustion_day"].median() / 365.25
    for arm, median_years in by_arm.items():
        got = answer.loc[answer["arm"] == arm, "first_exhaustion_median_years"].item()
        assert got == pytest.approx(median_years, abs=1.0)  # KM median of 2 runs: the first
    assert "### The whole body" in (out / "report.md").read_text()


def test_scale_multiplies_every_sample_and_keeps_the_real_tissue(tmp_path):
    from cellsim.config.scenario import ScenarioError, load_scenario

    path = tmp_path / "body.toml"
    path.write_text(SMALL_BODY)
    base = load_scenario(path)
    big = load_scenario(path, scale=2.5)
    for a, b in zip(base.base.tissues, big.base.tissues, strict=True):
        assert b.n_cells == round(a.n_cells * 2.5)
        assert b.cells_in_body == a.cells_in_body
    tiny = load_scenario(path, scale=0.01)
    assert min(t.n_cells for t in tiny.base.tissues) == 2
    presets = tmp_path / "presets.toml"
    presets.write_text(
        '[[base.tissues]]\npreset = "hsc"\nn_cells = 1000\n'
        '[[base.tissues]]\npreset = "blood"\n[[base.tissues]]\nname = "plain"\n'
    )
    scaled = {t.name: t.n_cells for t in load_scenario(presets, scale=2.0).base.tissues}
    assert scaled == {"hsc": 2000, "blood": 2 * 2357, "plain": 20_000}  # preset, default
    lattice = tmp_path / "lattice.toml"
    lattice.write_text('[[base.tissues]]\nname = "skin"\nlattice = { width = 10, height = 10 }\n')
    with pytest.raises(ScenarioError, match="lattice"):
        load_scenario(lattice, scale=2.0)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "1e9", "two"])
def test_bad_scale_is_one_line_and_exit_2(cli, tmp_path, value):
    path = tmp_path / "body.toml"
    path.write_text(SMALL_BODY)
    res = cli("run", str(path), "--scale", value, "--out", str(tmp_path / "o"))
    assert res.returncode == 2, res.stdout
    assert len(res.stderr.strip().splitlines()) == 1 and "--scale" in res.stderr
    assert not (tmp_path / "o").exists()


def test_body_section_refuses_unknown_tissues(tmp_path):
    from cellsim.config.scenario import ScenarioError, load_scenario

    path = tmp_path / "body.toml"
    path.write_text(
        SMALL_BODY.replace(
            'tissues = ["gut", "liver"]\ngroups', 'tissues = ["gut", "lung"]\ngroups'
        )
    )
    with pytest.raises(ScenarioError, match=r"body\.tissues.*lung"):
        load_scenario(path)
